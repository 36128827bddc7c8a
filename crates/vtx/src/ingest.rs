//! The indexing pipeline: `jobs` decoder threads each take the next video and sample its frames
//! into one bounded queue; the calling thread encodes them in batches with the one copy of each
//! model and writes each finished video to the store in one transaction. Decoding overlaps with
//! encoding, and the queue bound keeps memory flat however long the videos are.
//!
//! The store takes one write at a time, so only one video holds an open write. The others keep
//! their vectors in memory up to a bound and then pause their decoder; a video that finishes
//! while another holds the write waits for it (see `Consumer::promote`).
//!
//! A video is decoded once for all image models (each gets frames of its own size and filter from
//! the same decoded picture) and once more per clip model, whose windows need their own frame rate.
//! With a speech model, a new video's sound is heard on a thread of its own while its pictures
//! are decoded, and what was said goes into the video's write with its vectors.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use vtx_core::path_to_text;
use vtx_index::{
    or_whole, pool_space, Pooling, SegmentSpan, ShotSpan, TimedVector, VectorStore, VideoMeta, VideoRecord, VideoWriter,
};
use vtx_media::{Frame, FrameSize, MediaError, SampleStats, Sampling, VideoInfo};

use crate::frame_models::{FrameEncoder, FrameModel, ModelInfo, Windower};
use crate::leases::Leases;
use crate::motion;
use crate::objects::{ObjectFinder, ObjectsInProgress};
use crate::segments::{self, ThumbnailPicker};
use crate::speech::{said_in_segments, EmbedTexts, Transcriber, Transcript};
use crate::{discover, lock, EngineError, FindsText, Result};

/// How `Engine::index` samples and batches.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Which frames image models see (clip models sample at their own rate).
    pub sampling: Sampling,
    /// Frames per inference call; `None` takes each model's own batch size.
    pub batch_size: Option<usize>,
    /// Decoded frames allowed to wait for the encoder.
    pub queue_frames: usize,
    /// Re-index files even when they look unchanged.
    pub force: bool,
    /// Models to add to the index (by name); the models it already has are always kept up to
    /// date. A new index with none named gets the default models.
    pub models: Vec<String>,
    /// Skip a sampled frame whose 64-bit perceptual signature differs from the last kept frame's
    /// in at most this many bits: a static shot is encoded once, not once per sample.
    pub near_duplicate_bits: Option<u32>,
    /// Detect shots while decoding, so that segments follow them (1-20% more indexing time at
    /// 1 fps, `docs/performance.md`); without, segments are plain windows.
    pub shots: Option<vtx_media::ShotOptions>,
    /// Segments are shots cut into equal spans of at most this many seconds.
    pub segment_seconds: f64,
    /// How a segment's frame vectors become its vector.
    pub pooling: Pooling,
    /// Measure the motion stream (optical flow) while decoding and store it as the `motion`
    /// space.
    pub motion: Option<vtx_media::MotionOptions>,
    /// First drop the indexed videos under the given paths whose files no longer exist.
    pub prune: bool,
    /// Index only one share of the files, by content: `Some((k, n))` takes the k-th of n (from 1),
    /// so that n machines given the same paths index each file once between them.
    pub share: Option<(u32, u32)>,
    /// Whether the decoder's deblocking filter runs (a speed-for-fidelity trade).
    pub deblocking: vtx_media::Deblocking,
    /// Which decoder makes the pictures ([`decoder_for`] chooses it from the models' device).
    pub decoder: vtx_media::Decoder,
    /// Videos decoded at once (each on its own thread; the models are shared).
    pub jobs: usize,
    /// Detect and track objects in every video of the run that has none from this detector yet:
    /// a new or changed video on the frames of its indexing decode, one indexed before with a
    /// decode of its own.
    pub objects: Option<crate::ObjectOptions>,
    /// Read the on-screen text of every video of the run that has none from this reader yet,
    /// each on a decode of its own after the indexing.
    pub text: Option<crate::TextOptions>,
    /// Transcribe what is said in every video of the run that has no transcript from this
    /// speech model yet, after the indexing.
    pub speech: Option<crate::SpeechOptions>,
    /// How this worker names itself in its claims on videos (unique to the run by default).
    pub worker: String,
    /// How long a claim on a video lasts unless renewed (a third of it apart): what a worker
    /// that dies holds the others up, at most.
    pub lease: Duration,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            sampling: Sampling::Fps(1.0),
            batch_size: None,
            queue_frames: 64,
            force: false,
            models: Vec::new(),
            near_duplicate_bits: None,
            shots: Some(vtx_media::ShotOptions::default()),
            segment_seconds: DEFAULT_SEGMENT_SECONDS,
            pooling: Pooling::Mean,
            motion: Some(vtx_media::MotionOptions::default()),
            prune: false,
            share: None,
            deblocking: vtx_media::Deblocking::Auto,
            decoder: vtx_media::Decoder::Software,
            jobs: default_jobs(),
            objects: None,
            text: None,
            speech: None,
            worker: crate::leases::worker_name(),
            lease: crate::leases::DEFAULT_LEASE,
        }
    }
}

/// The decoder for models that run on `device`: NVDEC when the GPU is asked for by name (the
/// frames then come from the same card), FFmpeg's software decoders otherwise. `auto` keeps the
/// software decoders, the ones every default figure in docs/performance.md was measured with.
pub fn decoder_for(device: Option<vtx_models::Device>) -> vtx_media::Decoder {
    match device {
        Some(vtx_models::Device::Cuda) => vtx_media::Decoder::Nvdec,
        _ => vtx_media::Decoder::Software,
    }
}

/// Two videos at once even on 2 cores: one decoder's frame threads leave a core idle while a
/// video starts, ends and is written, and the second fills it (12-18% more throughput on 20
/// copies of a 720p clip, `docs/performance.md`, "Several videos at once"). Then one more per
/// 2 cores, up to 8.
pub fn default_jobs() -> usize {
    match std::thread::available_parallelism().map_or(1, |n| n.get()) {
        1 => 1,
        cores => (cores / 2).clamp(2, 8),
    }
}

/// Long enough to hold a gesture or an event, short enough that a hit points at the moment.
pub const DEFAULT_SEGMENT_SECONDS: f64 = 5.0;

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum FileOutcome {
    Indexed {
        frames: u32,
        duration: f64,
        warning: Option<String>,
    },
    /// Unchanged, but models added to the index were missing for it: their vectors were added.
    Extended {
        spaces: Vec<String>,
        vectors: u32,
    },
    /// Same size and modification time as when it was indexed, and every model done: not read.
    Unchanged,
    /// Touched but byte-identical (same hash): only its modification time was updated.
    SameContent,
    /// In another machine's share (`--shard`): not indexed here.
    OtherShare,
    /// Claimed by another worker, which was still indexing it when this run stopped waiting.
    Claimed {
        worker: String,
        content: String,
    },
    /// Indexed by another worker while this run waited for it.
    ByOtherWorker,
    /// Stopped by the user before it finished; nothing was written for it.
    Interrupted,
    Failed(String),
}

