//! The models that fill an index from sampled frames, as the ingest pipeline drives them: image
//! encoders (one vector per frame, plus ConSE into a text space when the manifest asks for it)
//! and clip encoders (one vector per window of T frames).

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
        })
    }
}

pub(crate) fn kind_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Image => "image",
        ModelKind::Text => "text",
        ModelKind::ImageText => "image+text",
        ModelKind::Video => "clip-level video",
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
}

impl FrameModel {
    /// Encode one batch of frames (one picture each, of this model's frame size) into vectors per
    /// space.
    pub(crate) fn encode_images(&mut self, times: &[f64], images: &[&[u8]]) -> Result<Vec<(String, Vec<TimedVector>)>> {
        let FrameEncoder::Image { encoder, conse } = &mut self.encoder else {
            return Err(EngineError::Input("a clip model cannot encode single frames".into()));
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
                EngineError::Input(format!(
                    "model '{}' gives no class probabilities for ConSE",
                    self.info.name
                ))
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
            return Err(EngineError::Input("an image model cannot encode clips".into()));
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
