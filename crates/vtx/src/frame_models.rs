//! The models that fill an index from a video's decode, as the ingest pipeline drives them:
//! image encoders (one vector per sampled frame, plus ConSE into a text space when the manifest
//! asks for it), clip encoders (one vector per window of T frames), and the built-in motion
//! model (one vector per optical-flow measurement the decode makes beside its sampling).

use std::collections::VecDeque;

use vtx_index::{Space, TimedVector};
use vtx_media::{Filter, FrameSize, Resize};
use vtx_models::manifest::{Interpolation, ResizeMode, VideoSpec};
use vtx_models::{ClipEncoder, Conse, ImageEncoder, Manifest, ModelKind, Preprocess};

use crate::{EngineError, Result};

/// What indexing needs to know of a model before loading it: the spaces it writes and the frames
/// it wants. Read from manifests alone, so that a run with nothing to do loads no model.
#[derive(Debug, Clone)]
pub(crate) struct ModelInfo {
    pub(crate) name: String,
    /// Its own space first, then the ConSE text space if it has one.
    pub(crate) spaces: Vec<Space>,
    pub(crate) frame_size: FrameSize,
    /// Window length, rate and stride, for clip models.
    pub(crate) clip: Option<VideoSpec>,
    /// Its vectors come from the optical flow of a decode, not from frames: it rides on the
    /// first pass of a video (or on a pass of its own, pictureless, when nothing else decodes).
    pub(crate) flow: bool,
}

impl ModelInfo {
    /// `manifest` as a frame model; `conse_text` is the manifest of its ConSE text model, if any.
    pub(crate) fn new(manifest: &Manifest, conse_text: Option<&Manifest>) -> Result<Self> {
        let own = Space {
            name: manifest.space().to_string(),
            dim: manifest.dim,
            model: manifest.name.clone(),
        };
        let mut spaces = vec![own];
        if let Some(text) = conse_text {
            spaces.push(Space {
                name: text.space().to_string(),
                dim: text.dim,
                model: text.name.clone(),
            });
        }
        if manifest.kind == ModelKind::Motion {
            return Ok(Self {
                name: manifest.name.clone(),
                spaces,
                frame_size: FrameSize::MEASURE_ONLY,
                clip: None,
                flow: true,
            });
        }
        let finds = match manifest.kind {
            ModelKind::Detector => Some("an object detector: it finds objects and writes no vectors (`vtx objects VIDEO` runs it)"),
            ModelKind::Pose => Some("a pose model: it reads people's postures and writes no vectors (`vtx objects VIDEO` runs it)"),
            ModelKind::Ocr => Some("a text reader: it reads on-screen text and writes no vectors (`vtx index --ocr` and `vtx text VIDEO` run it)"),
            ModelKind::Speech => Some("a speech model: it transcribes what is said and writes no vectors (`vtx index --speech` and `vtx transcript VIDEO` run it)"),
            _ => None,
        };
        if let Some(what) = finds {
            return Err(EngineError::Input(format!("'{}' is {what}", manifest.name)));
        }
        let (frame_size, clip) = match (&manifest.image, &manifest.video) {
            (Some(image), _) => (frame_size(&image.preprocess), None),
            (None, Some(video)) => (frame_size(&video.preprocess), Some(video.clone())),
            (None, None) => {
                return Err(EngineError::Input(format!(
                    "'{}' is a {} model: it embeds queries, not frames, so it cannot index videos",
                    manifest.name,
                    kind_name(manifest.kind)
                )))
            }
        };
        Ok(Self {
            name: manifest.name.clone(),
            spaces,
            frame_size,
            clip,
            flow: false,
        })
    }
}

pub(crate) fn kind_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Image => "image",
        ModelKind::Text => "text",
        ModelKind::ImageText => "image+text",
        ModelKind::Video => "clip-level video",
        ModelKind::Motion => "built-in motion",
        ModelKind::Detector => "object detector",
        ModelKind::Pose => "pose",
        ModelKind::Ocr => "text reader",
        ModelKind::Speech => "speech",
    }
}

/// A loaded model that turns frames into vectors of one or more spaces.
pub(crate) struct FrameModel {
    pub(crate) info: ModelInfo,
    pub(crate) encoder: FrameEncoder,
}

