//! Object detectors described by a `[detector]` manifest section: frames to labelled boxes.
//!
//! The graph gives raw heads and vtx decodes them here, so the peak picking, thresholds and
//! overlap suppression are the same for every detector of a layout, and a graph exported with
//! its own post-processing baked in is not needed.

use ort::session::Session;
use serde::{Deserialize, Serialize};

use crate::manifest::{DetectorLayout, DetectorSpec, Manifest, Preprocess};
use crate::runtime::{load_session, rt_err, run_on_frames};
use crate::{ModelError, ObjectDetector, Result, RuntimeOptions};

/// A box in fractions of the frame, `x0 <= x1` and `y0 <= y1` (it may reach a little outside
/// 0..1 where the object does).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl BBox {
    pub fn width(&self) -> f32 {
        (self.x1 - self.x0).max(0.0)
    }
    pub fn height(&self) -> f32 {
        (self.y1 - self.y0).max(0.0)
    }
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }
    pub fn centre(&self) -> (f32, f32) {
        ((self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0)
    }

    /// Intersection over union; 0 for boxes that do not touch.
    pub fn iou(&self, other: &BBox) -> f32 {
        let w = (self.x1.min(other.x1) - self.x0.max(other.x0)).max(0.0);
        let h = (self.y1.min(other.y1) - self.y0.max(other.y0)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

/// One object found in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Index into the detector's labels.
    pub class: usize,
    pub score: f32,
    pub bbox: BBox,
}

/// How raw heads become detections: the peaks to consider, the score to keep, the overlap at
/// which a weaker box of the same class is dropped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeOptions {
    pub max_peaks: usize,
    pub min_score: f32,
    /// `None` keeps every peak (the raw decoding, as the reference graph gives it).
    pub iou: Option<f32>,
}

pub struct OnnxDetector {
    session: Session,
    spec: DetectorSpec,
    labels: Vec<String>,
}

impl OnnxDetector {
    pub fn load(manifest: &Manifest, options: &RuntimeOptions) -> Result<Self> {
        let spec = manifest.section(&manifest.detector, "detector")?;
        let labels = manifest.labels()?;
        let session = load_session(&manifest.file(&spec.onnx), options, manifest.device)?;
        Ok(Self { session, spec, labels })
    }

    pub fn spec(&self) -> &DetectorSpec {
        &self.spec
    }

    /// Run the bare session `rounds` times on one batch of `frames`: ONNX Runtime's own
    /// throughput on this graph and batch, the ceiling for [`ObjectDetector::detect`].
    pub fn run_raw(&mut self, frames: &[&[u8]], rounds: usize) -> Result<()> {
        crate::runtime::run_raw(
            &mut self.session,
            &self.spec.preprocess,
            &self.spec.input,
            frames,
            rounds,
        )
    }

    /// Keep detections down to `score` (the manifest's `min_score` otherwise).
    pub fn set_min_score(&mut self, score: f32) {
        self.spec.min_score = score;
    }

    /// Detections with explicit decoding options, for checks against a reference decoding.
    pub fn detect_with(&mut self, frames: &[&[u8]], decode: DecodeOptions) -> Result<Vec<Vec<Detection>>> {
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        let outputs = run_on_frames(&mut self.session, &self.spec.preprocess, &self.spec.input, frames)?;
        let head = |name: &str| {
            outputs
                .get(name)
                .ok_or_else(|| ModelError::Manifest(format!("the graph has no output named '{name}'")))?
                .try_extract_tensor::<f32>()
                .map_err(rt_err)
        };
        let (score_shape, scores) = head(&self.spec.scores)?;
        let (box_shape, boxes) = head(&self.spec.boxes)?;
        let (input_w, input_h) = (self.spec.preprocess.width(), self.spec.preprocess.height());
        match self.spec.layout {
            DetectorLayout::Centernet => {
                let grid = CenternetGrid::new(&score_shape[..], &box_shape[..], frames.len(), self.labels.len())?;
                Ok((0..frames.len())
                    .map(|i| grid.decode(i, scores, boxes, (input_w, input_h), decode))
                    .collect())
            }
            DetectorLayout::Yolo => {
                let anchors = YoloAnchors::new(&score_shape[..], frames.len(), self.labels.len())?;
                Ok((0..frames.len())
                    .map(|i| anchors.decode(i, scores, (input_w, input_h), decode))
                    .collect())
            }
        }
    }

    fn decode_options(&self) -> DecodeOptions {
        DecodeOptions {
            max_peaks: self.spec.max_peaks,
            min_score: self.spec.min_score,
            iou: Some(self.spec.iou),
        }
    }
}

impl ObjectDetector for OnnxDetector {
    fn preprocess(&self) -> &Preprocess {
        &self.spec.preprocess
    }

    fn labels(&self) -> &[String] {
        &self.labels
    }

    fn batch_size(&self) -> usize {
        self.spec.batch
    }

    fn detect(&mut self, frames: &[&[u8]]) -> Result<Vec<Vec<Detection>>> {
        let options = self.decode_options();
        self.detect_with(frames, options)
    }
}

/// A CenterNet's heads: per-class centre scores `[N, H, W, classes]` (after a sigmoid) and per-cell
/// distances to the box's left, top, right and bottom edges `[N, H, W, 4]`, in input pixels.
struct CenternetGrid {
    height: usize,
    width: usize,
    classes: usize,
}

impl CenternetGrid {
    fn new(scores: &[i64], boxes: &[i64], frames: usize, labels: usize) -> Result<Self> {
        let bad = |what: String| Err(ModelError::Manifest(format!("a centernet detector {what}")));
        let [n, h, w, c] = scores[..] else {
            return bad(format!("needs scores of shape [N, H, W, classes], got {scores:?}"));
        };
        if boxes != [n, h, w, 4] {
            return bad(format!(
                "needs boxes of shape [N, H, W, 4] beside scores {scores:?}, got {boxes:?}"
            ));
        }
        if n as usize != frames || c as usize != labels {
            return bad(format!(
                "gave {n} frames of {c} classes for {frames} frames and {labels} labels"
            ));
        }
        Ok(Self {
            height: h as usize,
            width: w as usize,
            classes: c as usize,
        })
    }

    /// Frame `frame`'s detections: cells that are the highest of their 3x3 neighbourhood in their
    /// class, the best `max_peaks` of those, then the score threshold and per-class suppression.
    fn decode(
        &self,
        frame: usize,
        scores: &[f32],
        boxes: &[f32],
        (input_w, input_h): (usize, usize),
        options: DecodeOptions,
    ) -> Vec<Detection> {
        let (h, w, c) = (self.height, self.width, self.classes);
        let scores = &scores[frame * h * w * c..(frame + 1) * h * w * c];
        let boxes = &boxes[frame * h * w * 4..(frame + 1) * h * w * 4];
        let at = |y: usize, x: usize, class: usize| scores[(y * w + x) * c + class];
        let mut peaks: Vec<(f32, usize, usize, usize)> = Vec::new();
        for y in 0..h {
            for x in 0..w {
                for class in 0..c {
                    let s = at(y, x, class);
                    if s < options.min_score || s <= 0.0 {
                        continue;
                    }
                    let is_peak = (y.saturating_sub(1)..(y + 2).min(h))
                        .all(|ny| (x.saturating_sub(1)..(x + 2).min(w)).all(|nx| at(ny, nx, class) <= s));
                    if is_peak {
                        peaks.push((s, y, x, class));
                    }
                }
            }
        }
        // Best first; ties in flattened order, as a top-k over the flattened map gives them.
        peaks.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2, a.3).cmp(&(b.1, b.2, b.3))));
        peaks.truncate(options.max_peaks);
        let (stride_x, stride_y) = (input_w as f32 / w as f32, input_h as f32 / h as f32);
        let detections = peaks.into_iter().map(|(score, y, x, class)| {
            let d = &boxes[(y * w + x) * 4..(y * w + x) * 4 + 4];
            let (cx, cy) = (x as f32 * stride_x, y as f32 * stride_y);
            Detection {
                class,
                score,
                bbox: BBox {
                    x0: (cx - d[0]) / input_w as f32,
                    y0: (cy - d[1]) / input_h as f32,
                    x1: (cx + d[2]) / input_w as f32,
                    y1: (cy + d[3]) / input_h as f32,
                },
            }
        });
        match options.iou {
            Some(iou) => suppress(detections, iou),
            None => detections.collect(),
        }
    }
}