/// Whether content with this hash falls in share `k` of `n` (from 1): its first 64 bits, modulo
/// `n`, so the split depends on the files alone, not on how they were listed.
pub fn in_share(hash: &str, (k, n): (u32, u32)) -> bool {
    let head = hash
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    head % u64::from(n.max(1)) == u64::from(k.saturating_sub(1))
}

/// The result of one `index` call.
#[derive(Debug, Default)]
pub struct IndexReport {
    pub files: Vec<(PathBuf, FileOutcome)>,
    pub frames: u64,
    /// Sampled frames left out as near-duplicates of the frame before.
    pub frames_skipped: u64,
    pub video_seconds: f64,
    pub wall_seconds: f64,
    pub cancelled: bool,
    /// Why the run stopped before the end (e.g. the disk is full), and how many files it left.
    pub aborted: Option<(String, usize)>,
    /// Videos dropped by `prune` (their files are gone).
    pub pruned: Vec<String>,
    /// Videos another worker had claimed and stopped renewing the claim of before it was done
    /// (it died, or lost the cluster): indexed here instead.
    pub taken_over: usize,
    /// What was done to each space's approximate index after the videos were written.
    pub optimized: Vec<vtx_index::Optimized>,
    /// Why the approximate indexes could not be brought up to date (the videos are written and
    /// searchable all the same: what a graph lacks is searched exactly beside it).
    pub not_optimized: Option<String>,
    /// With `objects`: each video the detector ran on, with its number of tracks or why it failed
    /// (its vectors stay written either way).
    pub objects: Vec<(PathBuf, std::result::Result<usize, String>)>,
    /// With `text`: each video the reader ran on, with its number of lines or why it failed.
    pub text: Vec<(PathBuf, std::result::Result<usize, String>)>,
    /// With `speech`: each video transcribed, with its number of phrases or why it failed.
    pub speech: Vec<(PathBuf, std::result::Result<usize, String>)>,
}

impl IndexReport {
    pub fn count(&self, pred: impl Fn(&FileOutcome) -> bool) -> usize {
        self.files.iter().filter(|(_, o)| pred(o)).count()
    }
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, FileOutcome::Failed(_)))
    }

    /// Fold in a later run over files this one left to other workers: their outcomes replace
    /// the claims, and a file found indexed and unchanged was the other worker's doing.
    pub(crate) fn take_over(&mut self, later: IndexReport) {
        for (path, outcome) in later.files {
            let outcome = match outcome {
                FileOutcome::Unchanged => FileOutcome::ByOtherWorker,
                other => other,
            };
            match self.files.iter_mut().find(|(p, _)| *p == path) {
                Some(entry) => {
                    let written = matches!(outcome, FileOutcome::Indexed { .. } | FileOutcome::Extended { .. });
                    if written && matches!(entry.1, FileOutcome::Claimed { .. }) {
                        self.taken_over += 1;
                    }
                    entry.1 = outcome;
                }
                None => self.files.push((path, outcome)),
            }
        }
        self.frames += later.frames;
        self.frames_skipped += later.frames_skipped;
        self.video_seconds += later.video_seconds;
        self.cancelled |= later.cancelled;
        self.aborted = self.aborted.take().or(later.aborted);
        self.objects.extend(later.objects);
        self.speech.extend(later.speech);
    }
}

/// Hooks for progress display. Every method has a no-op default; `()` observes nothing.
pub trait IndexObserver {
    fn started(&mut self, _files: usize, _bytes: u64) {}
    fn frames_encoded(&mut self, _count: usize) {}
    /// The first frames or the hash of a video have reached the encoder.
    fn begun(&mut self, _path: &Path) {}
    fn finished(&mut self, _path: &Path, _bytes: u64, _outcome: &FileOutcome) {}
    /// The approximate index of `space` is being built or merged (`points` to insert).
    fn optimizing(&mut self, _space: &str, _points: u64) {}
    /// A pass after the decoding (`what`: "finding objects in", "reading the text of") has
    /// reached `t` seconds of `path`, whose header claims `length`.
    fn detecting(&mut self, _path: &Path, _what: &str, _t: f64, _length: Option<f64>) {}
    /// The speech model, beside the decoding of `path`'s pictures, has heard `t` seconds of its
    /// sound, whose length is `length`.
    fn hearing(&mut self, _path: &Path, _t: f64, _length: Option<f64>) {}
    /// The run is done with its own videos and waits for `videos` that other workers hold.
    fn waiting(&mut self, _videos: usize) {}
}

impl IndexObserver for () {}

/// One decode of a video: the frames to take and the pictures to make of each.
#[derive(Debug, Clone)]
struct PassPlan {
    sampling: Sampling,
    sizes: Vec<FrameSize>,
    route: Route,
    /// This decode also measures the optical flow, for a motion model.
    flow: bool,
}

#[derive(Debug, Clone)]
enum Route {
    /// (model, index of its picture in `sizes`) for each image model.
    Images(Vec<(usize, usize)>),
    /// The one clip model this pass feeds.
    Clip(usize),
    /// No model takes its frames: the pass decodes for the flow alone.
    Flow,
}

/// Which models a set of passes runs, for a sampling of image frames.
fn plan_passes(models: &[ModelInfo], which: &[usize], image_sampling: &Sampling) -> Vec<PassPlan> {
    let mut passes = Vec::new();
    let mut sizes: Vec<FrameSize> = Vec::new();
    let mut route = Vec::new();
    for &m in which {
        if models[m].clip.is_none() && !models[m].flow {
            let size = models[m].frame_size;
            let slot = sizes.iter().position(|s| *s == size).unwrap_or_else(|| {
                sizes.push(size);
                sizes.len() - 1
            });
            route.push((m, slot));
        }
    }
    if !route.is_empty() {
        passes.push(PassPlan {
            sampling: image_sampling.clone(),
            sizes,
            route: Route::Images(route),
            flow: false,
        });
    }
    for &m in which {
        if let Some(clip) = &models[m].clip {
            passes.push(PassPlan {
                sampling: Sampling::Fps(clip.fps),
                sizes: vec![models[m].frame_size],
                route: Route::Clip(m),
                flow: false,
            });
        }
    }
    // The flow is measured on the frames the first decode makes anyway.
    if let Some(&m) = which.iter().find(|&&m| models[m].flow) {
        match passes.first_mut() {
            Some(first) => first.flow = true,
            None => passes.push(PassPlan {
                sampling: image_sampling.clone(),
                sizes: vec![models[m].frame_size],
                route: Route::Flow,
                flow: true,
            }),
        }
    }
    passes
}

/// What to do with one file.
enum Work {
    /// New or changed: every model, replacing whatever is stored.
    Full,
    /// Unchanged, but these models' spaces are missing: add only them to the stored video.
    Extend(VideoRecord),
}

struct Job {
    path: PathBuf,
    size: u64,
    mtime_ns: i64,
    known_hash: Option<String>,
    existing_id: Option<i64>,
    work: Work,
    /// Indices into the run's models.
    models: Vec<usize>,
    passes: Vec<PassPlan>,
}

