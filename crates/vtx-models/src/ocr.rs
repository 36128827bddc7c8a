//! Text readers described by an `[ocr]` manifest section: a frame to the lines of text it shows.
//!
//! Two graphs: a DBNet detector marks the pixels that lie in text, and vtx turns that map into
//! line boxes (connected regions, grown back out by the unclip distance); a CTC recogniser then
//! reads each line, cropped from the frame, and vtx decodes it greedily. The boxes are upright:
//! text in footage (captions, titles, slides, signs) is overwhelmingly horizontal, and an upright
//! box needs no perspective warp.

use ort::session::Session;
use serde::{Deserialize, Serialize};

use crate::detect::BBox;
use crate::manifest::{
    ChannelOrder, ImageLayout, Interpolation, Manifest, OcrSpec, PixelRange, Preprocess, ResizeMode,
};
use crate::runtime::{load_session, rt_err, run_on_frames};
use crate::{ModelError, Result, RuntimeOptions, TextReader};

/// One line of text read in a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextLine {
    pub text: String,
    /// Mean confidence of its characters.
    pub score: f32,
    /// Where it is, in fractions of the frame.
    pub bbox: BBox,
}

/// Regions narrower or lower than this many detector pixels are noise, not text.
const MIN_REGION: usize = 3;
/// A line is read at most this many times as wide as it is high; what is past that is cut (a
/// caption of 1,000 px at 20 px high is 50:1).
const MAX_LINE_RATIO: f32 = 64.0;

pub struct OnnxTextReader {
    detector: Session,
    recogniser: Session,
    spec: OcrSpec,
    /// Class 1.. of the recogniser, then the space.
    characters: Vec<String>,
}

impl OnnxTextReader {
    pub fn load(manifest: &Manifest, options: &RuntimeOptions) -> Result<Self> {
        let spec = manifest.section(&manifest.ocr, "ocr")?;
        let detector = load_session(&manifest.file(&spec.detector), options, manifest.device)?;
        let recogniser = load_session(&manifest.file(&spec.recogniser), options, manifest.device)?;
        let listed = match &spec.characters {
            Some(file) => {
                let path = manifest.file(file);
                std::fs::read_to_string(&path).map_err(crate::io_err(&path))?
            }
            None => recogniser
                .metadata()
                .map_err(rt_err)?
                .custom("character")
                .ok_or_else(|| {
                    ModelError::Manifest(format!(
                        "'{}' has no `characters` file and its recogniser no `character` metadata",
                        manifest.name
                    ))
                })?,
        };
        let mut characters: Vec<String> = listed.lines().map(|l| l.trim_end_matches('\r').to_string()).collect();
        characters.push(" ".into());
        Ok(Self {
            detector,
            recogniser,
            spec,
            characters,
        })
    }

    pub fn spec(&self) -> &OcrSpec {
        &self.spec
    }

    /// Run the bare detector session `rounds` times on one frame of its input size (`frames[0]`):
    /// ONNX Runtime's own throughput, the ceiling for [`TextReader::read`] on a frame with no
    /// text.
    pub fn run_raw(&mut self, frames: &[&[u8]], rounds: usize) -> Result<()> {
        let preprocess = self.detector_preprocess(1.0);
        crate::runtime::run_raw(
            &mut self.detector,
            &preprocess,
            &self.spec.detector_input,
            frames,
            rounds,
        )
    }

    /// How the detector takes frames of `aspect`: their size, and the normalisation.
    pub fn detector_preprocess(&self, aspect: f64) -> Preprocess {
        let (width, height) = self.frame_size(aspect);
        self.preprocess(width, height)
    }

    fn preprocess(&self, width: u32, height: u32) -> Preprocess {
        Preprocess {
            size: [width, height],
            resize: ResizeMode::Squash,
            interpolation: Interpolation::Bilinear,
            range: PixelRange::Unit,
            mean: [0.5; 3],
            std: [0.5; 3],
            channels: self.spec.channels,
            layout: ImageLayout::Nchw,
        }
    }

