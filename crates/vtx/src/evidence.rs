//! Words known of a segment besides its pictures, folded into a ConSE text space the way ConSE
//! folds in the classifier's classes: each word's text embedding, weighted by how sure and how
//! present it is, added to the segment's pooled vector. The objects a detector saw, and what
//! people were seen doing, are such words; anything else that names a segment's content in words
//! (speech, on-screen text) plugs in as more [`Words`].
//!
//! An ImageNet classifier knows no "person" and no "running"; the detector and the tracker do.
//! Without this, "a person running" in the offline pack's text space finds only what ImageNet
//! classes happen to sit near those words.

use std::collections::HashMap;

use vtx_index::{pool_space, Pooling, Space, VideoObjects, VideoWriter};

use crate::Result;

/// Default of [`crate::ObjectOptions::text_weight`]: measured on the object dev set
/// (docs/performance.md, "Detected objects in the text space").
pub const DEFAULT_TEXT_WEIGHT: f32 = 1.0;

/// Per segment id, its words and their weights (0..1).
pub(crate) type Words = HashMap<i64, Vec<(String, f32)>>;

/// What a person seen doing `action` is called in words.
fn action_words(action: &str) -> String {
    format!("a person {action}")
}

/// Each segment's detected objects, weighted by their mean score times the share of the
/// segment's time they are seen, and the actions of its people, weighted the same way.
pub(crate) fn object_words(objects: &VideoObjects) -> Words {
    let mut words = Words::new();
    for seen in &objects.segments {
        words
            .entry(seen.segment)
            .or_default()
            .push((seen.label.clone(), seen.score * seen.share));
    }
    for done in &objects.actions {
        words
            .entry(done.segment)
            .or_default()
            .push((action_words(&done.label), done.score * done.share));
    }
    words
}

/// One ConSE text space and the embeddings of the words that may be folded into it.
pub(crate) struct TextBridge {
    space: Space,
    vectors: HashMap<String, Vec<f32>>,
}

impl TextBridge {
    /// `space`'s bridge for a detector with `labels`: those labels and every action's words,
    /// embedded by `embed` (the space's text model).
    pub(crate) fn for_objects(
        space: Space,
        labels: &[String],
        embed: impl FnOnce(&[&str]) -> Result<Vec<Vec<f32>>>,
    ) -> Result<Self> {
        let mut words: Vec<String> = labels.to_vec();
        words.extend(crate::actions::ACTIONS.iter().map(|a| action_words(a)));
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let vectors = words.iter().cloned().zip(embed(&refs)?).collect();
        Ok(Self { space, vectors })
    }

    /// Pool the video's moments in this space into its segments, as indexing does, and fold each
    /// segment's `words` in with `weight`: `pooled + weight * sum(w * word)`, back to unit
    /// length. A space the video has no moments in is left alone.
    pub(crate) fn fold(
        &self,
        writer: &mut dyn VideoWriter,
        words: &Words,
        weight: f32,
        pooling: Pooling,
    ) -> Result<()> {
        let moments = writer.moments(&self.space.name)?;
        if moments.is_empty() {
            return Ok(());
        }
        let segments = writer.segments()?;
        let starts: Vec<f64> = segments.iter().map(|s| s.start).collect();
        let mut pooled = pool_space(&self.space.name, &moments, &starts, pooling);
        for (segment, vector) in segments.iter().zip(&mut pooled.segments) {
            let (Some(vector), Some(seen)) = (vector.as_mut(), words.get(&segment.id)) else {
                continue;
            };
            for (word, w) in seen {
                if let Some(embedded) = self.vectors.get(word) {
                    vector.iter_mut().zip(embedded).for_each(|(v, e)| *v += weight * w * e);
                }
            }
            vtx_core::normalize(vector);
        }
        writer.put_vectors(&pooled)?;
        Ok(())
    }
}

/// Fold `objects` into every bridge's space of a video being written.
pub(crate) fn fold_objects(
    bridges: &[TextBridge],
    writer: &mut dyn VideoWriter,
    objects: &VideoObjects,
    weight: f32,
    pooling: Pooling,
) -> Result<()> {
    if weight == 0.0 || bridges.is_empty() {
        return Ok(());
    }
    let words = object_words(objects);
    for bridge in bridges {
        bridge.fold(writer, &words, weight, pooling)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtx_index::SegmentObjects;

    #[test]
    fn objects_and_actions_weigh_by_score_and_share() {
        let seen = |segment, label: &str, score, share| SegmentObjects {
            segment,
            label: label.into(),
            count: 1,
            score,
            share,
        };
        let objects = VideoObjects {
            detector: "d".into(),
            fps: 5.0,
            frames: 10,
            tracks: Vec::new(),
            segments: vec![seen(7, "dog", 0.8, 0.5), seen(8, "person", 0.5, 1.0)],
            actions: vec![seen(8, "running", 0.5, 0.4)],
        };
        let words = object_words(&objects);
        assert_eq!(words[&7], [("dog".to_string(), 0.4)]);
        assert_eq!(
            words[&8],
            [("person".to_string(), 0.5), ("a person running".to_string(), 0.2)]
        );
    }
}
