//! What is written in a video: a text reader run over its frames at a reading rate, and the lines
//! it reads followed over time, so that a caption on screen for ten seconds is one line from its
//! first second to its last, not ten.

use std::ops::ControlFlow;
use std::path::Path;

use serde::Serialize;
use vtx_media::{FrameSize, Resize, Sampling};
use vtx_models::{ModelKind, OnnxTextReader, Registry, TextLine, TextReader};

use crate::{EngineError, Result};

/// The reader `make setup` installs.
pub const DEFAULT_READER: &str = "ppocr-v4";
/// Frames a second the reader sees: a search by a word lands on the second it appeared, and a
/// title shown for under a second may be missed. On two cores the detector takes about 0.1 s a
/// frame at 960 x 544 (docs/performance.md).
pub const DEFAULT_TEXT_FPS: f64 = 1.0;
/// Two readings are one line if their words are this alike (1 - edit distance over length) and
/// their boxes overlap: the same caption read with one letter wrong in one frame stays one line.
const SAME_TEXT: f64 = 0.8;
const SAME_PLACE: f32 = 0.3;
/// A frame whose every 16 x 16 cell is within this many grey levels (0-255, mean) of the frame
/// last read shows the same text: its reading is reused instead of run again. Compression noise
/// on a still shot moves a cell's mean by under 1; a line of text appearing, 16 px high, by tens.
const STILL_LEVELS: f32 = 4.0;
const CELL: usize = 16;

/// How [`ScreenReader`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TextOptions {
    pub reader: String,
    pub fps: f64,
}

impl Default for TextOptions {
    fn default() -> Self {
        Self {
            reader: DEFAULT_READER.into(),
            fps: DEFAULT_TEXT_FPS,
        }
    }
}

/// One line of text, for as long as it was on screen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreenLine {
    /// Seconds into the video: half a sampling step before the first frame it was read in, and
    /// half a step after the last (it appeared and went somewhere between two samples).
    pub start: f64,
    pub end: f64,
    /// Its best reading.
    pub text: String,
    pub score: f32,
    /// `[x0, y0, x1, y1]` in fractions of the frame, where it was first read.
    pub bbox: [f32; 4],
}

impl ScreenLine {
    fn to_stored(&self) -> vtx_index::TextSpan {
        vtx_index::TextSpan {
            start: self.start,
            end: self.end,
            text: self.text.clone(),
            score: self.score,
            bbox: self.bbox,
            words: Vec::new(),
        }
    }

    fn from_stored(span: &vtx_index::TextSpan) -> Self {
        Self {
            start: span.start,
            end: span.end,
            text: span.text.clone(),
            score: span.score,
            bbox: span.bbox,
        }
    }
}

/// What was read in one video.
#[derive(Debug, Clone, Serialize)]
pub struct TextReport {
    pub video: String,
    pub reader: String,
    /// Frames the reader saw, and their rate.
    pub frames: usize,
    pub fps: f64,
    /// Frames it read: the others were so like the frame last read that its reading stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames_read: Option<usize>,
    pub duration: f64,
    /// In time order.
    pub lines: Vec<ScreenLine>,
    /// What went wrong reading a damaged file (the lines cover the part that could be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl TextReport {
    /// As the catalog keeps it.
    fn to_stored(&self) -> vtx_index::VideoText {
        vtx_index::VideoText {
            source: vtx_index::TextSource::Screen,
            reader: self.reader.clone(),
            fps: self.fps,
            frames: self.frames as u32,
            language: None,
            lines: self.lines.iter().map(ScreenLine::to_stored).collect(),
        }
    }

    /// What the catalog holds for an indexed video at `path`.
    fn from_stored(path: &str, duration: f64, text: &vtx_index::VideoText) -> Self {
        Self {
            video: path.to_string(),
            reader: text.reader.clone(),
            frames: text.frames as usize,
            fps: text.fps,
            frames_read: None,
            duration,
            lines: text.lines.iter().map(ScreenLine::from_stored).collect(),
            warning: None,
        }
    }
}

/// A loaded text reader and its options, for the videos of a run one after another.
pub struct ScreenReader {
    reader: OnnxTextReader,
    name: String,
    options: TextOptions,
}

