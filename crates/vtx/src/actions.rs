//! People's actions read from their tracks, where no video action model can be had: how fast a
//! person's box moves in body heights a second (a walker covers about 0.8, a runner 2 or more,
//! whatever the distance to the camera), and their posture: from their pose where they are tall
//! enough for one (`vtx::posture`), else from their box's shape (a standing person's box is 2.5 to
//! 3.5 times as tall as wide, a seated one under 1.6, a lying one wider than tall).

use serde::Serialize;

use crate::posture::Posture;
use crate::track::TrackBox;

/// Faster than this (body heights a second) is walking.
const WALKING_SPEED: f32 = 0.3;
/// Faster than this is running.
const RUNNING_SPEED: f32 = 1.5;
/// A box less tall than wide (in pixels) times this lies down.
const LYING_SHAPE: f32 = 0.8;
/// A still box less tall than wide times this sits.
const SITTING_SHAPE: f32 = 1.6;
/// Speeds are measured over this many seconds around each box.
const SPEED_WINDOW: f64 = 1.0;
/// Shorter runs of one action are read as noise and join their neighbours.
const SHORTEST_ACTION: f64 = 0.6;
/// Getting down within this long, the box losing at least `FALL_DROP` of its height, is a fall.
const FALL_SECONDS: f64 = 1.0;
const FALL_DROP: f32 = 0.4;

/// What a person does over a span of their track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ActionSpan {
    /// standing, walking, running, sitting, lying or falling.
    pub action: &'static str,
    pub start: f64,
    pub end: f64,
}

pub const ACTIONS: [&str; 6] = ["standing", "walking", "running", "sitting", "lying", "falling"];

/// A person's actions along their boxes (in time order); `aspect` is the frame's width over its
/// height. Boxes touching the frame's edge are cut off, so their shape says nothing: they take
/// the action before them.
pub fn read_actions(boxes: &[TrackBox], aspect: f32) -> Vec<ActionSpan> {
    let mut each: Vec<Option<&'static str>> = (0..boxes.len())
        .map(|i| {
            let b = &boxes[i].bbox;
            let cut = b.x0 <= 0.005 || b.y0 <= 0.005 || b.x1 >= 0.995 || b.y1 >= 0.995;
            let shape = b.height() / b.width().max(1e-6) / aspect;
            let speed = speed_at(boxes, i, aspect);
            Some(match (speed, boxes[i].posture) {
                (Some(v), _) if v >= RUNNING_SPEED => "running",
                (Some(v), _) if v >= WALKING_SPEED => "walking",
                (_, Some(Posture::Upright)) => "standing",
                (_, Some(Posture::Sitting)) => "sitting",
                (_, Some(Posture::Lying)) => "lying",
                _ if cut => return None,
                _ if shape < LYING_SHAPE => "lying",
                _ if shape < SITTING_SHAPE => "sitting",
                _ => "standing",
            })
        })
        .collect();
    // Cut-off boxes take the action before them (or after, at the start).
    for i in 1..each.len() {
        each[i] = each[i].or(each[i - 1]);
    }
    for i in (0..each.len().saturating_sub(1)).rev() {
        each[i] = each[i].or(each[i + 1]);
    }
    let mut spans: Vec<ActionSpan> = Vec::new();
    for (b, action) in boxes.iter().zip(each) {
        let Some(action) = action else { continue };
        match spans.last_mut() {
            Some(last) if last.action == action => last.end = b.t,
            _ => spans.push(ActionSpan {
                action,
                start: b.t,
                end: b.t,
            }),
        }
    }
    let mut spans = merge_short(spans);
    insert_falls(&mut spans, boxes);
    spans
}

