//! The motion stream on videos whose motion is known (`scripts/setup.sh` makes them with FFmpeg's
//! `crop` and `overlay` filters): a camera pan, an object crossing a still background, a still.

use std::ops::ControlFlow;
use std::path::PathBuf;

use vtx_media::{sample_and_analyse, Analyses, FrameSize, MotionOptions, MotionSample, Resize, Sampling};

fn fixture(name: &str) -> PathBuf {
    let dir = std::env::var_os("VTX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/vtx"));
    let path = dir.join("fixtures/motion").join(name);
    assert!(path.exists(), "{} missing: run `make setup`", path.display());
    path
}

/// The motion samples of a video sampled as `vtx index` does (1 fps, non-reference frames skipped).
fn motion(name: &str) -> Vec<MotionSample> {
    let options = MotionOptions::default();
    let analyses = Analyses {
        shots: None,
        motion: Some(&options),
        ..Default::default()
    };
    let size = FrameSize::new(8, 8, Resize::Squash);
    let sampled = sample_and_analyse(&fixture(name), &Sampling::Fps(1.0), &[size], analyses, |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    sampled.motion
}

fn mean(samples: &[MotionSample], f: fn(&MotionSample) -> f32) -> f32 {
    samples.iter().map(f).sum::<f32>() / samples.len() as f32
}

/// The pan moves the crop window 60 px a second over a 320 px wide picture.
const SPEED: f32 = 60.0 / 320.0;

#[test]
fn a_pan_over_a_still_photo_is_camera_motion() {
    let samples = motion("pan.mp4");
    // Every half second of the 3 s clip.
    assert_eq!(samples.len(), 6, "{samples:?}");
    for s in &samples {
        assert_eq!(s.kind(), "camera", "{s:?}");
        assert!(s.moving_share < 0.03, "{s:?}");
    }
    let (x, y) = (mean(&samples, |s| s.camera.0), mean(&samples, |s| s.camera.1));
    assert!(
        (x - SPEED).abs() < SPEED * 0.1,
        "camera moves right at {SPEED}: got {x}"
    );
    assert!(y.abs() < 0.02, "no vertical motion: {y}");
}

#[test]
fn an_object_crossing_a_still_background_is_local_motion_to_the_right() {
    let samples = motion("object.mp4");
    assert!(!samples.is_empty());
    for s in &samples {
        assert_eq!(s.kind(), "local", "{s:?}");
        assert!(s.camera_speed() < 0.01, "{s:?}");
        // The 64x64 patch is 5% of the picture; its textured pixels a larger share of the
        // textured ones.
        assert!(s.moving_share > 0.03 && s.moving_share < 0.3, "{s:?}");
        // The mean over moving pixels runs low: pixels on the patch's edges move only in part.
        assert!((s.local_speed - SPEED).abs() < SPEED * 0.35, "{s:?}");
        // The direction histogram (descriptor 7..15, bin 0 = rightwards) peaks to the right.
        let directions = &s.descriptor[7..15];
        let peak = (0..8).max_by(|&a, &b| directions[a].total_cmp(&directions[b])).unwrap();
        assert_eq!(peak, 0, "{directions:?}");
    }
}

#[test]
fn a_still_video_has_no_motion_and_descriptors_tell_the_three_apart() {
    let still = motion("still.mp4");
    for s in &still {
        assert_eq!(s.kind(), "still", "{s:?}");
        assert!(s.moving_share < 0.005 && s.camera_speed() < 0.005, "{s:?}");
    }
    let average = |samples: &[MotionSample]| {
        let mut v = vec![0f32; vtx_media::MOTION_DIM];
        for s in samples {
            v.iter_mut().zip(&s.descriptor).for_each(|(a, x)| *a += x);
        }
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    };
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let (pan, object, still) = (
        average(&motion("pan.mp4")),
        average(&motion("object.mp4")),
        average(&still),
    );
    for (a, b, name) in [
        (&pan, &object, "pan/object"),
        (&pan, &still, "pan/still"),
        (&object, &still, "object/still"),
    ] {
        assert!(cos(a, b) < 0.8, "{name}: {}", cos(a, b));
    }
}

#[test]
fn keyframe_only_decoding_measures_no_motion() {
    let options = MotionOptions::default();
    let analyses = Analyses {
        shots: None,
        motion: Some(&options),
        ..Default::default()
    };
    let size = FrameSize::new(8, 8, Resize::Squash);
    let sampled = sample_and_analyse(&fixture("pan.mp4"), &Sampling::Keyframes, &[size], analyses, |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    assert!(sampled.motion.is_empty(), "keyframes 1 s apart are too far for flow");
}
