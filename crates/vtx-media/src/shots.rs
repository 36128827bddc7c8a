//! Shot boundary detection on every decoded frame, shrunk to a small picture: a content detector
//! (frame-to-frame difference in HSV, as PySceneDetect's `detect-content`), an adaptive variant
//! that compares each difference with its neighbours' so that steady camera motion does not fire,
//! and fades to and from black.

use std::path::Path;

use ffmpeg_next::util::frame::video::Video;

use crate::sampler::Decoding;
use crate::scale::SmallFrames;
use crate::{MediaError, Result, SampleStats};

/// Which test of frame-to-frame change marks a cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detector {
    /// A cut where the HSV difference to the previous frame reaches `threshold`.
    Content,
    /// A cut where the difference is `adaptive_threshold` times the average of its neighbours'
    /// (and at least `min_content`): a pan changes every frame about as much, a cut stands out.
    #[default]
    Adaptive,
}

vtx_core::names!(Detector, "detector", { Detector::Content => "content", Detector::Adaptive => "adaptive" });

/// Detector settings. The defaults are PySceneDetect's, on the same 0-255 scales.
#[derive(Debug, Clone, PartialEq)]
pub struct ShotOptions {
    pub detector: Detector,
    /// Content detector: mean absolute HSV difference that makes a cut.
    pub threshold: f64,
    /// Adaptive detector: ratio of a frame's difference to its neighbours' average.
    pub adaptive_threshold: f64,
    /// Adaptive detector: the smallest difference that can be a cut at all.
    pub min_content: f64,
    /// Frames on each side that make the adaptive detector's neighbourhood.
    pub window: usize,
    /// A frame whose mean pixel value is below this is black (fades); 0 turns fade detection off.
    pub fade_threshold: f64,
    /// Shots shorter than this (seconds) are not cut off on their own.
    pub min_shot: f64,
    /// Width of the pictures compared (height follows the aspect ratio).
    pub width: u32,
}

impl Default for ShotOptions {
    fn default() -> Self {
        Self {
            detector: Detector::Adaptive,
            threshold: 27.0,
            adaptive_threshold: 3.0,
            min_content: 15.0,
            window: 2,
            fade_threshold: 12.0,
            min_shot: 0.6,
            width: 64,
        }
    }
}

/// How a shot began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// The start of the video.
    Start,
    /// A hard cut.
    Cut,
    /// A fade through black (the boundary is in the middle of the dark frames).
    Fade,
}

impl Boundary {
    pub fn as_str(self) -> &'static str {
        match self {
            Boundary::Start => "start",
            Boundary::Cut => "cut",
            Boundary::Fade => "fade",
        }
    }
}

/// A run of frames between two boundaries, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shot {
    pub start: f64,
    pub end: f64,
    pub boundary: Boundary,
}

/// One small frame in HSV (OpenCV's 8-bit scales: hue 0-179, saturation and value 0-255).
struct Hsv {
    h: Vec<u8>,
    s: Vec<u8>,
    v: Vec<u8>,
    /// Mean of R, G and B over the frame, for fades.
    brightness: f64,
}

fn to_hsv(rgb: &[u8]) -> Hsv {
    let n = rgb.len() / 3;
    let (mut h, mut s, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let mut total = 0u64;
    for px in rgb.chunks_exact(3) {
        let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
        total += (r + g + b) as u64;
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let delta = max - min;
        let hue = if delta == 0 {
            0.0
        } else if max == r {
            60.0 * f64::from(g - b) / f64::from(delta)
        } else if max == g {
            120.0 + 60.0 * f64::from(b - r) / f64::from(delta)
        } else {
            240.0 + 60.0 * f64::from(r - g) / f64::from(delta)
        };
        let hue = if hue < 0.0 { hue + 360.0 } else { hue };
        h.push((hue / 2.0).round().min(179.0) as u8);
        s.push(if max == 0 { 0 } else { (255 * delta / max) as u8 });
        v.push(max as u8);
    }
    Hsv {
        h,
        s,
        v,
        brightness: total as f64 / (3 * n.max(1)) as f64,
    }
}

/// Mean absolute difference of the three channels, averaged (PySceneDetect's `content_val`). Hue is
/// circular: 5 and 175 are 10 apart.
fn content_difference(a: &Hsv, b: &Hsv) -> f64 {
    let n = a.h.len().max(1) as f64;
    let plain = |x: &[u8], y: &[u8]| x.iter().zip(y).map(|(p, q)| p.abs_diff(*q) as u64).sum::<u64>() as f64 / n;
    let hue =
        a.h.iter()
            .zip(&b.h)
            .map(|(p, q)| {
                let d = p.abs_diff(*q) as u64;
                d.min(180 - d)
            })
            .sum::<u64>() as f64
            / n;
    (hue + plain(&a.s, &b.s) + plain(&a.v, &b.v)) / 3.0
}

/// What the detector keeps over the stream of frames: each frame's difference to the one before
/// (16 bytes a frame: 3.5 MB for two hours at 30 fps) and the fades seen so far.
struct Tracker<'a> {
    options: &'a ShotOptions,
    previous: Option<Hsv>,
    differences: Vec<(f64, f64)>,
    fades: Vec<f64>,
    /// Time of the first black frame of the dark run we are in, and whether a lit frame came before.
    dark_since: Option<f64>,
    seen_light: bool,
}