/// Centre speed around box `i` in body heights a second, over `SPEED_WINDOW`; `None` when the
/// track has too little time around it.
fn speed_at(boxes: &[TrackBox], i: usize, aspect: f32) -> Option<f32> {
    let t = boxes[i].t;
    let first = boxes.iter().position(|b| b.t >= t - SPEED_WINDOW / 2.0)?;
    let last = boxes.iter().rposition(|b| b.t <= t + SPEED_WINDOW / 2.0)?;
    let dt = (boxes[last].t - boxes[first].t) as f32;
    if dt < (SPEED_WINDOW / 2.0) as f32 {
        return None;
    }
    let (ax, ay) = boxes[first].bbox.centre();
    let (bx, by) = boxes[last].bbox.centre();
    let height = boxes[first..=last].iter().map(|b| b.bbox.height()).sum::<f32>() / (last - first + 1) as f32;
    // In frame heights: a width is `aspect` heights.
    Some(((bx - ax) * aspect).hypot(by - ay) / height.max(1e-6) / dt)
}

/// Runs shorter than `SHORTEST_ACTION` join the longer of their neighbours.
fn merge_short(mut spans: Vec<ActionSpan>) -> Vec<ActionSpan> {
    while spans.len() > 1 {
        let Some(i) = (0..spans.len()).find(|&i| spans[i].end - spans[i].start < SHORTEST_ACTION) else {
            break;
        };
        let length = |s: &ActionSpan| s.end - s.start;
        let into_previous = match (i.checked_sub(1).map(|p| &spans[p]), spans.get(i + 1)) {
            (Some(p), Some(n)) => length(p) >= length(n),
            (Some(_), None) => true,
            _ => false,
        };
        let short = spans.remove(i);
        if into_previous {
            spans[i - 1].end = short.end;
        } else {
            spans[i].start = short.start;
        }
        // Neighbours of one action that now touch become one.
        let mut merged: Vec<ActionSpan> = Vec::with_capacity(spans.len());
        for s in spans {
            match merged.last_mut() {
                Some(last) if last.action == s.action => last.end = s.end,
                _ => merged.push(s),
            }
        }
        spans = merged;
    }
    spans
}

