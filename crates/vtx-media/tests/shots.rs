//! Shot detection on videos with boundaries at known times (`scripts/setup.sh` makes them) and on
//! real footage, against FFmpeg's own scene-change score.

use std::path::{Path, PathBuf};
use std::process::Command;

use vtx_media::{detect_shots, Boundary, Detector, MediaError, Shot, ShotOptions};

fn cache() -> PathBuf {
    vtx_core::set_up("fixtures/shots/fade.mp4").unwrap()
}

const OPENCV: &str = "media/usr/share/doc/opencv-doc/examples/data";

fn shots(path: &Path, detector: Detector) -> Vec<Shot> {
    let options = ShotOptions {
        detector,
        ..ShotOptions::default()
    };
    detect_shots(path, &options).unwrap().0
}

/// Where each shot after the first starts.
fn boundaries(shots: &[Shot]) -> Vec<f64> {
    shots.iter().skip(1).map(|s| s.start).collect()
}

fn assert_near(got: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() <= tolerance + 1e-9, "{got:?} vs {expected:?}");
    }
}

#[test]
fn joined_clips_are_cut_where_they_were_joined() {
    // Five 3-second photo clips at 10 fps: cuts at 3, 6, 9 and 12 s, within one frame.
    let path = cache().join("fixtures/joined.mp4");
    for detector in [Detector::Adaptive, Detector::Content] {
        let found = shots(&path, detector);
        assert_near(&boundaries(&found), &[3.0, 6.0, 9.0, 12.0], 0.1);
        assert!(found[1..].iter().all(|s| s.boundary == Boundary::Cut));
        assert_eq!((found[0].start, found[0].boundary), (0.0, Boundary::Start));
        assert!((found[4].end - 15.0).abs() < 0.11, "{found:?}");
    }
}

/// FFmpeg's `select='gt(scene,0.3)'` times, past the first half second (it scores the first frames
/// against nothing).
fn ffmpeg_scene_changes(path: &Path) -> Vec<f64> {
    let out = Command::new("ffmpeg")
        .args(["-v", "info", "-nostdin", "-i"])
        .arg(path)
        .args(["-vf", "select='gt(scene,0.3)',showinfo", "-an", "-f", "null", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr)
        .split("pts_time:")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .filter(|t| *t > 0.5)
        .collect()
}

#[test]
fn a_film_clip_is_cut_where_ffmpeg_sees_scene_changes() {
    // The Megamind clip (23.976 fps) has three cuts; FFmpeg's scene score finds the same frames.
    let path = cache().join(OPENCV).join("Megamind.avi");
    let reference = ffmpeg_scene_changes(&path);
    assert_eq!(reference.len(), 3, "{reference:?}");
    assert_near(&boundaries(&shots(&path, Detector::Adaptive)), &reference, 1.0 / 23.976);
}

#[test]
fn a_fade_through_black_is_one_boundary_in_the_dark() {
    // The cat fades out over 2-3 s, the coffee fades in over 3-4 s (25 fps).
    let path = cache().join("fixtures/shots/fade.mp4");
    for detector in [Detector::Adaptive, Detector::Content] {
        let found = shots(&path, detector);
        assert_eq!(found.len(), 2, "{detector:?}: {found:?}");
        assert_eq!(found[1].boundary, Boundary::Fade);
        assert!((found[1].start - 3.0).abs() <= 0.2, "{found:?}");
    }
    let no_fades = ShotOptions {
        fade_threshold: 0.0,
        ..ShotOptions::default()
    };
    let found = detect_shots(&path, &no_fades).unwrap().0;
    assert!(found.iter().all(|s| s.boundary != Boundary::Fade), "{found:?}");
}

#[test]
fn a_camera_pan_is_not_a_cut_for_the_adaptive_detector() {
    // 7 px a frame at 160x120: every frame differs a lot from the one before, steadily.
    let path = cache().join("fixtures/shots/pan-2s.mp4");
    assert_eq!(shots(&path, Detector::Adaptive).len(), 1);
    // Why the adaptive detector is the default: the plain threshold cuts the pan.
    assert!(shots(&path, Detector::Content).len() > 1);
}

#[test]
fn single_shot_footage_and_lying_headers() {
    let opencv = cache().join(OPENCV);
    // A static surveillance camera, 79.5 s, people walking: one shot.
    let vtest = shots(&opencv.join("vtest.avi"), Detector::Adaptive);
    assert_eq!(vtest.len(), 1);
    assert!((vtest[0].end - 79.5).abs() < 0.2, "{vtest:?}");
    // The header promises 444 frames; 68 frames over 29.6 s are there, and one shot.
    let (tree, stats) = detect_shots(&opencv.join("tree.avi"), &ShotOptions::default()).unwrap();
    assert_eq!((tree.len(), stats.frames_decoded), (1, 68));
    assert!((tree[0].end - 29.6).abs() < 0.5, "{tree:?}");
}

#[test]
fn bad_input_and_options_are_errors() {
    let notes = cache().join("fixtures/bad/notes.mp4");
    assert!(matches!(
        detect_shots(&notes, &ShotOptions::default()),
        Err(MediaError::NotVideo(_))
    ));
    let tiny = ShotOptions {
        width: 2,
        ..ShotOptions::default()
    };
    assert!(detect_shots(&cache().join("fixtures/joined.mp4"), &tiny).is_err());
}

#[test]
fn shots_found_while_sampling_sparsely_match_ffmpeg_too() {
    // Inside indexing the detector sees only the frames a 1 fps decode makes (reference frames):
    // still every scene change FFmpeg scores, on the clean clip and on its damaged re-encode
    // (30 fps; FFmpeg scores two frames in a row at one cut there, hence the matching both ways).
    for name in ["Megamind.avi", "Megamind_bugy.avi"] {
        let path = cache().join(OPENCV).join(name);
        let reference = ffmpeg_scene_changes(&path);
        let size = vtx_media::FrameSize::new(8, 8, vtx_media::Resize::Squash);
        let analyses = vtx_media::Analyses {
            shots: Some(&ShotOptions::default()),
            motion: None,
            ..Default::default()
        };
        let vtx_media::Sampled {
            stats, shots: found, ..
        } = vtx_media::sample_and_analyse(&path, &vtx_media::Sampling::Fps(1.0), &[size], analyses, |_| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert!(
            stats.skipped_nonref,
            "{name}: sparse sampling should skip non-reference frames"
        );
        let got = boundaries(&found);
        let near = |a: &[f64], b: &[f64]| a.iter().all(|x| b.iter().any(|y| (x - y).abs() <= 0.11));
        assert!(
            near(&got, &reference) && near(&reference, &got),
            "{name}: {got:?} vs FFmpeg {reference:?}"
        );
    }
}