    /// The text lines of one frame of the detector's size, top to bottom then left to right.
    fn find_lines(&mut self, frame: &[u8], width: u32, height: u32) -> Result<Vec<Region>> {
        let preprocess = self.preprocess(width, height);
        let outputs = run_on_frames(&mut self.detector, &preprocess, &self.spec.detector_input, &[frame])?;
        let (shape, map) = outputs[0].try_extract_tensor::<f32>().map_err(rt_err)?;
        let (h, w) = match shape[..] {
            [1, 1, h, w] if h > 0 && w > 0 => (h as usize, w as usize),
            _ => {
                return Err(ModelError::Runtime(format!(
                    "the text detector gave a map of shape {shape:?}, expected [1, 1, H, W]"
                )))
            }
        };
        let mut regions = text_regions(
            map,
            w,
            h,
            self.spec.pixel_threshold,
            self.spec.box_threshold,
            self.spec.unclip,
        );
        regions.sort_by(|a, b| reading_order(&a.bbox, &b.bbox));
        Ok(regions)
    }

    /// Read each line of `frame`, in batches of lines of alike widths.
    fn read_lines(&mut self, frame: &[u8], width: u32, regions: &[Region]) -> Result<Vec<TextLine>> {
        let line_height = self.spec.line_height as usize;
        let crops: Vec<&Region> = regions.iter().filter(|r| r.w >= 2.0 && r.h >= 2.0).collect();
        let mut order: Vec<usize> = (0..crops.len()).collect();
        order.sort_by(|&a, &b| crops[a].ratio().total_cmp(&crops[b].ratio()));
        let mut read: Vec<Option<TextLine>> = vec![None; crops.len()];
        for batch in order.chunks(self.spec.batch) {
            // The recogniser's receptive field wants lines at least 320 x 48 (PP-OCR's training
            // shape); narrower ones are padded.
            let ratio = batch
                .iter()
                .map(|&i| crops[i].ratio())
                .fold(320.0 / 48.0, f32::max)
                .min(MAX_LINE_RATIO);
            let line_width = (line_height as f32 * ratio).ceil() as usize;
            let plane = line_height * line_width;
            let mut tensor = vec![0f32; batch.len() * 3 * plane];
            for (&i, dst) in batch.iter().zip(tensor.chunks_exact_mut(3 * plane)) {
                crops[i].write(frame, width as usize, line_height, line_width, self.spec.channels, dst);
            }
            let input =
                ort::value::Tensor::from_array(([batch.len(), 3, line_height, line_width], tensor)).map_err(rt_err)?;
            let outputs = self
                .recogniser
                .run(ort::inputs![self.spec.recogniser_input.as_str() => input])
                .map_err(rt_err)?;
            let (shape, probs) = outputs[0].try_extract_tensor::<f32>().map_err(rt_err)?;
            let (steps, classes) = match shape[..] {
                [n, t, c] if n as usize == batch.len() && c as usize == self.characters.len() + 1 => {
                    (t as usize, c as usize)
                }
                _ => {
                    return Err(ModelError::Runtime(format!(
                        "the recogniser gave shape {shape:?}, expected [{}, T, {}]",
                        batch.len(),
                        self.characters.len() + 1
                    )))
                }
            };
            for (&i, line) in batch.iter().zip(probs.chunks_exact(steps * classes)) {
                let (text, score) = ctc_greedy(line, classes, &self.characters);
                let text = text.trim().to_string();
                let letters = text.chars().filter(|c| c.is_alphanumeric()).count();
                let least = match letters {
                    0 | 1 => self.spec.short_line_score,
                    _ => self.spec.min_score,
                };
                if letters > 0 && score >= least {
                    read[i] = Some(TextLine {
                        text,
                        score,
                        bbox: crops[i].bbox,
                    });
                }
            }
        }
        Ok(read.into_iter().flatten().collect())
    }
}

impl TextReader for OnnxTextReader {
    fn frame_size(&self, aspect: f64) -> (u32, u32) {
        detector_size(aspect, self.spec.max_side)
    }