/// Between an upright span and a following sitting or lying one, a fall: the box down (at most a
/// quarter above the down span's median height) within `FALL_SECONDS` of a box at least
/// `1 / (1 - FALL_DROP)` times that height. The fall runs from the last tall box to the first one
/// down, whatever the speeds made of the boxes between.
fn insert_falls(spans: &mut Vec<ActionSpan>, boxes: &[TrackBox]) {
    let mut i = 1;
    while i < spans.len() {
        let (before, after) = (spans[i - 1], spans[i]);
        let upright = matches!(before.action, "standing" | "walking" | "running");
        let down = matches!(after.action, "sitting" | "lying");
        if !(upright && down) {
            i += 1;
            continue;
        }
        let mut heights: Vec<f32> = boxes
            .iter()
            .filter(|b| (after.start..=after.end).contains(&b.t))
            .map(|b| b.bbox.height())
            .collect();
        heights.sort_by(f32::total_cmp);
        let Some(&low) = heights.get(heights.len() / 2) else {
            i += 1;
            continue;
        };
        let from_start = boxes.iter().filter(|b| b.t >= before.start);
        let first_down = from_start.clone().find(|b| b.bbox.height() <= 1.25 * low).map(|b| b.t);
        let fell_from = first_down.and_then(|down_at| {
            from_start
                .filter(|b| b.t >= down_at - FALL_SECONDS && b.t < down_at)
                .filter(|b| low <= (1.0 - FALL_DROP) * b.bbox.height())
                .map(|b| b.t)
                .next_back()
        });
        if let (Some(from), Some(to)) = (fell_from, first_down) {
            spans[i - 1].end = before.end.min(from);
            spans[i].start = after.start.max(to);
            spans.insert(
                i,
                ActionSpan {
                    action: "falling",
                    start: from,
                    end: to,
                },
            );
            i += 1;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtx_models::BBox;

    /// A person `height` tall (fractions of a 4:3 frame), `shape` times as tall as wide, whose
    /// centre moves `speed` body heights a second to the right, sampled at 5 fps for `seconds`.
    fn person(from: f64, seconds: f64, x: f32, height: f32, shape: f32, speed: f32) -> Vec<TrackBox> {
        let aspect = 4.0 / 3.0;
        let width = height / shape / aspect;
        (0..=(seconds * 5.0).round() as usize)
            .map(|i| {
                let t = from + i as f64 * 0.2;
                let cx = x + speed * height / aspect * (t - from) as f32;
                TrackBox {
                    t,
                    bbox: BBox {
                        x0: cx - width / 2.0,
                        y0: 0.8 - height,
                        x1: cx + width / 2.0,
                        y1: 0.8,
                    },
                    score: 0.6,
                    posture: None,
                }
            })
            .collect()
    }

    fn names(spans: &[ActionSpan]) -> Vec<&str> {
        spans.iter().map(|s| s.action).collect()
    }

    #[test]
    fn speed_in_body_heights_tells_standing_walking_and_running() {
        let aspect = 4.0 / 3.0;
        assert_eq!(
            names(&read_actions(&person(0.0, 3.0, 0.3, 0.3, 3.0, 0.0), aspect)),
            ["standing"]
        );
        assert_eq!(
            names(&read_actions(&person(0.0, 3.0, 0.1, 0.3, 3.0, 0.8), aspect)),
            ["walking"]
        );
        // The same walk by a person twice as far away (half the height) is still a walk.
        assert_eq!(
            names(&read_actions(&person(0.0, 3.0, 0.1, 0.15, 3.0, 0.8), aspect)),
            ["walking"]
        );
        assert_eq!(
            names(&read_actions(&person(0.0, 2.0, 0.05, 0.15, 3.0, 2.5), aspect)),
            ["running"]
        );
    }

    #[test]
    fn a_quick_drop_from_upright_to_lying_is_a_fall_and_a_slow_one_is_not() {
        let aspect = 4.0 / 3.0;
        let mut boxes = person(0.0, 2.0, 0.4, 0.4, 3.0, 0.0);
        boxes.extend(person(2.4, 2.0, 0.4, 0.12, 0.5, 0.0));
        let spans = read_actions(&boxes, aspect);
        assert_eq!(names(&spans), ["standing", "falling", "lying"]);
        // From the last upright box to the first one down.
        assert_eq!((spans[1].start, spans[1].end), (2.0, 2.4));
        assert_eq!((spans[0].end, spans[2].start), (1.8, 2.4));
        // Sitting down over two seconds through a stoop: no fall.
        let mut boxes = person(0.0, 2.0, 0.4, 0.4, 3.0, 0.0);
        boxes.extend(person(2.2, 0.8, 0.4, 0.33, 2.2, 0.0));
        boxes.extend(person(4.2, 2.0, 0.4, 0.25, 1.2, 0.0));
        assert_eq!(names(&read_actions(&boxes, aspect)), ["standing", "sitting"]);
    }

    #[test]
    fn flickers_join_their_neighbours_and_cut_boxes_keep_the_last_action() {
        let aspect = 4.0 / 3.0;
        let mut boxes = person(0.0, 2.0, 0.4, 0.4, 3.0, 0.0);
        // One squat-looking frame between standing ones.
        boxes.extend(person(2.2, 0.0, 0.4, 0.4, 1.0, 0.0));
        boxes.extend(person(2.4, 2.0, 0.4, 0.4, 3.0, 0.0));
        assert_eq!(names(&read_actions(&boxes, aspect)), ["standing"]);
        // Standing at the frame's bottom edge, its box cut square: still standing.
        let mut boxes = person(0.0, 2.0, 0.4, 0.4, 3.0, 0.0);
        for b in person(2.2, 2.0, 0.4, 0.4, 1.2, 0.0).iter_mut() {
            b.bbox.y1 = 1.0;
            boxes.push(*b);
        }
        assert_eq!(names(&read_actions(&boxes, aspect)), ["standing"]);
    }
}
