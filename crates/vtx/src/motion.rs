//! The motion stream as a vector space: optical-flow descriptors (`vtx_media`'s motion module)
//! stored beside the RGB stream, pooled per segment like any other space, and fused with it for
//! `similar --stream both`.

use std::path::Path;

use vtx_index::TimedVector;
use vtx_media::MotionSample;

use crate::{IndexOptions, Result};

/// The space the built-in motion model writes.
pub const MOTION_SPACE: &str = "motion";
/// The built-in motion model: its vectors come from the optical flow the decode measures, not
/// from a graph, so it has no folder; the registry lists it beside the installed models.
pub const MOTION_MODEL: &str = "vtx-motion-flow";

/// The built-in motion model's manifest.
pub fn manifest() -> vtx_models::Manifest {
    vtx_models::Manifest {
        name: MOTION_MODEL.into(),
        kind: vtx_models::ModelKind::Motion,
        space: Some(MOTION_SPACE.into()),
        dim: vtx_media::MOTION_DIM,
        description: "camera and object motion from optical flow (built in)".into(),
        image: None,
        text: None,
        video: None,
        detector: None,
        pose: None,
        ocr: None,
        speech: None,
        conse: None,
        device: None,
        dir: std::path::PathBuf::new(),
    }
}

/// The model folder at `dir` with vtx's built-in models beside what is installed there.
pub fn model_registry(dir: &Path) -> vtx_models::Registry {
    vtx_models::Registry::new(dir).with_built_in(manifest())
}

/// Which stream `similar` compares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stream {
    /// What the videos look like (an image or clip model's space).
    Rgb,
    /// How things move in them (optical flow).
    Motion,
    /// Both, the scores mixed: `(1 - motion_weight) * rgb + motion_weight * motion`.
    Both { motion_weight: f32 },
}

/// By name, `rgb`, `motion` or `both` (with [`DEFAULT_MOTION_WEIGHT`]).
impl std::str::FromStr for Stream {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "rgb" => Ok(Self::Rgb),
            "motion" => Ok(Self::Motion),
            "both" => Ok(Self::Both {
                motion_weight: DEFAULT_MOTION_WEIGHT,
            }),
            other => Err(format!("stream must be rgb, motion or both, not '{other}'")),
        }
    }
}

impl std::fmt::Display for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rgb => "rgb",
            Self::Motion => "motion",
            Self::Both { .. } => "both",
        })
    }
}

impl Stream {
    /// The same stream with `weight` as the motion share (for `Both`; the others have none).
    pub fn with_motion_weight(self, weight: f32) -> Self {
        match self {
            Self::Both { .. } => Self::Both { motion_weight: weight },
            other => other,
        }
    }
}

/// Default share of the motion score in [`Stream::Both`]: appearance leads, motion breaks ties
/// between videos that look alike (the same place, a different action).
pub const DEFAULT_MOTION_WEIGHT: f32 = 0.3;

pub(crate) fn check_weight(motion_weight: f32) -> Result<()> {
    if (0.0..=1.0).contains(&motion_weight) {
        Ok(())
    } else {
        Err(crate::EngineError::invalid(
            "motion weight",
            format!("must be within 0-1, not {motion_weight}"),
        ))
    }
}

pub(crate) fn vectors(samples: &[MotionSample]) -> Vec<TimedVector> {
    samples
        .iter()
        .map(|s| TimedVector {
            t: s.t,
            vector: s.descriptor.clone(),
        })
        .collect()
}

/// Motion over one segment: the means of its samples.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SegmentMotion {
    pub start: f64,
    pub end: f64,
    /// Camera motion in frame widths per second (right, down).
    pub camera: (f32, f32),
    pub zoom: f32,
    pub rotation: f32,
    /// Share of the picture moving against the camera.
    pub moving_share: f32,
    /// Their speed, frame widths per second.
    pub local_speed: f32,
    /// "still", "camera", "local" or "camera+local" (`vtx_media::motion_kind`); "unknown" when no
    /// pair of frames could be measured in the segment.
    pub kind: &'static str,
    /// Measurements averaged.
    pub samples: usize,
}

/// Average the samples falling in each span.
pub(crate) fn per_segment(samples: &[MotionSample], spans: &[(f64, f64)]) -> Vec<SegmentMotion> {
    let starts: Vec<f64> = spans.iter().map(|s| s.0).collect();
    let mut groups: Vec<Vec<&MotionSample>> = vec![Vec::new(); spans.len()];
    for s in samples {
        if !spans.is_empty() {
            groups[vtx_index::segment_of(&starts, s.t)].push(s);
        }
    }
    spans
        .iter()
        .zip(groups)
        .map(|(&(start, end), group)| {
            let n = group.len().max(1) as f32;
            let mean = |f: fn(&MotionSample) -> f32| group.iter().map(|s| f(s)).sum::<f32>() / n;
            let camera = (mean(|s| s.camera.0), mean(|s| s.camera.1));
            let zoom = mean(|s| s.zoom);
            let moving_share = mean(|s| s.moving_share);
            SegmentMotion {
                start,
                end,
                camera,
                zoom,
                rotation: mean(|s| s.rotation),
                moving_share,
                local_speed: mean(|s| s.local_speed),
                kind: if group.is_empty() {
                    "unknown"
                } else {
                    vtx_media::motion_kind(camera.0.hypot(camera.1), zoom, moving_share)
                },
                samples: group.len(),
            }
        })
        .collect()
}

/// A video's motion samples and its segments' spans, from one decode.
pub(crate) struct Measured {
    pub(crate) samples: Vec<MotionSample>,
    pub(crate) spans: Vec<(f64, f64)>,
}

/// Decode `video` for its motion stream and its segments (cut as `options` says).
pub(crate) fn measure(video: &Path, options: &IndexOptions) -> Result<Measured> {
    let motion_options = options.motion.clone().unwrap_or_default();
    let analyses = vtx_media::Analyses {
        shots: options.shots.as_ref(),
        motion: Some(&motion_options),
        deblocking: options.deblocking,
        decoder: options.decoder,
        side: None,
    };
    // The smallest picture the sampler can make: only the analyses' own frames matter here.
    let size = vtx_media::FrameSize::new(2, 2, vtx_media::Resize::Squash).with_filter(vtx_media::Filter::Point);
    let sampled = vtx_media::sample_and_analyse(video, &vtx_media::Sampling::Fps(1.0), &[size], analyses, |_| {
        std::ops::ControlFlow::Continue(())
    })?;
    let spans = vtx_media::segment_spans(&sampled.shots, sampled.stats.duration, options.segment_seconds);
    Ok(Measured {
        samples: sampled.motion,
        spans,
    })
}