/// A YOLOv8-style output: `[N, 4 + classes, anchors]`, rows first (each row one quantity over
/// all anchors).
struct YoloAnchors {
    classes: usize,
    anchors: usize,
}

impl YoloAnchors {
    fn new(shape: &[i64], frames: usize, labels: usize) -> Result<Self> {
        match shape[..] {
            [n, rows, anchors] if n as usize == frames && rows as usize == 4 + labels => Ok(Self {
                classes: labels,
                anchors: anchors as usize,
            }),
            _ => Err(ModelError::Manifest(format!(
                "a yolo detector needs an output of shape [{frames}, 4 + {labels} classes, anchors], got {shape:?}"
            ))),
        }
    }

    /// Frame `frame`'s detections: each anchor's best class, the best `max_peaks` of those over
    /// the threshold, then per-class suppression.
    fn decode(
        &self,
        frame: usize,
        data: &[f32],
        (input_w, input_h): (usize, usize),
        options: DecodeOptions,
    ) -> Vec<Detection> {
        let (rows, a) = (4 + self.classes, self.anchors);
        let data = &data[frame * rows * a..(frame + 1) * rows * a];
        let at = |row: usize, anchor: usize| data[row * a + anchor];
        let mut found: Vec<Detection> = (0..a)
            .filter_map(|anchor| {
                let (class, score) = (0..self.classes)
                    .map(|c| (c, at(4 + c, anchor)))
                    .max_by(|x, y| x.1.total_cmp(&y.1))?;
                if score < options.min_score || score <= 0.0 {
                    return None;
                }
                let (cx, cy, w, h) = (at(0, anchor), at(1, anchor), at(2, anchor), at(3, anchor));
                Some(Detection {
                    class,
                    score,
                    bbox: BBox {
                        x0: (cx - w / 2.0) / input_w as f32,
                        y0: (cy - h / 2.0) / input_h as f32,
                        x1: (cx + w / 2.0) / input_w as f32,
                        y1: (cy + h / 2.0) / input_h as f32,
                    },
                })
            })
            .collect();
        found.sort_by(|x, y| y.score.total_cmp(&x.score));
        found.truncate(options.max_peaks);
        match options.iou {
            Some(iou) => suppress(found.into_iter(), iou),
            None => found,
        }
    }
}

