//! Reading a folder of ONNX files exported the common way (Hugging Face Optimum, Xenova, OpenCLIP
//! exports) and writing the manifest it needs, so that `vtx models add DIR` works on such a folder
//! as it comes.

use std::path::{Path, PathBuf};

use crate::manifest::{
    ImageSpec, Interpolation, Manifest, ModelKind, PixelRange, Pooling, Preprocess, ResizeMode, TextSpec,
};
use crate::runtime::inspect_graph;
use crate::{
    ClipEncoder, ImageEncoder, ModelError, ObjectDetector, OnnxClipEncoder, OnnxDetector, OnnxImageEncoder, OnnxPose,
    OnnxTextEncoder, PoseEstimator, Result, RuntimeOptions, TextEncoder, TextReader,
};

/// OpenAI CLIP's pixel statistics, which most CLIP-family exports keep.
const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_6, 0.275_777_1];
const CLIP_CONTEXT: usize = 77;

/// Weight variants an export folder may hold beside the full-precision graph; the plain one is
/// preferred, as it gives the reference embeddings.
const VARIANT_MARKS: [&str; 7] = ["quantized", "int8", "uint8", "fp16", "q4", "bnb4", "q4f16"];

fn onnx_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for folder in [dir.to_path_buf(), dir.join("onnx")] {
        if let Ok(entries) = std::fs::read_dir(&folder) {
            found.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "onnx")),
            );
        }
    }
    found.sort();
    found
}

/// The plainest ONNX file whose name contains one of `words`.
pub(crate) fn pick(files: &[PathBuf], words: &[&str]) -> Option<PathBuf> {
    let name = |p: &PathBuf| p.file_name().unwrap_or_default().to_string_lossy().to_lowercase();
    let mut candidates: Vec<&PathBuf> = files
        .iter()
        .filter(|p| words.iter().any(|w| name(p).contains(w)))
        .collect();
    candidates.sort_by_key(|p| (VARIANT_MARKS.iter().any(|m| name(p).contains(m)), name(p).len()));
    candidates.first().map(|p| (*p).clone())
}

