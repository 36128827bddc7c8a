//! Timestamp-driven frame sampling.
//!
//! The sampler decodes the video stream in order and, for each target time, hands out the decoded
//! frame whose presentation time is nearest to it. Targets come from the sampling rule, never from
//! the header's frame count, so sparse streams (cinepak with 68 frames where the header says 444),
//! variable frame rates and lying durations all land on the right moments.

use std::ops::ControlFlow;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};

use ffmpeg_next::codec::threading;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::format::stream::Disposition;
use ffmpeg_next::util::frame::video::Video;
use ffmpeg_next::{codec, media, Packet, Rational};

use crate::motion::{MotionOptions, MotionSample, MotionTracker};
use crate::scale::{FrameSize, Scaler};
use crate::shots::{Shot, ShotOptions, ShotTracker};
use crate::{init, Frame, MediaError, Result};

/// Which moments of a video to sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Sampling {
    /// One frame every `1/F` seconds, starting at 0.
    Fps(f64),
    /// `N` frames at the centres of `N` equal parts of the measured duration.
    Count(usize),
    /// The frames nearest to these times (seconds, ascending): the moments an index already
    /// holds, when a new model embeds them.
    Times(Arc<[f64]>),
    /// Every keyframe and nothing else: only keyframes are decoded (FFmpeg's skip-frame), a
    /// fast first pass over long videos whose spacing follows the encoder's choice.
    Keyframes,
    /// `frames` evenly spread over each segment (each shot cut into equal spans of at most
    /// `span` seconds, see [`segment_spans`](crate::segment_spans)): every shot gets at least
    /// one, a long static shot no more than its length in segments. Costs a first, picture-less
    /// pass that finds the shots.
    Shots { frames: usize, span: f64 },
}

/// Frames nothing else depends on (most B-frames) are not decoded when the sampling gap spans at
/// least this many frames: the nearest decoded frame then lies at most a frame or two from each
/// target (its own timestamp is still exact), and H.264 decodes about 30% faster.
const SKIP_NONREF_MIN_GAP_FRAMES: f64 = 8.0;

impl Sampling {
    /// The shortest gap between targets in seconds (`duration` is only read for `Count`).
    fn interval(&self, duration: f64) -> f64 {
        match self {
            Sampling::Fps(f) => 1.0 / f,
            Sampling::Count(n) => duration / *n as f64,
            Sampling::Times(times) => times.windows(2).map(|w| w[1] - w[0]).fold(f64::INFINITY, f64::min),
            Sampling::Keyframes | Sampling::Shots { .. } => f64::INFINITY,
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            Sampling::Keyframes => Ok(()),
            Sampling::Fps(f) if f.is_finite() && *f > 0.0 => Ok(()),
            Sampling::Count(n) if *n > 0 => Ok(()),
            Sampling::Shots { frames, span } if *frames > 0 && span.is_finite() && *span > 0.0 => Ok(()),
            Sampling::Times(t)
                if !t.is_empty() && t.iter().all(|x| x.is_finite()) && t.windows(2).all(|w| w[0] <= w[1]) =>
            {
                Ok(())
            }
            _ => Err(MediaError::InvalidSampling(format!(
                "{self:?}: rate and count must be positive, times ascending"
            ))),
        }
    }
}

/// What one pass over a video did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleStats {
    pub frames_decoded: u64,
    pub frames_sampled: u64,
    /// Measured duration: end of the last decoded frame, in seconds.
    pub duration: f64,
    /// Packets the decoder rejected; the pass went on past them.
    pub decode_errors: u64,
    /// Why reading stopped before a clean end of file, if it did (e.g. a truncated file).
    pub read_error: Option<String>,
    /// The sink asked to stop early.
    pub stopped: bool,
    /// Frames nothing refers to were not decoded (sparse sampling; see `SKIP_NONREF_MIN_GAP_FRAMES`).
    pub skipped_nonref: bool,
    /// The deblocking filter was left out (see [`Deblocking`]).
    pub skipped_deblocking: bool,
    /// The frames came from NVDEC ([`Decoder::Nvdec`] and it opened on this stream).
    pub hardware_decoded: bool,
}

pub(crate) fn open_input(path: &Path) -> Result<Input> {
    let input = open_any(path)?;
    let format = input.format().name().to_string();
    if format.starts_with("image2") || format.ends_with("_pipe") {
        return Err(MediaError::StillImage(format));
    }
    Ok(input)
}

fn open_any(path: &Path) -> Result<Input> {
    init();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MediaError::Missing,
        _ => MediaError::Open(e.to_string()),
    })?;
    // A FIFO or a device would block the reader, or never end.
    if !meta.is_file() {
        return Err(MediaError::NotVideo(
            "not a regular file (a folder, FIFO or device)".into(),
        ));
    }
    if meta.len() == 0 {
        return Err(MediaError::NotVideo("empty file (0 bytes)".into()));
    }
    // ffmpeg-next hands FFmpeg the name as UTF-8 (and panics on another), so a file whose name
    // is not is opened here and given to FFmpeg by the name of its open descriptor.
    let opened;
    let ffmpeg_path = match path.to_str() {
        Some(_) => path.to_path_buf(),
        None => {
            opened = std::fs::File::open(path).map_err(|e| MediaError::Open(e.to_string()))?;
            PathBuf::from(format!("/proc/self/fd/{}", opened.as_raw_fd()))
        }
    };
    let input = ffmpeg_next::format::input(&ffmpeg_path).map_err(|e| match e {
        ffmpeg_next::Error::InvalidData if looks_like_mp4(path) => MediaError::NotVideo(
            "an MP4/MOV whose index (moov atom) is missing: the file is truncated or was never finished".into(),
        ),
        ffmpeg_next::Error::InvalidData => MediaError::NotVideo("not a recognised media format".into()),
        other => MediaError::Open(other.to_string()),
    })?;
    Ok(input)
}