/// What the decoder thread learnt of a video besides its frames.
struct Decoded {
    /// Probed header and content hash: for full jobs only (an extension keeps the stored ones).
    probed: Option<(VideoInfo, String)>,
    /// Statistics of the first pass.
    stats: SampleStats,
    /// Shots found while decoding (full jobs with shot detection on).
    shots: Vec<vtx_media::Shot>,
    /// The video's segments with their thumbnails (full jobs).
    segments: Vec<SegmentSpan>,
    /// The motion stream (full jobs with motion on).
    motion: Vec<vtx_media::MotionSample>,
    /// What was said (full jobs with a speech model), or why it could not be heard; `None`
    /// inside when the hearing stopped.
    said: Option<std::result::Result<Option<Transcript>, String>>,
}

enum Produced {
    Sampled(Box<Decoded>),
    SameContent,
    OtherShare,
    Claimed { worker: String, content: String },
}

enum Msg {
    /// A full job's content hash, before its frames (the video's id derives from it), and its
    /// frames' width over their height.
    Hashed(String, f64),
    Frame(usize, Frame),
    PassEnd(usize),
    /// Seconds of the sound heard so far, and its length.
    Heard(f64, Option<f64>),
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

/// Decoders waiting for the encoder to make room: a video that may not write yet stops
/// decoding once it holds its share of vectors in memory.
#[derive(Default)]
struct Gate {
    paused: Mutex<HashSet<usize>>,
    opened: Condvar,
}

impl Gate {
    fn pause(&self, job: usize) {
        lock(&self.paused).insert(job);
    }

    fn open(&self, job: usize) {
        lock(&self.paused).remove(&job);
        self.opened.notify_all();
    }

    fn wait_open(&self, job: usize, stop: &(dyn Fn() -> bool + Sync)) {
        let mut paused = lock(&self.paused);
        while paused.contains(&job) && !stop() {
            // A stop is a flag, not a notification: look at it now and then.
            paused = self
                .opened
                .wait_timeout(paused, Duration::from_millis(50))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

/// What the decoder threads share: the jobs, the next one to take, and the way to the encoder.
struct Producers<'a> {
    jobs: &'a [Job],
    next: AtomicUsize,
    options: &'a IndexOptions,
    gate: Gate,
    stop: &'a (dyn Fn() -> bool + Sync),
    /// The object detector's side stream, with `--objects`.
    objects: Option<vtx_media::SideStream>,
    /// The speech model, which one video at a time has.
    hearing: Option<&'a Mutex<Transcriber>>,
    leases: &'a Leases<'a>,
}

impl Producers<'_> {
    /// One decoder thread's work: take the next job until none are left.
    fn run(&self, tx: SyncSender<(usize, Msg)>) {
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.jobs.len() || (self.stop)() {
                return;
            }
            let produced = self.produce(index, &tx);
            if tx.send((index, Msg::Done(produced))).is_err() {
                return;
            }
        }
    }

    /// Send a message of job `index` once its decoder may go on; whether the consumer is there.
    fn send(&self, index: usize, tx: &SyncSender<(usize, Msg)>, msg: Msg) -> bool {
        self.gate.wait_open(index, self.stop);
        tx.send((index, msg)).is_ok()
    }

