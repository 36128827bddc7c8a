//! A person's posture from their body keypoints: upright, sitting or lying. Where a person is
//! tall enough in the frame for a pose model to see their limbs, this replaces the reading of
//! their box's shape, which a footballer with his leg out or someone lying towards the camera
//! fools.

use serde::Serialize;
use vtx_models::{BBox, Keypoint, Pose};

/// People at least this tall (a fraction of the frame's height) get a pose; smaller ones are too
/// few pixels for their limbs to be seen.
pub(crate) const MIN_POSE_HEIGHT: f32 = 0.2;
/// A crop shows this much more than the person's box, each way.
const CROP_MARGIN: f32 = 1.25;
/// A torso further than this from vertical (degrees) lies.
const LYING_TORSO: f32 = 60.0;
/// Thighs all further than this from vertical sit.
const SITTING_THIGH: f32 = 50.0;
/// Thighs all shorter than this share of the torso point at the camera: sitting, seen from the
/// front (a standing person's thigh is about as long as their torso).
const SITTING_FORESHORTENED: f32 = 0.4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Posture {
    Upright,
    Sitting,
    Lying,
}

/// The keypoints' indices in COCO's order.
const SHOULDERS: [usize; 2] = [5, 6];
const HIPS: [usize; 2] = [11, 12];
const KNEES: [usize; 2] = [13, 14];

/// Posture from keypoints in a picture whose pixels are square; `None` when the torso, or with
/// an upright torso the thighs, are not seen.
pub(crate) fn posture(pose: &Pose, min_score: f32) -> Option<Posture> {
    let seen = |i: usize| pose.keypoints.get(i).filter(|k| k.score >= min_score);
    let middle = |pair: [usize; 2]| -> Option<(f32, f32)> {
        let found: Vec<&Keypoint> = pair.iter().filter_map(|&i| seen(i)).collect();
        (!found.is_empty()).then(|| {
            let n = found.len() as f32;
            (
                found.iter().map(|k| k.x).sum::<f32>() / n,
                found.iter().map(|k| k.y).sum::<f32>() / n,
            )
        })
    };
    let (shoulders, hips) = (middle(SHOULDERS)?, middle(HIPS)?);
    let torso = (hips.0 - shoulders.0, hips.1 - shoulders.1);
    let torso_length = torso.0.hypot(torso.1);
    // Down is +y: hips below the shoulders have a positive y, an upside-down torso a negative one.
    if torso_length <= f32::EPSILON || from_vertical(torso) > LYING_TORSO {
        return Some(Posture::Lying);
    }
    let thighs: Vec<(f32, f32)> = HIPS
        .iter()
        .zip(KNEES)
        .filter_map(|(&hip, knee)| {
            let (h, k) = (seen(hip)?, seen(knee)?);
            Some((k.x - h.x, k.y - h.y))
        })
        .collect();
    if thighs.is_empty() {
        return None;
    }
    let bent = thighs.iter().all(|&t| from_vertical(t) > SITTING_THIGH);
    let foreshortened = thighs
        .iter()
        .all(|t| t.0.hypot(t.1) < SITTING_FORESHORTENED * torso_length);
    Some(match bent || foreshortened {
        true => Posture::Sitting,
        false => Posture::Upright,
    })
}

/// Degrees between a vector and straight down (0 down, 180 up).
fn from_vertical((x, y): (f32, f32)) -> f32 {
    x.abs().atan2(y).to_degrees()
}

/// The square (in the frame's pixels; `aspect` is its width over its height) around a person's
/// box that their pose is read from, in fractions of the frame. It may reach outside the frame.
pub(crate) fn crop_region(bbox: &BBox, aspect: f32) -> BBox {
    let side_in_heights = (bbox.width() * aspect).max(bbox.height()) * CROP_MARGIN;
    let (half_w, half_h) = (side_in_heights / aspect / 2.0, side_in_heights / 2.0);
    let (cx, cy) = bbox.centre();
    BBox {
        x0: cx - half_w,
        y0: cy - half_h,
        x1: cx + half_w,
        y1: cy + half_h,
    }
}

/// The two source pixels along one axis that output pixel `o` of `out` blends, and the weight of
/// the second: `None` outside the picture. `from` and `extent` are the region's, in fractions.
fn taps(o: usize, out: usize, from: f32, extent: f32, size: usize) -> Option<(usize, usize, f32)> {
    // The centre of the output pixel, in source pixels.
    let s = (from + (o as f32 + 0.5) / out as f32 * extent) * size as f32 - 0.5;
    if s < -0.5 || s > size as f32 - 0.5 {
        return None;
    }
    let first = s.floor().clamp(0.0, (size - 1) as f32) as usize;
    Some((first, (first + 1).min(size - 1), (s - first as f32).clamp(0.0, 1.0)))
}