/// The first frame of a picture (PNG, JPEG, ...) or of a video, converted to each of `sizes`:
/// for searching a library by an example image.
pub fn load_picture(path: &Path, sizes: &[FrameSize]) -> Result<Vec<Vec<u8>>> {
    let mut input = open_any(path)?;
    let (index, params) = {
        let s = video_stream(&input)?;
        (s.index(), s.parameters())
    };
    let ctx = codec::context::Context::from_parameters(params).map_err(|e| MediaError::Decode(e.to_string()))?;
    let mut decoder = ctx
        .decoder()
        .video()
        .map_err(|e| MediaError::Decode(format!("no decoder for this picture: {e}")))?;
    let mut frame = Video::empty();
    let mut packet = Packet::empty();
    let mut at_end = false;
    loop {
        if decoder.receive_frame(&mut frame).is_ok() {
            return sizes.iter().map(|s| Scaler::new(*s).convert(&frame)).collect();
        }
        if at_end {
            return Err(MediaError::NoFrames);
        }
        match packet.read(&mut input) {
            Ok(()) if packet.stream() == index => {
                let _ = decoder.send_packet(&packet);
            }
            Ok(()) | Err(ffmpeg_next::Error::InvalidData) => {}
            Err(_) => {
                at_end = true;
                let _ = decoder.send_eof();
            }
        }
    }
}

/// ISO media files start with a box whose type is `ftyp`: a cheap sniff to explain why such a
/// file would not open (an interrupted recording or download loses the index written last).
fn looks_like_mp4(path: &Path) -> bool {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head[4..8] == b"ftyp"
}

pub(crate) fn video_stream(input: &Input) -> Result<ffmpeg_next::format::stream::Stream<'_>> {
    input
        .streams()
        .filter(|s| s.parameters().medium() == media::Type::Video)
        .find(|s| !s.disposition().contains(Disposition::ATTACHED_PIC))
        .ok_or_else(|| MediaError::NotVideo("no video stream".into()))
}

fn seconds(ts: i64, base: Rational) -> f64 {
    ts as f64 * f64::from(base)
}

/// The declared frame interval, used only to fill gaps; 25 fps when the stream declares none.
fn frame_step(stream: &ffmpeg_next::format::stream::Stream<'_>) -> f64 {
    let rate = stream.avg_frame_rate();
    if rate.numerator() > 0 && rate.denominator() > 0 {
        1.0 / f64::from(rate)
    } else {
        1.0 / 25.0
    }
}

/// The real duration of the video stream, from its packets' timestamps (a demux, no decode).
fn measure_duration(path: &Path) -> Result<f64> {
    let mut input = open_input(path)?;
    let (index, mut clock) = {
        let s = video_stream(&input)?;
        (s.index(), Clock::new(s.time_base(), None, frame_step(&s)))
    };
    let base = clock.base;
    let mut end: Option<f64> = None;
    let mut extend = |t: f64| end = Some(end.map_or(t, |e: f64| e.max(t)));
    let mut packet = Packet::empty();
    // A packet whose stamp leaps ahead waits for the next, as frames do in `Decoding::run`.
    let mut leapt: Option<(i64, f64)> = None;
    loop {
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::InvalidData) => continue,
            Err(_) => break,
        }
        if packet.stream() != index {
            continue;
        }
        // Packets come in decode order, so their decode timestamps are the monotonic clock.
        if let Some(ts) = packet.dts().or(packet.pts()) {
            let length = seconds(packet.duration().max(0), base);
            if let Some((held, held_length)) = leapt.take() {
                let t = match clock.comes_back(Some(held), Some(ts)) {
                    true => clock.time_of(None),
                    false => clock.time_of(Some(held)),
                };
                extend(t + held_length);
            }
            match clock.leaps(Some(ts)) {
                true => leapt = Some((ts, length)),
                false => extend(clock.time_of(Some(ts)) + length),
            }
        }
    }
    if let Some((held, held_length)) = leapt {
        extend(clock.time_of(Some(held)) + held_length);
    }
    end.ok_or(MediaError::NoFrames)
}

/// The target times, generated lazily so that an `Fps` rule works without knowing the duration.
struct Targets {
    sampling: Sampling,
    duration: f64,
    next: usize,
}

impl Targets {
    fn current(&self) -> Option<f64> {
        match &self.sampling {
            Sampling::Fps(f) => Some(self.next as f64 / f),
            Sampling::Count(n) => (self.next < *n).then(|| (self.next as f64 + 0.5) * self.duration / *n as f64),
            Sampling::Times(times) => times.get(self.next).copied(),
            // Every decoded frame is taken; see `sample`.
            Sampling::Keyframes => None,
            // Resolved into `Times` before decoding; see `sample_and_analyse`.
            Sampling::Shots { .. } => None,
        }
    }

    /// Move past every target that a frame at `t` already serves.
    fn advance_past(&mut self, t: f64) {
        self.next += 1;
        while self.current().is_some_and(|target| target <= t) {
            self.next += 1;
        }
    }
}