    /// Hash, probe and sample one job, and hear a new video's sound meanwhile.
    fn produce(&self, index: usize, tx: &SyncSender<(usize, Msg)>) -> std::result::Result<Produced, String> {
        let (job, options) = (&self.jobs[index], self.options);
        let send = |msg: Msg| self.send(index, tx, msg);
        let probed = match job.work {
            Work::Full => {
                let hash = hash_file(&job.path).map_err(|e| format!("cannot read: {e}"))?;
                if options.share.is_some_and(|share| !in_share(&hash, share)) {
                    return Ok(Produced::OtherShare);
                }
                if job.known_hash.as_deref() == Some(hash.as_str()) {
                    return Ok(Produced::SameContent);
                }
                if let Some(worker) = self.leases.take(index, &hash)? {
                    return Ok(Produced::Claimed { worker, content: hash });
                }
                let info = vtx_media::probe(&job.path).map_err(|e: MediaError| e.to_string())?;
                if !send(Msg::Hashed(hash.clone(), info.aspect())) {
                    return Err("interrupted".into());
                }
                Some((info, hash))
            }
            Work::Extend(_) => {
                let known = job.known_hash.as_deref().unwrap_or_default();
                if options.share.is_some_and(|share| !in_share(known, share)) {
                    return Ok(Produced::OtherShare);
                }
                if let Some(worker) = self.leases.take(index, known)? {
                    return Ok(Produced::Claimed {
                        worker,
                        content: known.to_string(),
                    });
                }
                None
            }
        };
        let Some(transcriber) = self.hearing.filter(|_| probed.is_some()) else {
            return self.sample(index, tx, probed);
        };
        let abandoned = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let hearing = scope.spawn(|| self.hear(index, transcriber, tx, &abandoned));
            let sampled = self.sample(index, tx, probed);
            if sampled.is_err() {
                abandoned.store(true, Ordering::Relaxed);
            }
            let said = hearing
                .join()
                .unwrap_or_else(|_| Err("the speech thread panicked".into()));
            sampled.map(|produced| match produced {
                Produced::Sampled(mut decoded) => {
                    decoded.said = Some(said);
                    Produced::Sampled(decoded)
                }
                other => other,
            })
        })
    }

    /// What is said in job `index`, heard while its pictures are decoded; `None` when the run
    /// stopped or the decode failed first.
    fn hear(
        &self,
        index: usize,
        transcriber: &Mutex<Transcriber>,
        tx: &SyncSender<(usize, Msg)>,
        abandoned: &AtomicBool,
    ) -> std::result::Result<Option<Transcript>, String> {
        let mut transcriber = lock(transcriber);
        let mut heard = |t: f64, length: Option<f64>| {
            let gone = (self.stop)() || abandoned.load(Ordering::Relaxed);
            if gone || tx.send((index, Msg::Heard(t, length))).is_err() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        transcriber
            .run(&self.jobs[index].path, &mut heard)
            .map_err(|e| e.to_string())
    }

    /// Sample a job pass by pass. The first pass of a full job also detects shots, measures
    /// motion and makes the thumbnails of its segments.
    fn sample(
        &self,
        index: usize,
        tx: &SyncSender<(usize, Msg)>,
        probed: Option<(VideoInfo, String)>,
    ) -> std::result::Result<Produced, String> {
        let (job, options, stop) = (&self.jobs[index], self.options, self.stop);
        let send = |msg: Msg| self.send(index, tx, msg);
        let mut first: Option<vtx_media::Sampled> = None;
        let mut thumbnails = probed
            .as_ref()
            .map(|p| ThumbnailPicker::new(segments::thumbnail_size(p.0.width, p.0.height)));
        for (pass_index, pass) in job.passes.iter().enumerate() {
            let first_of_full = pass_index == 0 && probed.is_some();
            let analyses = vtx_media::Analyses {
                shots: options.shots.as_ref().filter(|_| first_of_full),
                motion: options.motion.as_ref().filter(|_| pass.flow),
                deblocking: options.deblocking,
                decoder: options.decoder,
                side: self.objects.filter(|_| pass_index == 0 && objects_ride_along(job)),
            };
            let mut picker = thumbnails.as_mut().filter(|_| first_of_full);
            let mut sizes = pass.sizes.clone();
            sizes.extend(picker.as_ref().map(|p| p.size()));
            let sampled = vtx_media::sample_and_analyse(&job.path, &pass.sampling, &sizes, analyses, |mut frame| {
                if let Some(picker) = picker.as_mut().filter(|_| !frame.side) {
                    let rgb = frame.images.pop().expect("the thumbnail size was asked for");
                    picker.offer(frame.t, &rgb);
                }
                if stop() || !send(Msg::Frame(pass_index, frame)) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .map_err(|e: MediaError| e.to_string())?;
            let stopped = sampled.stats.stopped;
            first.get_or_insert(sampled);
            if stopped || !send(Msg::PassEnd(pass_index)) {
                break;
            }
        }
        let vtx_media::Sampled { stats, shots, motion } = first.ok_or("no model needs this file")?;
        let segments = thumbnails
            .map(|picker| {
                picker.pick(&vtx_media::segment_spans(
                    &shots,
                    stats.duration,
                    options.segment_seconds,
                ))
            })
            .unwrap_or_default();
        Ok(Produced::Sampled(Box::new(Decoded {
            probed,
            stats,
            shots,
            segments,
            motion,
            said: None,
        })))
    }
}

/// Whether the detector's frames come from this job's first decode: a new or changed video,
/// decoded frame by frame (a keyframes-only decode is too sparse to track on; such a video gets
/// its objects from a decode of their own after the run).
fn objects_ride_along(job: &Job) -> bool {
    matches!(job.work, Work::Full) && job.passes.first().is_some_and(|p| p.sampling != Sampling::Keyframes)
}

/// A file deleted (or replaced by a folder) while it was read is not indexed: a record of it
/// would name nothing. The open write is dropped, so an earlier record of the path stays as it was.
fn gone_while_read(job: &Job) -> Option<String> {
    match std::fs::metadata(&job.path) {
        Ok(now) if now.is_file() => None,
        Ok(_) => Some("the file was replaced by a folder or a special file while it was read: not indexed".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some("the file was deleted while it was read: not indexed".into())
        }
        Err(e) => Some(format!(
            "the file could no longer be read after reading it ({e}): not indexed"
        )),
    }
}

/// A file whose size or modification time moved while it was read: one still being written
/// (a recording, a copy under way). What was read is indexed under the size and time seen
/// before, so the next run sees the change and reads it again.
fn changed_while_read(job: &Job) -> Option<String> {
    let now = std::fs::metadata(&job.path).ok()?;
    (now.len() != job.size || mtime_ns(&now) != job.mtime_ns).then(|| {
        "the file changed while it was read (still being written?): indexed what was there; the next run reads it again"
            .to_string()
    })
}

/// Headers may overstate a duration by a frame or two; more than this is a cut-off file.
const TRUNCATION_SLACK_S: f64 = 2.0;

/// What a pass over a damaged file should tell the user; `done` says what was done with the part
/// that could be read ("indexed").
pub(crate) fn warning_for(stats: &SampleStats, info: &VideoInfo, done: &str) -> Option<String> {
    match (&stats.read_error, stats.decode_errors, info.claimed_duration()) {
        (Some(e), _, _) => Some(format!("reading stopped early ({e}); {done} the first {:.1} s", stats.duration)),
        (None, _, Some(header)) if header > stats.duration * 1.1 + TRUNCATION_SLACK_S => Some(format!(
            "frames end at {:.1} s but the header promises {header:.1} s: the file looks truncated; {done} what is there",
            stats.duration
        )),
        (None, n, _) if n > 0 => Some(format!("{n} damaged packet(s) skipped")),
        _ => None,
    }
}

/// Vectors are handed to the store in runs of this many, so a video of any length is never held
/// in memory whole (1024 frames with a 1280-d and a 384-d vector: 6.6 MB).
#[cfg(not(test))]
const STORE_BATCH_VECTORS: usize = 1024;
/// A video that may not write yet (another holds the store's one write) pauses its decoder once
/// it holds this many vectors: about an hour of video at 1 frame/s with two image spaces, 45 MB.
#[cfg(not(test))]
const WAITING_VECTORS: usize = 8 * STORE_BATCH_VECTORS;
// Small enough that the unit tests' short videos take every turn of the write hand-over.
#[cfg(test)]
const STORE_BATCH_VECTORS: usize = 4;
#[cfg(test)]
const WAITING_VECTORS: usize = 12;

/// One video on its way into the store: its writer once begun (dropping it uncommitted undoes the
/// video), vectors not yet handed over, and how many each space got.
#[derive(Default)]
struct VideoInProgress<'s> {
    writer: Option<Box<dyn VideoWriter + 's>>,
    /// The content hash of a full job, once the decoder has it.
    content: Option<String>,
    pending: Vec<(String, Vec<TimedVector>)>,
    pending_count: usize,
    counts: HashMap<String, u32>,
}

impl VideoInProgress<'_> {
    fn take(&mut self, space: String, vectors: Vec<TimedVector>) {
        if vectors.is_empty() {
            return;
        }
        *self.counts.entry(space.clone()).or_default() += vectors.len() as u32;
        self.pending_count += vectors.len();
        self.pending.push((space, vectors));
    }

    fn spaces(&self) -> Vec<String> {
        let mut spaces: Vec<String> = self.counts.keys().cloned().collect();
        spaces.sort();
        spaces
    }

    fn most_vectors(&self) -> u32 {
        self.counts.values().copied().max().unwrap_or(0)
    }
}

struct Consumer<'a, 'm> {
    store: &'a dyn VectorStore,
    models: &'a mut [&'m mut FrameModel],
    /// With `--objects`: the detector, fed by the side stream of each new video's first decode.
    objects: Option<&'a mut ObjectFinder>,
    /// With a speech model: how what is said in each segment becomes its `speech` vector.
    embed_said: Option<&'a EmbedTexts<'a>>,
    observer: &'a mut dyn IndexObserver,
    jobs: &'a [Job],
    gate: &'a Gate,
    batch_size: Option<usize>,
    near_duplicate_bits: Option<u32>,
    pooling: Pooling,
    /// Videos being decoded, by job.
    active: HashMap<usize, Active<'a>>,
    /// Videos decoded and waiting for the write, in the order they finished.
    parked: VecDeque<Parked<'a>>,
    /// The job whose video holds the store's open write.
    holder: Option<usize>,
    /// Outcomes by job, in the order they were settled.
    settled: Vec<(usize, FileOutcome)>,
    report: IndexReport,
    leases: &'a Leases<'a>,
}

