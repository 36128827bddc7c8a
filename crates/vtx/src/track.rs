//! Detections followed over time: a small SORT-style tracker with ByteTrack's second pass.
//!
//! Each track predicts where its box is now from its smoothed velocity (constant velocity, an
//! alpha-beta filter rather than SORT's full Kalman filter: at 5 frames a second the box itself is
//! the noisiest part, and the filter's extra state buys little). Detections are matched to
//! predictions of the same class by intersection over union, greedily from the best pair down.
//! Confident detections match first and may start tracks; weak ones may only continue a track
//! that the confident ones left unmatched, which carries tracks through partial occlusion
//! without letting noise start new ones. docs/design.md says why no crate was used.

use serde::Serialize;
use vtx_models::{BBox, Detection};

use crate::actions::{read_actions, ActionSpan};
use crate::posture::Posture;

/// The label whose tracks get actions.
pub const PERSON: &str = "person";

/// How detections are tied into tracks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerOptions {
    /// Least overlap of a detection with a track's predicted box for it to continue the track.
    pub match_iou: f32,
    /// Least score for a detection to start a track; weaker ones only continue one.
    pub birth_score: f32,
    /// A track not seen for longer than this (seconds) has ended.
    pub max_gap: f64,
    /// A track needs this many detections to be reported.
    pub min_hits: usize,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        Self {
            match_iou: 0.2,
            birth_score: 0.3,
            max_gap: 1.0,
            min_hits: 3,
        }
    }
}

/// Where a track was at one sampled moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrackBox {
    pub t: f64,
    #[serde(flatten)]
    pub bbox: BBox,
    pub score: f32,
    /// A person's posture from their pose, where they were tall enough for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posture: Option<Posture>,
}

/// One detection of a frame, with the posture its pose showed (people tall enough only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub detection: Detection,
    pub posture: Option<Posture>,
}

impl From<Detection> for Seen {
    fn from(detection: Detection) -> Self {
        Self {
            detection,
            posture: None,
        }
    }
}

impl Seen {
    fn at(&self, t: f64) -> TrackBox {
        TrackBox {
            t,
            bbox: self.detection.bbox,
            score: self.detection.score,
            posture: self.posture,
        }
    }
}

/// One object followed over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Track {
    /// Unique within its video, in the order tracks started.
    pub id: u32,
    pub label: String,
    pub start: f64,
    pub end: f64,
    /// Mean detection score.
    pub score: f32,
    /// Net displacement of the box centre per second, in frame widths (both axes: a move down
    /// of one frame height counts `height / width`), right and down positive.
    pub velocity: (f32, f32),
    /// Length of `velocity`.
    pub speed: f32,
    /// `velocity` in a word: still, left, right, up, down, or a diagonal such as up-right.
    pub heading: &'static str,
    /// For people: what they do, span by span (`vtx::actions`).
    pub actions: Vec<ActionSpan>,
    pub boxes: Vec<TrackBox>,
}

impl Track {
    pub(crate) fn to_stored(&self) -> vtx_index::ObjectTrack {
        vtx_index::ObjectTrack {
            id: self.id,
            label: self.label.clone(),
            start: self.start,
            end: self.end,
            score: self.score,
            velocity: self.velocity,
            heading: self.heading.to_string(),
            actions: self
                .actions
                .iter()
                .map(|a| (a.action.to_string(), a.start, a.end))
                .collect(),
            boxes: self
                .boxes
                .iter()
                .map(|b| vtx_index::TrackPoint {
                    t: b.t,
                    bbox: [b.bbox.x0, b.bbox.y0, b.bbox.x1, b.bbox.y1],
                    score: b.score,
                })
                .collect(),
        }
    }

    pub(crate) fn from_stored(stored: &vtx_index::ObjectTrack) -> Self {
        Self {
            id: stored.id,
            label: stored.label.clone(),
            start: stored.start,
            end: stored.end,
            score: stored.score,
            velocity: stored.velocity,
            speed: stored.velocity.0.hypot(stored.velocity.1),
            heading: heading(stored.velocity),
            actions: stored
                .actions
                .iter()
                .filter_map(|(name, start, end)| {
                    let action = crate::actions::ACTIONS.iter().find(|a| *a == name)?;
                    Some(ActionSpan {
                        action,
                        start: *start,
                        end: *end,
                    })
                })
                .collect(),
            boxes: stored
                .boxes
                .iter()
                .map(|b| {
                    let [x0, y0, x1, y1] = b.bbox;
                    TrackBox {
                        t: b.t,
                        bbox: BBox { x0, y0, x1, y1 },
                        score: b.score,
                        posture: None,
                    }
                })
                .collect(),
        }
    }
}

/// Slower than this (frame widths a second) is still: a box's own jitter.
const STILL_SPEED: f32 = 0.02;