/// A decoded frame waiting to see whether the next one lies nearer to the target.
struct Pending {
    frame: Video,
    t: f64,
    emitted: bool,
    valid: bool,
}

struct Pass<'a, F: FnMut(Frame) -> ControlFlow<()>> {
    scalers: Vec<Scaler>,
    targets: Targets,
    side: Option<Side>,
    sink: &'a mut F,
    stats: SampleStats,
    prev: Pending,
    last_emitted_t: f64,
}

/// The side stream's scaler and its next target.
struct Side {
    scaler: Scaler,
    fps: f64,
    next: u64,
}

impl<F: FnMut(Frame) -> ControlFlow<()>> Pass<'_, F> {
    /// The side stream's frame, if `t` reached its next target.
    fn offer_side(&mut self, frame: &Video, t: f64) -> Result<ControlFlow<()>> {
        let Some(side) = self.side.as_mut() else {
            return Ok(ControlFlow::Continue(()));
        };
        if t < side.next as f64 / side.fps {
            return Ok(ControlFlow::Continue(()));
        }
        while side.next as f64 / side.fps <= t {
            side.next += 1;
        }
        let image = side.scaler.convert(frame)?;
        Ok((self.sink)(Frame {
            t,
            images: vec![image],
            side: true,
        }))
    }

    fn emit(&mut self, frame: &Video, t: f64) -> Result<ControlFlow<()>> {
        let images = self
            .scalers
            .iter_mut()
            .map(|s| s.convert(frame))
            .collect::<Result<_>>()?;
        self.stats.frames_sampled += 1;
        self.last_emitted_t = t;
        Ok((self.sink)(Frame { t, images, side: false }))
    }

    /// Consider a newly decoded frame at time `t` against the pending targets.
    fn offer(&mut self, frame: &mut Video, t: f64) -> Result<ControlFlow<()>> {
        // Timestamps that go backwards (broken muxers) cannot serve a target already passed.
        if t < self.last_emitted_t {
            return Ok(ControlFlow::Continue(()));
        }
        let mut current_emitted = false;
        while let Some(target) = self.targets.current() {
            if t < target {
                break;
            }
            let prev_is_nearer = self.prev.valid && !self.prev.emitted && (target - self.prev.t) < (t - target);
            let flow = if prev_is_nearer {
                self.prev.emitted = true;
                let (prev_frame, prev_t) = (std::mem::replace(&mut self.prev.frame, Video::empty()), self.prev.t);
                let flow = self.emit(&prev_frame, prev_t);
                self.prev.frame = prev_frame;
                self.targets.advance_past(prev_t);
                flow?
            } else if !current_emitted {
                current_emitted = true;
                let flow = self.emit(frame, t)?;
                self.targets.advance_past(t);
                flow
            } else {
                self.targets.advance_past(t);
                ControlFlow::Continue(())
            };
            if flow.is_break() {
                self.stats.stopped = true;
                return Ok(flow);
            }
        }
        std::mem::swap(&mut self.prev.frame, frame);
        self.prev.t = t;
        self.prev.emitted = current_emitted;
        self.prev.valid = true;
        Ok(ControlFlow::Continue(()))
    }
}

/// Decode `path` and call `sink` with each sampled frame, in time order, converted to each of
/// `sizes` (several models can share one decode).
///
/// Returns an error only when nothing could be sampled; a stream that breaks part-way is reported
/// in [`SampleStats::read_error`] and [`SampleStats::decode_errors`] with the frames before the
/// break delivered.
pub fn sample<F>(path: &Path, sampling: &Sampling, sizes: &[FrameSize], sink: F) -> Result<SampleStats>
where
    F: FnMut(Frame) -> ControlFlow<()>,
{
    Ok(sample_and_analyse(path, sampling, sizes, Analyses::default(), sink)?.stats)
}

/// What else a sampling decode does: what to measure on its frames, and how exactly to decode
/// them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Analyses<'a> {
    pub shots: Option<&'a ShotOptions>,
    pub motion: Option<&'a MotionOptions>,
    pub deblocking: Deblocking,
    pub decoder: Decoder,
    /// A second stream of frames from the same decode, at its own rate and size (an object
    /// detector's, beside an encoder's): each is the first decoded frame at or after its
    /// target time, handed to the sink with [`Frame::side`] set.
    pub side: Option<SideStream>,
}

/// See [`Analyses::side`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SideStream {
    pub fps: f64,
    pub size: FrameSize,
}

/// Whether the decoder's deblocking (in-loop) filter runs: about a quarter of H.264's decoding
/// time, for edges between blocks that a downscaled frame barely shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Deblocking {
    /// Off where the container's index shows a keyframe at least every
    /// [`AUTO_DEBLOCKING_MAX_KEYFRAME_GAP`] seconds, on everywhere else (and where the container
    /// has no index of its keyframes).
    #[default]
    Auto,
    /// On every frame, as the encoder meant: pixel-exact decoding.
    Full,
    /// On no frame. Frames predicted from unfiltered ones inherit the difference until the next
    /// keyframe, so long keyframe intervals drift most (docs/performance.md has the figures).
    Off,
}

vtx_core::names!(Deblocking, "deblocking", {
    Deblocking::Auto => "auto",
    Deblocking::Full => "full",
    Deblocking::Off => "off",
});

