//! Sampling on real videos from Debian packages and on fixtures made by `scripts/setup.sh`.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;

use vtx_media::{load_picture, probe, sample, Filter, Frame, FrameSize, MediaError, Resize, SampleStats, Sampling};

fn cache() -> PathBuf {
    vtx_core::set_up("fixtures/joined.mp4").unwrap()
}

fn media(rel: &str) -> PathBuf {
    let p = cache().join("media").join(rel);
    assert!(p.exists(), "{} missing: run `make setup`", p.display());
    p
}

const OPENCV: &str = "usr/share/doc/opencv-doc/examples/data";
const MIMETYPE: &str = "usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata";

fn run(path: &Path, sampling: Sampling) -> (Vec<Frame>, SampleStats) {
    let mut frames = vec![];
    let stats = sample(path, &sampling, &[FrameSize::new(32, 32, Resize::CenterCrop)], |f| {
        frames.push(f);
        ControlFlow::Continue(())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (frames, stats)
}

fn times(frames: &[Frame]) -> Vec<f64> {
    frames.iter().map(|f| f.t).collect()
}

#[test]
fn count_sampling_hits_centres_of_joined_photo_clips() {
    let (frames, stats) = run(&cache().join("fixtures/joined.mp4"), Sampling::Count(5));
    // Five 3 s clips at 10 fps: centres at 1.5, 4.5, ... within one frame (0.1 s).
    let expected = [1.5, 4.5, 7.5, 10.5, 13.5];
    assert_eq!(frames.len(), 5);
    for (t, e) in times(&frames).iter().zip(expected) {
        assert!((t - e).abs() <= 0.1 + 1e-9, "frame at {t}, expected {e}");
    }
    assert!((stats.duration - 15.0).abs() < 0.11, "duration {}", stats.duration);
    assert!(frames.iter().all(|f| f.images[0].len() == 32 * 32 * 3));
}

#[test]
fn shot_sampling_takes_frames_inside_each_shot_and_segment() {
    // Shots of 3 s (cuts at 3, 6, 9, 12) under a 2 s segment limit: each cut into two 1.5 s
    // segments, one frame at each segment's centre (0.75, 2.25, 3.75, ...).
    let joined = cache().join("fixtures/joined.mp4");
    let (frames, stats) = run(&joined, Sampling::Shots { frames: 1, span: 2.0 });
    let expected: Vec<f64> = (0..10).map(|i| 0.75 + 1.5 * f64::from(i)).collect();
    assert_eq!(frames.len(), expected.len(), "{:?}", times(&frames));
    for (t, e) in times(&frames).iter().zip(&expected) {
        assert!((t - e).abs() <= 0.1 + 1e-9, "frame at {t}, expected {e}");
    }
    assert!((stats.duration - 15.0).abs() < 0.11);
    // Two per 5 s segment: the 3 s shots stay whole, frames at 1/4 and 3/4 of each.
    let (frames, _) = run(&joined, Sampling::Shots { frames: 2, span: 5.0 });
    let expected: Vec<f64> = (0..5)
        .flat_map(|i| [0.75, 2.25].map(|x| x + 3.0 * f64::from(i)))
        .collect();
    assert_eq!(frames.len(), 10);
    for (t, e) in times(&frames).iter().zip(&expected) {
        assert!((t - e).abs() <= 0.1 + 1e-9, "frame at {t}, expected {e}");
    }
    let invalid = sample(
        &joined,
        &Sampling::Shots { frames: 0, span: 5.0 },
        &[FrameSize::new(8, 8, Resize::Squash)],
        |_| ControlFlow::Continue(()),
    );
    assert!(matches!(invalid, Err(MediaError::InvalidSampling(_))));
}

#[test]
fn fps_sampling_gives_one_frame_per_second_at_whole_seconds() {
    let (frames, _) = run(&cache().join("fixtures/joined.mp4"), Sampling::Fps(1.0));
    let t = times(&frames);
    assert_eq!(t.len(), 15, "{t:?}");
    for (i, x) in t.iter().enumerate() {
        assert!((x - i as f64).abs() < 0.051, "{t:?}");
    }
}

#[test]
fn header_frame_count_that_lies_does_not_matter() {
    // tree.avi: the header claims 444 frames at 15 fps, but 68 frames span 29.6 s.
    let path = media(&format!("{OPENCV}/tree.avi"));
    let (frames, stats) = run(&path, Sampling::Fps(1.0));
    assert_eq!(stats.frames_decoded, 68);
    assert!((stats.duration - 29.6).abs() < 0.5, "duration {}", stats.duration);
    assert!(frames.len() >= 25, "only {} frames", frames.len());
    assert!(*times(&frames).last().unwrap() > 27.0);
    let (frames, _) = run(&path, Sampling::Count(4));
    let t = times(&frames);
    assert!(t[0] > 2.0 && t[0] < 5.5 && t[3] > 24.0, "{t:?}");
}

#[test]
fn duration_longer_than_header_is_measured() {
    // The mimetype mkv: header says 3.6 s; its clock restarts part-way, and its 147 frames at
    // 25 fps run for 5.9 s.
    let path = media(&format!("{MIMETYPE}/mkv.mkv"));
    let info = probe(&path).unwrap();
    assert!((info.header_duration.unwrap() - 3.6).abs() < 0.1);
    let (frames, stats) = run(&path, Sampling::Count(10));
    assert!(stats.duration > 5.5, "measured {}", stats.duration);
    assert!(*times(&frames).last().unwrap() > 5.0, "{:?}", times(&frames));
    let t = times(&frames);
    assert!(t.windows(2).all(|w| w[0] < w[1]), "not increasing: {t:?}");
}

#[test]
fn every_container_in_the_test_set_decodes() {
    let files = [
        format!("{MIMETYPE}/3gp.3gp"),
        format!("{MIMETYPE}/flv.flv"),
        format!("{MIMETYPE}/mov.mov"),
        format!("{MIMETYPE}/mp4.mp4"),
        format!("{MIMETYPE}/ogg.ogv"),
        format!("{MIMETYPE}/webm.webm"),
        format!("{OPENCV}/Megamind.avi"),
        format!("{OPENCV}/Megamind_bugy.avi"),
        "usr/share/pymecavideo/data/video/balle1-vp9.avi".into(),
        "usr/share/pymecavideo/data/video/Effet_force_magnetique.ogv".into(),
        "usr/share/pymecavideo/data/video/balle-jbart.mp4".into(),
        "usr/lib/python3/dist-packages/imageio/resources/images/realshort.mp4".into(),
    ];
    for f in files {
        let (frames, stats) = run(&media(&f), Sampling::Fps(2.0));
        assert!(!frames.is_empty(), "{f}: no frames");
        // At 2 fps, a video of d seconds gives about 2d frames, never fewer than one.
        let expected = (stats.duration * 2.0).ceil() as usize;
        assert!(
            frames.len().abs_diff(expected) <= 1 || frames.len() == 1,
            "{f}: {} frames for {} s",
            frames.len(),
            stats.duration
        );
    }
}

#[test]
fn megamind_bugy_header_fps_does_not_shift_times() {
    // The same 270 frames re-encoded with a 30 fps header: 9.0 s by its own timestamps. (At 10 fps
    // sampling every frame is decoded; at 1 fps the sampler skips frames nothing refers to.)
    let path = media(&format!("{OPENCV}/Megamind_bugy.avi"));
    let (_, stats) = run(&path, Sampling::Fps(10.0));
    assert_eq!(stats.frames_decoded, 270);
    assert!((stats.duration - 9.0).abs() < 0.05, "{}", stats.duration);
    let (frames, stats) = run(&path, Sampling::Fps(1.0));
    assert!(stats.frames_decoded < 270, "non-reference frames are skipped at 1 fps");
    assert_eq!(frames.len(), 9);
}

/// Write `out` with the FFmpeg CLI from `args` (its inputs and encoder).
fn make_video(out: &Path, args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin"])
        .args(args)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg {args:?}");
}

#[test]
fn variable_frame_rate_lands_on_the_right_times() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vfr.mkv");
    // 2 s at 5 fps then 2 s at 30 fps, in one variable-rate stream.
    make_video(
        &out,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=5:duration=2",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=30:duration=2",
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1[v]",
            "-map",
            "[v]",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
        ],
    );
    let (frames, stats) = run(&out, Sampling::Fps(4.0));
    assert_eq!(stats.frames_decoded, 10 + 60);
    let t = times(&frames);
    // In the 5 fps part a target falls at most 0.1 s from a frame; in the 30 fps part within 1/60 s.
    for (i, x) in t.iter().enumerate() {
        let target = i as f64 / 4.0;
        // Matroska stores milliseconds, hence the extra 1 ms.
        let tolerance = if target < 2.0 { 0.1 } else { 1.0 / 60.0 + 0.001 };
        assert!((x - target).abs() <= tolerance + 1e-6, "{t:?}");
    }
    assert_eq!(t.len(), 16);
}

