//! Zero-shot tags: each segment's nearest labels in the index's text space, stored so that search
//! can filter by them (`vtx search ... --tag dog`).

use std::collections::HashMap;
use vtx_index::Tag;

use crate::labels::{label_name, Labels};
use crate::{Engine, EngineError, Result};

/// How `Engine::tag` labels segments.
#[derive(Debug, Clone)]
pub struct TagOptions {
    /// Labels to tag with (default: the labels of an image model of the index).
    pub labels: Option<Labels>,
    /// Labels kept per segment.
    pub top: usize,
    /// Labels scoring under this cosine are not kept.
    pub min_score: f32,
    /// Only these videos (paths as indexed); all when empty.
    pub only: Vec<String>,
}

impl Default for TagOptions {
    fn default() -> Self {
        Self {
            labels: None,
            top: 3,
            min_score: 0.0,
            only: Vec::new(),
        }
    }
}

/// A video's tags: per segment, and for the whole video (from its video vector).
#[derive(Debug, Clone, serde::Serialize)]
pub struct VideoTags {
    pub video: String,
    pub tags: Vec<(String, f32)>,
    pub segments: Vec<SegmentTags>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentTags {
    pub segment: i64,
    pub start: f64,
    pub end: f64,
    pub tags: Vec<(String, f32)>,
}

fn named(nearest: Vec<(&str, f32)>, min_score: f32) -> Vec<(String, f32)> {
    nearest
        .into_iter()
        .filter(|(_, score)| *score >= min_score)
        .map(|(label, score)| (label_name(label).to_string(), score))
        .collect()
}

impl Engine {
    /// Tag every segment of the index (or of `options.only`) with its nearest labels, and store
    /// the tags (replacing earlier ones) for `search --tag`.
    pub fn tag(&self, options: &TagOptions) -> Result<Vec<VideoTags>> {
        if options.top == 0 {
            return Err(EngineError::invalid("top", "must be at least 1"));
        }
        let labels = self.label_set(options.labels.as_ref())?.ok_or_else(|| {
            EngineError::Input("no labels to tag with: the index has no text space; name a label set".into())
        })?;
        let mut per_video: HashMap<i64, Vec<(vtx_index::Segment, Vec<f32>)>> = HashMap::new();
        for (segment, vector) in self.all_segment_vectors(&labels.space)? {
            per_video.entry(segment.video_id).or_default().push((segment, vector));
        }
        let mut report = Vec::new();
        for video in self.videos()? {
            if !options.only.is_empty() && !options.only.contains(&video.meta.path) {
                continue;
            }
            let segments = per_video.remove(&video.id).unwrap_or_default();
            let mut stored = Vec::new();
            let mut listed = Vec::new();
            for (segment, vector) in &segments {
                let nearest = labels.nearest(vector, options.top);
                // The full label is stored, so that `--tag` finds any of its synonyms.
                stored.extend(nearest.iter().filter(|(_, score)| *score >= options.min_score).map(
                    |&(label, score)| Tag {
                        segment: segment.id,
                        label: label.to_string(),
                        score,
                    },
                ));
                listed.push(SegmentTags {
                    segment: segment.id,
                    start: segment.start,
                    end: segment.end,
                    tags: named(nearest, options.min_score),
                });
            }
            self.store.set_tags(video.id, &stored)?;
            let whole = match self.store.video_vector(video.id, &labels.space)? {
                Some(v) => named(labels.nearest(&v, options.top), options.min_score),
                None => Vec::new(),
            };
            report.push(VideoTags {
                video: video.meta.path,
                tags: whole,
                segments: listed,
            });
        }
        Ok(report)
    }
}