/// `region` of an RGB picture (`width` x `height`, fractions of it), bilinear-resampled to
/// `out_w` x `out_h`; black outside the picture.
pub(crate) fn crop(
    picture: &[u8],
    (width, height): (usize, usize),
    region: &BBox,
    (out_w, out_h): (usize, usize),
) -> Vec<u8> {
    let mut out = vec![0u8; out_w * out_h * 3];
    let at = |x: usize, y: usize, c: usize| f32::from(picture[(y * width + x) * 3 + c]);
    let rows: Vec<_> = (0..out_h)
        .map(|o| taps(o, out_h, region.y0, region.height(), height))
        .collect();
    let columns: Vec<_> = (0..out_w)
        .map(|o| taps(o, out_w, region.x0, region.width(), width))
        .collect();
    for (oy, row) in rows.iter().enumerate() {
        let Some((y0, y1, fy)) = *row else { continue };
        for (ox, column) in columns.iter().enumerate() {
            let Some((x0, x1, fx)) = *column else { continue };
            for c in 0..3 {
                let top = at(x0, y0, c) * (1.0 - fx) + at(x1, y0, c) * fx;
                let bottom = at(x0, y1, c) * (1.0 - fx) + at(x1, y1, c) * fx;
                out[(oy * out_w + ox) * 3 + c] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pose with these keypoints seen (index, x, y) and the rest not.
    fn pose(seen: &[(usize, f32, f32)]) -> Pose {
        let mut keypoints = vec![
            Keypoint {
                x: 0.0,
                y: 0.0,
                score: 0.0
            };
            17
        ];
        for &(i, x, y) in seen {
            keypoints[i] = Keypoint { x, y, score: 0.9 };
        }
        Pose { keypoints }
    }

    #[test]
    fn torso_and_thighs_tell_the_posture() {
        let torso = [(5, 0.45, 0.3), (6, 0.55, 0.3), (11, 0.46, 0.55), (12, 0.54, 0.55)];
        let with = |legs: &[(usize, f32, f32)]| {
            let mut all = torso.to_vec();
            all.extend(legs);
            posture(&pose(&all), 0.3)
        };
        // Thighs down: standing, one leg out (a kick) or not.
        assert_eq!(with(&[(13, 0.46, 0.8), (14, 0.54, 0.8)]), Some(Posture::Upright));
        assert_eq!(with(&[(13, 0.46, 0.8), (14, 0.75, 0.65)]), Some(Posture::Upright));
        // Both thighs forward, seen from the side; or towards the camera, short.
        assert_eq!(with(&[(13, 0.7, 0.6), (14, 0.72, 0.58)]), Some(Posture::Sitting));
        assert_eq!(with(&[(13, 0.46, 0.6), (14, 0.54, 0.6)]), Some(Posture::Sitting));
        // No legs seen: an upright torso alone does not say.
        assert_eq!(with(&[]), None);
        // A torso on its side lies, whatever the legs.
        let lying = pose(&[(5, 0.3, 0.5), (11, 0.6, 0.55), (13, 0.8, 0.55)]);
        assert_eq!(posture(&lying, 0.3), Some(Posture::Lying));
        assert_eq!(posture(&pose(&[(13, 0.5, 0.5)]), 0.3), None);
    }

    #[test]
    fn crops_are_square_in_pixels_and_black_outside_the_picture() {
        // A 16:9 frame: a box 0.1 wide and 0.4 tall is 0.178 by 0.4 heights; the crop is 0.5
        // heights a side, 0.28 of the frame's width.
        let region = crop_region(
            &BBox {
                x0: 0.45,
                y0: 0.3,
                x1: 0.55,
                y1: 0.7,
            },
            16.0 / 9.0,
        );
        assert!((region.height() - 0.5).abs() < 1e-6);
        assert!((region.width() * 16.0 / 9.0 - 0.5).abs() < 1e-6);
        // A 4x2 picture, left half red and right half blue, cropped from its middle and beyond.
        let mut picture = Vec::new();
        for _ in 0..2 {
            for x in 0..4 {
                picture.extend(if x < 2 { [255, 0, 0] } else { [0, 0, 255] });
            }
        }
        let whole = crop(
            &picture,
            (4, 2),
            &BBox {
                x0: 0.0,
                y0: 0.0,
                x1: 1.0,
                y1: 1.0,
            },
            (4, 2),
        );
        assert_eq!(whole, picture);
        let beyond = crop(
            &picture,
            (4, 2),
            &BBox {
                x0: -1.0,
                y0: 0.0,
                x1: 1.0,
                y1: 1.0,
            },
            (4, 1),
        );
        assert_eq!(beyond, [0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255]);
    }
}
