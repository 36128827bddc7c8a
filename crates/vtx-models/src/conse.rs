//! ConSE (Norouzi et al., 2014, "Zero-shot learning by convex combination of semantic embeddings").
//!
//! A frame's text-space vector is the probability-weighted mean of the text embeddings of its top-k
//! classifier labels, re-normalised; a temperature above 1 flattens the weights (each probability
//! to the power 1/T), so that a frame's second and third guesses count for more. It lets a plain
//! ImageNet classifier answer free-text queries through a sentence encoder; a joint image-text
//! model (CLIP family) does this better when one is available.

use vtx_core::normalize;

use crate::{ModelError, Result, TextEncoder};

pub struct Conse {
    /// One unit vector per class, in the text encoder's space.
    label_vectors: Vec<Vec<f32>>,
    top_k: usize,
    temperature: f32,
}

impl Conse {
    /// The paper's best results used T = 10.
    pub const DEFAULT_TOP_K: usize = 10;

    pub fn new(label_vectors: Vec<Vec<f32>>, top_k: usize) -> Result<Self> {
        if label_vectors.is_empty() || top_k == 0 {
            return Err(ModelError::Input("ConSE needs at least one label and top_k > 0".into()));
        }
        Ok(Self {
            label_vectors,
            top_k,
            temperature: 1.0,
        })
    }

    /// The same labels with the class probabilities raised to `1 / temperature` before weighting.
    pub fn with_temperature(self, temperature: f32) -> Result<Self> {
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(ModelError::Input(format!(
                "ConSE temperature must be a positive number, not {temperature}"
            )));
        }
        Ok(Self { temperature, ..self })
    }

    /// Embed each class name. A name line such as "tabby, tabby cat" is used whole: the synonyms
    /// together pin the meaning down better than the first word alone.
    pub fn from_class_names(names: &[String], text: &mut dyn TextEncoder, top_k: usize) -> Result<Self> {
        Self::new(embed(names, text)?, top_k)
    }

    /// Embed each class by its name line, plus `weights.0` times the embedding of what it is a
    /// kind of and `weights.1` times that of its definition (`descriptions`, one per class), back
    /// to unit length: "a kitty" then lands near the cat classes, "an animal" near every animal.
    pub fn from_descriptions(
        names: &[String],
        descriptions: &[(String, String)],
        weights: (f32, f32),
        text: &mut dyn TextEncoder,
        top_k: usize,
    ) -> Result<Self> {
        if descriptions.len() != names.len() {
            return Err(ModelError::Input(format!(
                "{} class descriptions for {} classes",
                descriptions.len(),
                names.len()
            )));
        }
        let kinds: Vec<String> = descriptions
            .iter()
            .map(|(kind, _)| format!("a kind of {kind}"))
            .collect();
        let glosses: Vec<String> = descriptions.iter().map(|(_, gloss)| gloss.clone()).collect();
        let mut vectors = embed(names, text)?;
        for (texts, weight) in [(kinds, weights.0), (glosses, weights.1)] {
            if weight == 0.0 {
                continue;
            }
            let embedded = embed(&texts, text)?;
            for (v, e) in vectors.iter_mut().zip(embedded) {
                v.iter_mut().zip(e).for_each(|(v, e)| *v += weight * e);
            }
        }
        vectors.iter_mut().for_each(|v| normalize(v));
        Self::new(vectors, top_k)
    }

    /// The same labels with their mean taken away, back to unit length.
    pub fn centred(self) -> Result<Self> {
        let n = self.label_vectors.len() as f32;
        let mut mean = vec![0f32; self.dim()];
        for v in &self.label_vectors {
            mean.iter_mut().zip(v).for_each(|(m, x)| *m += x / n);
        }
        let mut vectors = self.label_vectors;
        for v in &mut vectors {
            v.iter_mut().zip(&mean).for_each(|(x, m)| *x -= m);
            normalize(v);
        }
        Self::new(vectors, self.top_k)?.with_temperature(self.temperature)
    }

    pub fn label_vectors(&self) -> &[Vec<f32>] {
        &self.label_vectors
    }

    pub fn dim(&self) -> usize {
        self.label_vectors[0].len()
    }

    /// Map class probabilities to a unit vector in the text space.
    pub fn project(&self, probs: &[f32]) -> Result<Vec<f32>> {
        if probs.len() != self.label_vectors.len() {
            return Err(ModelError::Input(format!(
                "{} class probabilities for {} labels",
                probs.len(),
                self.label_vectors.len()
            )));
        }
        let mut order: Vec<usize> = (0..probs.len()).collect();
        let k = self.top_k.min(order.len());
        order.select_nth_unstable_by(k - 1, |&a, &b| probs[b].total_cmp(&probs[a]));
        let mut out = vec![0f32; self.dim()];
        let exponent = self.temperature.recip();
        for &class in &order[..k] {
            let w = probs[class].max(0.0).powf(exponent);
            out.iter_mut()
                .zip(&self.label_vectors[class])
                .for_each(|(o, v)| *o += w * v);
        }
        normalize(&mut out);
        Ok(out)
    }
}

/// `texts` through the text encoder, a batch of 64 at a time.
fn embed(texts: &[String], text: &mut dyn TextEncoder) -> Result<Vec<Vec<f32>>> {
    let mut vectors = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(64) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        vectors.extend(text.encode(&refs)?);
    }
    Ok(vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_is_weighted_mean_of_top_k_labels() {
        let labels = vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0]];
        let conse = Conse::new(labels, 2).unwrap();
        // Class 2 is outside the top 2 and must not contribute.
        let v = conse.project(&[0.6, 0.3, 0.1]).unwrap();
        let norm = (0.6f32 * 0.6 + 0.3 * 0.3).sqrt();
        assert!((v[0] - 0.6 / norm).abs() < 1e-6);
        assert!((v[1] - 0.3 / norm).abs() < 1e-6);
        assert_eq!(v[2], 0.0);
    }

    #[test]
    fn a_temperature_above_one_flattens_the_weights_and_a_bad_one_is_refused() {
        let labels = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let conse = Conse::new(labels, 2).unwrap().with_temperature(2.0).unwrap();
        // 0.64 and 0.16 become 0.8 and 0.4: the second guess now weighs half the first, not a quarter.
        let v = conse.project(&[0.64, 0.16]).unwrap();
        assert!((v[1] / v[0] - 0.5).abs() < 1e-6, "{v:?}");
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            let conse = Conse::new(vec![vec![1.0]], 1).unwrap();
            assert!(conse.with_temperature(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn centring_takes_the_labels_mean_away() {
        let labels = vec![vec![1.0, 1.0], vec![1.0, -1.0]];
        let centred = Conse::new(labels, 2).unwrap().centred().unwrap();
        // The mean (1, 0) is shared by both and goes; what tells them apart stays.
        assert_eq!(centred.label_vectors(), [vec![0.0, 1.0], vec![0.0, -1.0]]);
    }

    #[test]
    fn wrong_probability_count_is_an_error() {
        let conse = Conse::new(vec![vec![1.0], vec![1.0]], 1).unwrap();
        assert!(conse.project(&[1.0]).is_err());
    }
}