/// The frames of one job waiting for an image batch, and the windowers of its clip passes.
struct JobState {
    batch: Vec<Frame>,
    windowers: HashMap<usize, Windower>,
    error: Option<EngineError>,
    /// Signature of the last image frame kept, for near-duplicate skipping.
    last_signature: Option<u64>,
    /// The video's objects under way (`--objects`), or why they failed: a failure costs the
    /// objects, never the vectors.
    objects: Option<std::result::Result<ObjectsInProgress, EngineError>>,
}

/// One video between its first message and its outcome.
struct Active<'s> {
    video: VideoInProgress<'s>,
    state: JobState,
    batch_size: usize,
}

struct Parked<'s> {
    job: usize,
    active: Active<'s>,
    done: std::result::Result<Produced, String>,
}

/// A store failure while writing `job`'s video: every later write would fail too.
struct Fatal {
    job: usize,
    error: EngineError,
}

/// Whether settling this outcome writes to the store (and so needs the write).
fn writes(active: &Active<'_>, done: &std::result::Result<Produced, String>) -> bool {
    match done {
        Ok(Produced::SameContent) => true,
        Ok(Produced::OtherShare | Produced::Claimed { .. }) => false,
        Ok(Produced::Sampled(decoded)) => active.state.error.is_none() && !decoded.stats.stopped,
        Err(_) => false,
    }
}

