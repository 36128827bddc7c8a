//! The best `limit` of a stream of scored segments, in O(limit) memory (O(videos) when grouped),
//! shared by the exact scan, the graph and the merge of the two.

use std::collections::HashMap;

/// A scored segment: (score, video, segment).
pub(crate) type Scored = (f32, i64, i64);

/// [`vtx_core::TopK`] over segments, or over videos (each by its best segment) when grouped.
pub(crate) struct TopK {
    group_by_video: bool,
    best: vtx_core::TopK<(i64, i64)>,
    per_video: HashMap<i64, (f32, i64)>,
}

impl TopK {
    pub(crate) fn new(limit: usize, group_by_video: bool) -> Self {
        Self {
            group_by_video,
            best: vtx_core::TopK::new(limit),
            per_video: HashMap::new(),
        }
    }

    pub(crate) fn push(&mut self, score: f32, video: i64, segment: i64) {
        if self.group_by_video {
            let slot = self.per_video.entry(video).or_insert((score, segment));
            if score > slot.0 || (score == slot.0 && segment < slot.1) {
                *slot = (score, segment);
            }
        } else {
            self.best.push(score, (video, segment));
        }
    }

    /// How many distinct results it holds so far (videos when grouped).
    pub(crate) fn len(&self) -> usize {
        if self.group_by_video {
            self.per_video.len()
        } else {
            self.best.len()
        }
    }

    pub(crate) fn finish(self) -> Vec<Scored> {
        let mut best = self.best;
        best.extend(
            self.per_video
                .into_iter()
                .map(|(video, (score, segment))| (score, (video, segment))),
        );
        best.finish()
            .into_iter()
            .map(|(score, (video, segment))| (score, video, segment))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::TopK;

    #[test]
    fn keeps_the_best_or_the_best_per_video() {
        let mut top = TopK::new(2, false);
        for (i, score) in [0.1, 0.9, 0.5, 0.7, 0.9].into_iter().enumerate() {
            top.push(score, i as i64 % 2, i as i64);
        }
        assert_eq!(top.finish(), [(0.9, 0, 4), (0.9, 1, 1)], "ties: older video first");
        let mut grouped = TopK::new(5, true);
        for (i, score) in [0.1, 0.9, 0.5, 0.7, 0.3].into_iter().enumerate() {
            grouped.push(score, i as i64 % 2, i as i64);
        }
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped.finish(), [(0.9, 1, 1), (0.5, 0, 2)]);
    }
}
