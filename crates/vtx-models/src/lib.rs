//! Models run through ONNX Runtime, described by manifests (`vtx-model.toml`), and the ConSE bridge
//! that puts an image classifier's frames into a text encoder's space when no joint image-text
//! model is available.
//!
//! A [`Registry`] is a folder of model folders. Each model's manifest says what kind it is (image,
//! text, image+text pair, clip-level video), which ONNX files it has and how to feed them; the
//! generic encoders here run any of them behind three small traits, [`ImageEncoder`],
//! [`TextEncoder`] and [`ClipEncoder`]. Sessions are expensive to create (0.5-0.9 s): load an
//! encoder once and reuse it.

mod conse;
mod hub;
mod image;
mod infer;
pub mod manifest;
mod npy;
mod preprocess;
mod registry;
mod runtime;
mod text;
mod video;

pub use conse::Conse;
pub use image::{ImageBatch, OnnxImageEncoder};
pub use manifest::{Manifest, ModelKind, Preprocess, MANIFEST_FILE};
pub use npy::read_f32 as read_npy_f32;
pub use registry::Registry;
pub use runtime::{inspect_graph, ort_library_path, GraphIo, RuntimeOptions};
pub use text::{load_tokenizer, OnnxTextEncoder};
pub use video::OnnxClipEncoder;

/// Errors from finding, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file missing: {0}")]
    Missing(String),
    #[error("model manifest: {0}")]
    Manifest(String),
    #[error("{0}")]
    NotInstalled(String),
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("bad model input: {0}")]
    Input(String),
    #[error("model hub: {0}")]
    Hub(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, ModelError>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Turns packed RGB24 frames into vectors.
pub trait ImageEncoder: Send {
    /// The frame geometry and pixel normalisation the model expects.
    fn preprocess(&self) -> &Preprocess;
    /// Length of the vectors it returns.
    fn dim(&self) -> usize;
    /// Frames per inference call that suit the model.
    fn batch_size(&self) -> usize;
    /// Encode frames given as packed RGB24 bytes of the preprocess size, in one batch.
    fn encode(&mut self, frames: &[&[u8]]) -> Result<ImageBatch>;
}

/// Turns sentences into L2-normalised vectors.
pub trait TextEncoder: Send {
    fn dim(&self) -> usize;
    fn encode(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// Turns clips of T consecutive frames into one L2-normalised vector each.
pub trait ClipEncoder: Send {
    /// Window length, frame rate inside a window and stride between windows.
    fn spec(&self) -> &manifest::VideoSpec;
    fn preprocess(&self) -> &Preprocess;
    fn dim(&self) -> usize;
    fn encode(&mut self, clips: &[Vec<&[u8]>]) -> Result<Vec<Vec<f32>>>;
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
