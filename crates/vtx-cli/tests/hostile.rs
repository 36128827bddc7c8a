//! `vtx index` over a hostile corpus beside two good clips: zero bytes, random bytes, truncations
//! (index at the end and at the start), bit flips at three rates in four containers with three
//! seeds, extreme sizes and rates, one frame, a huge declared duration, audio only, a picture
//! named .mp4, a GIF, MPEG-TS, a damaged Matroska cluster, names no shell or terminal likes, a
//! FIFO, a link to a device and a loop of links. No panic, no hang, every file accounted for in
//! one line or in the index, and the good clips indexed.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{cache, file_name, vtx};

/// How long the whole corpus may take in a debug build before the run counts as hung.
const HANG: Duration = Duration::from_secs(600);

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `bytes` with about `rate` of their bits flipped, at positions drawn from `seed`.
fn flipped(bytes: &[u8], rate: f64, seed: u64) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut rng = vtx_core::Rng::new(seed);
    let flips = ((bytes.len() * 8) as f64 * rate).ceil() as usize;
    for _ in 0..flips {
        let bit = rng.below(out.len() * 8);
        out[bit / 8] ^= 1 << (bit % 8);
    }
    out
}

/// An MP4 whose header says it lasts about 4.5 days at its own time scale (the largest 32-bit
/// duration); its frames end after 3 s.
fn huge_duration(mp4: &[u8]) -> Vec<u8> {
    let mut out = mp4.to_vec();
    let at = out.windows(4).position(|w| w == b"mvhd").expect("an mvhd box");
    assert_eq!(out[at + 4], 0, "a version-0 mvhd");
    out[at + 20..at + 24].copy_from_slice(&u32::MAX.to_be_bytes());
    out
}

