//! From a decoded video to its segments: shots cut into spans of a few seconds, each with a
//! thumbnail chosen among the sampled frames.

use vtx_index::SegmentSpan;
use vtx_media::{Filter, FrameSize, Resize};

/// Thumbnails fit in this box, keeping the video's aspect ratio.
const THUMBNAIL_BOX: (u32, u32) = (320, 180);

/// Thumbnail candidates kept per video; past this, every other one is dropped and fewer are taken
/// (about 10 KB each, so a video of any length costs at most ~20 MB while it is indexed).
const MAX_CANDIDATES: usize = 2048;

/// The size of a video's thumbnails.
pub(crate) fn thumbnail_size(width: u32, height: u32) -> FrameSize {
    let (bw, bh) = THUMBNAIL_BOX;
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let scale = (f64::from(bw) / w).min(f64::from(bh) / h);
    // Even sides: the JPEG encoder subsamples chroma by two.
    let even = |x: f64| ((x / 2.0).round() as u32 * 2).max(2);
    FrameSize::new(even(w * scale), even(h * scale), Resize::Squash).with_filter(Filter::Area)
}

/// Sampled frames offered as thumbnails while a video decodes; the frame nearest each segment's
/// middle becomes its thumbnail.
pub(crate) struct ThumbnailPicker {
    size: FrameSize,
    candidates: Vec<(f64, Vec<u8>)>,
    /// Take every `stride`-th frame offered.
    stride: usize,
    offered: usize,
}

impl ThumbnailPicker {
    pub(crate) fn new(size: FrameSize) -> Self {
        Self {
            size,
            candidates: Vec::new(),
            stride: 1,
            offered: 0,
        }
    }

    pub(crate) fn size(&self) -> FrameSize {
        self.size
    }

    /// A sampled frame at `t`, as RGB of [`size`](Self::size).
    pub(crate) fn offer(&mut self, t: f64, rgb: &[u8]) {
        let taken = self.offered.is_multiple_of(self.stride);
        self.offered += 1;
        if !taken {
            return;
        }
        match vtx_media::encode_jpeg(rgb, self.size.width, self.size.height) {
            Ok(jpeg) => self.candidates.push((t, jpeg)),
            Err(e) => tracing::debug!("no thumbnail at {t:.2} s: {e}"),
        }
        if self.candidates.len() >= MAX_CANDIDATES {
            let mut keep = false;
            self.candidates.retain(|_| {
                keep = !keep;
                keep
            });
            self.stride *= 2;
        }
    }

    /// Segments for `spans`, each with the candidate inside it nearest to its middle (none when
    /// no sampled frame falls inside).
    pub(crate) fn pick(self, spans: &[(f64, f64)]) -> Vec<SegmentSpan> {
        spans
            .iter()
            .map(|&(start, end)| {
                let middle = (start + end) / 2.0;
                let thumbnail = self
                    .candidates
                    .iter()
                    .filter(|(t, _)| *t >= start && *t < end)
                    .min_by(|a, b| (a.0 - middle).abs().total_cmp(&(b.0 - middle).abs()))
                    .map(|(_, jpeg)| jpeg.clone());
                SegmentSpan { start, end, thumbnail }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_keep_the_aspect_ratio_in_even_sizes() {
        let size = |w, h| {
            let s = thumbnail_size(w, h);
            (s.width, s.height)
        };
        assert_eq!(size(1920, 1080), (320, 180));
        assert_eq!(size(640, 480), (240, 180));
        assert_eq!(size(1080, 1920), (102, 180));
        assert_eq!(size(4000, 100), (320, 8));
    }

    #[test]
    fn each_segment_gets_the_frame_nearest_its_middle() {
        let size = thumbnail_size(32, 18);
        let mut picker = ThumbnailPicker::new(size);
        let grey = |level: u8| vec![level; (size.width * size.height * 3) as usize];
        for t in 0..10 {
            picker.offer(f64::from(t), &grey(t as u8 * 20));
        }
        let segments = picker.pick(&[(0.0, 3.5), (3.5, 3.9), (3.9, 10.0)]);
        let picked = |i: usize, t: f64| {
            let expected = vtx_media::encode_jpeg(&grey(t as u8 * 20), size.width, size.height).unwrap();
            segments[i].thumbnail.as_deref() == Some(expected.as_slice())
        };
        assert!(picked(0, 2.0) && picked(2, 7.0));
        assert_eq!(segments[1].thumbnail, None, "no frame inside 3.5-3.9 s");
    }

    #[test]
    fn candidates_thin_out_on_long_videos() {
        let size = thumbnail_size(16, 16);
        let mut picker = ThumbnailPicker::new(size);
        let rgb = vec![90; (size.width * size.height * 3) as usize];
        for t in 0..(MAX_CANDIDATES * 3) {
            picker.offer(t as f64, &rgb);
        }
        assert!(picker.candidates.len() < MAX_CANDIDATES);
        assert!(picker.candidates.len() >= MAX_CANDIDATES / 2);
        let last = picker.candidates.last().unwrap().0;
        assert!(
            last > (MAX_CANDIDATES * 3) as f64 * 0.9,
            "candidates still span the video: {last}"
        );
    }
}