    fn read(&mut self, frame: &[u8], width: u32, height: u32) -> Result<Vec<TextLine>> {
        if frame.len() != width as usize * height as usize * 3
            || !width.is_multiple_of(32)
            || !height.is_multiple_of(32)
        {
            return Err(ModelError::Input(format!(
                "a text reader's frame must be RGB24 with sides multiples of 32, got {} bytes for {width}x{height}",
                frame.len()
            )));
        }
        let boxes = self.find_lines(frame, width, height)?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        self.read_lines(frame, width, &boxes)
    }
}

/// The detector's input for frames of `aspect` (width over height): the longer side `max_side`,
/// both sides multiples of 32. Small frames are scaled up: text a few pixels high is read better
/// at twice the size.
pub fn detector_size(aspect: f64, max_side: u32) -> (u32, u32) {
    let aspect = if aspect.is_finite() && aspect > 0.0 {
        aspect
    } else {
        1.0
    };
    let side = f64::from(max_side);
    let (w, h) = if aspect >= 1.0 {
        (side, side / aspect)
    } else {
        (side * aspect, side)
    };
    let round = |x: f64| ((x / 32.0).round() as u32).max(1) * 32;
    (round(w), round(h))
}

/// Lines in reading order: by row (boxes whose vertical centres lie within half a line of each
/// other share one), then left to right.
fn reading_order(a: &BBox, b: &BBox) -> std::cmp::Ordering {
    let (ay, by) = (a.centre().1, b.centre().1);
    let half_line = a.height().min(b.height()) / 2.0;
    if (ay - by).abs() <= half_line {
        a.x0.total_cmp(&b.x0)
    } else {
        ay.total_cmp(&by)
    }
}

/// A line of text as the detector found it: a rectangle in the pixels of the map (which is the
/// frame's size), turned by the line's slant, and its axis-aligned box in fractions.
#[derive(Debug, Clone, PartialEq)]
struct Region {
    /// The corner where the line begins (top left when level), and the unit vectors along the
    /// line and down across it.
    origin: (f32, f32),
    along: (f32, f32),
    across: (f32, f32),
    w: f32,
    h: f32,
    bbox: BBox,
    mean: f32,
}