/// Greedy non-maximum suppression within each class: a box overlapping a stronger one of its
/// class by more than `iou` is dropped. `detections` come best first.
fn suppress(detections: impl Iterator<Item = Detection>, iou: f32) -> Vec<Detection> {
    let mut kept: Vec<Detection> = Vec::new();
    for d in detections {
        if kept.iter().all(|k| k.class != d.class || k.bbox.iou(&d.bbox) <= iou) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(h: usize, w: usize, c: usize) -> CenternetGrid {
        CenternetGrid {
            height: h,
            width: w,
            classes: c,
        }
    }

    const RAW: DecodeOptions = DecodeOptions {
        max_peaks: 100,
        min_score: 0.0,
        iou: None,
    };

    #[test]
    fn peaks_are_local_maxima_per_class_with_boxes_around_their_cell() {
        // 4x4 cells, 2 classes, input 16x16 (stride 4).
        let (h, w, c) = (4, 4, 2);
        let mut scores = vec![0f32; h * w * c];
        let mut boxes = vec![0f32; h * w * 4];
        let mut set = |y: usize, x: usize, class: usize, s: f32| scores[(y * w + x) * c + class] = s;
        set(1, 1, 0, 0.9);
        set(1, 2, 0, 0.5); // beside a stronger one of its class: not a peak
        set(1, 2, 1, 0.4); // the same cell in another class is its own peak
        set(3, 3, 0, 0.7);
        boxes[(w + 1) * 4..(w + 1) * 4 + 4].copy_from_slice(&[2.0, 4.0, 6.0, 8.0]);
        let found = grid(h, w, c).decode(0, &scores, &boxes, (16, 16), RAW);
        let summary: Vec<(usize, f32)> = found.iter().map(|d| (d.class, d.score)).collect();
        assert_eq!(summary, [(0, 0.9), (0, 0.7), (1, 0.4)]);
        // Cell (1, 1) is at input pixel (4, 4): the box reaches 2 left, 4 up, 6 right, 8 down.
        assert_eq!(
            found[0].bbox,
            BBox {
                x0: 2.0 / 16.0,
                y0: 0.0,
                x1: 10.0 / 16.0,
                y1: 12.0 / 16.0
            }
        );
        let strict = DecodeOptions {
            min_score: 0.6,
            max_peaks: 1,
            ..RAW
        };
        assert_eq!(grid(h, w, c).decode(0, &scores, &boxes, (16, 16), strict).len(), 1);
    }

    #[test]
    fn suppression_drops_overlaps_of_one_class_only() {
        let b = |x0: f32, class: usize, score: f32| Detection {
            class,
            score,
            bbox: BBox {
                x0,
                y0: 0.0,
                x1: x0 + 0.4,
                y1: 0.4,
            },
        };
        let kept = suppress(
            [b(0.0, 0, 0.9), b(0.05, 0, 0.8), b(0.05, 1, 0.7), b(0.5, 0, 0.6)].into_iter(),
            0.5,
        );
        let scores: Vec<f32> = kept.iter().map(|d| d.score).collect();
        assert_eq!(scores, [0.9, 0.7, 0.6]);
        assert!((b(0.0, 0, 1.0).bbox.iou(&b(0.2, 0, 1.0).bbox) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(b(0.0, 0, 1.0).bbox.iou(&b(0.5, 0, 1.0).bbox), 0.0);
    }
}
