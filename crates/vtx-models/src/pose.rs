//! Pose models described by a `[pose]` manifest section: a picture of one person to the 17 body
//! keypoints of COCO. As with detectors, the graph gives raw heads and vtx decodes them.

use ort::session::Session;
use serde::{Deserialize, Serialize};

use crate::manifest::{Manifest, PoseLayout, PoseSpec, Preprocess};
use crate::runtime::{load_session, rt_err, run_on_frames};
use crate::{ModelError, PoseEstimator, Result, RuntimeOptions};

/// The keypoints, in the order pose models give them (COCO's).
pub const KEYPOINTS: [&str; 17] = [
    "nose",
    "left eye",
    "right eye",
    "left ear",
    "right ear",
    "left shoulder",
    "right shoulder",
    "left elbow",
    "right elbow",
    "left wrist",
    "right wrist",
    "left hip",
    "right hip",
    "left knee",
    "right knee",
    "left ankle",
    "right ankle",
];

/// One body keypoint: where it is, in fractions of the picture, and how sure the model is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    pub score: f32,
}

/// One person's keypoints, in [`KEYPOINTS`] order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    pub keypoints: Vec<Keypoint>,
}

pub struct OnnxPose {
    session: Session,
    spec: PoseSpec,
}

impl OnnxPose {
    pub fn load(manifest: &Manifest, options: &RuntimeOptions) -> Result<Self> {
        let spec = manifest.section(&manifest.pose, "pose")?;
        let session = load_session(&manifest.file(&spec.onnx), options, manifest.device)?;
        Ok(Self { session, spec })
    }

    pub fn spec(&self) -> &PoseSpec {
        &self.spec
    }

    /// Run the bare session `rounds` times on one batch of `pictures`: ONNX Runtime's own
    /// throughput on this graph and batch, the ceiling for [`PoseEstimator::estimate`].
    pub fn run_raw(&mut self, pictures: &[&[u8]], rounds: usize) -> Result<()> {
        crate::runtime::run_raw(
            &mut self.session,
            &self.spec.preprocess,
            &self.spec.input,
            pictures,
            rounds,
        )
    }
}

impl PoseEstimator for OnnxPose {
    fn preprocess(&self) -> &Preprocess {
        &self.spec.preprocess
    }

    fn batch_size(&self) -> usize {
        self.spec.batch
    }

    fn min_score(&self) -> f32 {
        self.spec.min_score
    }

    fn estimate(&mut self, pictures: &[&[u8]]) -> Result<Vec<Pose>> {
        if pictures.is_empty() {
            return Ok(Vec::new());
        }
        let spec = &self.spec;
        let outputs = run_on_frames(&mut self.session, &spec.preprocess, &spec.input, pictures)?;
        let head = |name: &str| {
            let (shape, values) = outputs
                .get(name)
                .ok_or_else(|| ModelError::Manifest(format!("the graph has no output named '{name}'")))?
                .try_extract_tensor::<f32>()
                .map_err(rt_err)?;
            Ok::<_, ModelError>((shape.to_vec(), values))
        };
        let (shape, keypoints) = head(&spec.keypoints)?;
        let heads = MovenetHeads {
            grid: Grid::of(&shape, pictures.len(), KEYPOINTS.len())?,
            keypoints,
            centers: head(&spec.centers)?.1,
            regress: head(&spec.regress)?.1,
            offsets: head(&spec.offsets)?.1,
        };
        match spec.layout {
            PoseLayout::Movenet => heads
                .check()
                .map(|()| (0..pictures.len()).map(|i| heads.decode(i)).collect()),
        }
    }
}

/// The cells of a head: `[N, height, width, channels]`.
#[derive(Debug, Clone, Copy)]
struct Grid {
    height: usize,
    width: usize,
}

impl Grid {
    fn of(shape: &[i64], pictures: usize, channels: usize) -> Result<Self> {
        match shape {
            &[n, h, w, c] if n as usize == pictures && c as usize == channels && h > 0 && w > 0 => Ok(Self {
                height: h as usize,
                width: w as usize,
            }),
            _ => Err(ModelError::Input(format!(
                "pose keypoints of shape {shape:?}, expected [{pictures}, H, W, {channels}]"
            ))),
        }
    }

    fn cells(&self) -> usize {
        self.height * self.width
    }
}

/// MoveNet's four heads for a batch, as the graph gives them (channels last).
struct MovenetHeads<'a> {
    grid: Grid,
    keypoints: &'a [f32],
    centers: &'a [f32],
    regress: &'a [f32],
    offsets: &'a [f32],
}

/// MoveNet weighs each candidate cell by 1 / (its distance to a guess, in cells, + this).
const DISTANCE_BIAS: f32 = 1.8;