impl Tracker<'_> {
    fn new(options: &ShotOptions) -> Tracker<'_> {
        Tracker {
            options,
            previous: None,
            differences: Vec::new(),
            fades: Vec::new(),
            dark_since: None,
            seen_light: false,
        }
    }

    fn frame(&mut self, t: f64, hsv: Hsv) {
        let o = self.options;
        let is_dark = |h: &Hsv| o.fade_threshold > 0.0 && h.brightness < o.fade_threshold;
        if o.fade_threshold > 0.0 {
            match (is_dark(&hsv), self.dark_since) {
                (true, None) => self.dark_since = Some(t),
                (false, Some(since)) => {
                    if self.seen_light {
                        self.fades.push((since + t) / 2.0);
                    }
                    self.dark_since = None;
                }
                _ => {}
            }
            self.seen_light |= !is_dark(&hsv);
        }
        if let Some(previous) = &self.previous {
            // One black frame changing to another is the fade's business, not a cut's.
            let difference = if is_dark(previous) && is_dark(&hsv) {
                0.0
            } else {
                content_difference(previous, &hsv)
            };
            self.differences.push((t, difference));
        }
        self.previous = Some(hsv);
    }

    /// The cuts, in time order, none closer than `min_shot` to the one before.
    fn cuts(&self) -> Vec<(f64, Boundary)> {
        let o = self.options;
        let d = &self.differences;
        let w = o.window.max(1);
        let mut candidates: Vec<(f64, Boundary)> = d
            .iter()
            .enumerate()
            .filter(|&(i, &(_, value))| match o.detector {
                Detector::Content => value >= o.threshold,
                Detector::Adaptive => {
                    let around: Vec<f64> = (i.saturating_sub(w)..(i + w + 1).min(d.len()))
                        .filter(|&j| j != i)
                        .map(|j| d[j].1)
                        .collect();
                    let average = around.iter().sum::<f64>() / around.len().max(1) as f64;
                    value >= o.min_content && (average == 0.0 || value / average >= o.adaptive_threshold)
                }
            })
            .map(|(_, &(t, _))| (t, Boundary::Cut))
            .chain(self.fades.iter().map(|&t| (t, Boundary::Fade)))
            .collect();
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cuts: Vec<(f64, Boundary)> = Vec::new();
        for (t, boundary) in candidates {
            let last = cuts.last().map_or(0.0, |c| c.0);
            if t > 0.0 && t - last >= o.min_shot {
                cuts.push((t, boundary));
            }
        }
        cuts
    }
}

/// Each thumbnail pixel averages 4x4 point samples: with 2x2, shot detection on the damaged
/// Megamind_bugy.avi missed a cut that FFmpeg's scene score finds (tests/shots.rs).
const SUPERSAMPLE: u32 = 4;

/// Shot detection fed one decoded frame at a time, so that it can ride along any decode.
pub(crate) struct ShotTracker<'a> {
    small: SmallFrames,
    tracker: Tracker<'a>,
}

impl<'a> ShotTracker<'a> {
    pub(crate) fn new(options: &'a ShotOptions) -> Result<Self> {
        if options.width < 8 || options.min_shot.is_nan() || options.min_shot < 0.0 {
            return Err(MediaError::InvalidSampling(
                "shot detection: width >= 8 and min_shot >= 0".into(),
            ));
        }
        Ok(Self {
            small: SmallFrames::new(options.width, SUPERSAMPLE),
            tracker: Tracker::new(options),
        })
    }

    pub(crate) fn feed(&mut self, frame: &Video, t: f64) -> Result<()> {
        let rgb = self.small.convert(frame)?;
        self.tracker.frame(t, to_hsv(&rgb));
        Ok(())
    }

    /// The shots from 0 to `end` (the measured duration).
    pub(crate) fn finish(&self, end: f64) -> Vec<Shot> {
        let cuts = self.tracker.cuts();
        let mut shots = Vec::with_capacity(cuts.len() + 1);
        let mut start = (0.0, Boundary::Start);
        for &(t, boundary) in cuts.iter().filter(|(t, _)| *t < end) {
            shots.push(Shot {
                start: start.0,
                end: t,
                boundary: start.1,
            });
            start = (t, boundary);
        }
        shots.push(Shot {
            start: start.0,
            end,
            boundary: start.1,
        });
        shots
    }
}

