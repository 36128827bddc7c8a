//! Image and text encoders run through ONNX Runtime, and the ConSE bridge that puts frames into the
//! text encoder's space when no joint image-text model is available.
//!
//! Encoders sit behind two small traits, [`ImageEncoder`] and [`TextEncoder`], so that a new model is
//! a new file. Sessions are expensive to create (0.5-0.9 s): build an encoder once and reuse it.

mod conse;
mod image;
mod pack;
mod runtime;
mod text;

pub use conse::Conse;
pub use image::{EfficientNetLite0, ImageBatch};
pub use pack::ModelPack;
pub use runtime::{ort_library_path, RuntimeOptions};
pub use text::MiniLm;

/// Errors from loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file missing: {0}")]
    Missing(String),
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("bad model input: {0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, ModelError>;

/// Turns packed RGB24 frames into vectors.
pub trait ImageEncoder: Send {
    /// The frame size (width, height) this encoder expects.
    fn input_size(&self) -> (u32, u32);
    /// Length of the visual vectors it returns.
    fn dim(&self) -> usize;
    /// Encode frames given as packed RGB24 bytes of `input_size`, in one batch.
    fn encode(&mut self, frames: &[&[u8]]) -> Result<ImageBatch>;
}

/// Turns sentences into L2-normalised vectors.
pub trait TextEncoder: Send {
    fn dim(&self) -> usize;
    fn encode(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// Scale a vector to unit length in place; a zero vector stays zero.
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_gives_unit_length_and_keeps_zero() {
        let mut v = [3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = [0.0f32; 3];
        l2_normalize(&mut z);
        assert_eq!(z, [0.0; 3]);
    }
}