/// Which decoder turns a stream's packets into pictures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decoder {
    /// FFmpeg's own, on the CPU's cores.
    #[default]
    Software,
    /// NVIDIA's hardware decoder (NVDEC, through FFmpeg's `<codec>_cuvid` decoders) where the
    /// codec has one and it opens on the stream (a driver and a GPU that takes the profile);
    /// FFmpeg's own elsewhere. NVDEC decodes and filters every frame itself, so [`Deblocking`]
    /// and the skipping of non-reference frames do not apply to it.
    Nvdec,
}

/// The longest keyframe interval at which [`Deblocking::Auto`] leaves the filter out. The drift
/// starts again at each keyframe, so short intervals never let it grow: on the test videos a
/// keyframe every 2 s kept segment vectors at cosine 0.996 of a full decode, every 10 frames at
/// 0.9999, while 3.8-4.9 s fell to 0.95-0.96.
pub const AUTO_DEBLOCKING_MAX_KEYFRAME_GAP: f64 = 2.0;

/// The result of [`sample_and_analyse`].
#[derive(Debug, Clone, Default)]
pub struct Sampled {
    pub stats: SampleStats,
    /// The shots, when asked for (from 0 to the measured duration).
    pub shots: Vec<Shot>,
    /// The motion stream, when asked for, in time order.
    pub motion: Vec<MotionSample>,
}

/// [`sample`], and from the same decode the video's shots and motion stream, seen on the frames
/// that decode produces: every frame, or only reference frames when sparse sampling skips the
/// others. Encoders put cuts on reference frames (x264 starts a new GOP at a scene change), so
/// cuts still land on their frame; a cut on a skipped B-frame is placed a frame or two late.
/// Keyframe-only decoding gives no motion (its frames are too far apart for optical flow).
pub fn sample_and_analyse<F>(
    path: &Path,
    sampling: &Sampling,
    sizes: &[FrameSize],
    analyses: Analyses<'_>,
    sink: F,
) -> Result<Sampled>
where
    F: FnMut(Frame) -> ControlFlow<()>,
{
    sampling.validate()?;
    let Sampling::Shots { frames, span } = *sampling else {
        return sample_pass(path, sampling, sizes, analyses, sink);
    };
    // First the shots, from the frames a sparse decode makes (as indexing sees them), no
    // pictures; then the chosen moments, with the motion stream if asked for.
    let default_shots = ShotOptions::default();
    let find_shots = Analyses {
        shots: Some(analyses.shots.unwrap_or(&default_shots)),
        deblocking: analyses.deblocking,
        decoder: analyses.decoder,
        ..Analyses::default()
    };
    let first = sample_pass(
        path,
        &Sampling::Fps(1.0),
        &[FrameSize::MEASURE_ONLY],
        find_shots,
        |_| ControlFlow::Continue(()),
    )?;
    let times: Vec<f64> = crate::segment_spans(&first.shots, first.stats.duration, span)
        .iter()
        .flat_map(|&(start, end)| (0..frames).map(move |i| start + (end - start) * (i as f64 + 0.5) / frames as f64))
        .collect();
    let moments = Analyses {
        shots: None,
        ..analyses
    };
    let second = sample_pass(path, &Sampling::Times(Arc::from(times)), sizes, moments, sink)?;
    Ok(Sampled {
        shots: first.shots,
        ..second
    })
}

/// One decode of [`sample_and_analyse`] (any sampling but `Shots`).
fn sample_pass<F>(
    path: &Path,
    sampling: &Sampling,
    sizes: &[FrameSize],
    analyses: Analyses<'_>,
    mut sink: F,
) -> Result<Sampled>
where
    F: FnMut(Frame) -> ControlFlow<()>,
{
    let trackers = Trackers {
        shots: analyses.shots.map(ShotTracker::new).transpose()?,
        motion: analyses.motion.map(MotionTracker::new).transpose()?,
    };
    if sizes.is_empty() {
        return Err(MediaError::InvalidSampling("no frame size requested".into()));
    }
    let sampling = sampling.clone();
    // Count needs the duration up front; keyframes-only decoding cannot see where the last
    // frames end, so it is measured by demuxing for both.
    let duration = match sampling {
        Sampling::Count(_) | Sampling::Keyframes => measure_duration(path)?,
        Sampling::Fps(_) | Sampling::Times(_) | Sampling::Shots { .. } => 0.0,
    };
    let mut decoding = Decoding::open(path, analyses.decoder)?;
    let keyframes_only = sampling == Sampling::Keyframes;
    let skip_nonref = !keyframes_only
        && !decoding.hardware
        && sampling.interval(duration) >= SKIP_NONREF_MIN_GAP_FRAMES * decoding.clock.step;
    if keyframes_only {
        decoding.skip(ffmpeg_next::Discard::NonKey);
    } else if skip_nonref {
        decoding.skip(ffmpeg_next::Discard::NonReference);
    }
    let skipped_deblocking = decoding.deblock(analyses.deblocking);
    let hardware_decoded = decoding.hardware;
    let mut pass = Pass {
        scalers: sizes.iter().map(|s| Scaler::new(*s)).collect(),
        side: analyses.side.map(|s| Side {
            scaler: Scaler::new(s.size),
            fps: s.fps,
            next: 0,
        }),
        targets: Targets {
            sampling,
            duration,
            next: 0,
        },
        sink: &mut sink,
        stats: SampleStats {
            skipped_nonref: skip_nonref,
            skipped_deblocking,
            ..SampleStats::default()
        },
        prev: Pending {
            frame: Video::empty(),
            t: 0.0,
            emitted: false,
            valid: false,
        },
        last_emitted_t: f64::NEG_INFINITY,
    };
    let mut stats = SampleStats::default();
    let trackers = std::thread::scope(|scope| -> Result<Trackers<'_>> {
        let analysis = Analysis::start(trackers, scope);
        let decoded = decoding.run(&mut stats, |frame, t| {
            analysis.send(frame, t);
            if pass.offer_side(frame, t)?.is_break() {
                pass.stats.stopped = true;
                return Ok(ControlFlow::Break(()));
            }
            if !keyframes_only {
                pass.offer(frame, t)
            } else if t >= pass.last_emitted_t {
                pass.emit(frame, t)
            } else {
                Ok(ControlFlow::Continue(()))
            }
        });
        // The worker must be told the end even when decoding failed, or it would wait forever.
        let trackers = analysis.finish();
        decoded?;
        trackers
    })?;
    pass.stats = SampleStats {
        frames_sampled: pass.stats.frames_sampled,
        stopped: pass.stats.stopped || stats.stopped,
        skipped_nonref: skip_nonref,
        skipped_deblocking,
        hardware_decoded,
        duration: if keyframes_only {
            stats.duration.max(duration)
        } else {
            stats.duration
        },
        ..stats
    };
    // A clip shorter than one sampling step still yields its nearest frame.
    if pass.stats.frames_sampled == 0 && !pass.stats.stopped && pass.prev.valid {
        let (prev_frame, prev_t) = (std::mem::replace(&mut pass.prev.frame, Video::empty()), pass.prev.t);
        if pass.emit(&prev_frame, prev_t)?.is_break() {
            pass.stats.stopped = true;
        }
    }
    let shots = trackers
        .shots
        .map(|t| t.finish(pass.stats.duration))
        .unwrap_or_default();
    let motion = trackers.motion.map(MotionTracker::finish).unwrap_or_default();
    Ok(Sampled {
        stats: pass.stats,
        shots,
        motion,
    })
}

