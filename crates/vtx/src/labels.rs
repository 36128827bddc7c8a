//! Label sets in a text space: what names clusters and tags segments. Labels are embedded by the
//! text space's own model, so they compare with the stored vectors.

use std::path::PathBuf;
use std::sync::Arc;

use vtx_core::dot;

use crate::{Engine, EngineError, Result};

/// ImageNet-style labels list synonyms ("tench, Tinca tinca"): the first names it.
pub fn label_name(label: &str) -> &str {
    label.split(',').next().unwrap_or(label).trim()
}

/// Label sets compiled in (OpenCV's class lists, see `labels/README.md`).
const BUILT_IN: [(&str, &str); 3] = [
    ("imagenet", include_str!("../labels/imagenet.txt")),
    ("coco", include_str!("../labels/coco.txt")),
    ("kinetics", include_str!("../labels/kinetics.txt")),
];

/// Where labels come from: a built-in set or a file of one label per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Labels {
    BuiltIn(&'static str),
    File(PathBuf),
}

impl Labels {
    /// `imagenet`, `coco` or `kinetics`, else a file path (an existing file of that name wins).
    pub fn parse(name: &str) -> Self {
        match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((n, _)) if !std::path::Path::new(name).is_file() => Self::BuiltIn(n),
            _ => Self::File(PathBuf::from(name)),
        }
    }

    /// The names of the built-in sets.
    pub fn built_in() -> impl Iterator<Item = &'static str> {
        BUILT_IN.iter().map(|(n, _)| *n)
    }

    fn read(&self) -> Result<Vec<String>> {
        let text = match self {
            Self::BuiltIn(name) => BUILT_IN
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, text)| text.to_string())
                .unwrap_or_default(),
            Self::File(file) => std::fs::read_to_string(file).map_err(|e| {
                let message = format!(
                    "cannot read labels {}: {e} (built-in sets: {})",
                    file.display(),
                    Self::built_in().collect::<Vec<_>>().join(", ")
                );
                match e.kind() {
                    std::io::ErrorKind::NotFound => EngineError::NotFound(message),
                    _ => EngineError::Input(message),
                }
            })?,
        };
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }
}

/// Labels with their vectors in one text space.
pub(crate) struct LabelSet {
    pub(crate) space: String,
    labels: Vec<(String, Vec<f32>)>,
}

impl LabelSet {
    /// The `n` labels nearest `v`, best first: (full label, cosine).
    pub(crate) fn nearest(&self, v: &[f32], n: usize) -> Vec<(&str, f32)> {
        let mut scored: Vec<(&str, f32)> = self.labels.iter().map(|(l, lv)| (l.as_str(), dot(v, lv))).collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(n);
        scored
    }

    /// The mean of the label vectors (unit length): where the space's texts lie on average.
    pub(crate) fn mean(&self) -> Vec<f32> {
        vtx_core::mean_unit(self.labels.iter().map(|(_, v)| v.as_slice())).unwrap_or_default()
    }
}

impl Engine {
    /// `labels`, or by default those of an image model of the index (ImageNet's 1000 classes for
    /// the default pack), in the index's text space; `None` when the index has no text space or
    /// no labels are to be had.
    pub(crate) fn label_set(&self, labels: Option<&Labels>) -> Result<Option<LabelSet>> {
        let Ok(text) = self.text_space(None) else {
            return Ok(None);
        };
        let labels: Vec<String> = match labels {
            Some(labels) => labels.read()?,
            None => {
                let mut found = Vec::new();
                for space in self.store.spaces()? {
                    if let Ok(labels) = self.registry.get(&space.model).and_then(|m| m.labels()) {
                        found = labels;
                        break;
                    }
                }
                found
            }
        };
        if labels.is_empty() {
            return Ok(None);
        }
        let vectors = self.label_vectors(&text.model, &labels)?;
        Ok(Some(LabelSet {
            space: text.name,
            labels: labels.into_iter().zip(vectors.iter().cloned()).collect(),
        }))
    }

    /// `labels` embedded by a text model, kept for the engine's next calls (a server names
    /// clusters with the same 1,000 labels on every request) and on disk for the next process
    /// (embedding them takes seconds).
    fn label_vectors(&self, model: &str, labels: &[String]) -> Result<Arc<Vec<Vec<f32>>>> {
        let cached = crate::lock(&self.label_sets)
            .iter()
            .find(|set| set.model == model && set.labels == labels)
            .map(|set| set.vectors.clone());
        if let Some(vectors) = cached {
            return Ok(vectors);
        }
        let manifest = self.registry.get(model)?;
        let vectors = match self.registry.cached_texts(&manifest, labels) {
            Some(vectors) => vectors,
            None => {
                let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                let vectors = self.embed_texts(model, &refs)?;
                self.registry.cache_texts(&manifest, labels, &vectors);
                vectors
            }
        };
        let vectors = Arc::new(vectors);
        let mut sets = crate::lock(&self.label_sets);
        if sets.len() >= LABEL_SETS_KEPT {
            sets.remove(0);
        }
        sets.push(EmbeddedLabels {
            model: model.to_string(),
            labels: labels.to_vec(),
            vectors: vectors.clone(),
        });
        Ok(vectors)
    }
}

/// Label sets an engine keeps embedded (1,000 labels in 384-d: 1.5 MB each).
const LABEL_SETS_KEPT: usize = 4;

/// A label list embedded by one text model.
pub(crate) struct EmbeddedLabels {
    model: String,
    labels: Vec<String>,
    vectors: Arc<Vec<Vec<f32>>>,
}