/// The shots of a video, from every decoded frame (no frame may be skipped: a cut can fall on
/// any of them). Also returns the decoding statistics (frames, measured duration).
pub fn detect_shots(path: &Path, options: &ShotOptions) -> Result<(Vec<Shot>, SampleStats)> {
    let mut tracker = ShotTracker::new(options)?;
    let mut stats = SampleStats::default();
    Decoding::open(path, crate::Decoder::Software)?.run(&mut stats, |frame, t| {
        tracker.feed(frame, t)?;
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    Ok((tracker.finish(stats.duration), stats))
}

/// Cut each shot `(start, end)` into the fewest equal parts no longer than `max_seconds`.
/// A 12 s shot with a 5 s limit gives three 4 s segments, not 5 + 5 + 2.
pub fn split_shots(shots: &[(f64, f64)], max_seconds: f64) -> Vec<(f64, f64)> {
    let mut segments = Vec::new();
    for &(start, end) in shots {
        let length = end - start;
        if length.is_nan() || length <= 0.0 {
            continue;
        }
        let parts = if max_seconds > 0.0 {
            // A hair of tolerance so that 10.0000001 s with a 5 s limit stays two parts.
            ((length / max_seconds) - 1e-6).ceil().max(1.0) as usize
        } else {
            1
        };
        let step = length / parts as f64;
        segments.extend((0..parts).map(|i| {
            let a = start + step * i as f64;
            let b = if i + 1 == parts {
                end
            } else {
                start + step * (i + 1) as f64
            };
            (a, b)
        }));
    }
    segments
}

/// The segments of a video `duration` seconds long: its shots (the whole video when there are
/// none), each cut into the fewest equal spans of at most `max_seconds`.
pub fn segment_spans(shots: &[Shot], duration: f64, max_seconds: f64) -> Vec<(f64, f64)> {
    let shots: Vec<(f64, f64)> = if shots.is_empty() {
        vec![(0.0, duration)]
    } else {
        shots.iter().map(|s| (s.start, s.end)).collect()
    };
    split_shots(&shots, max_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_shots_or_cover_the_video() {
        let shot = |start, end| Shot {
            start,
            end,
            boundary: Boundary::Cut,
        };
        assert_eq!(segment_spans(&[], 7.0, 5.0), [(0.0, 3.5), (3.5, 7.0)]);
        assert_eq!(
            segment_spans(&[shot(0.0, 2.0), shot(2.0, 9.0)], 9.0, 5.0),
            [(0.0, 2.0), (2.0, 5.5), (5.5, 9.0)]
        );
    }

    #[test]
    fn shots_split_into_equal_parts_under_the_limit() {
        assert_eq!(split_shots(&[(0.0, 12.0)], 5.0), [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0)]);
        assert_eq!(split_shots(&[(0.0, 10.0)], 5.0), [(0.0, 5.0), (5.0, 10.0)]);
        assert_eq!(split_shots(&[(0.0, 3.0), (3.0, 3.5)], 5.0), [(0.0, 3.0), (3.0, 3.5)]);
        assert_eq!(split_shots(&[(2.0, 2.0)], 5.0), []);
        assert_eq!(split_shots(&[(0.0, 7.0)], 0.0), [(0.0, 7.0)], "no limit: whole shots");
    }

    #[test]
    fn hsv_matches_opencv_scales() {
        let hsv = to_hsv(&[255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128]);
        assert_eq!(hsv.h, [0, 60, 120, 0]);
        assert_eq!(hsv.s, [255, 255, 255, 0]);
        assert_eq!(hsv.v, [255, 255, 255, 128]);
    }

    #[test]
    fn hue_difference_wraps_around() {
        let a = Hsv {
            h: vec![2],
            s: vec![0],
            v: vec![0],
            brightness: 0.0,
        };
        let b = Hsv {
            h: vec![178],
            s: vec![0],
            v: vec![0],
            brightness: 0.0,
        };
        assert!((content_difference(&a, &b) - 4.0 / 3.0).abs() < 1e-9);
    }

    fn run(options: &ShotOptions, differences: &[f64]) -> Vec<f64> {
        let mut tracker = Tracker::new(options);
        tracker.differences = differences.iter().enumerate().map(|(i, d)| (i as f64, *d)).collect();
        tracker.cuts().iter().map(|c| c.0).collect()
    }

    #[test]
    fn adaptive_fires_on_a_spike_not_on_steady_motion() {
        let o = ShotOptions {
            min_shot: 0.0,
            ..ShotOptions::default()
        };
        // Steady large differences (a pan) then one spike at frame 6.
        assert_eq!(
            run(&o, &[30.0, 31.0, 29.0, 30.0, 30.0, 31.0, 95.0, 30.0, 29.0, 30.0]),
            [6.0]
        );
        // The content detector cuts on every frame of the pan.
        let content = ShotOptions {
            detector: Detector::Content,
            ..o.clone()
        };
        assert_eq!(run(&content, &[30.0, 31.0, 29.0, 30.0]), [1.0, 2.0, 3.0]);
        // A spike too small to be a cut even though it stands out.
        assert!(run(&o, &[1.0, 1.0, 1.0, 10.0, 1.0, 1.0]).is_empty());
        // A spike at the very end still gets judged.
        assert_eq!(run(&o, &[2.0, 2.0, 2.0, 2.0, 60.0]), [4.0]);
    }
}