/// What a sampling pass measures besides the samples.
struct Trackers<'a> {
    shots: Option<ShotTracker<'a>>,
    motion: Option<MotionTracker<'a>>,
}

/// Decoded frames waiting for the analysis thread; the decoder's buffer pool holds this many more
/// frames (about 10 MB at 1080p).
const ANALYSIS_QUEUE: usize = 4;

/// Shot detection and motion on a thread of their own: the decoder hands each frame over by
/// reference (no copy) and moves on, so a decode-bound pipeline does not wait for them.
enum Analysis<'scope, 'a> {
    /// Nothing to measure (boxed: the trackers are large and this variant is rare in indexing).
    Idle(Box<Trackers<'a>>),
    Running {
        frames: SyncSender<(Video, f64)>,
        worker: ScopedJoinHandle<'scope, Result<Trackers<'a>>>,
    },
}

impl<'scope, 'a: 'scope> Analysis<'scope, 'a> {
    fn start(mut trackers: Trackers<'a>, scope: &'scope Scope<'scope, '_>) -> Self {
        if trackers.shots.is_none() && trackers.motion.is_none() {
            return Analysis::Idle(Box::new(trackers));
        }
        let (frames, queue) = sync_channel::<(Video, f64)>(ANALYSIS_QUEUE);
        let worker = scope.spawn(move || {
            for (frame, t) in queue {
                if let Some(shots) = trackers.shots.as_mut() {
                    shots.feed(&frame, t)?;
                }
                if let Some(motion) = trackers.motion.as_mut() {
                    motion.feed(&frame, t)?;
                }
            }
            Ok(trackers)
        });
        Analysis::Running { frames, worker }
    }

    fn send(&self, frame: &Video, t: f64) {
        let Analysis::Running { frames, .. } = self else {
            return;
        };
        // SAFETY: av_frame_clone makes a new reference to the same buffers (or returns null); the
        // Video that wraps it owns it and frees it.
        let shared = unsafe { ffmpeg_next::ffi::av_frame_clone(frame.as_ptr()) };
        if !shared.is_null() {
            // A failed send means the worker stopped on an error, which `finish` reports.
            let _ = frames.send((unsafe { Video::wrap(shared) }, t));
        }
    }

    /// Tell the worker the stream has ended and take the trackers back.
    fn finish(self) -> Result<Trackers<'a>> {
        match self {
            Analysis::Idle(trackers) => Ok(*trackers),
            Analysis::Running { frames, worker } => {
                drop(frames);
                worker
                    .join()
                    .unwrap_or_else(|_| Err(MediaError::Decode("the shot and motion analysis failed".into())))
            }
        }
    }
}