/// DBNet's map to text lines: the 8-connected regions of pixels above `pixel` (after a 2 x 2
/// dilation that joins the strokes of one line), each the least rectangle along its own slant (its
/// pixels' principal axis, folded to within 45 degrees of level), kept if the map's mean over that
/// rectangle reaches `min_mean`, and grown by `unclip` times its area over its perimeter, the way
/// the detector was trained to shrink them.
fn text_regions(map: &[f32], w: usize, h: usize, pixel: f32, min_mean: f32, unclip: f32) -> Vec<Region> {
    let mut on = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let hot = |yy: usize, xx: usize| map[yy * w + xx] > pixel;
            on[y * w + x] = hot(y, x)
                || (x > 0 && hot(y, x - 1))
                || (y > 0 && hot(y - 1, x))
                || (x > 0 && y > 0 && hot(y - 1, x - 1));
        }
    }
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut pixels: Vec<(f32, f32)> = Vec::new();
    let mut out = Vec::new();
    for start in 0..w * h {
        if !on[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        pixels.clear();
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            pixels.push((x as f32 + 0.5, y as f32 + 0.5));
            for (dx, dy) in [
                (-1i64, -1i64),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if on[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        out.extend(region_of(&pixels, map, w, h, min_mean, unclip));
    }
    out
}

/// A line's own axes: its centre, the unit vector along it and the one down across it.
#[derive(Debug, Clone, Copy)]
struct Axes {
    centre: (f32, f32),
    along: (f32, f32),
    across: (f32, f32),
}

impl Axes {
    /// A pixel position as (along, across) from the centre.
    fn project(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.centre.0, y - self.centre.1);
        (
            dx * self.along.0 + dy * self.along.1,
            dx * self.across.0 + dy * self.across.1,
        )
    }

    fn point(&self, u: f32, v: f32) -> (f32, f32) {
        (
            self.centre.0 + u * self.along.0 + v * self.across.0,
            self.centre.1 + u * self.along.1 + v * self.across.1,
        )
    }

    /// The map's mean over the pixels whose centres lie within `u0..u1` along and `v0..v1`
    /// across: DBNet's box score.
    fn mean_within(&self, map: &[f32], w: usize, h: usize, (u0, u1, v0, v1): (f32, f32, f32, f32)) -> f32 {
        let reach = u0.abs().max(u1.abs()) + v0.abs().max(v1.abs());
        let span = |c: f32, limit: usize| {
            ((c - reach).floor().max(0.0) as usize)..((c + reach).ceil().clamp(0.0, limit as f32) as usize)
        };
        let (mut sum, mut count) = (0f32, 0usize);
        for y in span(self.centre.1, h) {
            for x in span(self.centre.0, w) {
                let (u, v) = self.project(x as f32 + 0.5, y as f32 + 0.5);
                if (u0..=u1).contains(&u) && (v0..=v1).contains(&v) {
                    sum += map[y * w + x];
                    count += 1;
                }
            }
        }
        if count == 0 {
            0.0
        } else {
            sum / count as f32
        }
    }
}

/// The rectangle of one region's pixels (their centres), or `None` if it is too small or faint.
fn region_of(pixels: &[(f32, f32)], map: &[f32], w: usize, h: usize, min_mean: f32, unclip: f32) -> Option<Region> {
    let n = pixels.len() as f32;
    let (sx, sy) = pixels.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let centre = (sx / n, sy / n);
    let (mut sxx, mut syy, mut sxy) = (0f32, 0f32, 0f32);
    for (x, y) in pixels {
        let (dx, dy) = (x - centre.0, y - centre.1);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let quarter = std::f32::consts::FRAC_PI_2;
    let mut angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    if angle > quarter / 2.0 {
        angle -= quarter;
    } else if angle < -quarter / 2.0 {
        angle += quarter;
    }
    let along = (angle.cos(), angle.sin());
    let axes = Axes {
        centre,
        along,
        across: (-along.1, along.0),
    };
    let (mut u0, mut u1, mut v0, mut v1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &(x, y) in pixels {
        let (u, v) = axes.project(x, y);
        u0 = u0.min(u - 0.5);
        u1 = u1.max(u + 0.5);
        v0 = v0.min(v - 0.5);
        v1 = v1.max(v + 0.5);
    }
    let (rw, rh) = (u1 - u0, v1 - v0);
    if rw.min(rh) < MIN_REGION as f32 {
        return None;
    }
    let mean = axes.mean_within(map, w, h, (u0, u1, v0, v1));
    if mean < min_mean {
        return None;
    }
    let grow = rw * rh * unclip / (2.0 * (rw + rh));
    let (u0, u1, v0, v1) = (u0 - grow, u1 + grow, v0 - grow, v1 + grow);
    let corners = [
        axes.point(u0, v0),
        axes.point(u1, v0),
        axes.point(u1, v1),
        axes.point(u0, v1),
    ];
    let (fw, fh) = (w as f32, h as f32);
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for (x, y) in corners {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    Some(Region {
        origin: corners[0],
        along: axes.along,
        across: axes.across,
        w: u1 - u0,
        h: v1 - v0,
        bbox: BBox {
            x0: (x0 / fw).max(0.0),
            y0: (y0 / fh).max(0.0),
            x1: (x1 / fw).min(1.0),
            y1: (y1 / fh).min(1.0),
        },
        mean,
    })
}

impl Region {
    fn ratio(&self) -> f32 {
        self.w / self.h
    }

    /// The line turned level and scaled to `line_height` (bilinear), left-aligned in a
    /// `line_width` plane set triple, normalised to -1..1; what is past the line stays 0 (the
    /// padding PP-OCR expects).
    fn write(
        &self,
        frame: &[u8],
        width: usize,
        line_height: usize,
        line_width: usize,
        channels: ChannelOrder,
        dst: &mut [f32],
    ) {
        let height = frame.len() / (3 * width);
        let scale = self.h / line_height as f32;
        let out_width = ((self.w / scale).ceil() as usize).clamp(1, line_width);
        let plane = line_height * line_width;
        let sample = |v: f32, limit: usize| {
            let v = v.clamp(0.0, (limit - 1) as f32);
            let i = (v.floor() as usize).min(limit.saturating_sub(2));
            (i, (v - i as f32).clamp(0.0, 1.0))
        };
        for oy in 0..line_height {
            let down = (oy as f32 + 0.5) * scale;
            for ox in 0..out_width {
                let right = (ox as f32 + 0.5) * scale;
                let sx = self.origin.0 + right * self.along.0 + down * self.across.0 - 0.5;
                let sy = self.origin.1 + right * self.along.1 + down * self.across.1 - 0.5;
                let (x, fx) = sample(sx, width);
                let (y, fy) = sample(sy, height);
                let (x_next, y_next) = ((x + 1).min(width - 1), (y + 1).min(height - 1));
                for c in 0..3 {
                    let source = match channels {
                        ChannelOrder::Rgb => c,
                        ChannelOrder::Bgr => 2 - c,
                    };
                    let px = |yy: usize, xx: usize| f32::from(frame[(yy * width + xx) * 3 + source]);
                    let top = px(y, x) * (1.0 - fx) + px(y, x_next) * fx;
                    let bottom = px(y_next, x) * (1.0 - fx) + px(y_next, x_next) * fx;
                    let value = top * (1.0 - fy) + bottom * fy;
                    dst[c * plane + oy * line_width + ox] = value / 127.5 - 1.0;
                }
            }
        }
    }
}

/// Between words, PP-OCR's recogniser often ranks the space second to the blank: a step whose
/// space probability reaches this, between two characters, is read as a space (within words it
/// stays under 0.05; between words it is 0.25-0.65, measured on the text fixtures).
const SPACE_RESCUE: f32 = 0.2;

/// Greedy CTC: the best class at each step, repeats merged, blanks (class 0) dropped, and a space
/// where a gap between characters makes one likely enough (the last class is the space); the
/// score is the mean probability of the characters kept.
fn ctc_greedy(probs: &[f32], classes: usize, characters: &[String]) -> (String, f32) {
    let mut text = String::new();
    let (mut sum, mut kept) = (0f32, 0usize);
    let mut previous = 0usize;
    let space = characters.len();
    let mut gap_is_space = false;
    for step in probs.chunks_exact(classes) {
        let (best, p) = step
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc });
        if best == 0 {
            gap_is_space |= step.get(space).is_some_and(|&p| p >= SPACE_RESCUE);
        } else if best != previous {
            if let Some(c) = characters.get(best - 1) {
                if gap_is_space && best != space && !text.is_empty() && !text.ends_with(' ') {
                    text.push(' ');
                }
                text.push_str(c);
                sum += p;
                kept += 1;
            }
            gap_is_space = false;
        }
        previous = best;
    }
    let score = if kept == 0 { 0.0 } else { sum / kept as f32 };
    (text, score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_sizes_are_multiples_of_32_with_the_longer_side_fixed() {
        assert_eq!(detector_size(16.0 / 9.0, 960), (960, 544));
        assert_eq!(detector_size(4.0 / 3.0, 960), (960, 736));
        assert_eq!(detector_size(9.0 / 16.0, 960), (544, 960));
        assert_eq!(detector_size(f64::NAN, 960), (960, 960));
        assert_eq!(detector_size(100.0, 960), (960, 32));
    }

    #[test]
    fn regions_are_found_grown_and_filtered_by_their_mean() {
        let (w, h) = (40, 20);
        let mut map = vec![0f32; w * h];
        // A strong line 20 x 4 at (5, 5), and a faint blob that passes the pixel threshold only.
        for y in 5..9 {
            for x in 5..25 {
                map[y * w + x] = 0.9;
            }
        }
        for y in 12..16 {
            for x in 30..36 {
                map[y * w + x] = 0.35;
            }
        }
        let regions = text_regions(&map, w, h, 0.3, 0.5, 1.6);
        assert_eq!(regions.len(), 1, "{regions:?}");
        let r = &regions[0];
        assert!(r.mean > 0.5);
        assert!(r.along.1.abs() < 1e-4, "level: {r:?}");
        // The dilated region is 21 x 5 (x 5-25, y 5-9); grown by 21*5*1.6/52 = 3.23 px each way.
        assert!((r.w - 27.46).abs() < 0.01 && (r.h - 11.46).abs() < 0.01, "{r:?}");
        let b = r.bbox;
        assert!((b.x0 * w as f32 - 1.77).abs() < 0.01, "{b:?}");
        assert!((b.x1 * w as f32 - 29.23).abs() < 0.01, "{b:?}");
        assert!(b.y0 * (h as f32) < 5.0 && b.y1 * (h as f32) > 9.0);
    }

    #[test]
    fn a_slanted_line_gets_a_turned_rectangle() {
        let (w, h) = (80, 40);
        let mut map = vec![0f32; w * h];
        // A band 5 px thick rising 1 px in 4 (14 degrees) from (10, 25) to (60, 12.5).
        for x in 10..60 {
            let y0 = 25.0 - (x - 10) as f32 / 4.0;
            for dy in 0..5 {
                map[(y0 as usize + dy) * w + x] = 0.9;
            }
        }
        let regions = text_regions(&map, w, h, 0.3, 0.5, 1.6);
        assert_eq!(regions.len(), 1, "{regions:?}");
        let r = &regions[0];
        let angle = r.along.1.atan2(r.along.0).to_degrees();
        assert!((angle + 14.0).abs() < 2.0, "{angle} degrees");
        // Grown by 5 px each way: far thinner than the level box around it.
        assert!(r.w > 50.0 && r.h < 18.0 && r.bbox.height() * h as f32 > 28.0, "{r:?}");
    }

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let characters: Vec<String> = ["a", "b", " "].iter().map(|s| s.to_string()).collect();
        // steps: a a blank a b space b  ->  "aab b"
        let best = [1, 1, 0, 1, 2, 3, 2];
        let mut probs = vec![0.0f32; best.len() * 4];
        for (t, &c) in best.iter().enumerate() {
            probs[t * 4 + c] = 0.8;
        }
        let (text, score) = ctc_greedy(&probs, 4, &characters);
        assert_eq!(text, "aab b");
        assert!((score - 0.8).abs() < 1e-6);
    }

    #[test]
    fn a_gap_where_a_space_is_likely_enough_is_one() {
        let characters: Vec<String> = ["a", "b", " "].iter().map(|s| s.to_string()).collect();
        // a, a blank step with the space second (0.3), b; then a blank with a faint space, a.
        let steps: [[f32; 4]; 5] = [
            [0.1, 0.9, 0.0, 0.0],
            [0.7, 0.0, 0.0, 0.3],
            [0.1, 0.0, 0.9, 0.0],
            [0.95, 0.0, 0.0, 0.05],
            [0.1, 0.9, 0.0, 0.0],
        ];
        let (text, _) = ctc_greedy(steps.as_flattened(), 4, &characters);
        assert_eq!(text, "a ba");
    }

    #[test]
    fn lines_on_one_row_read_left_to_right() {
        let b = |x0: f32, y0: f32| BBox {
            x0,
            y0,
            x1: x0 + 0.1,
            y1: y0 + 0.05,
        };
        let mut boxes = [b(0.5, 0.11), b(0.1, 0.5), b(0.1, 0.1)];
        boxes.sort_by(reading_order);
        assert_eq!(boxes, [b(0.1, 0.1), b(0.5, 0.11), b(0.1, 0.5)]);
    }
}
