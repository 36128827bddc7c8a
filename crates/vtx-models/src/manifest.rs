//! `vtx-model.toml`: what a model folder holds and how to run it.
//!
//! Every model vtx uses, the offline pack included, is described by one of these beside its files,
//! so that a new model is a new folder, not new code. `docs/models.md` documents every key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{ModelError, Result};

/// The file name vtx looks for in each model folder.
pub const MANIFEST_FILE: &str = "vtx-model.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Frames to vectors.
    Image,
    /// Sentences to vectors.
    Text,
    /// An image tower and a text tower writing into one shared space (the CLIP family).
    ImageText,
    /// T frames at once to one vector per clip window (3D CNNs, video transformers).
    Video,
    /// Camera and object motion from the optical flow of the decode itself: vtx's built-in
    /// model, with no graph to run.
    Motion,
    /// Frames to labelled boxes (objects), with no vectors.
    Detector,
    /// A picture of one person to their body keypoints, with no vectors.
    Pose,
    /// Frames to the lines of text they show (a text detector and a line recogniser), with no
    /// vectors.
    Ocr,
    /// Speech (16 kHz mono samples) to timed text, with no vectors.
    Speech,
}

impl ModelKind {
    /// Whether its vectors describe what frames show (so `similar` and clustering compare in
    /// its space): image, image-text and clip models.
    pub fn sees_frames(self) -> bool {
        matches!(self, Self::Image | Self::ImageText | Self::Video)
    }

    /// Whether it writes vectors into a space (detectors and pose models find boxes and
    /// keypoints instead).
    pub fn writes_vectors(self) -> bool {
        !matches!(self, Self::Detector | Self::Pose | Self::Ocr | Self::Speech)
    }
}