#[test]
fn clip_shorter_than_a_step_still_gives_a_frame() {
    let (frames, _) = run(
        &media("usr/lib/python3/dist-packages/imageio/resources/images/realshort.mp4"),
        Sampling::Fps(0.1),
    );
    assert_eq!(frames.len(), 1);
}

#[test]
fn frames_are_converted_to_the_requested_pixels() {
    // The cat clip is a still photo: the frame's mean colour must match ffmpeg's own conversion.
    let path = cache().join("fixtures/photos/cat.mp4");
    let mut got = None;
    sample(
        &path,
        &Sampling::Count(1),
        &[FrameSize::new(64, 64, Resize::Squash)],
        |f| {
            got = Some(f);
            ControlFlow::Break(())
        },
    )
    .unwrap();
    let frame = got.unwrap();
    let reference = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-ss", "1.5", "-i"])
        .arg(&path)
        .args([
            "-frames:v",
            "1",
            "-vf",
            "scale=64:64",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(reference.len(), frame.images[0].len());
    let mean_abs_diff: f64 = frame.images[0]
        .iter()
        .zip(&reference)
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .sum::<f64>()
        / reference.len() as f64;
    assert!(mean_abs_diff < 6.0, "mean abs pixel difference {mean_abs_diff}");
}

#[test]
fn bad_inputs_are_named_errors() {
    let bad = cache().join("fixtures/bad");
    let err = |p: &Path| {
        sample(p, &Sampling::Fps(1.0), &[FrameSize::new(8, 8, Resize::Squash)], |_| {
            ControlFlow::Continue(())
        })
        .unwrap_err()
    };
    assert!(matches!(err(&bad.join("empty.mp4")), MediaError::NotVideo(m) if m.contains("empty")));
    assert!(matches!(err(&bad.join("notes.mp4")), MediaError::NotVideo(_)));
    assert!(matches!(err(&bad.join("photo.png")), MediaError::StillImage(_)));
    assert!(matches!(err(&bad.join("missing.mp4")), MediaError::Missing));
    // An MP4 cut short loses its index (moov) and cannot be opened at all.
    assert!(matches!(
        err(&bad.join("truncated.mp4")),
        MediaError::NotVideo(_) | MediaError::Open(_)
    ));
    assert!(matches!(
        sample(
            &bad.join("empty.mp4"),
            &Sampling::Fps(0.0),
            &[FrameSize::new(8, 8, Resize::Squash)],
            |_| ControlFlow::Continue(())
        ),
        Err(MediaError::InvalidSampling(_))
    ));
}

#[test]
fn truncated_avi_gives_the_frames_before_the_cut() {
    let (frames, stats) = run(&cache().join("fixtures/bad/truncated.avi"), Sampling::Fps(1.0));
    assert!(!frames.is_empty());
    // 2 MB of a 79.5 s file: well short of the whole.
    assert!(stats.duration < 40.0, "{}", stats.duration);
}

#[test]
fn sink_can_stop_the_pass() {
    let mut n = 0;
    let stats = sample(
        &cache().join("fixtures/joined.mp4"),
        &Sampling::Fps(1.0),
        &[FrameSize::new(8, 8, Resize::Squash)],
        |_| {
            n += 1;
            if n == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert!(stats.stopped);
    assert_eq!(stats.frames_sampled, 3);
}

#[test]
fn one_decode_serves_several_sizes_and_explicit_times() {
    let path = cache().join("fixtures/joined.mp4");
    let sizes = [
        FrameSize::new(16, 16, Resize::CenterCrop),
        FrameSize::new(40, 20, Resize::Squash).with_filter(Filter::Bicubic),
    ];
    let times: std::sync::Arc<[f64]> = vec![0.5, 4.0, 4.02, 13.3].into();
    let mut frames = Vec::new();
    sample(&path, &Sampling::Times(times), &sizes, |f| {
        frames.push(f);
        ControlFlow::Continue(())
    })
    .unwrap();
    // Each target gets its own frame: 4.02 lies nearest the frame at 4.0, which 4.0 took, so it
    // gets the next one.
    let got: Vec<f64> = frames.iter().map(|f| f.t).collect();
    assert_eq!(got.len(), 4, "{got:?}");
    for (t, want) in got.iter().zip([0.5, 4.0, 4.1, 13.3]) {
        assert!((t - want).abs() <= 0.05 + 1e-9, "{got:?}");
    }
    assert!(frames
        .iter()
        .all(|f| f.images.len() == 2 && f.images[0].len() == 16 * 16 * 3 && f.images[1].len() == 40 * 20 * 3));
    let unsorted: std::sync::Arc<[f64]> = vec![2.0, 1.0].into();
    assert!(matches!(
        sample(&path, &Sampling::Times(unsorted), &sizes, |_| ControlFlow::Continue(())),
        Err(MediaError::InvalidSampling(_))
    ));
}

#[test]
fn a_picture_loads_as_ffmpeg_converts_it() {
    let photo = cache().join("media/photos/chelsea.png");
    let got = load_picture(&photo, &[FrameSize::new(64, 64, Resize::Squash)]).unwrap();
    let reference = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(&photo)
        .args(["-vf", "scale=64:64", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(reference.len(), got[0].len());
    let diff = got[0]
        .iter()
        .zip(&reference)
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .sum::<f64>()
        / reference.len() as f64;
    assert!(diff < 3.0, "mean abs difference {diff}");
    assert!(matches!(
        load_picture(
            &cache().join("fixtures/bad/notes.mp4"),
            &[FrameSize::new(8, 8, Resize::Squash)]
        ),
        Err(MediaError::NotVideo(_))
    ));
}

#[test]
fn keyframe_sampling_decodes_only_keyframes() {
    // The bench video: a keyframe every 2 s, and more where x264 saw a scene change.
    let path = cache().join("fixtures/bench/cockatoo-720p.mp4");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-skip_frame", "nokey", "-select_streams", "v:0"])
        .args(["-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .arg(&path)
        .output()
        .unwrap();
    let keyframes: Vec<f64> = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    assert!(keyframes.len() >= 28, "{keyframes:?}");
    let (frames, stats) = run(&path, Sampling::Keyframes);
    assert_eq!(stats.frames_decoded as usize, keyframes.len(), "{stats:?}");
    let got: Vec<f64> = frames.iter().map(|f| f.t).collect();
    assert_eq!(got.len(), keyframes.len());
    for (g, k) in got.iter().zip(&keyframes) {
        assert!((g - k).abs() < 1e-3, "{got:?} vs {keyframes:?}");
    }
    // The duration is still the whole video's, not the last keyframe's.
    assert!((stats.duration - 56.0).abs() < 0.1, "{}", stats.duration);
}

#[test]
fn a_side_stream_comes_from_the_same_decode_at_its_own_rate_and_size() {
    // The pedestrians (10 fps) at 1 frame a second for an encoder, 5 a second for a detector.
    let path = cache().join("fixtures/objects/pedestrians-8s.avi");
    let side = vtx_media::SideStream {
        fps: 5.0,
        size: FrameSize::new(48, 40, Resize::Squash),
    };
    let analyses = vtx_media::Analyses {
        side: Some(side),
        ..Default::default()
    };
    let mut frames = vec![];
    let sampled = vtx_media::sample_and_analyse(
        &path,
        &Sampling::Fps(1.0),
        &[FrameSize::new(32, 32, Resize::CenterCrop)],
        analyses,
        |f| {
            frames.push(f);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    let (side, main): (Vec<Frame>, Vec<Frame>) = frames.into_iter().partition(|f| f.side);
    assert_eq!(times(&main), (0..8).map(f64::from).collect::<Vec<_>>());
    assert_eq!(
        sampled.stats.frames_sampled, 8,
        "the side stream is not counted as sampled"
    );
    // Each side frame is the first at or after its target, here exactly on it (10 fps).
    let expected: Vec<f64> = (0..40).map(|i| f64::from(i) / 5.0).collect();
    assert_eq!(side.len(), expected.len());
    assert!(
        side.iter().zip(&expected).all(|(f, t)| (f.t - t).abs() < 1e-6),
        "{:?}",
        times(&side)
    );
    assert!(side
        .iter()
        .all(|f| f.images.len() == 1 && f.images[0].len() == 48 * 40 * 3));
    // The same moments decoded for the main stream alone look the same.
    let (alone, _) = run(&path, Sampling::Fps(1.0));
    assert_eq!(
        alone.iter().map(|f| &f.images[0]).collect::<Vec<_>>(),
        main.iter().map(|f| &f.images[0]).collect::<Vec<_>>()
    );
}

/// The longest stretch between keyframes (the last one to the end included), from FFmpeg's own
/// reading of every packet.
fn ffprobe_longest_keyframe_gap(path: &Path) -> f64 {
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "packet=pts_time,duration_time,flags", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    let (mut keyframes, mut end) = (vec![], 0.0_f64);
    for line in String::from_utf8_lossy(&probe.stdout).lines() {
        let fields: Vec<&str> = line.split(',').collect();
        let (Ok(pts), duration) = (fields[0].parse::<f64>(), fields[1].parse::<f64>().unwrap_or(0.0)) else {
            continue;
        };
        end = end.max(pts + duration);
        if fields[2].contains('K') {
            keyframes.push(pts);
        }
    }
    keyframes.sort_by(f64::total_cmp);
    let gaps = keyframes.windows(2).map(|pair| pair[1] - pair[0]);
    gaps.chain([end - keyframes[keyframes.len() - 1]]).fold(0.0, f64::max)
}

fn deblocking_left_out(path: &Path, deblocking: vtx_media::Deblocking) -> bool {
    let analyses = vtx_media::Analyses {
        deblocking,
        ..Default::default()
    };
    let size = FrameSize::new(8, 8, Resize::Squash);
    vtx_media::sample_and_analyse(path, &Sampling::Fps(1.0), &[size], analyses, |_| {
        ControlFlow::Continue(())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    .stats
    .skipped_deblocking
}

#[test]
fn auto_deblocking_leaves_the_filter_out_only_where_keyframes_are_close() {
    use vtx_media::{Deblocking, AUTO_DEBLOCKING_MAX_KEYFRAME_GAP};
    let dir = tempfile::tempdir().unwrap();
    // The same 6 s at 10 fps with a keyframe every 0.5 s and only one, in MP4 (which indexes every
    // keyframe) and in MPEG-TS (which has no index, so auto cannot know and keeps the filter).
    let make = |name: &str, gop: &str| {
        let out = dir.path().join(name);
        let source = "testsrc=size=64x48:rate=10:duration=6";
        let encoder = ["-c:v", "libx264", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0"];
        make_video(&out, &[&["-f", "lavfi", "-i", source][..], &encoder].concat());
        out
    };
    let cases = [
        (make("short-gop.mp4", "5"), true),
        (make("one-gop.mp4", "600"), false),
        (make("short-gop.ts", "5"), false),
    ];
    for (path, left_out) in &cases {
        assert_eq!(
            deblocking_left_out(path, Deblocking::Auto),
            *left_out,
            "{}",
            path.display()
        );
        assert!(deblocking_left_out(path, Deblocking::Off), "{}", path.display());
        assert!(!deblocking_left_out(path, Deblocking::Full), "{}", path.display());
    }
    // Real files: auto agrees with the gaps FFmpeg sees when it reads every packet.
    let real = [
        cache().join("fixtures/bench/cockatoo-720p.mp4"),
        cache().join("fixtures/shots/fade.mp4"),
        media("usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4"),
        media("usr/lib/python3/dist-packages/imageio/resources/images/realshort.mp4"),
        media("usr/share/pymecavideo/data/video/balle-jbart.mp4"),
        media(&format!("{MIMETYPE}/mp4.mp4")),
        media(&format!("{MIMETYPE}/mov.mov")),
    ];
    let mut seen = [false, false];
    for path in &real {
        let gap = ffprobe_longest_keyframe_gap(path);
        let close = gap <= AUTO_DEBLOCKING_MAX_KEYFRAME_GAP + 0.05;
        assert_eq!(
            deblocking_left_out(path, Deblocking::Auto),
            close,
            "{}: longest gap {gap:.2} s",
            path.display()
        );
        seen[usize::from(close)] = true;
    }
    assert_eq!(seen, [true, true], "the real files cover both choices");
}

fn decode_with(path: &Path, decoder: vtx_media::Decoder) -> (Vec<Frame>, SampleStats) {
    let analyses = vtx_media::Analyses {
        decoder,
        deblocking: vtx_media::Deblocking::Full,
        ..Default::default()
    };
    let mut frames = vec![];
    let size = FrameSize::new(64, 64, Resize::Squash);
    let sampled = vtx_media::sample_and_analyse(path, &Sampling::Fps(1.0), &[size], analyses, |f| {
        frames.push(f);
        ControlFlow::Continue(())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (frames, sampled.stats)
}

#[test]
fn nvdec_gives_the_software_decoders_frames_or_falls_back_to_them() {
    // H.264 (NVDEC's codec), VP8 (on most GPUs) and Theora (never).
    let videos = [
        cache().join("fixtures/bench/cockatoo-720p.mp4"),
        media(&format!("{MIMETYPE}/webm.webm")),
        media("usr/share/pymecavideo/data/video/Effet_force_magnetique.ogv"),
    ];
    let driver = Path::new("/proc/driver/nvidia/version").exists();
    for path in &videos {
        let (software, _) = decode_with(path, vtx_media::Decoder::Software);
        let (hardware, stats) = decode_with(path, vtx_media::Decoder::Nvdec);
        let name = path.display();
        if !stats.hardware_decoded {
            // Fell back: the very frames of the software decoder.
            assert_eq!(times(&hardware), times(&software), "{name}");
            assert!(
                hardware.iter().zip(&software).all(|(h, s)| h.images == s.images),
                "{name}"
            );
            continue;
        }
        // NVDEC decodes every frame where the software decoder skips non-reference ones, so a
        // sample may land a frame or two apart; the same frame must be the same picture (H.264's
        // decoding is exact by its standard), up to the colour conversion's rounding.
        assert_eq!(hardware.len(), software.len(), "{name}");
        let near = hardware.iter().zip(&software).all(|(h, s)| (h.t - s.t).abs() <= 0.1);
        assert!(near, "{name}: {:?} against {:?}", times(&hardware), times(&software));
        for (h, s) in hardware.iter().zip(&software).filter(|(h, s)| h.t == s.t) {
            let (a, b) = (&h.images[0], &s.images[0]);
            let mean_difference = a.iter().zip(b).map(|(x, y)| f64::from(x.abs_diff(*y))).sum::<f64>() / a.len() as f64;
            assert!(
                mean_difference < 3.0,
                "{name} at {}: mean difference {mean_difference}",
                h.t
            );
        }
        println!("{name}: decoded by NVDEC, frames match the software decoder's");
    }
    if !driver {
        println!("skipped the NVDEC half: no NVIDIA driver here; every video fell back to the software decoder");
    }
}