impl<'a> Consumer<'a, '_> {
    /// Take messages until every decoder has stopped. Whatever goes wrong, a video begun in the
    /// store is either committed whole or, its writer dropped, rolled back.
    fn run(&mut self, rx: &Receiver<(usize, Msg)>) -> std::result::Result<(), Fatal> {
        while let Ok((job, msg)) = rx.recv() {
            self.take(job, msg)?;
        }
        // The decoders stopped (a cancel): a video begun and not done was stopped with them.
        let mut left: Vec<usize> = self
            .active
            .keys()
            .copied()
            .chain(self.parked.iter().map(|p| p.job))
            .collect();
        left.sort_unstable();
        self.active.clear();
        self.parked.clear();
        for job in left {
            self.settle(job, FileOutcome::Interrupted);
        }
        Ok(())
    }

    fn take(&mut self, job: usize, msg: Msg) -> std::result::Result<(), Fatal> {
        let fatal = |error| Fatal { job, error };
        let mut active = match self.active.remove(&job) {
            Some(active) => active,
            None => {
                self.observer.begun(&self.jobs[job].path);
                let batch_size = self.image_batch_size(&self.jobs[job]);
                Active {
                    video: VideoInProgress::default(),
                    state: JobState {
                        batch: Vec::with_capacity(batch_size),
                        windowers: HashMap::new(),
                        error: None,
                        last_signature: None,
                        objects: None,
                    },
                    batch_size,
                }
            }
        };
        match msg {
            Msg::Hashed(hash, aspect) => {
                active.video.content = Some(hash);
                if objects_ride_along(&self.jobs[job]) {
                    active.state.objects = self.objects.as_ref().map(|finder| Ok(finder.begin(aspect)));
                }
            }
            Msg::Frame(pass, frame) => {
                if let Err(e) = self.take_frame(job, pass, frame, &mut active) {
                    active.state.error.get_or_insert(e);
                }
                self.write_or_wait(job, &mut active.video).map_err(fatal)?;
            }
            Msg::PassEnd(pass) => {
                if let Err(e) = self.end_pass(job, pass, &mut active) {
                    active.state.error.get_or_insert(e);
                }
            }
            Msg::Heard(t, length) => self.observer.hearing(&self.jobs[job].path, t, length),
            Msg::Done(done) => {
                if writes(&active, &done) && self.holder.is_some_and(|holder| holder != job) {
                    self.parked.push_back(Parked { job, active, done });
                    return Ok(());
                }
                self.settle_job(job, active, done)?;
                return self.promote();
            }
        }
        self.active.insert(job, active);
        Ok(())
    }

    /// Hand a full run of vectors to the store when this video may write, else keep them and
    /// pause its decoder once it holds its share.
    fn write_or_wait(&mut self, job: usize, video: &mut VideoInProgress<'a>) -> Result<()> {
        if video.pending_count < STORE_BATCH_VECTORS {
            return Ok(());
        }
        match self.holder {
            Some(holder) if holder != job => {
                if video.pending_count >= WAITING_VECTORS {
                    self.gate.pause(job);
                }
                Ok(())
            }
            _ => self.hand_over(job, video),
        }
    }

    /// While no video holds the write: settle the videos that waited for it, then give it to
    /// the decoding video that has the most to write.
    fn promote(&mut self) -> std::result::Result<(), Fatal> {
        while self.holder.is_none() {
            if let Some(Parked { job, active, done }) = self.parked.pop_front() {
                self.settle_job(job, active, done)?;
                continue;
            }
            let waiting = self
                .active
                .iter()
                .filter(|(_, a)| a.video.pending_count >= STORE_BATCH_VECTORS)
                .max_by_key(|(_, a)| a.video.pending_count)
                .map(|(&job, _)| job);
            let Some(job) = waiting else { break };
            let mut active = self.active.remove(&job).expect("found among the active");
            let handed = self.hand_over(job, &mut active.video);
            self.active.insert(job, active);
            self.gate.open(job);
            handed.map_err(|error| Fatal { job, error })?;
        }
        Ok(())
    }

    fn settle_job(
        &mut self,
        job: usize,
        active: Active<'a>,
        done: std::result::Result<Produced, String>,
    ) -> std::result::Result<(), Fatal> {
        let outcome = self.finish(job, active, done);
        // `finish` has committed or dropped the video's writer, whatever it returned.
        if self.holder == Some(job) {
            self.holder = None;
        }
        let outcome = outcome.map_err(|error| Fatal { job, error })?;
        self.settle(job, outcome);
        Ok(())
    }

    fn settle(&mut self, job: usize, outcome: FileOutcome) {
        self.leases.release(job);
        let jobs = self.jobs;
        let Job { path, size, .. } = &jobs[job];
        self.observer.finished(path, *size, &outcome);
        self.settled.push((job, outcome));
    }

    fn image_batch_size(&self, job: &Job) -> usize {
        let own = || match job.passes.first().map(|p| &p.route) {
            Some(Route::Images(route)) => route
                .iter()
                .filter_map(|(m, _)| match &self.models[*m].encoder {
                    FrameEncoder::Image { encoder, .. } => Some(encoder.batch_size()),
                    FrameEncoder::Clip(_) | FrameEncoder::Flow => None,
                })
                .max()
                .unwrap_or(16),
            _ => 16,
        };
        self.batch_size.unwrap_or_else(own).max(1)
    }

    /// The outcome of a video its decoder is done with: written whole, or not at all.
    fn finish(
        &mut self,
        index: usize,
        active: Active<'a>,
        done: std::result::Result<Produced, String>,
    ) -> std::result::Result<FileOutcome, EngineError> {
        let jobs = self.jobs;
        let job = &jobs[index];
        let Active { mut video, state, .. } = active;
        let Decoded {
            probed,
            stats,
            shots,
            segments,
            motion,
            said,
        } = match done {
            Err(reason) => return Ok(FileOutcome::Failed(reason)),
            Ok(Produced::SameContent) => {
                let id = job.existing_id.expect("a known hash implies a stored video");
                self.store.touch_video(id, job.mtime_ns)?;
                return Ok(FileOutcome::SameContent);
            }
            Ok(Produced::OtherShare) => return Ok(FileOutcome::OtherShare),
            Ok(Produced::Claimed { worker, content }) => return Ok(FileOutcome::Claimed { worker, content }),
            Ok(Produced::Sampled(decoded)) => *decoded,
        };
        if let Some(e) = state.error {
            return Ok(FileOutcome::Failed(format!("model failed: {e}")));
        }
        if stats.stopped {
            return Ok(FileOutcome::Interrupted);
        }
        let said = match said {
            // Its sound not all heard, the video is not written: a run stopped half-way through
            // a video leaves none of it.
            Some(Ok(None)) => return Ok(FileOutcome::Interrupted),
            heard => heard.and_then(std::result::Result::transpose),
        };
        // Frames counted are the image models' (motion is measured at its own rate).
        let vectors = video.most_vectors();
        if let Some(flow) = job.models.iter().map(|&m| &self.models[m].info).find(|info| info.flow) {
            video.take(flow.spaces[0].name.clone(), motion::vectors(&motion));
        }
        self.hand_over(index, &mut video)?;
        let spaces = video.spaces();
        let mut writer = video.writer.take().expect("handed over above");
        if let Some(reason) = gone_while_read(job) {
            return Ok(FileOutcome::Failed(reason));
        }
        match (&job.work, probed) {
            (Work::Extend(record), _) => {
                pool_into(writer.as_mut(), &spaces, self.pooling)?;
                writer.commit(&record.meta)?;
                Ok(FileOutcome::Extended { spaces, vectors })
            }
            (Work::Full, Some((info, hash))) => {
                let warning = changed_while_read(job).or_else(|| warning_for(&stats, &info, "indexed"));
                let meta = VideoMeta {
                    path: path_to_text(&job.path).into_owned(),
                    size: job.size,
                    mtime_ns: job.mtime_ns,
                    hash,
                    duration: stats.duration,
                    fps: info.fps,
                    format: info.format.clone(),
                    codec: info.codec.clone(),
                    width: info.width,
                    height: info.height,
                    frames: vectors,
                };
                let spans: Vec<ShotSpan> = shots
                    .iter()
                    .map(|s| ShotSpan {
                        start: s.start,
                        end: s.end,
                        boundary: s.boundary.as_str().to_string(),
                    })
                    .collect();
                writer.set_shots(&spans)?;
                writer.set_segments(&or_whole(segments, stats.duration))?;
                pool_into(writer.as_mut(), &spaces, self.pooling)?;
                let said = said.map(|said| self.write_said(said, writer.as_mut())).transpose()?;
                // Objects are folded into the text spaces inside the video's write, and stored
                // once it is committed; a failed detection costs the objects, never the vectors.
                let objects = state
                    .objects
                    .map(|found| self.end_objects(job, found, &info, &stats, writer.as_mut()))
                    .transpose()?;
                let id = writer.commit(&meta)?;
                if let Some(objects) = objects {
                    let stored = objects.and_then(|objects| {
                        self.store.set_objects(id, &objects)?;
                        Ok(objects.tracks.len())
                    });
                    self.report
                        .objects
                        .push((job.path.clone(), stored.map_err(|e| e.to_string())));
                }
                if let Some(said) = said {
                    self.report.speech.push((job.path.clone(), said));
                }
                tracing::debug!(path = %job.path.display(), vectors, duration = stats.duration,
                    decoded = stats.frames_decoded, skipped_nonref = stats.skipped_nonref, "video indexed");
                self.report.frames += u64::from(vectors);
                self.report.video_seconds += stats.duration;
                Ok(FileOutcome::Indexed {
                    frames: vectors,
                    duration: stats.duration,
                    warning,
                })
            }
            (Work::Full, None) => unreachable!("a full job is always probed"),
        }
    }

    /// What was said in a video, into its write: its text, and each segment's words in the
    /// `speech` space. The number of phrases, or why there are none (a failed hearing costs the
    /// transcript, never the vectors). An error is the write's own, and fails the video.
    fn write_said(
        &mut self,
        said: std::result::Result<Transcript, String>,
        writer: &mut dyn VideoWriter,
    ) -> Result<std::result::Result<usize, String>> {
        let found = match said {
            Err(reason) => return Ok(Err(reason)),
            Ok(found) => found,
        };
        let embed = self
            .embed_said
            .expect("a video is heard only with a way to embed what is said");
        let vectors = match said_in_segments(&writer.segments()?, &found, embed) {
            Ok(vectors) => vectors,
            Err(e) => return Ok(Err(format!("the sentence encoder failed: {e}"))),
        };
        if let Some(vectors) = &vectors {
            writer.put_vectors(vectors)?;
        }
        writer.set_text(&Transcriber::to_stored(&found))?;
        Ok(Ok(found.phrases.len()))
    }

    /// A video's objects, from its side stream, folded into the text spaces of its write: the
    /// objects, or why the detection failed. An error is the write's own, and fails the video.
    fn end_objects(
        &mut self,
        job: &Job,
        found: std::result::Result<ObjectsInProgress, EngineError>,
        info: &VideoInfo,
        stats: &SampleStats,
        writer: &mut dyn VideoWriter,
    ) -> Result<std::result::Result<vtx_index::VideoObjects, EngineError>> {
        let finder = self
            .objects
            .as_mut()
            .expect("objects are under way only with a detector");
        let warning = warning_for(stats, info, "looked for objects in");
        let report = match found.and_then(|found| finder.end(found, &job.path, info, stats.duration, warning)) {
            Ok(report) => report,
            Err(e) => return Ok(Err(e)),
        };
        let segments: Vec<(i64, f64, f64)> = writer.segments()?.iter().map(|s| (s.id, s.start, s.end)).collect();
        let objects = report.to_stored(&segments);
        finder.fold(writer, &objects, self.pooling)?;
        Ok(Ok(objects))
    }

    fn take_frame(&mut self, index: usize, pass: usize, mut frame: Frame, active: &mut Active<'a>) -> Result<()> {
        let jobs = self.jobs;
        let job = &jobs[index];
        let Active {
            video,
            state,
            batch_size,
        } = active;
        if state.error.is_some() {
            return Ok(());
        }
        if frame.side {
            if let (Some(finder), Some(Ok(found))) = (self.objects.as_mut(), state.objects.as_mut()) {
                if let Err(e) = finder.feed(found, frame.t, frame.images.swap_remove(0)) {
                    state.objects = Some(Err(e));
                }
            }
            return Ok(());
        }
        match &job.passes[pass].route {
            Route::Images(_) => {
                if let Some(bits) = self.near_duplicate_bits {
                    let size = job.passes[pass].sizes[0];
                    let signature = vtx_media::signature(&frame.images[0], size.width, size.height);
                    if state
                        .last_signature
                        .is_some_and(|last| (last ^ signature).count_ones() <= bits)
                    {
                        self.report.frames_skipped += 1;
                        return Ok(());
                    }
                    state.last_signature = Some(signature);
                }
                state.batch.push(frame);
                if state.batch.len() >= *batch_size {
                    self.encode_images(job, pass, &mut state.batch, video)?;
                }
            }
            Route::Flow => {}
            Route::Clip(m) => {
                let model = &mut self.models[*m];
                let spec = model.info.clip.as_ref().expect("clip passes feed clip models");
                let windower = state.windowers.entry(pass).or_insert_with(|| Windower::new(spec));
                let windows = windower.push(model, frame.t, frame.images.swap_remove(0))?;
                self.observer.frames_encoded(windows.len());
                video.take(model.info.spaces[0].name.clone(), windows);
            }
        }
        Ok(())
    }

    fn end_pass(&mut self, index: usize, pass: usize, active: &mut Active<'a>) -> Result<()> {
        let jobs = self.jobs;
        let job = &jobs[index];
        let Active { video, state, .. } = active;
        if state.error.is_some() {
            return Ok(());
        }
        match &job.passes[pass].route {
            Route::Images(_) => self.encode_images(job, pass, &mut state.batch, video),
            Route::Flow => Ok(()),
            Route::Clip(m) => {
                let model = &mut self.models[*m];
                if let Some(mut windower) = state.windowers.remove(&pass) {
                    let windows = windower.finish(model)?;
                    self.observer.frames_encoded(windows.len());
                    video.take(model.info.spaces[0].name.clone(), windows);
                }
                Ok(())
            }
        }
    }

    fn encode_images(
        &mut self,
        job: &Job,
        pass: usize,
        batch: &mut Vec<Frame>,
        video: &mut VideoInProgress<'a>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let Route::Images(route) = &job.passes[pass].route else {
            unreachable!("image batches come from image passes")
        };
        let times: Vec<f64> = batch.iter().map(|f| f.t).collect();
        for &(m, slot) in route {
            let pictures: Vec<&[u8]> = batch.iter().map(|f| f.images[slot].as_slice()).collect();
            for (space, vectors) in self.models[m].encode_images(&times, &pictures)? {
                video.take(space, vectors);
            }
        }
        self.observer.frames_encoded(batch.len());
        batch.clear();
        Ok(())
    }

    /// Move the encoded vectors into the store's open write of this video, opening it (and so
    /// taking the store's one write) if need be.
    fn hand_over(&mut self, index: usize, video: &mut VideoInProgress<'a>) -> Result<()> {
        let (store, jobs) = (self.store, self.jobs);
        let job = &jobs[index];
        self.holder = Some(index);
        let writer = match &mut video.writer {
            Some(writer) => writer,
            empty => empty.insert(match &job.work {
                Work::Full => {
                    let content = video.content.as_deref().ok_or_else(|| {
                        EngineError::Internal(format!("{}: frames came before the file's hash", job.path.display()))
                    })?;
                    store.write_video(&path_to_text(&job.path), content)?
                }
                Work::Extend(record) => {
                    let spaces: Vec<String> = job
                        .models
                        .iter()
                        .flat_map(|&m| self.models[m].info.spaces.iter().map(|s| s.name.clone()))
                        .collect();
                    store.extend_video(record.id, &spaces)?
                }
            }),
        };
        for (space, vectors) in video.pending.drain(..) {
            writer.add_frames(&space, &vectors)?;
        }
        video.pending_count = 0;
        Ok(())
    }
}