fn heading((vx, vy): (f32, f32)) -> &'static str {
    if vx.hypot(vy) < STILL_SPEED {
        return "still";
    }
    // Within about 22 degrees of an axis is that axis; between, a diagonal.
    let (horizontal, vertical) = (vx.abs() > 0.41 * vy.abs(), vy.abs() > 0.41 * vx.abs());
    match (horizontal.then_some(vx > 0.0), vertical.then_some(vy > 0.0)) {
        (Some(true), None) => "right",
        (Some(false), None) => "left",
        (None, Some(true)) => "down",
        (None, Some(false)) => "up",
        (Some(true), Some(true)) => "down-right",
        (Some(false), Some(true)) => "down-left",
        (Some(true), Some(false)) => "up-right",
        (Some(false), Some(false)) => "up-left",
        (None, None) => "still",
    }
}

struct Live {
    id: u32,
    class: usize,
    boxes: Vec<TrackBox>,
    /// Smoothed centre velocity in box units (fractions of the frame) per second.
    velocity: (f32, f32),
}

impl Live {
    fn last(&self) -> &TrackBox {
        self.boxes.last().expect("a track starts with a box")
    }

    fn predicted(&self, t: f64) -> BBox {
        let last = self.last();
        let dt = (t - last.t) as f32;
        let (dx, dy) = (self.velocity.0 * dt, self.velocity.1 * dt);
        BBox {
            x0: last.bbox.x0 + dx,
            y0: last.bbox.y0 + dy,
            x1: last.bbox.x1 + dx,
            y1: last.bbox.y1 + dy,
        }
    }

    fn extend(&mut self, t: f64, seen: &Seen) {
        let d = &seen.detection;
        let last = *self.last();
        let dt = (t - last.t) as f32;
        if dt > 0.0 {
            let (cx, cy) = d.bbox.centre();
            let (lx, ly) = last.bbox.centre();
            let measured = ((cx - lx) / dt, (cy - ly) / dt);
            self.velocity = if self.boxes.len() == 1 {
                measured
            } else {
                (
                    VELOCITY_GAIN * measured.0 + (1.0 - VELOCITY_GAIN) * self.velocity.0,
                    VELOCITY_GAIN * measured.1 + (1.0 - VELOCITY_GAIN) * self.velocity.1,
                )
            };
        }
        self.boxes.push(seen.at(t));
    }
}

/// How much of each newly measured velocity the smoothed one takes.
const VELOCITY_GAIN: f32 = 0.5;

/// Follows detections frame by frame; [`Tracker::finish`] gives the tracks.
pub struct Tracker {
    options: TrackerOptions,
    live: Vec<Live>,
    ended: Vec<Live>,
    next_id: u32,
}

impl Tracker {
    pub fn new(options: TrackerOptions) -> Self {
        Self {
            options,
            live: Vec::new(),
            ended: Vec::new(),
            next_id: 1,
        }
    }

    /// The detections of the frame at `t` seconds (frames in time order).
    pub fn update(&mut self, t: f64, detections: &[Seen]) {
        let max_gap = self.options.max_gap;
        let (live, gone): (Vec<Live>, Vec<Live>) = std::mem::take(&mut self.live)
            .into_iter()
            .partition(|track| t - track.last().t <= max_gap + 1e-9);
        self.live = live;
        self.ended.extend(gone);

        let (strong, weak): (Vec<&Seen>, Vec<&Seen>) = detections
            .iter()
            .partition(|d| d.detection.score >= self.options.birth_score);
        let mut free: Vec<bool> = vec![true; self.live.len()];
        let unmatched_strong = self.associate(t, &strong, &mut free);
        self.associate(t, &weak, &mut free);
        for d in unmatched_strong {
            self.live.push(Live {
                id: self.next_id,
                class: d.detection.class,
                boxes: vec![d.at(t)],
                velocity: (0.0, 0.0),
            });
            self.next_id += 1;
        }
    }

