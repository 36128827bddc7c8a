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
mod detect;
mod hub;
mod image;
mod infer;
pub mod manifest;
mod npy;
mod ocr;
mod pose;
mod preprocess;
mod registry;
mod runtime;
mod speech;
mod text;
mod video;

pub use conse::Conse;
pub use detect::{BBox, DecodeOptions, Detection, OnnxDetector};
pub use image::{ImageBatch, OnnxImageEncoder};
pub use manifest::{Manifest, ModelKind, Preprocess, MANIFEST_FILE};
pub use npy::{parse_f32 as parse_npy_f32, read_f32 as read_npy_f32};
pub use ocr::{detector_size, OnnxTextReader, TextLine};
pub use pose::{Keypoint, OnnxPose, Pose, KEYPOINTS};
pub use registry::Registry;
pub use runtime::{gpu_runtime_dir, inspect_graph, ort_library_path, Device, GraphIo, RuntimeOptions};
pub use speech::{Heard, OnnxSpeech, Phrase, Word, SAMPLE_RATE as SPEECH_SAMPLE_RATE};
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
    /// The device asked for cannot run models here (no GPU, no GPU build of the runtime).
    #[error("{0}")]
    Device(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl ModelError {
    pub fn kind(&self) -> vtx_core::ErrorKind {
        use vtx_core::ErrorKind;
        match self {
            Self::Missing(_) | Self::NotInstalled(_) => ErrorKind::NotFound,
            Self::Manifest(_) | Self::Input(_) | Self::Device(_) => ErrorKind::BadInput,
            Self::Hub(_) => ErrorKind::Unavailable,
            Self::Runtime(_) | Self::Tokenizer(_) => ErrorKind::Internal,
            Self::Io { source, .. } => ErrorKind::of_io(source),
        }
    }
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

/// Finds objects in packed RGB24 frames.
pub trait ObjectDetector: Send {
    /// The frame geometry and pixel normalisation the model expects.
    fn preprocess(&self) -> &Preprocess;
    /// Class names, indexed by [`Detection::class`].
    fn labels(&self) -> &[String];
    fn batch_size(&self) -> usize;
    /// Each frame's detections, best first.
    fn detect(&mut self, frames: &[&[u8]]) -> Result<Vec<Vec<Detection>>>;
}

/// Finds the body keypoints of the person in each picture (a crop around one person).
pub trait PoseEstimator: Send {
    /// The picture geometry and pixel normalisation the model expects.
    fn preprocess(&self) -> &Preprocess;
    fn batch_size(&self) -> usize;
    /// A keypoint scoring less is not seen.
    fn min_score(&self) -> f32;
    /// Each picture's pose.
    fn estimate(&mut self, pictures: &[&[u8]]) -> Result<Vec<Pose>>;
}

/// Reads the lines of text that packed RGB24 frames show.
pub trait TextReader: Send {
    /// The frame size it reads frames of `aspect` (width over height) at.
    fn frame_size(&self, aspect: f64) -> (u32, u32);
    /// One frame's lines, in reading order.
    fn read(&mut self, frame: &[u8], width: u32, height: u32) -> Result<Vec<TextLine>>;
}

/// Turns clips of T consecutive frames into one L2-normalised vector each.
pub trait ClipEncoder: Send {
    /// Window length, frame rate inside a window and stride between windows.
    fn spec(&self) -> &manifest::VideoSpec;
    fn preprocess(&self) -> &Preprocess;
    fn dim(&self) -> usize;
    fn encode(&mut self, clips: &[Vec<&[u8]>]) -> Result<Vec<Vec<f32>>>;
}
