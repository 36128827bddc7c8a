//! Segments: the unit of retrieval. A segment is a span of a shot no longer than a few seconds
//! (`vtx_media::segment_spans` cuts them); its vector in a space is pooled from the moments
//! (frames, clip windows) that fall in it, and a video's vector is pooled from its segments, so a
//! long static shot weighs no more than a short one of the same length in segments.
//!
//! [`pool_space`] is the one way vectors are pooled: the engine calls it when it indexes a video,
//! when it embeds one that is not indexed, and for the motion stream. Stores never pool.

use crate::{SegmentSpan, TimedVector};
use vtx_core::{mean_unit, normalize};

/// How a segment's moment vectors become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooling {
    /// Mean of the unit vectors, re-normalised: the segment's average look.
    #[default]
    Mean,
    /// Element-wise maximum, re-normalised: keeps a feature seen in any one frame (a brief event
    /// in a long segment) from being averaged away.
    Max,
}

vtx_core::names!(Pooling, "pooling", { Pooling::Mean => "mean", Pooling::Max => "max" });

/// Which segment (index into `starts`, ascending) a moment at `t` belongs to: the last one that
/// starts at or before it, the first for moments before any. Every moment lands in exactly one.
pub fn segment_of(starts: &[f64], t: f64) -> usize {
    starts.partition_point(|&s| s <= t).saturating_sub(1)
}

/// Pool the vectors of each segment; `None` for a segment no moment fell in.
pub fn pool_segments(moments: &[TimedVector], starts: &[f64], pooling: Pooling) -> Vec<Option<Vec<f32>>> {
    let mut pooled: Vec<Option<Vec<f32>>> = vec![None; starts.len()];
    if starts.is_empty() {
        return pooled;
    }
    for moment in moments {
        let slot = &mut pooled[segment_of(starts, moment.t)];
        match slot {
            None => *slot = Some(moment.vector.clone()),
            Some(acc) => match pooling {
                Pooling::Mean => acc.iter_mut().zip(&moment.vector).for_each(|(a, x)| *a += x),
                Pooling::Max => acc.iter_mut().zip(&moment.vector).for_each(|(a, x)| *a = a.max(*x)),
            },
        }
    }
    pooled.iter_mut().flatten().for_each(|v| normalize(v));
    pooled
}

/// A video's segments, or one spanning it whole when it has none (nothing was cut: every video is
/// searchable as at least one moment).
pub fn or_whole(mut segments: Vec<SegmentSpan>, duration: f64) -> Vec<SegmentSpan> {
    if segments.is_empty() {
        segments.push(SegmentSpan {
            start: 0.0,
            end: duration,
            thumbnail: None,
        });
    }
    segments
}

/// A video's vectors in one space, as search reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceVectors {
    pub space: String,
    /// One per segment, in the segments' order; `None` for a segment no moment fell in.
    pub segments: Vec<Option<Vec<f32>>>,
    /// The video's own vector, pooled from its segments'; `None` when no moment fell anywhere.
    pub video: Option<Vec<f32>>,
}

/// Pool a video's moments in `space` into its segments (which start at `starts`, ascending) and
/// the video.
pub fn pool_space(space: &str, moments: &[TimedVector], starts: &[f64], pooling: Pooling) -> SpaceVectors {
    let segments = pool_segments(moments, starts, pooling);
    let video = mean_unit(segments.iter().flatten().map(Vec::as_slice));
    SpaceVectors {
        space: space.to_string(),
        segments,
        video,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moment(t: f64, v: [f32; 2]) -> TimedVector {
        TimedVector { t, vector: v.to_vec() }
    }

    #[test]
    fn moments_pool_into_the_segment_they_start_in() {
        let starts = [0.0, 5.0, 10.0];
        assert_eq!(segment_of(&starts, -0.1), 0);
        assert_eq!(segment_of(&starts, 4.99), 0);
        assert_eq!(segment_of(&starts, 5.0), 1);
        assert_eq!(segment_of(&starts, 99.0), 2);
        let moments = [
            moment(1.0, [1.0, 0.0]),
            moment(2.0, [0.0, 1.0]),
            moment(11.0, [0.6, 0.8]),
        ];
        let mean = pool_segments(&moments, &starts, Pooling::Mean);
        let close = |v: &Option<Vec<f32>>, expected: [f32; 2]| {
            v.as_ref()
                .is_some_and(|v| v.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6))
        };
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!(close(&mean[0], [h, h]), "{mean:?}");
        assert_eq!(mean[1], None, "no moment in 5-10 s");
        assert!(close(&mean[2], [0.6, 0.8]));
        let max = pool_segments(
            &[moment(0.0, [0.6, -0.8]), moment(1.0, [-0.8, 0.6])],
            &[0.0],
            Pooling::Max,
        );
        assert!(close(&max[0], [h, h]), "{max:?}");
        let video = mean_unit(mean.iter().flatten().map(Vec::as_slice)).unwrap();
        let n = (video[0] * video[0] + video[1] * video[1]).sqrt();
        assert!((n - 1.0).abs() < 1e-6 && video[1] > video[0]);
        assert_eq!(mean_unit(std::iter::empty()), None);
    }
}
