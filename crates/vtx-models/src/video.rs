//! Clip-level video models described by a `[video]` manifest section: T frames in, one vector out.

use ort::session::Session;
use ort::value::Tensor;

use crate::manifest::{Manifest, Preprocess, VideoSpec};
use crate::runtime::{load_session, output_rows, rt_err};
use vtx_core::normalize;

use crate::{ClipEncoder, Result, RuntimeOptions};

pub struct OnnxClipEncoder {
    session: Session,
    spec: VideoSpec,
    dim: usize,
}

impl OnnxClipEncoder {
    pub fn load(manifest: &Manifest, options: &RuntimeOptions) -> Result<Self> {
        let spec = manifest.section(&manifest.video, "video")?;
        let session = load_session(&manifest.file(&spec.onnx), options, manifest.device)?;
        Ok(Self {
            session,
            spec,
            dim: manifest.dim,
        })
    }
}

impl ClipEncoder for OnnxClipEncoder {
    fn spec(&self) -> &VideoSpec {
        &self.spec
    }

    fn preprocess(&self) -> &Preprocess {
        &self.spec.preprocess
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn encode(&mut self, clips: &[Vec<&[u8]>]) -> Result<Vec<Vec<f32>>> {
        if clips.is_empty() {
            return Ok(vec![]);
        }
        let (shape, data) = self
            .spec
            .preprocess
            .clip_tensor(clips, self.spec.frames, self.spec.layout)?;
        let input = Tensor::from_array((shape, data)).map_err(rt_err)?;
        let outputs = self
            .session
            .run(ort::inputs![self.spec.input.as_str() => input])
            .map_err(rt_err)?;
        let mut rows = output_rows(&outputs, &self.spec.output, self.dim)?;
        rows.iter_mut().for_each(|v| normalize(v));
        Ok(rows)
    }
}
