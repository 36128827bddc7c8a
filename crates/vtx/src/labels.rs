//! Label sets in a text space: what names clusters and tags segments. Labels are embedded by the
//! text space's own model, so they compare with the stored vectors.

use std::path::Path;

use vtx_index::dot;

use crate::{Engine, EngineError, Result};

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

    /// ImageNet-style labels list synonyms ("tench, Tinca tinca"): the first names it.
    pub(crate) fn display(label: &str) -> &str {
        label.split(',').next().unwrap_or(label).trim()
    }
}

impl Engine {
    /// The labels of `file` (one per line), or by default those of an image model of the index
    /// (ImageNet's 1000 classes for the default pack), in the index's text space; `None` when the
    /// index has no text space or no labels are to be had.
    pub(crate) fn label_set(&mut self, file: Option<&Path>) -> Result<Option<LabelSet>> {
        let Ok(text) = self.text_space(None) else {
            return Ok(None);
        };
        let labels: Vec<String> = match file {
            Some(file) => std::fs::read_to_string(file)
                .map_err(|e| EngineError::Input(format!("cannot read labels {}: {e}", file.display())))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
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
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let vectors = self.text_encoder(&text.model)?.encode(&refs)?;
        Ok(Some(LabelSet {
            space: text.name,
            labels: labels.into_iter().zip(vectors).collect(),
        }))
    }
}
