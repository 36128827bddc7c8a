//! The indexing pipeline: a decoder thread samples frames from one video after another into a
//! bounded queue; the calling thread encodes them in batches and writes each finished video to the
//! store in one transaction. Decoding the next video overlaps with encoding the current one, and
//! the queue bound keeps memory flat however long the videos are.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Instant, UNIX_EPOCH};

use vtx_index::{FrameEntry, VectorStore, VideoMeta};
use vtx_media::{Frame, FrameSize, MediaError, Resize, SampleStats, Sampling, VideoInfo};
use vtx_models::{l2_normalize, Conse, ImageEncoder};

use crate::{discover, EngineError, Result, TEXT_SPACE, VISUAL_SPACE};

/// How `Engine::index` samples and batches.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    pub sampling: Sampling,
    /// Frames per inference call.
    pub batch_size: usize,
    /// Decoded frames allowed to wait for the encoder.
    pub queue_frames: usize,
    /// Re-index files even when they look unchanged.
    pub force: bool,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            sampling: Sampling::Fps(1.0),
            batch_size: 16,
            queue_frames: 64,
            force: false,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum FileOutcome {
    Indexed {
        frames: u32,
        duration: f64,
        warning: Option<String>,
    },
    /// Same size and modification time as when it was indexed: not read.
    Unchanged,
    /// Touched but byte-identical (same hash): only its modification time was updated.
    SameContent,
    /// Stopped by the user before it finished; nothing was written for it.
    Interrupted,
    Failed(String),
}

/// The result of one `index` call.
#[derive(Debug, Default)]
pub struct IndexReport {
    pub files: Vec<(PathBuf, FileOutcome)>,
    pub frames: u64,
    pub video_seconds: f64,
    pub wall_seconds: f64,
    pub cancelled: bool,
    /// Why the run stopped before the end (e.g. the disk is full), and how many files it left.
    pub aborted: Option<(String, usize)>,
}

impl IndexReport {
    pub fn count(&self, pred: impl Fn(&FileOutcome) -> bool) -> usize {
        self.files.iter().filter(|(_, o)| pred(o)).count()
    }
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, FileOutcome::Failed(_)))
    }
}

/// Hooks for progress display. Every method has a no-op default; `()` observes nothing.
pub trait IndexObserver {
    fn started(&mut self, _files: usize, _bytes: u64) {}
    fn frames_encoded(&mut self, _count: usize) {}
    fn finished(&mut self, _path: &Path, _bytes: u64, _outcome: &FileOutcome) {}
}

impl IndexObserver for () {}

struct Job {
    path: PathBuf,
    size: u64,
    mtime_ns: i64,
    known_hash: Option<String>,
    existing_id: Option<i64>,
}

enum Produced {
    Sampled {
        info: VideoInfo,
        hash: String,
        stats: SampleStats,
    },
    SameContent,
}