/// The longest stretch from one keyframe to the next, or from the last to the end of the stream,
/// read from the container's index without reading a packet. The index lists every keyframe in
/// MP4, MOV and AVI; where it lists only some (Matroska's cues) the stretches come out longer,
/// never shorter. None when there is no index or no end to measure to.
fn longest_keyframe_gap(input: &Input, index: usize, step: f64) -> Option<f64> {
    let stream = input.stream(index)?;
    let base = stream.time_base();
    let known = |ts: i64| ts != ffmpeg_next::ffi::AV_NOPTS_VALUE;
    // SAFETY: the stream belongs to `input`, which outlives this call, and its index entries are
    // only read, before anything else is asked of the demuxer.
    let entries: Vec<(f64, bool)> = unsafe {
        let raw = stream.as_ptr().cast_mut();
        let count = ffmpeg_next::ffi::avformat_index_get_entries_count(raw);
        (0..count)
            .filter_map(|i| ffmpeg_next::ffi::avformat_index_get_entry(raw, i).as_ref())
            .filter(|entry| known(entry.timestamp))
            .map(|entry| {
                let key = entry.flags() & ffmpeg_next::ffi::AVINDEX_KEYFRAME != 0;
                (seconds(entry.timestamp, base), key)
            })
            .collect()
    };
    // MP4 indexes by decoding time, which runs a few frames ahead of the presentation times the
    // declared start and duration count in.
    let first = entries.iter().map(|&(t, _)| t).reduce(f64::min)?;
    let start = known(stream.start_time()).then(|| seconds(stream.start_time(), base));
    let shift = start.map_or(0.0, |start| start - first);
    let keyframes: Vec<f64> = entries
        .iter()
        .filter(|&&(_, key)| key)
        .map(|&(t, _)| t + shift)
        .collect();
    let last_entry_end = entries.iter().map(|&(t, _)| t + shift + step).reduce(f64::max)?;
    // An index of keyframes alone ends at a keyframe, so the end must be declared too.
    let declared_end = if stream.duration() > 0 {
        start.unwrap_or(0.0) + seconds(stream.duration(), base)
    } else if input.duration() > 0 {
        input.duration() as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE)
    } else {
        return None;
    };
    let end = declared_end.max(last_entry_end);
    let gaps = keyframes.windows(2).map(|pair| pair[1] - pair[0]);
    Some(gaps.chain([end - keyframes.last()?]).fold(0.0, f64::max))
}