impl ScreenReader {
    /// Check `options` and load the reader they name.
    pub fn new(models: &Registry, options: &TextOptions) -> Result<Self> {
        if !(options.fps.is_finite() && options.fps > 0.0) {
            return Err(EngineError::invalid(
                "text fps",
                "must be a positive number of frames a second",
            ));
        }
        let manifest = models.get(&options.reader)?;
        if manifest.kind != ModelKind::Ocr {
            return Err(EngineError::Input(format!(
                "'{}' is not a text reader (kind \"ocr\"); `vtx models list` shows the installed models",
                manifest.name
            )));
        }
        Ok(Self {
            reader: OnnxTextReader::load(&manifest, models.options())?,
            name: manifest.name,
            options: options.clone(),
        })
    }

    /// Read the text of `video`; `progress` hears how far it has got (and the length the header
    /// claims) and may stop it, which gives `None`.
    pub fn run(
        &mut self,
        video: &Path,
        progress: &mut dyn FnMut(f64, Option<f64>) -> ControlFlow<()>,
    ) -> Result<Option<TextReport>> {
        let info = vtx_media::probe(video)?;
        let claimed = info.claimed_duration();
        let (width, height) = self.reader.frame_size(info.aspect());
        let half_step = 0.5 / self.options.fps;
        let mut lines = Lines::default();
        let (mut frames, mut frames_read) = (0, 0);
        let mut last: Option<(Vec<f32>, Vec<TextLine>)> = None;
        let reader = &mut self.reader;
        let (stats, stopped) = crate::passes::decode_ahead(
            video,
            Sampling::Fps(self.options.fps),
            FrameSize::new(width, height, Resize::Squash),
            2,
            &mut |t, picture| {
                let cells = cell_means(&picture, width as usize);
                let read = match last.take() {
                    Some((before, read)) if still(&before, &cells) => read,
                    _ => {
                        frames_read += 1;
                        reader.read(&picture, width, height)?
                    }
                };
                lines.add(t, half_step, read.clone());
                last = Some((cells, read));
                frames += 1;
                Ok(progress(t, claimed))
            },
        )?;
        if stopped {
            return Ok(None);
        }
        let warning = crate::ingest::warning_for(&stats, &info, "read the text of");
        let mut lines = lines.finish();
        for line in &mut lines {
            line.end = line.end.min(stats.duration.max(line.start));
        }
        Ok(Some(TextReport {
            video: crate::path_to_text(video).into_owned(),
            reader: self.name.clone(),
            frames,
            fps: self.options.fps,
            frames_read: Some(frames_read),
            duration: stats.duration,
            lines,
            warning,
        }))
    }
}

/// Lines under way: those read at the last moment are still open, the rest are done.
#[derive(Default)]
struct Lines {
    open: Vec<ScreenLine>,
    done: Vec<ScreenLine>,
}

impl Lines {
    /// The lines read at `t`, each continuing an open line it matches or starting one; open
    /// lines not read again end. Each line's span reaches `half_step` either side of its moments.
    fn add(&mut self, t: f64, half_step: f64, read: Vec<TextLine>) {
        let mut still = Vec::with_capacity(read.len());
        for line in read {
            let bbox = [line.bbox.x0, line.bbox.y0, line.bbox.x1, line.bbox.y1];
            match self.open.iter().position(|o| same_line(o, &line.text, &bbox)) {
                Some(i) => {
                    let mut o = self.open.swap_remove(i);
                    o.end = t + half_step;
                    if line.score > o.score {
                        o.text = line.text;
                        o.score = line.score;
                    }
                    still.push(o);
                }
                None => still.push(ScreenLine {
                    start: (t - half_step).max(0.0),
                    end: t + half_step,
                    text: line.text,
                    score: line.score,
                    bbox,
                }),
            }
        }
        self.done.append(&mut self.open);
        self.open = still;
    }

    fn finish(mut self) -> Vec<ScreenLine> {
        self.done.append(&mut self.open);
        self.done
            .sort_by(|a, b| a.start.total_cmp(&b.start).then(a.bbox[1].total_cmp(&b.bbox[1])));
        self.done
    }
}

/// The mean grey level of each `CELL` x `CELL` block of an RGB24 picture `width` wide.
fn cell_means(picture: &[u8], width: usize) -> Vec<f32> {
    let height = picture.len() / (3 * width);
    let (columns, rows) = (width.div_ceil(CELL), height.div_ceil(CELL));
    let mut sums = vec![0u32; columns * rows];
    let mut counts = vec![0u32; columns * rows];
    for (y, row) in picture.chunks_exact(3 * width).enumerate() {
        for (x, px) in row.chunks_exact(3).enumerate() {
            let cell = (y / CELL) * columns + x / CELL;
            sums[cell] += u32::from(px[0]) + u32::from(px[1]) + u32::from(px[2]);
            counts[cell] += 3;
        }
    }
    sums.iter()
        .zip(&counts)
        .map(|(&s, &n)| s as f32 / n.max(1) as f32)
        .collect()
}