fn relative(dir: &Path, file: &Path) -> String {
    file.strip_prefix(dir).unwrap_or(file).to_string_lossy().into_owned()
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Image geometry and statistics from `preprocessor_config.json` when the export has one.
fn preprocess_from(dir: &Path, graph_size: Option<[u32; 2]>) -> Preprocess {
    let config = read_json(&dir.join("preprocessor_config.json"));
    let get = |key: &str| config.as_ref().and_then(|c| c.get(key));
    let triple = |key: &str, default: [f32; 3]| {
        get(key)
            .and_then(|v| serde_json::from_value::<Vec<f32>>(v.clone()).ok())
            .and_then(|v| <[f32; 3]>::try_from(v).ok())
            .unwrap_or(default)
    };
    let crop = get("crop_size").and_then(|c| {
        c.as_u64()
            .or_else(|| c.get("height").and_then(|h| h.as_u64()))
            .map(|s| [s as u32; 2])
    });
    // PIL's resampling codes: 2 bilinear, 3 bicubic.
    let interpolation = match get("resample").and_then(|r| r.as_u64()) {
        Some(2) => Interpolation::Bilinear,
        _ => Interpolation::Bicubic,
    };
    let range = match get("do_rescale").and_then(|r| r.as_bool()) {
        Some(false) => PixelRange::Byte,
        _ => PixelRange::Unit,
    };
    Preprocess {
        size: graph_size.or(crop).unwrap_or([224, 224]),
        resize: if get("do_center_crop").and_then(|c| c.as_bool()) == Some(false) {
            ResizeMode::Squash
        } else {
            ResizeMode::CenterCrop
        },
        interpolation,
        range,
        mean: triple("image_mean", CLIP_MEAN),
        std: triple("image_std", CLIP_STD),
        channels: Default::default(),
        layout: Default::default(),
    }
}

fn last_dim(shape: &[i64]) -> Option<usize> {
    shape.last().filter(|d| **d > 0).map(|d| *d as usize)
}

/// A manifest for an image+text export in `dir`: a vision graph (`pixel_values` -> `image_embeds`),
/// a text graph (`input_ids`, `attention_mask` -> `text_embeds`, or a last hidden state to pool on
/// the end-of-text token) and a `tokenizer.json`.
pub(crate) fn manifest_for_export(dir: &Path, name: Option<&str>, options: &RuntimeOptions) -> Result<Manifest> {
    let files = onnx_files(dir);
    let missing = |what: &str| {
        ModelError::Manifest(format!(
            "{} has no {MANIFEST_FILE} and does not look like a CLIP-style export: {what}. \
             Write a manifest by hand (docs/models.md shows one for each kind of model)",
            dir.display(),
            MANIFEST_FILE = crate::MANIFEST_FILE
        ))
    };
    let vision = pick(&files, &["vision", "visual", "image"]).ok_or_else(|| missing("no vision ONNX file"))?;
    let text = pick(&files, &["text", "textual"]).ok_or_else(|| missing("no text ONNX file"))?;
    let tokenizer = [dir.join("tokenizer.json"), dir.join("onnx/tokenizer.json")]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| missing("no tokenizer.json"))?;

    let vision_io = inspect_graph(&vision, options)?;
    let (input, _, in_shape) = vision_io
        .inputs
        .iter()
        .find(|(_, _, shape)| shape.len() == 4)
        .ok_or_else(|| missing("the vision graph has no 4-D image input"))?
        .clone();
    let graph_size = match in_shape[..] {
        [_, _, h, w] if h > 0 && w > 0 => Some([w as u32, h as u32]),
        _ => None,
    };
    let (image_output, _, image_shape) = vision_io
        .outputs
        .iter()
        .find(|(n, _, s)| n == "image_embeds" && s.len() == 2)
        .or_else(|| vision_io.outputs.iter().find(|(_, _, s)| s.len() == 2))
        .ok_or_else(|| missing("the vision graph has no [batch, dim] output"))?
        .clone();

    let text_io = inspect_graph(&text, options)?;
    let has_input = |n: &str| text_io.inputs.iter().any(|(name, _, _)| name == n);
    let (text_output, pooling, text_shape) = match text_io
        .outputs
        .iter()
        .find(|(n, _, s)| n == "text_embeds" && s.len() == 2)
        .or_else(|| text_io.outputs.iter().find(|(_, _, s)| s.len() == 2))
    {
        Some((n, _, s)) => (n.clone(), Pooling::None, s.clone()),
        None => {
            let (n, _, s) = text_io
                .outputs
                .iter()
                .find(|(_, _, s)| s.len() == 3)
                .ok_or_else(|| missing("the text graph has no [batch, dim] or [batch, tokens, width] output"))?;
            (n.clone(), Pooling::Eos, s.clone())
        }
    };
    let projection = ["text_projection.npy", "onnx/text_projection.npy"]
        .into_iter()
        .find(|p| dir.join(p).is_file())
        .map(String::from);
    let dim = match (&projection, last_dim(&image_shape)) {
        (_, Some(d)) => d,
        (None, None) => {
            last_dim(&text_shape).ok_or_else(|| missing("the embedding size is not fixed in the graphs"))?
        }
        (Some(_), None) => return Err(missing("the embedding size is not fixed in the vision graph")),
    };
    let max_tokens = read_json(&dir.join("tokenizer_config.json"))
        .and_then(|c| c.get("model_max_length").and_then(|m| m.as_u64()))
        .filter(|m| *m <= 4096)
        .map_or(CLIP_CONTEXT, |m| m as usize);
    let folder_name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "model".into());
    let name = name.map(String::from).unwrap_or_else(|| {
        folder_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    });
    Ok(Manifest {
        name,
        kind: ModelKind::ImageText,
        space: None,
        dim,
        description: format!("image+text model added from {}", dir.display()),
        image: Some(ImageSpec {
            onnx: relative(dir, &vision),
            input,
            output: image_output,
            batch: 8,
            logits: None,
            labels: None,
            preprocess: preprocess_from(dir, graph_size),
        }),
        text: Some(TextSpec {
            onnx: relative(dir, &text),
            tokenizer: relative(dir, &tokenizer),
            input_ids: "input_ids".into(),
            attention_mask: has_input("attention_mask").then(|| "attention_mask".into()),
            token_type_ids: has_input("token_type_ids").then(|| "token_type_ids".into()),
            output: text_output,
            pooling,
            max_tokens,
            lowercase: false,
            projection,
            batch: 64,
        }),
        video: None,
        detector: None,
        pose: None,
        ocr: None,
        speech: None,
        conse: None,
        device: None,
        dir: dir.to_path_buf(),
    })
}

/// Load every part of a model and run one input through it, so that a wrong input or output
/// name, shape or dimension shows at `vtx models add`, not in the middle of indexing.
pub(crate) fn check_loads(manifest: &Manifest, options: &RuntimeOptions) -> Result<()> {
    let gray = |p: &Preprocess| vec![128u8; p.width() * p.height() * 3];
    if manifest.image.is_some() {
        let mut enc = OnnxImageEncoder::load(manifest, options)?;
        let frame = gray(enc.preprocess());
        enc.encode(&[&frame])?;
    }
    if manifest.text.is_some() {
        OnnxTextEncoder::load(manifest, options)?.encode(&["a test sentence"])?;
    }
    if manifest.video.is_some() {
        let mut enc = OnnxClipEncoder::load(manifest, options)?;
        let frame = gray(enc.preprocess());
        let clip = vec![frame.as_slice(); enc.spec().frames];
        enc.encode(&[clip])?;
    }
    if manifest.detector.is_some() {
        let mut detector = OnnxDetector::load(manifest, options)?;
        let frame = gray(detector.preprocess());
        detector.detect(&[&frame])?;
    }
    if manifest.pose.is_some() {
        let mut pose = OnnxPose::load(manifest, options)?;
        let frame = gray(pose.preprocess());
        pose.estimate(&[&frame])?;
    }
    if manifest.ocr.is_some() {
        let mut reader = crate::OnnxTextReader::load(manifest, options)?;
        let (w, h) = reader.frame_size(16.0 / 9.0);
        reader.read(&vec![128u8; w as usize * h as usize * 3], w, h)?;
    }
    Ok(())
}