pub(crate) enum FrameEncoder {
    Image {
        encoder: Box<dyn ImageEncoder>,
        /// ConSE into the model's second space.
        conse: Option<Conse>,
    },
    Clip(Box<dyn ClipEncoder>),
    /// The built-in motion model: nothing to run, its vectors are the decode's flow measurements.
    Flow,
}

impl FrameModel {
    /// Encode one batch of frames (one picture each, of this model's frame size) into vectors per
    /// space.
    pub(crate) fn encode_images(&mut self, times: &[f64], images: &[&[u8]]) -> Result<Vec<(String, Vec<TimedVector>)>> {
        let FrameEncoder::Image { encoder, conse } = &mut self.encoder else {
            return Err(EngineError::Internal(
                "a clip model was asked to encode single frames".into(),
            ));
        };
        let out = encoder.encode(images)?;
        let timed = |vectors: Vec<Vec<f32>>| -> Vec<TimedVector> {
            times
                .iter()
                .zip(vectors)
                .map(|(&t, vector)| TimedVector { t, vector })
                .collect()
        };
        let mut result = vec![(self.info.spaces[0].name.clone(), Vec::new())];
        if let (Some(bridge), Some(text_space)) = (conse, self.info.spaces.get(1)) {
            let probs = out.class_probs.as_ref().ok_or_else(|| {
                EngineError::Model(vtx_models::ModelError::Manifest(format!(
                    "model '{}' gives no class probabilities for ConSE",
                    self.info.name
                )))
            })?;
            let projected = probs
                .iter()
                .map(|p| bridge.project(p))
                .collect::<vtx_models::Result<_>>()?;
            result.push((text_space.name.clone(), timed(projected)));
        }
        result[0].1 = timed(out.embeddings);
        Ok(result)
    }
}

/// How the media layer should size frames for a model.
pub fn frame_size(p: &Preprocess) -> FrameSize {
    let resize = match p.resize {
        ResizeMode::CenterCrop => Resize::CenterCrop,
        ResizeMode::Squash => Resize::Squash,
    };
    let filter = match p.interpolation {
        Interpolation::Bilinear => Filter::Bilinear,
        Interpolation::Bicubic => Filter::Bicubic,
        Interpolation::Area => Filter::Area,
    };
    FrameSize::new(p.size[0], p.size[1], resize).with_filter(filter)
}

/// Cuts a stream of frames (at the model's frame rate) into windows of `length` frames whose
/// starts lie `stride` frames apart, and runs them through the clip encoder in batches.
pub(crate) struct Windower {
    length: usize,
    stride: usize,
    batch: usize,
    /// Frames of the window being filled: (t, picture).
    frames: VecDeque<(f64, Vec<u8>)>,
    /// Frames still to drop before the next window starts (when the stride exceeds the length).
    skip: usize,
    ready: Vec<(f64, Vec<Vec<u8>>)>,
    emitted: bool,
}

impl Windower {
    pub(crate) fn new(spec: &VideoSpec) -> Self {
        Self {
            length: spec.frames,
            stride: ((spec.stride * spec.fps).round() as usize).max(1),
            batch: spec.batch.max(1),
            frames: VecDeque::new(),
            skip: 0,
            ready: Vec::new(),
            emitted: false,
        }
    }