fn open_software(params: codec::Parameters) -> Result<ffmpeg_next::decoder::Video> {
    let mut ctx = codec::context::Context::from_parameters(params).map_err(|e| MediaError::Decode(e.to_string()))?;
    ctx.set_threading(threading::Config {
        kind: threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    ctx.decoder()
        .video()
        .map_err(|e| MediaError::Decode(format!("no decoder for this stream: {e}")))
}

/// Say aloud the first time in a process that a stream NVDEC was asked for goes to the CPU
/// instead, and log the others: a library of one codec would otherwise repeat one line per file.
fn fell_back_to_software(path: &Path, why: &str) {
    static SAID: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    SAID.call_once(|| first = true);
    match first {
        true => tracing::warn!("decoding {} on the CPU: {why}", path.display()),
        false => tracing::info!("decoding {} on the CPU: {why}", path.display()),
    }
}

/// NVDEC's decoder for the stream, or why there is none. Without a hardware context FFmpeg's
/// cuvid decoders copy each frame to memory (NV12 or P010), which the scalers read as any other.
fn open_nvdec(params: codec::Parameters) -> std::result::Result<ffmpeg_next::decoder::Video, String> {
    use ffmpeg_next::codec::Id;
    let name = match params.id() {
        Id::H264 => "h264_cuvid",
        Id::HEVC => "hevc_cuvid",
        Id::AV1 => "av1_cuvid",
        Id::VP8 => "vp8_cuvid",
        Id::VP9 => "vp9_cuvid",
        Id::MPEG1VIDEO => "mpeg1_cuvid",
        Id::MPEG2VIDEO => "mpeg2_cuvid",
        Id::MPEG4 => "mpeg4_cuvid",
        Id::VC1 => "vc1_cuvid",
        Id::MJPEG => "mjpeg_cuvid",
        other => return Err(format!("NVDEC does not decode {other:?}")),
    };
    let codec = ffmpeg_next::decoder::find_by_name(name).ok_or_else(|| format!("this FFmpeg has no {name}"))?;
    let ctx = codec::context::Context::from_parameters(params).map_err(|e| e.to_string())?;
    // Opening loads libcuda and asks the GPU whether it takes the stream's profile and size.
    ctx.decoder()
        .open_as(codec)
        .and_then(|opened| opened.video())
        .map_err(|e| format!("{name} does not open here ({e}): no NVIDIA driver or GPU, or a profile NVDEC lacks"))
}

/// One video stream being decoded in order, every frame with its time in seconds.
pub(crate) struct Decoding {
    input: Input,
    index: usize,
    decoder: ffmpeg_next::decoder::Video,
    /// NVDEC decodes this stream.
    hardware: bool,
    pub(crate) clock: Clock,
}

impl Decoding {
    pub(crate) fn open(path: &Path, decoder: Decoder) -> Result<Self> {
        let input = open_input(path)?;
        let (index, clock, params) = {
            let s = video_stream(&input)?;
            let start = (s.start_time() != ffmpeg_next::ffi::AV_NOPTS_VALUE).then(|| s.start_time());
            (
                s.index(),
                Clock::new(s.time_base(), start, frame_step(&s)),
                s.parameters(),
            )
        };
        let nvdec = match decoder {
            Decoder::Software => None,
            Decoder::Nvdec => open_nvdec(params.clone())
                .inspect_err(|why| fell_back_to_software(path, why))
                .ok(),
        };
        let hardware = nvdec.is_some();
        let decoder = match nvdec {
            Some(decoder) => decoder,
            None => open_software(params)?,
        };
        Ok(Self {
            input,
            index,
            decoder,
            hardware,
            clock,
        })
    }

    /// Leave frames out of decoding: those no other frame refers to (most B-frames), or all but
    /// keyframes.
    pub(crate) fn skip(&mut self, which: ffmpeg_next::Discard) {
        self.decoder.skip_frame(which);
    }

    /// Set the deblocking filter; whether it was left out.
    pub(crate) fn deblock(&mut self, deblocking: Deblocking) -> bool {
        let skip = match deblocking {
            Deblocking::Full => false,
            Deblocking::Off => true,
            Deblocking::Auto => longest_keyframe_gap(&self.input, self.index, self.clock.step)
                .is_some_and(|gap| gap <= AUTO_DEBLOCKING_MAX_KEYFRAME_GAP + self.clock.step / 2.0),
        };
        self.decoder.skip_loop_filter(if skip {
            ffmpeg_next::Discard::All
        } else {
            ffmpeg_next::Discard::None
        });
        skip
    }

    /// Decode to the end (or until `on_frame` breaks), filling the decoding half of `stats`:
    /// frames decoded, measured duration, damaged packets, why reading stopped early. An error
    /// only when not one frame could be decoded.
    pub(crate) fn run(
        mut self,
        stats: &mut SampleStats,
        mut on_frame: impl FnMut(&mut Video, f64) -> Result<ControlFlow<()>>,
    ) -> Result<()> {
        let mut frame = Video::empty();
        let mut packet = Packet::empty();
        let mut flushing = false;
        // A frame whose stamp leaps ahead, held until the next one settles it (`Clock::comes_back`).
        let mut leapt: Option<(Video, Option<i64>)> = None;
        let mut deliver = |clock: &mut Clock, frame: &mut Video, t: f64, stats: &mut SampleStats| {
            stats.duration = stats.duration.max(t + clock.step);
            on_frame(frame, t)
        };
        'read: loop {
            if !flushing {
                match packet.read(&mut self.input) {
                    Ok(()) => {
                        if packet.stream() != self.index {
                            continue;
                        }
                        if self.decoder.send_packet(&packet).is_err() {
                            stats.decode_errors += 1;
                            continue;
                        }
                    }
                    Err(ffmpeg_next::Error::Eof) => {
                        flushing = true;
                        let _ = self.decoder.send_eof();
                    }
                    Err(ffmpeg_next::Error::InvalidData) => {
                        stats.decode_errors += 1;
                        continue;
                    }
                    Err(e) => {
                        stats.read_error = Some(e.to_string());
                        flushing = true;
                        let _ = self.decoder.send_eof();
                    }
                }
            }
            loop {
                match self.decoder.receive_frame(&mut frame) {
                    Ok(()) => {
                        stats.frames_decoded += 1;
                        let ts = frame.timestamp();
                        if let Some((mut held, held_ts)) = leapt.take() {
                            let t = match self.clock.comes_back(held_ts, ts) {
                                true => self.clock.time_of(None),
                                false => self.clock.time_of(held_ts),
                            };
                            if deliver(&mut self.clock, &mut held, t, stats)?.is_break() {
                                stats.stopped = true;
                                break 'read;
                            }
                        }
                        if self.clock.leaps(ts) {
                            leapt = Some((frame.clone(), ts));
                            continue;
                        }
                        let t = self.clock.time_of(ts);
                        if deliver(&mut self.clock, &mut frame, t, stats)?.is_break() {
                            stats.stopped = true;
                            break 'read;
                        }
                    }
                    Err(_) if flushing => {
                        // The last frame leapt with nothing after it to say otherwise: a gap.
                        if let Some((mut held, held_ts)) = leapt.take() {
                            let t = self.clock.time_of(held_ts);
                            if deliver(&mut self.clock, &mut held, t, stats)?.is_break() {
                                stats.stopped = true;
                            }
                        }
                        break 'read;
                    }
                    Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::error::EAGAIN => break,
                    Err(_) => {
                        stats.decode_errors += 1;
                        break;
                    }
                }
            }
        }
        if stats.frames_decoded == 0 {
            return Err(match stats.read_error.take() {
                Some(e) => MediaError::Decode(e),
                None => MediaError::NoFrames,
            });
        }
        Ok(())
    }
}

/// Turns stream timestamps into seconds from the start, filling in frames that carry none and
/// stitching over timestamps that jump backwards (a stream spliced from pieces, as in the mimetype
/// test mkv, whose clock restarts part-way): later frames continue after the earlier ones.
pub(crate) struct Clock {
    base: Rational,
    origin: Option<i64>,
    last_raw: Option<f64>,
    last: Option<f64>,
    offset: f64,
    pub(crate) step: f64,
}

/// A backwards jump larger than this is a discontinuity; smaller ones are reordering jitter.
const DISCONTINUITY_S: f64 = 1.0;

impl Clock {
    fn new(base: Rational, origin: Option<i64>, step: f64) -> Self {
        Self {
            base,
            origin,
            last_raw: None,
            last: None,
            offset: 0.0,
            step,
        }
    }

    fn raw(&mut self, ts: i64) -> f64 {
        let origin = *self.origin.get_or_insert(ts);
        seconds(ts - origin, self.base)
    }

    /// Whether a frame stamped `ts` lands more than [`DISCONTINUITY_S`] after the last one: a gap
    /// in the recording, or one corrupt stamp (a flipped bit in an MPEG-TS PTS). The next frame
    /// tells which (`comes_back`).
    pub(crate) fn leaps(&mut self, ts: Option<i64>) -> bool {
        match (ts, self.last_raw) {
            (Some(ts), Some(last_raw)) => self.raw(ts) > last_raw + DISCONTINUITY_S,
            _ => false,
        }
    }

    /// Whether `next`, the frame after one stamped `leap`, is back beside the frames before the
    /// leap: then the leap was one bad stamp, and that frame gets the time after the last.
    pub(crate) fn comes_back(&mut self, leap: Option<i64>, next: Option<i64>) -> bool {
        let (Some(leap), Some(next), Some(last_raw)) = (leap, next, self.last_raw) else {
            return false;
        };
        let (leap, next) = (self.raw(leap), self.raw(next));
        next < leap - DISCONTINUITY_S && (next - last_raw).abs() <= DISCONTINUITY_S
    }

    fn time_of(&mut self, ts: Option<i64>) -> f64 {
        let t = match ts {
            Some(ts) => {
                let raw = self.raw(ts);
                if let (Some(last_raw), Some(last)) = (self.last_raw, self.last) {
                    if raw < last_raw - DISCONTINUITY_S {
                        self.offset = last + self.step - raw;
                    }
                }
                self.last_raw = Some(raw);
                (raw + self.offset).max(0.0)
            }
            None => self.last.map_or(0.0, |last| last + self.step),
        };
        self.last = Some(self.last.map_or(t, |last| last.max(t)));
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(sampling: Sampling, duration: f64) -> Targets {
        Targets {
            sampling,
            duration,
            next: 0,
        }
    }

    #[test]
    fn count_targets_are_centres_of_equal_parts() {
        let mut t = targets(Sampling::Count(4), 8.0);
        let mut got = vec![];
        while let Some(x) = t.current() {
            got.push(x);
            t.advance_past(x);
        }
        assert_eq!(got, vec![1.0, 3.0, 5.0, 7.0]);
    }

    #[test]
    fn sparse_frames_skip_targets_they_already_serve() {
        // A stream with one frame every 2.5 s sampled at 1 fps: the frame at 2.5 serves 1.0..=2.0.
        let mut t = targets(Sampling::Fps(1.0), 0.0);
        t.advance_past(0.0);
        assert_eq!(t.current(), Some(1.0));
        t.advance_past(2.5);
        assert_eq!(t.current(), Some(3.0));
    }

    #[test]
    fn invalid_sampling_is_rejected() {
        assert!(Sampling::Fps(0.0).validate().is_err());
        assert!(Sampling::Fps(f64::NAN).validate().is_err());
        assert!(Sampling::Count(0).validate().is_err());
        assert!(Sampling::Fps(0.5).validate().is_ok());
    }

    #[test]
    fn clock_fills_missing_timestamps_and_starts_at_zero() {
        let mut c = Clock::new(Rational::new(1, 1000), None, 0.04);
        assert_eq!(c.time_of(Some(5000)), 0.0);
        assert!((c.time_of(Some(5500)) - 0.5).abs() < 1e-9);
        assert!((c.time_of(None) - 0.54).abs() < 1e-9);
    }

    #[test]
    fn clock_stitches_a_restarting_stream() {
        let mut c = Clock::new(Rational::new(1, 1000), Some(0), 0.04);
        assert_eq!(c.time_of(Some(2000)), 2.0);
        // The stream's clock restarts at 0.12 s: the frame follows the last one by one step.
        assert!((c.time_of(Some(120)) - 2.04).abs() < 1e-9);
        assert!((c.time_of(Some(520)) - 2.44).abs() < 1e-9);
        // Small reordering jitter is not a restart.
        assert!((c.time_of(Some(400)) - 2.32).abs() < 1e-9);
    }

    /// The times the decode loop gives frames stamped `stamps` (ms), holding each that leaps until
    /// the next settles it, as `Decoding::run` does.
    fn settled(stamps: &[i64]) -> Vec<f64> {
        let mut c = Clock::new(Rational::new(1, 1000), Some(0), 0.1);
        let (mut times, mut held) = (Vec::new(), None);
        for &ts in stamps {
            if let Some(leap) = held.take() {
                let t = match c.comes_back(Some(leap), Some(ts)) {
                    true => c.time_of(None),
                    false => c.time_of(Some(leap)),
                };
                times.push(t);
            }
            match c.leaps(Some(ts)) {
                true => held = Some(ts),
                false => times.push(c.time_of(Some(ts))),
            }
        }
        times.extend(held.map(|leap| c.time_of(Some(leap))));
        times
    }

    #[test]
    fn one_corrupt_stamp_is_not_a_leap_in_time_but_a_gap_is() {
        let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
        // A flipped bit sends one frame 93 s ahead; the next is back: it was one bad stamp.
        let spike = settled(&[3600, 3700, 97106, 4000, 4200]);
        assert!(close(&spike, &[3.6, 3.7, 3.8, 4.0, 4.2]), "{spike:?}");
        // A recording paused for a minute: the frames after the gap continue from it.
        let gap = settled(&[1000, 1100, 61000, 61100, 61200]);
        assert!(close(&gap, &[1.0, 1.1, 61.0, 61.1, 61.2]), "{gap:?}");
        // Keyframes 2 s apart: every frame leaps, none comes back.
        let keyframes = settled(&[0, 2000, 4000, 6000]);
        assert!(close(&keyframes, &[0.0, 2.0, 4.0, 6.0]), "{keyframes:?}");
        // A last frame that leaps has nothing after it: kept where its stamp says.
        let last = settled(&[0, 100, 9000]);
        assert!(close(&last, &[0.0, 0.1, 9.0]), "{last:?}");
    }
}