/// Pool the spaces this run wrote for a video into its segments and itself, from its moments as
/// the write holds them.
fn pool_into(writer: &mut dyn VideoWriter, spaces: &[String], pooling: Pooling) -> Result<()> {
    let starts: Vec<f64> = writer.segments()?.iter().map(|s| s.start).collect();
    for space in spaces {
        let moments = writer.moments(space)?;
        writer.put_vectors(&pool_space(space, &moments, &starts, pooling))?;
    }
    Ok(())
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

    /// Tell the observer what the run is to read: once a run, however many times it executes.
    pub(crate) fn announce(&self, observer: &mut dyn IndexObserver) {
        observer.started(self.jobs.len(), self.jobs.iter().map(|j| j.size).sum());
    }
}

/// Find the files and settle the ones that need no work (missing, unreadable, unchanged and
/// complete). `models` are the index's models for this run.
pub(crate) fn plan(
    store: &dyn VectorStore,
    models: &[ModelInfo],
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
    let all: Vec<usize> = (0..models.len()).collect();
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
        let existing = store.video_by_path(&path_to_text(&path))?;
        let unchanged = existing
            .as_ref()
            .is_some_and(|rec| !options.force && rec.meta.size == size && rec.meta.mtime_ns == mtime);
        let (work, which, sampling) = match existing.clone() {
            Some(record) if unchanged => {
                let have = store.video_spaces(record.id)?;
                // A video can give no flow at all (one frame, frames too far apart), so a motion
                // model is not a reason to decode an unchanged one again: the flow is measured
                // when a video is indexed in full.
                let missing: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&m| !models[m].flow && models[m].spaces.iter().any(|s| !have.contains(&s.name)))
                    .collect();
                if missing.is_empty() {
                    settle(path, FileOutcome::Unchanged, &mut report);
                    continue;
                }
                let sampling =
                    stored_times(store, models, &record, &have, &missing)?.unwrap_or(options.sampling.clone());
                (Work::Extend(record), missing, sampling)
            }
            _ => (Work::Full, all.clone(), options.sampling.clone()),
        };
        let known_hash = existing
            .as_ref()
            .filter(|_| !options.force)
            .map(|r| r.meta.hash.clone());
        jobs.push(Job {
            passes: plan_passes(models, &which, &sampling),
            path,
            size,
            mtime_ns: mtime,
            known_hash,
            existing_id: existing.map(|r| r.id),
            work,
            models: which,
        });
    }
    Ok(Plan { jobs, report, started })
}

/// The moments an extended video already has in a frame space that stays, so that a new image
/// model sees the same frames as the others.
fn stored_times(
    store: &dyn VectorStore,
    models: &[ModelInfo],
    record: &VideoRecord,
    have: &[String],
    rewriting: &[usize],
) -> Result<Option<Sampling>> {
    let kept_frame_space = models
        .iter()
        .enumerate()
        .filter(|(i, m)| !rewriting.contains(i) && m.clip.is_none() && !m.flow)
        .flat_map(|(_, m)| &m.spaces)
        .find(|s| have.contains(&s.name));
    let Some(space) = kept_frame_space else {
        return Ok(None);
    };
    let times = store.frame_times(record.id, &space.name)?;
    Ok((!times.is_empty()).then(|| Sampling::Times(Arc::from(times))))
}