    /// Add one frame; returns windows encoded if a batch filled up.
    pub(crate) fn push(&mut self, model: &mut FrameModel, t: f64, picture: Vec<u8>) -> Result<Vec<TimedVector>> {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(vec![]);
        }
        self.frames.push_back((t, picture));
        if self.frames.len() == self.length {
            self.cut();
        }
        if self.ready.len() >= self.batch {
            return self.encode(model);
        }
        Ok(vec![])
    }

    fn cut(&mut self) {
        let start = self.frames[0].0;
        let pictures = self.frames.iter().map(|(_, p)| p.clone()).collect();
        self.ready.push((start, pictures));
        self.emitted = true;
        let drop = self.stride.min(self.frames.len());
        self.frames.drain(..drop);
        self.skip = self.stride - drop;
    }

    /// Encode what is left. A video shorter than one window still gets one, its last frame
    /// repeated to fill it, so that every video has a vector in the space.
    pub(crate) fn finish(&mut self, model: &mut FrameModel) -> Result<Vec<TimedVector>> {
        if !self.emitted && !self.frames.is_empty() {
            while self.frames.len() < self.length {
                let last = self.frames.back().expect("not empty").clone();
                self.frames.push_back(last);
            }
            self.cut();
        }
        self.encode(model)
    }

    fn encode(&mut self, model: &mut FrameModel) -> Result<Vec<TimedVector>> {
        if self.ready.is_empty() {
            return Ok(vec![]);
        }
        let FrameEncoder::Clip(encoder) = &mut model.encoder else {
            return Err(EngineError::Internal("an image model was asked to encode clips".into()));
        };
        let ready = std::mem::take(&mut self.ready);
        let clips: Vec<Vec<&[u8]>> = ready
            .iter()
            .map(|(_, pictures)| pictures.iter().map(Vec::as_slice).collect())
            .collect();
        let vectors = encoder.encode(&clips)?;
        Ok(ready
            .iter()
            .zip(vectors)
            .map(|((t, _), vector)| TimedVector { t: *t, vector })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtx_models::manifest::{ClipLayout, Preprocess};

    /// Returns each clip's frame markers (first byte of each frame) as its vector, so the test
    /// sees which frames went into which window.
    struct Markers(VideoSpec);

    impl ClipEncoder for Markers {
        fn spec(&self) -> &VideoSpec {
            &self.0
        }
        fn preprocess(&self) -> &Preprocess {
            &self.0.preprocess
        }
        fn dim(&self) -> usize {
            self.0.frames
        }
        fn encode(&mut self, clips: &[Vec<&[u8]>]) -> vtx_models::Result<Vec<Vec<f32>>> {
            Ok(clips
                .iter()
                .map(|c| c.iter().map(|f| f32::from(f[0])).collect())
                .collect())
        }
    }

    fn windows(frames: u8, length: usize, fps: f64, stride: f64) -> Vec<(f64, Vec<f32>)> {
        let spec = VideoSpec {
            onnx: String::new(),
            input: String::new(),
            output: String::new(),
            frames: length,
            fps,
            stride,
            layout: ClipLayout::Bcthw,
            batch: 2,
            preprocess: Preprocess {
                size: [1, 1],
                resize: ResizeMode::Squash,
                interpolation: Interpolation::Bilinear,
                range: Default::default(),
                mean: [0.0; 3],
                std: [1.0; 3],
                channels: Default::default(),
                layout: Default::default(),
            },
        };
        let mut model = FrameModel {
            info: ModelInfo {
                name: "m".into(),
                spaces: vec![],
                frame_size: FrameSize::new(1, 1, Resize::Squash),
                clip: Some(spec.clone()),
                flow: false,
            },
            encoder: FrameEncoder::Clip(Box::new(Markers(spec.clone()))),
        };
        let mut windower = Windower::new(&spec);
        let mut out = Vec::new();
        for i in 0..frames {
            out.extend(windower.push(&mut model, f64::from(i) / fps, vec![i, i, i]).unwrap());
        }
        out.extend(windower.finish(&mut model).unwrap());
        out.into_iter().map(|tv| (tv.t, tv.vector)).collect()
    }

    #[test]
    fn windows_overlap_when_the_stride_is_shorter_than_the_window() {
        // 4-frame windows at 4 fps starting every 0.5 s (2 frames): 0-3, 2-5, 4-7.
        let got = windows(8, 4, 4.0, 0.5);
        assert_eq!(
            got,
            vec![
                (0.0, vec![0.0, 1.0, 2.0, 3.0]),
                (0.5, vec![2.0, 3.0, 4.0, 5.0]),
                (1.0, vec![4.0, 5.0, 6.0, 7.0]),
            ]
        );
    }

    #[test]
    fn frames_between_windows_are_skipped_and_short_videos_get_one_window() {
        // 2-frame windows every 4 frames: 0-1, 4-5, 8-9.
        let got = windows(10, 2, 2.0, 2.0);
        let starts: Vec<f64> = got.iter().map(|(t, _)| *t).collect();
        assert_eq!(starts, [0.0, 2.0, 4.0]);
        assert_eq!(got[1].1, [4.0, 5.0]);
        // Three frames for a 4-frame window: the last one repeats.
        assert_eq!(windows(3, 4, 4.0, 1.0), vec![(0.0, vec![0.0, 1.0, 2.0, 2.0])]);
    }
}