/// Whether no cell moved by `STILL_LEVELS` or more between two pictures.
fn still(before: &[f32], now: &[f32]) -> bool {
    before.len() == now.len() && before.iter().zip(now).all(|(a, b)| (a - b).abs() < STILL_LEVELS)
}

fn same_line(open: &ScreenLine, text: &str, bbox: &[f32; 4]) -> bool {
    let (a, b) = (normalised(&open.text), normalised(text));
    a == b || (similarity(&a, &b) >= SAME_TEXT && overlap(&open.bbox, bbox) >= SAME_PLACE)
}

/// Lower case, letters and digits only: what a reading of the same words keeps between frames.
fn normalised(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// 1 - Levenshtein distance over the longer length.
fn similarity(a: &[char], b: &[char]) -> f64 {
    let longer = a.len().max(b.len());
    if longer == 0 {
        return 1.0;
    }
    1.0 - vtx_core::edit_distance(a, b) as f64 / longer as f64
}

/// Intersection over union of two `[x0, y0, x1, y1]` boxes.
fn overlap(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - w * h;
    if union > 0.0 {
        w * h / union
    } else {
        0.0
    }
}

impl crate::found_text::FindsText for ScreenReader {
    type Found = TextReport;
    const SOURCE: vtx_index::TextSource = vtx_index::TextSource::Screen;
    const DOING: &'static str = "reading the text of";

    fn model(&self) -> &str {
        &self.name
    }

    fn find(&mut self, video: &Path, progress: &mut crate::passes::Heard<'_>) -> Result<Option<TextReport>> {
        self.run(video, progress)
    }

    fn to_stored(found: &TextReport) -> vtx_index::VideoText {
        found.to_stored()
    }

    fn from_stored(path: &str, duration: f64, stored: &vtx_index::VideoText) -> TextReport {
        TextReport::from_stored(path, duration, stored)
    }

    fn count(found: &TextReport) -> usize {
        found.lines.len()
    }
}

impl crate::Engine {
    /// A text reader loaded from this engine's models.
    pub fn screen_reader(&self, options: &TextOptions) -> Result<ScreenReader> {
        ScreenReader::new(&self.registry, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtx_models::BBox;

    fn read(text: &str, x0: f32) -> TextLine {
        TextLine {
            text: text.into(),
            score: 0.9,
            bbox: BBox {
                x0,
                y0: 0.8,
                x1: x0 + 0.3,
                y1: 0.9,
            },
        }
    }

    #[test]
    fn a_small_caption_appearing_is_a_change_and_noise_is_not() {
        let (w, h) = (64usize, 32usize);
        let grey = vec![120u8; w * h * 3];
        let mut noisy = grey.clone();
        for (i, v) in noisy.iter_mut().enumerate() {
            *v = v.wrapping_add((i % 3) as u8);
        }
        assert!(still(&cell_means(&grey, w), &cell_means(&noisy, w)));
        // A 6 x 4 patch of white strokes in one cell.
        let mut captioned = grey.clone();
        for y in 20..24 {
            for x in 40..46 {
                captioned[(y * w + x) * 3..(y * w + x) * 3 + 3].fill(255);
            }
        }
        assert!(!still(&cell_means(&grey, w), &cell_means(&captioned, w)));
    }

    #[test]
    fn a_line_read_again_continues_and_one_misread_letter_does_not_split_it() {
        let mut lines = Lines::default();
        lines.add(0.0, 0.5, vec![read("Budget meeting", 0.1)]);
        lines.add(1.0, 0.5, vec![read("Budqet meeting", 0.1), read("archive 17", 0.6)]);
        lines.add(2.0, 0.5, vec![read("BUDGET MEETING", 0.1)]);
        lines.add(3.0, 0.5, vec![]);
        lines.add(4.0, 0.5, vec![read("archive 17", 0.6)]);
        let finished = lines.finish();
        let spans: Vec<(f64, f64, &str)> = finished.iter().map(|l| (l.start, l.end, l.text.as_str())).collect();
        assert_eq!(
            spans,
            [
                (0.0, 2.5, "Budget meeting"),
                (0.5, 1.5, "archive 17"),
                (3.5, 4.5, "archive 17")
            ]
        );
    }
}
