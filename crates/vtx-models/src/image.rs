//! Image encoders described by an `[image]` manifest section: a classifier, a feature extractor or
//! a CLIP vision tower.

use ort::session::Session;

use crate::manifest::{ImageSpec, Manifest, Preprocess};
use crate::runtime::{load_session, output_rows, rt_err, run_on_frames};
use vtx_core::normalize;

use crate::{ImageEncoder, Result, RuntimeOptions};

/// What an image encoder returns for one batch, row i belonging to frame i.
#[derive(Debug, Clone, Default)]
pub struct ImageBatch {
    /// L2-normalised vectors of the model's space.
    pub embeddings: Vec<Vec<f32>>,
    /// Class probabilities (softmax over the logits), for classifiers.
    pub class_probs: Option<Vec<Vec<f32>>>,
}

pub struct OnnxImageEncoder {
    session: Session,
    spec: ImageSpec,
    dim: usize,
}

impl OnnxImageEncoder {
    pub fn load(manifest: &Manifest, options: &RuntimeOptions) -> Result<Self> {
        let spec = manifest.section(&manifest.image, "image")?;
        let session = load_session(&manifest.file(&spec.onnx), options, manifest.device)?;
        Ok(Self {
            session,
            spec,
            dim: manifest.dim,
        })
    }

    /// Run the bare session `rounds` times on one batch of `frames`, its input tensor built once:
    /// ONNX Runtime's own throughput on this graph and batch, the ceiling for [`ImageEncoder::encode`].
    pub fn run_raw(&mut self, frames: &[&[u8]], rounds: usize) -> Result<()> {
        crate::runtime::run_raw(
            &mut self.session,
            &self.spec.preprocess,
            &self.spec.input,
            frames,
            rounds,
        )
    }
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|x| x / sum).collect()
}

impl ImageEncoder for OnnxImageEncoder {
    fn preprocess(&self) -> &Preprocess {
        &self.spec.preprocess
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn batch_size(&self) -> usize {
        self.spec.batch
    }

    fn encode(&mut self, frames: &[&[u8]]) -> Result<ImageBatch> {
        if frames.is_empty() {
            return Ok(ImageBatch::default());
        }
        let outputs = run_on_frames(&mut self.session, &self.spec.preprocess, &self.spec.input, frames)?;
        let mut embeddings = output_rows(&outputs, &self.spec.output, self.dim)?;
        embeddings.iter_mut().for_each(|v| normalize(v));
        let class_probs = match &self.spec.logits {
            Some(name) => {
                let (shape, data) = outputs[name.as_str()].try_extract_tensor::<f32>().map_err(rt_err)?;
                let classes = *shape.last().unwrap_or(&1) as usize;
                Some(data.chunks_exact(classes.max(1)).map(softmax).collect())
            }
            None => None,
        };
        Ok(ImageBatch {
            embeddings,
            class_probs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::softmax;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let p = softmax(&[1.0, 3.0, 2.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[1] > p[2] && p[2] > p[0]);
    }
}
