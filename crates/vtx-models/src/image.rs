//! EfficientNet-Lite0 (ImageNet-1k), converted to ONNX by `scripts/convert_efficientnet_lite0.py`.

use std::path::Path;

use ort::session::Session;
use ort::value::Tensor;

use crate::runtime::{load_session, rt_err};
use crate::{l2_normalize, ImageEncoder, ModelError, Result, RuntimeOptions};

const SIZE: u32 = 224;
/// The TensorFlow EfficientNet-Lite release normalises pixels as (x - 127) / 128.
const MEAN: f32 = 127.0;
const STD: f32 = 128.0;

/// What an image encoder returns for one batch, row i belonging to frame i.
#[derive(Debug, Clone, Default)]
pub struct ImageBatch {
    /// L2-normalised visual vectors.
    pub embeddings: Vec<Vec<f32>>,
    /// Class probabilities (softmax over the classifier's logits), for classifiers.
    pub class_probs: Option<Vec<Vec<f32>>>,
}

pub struct EfficientNetLite0 {
    session: Session,
}

impl EfficientNetLite0 {
    pub fn load(library: &Path, model: &Path, options: RuntimeOptions) -> Result<Self> {
        Ok(Self {
            session: load_session(library, model, options)?,
        })
    }
}

impl EfficientNetLite0 {
    /// Run the bare ONNX session on `frames` frames in batches of `batch`, with the input tensor
    /// built once: ONNX Runtime's own throughput on this model, the ceiling for vtx's encoder.
    pub fn run_raw(&mut self, frames: usize, batch: usize) -> Result<()> {
        let batch = batch.max(1);
        let side = SIZE as usize;
        let make = |n: usize| {
            let data: Vec<f32> = (0..n * 3 * side * side)
                .map(|i| ((i % 251) as f32 - 125.0) / 128.0)
                .collect();
            Tensor::from_array(([n, 3, side, side], data)).map_err(rt_err)
        };
        let full = make(batch)?;
        for _ in 0..frames / batch {
            self.session
                .run(ort::inputs!["pixel_values" => &full])
                .map_err(rt_err)?;
        }
        if !frames.is_multiple_of(batch) {
            let rest = make(frames % batch)?;
            self.session
                .run(ort::inputs!["pixel_values" => &rest])
                .map_err(rt_err)?;
        }
        Ok(())
    }
}

/// Packed RGB24 frames to a normalised NCHW float tensor.
fn to_nchw(frames: &[&[u8]], size: usize) -> Vec<f32> {
    let plane = size * size;
    let mut out = vec![0f32; frames.len() * 3 * plane];
    for (frame, dst) in frames.iter().zip(out.chunks_exact_mut(3 * plane)) {
        for (p, px) in frame.chunks_exact(3).enumerate() {
            for c in 0..3 {
                dst[c * plane + p] = (f32::from(px[c]) - MEAN) / STD;
            }
        }
    }
    out
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|x| x / sum).collect()
}

impl ImageEncoder for EfficientNetLite0 {
    fn input_size(&self) -> (u32, u32) {
        (SIZE, SIZE)
    }

    fn dim(&self) -> usize {
        1280
    }

    fn encode(&mut self, frames: &[&[u8]]) -> Result<ImageBatch> {
        if frames.is_empty() {
            return Ok(ImageBatch::default());
        }
        let expected = (SIZE * SIZE * 3) as usize;
        if let Some(bad) = frames.iter().find(|f| f.len() != expected) {
            return Err(ModelError::Input(format!(
                "frame of {} bytes, expected {expected}",
                bad.len()
            )));
        }
        let shape = [frames.len(), 3, SIZE as usize, SIZE as usize];
        let input = Tensor::from_array((shape, to_nchw(frames, SIZE as usize))).map_err(rt_err)?;
        let outputs = self
            .session
            .run(ort::inputs!["pixel_values" => input])
            .map_err(rt_err)?;
        let rows = |name: &str| -> Result<Vec<Vec<f32>>> {
            let (shape, data) = outputs[name].try_extract_tensor::<f32>().map_err(rt_err)?;
            let width = shape[1] as usize;
            Ok(data.chunks_exact(width).map(<[f32]>::to_vec).collect())
        };
        let mut embeddings = rows("features")?;
        embeddings.iter_mut().for_each(|v| l2_normalize(v));
        let class_probs = rows("logits")?.iter().map(|l| softmax(l)).collect();
        Ok(ImageBatch {
            embeddings,
            class_probs: Some(class_probs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nchw_layout_and_normalisation() {
        // A 2x2 frame (size 2): red, green / blue, white.
        let frame = [255u8, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];
        let t = to_nchw(&[&frame], 2);
        let hi = (255.0 - MEAN) / STD;
        let lo = (0.0 - MEAN) / STD;
        assert_eq!(&t[0..4], &[hi, lo, lo, hi]); // R plane
        assert_eq!(&t[4..8], &[lo, hi, lo, hi]); // G plane
        assert_eq!(&t[8..12], &[lo, lo, hi, hi]); // B plane
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let p = softmax(&[1.0, 3.0, 2.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[1] > p[2] && p[2] > p[0]);
    }
}