impl MovenetHeads<'_> {
    fn check(&self) -> Result<()> {
        let cells = self.keypoints.len() / KEYPOINTS.len();
        let fits = self.centers.len() == cells
            && self.regress.len() == 2 * self.keypoints.len()
            && self.offsets.len() == 2 * self.keypoints.len();
        match fits {
            true => Ok(()),
            false => Err(ModelError::Input(
                "pose heads of mismatched sizes: centers need 1 channel, regress and offsets 34".into(),
            )),
        }
    }

    /// Picture `n`'s pose: the person nearest the middle (the centre heatmap weighed by
    /// closeness to the middle), each keypoint guessed from that centre, then taken at the
    /// keypoint heatmap's best cell weighed by closeness to the guess, refined by its offset.
    fn decode(&self, n: usize) -> Pose {
        let Grid { height, width } = self.grid;
        let k = KEYPOINTS.len();
        let cells = self.grid.cells();
        let distance =
            |y: usize, x: usize, to: (f32, f32)| ((y as f32 - to.0).powi(2) + (x as f32 - to.1).powi(2)).sqrt();
        let best_cell = |score: &dyn Fn(usize, usize) -> f32| {
            let mut best = (0, 0, f32::NEG_INFINITY);
            for y in 0..height {
                for x in 0..width {
                    let s = score(y, x);
                    if s > best.2 {
                        best = (y, x, s);
                    }
                }
            }
            (best.0, best.1)
        };
        let middle = ((height / 2) as f32, (width / 2) as f32);
        let centers = &self.centers[n * cells..(n + 1) * cells];
        let (cy, cx) = best_cell(&|y, x| centers[y * width + x] / (distance(y, x, middle) + DISTANCE_BIAS));
        let cell = |y: usize, x: usize| (n * cells + y * width + x) * k;
        let keypoints = (0..k)
            .map(|j| {
                let at = 2 * (cell(cy, cx) + j);
                let guess = (cy as f32 + self.regress[at], cx as f32 + self.regress[at + 1]);
                let heat = |y: usize, x: usize| self.keypoints[cell(y, x) + j];
                let (ky, kx) = best_cell(&|y, x| heat(y, x) / (distance(y, x, guess) + DISTANCE_BIAS));
                let off = 2 * (cell(ky, kx) + j);
                Keypoint {
                    x: (kx as f32 + self.offsets[off + 1]) / width as f32,
                    y: (ky as f32 + self.offsets[off]) / height as f32,
                    score: heat(ky, kx),
                }
            })
            .collect();
        Pose { keypoints }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_person_nearest_the_middle_is_decoded_with_offsets() {
        // A 4x4 grid, one keypoint channel set of 17 (only the nose is planted): two person
        // centres, the stronger one in a corner and a weaker one near the middle.
        let (h, w, k) = (4usize, 4usize, KEYPOINTS.len());
        let mut keypoints = vec![0.0f32; h * w * k];
        let mut centers = vec![0.0f32; h * w];
        let mut regress = vec![0.0f32; h * w * 2 * k];
        let mut offsets = vec![0.0f32; h * w * 2 * k];
        centers[0] = 0.8;
        centers[2 * w + 1] = 0.5;
        // From the middle centre (2, 1), the nose is guessed one cell up and one right: (1, 2).
        let at = (2 * w + 1) * 2 * k;
        regress[at] = -1.0;
        regress[at + 1] = 1.0;
        // Two nose peaks: a stronger one far from the guess and one at the guess.
        keypoints[(3 * w + 3) * k] = 0.9;
        keypoints[(w + 2) * k] = 0.7;
        let off = (w + 2) * 2 * k;
        offsets[off] = 0.25;
        offsets[off + 1] = -0.5;
        let heads = MovenetHeads {
            grid: Grid { height: h, width: w },
            keypoints: &keypoints,
            centers: &centers,
            regress: &regress,
            offsets: &offsets,
        };
        heads.check().unwrap();
        let nose = heads.decode(0).keypoints[0];
        assert_eq!(
            nose,
            Keypoint {
                x: 1.5 / 4.0,
                y: 1.25 / 4.0,
                score: 0.7
            }
        );
    }

    #[test]
    fn heads_that_do_not_fit_are_an_error() {
        assert!(Grid::of(&[1, 48, 48, 16], 1, 17).is_err());
        assert!(Grid::of(&[2, 48, 48, 17], 1, 17).is_err());
        let heads = MovenetHeads {
            grid: Grid { height: 1, width: 1 },
            keypoints: &[0.0; 17],
            centers: &[0.0; 1],
            regress: &[0.0; 17],
            offsets: &[0.0; 34],
        };
        assert!(heads.check().is_err());
    }
}