/// What is said in each new video of a run: heard by `transcriber` on a thread beside the
/// decoding of its pictures, each segment's words embedded by `embed`, all in the video's write.
pub(crate) struct Hearing<'e> {
    pub(crate) transcriber: Mutex<Transcriber>,
    pub(crate) embed: &'e EmbedTexts<'e>,
}

/// What finds more in a new video than its frame models, from the same decode.
#[derive(Default)]
pub(crate) struct Riders<'r> {
    /// With `--objects`: the detector, fed by the side stream of the first decode.
    pub(crate) objects: Option<&'r mut ObjectFinder>,
    /// With `--speech`: the speech model, beside the decode.
    pub(crate) hearing: Option<&'r Hearing<'r>>,
}

impl Riders<'_> {
    /// The same riders, for one more run.
    pub(crate) fn again(&mut self) -> Riders<'_> {
        Riders {
            objects: self.objects.as_deref_mut(),
            hearing: self.hearing,
        }
    }
}

/// Run the planned jobs through the decode thread and the encoders.
pub(crate) fn execute(
    plan: Plan,
    store: &dyn VectorStore,
    models: &mut [&mut FrameModel],
    riders: Riders<'_>,
    options: &IndexOptions,
    observer: &mut dyn IndexObserver,
    cancel: &AtomicBool,
) -> Result<IndexReport> {
    let Plan {
        jobs,
        mut report,
        started,
    } = plan;
    let Riders { mut objects, hearing } = riders;
    let leases = Leases::new(store, &options.worker, options.lease);
    let workers = options.jobs.clamp(1, jobs.len().max(1));
    let (tx, rx) = sync_channel(options.queue_frames.max(1) * workers);
    let abort = AtomicBool::new(false);
    let stop = || cancel.load(Ordering::Relaxed) || abort.load(Ordering::Relaxed);
    let producers = Producers {
        jobs: &jobs,
        next: AtomicUsize::new(0),
        options,
        gate: Gate::default(),
        stop: &stop,
        objects: objects.as_ref().map(|finder| finder.side_stream()),
        hearing: hearing.map(|h| &h.transcriber),
        leases: &leases,
    };
    let mut consumer = Consumer {
        store,
        models,
        objects: objects.take(),
        embed_said: hearing.map(|h| h.embed),
        observer,
        jobs: &jobs,
        gate: &producers.gate,
        batch_size: options.batch_size,
        near_duplicate_bits: options.near_duplicate_bits,
        pooling: options.pooling,
        active: HashMap::new(),
        parked: VecDeque::new(),
        holder: None,
        settled: Vec::new(),
        report: IndexReport::default(),
        leases: &leases,
    };
    let (renewing, renewals) = std::sync::mpsc::channel();
    let fatal = std::thread::scope(|scope| {
        let leases = &leases;
        scope.spawn(move || leases.keep_alive(&renewals));
        for _ in 0..workers {
            let (producers, tx) = (&producers, tx.clone());
            scope.spawn(move || producers.run(tx));
        }
        drop(tx);
        let ran = consumer.run(&rx);
        if ran.is_err() {
            abort.store(true, Ordering::Relaxed);
        }
        // Decoders blocked on a full queue see it gone and stop.
        drop(rx);
        drop(renewing);
        ran.err()
    });
    if let Some(Fatal { job, error }) = fatal {
        // Roll back the other videos' open writes, then name the one that failed.
        consumer.active.clear();
        consumer.parked.clear();
        consumer.settle(job, FileOutcome::Failed(error.to_string()));
        report.aborted = Some((error.to_string(), jobs.len() - consumer.settled.len()));
    }
    leases.release_all();
    let mut settled = std::mem::take(&mut consumer.settled);
    settled.sort_by_key(|(job, _)| *job);
    report.files.extend(
        settled
            .into_iter()
            .map(|(job, outcome)| (jobs[job].path.clone(), outcome)),
    );
    report.objects = std::mem::take(&mut consumer.report.objects);
    report.speech = std::mem::take(&mut consumer.report.speech);
    report.frames = consumer.report.frames;
    report.frames_skipped = consumer.report.frames_skipped;
    report.video_seconds = consumer.report.video_seconds;
    report.cancelled = cancel.load(Ordering::Relaxed);
    report.wall_seconds = started.elapsed().as_secs_f64();
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

/// Embed a video that is not in the index with one model: its vector in `space`, pooled as the
/// index pools (segments from its shots, then the video from its segments).
pub(crate) fn embed_video(
    model: &mut FrameModel,
    space: &str,
    path: &Path,
    options: &IndexOptions,
) -> Result<Vec<f32>> {
    let passes = plan_passes(std::slice::from_ref(&model.info), &[0], &options.sampling);
    let pass = passes.first().expect("one model gives one pass");
    let mut moments: Vec<TimedVector> = Vec::new();
    let mut failure = None;
    let mut batch: Vec<Frame> = Vec::new();
    let mut windower = model.info.clip.as_ref().map(Windower::new);
    let batch_size = match &model.encoder {
        FrameEncoder::Image { encoder, .. } => options.batch_size.unwrap_or(encoder.batch_size()).max(1),
        FrameEncoder::Clip(_) | FrameEncoder::Flow => 1,
    };
    let mut keep = |found: Vec<(String, Vec<TimedVector>)>| {
        moments.extend(found.into_iter().filter(|(s, _)| s == space).flat_map(|(_, v)| v));
    };
    let flush = |batch: &mut Vec<Frame>, model: &mut FrameModel| -> Result<Vec<(String, Vec<TimedVector>)>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let times: Vec<f64> = batch.iter().map(|f| f.t).collect();
        let pictures: Vec<&[u8]> = batch.iter().map(|f| f.images[0].as_slice()).collect();
        let found = model.encode_images(&times, &pictures)?;
        batch.clear();
        Ok(found)
    };
    let analyses = vtx_media::Analyses {
        shots: options.shots.as_ref(),
        motion: None,
        deblocking: options.deblocking,
        decoder: options.decoder,
        side: None,
    };
    let vtx_media::Sampled { stats, shots, .. } =
        vtx_media::sample_and_analyse(path, &pass.sampling, &pass.sizes, analyses, |mut frame| {
            let step = match windower.as_mut() {
                Some(w) => w
                    .push(model, frame.t, frame.images.swap_remove(0))
                    .map(|windows| vec![(space.to_string(), windows)]),
                None => {
                    batch.push(frame);
                    if batch.len() >= batch_size {
                        flush(&mut batch, model)
                    } else {
                        Ok(Vec::new())
                    }
                }
            };
            match step {
                Ok(found) => {
                    keep(found);
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let rest = match windower.as_mut() {
        Some(w) => vec![(space.to_string(), w.finish(model)?)],
        None => flush(&mut batch, model)?,
    };
    keep(rest);
    let spans = vtx_media::segment_spans(&shots, stats.duration, options.segment_seconds);
    let starts: Vec<f64> = spans.iter().map(|s| s.0).collect();
    pool_space(space, &moments, &starts, options.pooling)
        .video
        .ok_or_else(|| EngineError::Internal(format!("model '{}' does not write space '{space}'", model.info.name)))
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
