//! Decode videos in-process with FFmpeg and sample frames by presentation timestamp.
//!
//! Nothing here trusts a container's frame count or duration: frames are chosen by their own
//! timestamps, and when the real duration is needed (`Sampling::Count`) it is measured by reading
//! the packets of the video stream first, which costs a demux but no decode.

mod audio;
mod motion;
mod picture;
mod sampler;
mod scale;
mod shots;

use std::path::Path;
use std::sync::Once;

pub use audio::{decode_audio, SPEECH_RATE};
pub use motion::{motion_kind, MotionOptions, MotionSample, DESCRIPTOR_DIM as MOTION_DIM};
pub use picture::{decode_jpeg, encode_jpeg, encode_png};
pub use sampler::{
    load_picture, sample, sample_and_analyse, Analyses, Deblocking, Decoder, SampleStats, Sampled, Sampling,
    SideStream, AUTO_DEBLOCKING_MAX_KEYFRAME_GAP,
};
pub use scale::{signature, Filter, FrameSize, Resize};
pub use shots::{detect_shots, segment_spans, split_shots, Boundary, Detector, Shot, ShotOptions};

/// Errors from opening, probing or decoding a video.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("no such file")]
    Missing,
    #[error("cannot open: {0}")]
    Open(String),
    /// FFmpeg opens pictures as one-frame videos; an index of footage does not take them, but
    /// `similar` compares them.
    #[error("not a video: a still image ({0})")]
    StillImage(String),
    #[error("not a video: {0}")]
    NotVideo(String),
    #[error("no decodable video frames")]
    NoFrames,
    #[error("decoder error: {0}")]
    Decode(String),
    #[error("invalid sampling: {0}")]
    InvalidSampling(String),
}

impl MediaError {
    /// Every media error is about the file given, but for one that is not there.
    pub fn kind(&self) -> vtx_core::ErrorKind {
        match self {
            Self::Missing => vtx_core::ErrorKind::NotFound,
            _ => vtx_core::ErrorKind::BadInput,
        }
    }
}

pub type Result<T> = std::result::Result<T, MediaError>;

/// One sampled frame, converted to packed RGB24 at each requested size.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Presentation time in seconds from the start of the video stream.
    pub t: f64,
    /// One picture per requested [`FrameSize`], in the order they were asked for: row-major RGB24,
    /// `width * height * 3` bytes, no row padding.
    pub images: Vec<Vec<u8>>,
    /// A frame of the side stream ([`Analyses::side`]): its one picture is of the side's size.
    pub side: bool,
}

/// What the container and the video stream say about themselves. Header fields are kept for
/// display; sampling never relies on them.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    pub format: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Average frame rate as the stream declares it.
    pub fps: Option<f64>,
    /// Duration as the container header declares it (FFmpeg estimates it from the bitrate when
    /// the container has no duration field).
    pub header_duration: Option<f64>,
    /// Frame count as the stream header declares it.
    pub header_frames: Option<u64>,
}

impl VideoInfo {
    /// The frames' width over their height, as decoded (1 for a stream that gives no size).
    pub fn aspect(&self) -> f64 {
        match self.height {
            0 => 1.0,
            height => f64::from(self.width) / f64::from(height),
        }
    }

    /// The longest duration the headers claim: the container's, or frame count over frame rate.
    /// Only for telling a user that a file looks cut short, never for sampling.
    pub fn claimed_duration(&self) -> Option<f64> {
        let from_frames = self.header_frames.zip(self.fps).map(|(n, fps)| n as f64 / fps);
        match (self.header_duration, from_frames) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Initialise FFmpeg once per process and keep its logging quiet: vtx reports errors itself.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // av_register_all is a no-op on FFmpeg >= 4, so init cannot fail on 5.1.
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
    });
}

/// Read a video's header and describe it, without decoding.
pub fn probe(path: &Path) -> Result<VideoInfo> {
    let input = sampler::open_input(path)?;
    let stream = sampler::video_stream(&input)?;
    let params = stream.parameters();
    let ctx =
        ffmpeg_next::codec::context::Context::from_parameters(params).map_err(|e| MediaError::Decode(e.to_string()))?;
    let video = ctx
        .decoder()
        .video()
        .map_err(|e| MediaError::Decode(format!("no decoder for this stream: {e}")))?;
    let rate = stream.avg_frame_rate();
    let fps = (rate.numerator() > 0 && rate.denominator() > 0).then(|| f64::from(rate));
    let duration = input.duration();
    let header_duration = (duration > 0).then(|| duration as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE));
    Ok(VideoInfo {
        format: input.format().name().to_string(),
        codec: video
            .codec()
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| format!("{:?}", video.id()).to_lowercase()),
        width: video.width(),
        height: video.height(),
        fps,
        header_duration,
        header_frames: u64::try_from(stream.frames()).ok().filter(|&n| n > 0),
    })
}