// The same names as the manifest's `kind` (serde's kebab-case).
vtx_core::names!(ModelKind, "model kind", {
    ModelKind::Image => "image",
    ModelKind::Text => "text",
    ModelKind::ImageText => "image-text",
    ModelKind::Video => "video",
    ModelKind::Motion => "motion",
    ModelKind::Detector => "detector",
    ModelKind::Pose => "pose",
    ModelKind::Ocr => "ocr",
    ModelKind::Speech => "speech",
});

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub kind: ModelKind,
    /// The vector space this model writes; defaults to the model's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// Length of the vectors the model returns (after pooling and projection); detectors and
    /// pose models have none.
    #[serde(default)]
    pub dim: usize,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector: Option<DetectorSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pose: Option<PoseSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<OcrSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech: Option<SpeechSpec>,
    /// Project an image classifier's class probabilities into a text model's space (ConSE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conse: Option<ConseSpec>,
    /// Where this model runs when the user names no device (`--device`): cpu, cuda or auto.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<crate::Device>,
    /// The folder the manifest was read from; file names in it are relative to this.
    #[serde(skip)]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub onnx: String,
    #[serde(default = "default_pixel_input")]
    pub input: String,
    pub output: String,
    /// Frames per inference call.
    #[serde(default = "default_image_batch")]
    pub batch: usize,
    /// A classifier's logits output, with `labels` (one class name per line), for ConSE and tagging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logits: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    pub preprocess: Preprocess,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSpec {
    pub onnx: String,
    pub tokenizer: String,
    #[serde(default = "default_ids_input")]
    pub input_ids: String,
    /// Omit for graphs without an attention-mask input.
    #[serde(default = "default_mask_input", skip_serializing_if = "Option::is_none")]
    pub attention_mask: Option<String>,
    /// Fed as zeros when the graph has it (BERT); `None` when it has not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_ids: Option<String>,
    pub output: String,
    /// How a `[batch, tokens, width]` output becomes one vector; `none` for `[batch, dim]` outputs.
    #[serde(default)]
    pub pooling: Pooling,
    /// Truncation length including the start and end tokens (77 for CLIP, 256 or 512 for BERTs).
    pub max_tokens: usize,
    /// Lower-case text before tokenising, for tokenizers that do not do it themselves.
    #[serde(default)]
    pub lowercase: bool,
    /// A `[width, dim]` float32 `.npy` matrix applied after pooling (a CLIP text projection that
    /// the exported graph left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<String>,
    #[serde(default = "default_text_batch")]
    pub batch: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// The output already is one vector per input.
    #[default]
    None,
    /// Mean over the tokens the attention mask keeps (sentence-transformers, BERT family).
    Mean,
    /// The first token (`[CLS]`).
    First,
    /// The end-of-text token: the last token the attention mask keeps (CLIP text towers).
    Eos,
    /// The last position of the sequence, padding included (GPT-style decoders with left padding).
    Last,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoSpec {
    pub onnx: String,
    #[serde(default = "default_pixel_input")]
    pub input: String,
    pub output: String,
    /// Frames per clip window (the model's T).
    pub frames: usize,
    /// Frame rate inside a window.
    pub fps: f64,
    /// Seconds between the starts of consecutive windows.
    pub stride: f64,
    pub layout: ClipLayout,
    #[serde(default = "default_clip_batch")]
    pub batch: usize,
    pub preprocess: Preprocess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClipLayout {
    /// `[batch, channels, frames, height, width]` (I3D, R(2+1)D, X3D).
    Bcthw,
    /// `[batch, frames, channels, height, width]` (VideoMAE, TimeSformer, X-CLIP).
    Btchw,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSpec {
    pub onnx: String,
    #[serde(default = "default_detector_input")]
    pub input: String,
    /// How the graph's outputs are laid out (docs/models.md describes each).
    pub layout: DetectorLayout,
    /// The output with per-class scores.
    pub scores: String,
    /// The output with box geometry.
    pub boxes: String,
    /// One class name per line, in the order of the score channels.
    pub labels: String,
    /// Detections scoring less are dropped.
    #[serde(default = "default_min_score")]
    pub min_score: f32,
    /// A box overlapping a stronger one of its class by more than this (intersection over union)
    /// is dropped.
    #[serde(default = "default_iou")]
    pub iou: f32,
    /// At most this many candidate boxes per frame before the threshold and suppression.
    #[serde(default = "default_max_peaks")]
    pub max_peaks: usize,
    #[serde(default = "default_detector_batch")]
    pub batch: usize,
    pub preprocess: Preprocess,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoseSpec {
    pub onnx: String,
    #[serde(default = "default_pose_input")]
    pub input: String,
    /// How the graph's outputs are laid out (docs/models.md describes each).
    pub layout: PoseLayout,
    /// Per-keypoint heatmaps, after a sigmoid.
    pub keypoints: String,
    /// The person-centre heatmap, after a sigmoid.
    pub centers: String,
    /// Per-keypoint displacements from the centre, in grid cells.
    pub regress: String,
    /// Per-keypoint offsets within a cell, in grid cells.
    pub offsets: String,
    /// A keypoint scoring less is not seen.
    #[serde(default = "default_min_score")]
    pub min_score: f32,
    #[serde(default = "default_pose_batch")]
    pub batch: usize,
    pub preprocess: Preprocess,
}

/// A two-stage reader of text in pictures: a detector that gives each pixel the probability of
/// lying in text (a DBNet map) and a recogniser that reads one cropped line into characters by
/// CTC (the PP-OCR family).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcrSpec {
    /// The detector: `[N, 3, H, W]` in, `[N, 1, H, W]` probabilities out, H and W multiples of 32.
    pub detector: String,
    /// The recogniser: `[N, 3, line_height, W]` in, `[N, W / 8, classes]` probabilities out, class
    /// 0 the CTC blank.
    pub recogniser: String,
    #[serde(default = "default_ocr_input")]
    pub detector_input: String,
    #[serde(default = "default_ocr_input")]
    pub recogniser_input: String,
    /// The characters of classes 1.., one per line; without it, the recogniser's ONNX metadata
    /// key `character` holds them. A last class past the list is a space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characters: Option<String>,
    /// The detector's input: the frame scaled so its longer side is this (a multiple of 32).
    #[serde(default = "default_ocr_side")]
    pub max_side: u32,
    /// The recogniser's input height.
    #[serde(default = "default_line_height")]
    pub line_height: u32,
    /// A pixel with a text probability above this is text.
    #[serde(default = "default_text_pixel")]
    pub pixel_threshold: f32,
    /// A region whose mean probability is below this is dropped.
    #[serde(default = "default_text_box")]
    pub box_threshold: f32,
    /// How far a region grows back out from the shrunk text kernel the detector marks: by its
    /// area times this over its perimeter.
    #[serde(default = "default_unclip")]
    pub unclip: f32,
    /// A line read with a lower mean character confidence is dropped.
    #[serde(default = "default_text_box")]
    pub min_score: f32,
    /// The least confidence of a line with fewer than two letters or digits: round shapes and
    /// stars read as "O" or "*" score up to 0.85, a real lone digit or letter higher.
    #[serde(default = "default_short_line")]
    pub short_line_score: f32,
    /// Lines per recogniser call.
    #[serde(default = "default_line_batch")]
    pub batch: usize,
    /// Channel order both graphs take (PP-OCR was trained on BGR).
    #[serde(default)]
    pub channels: ChannelOrder,
}

/// A Whisper-family speech model as two graphs (`scripts/convert_whisper_ct2.py` writes them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeechSpec {
    /// 30 s of samples (`audio` [1, 480000]) to each decoder layer's cross-attention keys and
    /// values (`cross_k_L`, `cross_v_L`).
    pub encoder: String,
    /// One decoding step with a self-attention cache (docs/models.md lists its inputs).
    pub decoder: String,
    pub tokenizer: String,
    /// The decoding's special tokens and the tokens it never samples (JSON).
    pub generation: String,
    /// A voice activity detector (Silero's, as faster-whisper ships it): chunks of 64 + 512
    /// samples (`input`, with its `h` and `c` state) to the probability of speech. Without it
    /// the whole sound is heard.
    #[serde(default)]
    pub vad: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoseLayout {
    /// MoveNet single-pose heads on a grid of cells: `keypoints` `[N, H/s, W/s, 17]`, `centers`
    /// `[N, H/s, W/s, 1]`, `regress` and `offsets` `[N, H/s, W/s, 34]` (y, x per keypoint), the
    /// 17 keypoints in COCO's order.
    Movenet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorLayout {
    /// CenterNet heads: `scores` `[N, H/s, W/s, classes]` after a sigmoid, `boxes`
    /// `[N, H/s, W/s, 4]` with each cell's distances to the left, top, right and bottom edges in
    /// input pixels.
    Centernet,
    /// One output as Ultralytics YOLOv8 (and later) exports it: `[N, 4 + classes, anchors]`,
    /// each anchor's box centre x, centre y, width and height in input pixels, then its class
    /// scores (after a sigmoid); `scores` and `boxes` both name it.
    Yolo,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConseSpec {
    /// The text model whose space the projected vectors land in.
    pub text_model: String,
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// Above 1, each class probability is raised to `1 / temperature` before it weighs its label:
    /// the frame's lesser guesses count for more.
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// One line per class, in label order: `id<TAB>what it is a kind of<TAB>its definition`
    /// (`scripts/imagenet_wordnet.py` writes WordNet's for ImageNet); each class's label vector
    /// then also takes those, with the weights below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptions: Option<String>,
    #[serde(default = "default_hypernym_weight")]
    pub hypernym_weight: f32,
    #[serde(default = "default_gloss_weight")]
    pub gloss_weight: f32,
    /// Subtract the label vectors' mean before use (against hubness: every frame's vector
    /// drifting towards the labels' common direction).
    #[serde(default)]
    pub center: bool,
}

/// How frames become a model's input tensor: the media layer does the geometry (resize, crop,
/// interpolation), the model layer the values (range, mean and std, channel order, layout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// `[width, height]` of the input.
    pub size: [u32; 2],
    #[serde(default)]
    pub resize: ResizeMode,
    #[serde(default)]
    pub interpolation: Interpolation,
    /// `unit` divides pixels by 255 before mean and std apply; `byte` keeps 0-255.
    #[serde(default)]
    pub range: PixelRange,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    #[serde(default)]
    pub channels: ChannelOrder,
    #[serde(default)]
    pub layout: ImageLayout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResizeMode {
    /// Shortest side to the input size, then the centre cut out (ImageNet and CLIP evaluation).
    #[default]
    CenterCrop,
    /// Both sides scaled independently; the aspect ratio is lost, the content kept.
    Squash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interpolation {
    #[default]
    Bilinear,
    Bicubic,
    /// Pixel-area averaging (OpenCV's INTER_AREA).
    Area,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PixelRange {
    #[default]
    Unit,
    Byte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    #[default]
    Rgb,
    Bgr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageLayout {
    #[default]
    Nchw,
    Nhwc,
}

fn default_pixel_input() -> String {
    "pixel_values".into()
}
fn default_ids_input() -> String {
    "input_ids".into()
}
fn default_mask_input() -> Option<String> {
    Some("attention_mask".into())
}
fn default_image_batch() -> usize {
    16
}
fn default_text_batch() -> usize {
    64
}
fn default_clip_batch() -> usize {
    1
}
fn default_top_k() -> usize {
    10
}
fn default_temperature() -> f32 {
    1.0
}
fn default_hypernym_weight() -> f32 {
    0.5
}
fn default_gloss_weight() -> f32 {
    0.5
}
fn default_detector_input() -> String {
    "images".into()
}
fn default_min_score() -> f32 {
    0.3
}
fn default_iou() -> f32 {
    0.5
}
fn default_max_peaks() -> usize {
    100
}
fn default_detector_batch() -> usize {
    4
}
fn default_pose_input() -> String {
    "image".into()
}
fn default_pose_batch() -> usize {
    8
}
fn default_ocr_input() -> String {
    "x".into()
}
fn default_ocr_side() -> u32 {
    960
}
fn default_line_height() -> u32 {
    48
}
fn default_text_pixel() -> f32 {
    0.3
}
fn default_text_box() -> f32 {
    0.5
}
fn default_short_line() -> f32 {
    0.9
}
fn default_unclip() -> f32 {
    1.6
}
fn default_line_batch() -> usize {
    6
}

impl Manifest {
    /// Read and check `dir/vtx-model.toml`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text =
            std::fs::read_to_string(&path).map_err(|e| ModelError::Missing(format!("{}: {e}", path.display())))?;
        Self::parse(&text, dir).map_err(|e| ModelError::Manifest(format!("{}: {e}", path.display())))
    }

    /// A manifest's text, read and checked as if it were in `dir`; the error says what is wrong.
    pub fn parse(text: &str, dir: &Path) -> std::result::Result<Self, String> {
        let mut manifest: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        manifest.dir = dir.to_path_buf();
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest as TOML, for `vtx models add` and `vtx models info`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a manifest always serialises")
    }

    pub fn space(&self) -> &str {
        self.space.as_deref().unwrap_or(&self.name)
    }

    /// A file named in the manifest, resolved against the model folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Can this model embed a sentence into its space?
    pub fn has_text(&self) -> bool {
        self.text.is_some()
    }

    /// The sections a kind needs, consistent sizes, and every named file present.
    fn validate(&self) -> std::result::Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!("name '{}' must be letters, digits, '-', '_' or '.'", self.name));
        }
        if self.dim == 0 && self.kind.writes_vectors() {
            return Err("dim must be positive".into());
        }
        let needs = |present: bool, section: &str| {
            if present {
                Ok(())
            } else {
                Err(format!("a {:?} model needs the [{section}] section", self.kind))
            }
        };
        match self.kind {
            ModelKind::Image => needs(self.image.is_some(), "image")?,
            ModelKind::Text => needs(self.text.is_some(), "text")?,
            ModelKind::ImageText => {
                needs(self.image.is_some(), "image")?;
                needs(self.text.is_some(), "text")?;
            }
            ModelKind::Video => needs(self.video.is_some(), "video")?,
            ModelKind::Detector => needs(self.detector.is_some(), "detector")?,
            ModelKind::Pose => needs(self.pose.is_some(), "pose")?,
            ModelKind::Ocr => needs(self.ocr.is_some(), "ocr")?,
            ModelKind::Speech => needs(self.speech.is_some(), "speech")?,
            ModelKind::Motion => {
                return Err("kind \"motion\" is vtx's built-in optical-flow model; it cannot be installed".into())
            }
        }
        let mut files = Vec::new();
        if let Some(image) = &self.image {
            check_preprocess(&image.preprocess)?;
            if image.batch == 0 {
                return Err("image.batch must be positive".into());
            }
            files.push(&image.onnx);
            files.extend(&image.labels);
            if image.logits.is_some() != image.labels.is_some() {
                return Err("image.logits and image.labels go together".into());
            }
        }
        if let Some(text) = &self.text {
            if text.max_tokens < 2 || text.batch == 0 {
                return Err("text.max_tokens must be at least 2 and text.batch positive".into());
            }
            files.extend([&text.onnx, &text.tokenizer]);
            files.extend(&text.projection);
        }
        if let Some(video) = &self.video {
            check_preprocess(&video.preprocess)?;
            if video.frames == 0 || video.batch == 0 || !positive(video.fps) || !positive(video.stride) {
                return Err("video.frames, batch, fps and stride must be positive".into());
            }
            files.push(&video.onnx);
        }
        if let Some(detector) = &self.detector {
            check_preprocess(&detector.preprocess)?;
            if detector.batch == 0 || detector.max_peaks == 0 {
                return Err("detector.batch and max_peaks must be positive".into());
            }
            if !(0.0..=1.0).contains(&detector.min_score) || !(0.0..=1.0).contains(&detector.iou) {
                return Err("detector.min_score and iou must lie in 0..1".into());
            }
            files.extend([&detector.onnx, &detector.labels]);
        }
        if let Some(pose) = &self.pose {
            check_preprocess(&pose.preprocess)?;
            if pose.batch == 0 {
                return Err("pose.batch must be positive".into());
            }
            if !(0.0..=1.0).contains(&pose.min_score) {
                return Err("pose.min_score must lie in 0..1".into());
            }
            files.push(&pose.onnx);
        }
        if let Some(ocr) = &self.ocr {
            if ocr.batch == 0 || ocr.line_height < 8 || ocr.max_side < 32 || !ocr.max_side.is_multiple_of(32) {
                return Err("ocr.batch must be positive, line_height at least 8 and max_side a multiple of 32".into());
            }
            let unit = [
                ocr.pixel_threshold,
                ocr.box_threshold,
                ocr.min_score,
                ocr.short_line_score,
            ];
            let unclip_ok = ocr.unclip.is_finite() && ocr.unclip >= 0.0;
            if !(unit.iter().all(|v| (0.0..=1.0).contains(v)) && unclip_ok) {
                return Err("ocr thresholds must lie in 0..1 and unclip be a number from 0 up".into());
            }
            files.extend([&ocr.detector, &ocr.recogniser]);
            files.extend(&ocr.characters);
        }
        if let Some(speech) = &self.speech {
            files.extend([&speech.encoder, &speech.decoder, &speech.tokenizer, &speech.generation]);
            files.extend(&speech.vad);
        }
        if let Some(conse) = &self.conse {
            if self.image.as_ref().and_then(|i| i.logits.as_ref()).is_none() {
                return Err("[conse] needs a classifier: set image.logits and image.labels".into());
            }
            if ![conse.hypernym_weight, conse.gloss_weight]
                .iter()
                .all(|w| w.is_finite() && *w >= 0.0)
            {
                return Err("conse.hypernym_weight and gloss_weight must be numbers from 0 up".into());
            }
            files.extend(&conse.descriptions);
        }
        for file in files {
            if !self.dir.join(file).is_file() {
                return Err(format!("file '{file}' is not in {}", self.dir.display()));
            }
        }
        Ok(())
    }
}

/// False for zero, negatives and NaN.
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

fn check_preprocess(p: &Preprocess) -> std::result::Result<(), String> {
    if p.size.contains(&0) {
        return Err("preprocess.size must be positive".into());
    }
    if !p.std.iter().all(|s| positive(f64::from(*s))) {
        return Err("preprocess.std must be positive".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, manifest: &str, files: &[&str]) {
        std::fs::write(dir.join(MANIFEST_FILE), manifest).unwrap();
        for f in files {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
    }

    const CLIP: &str = r#"
name = "tiny-clip"
kind = "image-text"
dim = 32
[image]
onnx = "vision.onnx"
output = "image_embeds"
[image.preprocess]
size = [224, 224]
interpolation = "bicubic"
mean = [0.48145466, 0.4578275, 0.40821073]
std = [0.26862954, 0.26130258, 0.27577711]
[text]
onnx = "text.onnx"
tokenizer = "tokenizer.json"
output = "text_embeds"
max_tokens = 77
"#;

    #[test]
    fn a_clip_manifest_reads_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), CLIP, &["vision.onnx", "text.onnx", "tokenizer.json"]);
        let m = Manifest::load(dir.path()).unwrap();
        assert_eq!(m.space(), "tiny-clip");
        let image = m.image.as_ref().unwrap();
        assert_eq!(image.input, "pixel_values");
        assert_eq!(image.preprocess.resize, ResizeMode::CenterCrop);
        assert_eq!(image.preprocess.range, PixelRange::Unit);
        let text = m.text.as_ref().unwrap();
        assert_eq!(text.attention_mask.as_deref(), Some("attention_mask"));
        assert_eq!(text.pooling, Pooling::None);
        // What `vtx models add` writes reads back the same.
        let again: Manifest = toml::from_str(&m.to_toml()).unwrap();
        assert_eq!(again.image.unwrap().preprocess, image.preprocess);
    }

    #[test]
    fn mistakes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), CLIP, &["vision.onnx", "tokenizer.json"]);
        let e = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("'text.onnx' is not in"), "{e}");

        write(
            dir.path(),
            &CLIP.replace("interpolation", "interpolaton"),
            &["text.onnx"],
        );
        let e = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("unknown field `interpolaton`"), "{e}");

        write(dir.path(), &CLIP.replace("image-text", "video"), &[]);
        let e = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("needs the [video] section"), "{e}");
    }
}
