//! The model folder: one sub-folder per model, each with its `vtx-model.toml`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::manifest::{ConseSpec, Manifest, MANIFEST_FILE};
use crate::{io_err, Conse, ModelError, Result, RuntimeOptions, TextEncoder};

/// Installed models, found by their manifests under one folder (plus `onnxruntime/`, the runtime
/// library, and `cache/`, derived data such as ConSE label vectors).
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
    options: RuntimeOptions,
    parsed: Arc<Mutex<HashMap<PathBuf, Parsed>>>,
    /// Models compiled into vtx (no folder): listed and found like the installed ones, never
    /// added over or removed.
    built_in: Vec<Manifest>,
}

/// A manifest as last read, with the file's modification time and size then: a file that still
/// matches is not parsed again (every search asks for its space's model).
#[derive(Debug)]
struct Parsed {
    stamp: (Option<SystemTime>, u64),
    manifest: Manifest,
}

impl Registry {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            options: RuntimeOptions::for_models(dir, None),
            parsed: Arc::default(),
            built_in: Vec::new(),
        }
    }

    /// The same folder, with its models run on `device` (`None`: each manifest's, else `auto`).
    pub fn with_device(mut self, device: Option<crate::Device>) -> Self {
        self.options = RuntimeOptions::for_models(&self.dir, device);
        self
    }

    /// The same folder, with `manifest` as a built-in model beside what is installed.
    pub fn with_built_in(mut self, manifest: Manifest) -> Self {
        self.built_in.push(manifest);
        self
    }

    /// Whether `name` is a model compiled into vtx.
    pub fn is_built_in(&self, name: &str) -> bool {
        self.built_in.iter().any(|m| m.name == name)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }

    /// Every model folder with a manifest, by name; folders whose manifest is broken come back as
    /// errors beside the good ones so that one bad folder does not hide the rest.
    pub fn scan(&self) -> (Vec<Manifest>, Vec<ModelError>) {
        let mut good = Vec::new();
        let mut bad = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (good, bad);
        };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join(MANIFEST_FILE).is_file())
            .collect();
        dirs.sort();
        let mut parsed = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        parsed.retain(|dir, _| dirs.contains(dir));
        for dir in dirs {
            let stamp = std::fs::metadata(dir.join(MANIFEST_FILE)).map_or((None, 0), |m| (m.modified().ok(), m.len()));
            if let Some(known) = parsed.get(&dir).filter(|p| p.stamp.0.is_some() && p.stamp == stamp) {
                good.push(known.manifest.clone());
                continue;
            }
            match Manifest::load(&dir) {
                Ok(manifest) => {
                    parsed.insert(
                        dir,
                        Parsed {
                            stamp,
                            manifest: manifest.clone(),
                        },
                    );
                    good.push(manifest);
                }
                Err(e) => {
                    parsed.remove(&dir);
                    bad.push(e);
                }
            }
        }
        good.extend(self.built_in.iter().cloned());
        good.sort_by(|a, b| a.name.cmp(&b.name));
        (good, bad)
    }

    /// The model called `name`.
    pub fn get(&self, name: &str) -> Result<Manifest> {
        let (models, broken) = self.scan();
        if let Some(m) = models.iter().find(|m| m.name == name) {
            return Ok(m.clone());
        }
        let dir = self.dir.join(name);
        if dir.join(MANIFEST_FILE).is_file() {
            // Its folder exists under that name but the manifest is broken or names another model.
            return Manifest::load(&dir);
        }
        let installed = models.iter().map(|m| m.name.clone()).collect::<Vec<_>>().join(", ");
        let broken = if broken.is_empty() {
            String::new()
        } else {
            format!(
                "; {} model folder(s) have broken manifests (`vtx models list`)",
                broken.len()
            )
        };
        Err(ModelError::NotInstalled(format!(
            "no model named '{name}' in {} (installed: {}{broken}); `make setup` installs the offline defaults, `vtx models add DIR` others",
            self.dir.display(),
            if installed.is_empty() { "none" } else { &installed }
        )))
    }

    /// Install the model in `source` under `name` (default: the manifest's name, or the folder's).
    /// A folder without a manifest is read as a common CLIP-style ONNX export and given one. The
    /// files are hard-linked when they can be, copied when not. Nothing is left behind if any
    /// step fails.
    pub fn add(&self, source: &Path, name: Option<&str>) -> Result<Manifest> {
        if !source.is_dir() {
            return Err(ModelError::Missing(format!("{} is not a folder", source.display())));
        }
        let mut manifest = if source.join(MANIFEST_FILE).is_file() {
            Manifest::load(source)?
        } else {
            crate::infer::manifest_for_export(source, name, &self.options)?
        };
        if let Some(name) = name {
            manifest.name = name.to_string();
        }
        if self.is_built_in(&manifest.name) {
            return Err(ModelError::Manifest(format!(
                "'{}' is the name of a model built into vtx; install it under another name",
                manifest.name
            )));
        }
        let dest = self.dir.join(&manifest.name);
        if dest.exists() {
            return Err(ModelError::Manifest(format!(
                "a model named '{}' is installed already ({}); remove it first or install it under another name",
                manifest.name,
                dest.display()
            )));
        }
        std::fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let staging = self
            .dir
            .join(format!(".adding-{}-{}", manifest.name, std::process::id()));
        let result = (|| {
            std::fs::create_dir_all(&staging).map_err(io_err(&staging))?;
            for file in manifest.files() {
                link_or_copy(&source.join(&file), &staging.join(&file))?;
            }
            let mut staged = manifest.clone();
            staged.dir = staging.clone();
            std::fs::write(staging.join(MANIFEST_FILE), staged.to_toml()).map_err(io_err(&staging))?;
            let staged = Manifest::load(&staging)?;
            crate::infer::check_loads(&staged, &self.options)?;
            std::fs::rename(&staging, &dest).map_err(io_err(&dest))?;
            Manifest::load(&dest)
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }

    /// Delete an installed model's folder.
    pub fn remove(&self, name: &str) -> Result<PathBuf> {
        if self.is_built_in(name) {
            return Err(ModelError::Manifest(format!(
                "'{name}' is built into vtx and cannot be removed"
            )));
        }
        let manifest = self.get(name)?;
        std::fs::remove_dir_all(&manifest.dir).map_err(io_err(&manifest.dir))?;
        Ok(manifest.dir)
    }

    /// ConSE from `image`'s class names into `text`'s space. The label vectors are cached (a
    /// second or more of work on every start otherwise), keyed by the label list and the text
    /// model's files, so changing either recomputes them.
    pub fn conse(&self, image: &Manifest, text_model: &Manifest, text: &mut dyn TextEncoder) -> Result<Conse> {
        if let Some(conse) = self.cached_conse(image, text_model)? {
            return Ok(conse);
        }
        let (cache, names, spec) = self.conse_cache(image, text_model)?;
        let conse = match image.class_descriptions()? {
            Some(descriptions) => Conse::from_descriptions(
                &names,
                &descriptions,
                (spec.hypernym_weight, spec.gloss_weight),
                text,
                spec.top_k,
            )?,
            None => Conse::from_class_names(&names, text, spec.top_k)?,
        };
        let conse = match spec.center {
            true => conse.centred()?,
            false => conse,
        };
        let conse = conse.with_temperature(spec.temperature)?;
        if let Err(e) = write_vectors(&cache, conse.label_vectors()) {
            tracing::debug!("cannot cache ConSE label vectors in {}: {e}", cache.display());
        }
        Ok(conse)
    }

    /// ConSE from the cache alone, so that indexing need not load the text model (a third of a
    /// second) when its label vectors were computed before.
    pub fn cached_conse(&self, image: &Manifest, text_model: &Manifest) -> Result<Option<Conse>> {
        let (cache, names, spec) = self.conse_cache(image, text_model)?;
        read_vectors(&cache, names.len(), text_model.dim)
            .map(|vectors| Conse::new(vectors, spec.top_k)?.with_temperature(spec.temperature))
            .transpose()
    }

    /// Where `image`'s ConSE label vectors for `text_model` are cached, its class names and its
    /// `[conse]` section.
    fn conse_cache<'m>(
        &self,
        image: &'m Manifest,
        text_model: &Manifest,
    ) -> Result<(PathBuf, Vec<String>, &'m ConseSpec)> {
        let spec = image
            .conse
            .as_ref()
            .ok_or_else(|| ModelError::Manifest(format!("model '{}' has no [conse] section", image.name)))?;
        let names = image.labels()?;
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            names.hash(&mut h);
            image.class_descriptions()?.hash(&mut h);
            [spec.hypernym_weight, spec.gloss_weight].map(f32::to_bits).hash(&mut h);
            spec.center.hash(&mut h);
            hash_model_files(text_model, &mut h);
            h.finish()
        };
        let cache = self.dir.join("cache").join(format!("conse-{key:016x}.f32"));
        Ok((cache, names, spec))
    }

    /// `texts` as `text_model` embedded them before, if it did: label sets that name clusters
    /// and tag segments are the same 1,000 lines on every run, and embedding them takes seconds.
    pub fn cached_texts(&self, text_model: &Manifest, texts: &[String]) -> Option<Vec<Vec<f32>>> {
        read_vectors(&self.texts_cache(text_model, texts), texts.len(), text_model.dim)
    }

    /// Keep `vectors`, the embeddings of `texts` by `text_model`, for [`Self::cached_texts`]. A
    /// cache that cannot be written costs only the next run's time, so that is logged, not raised.
    pub fn cache_texts(&self, text_model: &Manifest, texts: &[String], vectors: &[Vec<f32>]) {
        let cache = self.texts_cache(text_model, texts);
        if let Err(e) = write_vectors(&cache, vectors) {
            tracing::debug!("cannot cache text vectors in {}: {e}", cache.display());
        }
    }

    fn texts_cache(&self, text_model: &Manifest, texts: &[String]) -> PathBuf {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        texts.hash(&mut h);
        hash_model_files(text_model, &mut h);
        self.dir.join("cache").join(format!("texts-{:016x}.f32", h.finish()))
    }
}