/// The corpus in `dir`: (files that must not stop the run, good clips that must be indexed).
fn corpus(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let c = cache();
    let hostile = c.join("fixtures/hostile");
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", p.display()));
    let joined = read(c.join("fixtures/joined.mp4"));
    let faststart = read(hostile.join("faststart.mp4"));
    let cat = read(c.join("fixtures/photos/cat.mp4"));
    let mut files = vec![
        write(dir, "zero.mp4", b""),
        write(dir, "random.mp4", &{
            let mut rng = vtx_core::Rng::new(7);
            (0..65536).map(|_| rng.below(256) as u8).collect::<Vec<u8>>()
        }),
        write(dir, "huge-duration.mp4", &huge_duration(&cat)),
        write(dir, "picture.mp4", &read(c.join("fixtures/bad/photo.png"))),
    ];
    for (name, bytes) in [("moov-last", &joined), ("moov-first", &faststart)] {
        for percent in [1, 30, 70, 99] {
            let cut = &bytes[..bytes.len() * percent / 100];
            files.push(write(dir, &format!("{name}-cut-{percent}.mp4"), cut));
        }
    }
    let webm = c.join("media/usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/webm.webm");
    let containers = [
        ("mp4", joined.clone()),
        ("mkv", read(hostile.join("joined.mkv"))),
        ("ts", read(hostile.join("joined.ts"))),
        ("webm", read(webm)),
    ];
    for (extension, bytes) in &containers {
        for (rate_name, rate) in [("1e-5", 1e-5), ("1e-4", 1e-4), ("1e-3", 1e-3)] {
            for seed in 1..=3 {
                let name = format!("flips-{rate_name}-seed{seed}.{extension}");
                files.push(write(dir, &name, &flipped(bytes, rate, seed)));
            }
        }
    }
    let mut mkv = containers[1].1.clone();
    let middle = mkv.len() * 2 / 5;
    mkv[middle..middle + 4096].fill(0);
    files.push(write(dir, "damaged-cluster.mkv", &mkv));
    for name in [
        "tiny.mp4",
        "8k.mp4",
        "fps1000.mp4",
        "oneframe.mp4",
        "audio.mp4",
        "joined.ts",
    ] {
        files.push(write(dir, name, &read(hostile.join(name))));
    }
    // Under a video's name: a folder walk takes only video extensions.
    files.push(write(dir, "gif.mp4", &read(hostile.join("anim.gif"))));
    // Names no shell or terminal likes, each on a clip and on a file that is no video (so that
    // its name is printed).
    let notes = read(c.join("fixtures/bad/notes.mp4"));
    for name in [
        &b"new\nline.mp4"[..],
        b"quote\"'.mp4",
        b"$(id).mp4",
        b"caf\xe9.mp4",
        b"\x1b[31mred.mp4",
    ] {
        for (prefix, bytes) in [(&b""[..], &cat), (b"not-a-video-", &notes)] {
            let path = dir.join(std::ffi::OsStr::from_bytes(&[prefix, name].concat()));
            std::fs::write(&path, bytes).unwrap();
            files.push(path);
        }
    }
    let fifo = dir.join("pipe.mp4");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    files.push(fifo);
    let device = dir.join("device.mp4");
    std::os::unix::fs::symlink("/dev/zero", &device).unwrap();
    files.push(device);
    let (a, b) = (dir.join("loop-a.mp4"), dir.join("loop-b.mp4"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    files.extend([a, b]);
    let good: Vec<PathBuf> = ["coffee", "motorcycle"]
        .iter()
        .map(|n| {
            write(
                dir,
                &format!("good-{n}.mp4"),
                &read(c.join(format!("fixtures/photos/{n}.mp4"))),
            )
        })
        .collect();
    (files, good)
}

#[test]
fn a_hostile_corpus_never_stops_the_run_and_every_file_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("library");
    std::fs::create_dir(&library).unwrap();
    let (files, good) = corpus(&library);
    let index = dir.path().join("index");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(["index", "--index", index.to_str().unwrap(), library.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            panic!("vtx index hung on the corpus ({HANG:?})");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(1), "failures, not a crash: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let info = vtx(&["info", "--index", index.to_str().unwrap(), "--json", "--videos"]);
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    let indexed: Vec<String> = info["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["video"].as_str().unwrap().to_string())
        .collect();
    for clip in &good {
        let name = clip.file_name().unwrap().to_str().unwrap();
        assert!(indexed.iter().any(|v| file_name(v) == name), "{name} indexed: {stderr}");
    }
    // Every file is cut from clips of at most 15 s: a flipped bit in a timestamp must not make
    // one last for minutes or hours.
    let durations_hold = |info: &Value| {
        for v in info["list"].as_array().unwrap() {
            let duration = v["duration"].as_f64().unwrap();
            assert!(duration <= 20.0, "{} measures {duration} s", v["video"]);
        }
    };
    durations_hold(&info);
    // `--frames N` spreads its frames over a duration measured by demuxing alone: that pass must
    // hold to the same timeline.
    let frames_index = dir.path().join("frames-index");
    let mut args = vec![
        "index".to_string(),
        "--index".into(),
        frames_index.to_string_lossy().into_owned(),
    ];
    args.extend(["--frames".into(), "5".into()]);
    args.extend(
        files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "ts"))
            .map(|f| f.to_string_lossy().into_owned()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _ = vtx(&args);
    let listed = vtx(&["info", "--index", frames_index.to_str().unwrap(), "--json", "--videos"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    durations_hold(&listed);
    for v in listed["list"].as_array().unwrap() {
        // Over a wrong duration the five targets would fall past the end but for the first.
        assert!(
            v["frames"].as_u64().unwrap() >= 4,
            "{} sampled {}",
            v["video"],
            v["frames"]
        );
    }
    // Every file of the corpus is indexed (a flip that hit nothing vital, a cut that kept some
    // frames) or named by exactly one line that says why.
    let mut failed = 0;
    for file in &files {
        let name = vtx_api::one_line(file);
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(&format!(" {name}: "))).collect();
        let errors = lines.iter().filter(|l| l.starts_with("error: ")).count();
        let is_indexed = indexed.contains(&vtx_core::path_to_text(file).into_owned());
        assert!(lines.len() <= 1, "one line for {name}: {lines:?}");
        assert!(
            is_indexed != (errors == 1),
            "{name}: indexed {is_indexed}, error lines {errors}: {stderr}"
        );
        if errors == 1 {
            let reason = lines[0].rsplit_once(": ").map_or("", |(_, r)| r);
            assert!(reason.len() > 5, "a reason for {name}: {}", lines[0]);
            failed += 1;
        }
    }
    let summary = format!("indexed {} video(s), 0 unchanged, {failed} failed", indexed.len());
    assert!(stderr.contains(&summary), "{summary}: {stderr}");
    assert!(failed >= 15, "the corpus is hostile: only {failed} failed: {stderr}");
    // A name is written on one line whatever it holds.
    assert!(
        stderr.contains("new\\nline.mp4") && !stderr.contains("\x1b[31m"),
        "{stderr}"
    );
}