enum Msg {
    Frame(Frame),
    Done(std::result::Result<Produced, String>),
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// The decoder thread's work: hash, probe and sample each job in turn.
fn produce(jobs: &[Job], sampling: Sampling, size: FrameSize, tx: SyncSender<Msg>, stop: &(dyn Fn() -> bool + Sync)) {
    for job in jobs {
        if stop() {
            return;
        }
        let produced = (|| -> std::result::Result<Produced, String> {
            let hash = hash_file(&job.path).map_err(|e| format!("cannot read: {e}"))?;
            if job.known_hash.as_deref() == Some(hash.as_str()) {
                return Ok(Produced::SameContent);
            }
            let info = vtx_media::probe(&job.path).map_err(|e: MediaError| e.to_string())?;
            let stats = vtx_media::sample(&job.path, sampling, size, |frame| {
                if stop() || tx.send(Msg::Frame(frame)).is_err() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .map_err(|e: MediaError| e.to_string())?;
            Ok(Produced::Sampled { info, hash, stats })
        })();
        if tx.send(Msg::Done(produced)).is_err() {
            return;
        }
    }
}

/// Encode a batch of frames into both spaces.
fn encode_batch(image: &mut dyn ImageEncoder, conse: &Conse, batch: &[Frame]) -> Result<Vec<FrameEntry>> {
    let refs: Vec<&[u8]> = batch.iter().map(|f| f.rgb.as_slice()).collect();
    let out = image.encode(&refs)?;
    let probs = out
        .class_probs
        .ok_or_else(|| EngineError::Input("the image model gives no class probabilities for ConSE".into()))?;
    batch
        .iter()
        .zip(out.embeddings)
        .zip(probs)
        .map(|((frame, visual), p)| {
            Ok(FrameEntry {
                t: frame.t,
                vectors: vec![(VISUAL_SPACE.into(), visual), (TEXT_SPACE.into(), conse.project(&p)?)],
            })
        })
        .collect()
}

/// Headers may overstate a duration by a frame or two; more than this is a cut-off file.
const TRUNCATION_SLACK_S: f64 = 2.0;

fn warning_for(stats: &SampleStats, info: &VideoInfo) -> Option<String> {
    match (&stats.read_error, stats.decode_errors, info.claimed_duration()) {
        (Some(e), _, _) => Some(format!("reading stopped early ({e}); indexed the first {:.1} s", stats.duration)),
        (None, _, Some(header)) if header > stats.duration * 1.1 + TRUNCATION_SLACK_S => Some(format!(
            "frames end at {:.1} s but the header promises {header:.1} s: the file looks truncated; indexed what is there",
            stats.duration
        )),
        (None, n, _) if n > 0 => Some(format!("{n} damaged packet(s) skipped")),
        _ => None,
    }
}

struct Consumer<'a> {
    store: &'a mut dyn VectorStore,
    image: &'a mut dyn ImageEncoder,
    conse: &'a Conse,
    observer: &'a mut dyn IndexObserver,
    batch_size: usize,
    report: IndexReport,
}

/// Frames are handed to the store in runs of this many, so a video of any length is never held
/// in memory whole (1024 frames with both vectors: 6.6 MB).
const STORE_BATCH_FRAMES: usize = 1024;

/// One video on its way into the store: encoded frames not yet handed over, and running sums for
/// the pooled vectors.
struct VideoInProgress {
    begun: bool,
    frames: u32,
    pending: Vec<FrameEntry>,
    sums: Vec<Vec<f32>>,
}

impl VideoInProgress {
    fn new() -> Self {
        Self {
            begun: false,
            frames: 0,
            pending: Vec::new(),
            sums: Vec::new(),
        }
    }

    fn take(&mut self, encoded: Vec<FrameEntry>) {
        for entry in &encoded {
            if self.sums.is_empty() {
                self.sums = entry.vectors.iter().map(|(_, v)| vec![0f32; v.len()]).collect();
            }
            for (sum, (_, v)) in self.sums.iter_mut().zip(&entry.vectors) {
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
            }
        }
        self.frames += encoded.len() as u32;
        self.pending.extend(encoded);
    }

    /// Mean of the frames' unit vectors, re-normalised, per space.
    fn pooled(&self) -> Vec<(String, Vec<f32>)> {
        [VISUAL_SPACE, TEXT_SPACE]
            .iter()
            .zip(&self.sums)
            .map(|(space, sum)| {
                let mut v = sum.clone();
                l2_normalize(&mut v);
                (space.to_string(), v)
            })
            .collect()
    }
}

impl Consumer<'_> {
    /// Take one job's messages off the queue and settle its outcome. Whatever goes wrong, a video
    /// begun in the store is either committed whole or rolled back.
    fn consume_job(&mut self, job: &Job, rx: &Receiver<Msg>) -> std::result::Result<FileOutcome, EngineError> {
        let mut video = VideoInProgress::new();
        let result = self.receive_video(job, rx, &mut video);
        if !matches!(result, Ok(FileOutcome::Indexed { .. })) && video.begun {
            self.store.abort_video();
        }
        result
    }

    fn receive_video(
        &mut self,
        job: &Job,
        rx: &Receiver<Msg>,
        video: &mut VideoInProgress,
    ) -> std::result::Result<FileOutcome, EngineError> {
        let mut batch = Vec::with_capacity(self.batch_size);
        let mut encode_error = None;
        let done = loop {
            let Ok(msg) = rx.recv() else {
                return Ok(FileOutcome::Interrupted);
            };
            match msg {
                Msg::Frame(frame) => {
                    batch.push(frame);
                    if batch.len() >= self.batch_size {
                        self.encode(&mut batch, video, &mut encode_error);
                    }
                    if video.pending.len() >= STORE_BATCH_FRAMES {
                        self.hand_over(job, video)?;
                    }
                }
                Msg::Done(done) => break done,
            }
        };
        self.encode(&mut batch, video, &mut encode_error);
        let (info, hash, stats) = match done {
            Err(reason) => return Ok(FileOutcome::Failed(reason)),
            Ok(Produced::SameContent) => {
                let id = job.existing_id.expect("a known hash implies a stored video");
                self.store.touch_video(id, job.mtime_ns)?;
                return Ok(FileOutcome::SameContent);
            }
            Ok(Produced::Sampled { info, hash, stats }) => (info, hash, stats),
        };
        if let Some(e) = encode_error {
            return Ok(FileOutcome::Failed(format!("model failed: {e}")));
        }
        if stats.stopped {
            return Ok(FileOutcome::Interrupted);
        }
        self.hand_over(job, video)?;
        let warning = warning_for(&stats, &info);
        let meta = VideoMeta {
            path: job.path.to_string_lossy().into_owned(),
            size: job.size,
            mtime_ns: job.mtime_ns,
            hash,
            duration: stats.duration,
            fps: info.fps,
            format: info.format,
            codec: info.codec,
            width: info.width,
            height: info.height,
            frames: video.frames,
        };
        self.store.commit_video(&meta, &video.pooled())?;
        tracing::debug!(path = %job.path.display(), frames = video.frames, duration = stats.duration,
            decoded = stats.frames_decoded, skipped_nonref = stats.skipped_nonref, "video indexed");
        self.report.frames += u64::from(video.frames);
        self.report.video_seconds += stats.duration;
        Ok(FileOutcome::Indexed {
            frames: video.frames,
            duration: stats.duration,
            warning,
        })
    }

    /// Move the encoded frames into the store's open transaction for this video.
    fn hand_over(&mut self, job: &Job, video: &mut VideoInProgress) -> Result<()> {
        if !video.begun {
            self.store.begin_video(&job.path.to_string_lossy())?;
            video.begun = true;
        }
        self.store.add_frames(&video.pending)?;
        video.pending.clear();
        Ok(())
    }

    fn encode(&mut self, batch: &mut Vec<Frame>, video: &mut VideoInProgress, error: &mut Option<EngineError>) {
        if batch.is_empty() || error.is_some() {
            batch.clear();
            return;
        }
        match encode_batch(self.image, self.conse, batch) {
            Ok(encoded) => {
                self.observer.frames_encoded(encoded.len());
                video.take(encoded);
            }
            Err(e) => *error = Some(e),
        }
        batch.clear();
    }
}

/// Files to index, in order, with what the store already knows of them.
pub(crate) struct Plan {
    jobs: Vec<Job>,
    report: IndexReport,
    started: Instant,
}

impl Plan {
    pub(crate) fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

/// Find the files and settle the ones that need no work (missing, unreadable, unchanged).
pub(crate) fn plan(
    store: &dyn VectorStore,
    paths: &[PathBuf],
    options: &IndexOptions,
    observer: &mut dyn IndexObserver,
) -> Result<Plan> {
    let started = Instant::now();
    let found = discover::discover(paths)?;
    let mut report = IndexReport::default();
    let mut settle = |path: PathBuf, outcome: FileOutcome, report: &mut IndexReport| {
        observer.finished(&path, 0, &outcome);
        report.files.push((path, outcome));
    };
    for (path, reason) in found.problems {
        settle(path, FileOutcome::Failed(reason), &mut report);
    }
    let mut jobs = Vec::new();
    for path in found.files {
        let meta = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m,
            // A FIFO or device would block the reader forever; only regular files are videos.
            Ok(_) => {
                settle(path, FileOutcome::Failed("not a regular file".into()), &mut report);
                continue;
            }
            Err(e) => {
                settle(path, FileOutcome::Failed(format!("cannot read: {e}")), &mut report);
                continue;
            }
        };
        let (size, mtime) = (meta.len(), mtime_ns(&meta));
        let existing = store.video_by_path(&path.to_string_lossy())?;
        if let Some(rec) = &existing {
            if !options.force && rec.meta.size == size && rec.meta.mtime_ns == mtime {
                settle(path, FileOutcome::Unchanged, &mut report);
                continue;
            }
        }
        let known_hash = existing
            .as_ref()
            .filter(|_| !options.force)
            .map(|r| r.meta.hash.clone());
        jobs.push(Job {
            path,
            size,
            mtime_ns: mtime,
            known_hash,
            existing_id: existing.map(|r| r.id),
        });
    }
    Ok(Plan { jobs, report, started })
}

/// Run the planned jobs through the decode thread and the encoder.
pub(crate) fn execute(
    plan: Plan,
    store: &mut dyn VectorStore,
    image: &mut dyn ImageEncoder,
    conse: &Conse,
    options: &IndexOptions,
    observer: &mut dyn IndexObserver,
    cancel: &AtomicBool,
) -> Result<IndexReport> {
    let Plan {
        jobs,
        mut report,
        started,
    } = plan;
    observer.started(jobs.len(), jobs.iter().map(|j| j.size).sum());
    let (w, h) = image.input_size();
    let size = FrameSize::new(w, h, Resize::CenterCrop);
    let (tx, rx) = sync_channel(options.queue_frames.max(1));
    let abort = AtomicBool::new(false);
    let stop = || cancel.load(Ordering::Relaxed) || abort.load(Ordering::Relaxed);
    let mut consumer = Consumer {
        store,
        image,
        conse,
        observer,
        batch_size: options.batch_size.max(1),
        report: IndexReport::default(),
    };
    let fatal = std::thread::scope(|scope| {
        scope.spawn(|| produce(&jobs, options.sampling, size, tx, &stop));
        for (done, job) in jobs.iter().enumerate() {
            match consumer.consume_job(job, &rx) {
                Ok(outcome) => {
                    consumer.observer.finished(&job.path, job.size, &outcome);
                    let interrupted = outcome == FileOutcome::Interrupted;
                    consumer.report.files.push((job.path.clone(), outcome));
                    if interrupted {
                        break;
                    }
                }
                Err(e) => {
                    // A store failure (disk full, I/O) would fail every later file too: stop cleanly.
                    abort.store(true, Ordering::Relaxed);
                    let outcome = FileOutcome::Failed(e.to_string());
                    consumer.observer.finished(&job.path, job.size, &outcome);
                    consumer.report.files.push((job.path.clone(), outcome));
                    drop(rx);
                    return Some((e, jobs.len() - done - 1));
                }
            }
        }
        drop(rx);
        None
    });
    report.files.extend(consumer.report.files);
    report.frames = consumer.report.frames;
    report.video_seconds = consumer.report.video_seconds;
    report.cancelled = cancel.load(Ordering::Relaxed);
    report.wall_seconds = started.elapsed().as_secs_f64();
    if let Some((e, left)) = fatal {
        report.aborted = Some((e.to_string(), left));
    }
    Ok(report)
}

/// A plan with nothing to run still becomes a report.
pub(crate) fn finish_empty(plan: Plan) -> IndexReport {
    let Plan {
        mut report, started, ..
    } = plan;
    report.wall_seconds = started.elapsed().as_secs_f64();
    report
}

/// Embed a video that is not in the index: its pooled visual vector.
pub(crate) fn embed_video(image: &mut dyn ImageEncoder, path: &Path, options: &IndexOptions) -> Result<Vec<f32>> {
    let (w, h) = image.input_size();
    let dim = image.dim();
    let mut sum = vec![0f32; dim];
    let mut batch: Vec<Frame> = Vec::new();
    let mut failure = None;
    let mut encode = |batch: &mut Vec<Frame>, sum: &mut Vec<f32>| -> Result<()> {
        let refs: Vec<&[u8]> = batch.iter().map(|f| f.rgb.as_slice()).collect();
        for v in image.encode(&refs)?.embeddings {
            sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
        }
        batch.clear();
        Ok(())
    };
    vtx_media::sample(
        path,
        options.sampling,
        FrameSize::new(w, h, Resize::CenterCrop),
        |frame| {
            batch.push(frame);
            if batch.len() >= options.batch_size.max(1) {
                if let Err(e) = encode(&mut batch, &mut sum) {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        },
    )?;
    if let Some(e) = failure {
        return Err(e);
    }
    encode(&mut batch, &mut sum)?;
    l2_normalize(&mut sum);
    Ok(sum)
}