/// A model's name and its files' sizes: a new export or a replaced file changes the hash.
fn hash_model_files(model: &Manifest, h: &mut impl std::hash::Hasher) {
    use std::hash::Hash;
    model.name.hash(h);
    for file in model.files() {
        std::fs::metadata(model.file(&file))
            .map(|m| m.len())
            .unwrap_or(0)
            .hash(h);
    }
}

impl Manifest {
    /// A classifier's class names, one per class index.
    pub fn labels(&self) -> Result<Vec<String>> {
        let path = self
            .image
            .as_ref()
            .and_then(|i| i.labels.as_ref())
            .or(self.detector.as_ref().map(|d| &d.labels))
            .map(|l| self.file(l))
            .ok_or_else(|| ModelError::Manifest(format!("model '{}' has no labels", self.name)))?;
        Ok(std::fs::read_to_string(&path)
            .map_err(io_err(&path))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// What each class is a kind of and its definition, in label order, if the manifest's
    /// `[conse]` names a descriptions file.
    pub fn class_descriptions(&self) -> Result<Option<Vec<(String, String)>>> {
        let Some(file) = self.conse.as_ref().and_then(|c| c.descriptions.as_ref()) else {
            return Ok(None);
        };
        let path = self.file(file);
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(n, line)| match line.split('\t').collect::<Vec<_>>()[..] {
                [_, kind, gloss] => Ok((kind.trim().to_string(), gloss.trim().to_string())),
                _ => Err(ModelError::Manifest(format!(
                    "{}:{}: expected id<TAB>hypernyms<TAB>gloss",
                    path.display(),
                    n + 1
                ))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// A section the model must have to be loaded as `what`.
    pub(crate) fn section<T: Clone>(&self, section: &Option<T>, what: &str) -> Result<T> {
        section
            .clone()
            .ok_or_else(|| ModelError::Manifest(format!("model '{}' has no [{what}] section", self.name)))
    }

    /// The files the manifest names, relative to its folder, with ONNX external-data files.
    pub fn files(&self) -> Vec<String> {
        let mut files = Vec::new();
        if let Some(i) = &self.image {
            files.push(i.onnx.clone());
            files.extend(i.labels.clone());
        }
        if let Some(t) = &self.text {
            files.extend([t.onnx.clone(), t.tokenizer.clone()]);
            files.extend(t.projection.clone());
        }
        if let Some(v) = &self.video {
            files.push(v.onnx.clone());
        }
        if let Some(d) = &self.detector {
            files.extend([d.onnx.clone(), d.labels.clone()]);
        }
        if let Some(p) = &self.pose {
            files.push(p.onnx.clone());
        }
        if let Some(o) = &self.ocr {
            files.extend([o.detector.clone(), o.recogniser.clone()]);
            files.extend(o.characters.clone());
        }
        if let Some(s) = &self.speech {
            files.extend([
                s.encoder.clone(),
                s.decoder.clone(),
                s.tokenizer.clone(),
                s.generation.clone(),
            ]);
            files.extend(s.vad.clone());
        }
        files.extend(self.conse.as_ref().and_then(|c| c.descriptions.clone()));
        let data: Vec<String> = files
            .iter()
            .filter(|f| f.ends_with(".onnx"))
            .flat_map(|f| [format!("{f}_data"), format!("{f}.data")])
            .filter(|f| self.dir.join(f).is_file())
            .collect();
        files.extend(data);
        files.sort();
        files.dedup();
        files
    }
}

fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map_err(io_err(from))?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn text_model(dir: &Path, onnx_bytes: usize) -> Manifest {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("model.onnx"), vec![0u8; onnx_bytes]).unwrap();
        std::fs::write(dir.join("tokenizer.json"), "{}").unwrap();
        let text = "name = \"words\"\nkind = \"text\"\nspace = \"text\"\ndim = 2\n\n[text]\nonnx = \"model.onnx\"\ntokenizer = \"tokenizer.json\"\noutput = \"out\"\nmax_tokens = 8\n";
        Manifest::parse(text, dir).unwrap()
    }

    #[test]
    fn text_vectors_are_cached_per_model_and_texts_and_a_damaged_cache_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(dir.path());
        let model = text_model(&dir.path().join("words"), 10);
        let texts = vec!["a heron".to_string(), "a lighthouse".to_string()];
        let vectors = vec![vec![0.6, 0.8], vec![1.0, 0.0]];
        assert_eq!(registry.cached_texts(&model, &texts), None);
        registry.cache_texts(&model, &texts, &vectors);
        assert_eq!(registry.cached_texts(&model, &texts), Some(vectors.clone()));
        assert_eq!(registry.cached_texts(&model, &texts[..1]), None, "other texts");
        // A new export of the model (another file size) must not reuse the old vectors.
        let replaced = text_model(&dir.path().join("words"), 11);
        assert_eq!(registry.cached_texts(&replaced, &texts), None, "another model file");
        let model = text_model(&dir.path().join("words"), 10);
        assert_eq!(
            registry.cached_texts(&model, &texts),
            Some(vectors),
            "the old file again"
        );
        // A file cut short (a full disk, a killed writer) is not read as vectors.
        std::fs::write(registry.texts_cache(&model, &texts), [0u8; 12]).unwrap();
        assert_eq!(registry.cached_texts(&model, &texts), None);
    }
}