    /// Match `detections` to the tracks still `free`, best overlap first; returns the unmatched.
    fn associate<'d>(&mut self, t: f64, detections: &[&'d Seen], free: &mut [bool]) -> Vec<&'d Seen> {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, track) in self.live.iter().enumerate() {
            if !free[ti] {
                continue;
            }
            let predicted = track.predicted(t);
            for (di, seen) in detections.iter().enumerate() {
                let d = &seen.detection;
                if d.class != track.class {
                    continue;
                }
                let iou = predicted.iou(&d.bbox);
                if iou >= self.options.match_iou {
                    pairs.push((iou, ti, di));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        let mut used = vec![false; detections.len()];
        for (_, ti, di) in pairs {
            if free[ti] && !used[di] {
                free[ti] = false;
                used[di] = true;
                self.live[ti].extend(t, detections[di]);
            }
        }
        detections
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(d, _)| *d)
            .collect()
    }

    /// Every track seen often enough, in the order they started; `aspect` is the frame's width
    /// over its height, for speeds in frame widths.
    pub fn finish(mut self, labels: &[String], aspect: f64) -> Vec<Track> {
        let min_hits = self.options.min_hits;
        self.ended.append(&mut self.live);
        let mut tracks: Vec<Track> = self
            .ended
            .into_iter()
            .filter(|track| track.boxes.len() >= min_hits)
            .map(|track| {
                let (first, last) = (track.boxes[0], *track.last());
                let duration = (last.t - first.t).max(f64::EPSILON) as f32;
                let (fx, fy) = first.bbox.centre();
                let (lx, ly) = last.bbox.centre();
                let velocity = ((lx - fx) / duration, (ly - fy) / duration / aspect as f32);
                let label = labels
                    .get(track.class)
                    .cloned()
                    .unwrap_or_else(|| format!("class {}", track.class));
                Track {
                    id: track.id,
                    actions: match label == PERSON {
                        true => read_actions(&track.boxes, aspect as f32),
                        false => Vec::new(),
                    },
                    label,
                    start: first.t,
                    end: last.t,
                    score: track.boxes.iter().map(|b| b.score).sum::<f32>() / track.boxes.len() as f32,
                    velocity,
                    speed: velocity.0.hypot(velocity.1),
                    heading: heading(velocity),
                    boxes: track.boxes,
                }
            })
            .collect();
        tracks.sort_by_key(|t| t.id);
        tracks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(class: usize, score: f32, x0: f32, y0: f32, size: f32) -> Seen {
        Seen::from(Detection {
            class,
            score,
            bbox: BBox {
                x0,
                y0,
                x1: x0 + size,
                y1: y0 + size,
            },
        })
    }

    fn labels() -> Vec<String> {
        vec!["person".into(), "car".into()]
    }

    #[test]
    fn two_objects_crossing_paths_keep_their_ids() {
        // A person moving right and a car moving left, their boxes overlapping more and more
        // until they coincide at t = 2: each still matches only its own class.
        let mut tracker = Tracker::new(TrackerOptions::default());
        for i in 0..=10 {
            let t = f64::from(i) * 0.2;
            let x = 0.1 * t as f32;
            tracker.update(t, &[det(0, 0.8, 0.1 + x, 0.4, 0.2), det(1, 0.7, 0.5 - x, 0.42, 0.2)]);
        }
        let tracks = tracker.finish(&labels(), 4.0 / 3.0);
        assert_eq!(tracks.len(), 2, "{tracks:?}");
        assert_eq!((tracks[0].label.as_str(), tracks[0].boxes.len()), ("person", 11));
        assert!((tracks[0].velocity.0 - 0.1).abs() < 1e-4 && tracks[0].velocity.1.abs() < 1e-4);
        assert!((tracks[1].velocity.0 + 0.1).abs() < 1e-4);
        assert!((tracks[0].speed - 0.1).abs() < 1e-4);
        assert_eq!((tracks[0].heading, tracks[1].heading), ("right", "left"));
        assert_eq!((tracks[0].start, tracks[0].end), (0.0, 2.0));
    }

    #[test]
    fn weak_detections_continue_tracks_but_do_not_start_them_and_gaps_end_them() {
        let mut tracker = Tracker::new(TrackerOptions::default());
        tracker.update(0.0, &[det(0, 0.8, 0.1, 0.1, 0.2), det(0, 0.1, 0.7, 0.7, 0.2)]);
        tracker.update(0.2, &[det(0, 0.15, 0.1, 0.1, 0.2), det(0, 0.1, 0.7, 0.7, 0.2)]);
        tracker.update(0.4, &[det(0, 0.8, 0.1, 0.1, 0.2)]);
        // Gone for 1.6 s (more than max_gap), then back: a new track.
        for i in 0..3 {
            tracker.update(2.0 + f64::from(i) * 0.2, &[det(0, 0.8, 0.1, 0.1, 0.2)]);
        }
        let tracks = tracker.finish(&labels(), 1.0);
        let spans: Vec<(u32, f64, f64, usize)> = tracks.iter().map(|t| (t.id, t.start, t.end, t.boxes.len())).collect();
        assert_eq!(spans, [(1, 0.0, 0.4, 3), (2, 2.0, 2.4, 3)]);
    }

    #[test]
    fn headings_name_axes_and_diagonals() {
        assert_eq!(heading((0.001, 0.01)), "still");
        assert_eq!(heading((0.0, -0.2)), "up");
        assert_eq!(heading((0.2, 0.05)), "right");
        assert_eq!(heading((-0.2, 0.2)), "down-left");
    }

    #[test]
    fn a_one_frame_blip_is_not_a_track() {
        let mut tracker = Tracker::new(TrackerOptions::default());
        tracker.update(0.0, &[det(0, 0.9, 0.1, 0.1, 0.2)]);
        tracker.update(0.2, &[]);
        assert!(tracker.finish(&labels(), 1.0).is_empty());
    }
}
