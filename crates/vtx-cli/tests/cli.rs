//! End-to-end tests of the `vtx` binary on real videos, real models and a real index.
//! The media and models come from `scripts/setup.sh` (`make setup`).

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{cache, file_name, vtx};

const OPENCV: &str = "media/usr/share/doc/opencv-doc/examples/data";
const MIMETYPE: &str = "media/usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata";
/// The same LEGO clip in several containers and codecs (the mkv there is another clip).
const LEGO: &[&str] = &[
    "3gp.3gp",
    "asf.asf",
    "flv.flv",
    "mov.mov",
    "mp4.mp4",
    "ogg.ogv",
    "rmvb.rmvb",
    "webm.webm",
];
/// The joined photo video: each photo shows for 3 s, in this order.
const SEGMENTS: &[(&str, &str, f64)] = &[
    ("a cat", "cat", 0.0),
    ("a cup of coffee", "coffee", 3.0),
    ("a motorcycle", "motorcycle", 6.0),
    ("a rocket", "rocket", 12.0),
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "vtx failed: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// (video, middle of the matching segment, score) per hit.
fn hits(v: &Value) -> Vec<(String, f64, f64)> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let (start, end) = (h["start"].as_f64().unwrap(), h["end"].as_f64().unwrap());
            assert!(start < end, "{h}");
            (
                h["video"].as_str().unwrap().to_string(),
                (start + end) / 2.0,
                h["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// `vtx similar --json`: the hits for one query video.
fn similar(index: &str, video: &Path, top: usize) -> Vec<(String, f64, f64)> {
    let top = top.to_string();
    let out = vtx(&[
        "similar",
        "--index",
        index,
        video.to_str().unwrap(),
        "--json",
        "--top",
        &top,
    ]);
    hits(&json_lines(&out)[0])
}

/// `vtx info --json --videos`.
fn info(index: &str) -> Value {
    json_lines(&vtx(&["info", "--index", index, "--json", "--videos"])).remove(0)
}

/// Index one video with one sampling flag (`--fps 20`, `--frames 4`) into `index`; it must succeed.
fn index_one(index: &str, flag: &str, value: &str, video: &Path) {
    let out = vtx(&["index", "--index", index, flag, value, video.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// What random assignments of items with labels `truth` into `k` clusters score on average:
/// (NMI, ARI). NMI by chance is far from 0 on small sets, hence a baseline, not a fixed bound.
fn chance(truth: &[usize], k: u64) -> (f64, f64) {
    let mut seed = 12345u64;
    let (mut nmi, mut ari) = (0.0, 0.0);
    for _ in 0..200 {
        let random: Vec<usize> = truth
            .iter()
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 33) % k) as usize
            })
            .collect();
        let score = vtx::cluster::agreement(&random, truth);
        nmi += score.nmi / 200.0;
        ari += score.ari / 200.0;
    }
    (nmi, ari)
}

/// Write `lines` (`video<TAB>label`) to `tsv` and run `vtx eval clusters --json` on them.
fn eval_clusters(index: &str, tsv: &Path, lines: &[String]) -> Value {
    std::fs::write(tsv, lines.join("\n")).unwrap();
    eval_clusters_with(index, tsv, &[])
}

/// `vtx eval clusters --json` on the labels in `tsv`, with `extra` options.
fn eval_clusters_with(index: &str, tsv: &Path, extra: &[&str]) -> Value {
    let labels = tsv.to_str().unwrap();
    let mut args = vec!["eval", "clusters", "--index", index, "--labels", labels, "--json"];
    args.extend(extra);
    json_lines(&vtx(&args)).remove(0)
}

/// A temporary directory and the path of an index inside it (not created yet).
fn fresh_index() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index").to_string_lossy().into_owned();
    (dir, index)
}

/// `vtx search QUERY --json --top N` in `index`.
fn search_json(index: &str, query: &str, top: usize) -> Output {
    vtx(&["search", "--index", index, query, "--json", "--top", &top.to_string()])
}

/// The command failed with `code` and said `needle` on standard error.
fn assert_fails(out: &Output, code: i32, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

/// The cluster (of `vtx cluster --json`) holding a member that `is` picks.
fn cluster_with(clusters: &Value, is: impl Fn(&Value) -> bool) -> &Value {
    clusters["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["members"].as_array().unwrap().iter().any(&is))
        .unwrap_or_else(|| panic!("no such member in {clusters}"))
}

/// The member is (a segment of) the video called `name`.
fn of_video(name: &str) -> impl Fn(&Value) -> bool + '_ {
    move |m| m["video"].as_str().is_some_and(|v| file_name(v) == name)
}

/// One index of the whole test library, built once per test run, and the output of building it.
struct Library {
    _dir: tempfile::TempDir,
    index: String,
    build: Output,
}

fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let c = cache();
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index").to_string_lossy().into_owned();
        let paths = [
            c.join("fixtures/photos"),
            c.join("fixtures/joined.mp4"),
            c.join(OPENCV),
            c.join(MIMETYPE),
            c.join("fixtures/bad"),
            c.join("fixtures/bad/photo.png"),
            c.join("fixtures/no-such-file.mp4"),
        ];
        let mut args = vec!["index", "--index", &index];
        let path_strings: Vec<String> = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        args.extend(path_strings.iter().map(String::as_str));
        let build = vtx(&args);
        Library {
            _dir: dir,
            index,
            build,
        }
    })
}

#[test]
fn bad_inputs_get_one_line_each_and_the_rest_is_indexed() {
    let lib = library();
    let stderr = text(&lib.build.stderr);
    assert_eq!(
        lib.build.status.code(),
        Some(1),
        "some inputs are bad, so exit code 1:\n{stderr}"
    );
    let bad = cache().join("fixtures/bad");
    for (file, reason) in [
        ("empty.mp4", "empty file"),
        ("notes.mp4", "not a recognised media format"),
        ("truncated.mp4", "moov atom"),
        ("photo.png", "still image"),
    ] {
        let path = bad.join(file).to_string_lossy().into_owned();
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(&path)).collect();
        assert_eq!(lines.len(), 1, "one line for {file}:\n{stderr}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(reason),
            "{}",
            lines[0]
        );
    }
    let missing = cache().join("fixtures/no-such-file.mp4").to_string_lossy().into_owned();
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(&missing) && l.contains("no such file")),
        "{stderr}"
    );
    // The AVI cut at 2 MB is indexed for what it holds, with a warning that it looks truncated.
    let truncated = bad.join("truncated.avi").to_string_lossy().into_owned();
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "only the cut-off AVI deserves a warning:\n{stderr}");
    assert!(
        warnings[0].contains(&truncated) && warnings[0].contains("truncated"),
        "{stderr}"
    );

    let info = info(&lib.index);
    let indexed: BTreeSet<String> = info["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| file_name(v["video"].as_str().unwrap()).to_string())
        .collect();
    // 5 photo clips + joined + 4 opencv videos + 9 mimetype videos + truncated.avi
    assert_eq!(info["videos"].as_u64().unwrap() as usize, indexed.len());
    assert_eq!(indexed.len(), 20, "{indexed:?}");
    for name in [
        "cat.mp4",
        "joined.mp4",
        "Megamind.avi",
        "tree.avi",
        "vtest.avi",
        "mkv.mkv",
        "truncated.avi",
    ] {
        assert!(indexed.contains(name), "{name} missing from {indexed:?}");
    }
    assert!(
        stderr.contains("indexed 20 video(s), 0 unchanged, 5 failed"),
        "{stderr}"
    );
}

#[test]
fn text_search_finds_each_photo_at_its_moment() {
    let lib = library();
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries.txt");
    std::fs::write(&queries, SEGMENTS.iter().map(|s| s.0).collect::<Vec<_>>().join("\n")).unwrap();
    let out = vtx(&[
        "search",
        "--index",
        &lib.index,
        "--queries",
        queries.to_str().unwrap(),
        "--json",
        "--top",
        "5",
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), SEGMENTS.len());
    for (line, (query, clip, start)) in lines.iter().zip(SEGMENTS) {
        assert_eq!(line["query"], *query);
        let hits = hits(line);
        // The photo's own clip and the joined video show identical frames: either may come first.
        let top = file_name(&hits[0].0);
        assert!(
            top == format!("{clip}.mp4") || top == "joined.mp4",
            "{query}: top hit {top}, all {hits:?}"
        );
        let joined = hits
            .iter()
            .find(|h| file_name(&h.0) == "joined.mp4")
            .expect("joined.mp4 in the top 5");
        assert!(
            joined.1 >= *start && joined.1 < start + 3.0,
            "{query}: joined.mp4 at {} s, expected {start}..{}",
            joined.1,
            start + 3.0
        );
        // Shots were detected while indexing: the hit is the photo's own 3 seconds.
        let joined_hit = line["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| file_name(h["video"].as_str().unwrap()) == "joined.mp4")
            .unwrap();
        let (shot_start, shot_end) = (
            joined_hit["start"].as_f64().unwrap(),
            joined_hit["end"].as_f64().unwrap(),
        );
        assert!(
            (shot_start - start).abs() < 0.11 && (shot_end - start - 3.0).abs() < 0.11,
            "{query}: shot {shot_start}-{shot_end}"
        );
        assert!(
            hits.windows(2).all(|w| w[0].2 >= w[1].2),
            "{query}: not sorted by score"
        );
    }
}

#[test]
fn single_query_prints_path_segment_score() {
    let lib = library();
    let out = vtx(&["search", "--index", &lib.index, "a cat", "--top", "2"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap();
    let parts: Vec<&str> = first.split("  ").collect();
    assert_eq!(parts.len(), 4, "{first}");
    assert!(
        parts[0].ends_with("cat.mp4") || parts[0].ends_with("joined.mp4"),
        "{first}"
    );
    // The cat is the first 3 s of joined.mp4 and the whole of cat.mp4: one shot, one segment.
    assert!(parts[1].starts_with("00:00:00.000-00:00:0"), "{first}");
    assert!(parts[2].parse::<f64>().unwrap() > 0.3, "{first}");
    assert!(parts[3].starts_with("segment "), "{first}");
    assert_eq!(stdout.lines().count(), 2);
}

#[test]
fn segments_cover_each_video_in_spans_of_at_most_five_seconds_with_thumbnails() {
    let lib = library();
    let info = info(&lib.index);
    let videos = info["list"].as_array().unwrap();
    let mut total = 0;
    for v in videos {
        let (name, duration) = (v["video"].as_str().unwrap(), v["duration"].as_f64().unwrap());
        let segments = v["segments"].as_array().unwrap();
        total += segments.len();
        assert!(!segments.is_empty(), "{name}");
        let spans: Vec<(f64, f64)> = segments
            .iter()
            .map(|s| (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap()))
            .collect();
        assert_eq!(spans[0].0, 0.0, "{name}");
        assert!((spans.last().unwrap().1 - duration).abs() < 1e-6, "{name}: {spans:?}");
        assert!(spans.windows(2).all(|w| w[0].1 == w[1].0), "{name}: gaps {spans:?}");
        assert!(
            spans.iter().all(|(a, b)| b - a <= 5.0 + 1e-9 && b > a),
            "{name}: {spans:?}"
        );
        // Each shot is cut into equal parts: segment ends include every shot boundary.
        for shot in v["shots"].as_array().unwrap() {
            let end = shot["end"].as_f64().unwrap();
            assert!(
                spans.iter().any(|s| (s.1 - end).abs() < 1e-9),
                "{name}: shot end {end} in {spans:?}"
            );
        }
        // 1 fps sampling leaves a thumbnail-less segment only where a segment is under a second.
        for (s, (a, b)) in segments.iter().zip(&spans) {
            assert!(s["thumbnail"].is_string() || b - a < 1.0, "{name}: {s}");
        }
    }
    assert_eq!(info["segments"].as_u64().unwrap() as usize, total);
    let joined = videos
        .iter()
        .find(|v| file_name(v["video"].as_str().unwrap()) == "joined.mp4")
        .unwrap();
    assert_eq!(joined["segments"].as_array().unwrap().len(), 5, "one per 3 s photo");
}

#[test]
fn a_segment_thumbnail_is_a_jpeg_that_finds_its_own_moment() {
    let lib = library();
    let out = search_json(&lib.index, "a rocket", 1);
    let hit = json_lines(&out).remove(0)["hits"][0].clone();
    let dir = tempfile::tempdir().unwrap();
    let jpeg = dir.path().join("thumb.jpg");
    let segment = hit["segment"].to_string();
    let written = vtx(&[
        "thumbnail",
        "--index",
        &lib.index,
        &segment,
        "-o",
        jpeg.to_str().unwrap(),
    ]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    let bytes = std::fs::read(&jpeg).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "JPEG");
    assert!(bytes.len() > 2_000 && bytes.len() < 60_000, "{} bytes", bytes.len());
    // As a picture query, the thumbnail finds the video (or its twin) and the same seconds.
    let found = similar(&lib.index, &jpeg, 1);
    let (video, middle) = (file_name(&found[0].0), found[0].1);
    assert!(video == "rocket.mp4" || video == "joined.mp4", "{found:?}");
    if video == file_name(hit["video"].as_str().unwrap()) {
        let (start, end) = (hit["start"].as_f64().unwrap(), hit["end"].as_f64().unwrap());
        assert!(middle > start && middle < end, "{found:?} vs {hit}");
    }
    let missing = vtx(&[
        "thumbnail",
        "--index",
        &lib.index,
        "999999",
        "-o",
        jpeg.to_str().unwrap(),
    ]);
    assert_fails(&missing, 3, "segment 999999");
}

#[test]
fn per_video_keeps_each_videos_best_moment() {
    let lib = library();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "search",
            "--index",
            &lib.index,
            "people walking",
            "--json",
            "--top",
            "15",
        ];
        args.extend(extra);
        hits(&json_lines(&vtx(&args))[0])
    };
    let moments = run(&[]);
    let grouped = run(&["--per-video"]);
    let distinct = |h: &[(String, f64, f64)]| h.iter().map(|x| x.0.clone()).collect::<BTreeSet<_>>().len();
    assert!(
        distinct(&moments) < moments.len(),
        "long videos give several moments: {moments:?}"
    );
    assert_eq!(distinct(&grouped), grouped.len(), "{grouped:?}");
    assert_eq!(
        grouped[0], moments[0],
        "the best moment is the best video's best moment"
    );
    assert!(grouped.len() > distinct(&moments));
}

#[test]
fn megamind_and_its_reencode_are_each_others_nearest() {
    let lib = library();
    let c = cache();
    for (query, expected) in [
        ("Megamind.avi", "Megamind_bugy.avi"),
        ("Megamind_bugy.avi", "Megamind.avi"),
    ] {
        let path = c.join(OPENCV).join(query);
        let h = similar(&lib.index, &path, 3);
        assert_eq!(file_name(&h[0].0), expected, "{query}: {h:?}");
        assert!(
            h.iter().all(|x| file_name(&x.0) != query),
            "the query video itself is left out"
        );
        assert!(
            h[0].2 > h[1].2 + 0.2,
            "{query}: the pair should stand far above the rest: {h:?}"
        );
    }
}

#[test]
fn every_encoding_of_the_lego_clip_finds_the_others_first() {
    let lib = library();
    let c = cache();
    for clip in LEGO {
        let path = c.join(MIMETYPE).join(clip);
        let found: BTreeSet<&str> = similar(&lib.index, &path, LEGO.len() - 1)
            .iter()
            .map(|h| LEGO.iter().copied().find(|l| *l == file_name(&h.0)).unwrap_or("OTHER"))
            .collect();
        let expected: BTreeSet<&str> = LEGO.iter().copied().filter(|l| l != clip).collect();
        assert_eq!(found, expected, "{clip}");
    }
}

#[test]
fn similar_embeds_a_video_that_is_not_indexed() {
    let lib = library();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("unindexed.avi");
    std::fs::copy(cache().join(OPENCV).join("Megamind.avi"), &copy).unwrap();
    let h = similar(&lib.index, &copy, 2);
    let names: BTreeSet<&str> = h.iter().map(|x| file_name(&x.0)).collect();
    assert_eq!(names, BTreeSet::from(["Megamind.avi", "Megamind_bugy.avi"]), "{h:?}");
    assert!(h[0].2 > 0.99, "identical content: {h:?}");
}

#[test]
fn reindexing_skips_unchanged_files_and_replaces_changed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let clips = dir.path().join("clips");
    std::fs::create_dir(&clips).unwrap();
    let photos = cache().join("fixtures/photos");
    std::fs::copy(photos.join("cat.mp4"), clips.join("a.mp4")).unwrap();
    std::fs::copy(photos.join("coffee.mp4"), clips.join("b.mp4")).unwrap();
    let run = || vtx(&["index", "--index", index.to_str().unwrap(), clips.to_str().unwrap()]);
    let first = run();
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stderr).contains("indexed 2 video(s), 0 unchanged"),
        "{}",
        text(&first.stderr)
    );
    let second = run();
    assert!(
        text(&second.stderr).contains("indexed 0 video(s), 2 unchanged"),
        "{}",
        text(&second.stderr)
    );
    // Same bytes, new modification time: recognised by its hash, not re-indexed.
    let f = std::fs::File::options().append(true).open(clips.join("a.mp4")).unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(f);
    let third = run();
    assert!(
        text(&third.stderr).contains("indexed 0 video(s), 2 unchanged"),
        "{}",
        text(&third.stderr)
    );
    // New content under the old name: re-indexed, and search sees the new content.
    std::fs::copy(photos.join("rocket.mp4"), clips.join("a.mp4")).unwrap();
    let fourth = run();
    assert!(
        text(&fourth.stderr).contains("indexed 1 video(s), 1 unchanged"),
        "{}",
        text(&fourth.stderr)
    );
    let out = search_json(index.to_str().unwrap(), "a rocket", 1);
    assert_eq!(file_name(&hits(&json_lines(&out)[0])[0].0), "a.mp4");
    let info = json_lines(&vtx(&["info", "--index", index.to_str().unwrap(), "--json"])).remove(0);
    assert_eq!(info["videos"], 2);
    assert_eq!(info["frames"], 6);
}

/// Start indexing small clips then a long 1080p video at 10 fps (about 10 s of work, whatever
/// else the machine is doing), and return once the first video is stored (the long one is then
/// still being decoded).
fn start_long_run(index: &str, jobs: usize) -> (std::process::Child, Vec<String>) {
    let c = cache();
    let mut files: Vec<String> = ["cat", "coffee", "motorcycle", "astronaut", "rocket"]
        .iter()
        .map(|n| {
            c.join(format!("fixtures/photos/{n}.mp4"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.push(
        c.join("fixtures/bench/cockatoo-1080p.mp4")
            .to_string_lossy()
            .into_owned(),
    );
    let mut args = vec![
        "index".to_string(),
        "--index".into(),
        index.to_string(),
        "--fps".into(),
        "10".into(),
        "--jobs".into(),
        jobs.to_string(),
    ];
    args.extend(files.iter().cloned());
    let mut child = Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(&args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored_videos(index) < 1 {
        assert!(Instant::now() < deadline, "indexing made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be stopped"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, files)
}

fn stored_videos(index: &str) -> u64 {
    let out = vtx(&["info", "--index", index, "--json"]);
    if !out.status.success() {
        return 0;
    }
    serde_json::from_slice::<Value>(&out.stdout).map_or(0, |v| v["videos"].as_u64().unwrap_or(0))
}

/// Every stored video is whole: the per-video frame counts add up to the frames stored.
fn assert_consistent(index: &str) {
    let info = info(index);
    let listed: u64 = info["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["frames"].as_u64().unwrap())
        .sum();
    assert_eq!(listed, info["frames"].as_u64().unwrap());
}

fn rerun_finishes(index: &str, files: &[String], already: u64) {
    let mut args = vec!["index", "--index", index];
    args.extend(files.iter().map(String::as_str));
    let rerun = vtx(&args);
    let stderr = text(&rerun.stderr);
    assert!(rerun.status.success(), "{stderr}");
    let expected = format!("indexed {} video(s), {already} unchanged", files.len() as u64 - already);
    assert!(stderr.contains(&expected), "expected '{expected}' in {stderr}");
    assert_eq!(stored_videos(index), files.len() as u64);
}

#[test]
fn a_killed_run_of_several_jobs_leaves_a_consistent_index_and_the_next_run_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index").to_string_lossy().into_owned();
    // Three videos decoded at once: whichever of them was being written, none is stored in part.
    let (mut child, files) = start_long_run(&index, 3);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let after_kill = stored_videos(&index);
    assert!(
        after_kill >= 1 && after_kill < files.len() as u64,
        "killed mid-run: {after_kill} videos"
    );
    assert_consistent(&index);
    rerun_finishes(&index, &files, after_kill);
}

#[test]
fn ctrl_c_stops_after_the_current_video_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index").to_string_lossy().into_owned();
    let (child, files) = start_long_run(&index, 1);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stopping") && stderr.contains("interrupted"),
        "{stderr}"
    );
    let stored = stored_videos(&index);
    assert!(stored < files.len() as u64, "stopped before the long video: {stored}");
    assert_consistent(&index);
    rerun_finishes(&index, &files, stored);
}

#[test]
fn bad_queries_and_missing_models_are_clear_errors() {
    let lib = library();
    let nowhere = vtx(&["search", "--index", "/no/such/index", "a cat"]);
    assert_fails(&nowhere, 3, "no index at /no/such/index");
    assert!(
        !Path::new("/no/such/index").exists(),
        "searching must not create an index"
    );
    let empty = vtx(&["search", "--index", &lib.index, "  "]);
    assert_fails(&empty, 2, "empty");
    let missing = vtx(&["search", "--index", &lib.index, "--queries", "/no/such/queries.txt"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(text(&missing.stderr).contains("/no/such/queries.txt"));
    let zero = vtx(&["search", "--index", &lib.index, "a cat", "--top", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let no_models = vtx(&[
        "search",
        "--index",
        &lib.index,
        "--models-dir",
        dir.path().to_str().unwrap(),
        "a cat",
    ]);
    assert_eq!(
        no_models.status.code(),
        Some(3),
        "a model that is not installed is not found"
    );
    let stderr = text(&no_models.stderr);
    assert!(
        stderr.contains("not installed") && stderr.contains("make setup"),
        "{stderr}"
    );
    let bad_rate = vtx(&[
        "index",
        "--index",
        &lib.index,
        "--fps",
        "0",
        cache().join("fixtures/photos/cat.mp4").to_str().unwrap(),
        "--force",
    ]);
    assert_fails(&bad_rate, 1, "must be positive");
}

#[test]
fn frames_option_samples_a_fixed_count_per_video() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let tree = cache().join(OPENCV).join("tree.avi");
    index_one(index.to_str().unwrap(), "--frames", "4", &tree);
    let info = info(index.to_str().unwrap());
    assert_eq!(info["list"][0]["frames"], 4);
    let duration = info["list"][0]["duration"].as_f64().unwrap();
    assert!((duration - 29.6).abs() < 0.5, "measured, not the header's: {duration}");
}

/// A tmpfs of a few hundred KiB, unmounted when dropped.
struct TinyDisk(tempfile::TempDir);

impl TinyDisk {
    fn new(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mounting a small tmpfs needs root (CI runs as root)");
        Self(dir)
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_new_index_on_a_full_disk_leaves_no_file_and_info_never_makes_one() {
    let disk = TinyDisk::new("64k");
    // Fill the disk to the last block.
    let filler = disk.0.path().join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 1 << 20]);
    let index = disk.0.path().join("index");
    let cat = cache().join("fixtures/photos/cat.mp4");
    let out = vtx(&["index", "--index", index.to_str().unwrap(), cat.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot create an index") && stderr.contains("disk is full"),
        "{stderr}"
    );
    assert!(!index.join("vtx.sqlite").exists(), "no empty index file is left behind");
    // `vtx info` reads: on an empty file it says there is no index, and leaves the file as it was.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("vtx.sqlite"), b"").unwrap();
    let out = vtx(&["info", "--index", elsewhere.path().to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no index at"), "{stderr}");
    assert_eq!(std::fs::metadata(elsewhere.path().join("vtx.sqlite")).unwrap().len(), 0);
}

#[test]
fn a_full_disk_stops_the_run_cleanly_and_keeps_what_was_written() {
    let disk = TinyDisk::new("320k");
    let index = disk.0.path().join("index").to_string_lossy().into_owned();
    let photos = cache().join("fixtures/photos");
    let out = vtx(&["index", "--index", &index, photos.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the disk is full"), "{stderr}");
    assert!(
        stderr.contains("stopped early") && stderr.contains("not attempted"),
        "{stderr}"
    );
    // What was written before the disk filled is whole and searchable.
    let stored = stored_videos(&index);
    assert!(stored < 5, "the disk cannot hold all five clips: {stored}");
    assert_consistent(&index);
    let search = vtx(&["search", "--index", &index, "a cat", "--json"]);
    assert!(search.status.success(), "{}", text(&search.stderr));
}

#[test]
fn special_files_links_and_empty_folders_are_named_not_hung_on() {
    let dir = tempfile::tempdir().unwrap();
    let clips = dir.path().join("clips");
    std::fs::create_dir(&clips).unwrap();
    std::fs::copy(cache().join("fixtures/photos/cat.mp4"), clips.join("cat.mp4")).unwrap();
    // A FIFO would block a reader forever.
    assert!(Command::new("mkfifo")
        .arg(clips.join("pipe.mp4"))
        .status()
        .unwrap()
        .success());
    std::os::unix::fs::symlink(dir.path().join("gone.mp4"), clips.join("dangling.mp4")).unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let index = dir.path().join("index");
    let out = vtx(&[
        "index",
        "--index",
        index.to_str().unwrap(),
        clips.to_str().unwrap(),
        empty.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for (path, reason) in [
        (clips.join("pipe.mp4"), "not a regular file"),
        (clips.join("dangling.mp4"), "No such file"),
        (empty, "no video files in this folder"),
    ] {
        let shown = path.to_string_lossy();
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(shown.as_ref())).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains(reason), "{stderr}");
    }
    assert!(stderr.contains("indexed 1 video(s), 0 unchanged, 3 failed"), "{stderr}");
    // The commands that read one file say why, too, and never panic.
    for command in ["shots", "motion"] {
        let out = vtx_os(&[command.as_ref(), clips.join("pipe.mp4").as_os_str()]);
        let stderr = text(&out.stderr);
        assert!(
            !out.status.success() && out.status.code() != Some(101),
            "{command}: {stderr}"
        );
        assert!(stderr.contains("not a regular file"), "{command}: {stderr}");
    }
}

/// `vtx` with arguments that need not be UTF-8.
fn vtx_os(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_name_that_is_not_utf8_is_indexed_found_again_and_pruned() {
    // Common on old archives and disks from other systems: a Latin-1 name.
    let dir = tempfile::tempdir().unwrap();
    let clips = dir.path().join("clips");
    std::fs::create_dir(&clips).unwrap();
    std::fs::copy(cache().join("fixtures/photos/cat.mp4"), clips.join("cat.mp4")).unwrap();
    let latin1 = clips.join(std::ffi::OsStr::from_bytes(b"caf\xe9.mp4"));
    std::fs::copy(cache().join("fixtures/photos/coffee.mp4"), &latin1).unwrap();
    let index = dir.path().join("index");
    let index_arg = index.as_os_str();
    let index_str = index.to_str().unwrap();
    let stored = format!("file://{}/caf%E9.mp4", clips.display());

    let out = vtx_os(&["index".as_ref(), "--index".as_ref(), index_arg, clips.as_os_str()]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("indexed 2 video(s), 0 unchanged, 0 failed"), "{stderr}");

    let search = vtx(&[
        "search",
        "--index",
        index_str,
        "a cup of coffee",
        "--json",
        "--top",
        "1",
    ]);
    let hits: Value = serde_json::from_slice(&search.stdout).unwrap();
    assert_eq!(hits["hits"][0]["video"], stored.as_str(), "{hits}");
    assert_eq!(hits["hits"][0]["name"], "caf%E9.mp4", "{hits}");

    // Found again by its record: unchanged on a rerun, and by every command that takes a file.
    let out = vtx_os(&["index".as_ref(), "--index".as_ref(), index_arg, clips.as_os_str()]);
    assert!(
        text(&out.stderr).contains("0 video(s), 2 unchanged"),
        "{}",
        text(&out.stderr)
    );
    for command in [
        vec!["tag".as_ref(), latin1.as_os_str(), "--index".as_ref(), index_arg],
        vec!["similar".as_ref(), latin1.as_os_str(), "--index".as_ref(), index_arg],
        vec!["shots".as_ref(), latin1.as_os_str()],
        vec!["motion".as_ref(), latin1.as_os_str()],
    ] {
        let out = vtx_os(&command);
        assert!(out.status.success(), "{command:?}: {}", text(&out.stderr));
    }

    // Gone from the disk, it is pruned; the other video stays.
    std::fs::remove_file(&latin1).unwrap();
    let out = vtx_os(&[
        "index".as_ref(),
        "--prune".as_ref(),
        "--index".as_ref(),
        index_arg,
        clips.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stored_videos(index_str), 1);
}

#[test]
fn a_video_with_more_frames_than_one_store_batch_is_written_whole() {
    // 56 s at 20 fps sampled at 20 fps: 1120 frames, more than the 1024 handed to the store at once.
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let video = cache().join("fixtures/bench/cockatoo-720p.mp4");
    index_one(index.to_str().unwrap(), "--fps", "20", &video);
    let info = info(index.to_str().unwrap());
    assert_eq!(info["frames"], 1120);
    assert_eq!(info["list"][0]["frames"], 1120);
    let h = similar(index.to_str().unwrap(), &video, 1);
    assert!(h.is_empty(), "the only video is the query itself: {h:?}");
    let out = vtx(&["search", "--index", index.to_str().unwrap(), "a bird", "--json"]);
    let hit = &hits(&json_lines(&out)[0])[0];
    assert!((0.0..56.0).contains(&hit.1), "{hit:?}");
}

#[test]
fn shots_are_printed_as_json_csv_and_text() {
    let joined = cache().join("fixtures/joined.mp4");
    let json = json_lines(&vtx(&["shots", "--json", joined.to_str().unwrap()])).remove(0);
    let shots = json.as_array().unwrap();
    assert_eq!(shots.len(), 5);
    assert_eq!(
        (shots[0]["start"].as_f64(), shots[0]["boundary"].as_str()),
        (Some(0.0), Some("start"))
    );
    assert!((shots[1]["start"].as_f64().unwrap() - 3.0).abs() < 0.11, "{json}");
    assert_eq!(shots[1]["start"], shots[0]["end"]);
    let csv = vtx(&["shots", "--csv", "--detector", "content", joined.to_str().unwrap()]);
    let csv = text(&csv.stdout);
    assert_eq!(csv.lines().next(), Some("shot,start,end,length,boundary"));
    assert_eq!(csv.lines().count(), 6);
    let plain = text(&vtx(&["shots", joined.to_str().unwrap()]).stdout);
    assert!(plain.contains("00:00:03.000  00:00:06.000"), "{plain}");
    let missing = vtx(&["shots", "/no/such/video.mp4"]);
    assert_fails(&missing, 3, "/no/such/video.mp4");
}

/// Stored frames per video file name, from `info --videos --json`.
fn frames_per_video(index: &str) -> BTreeSet<(String, u64)> {
    info(index)["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                file_name(v["video"].as_str().unwrap()).to_string(),
                v["frames"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn near_duplicate_frames_are_skipped_and_keyframe_sampling_takes_keyframes() {
    let dir = tempfile::tempdir().unwrap();
    let joined = cache().join("fixtures/joined.mp4");
    let coffee = cache().join("fixtures/photos/coffee.mp4");
    let dedup = dir.path().join("dedup");
    let out = vtx(&[
        "index",
        "--index",
        dedup.to_str().unwrap(),
        "--dedup",
        joined.to_str().unwrap(),
        coffee.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // 15 s of five stills at 1 fps: one frame per still is kept, 10 of 15 skipped; 2 of coffee's 3.
    assert!(
        text(&out.stderr).contains("(12 near-duplicate frames skipped)"),
        "{}",
        text(&out.stderr)
    );
    let expected: BTreeSet<(String, u64)> = [("coffee.mp4".to_string(), 1), ("joined.mp4".to_string(), 5)].into();
    assert_eq!(frames_per_video(dedup.to_str().unwrap()), expected);
    // The kept frames still place each still at its own seconds.
    for (query, _, start) in SEGMENTS {
        let out = search_json(dedup.to_str().unwrap(), query, 2);
        let found = hits(&json_lines(&out)[0]);
        let in_joined = found.iter().find(|h| file_name(&h.0) == "joined.mp4").unwrap();
        assert!(in_joined.1 >= *start && in_joined.1 < start + 3.0, "{query}: {found:?}");
    }

    // joined.mp4 was made from clips with a keyframe every second: 15 keyframes, decoded alone.
    let keyframes = dir.path().join("keyframes");
    let out = vtx(&[
        "index",
        "--index",
        keyframes.to_str().unwrap(),
        "--keyframes",
        joined.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        frames_per_video(keyframes.to_str().unwrap()),
        [("joined.mp4".to_string(), 15)].into()
    );
}

#[test]
fn without_shots_segments_are_equal_windows_and_max_pooling_still_places_moments() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let joined = cache().join("fixtures/joined.mp4");
    let args = |seconds: &str| {
        vtx(&[
            "index",
            "--index",
            index.to_str().unwrap(),
            "--no-shots",
            "--segment-seconds",
            seconds,
            "--pool",
            "max",
            joined.to_str().unwrap(),
        ])
    };
    let refused = args("0");
    assert_fails(&refused, 2, "segment length");
    let out = args("4");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = info(index.to_str().unwrap());
    let spans: Vec<(f64, f64)> = info["list"][0]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap()))
        .collect();
    // 15 s in the fewest equal windows of at most 4 s: four of 3.75 s.
    assert_eq!(spans.len(), 4, "{spans:?}");
    assert!(spans.iter().all(|(a, b)| (b - a - 3.75).abs() < 0.05), "{spans:?}");
    let out = search_json(index.to_str().unwrap(), "a cat", 1);
    let hit = &hits(&json_lines(&out)[0])[0];
    assert!(hit.1 < 3.75, "the cat is in the first window: {hit:?}");
}

#[test]
fn the_motion_stream_is_indexed_and_finds_videos_that_move_alike() {
    let (dir, index) = fresh_index();
    let index = index.as_str();
    let c = cache();
    let clips: Vec<String> = [
        "motion/pan.mp4",
        "motion/object.mp4",
        "motion/still.mp4",
        "shots/pan-2s.mp4",
    ]
    .iter()
    .map(|f| c.join("fixtures").join(f).to_string_lossy().into_owned())
    .collect();
    let mut args = vec!["index", "--index", index];
    args.extend(clips.iter().map(String::as_str));
    let out = vtx(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = info(index);
    let spaces: Vec<&str> = info["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(spaces.contains(&"motion"), "{spaces:?}");
    // Two measurements a second, pooled per segment like any other space.
    for v in info["list"].as_array().unwrap() {
        let measured = v["spaces"]["motion"].as_u64().unwrap();
        let expected = (v["duration"].as_f64().unwrap() * 2.0).round() as u64;
        assert!(measured + 1 >= expected && measured <= expected, "{v}");
    }
    // The slow pan's nearest in motion is the fast pan, though they show different pictures.
    let similar = |query: &str, stream: &str| {
        let out = vtx(&[
            "similar", "--index", index, query, "--stream", stream, "--json", "--top", "3",
        ]);
        let line = json_lines(&out).remove(0);
        (line["space"].as_str().unwrap().to_string(), hits(&line))
    };
    let (space, found) = similar(&clips[0], "motion");
    assert_eq!(space, "motion");
    assert_eq!(file_name(&found[0].0), "pan-2s.mp4", "{found:?}");
    let (space, mixed) = similar(&clips[0], "both");
    assert!(space.ends_with("+motion"), "{space}");
    assert_eq!(mixed.len(), 3);
    assert!(mixed.windows(2).all(|w| w[0].2 >= w[1].2), "{mixed:?}");
    // `vtx motion` reads each clip for people.
    for (clip, kind) in [(&clips[0], "camera"), (&clips[1], "local"), (&clips[2], "still")] {
        let segments = json_lines(&vtx(&["motion", clip, "--json"])).remove(0);
        assert_eq!(segments[0]["kind"], kind, "{clip}: {segments}");
    }
    // A picture has no motion; an index without the stream says so.
    let picture = c.join("fixtures/bad/photo.png");
    let out = vtx(&[
        "similar",
        "--index",
        index,
        picture.to_str().unwrap(),
        "--stream",
        "motion",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let plain = dir.path().join("plain");
    let out = vtx(&[
        "index",
        "--index",
        plain.to_str().unwrap(),
        "--no-motion",
        &clips[0],
        &clips[3],
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = vtx(&[
        "similar",
        "--index",
        plain.to_str().unwrap(),
        &clips[0],
        "--stream",
        "motion",
    ]);
    assert!(text(&out.stderr).contains("no motion stream"), "{}", text(&out.stderr));
}

/// A video's segments from `info --videos --json`: (start, end).
fn segment_spans(video: &Value) -> Vec<(f64, f64)> {
    video["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap()))
        .collect()
}

#[test]
fn segments_land_on_the_same_moments_at_any_frame_rate() {
    let (_dir, index) = fresh_index();
    let index = index.as_str();
    let c = cache();
    let rates = c.join("fixtures/rates");
    let fast = c.join("media/usr/share/pymecavideo/data/video/balle1-vp9.avi");
    let out = vtx(&[
        "index",
        "--index",
        index,
        rates.to_str().unwrap(),
        fast.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = info(index);
    let videos = info["list"].as_array().unwrap();
    // The joined photos, cut at 3, 6, 9 and 12 s, at 24, 30, 60 fps and at 10 then 40 fps.
    for (name, frame) in [
        ("joined-24.mp4", 1.0 / 24.0),
        ("joined-30.mp4", 1.0 / 30.0),
        ("joined-60.mp4", 1.0 / 60.0),
        ("joined-vfr.mp4", 1.0 / 10.0),
    ] {
        let v = videos
            .iter()
            .find(|v| file_name(v["video"].as_str().unwrap()) == name)
            .unwrap_or_else(|| panic!("{name} not indexed"));
        let spans = segment_spans(v);
        let starts: Vec<f64> = spans.iter().map(|s| s.0).collect();
        assert_eq!(starts.len(), 5, "{name}: {spans:?}");
        for (got, expected) in starts.iter().zip([0.0, 3.0, 6.0, 9.0, 12.0]) {
            assert!((got - expected).abs() <= frame + 0.01, "{name}: {spans:?}");
        }
        assert!((spans[4].1 - 15.0).abs() < 0.1, "{name}: {spans:?}");
        let motion = v["spaces"]["motion"].as_u64().unwrap();
        assert!((29..=30).contains(&motion), "{name}: {motion} motion samples in 15 s");
        // The rocket (12-15 s) is found in its own segment at every rate.
        let out = vtx(&[
            "search",
            "--index",
            index,
            "a rocket",
            "--json",
            "--top",
            "4",
            "--per-video",
        ]);
        let found = hits(&json_lines(&out)[0]);
        let hit = found.iter().find(|h| file_name(&h.0) == name).unwrap();
        assert!(hit.1 > 12.0 && hit.1 < 15.0, "{name}: {found:?}");
    }
    // 300 frames at 187.35 fps: 1.6 s, one segment, motion measured every half second.
    let v = videos
        .iter()
        .find(|v| file_name(v["video"].as_str().unwrap()) == "balle1-vp9.avi")
        .unwrap();
    let duration = v["duration"].as_f64().unwrap();
    assert!((duration - 300.0 / 187.35).abs() < 0.02, "{v}");
    assert_eq!(segment_spans(v), [(0.0, duration)]);
    assert!(v["spaces"]["motion"].as_u64().unwrap() >= 3, "{v}");
}

#[test]
fn segments_follow_the_frames_not_a_lying_header() {
    // tree.avi's header claims 444 frames (68 packets over 29.6 s are there); mkv.mkv's says 3.6 s
    // and holds 5.9 s of frames. Segments cover the frames that are there.
    let info = info(&library().index);
    for (name, frames_end) in [("tree.avi", 29.6), ("mkv.mkv", 5.9)] {
        let v = info["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| file_name(v["video"].as_str().unwrap()) == name)
            .unwrap();
        let spans = segment_spans(v);
        let end = spans.last().unwrap().1;
        assert!(
            (end - frames_end).abs() < 0.2,
            "{name}: segments end at {end}: {spans:?}"
        );
        assert_eq!(end, v["duration"].as_f64().unwrap());
        assert!(spans.iter().all(|(a, b)| b - a <= 5.0 + 1e-9), "{name}: {spans:?}");
    }
}

#[test]
fn shot_sampling_encodes_a_frame_per_segment_and_still_finds_each_photo() {
    let (_dir, index) = fresh_index();
    let index = index.as_str();
    let joined = cache().join("fixtures/joined.mp4");
    let joined = joined.to_str().unwrap();
    let refused = vtx(&["index", "--index", index, "--sampling", "shots", "--no-shots", joined]);
    assert_fails(&refused, 2, "needs shot detection");
    let out = vtx(&[
        "index",
        "--index",
        index,
        "--sampling",
        "shots",
        "--shot-frames",
        "2",
        joined,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Five 3 s shots, two frames each (1 fps would have taken 15).
    assert_eq!(frames_per_video(index), [("joined.mp4".to_string(), 10)].into());
    for (query, _, start) in SEGMENTS {
        let out = search_json(index, query, 1);
        let hit = &hits(&json_lines(&out)[0])[0];
        assert!(hit.1 > *start && hit.1 < start + 3.0, "{query}: {hit:?}");
    }
}

#[test]
fn the_lego_encodings_form_one_cluster_and_clusters_beat_chance() {
    let lib = library();
    let run = || json_lines(&vtx(&["cluster", "--index", &lib.index, "--json", "--seed", "7"])).remove(0);
    let clusters = run();
    assert_eq!(clusters, run(), "the same seed gives the same clusters");
    let clusters = clusters["clusters"].as_array().unwrap();
    let names_of = |c: &Value| -> BTreeSet<String> {
        c["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| file_name(m["video"].as_str().unwrap()).to_string())
            .collect()
    };
    let lego = clusters
        .iter()
        .find(|c| names_of(c).contains("mp4.mp4"))
        .expect("mp4.mp4 clustered");
    let expected: BTreeSet<String> = LEGO.iter().map(|s| s.to_string()).collect();
    assert_eq!(names_of(lego), expected, "{lego}");
    assert_eq!(lego["size"], LEGO.len());
    assert!(
        !lego["name"].as_str().unwrap().is_empty(),
        "named from the label set: {lego}"
    );
    assert!(LEGO.contains(&file_name(lego["medoid"]["video"].as_str().unwrap())));
    // Against labels: the LEGO clip in eight encodings and the Megamind clip in two.
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("labels.tsv");
    let c = cache();
    let mut lines: Vec<String> = LEGO
        .iter()
        .map(|f| format!("{}\tlego", c.join(MIMETYPE).join(f).display()))
        .collect();
    for f in ["Megamind.avi", "Megamind_bugy.avi"] {
        lines.push(format!("{}\tmegamind", c.join(OPENCV).join(f).display()));
    }
    let score = eval_clusters(&lib.index, &tsv, &lines);
    assert_eq!(
        (score["videos"].as_u64(), score["clusters"].as_u64()),
        (Some(10), Some(2)),
        "{score}"
    );
    // What a random split of the same ten videos into two clusters scores, on average.
    let truth: Vec<usize> = (0..10).map(|i| usize::from(i >= 8)).collect();
    let (nmi, ari) = chance(&truth, 2);
    assert!(
        score["nmi"].as_f64().unwrap() > nmi + 0.5,
        "{score} vs chance NMI {nmi}"
    );
    assert!(
        score["ari"].as_f64().unwrap() > ari + 0.5,
        "{score} vs chance ARI {ari}"
    );
    let missing = dir.path().join("missing.tsv");
    std::fs::write(&missing, "/no/such/video.mp4\tx\n").unwrap();
    let out = vtx(&[
        "eval",
        "clusters",
        "--index",
        &lib.index,
        "--labels",
        missing.to_str().unwrap(),
    ]);
    assert!(
        text(&out.stderr).contains("is not in the index"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn tags_name_each_photo_and_filter_search() {
    let (_dir, index) = fresh_index();
    let index = index.as_str();
    let photos = cache().join("fixtures/photos");
    let out = vtx(&["index", "--index", index, photos.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Before tagging, a tag filter finds nothing.
    let before = search_json(index, "an animal", 5);
    assert!(json_lines(&before)[0]["hits"].as_array().unwrap().len() == 5);
    let out = vtx(&["search", "--index", index, "an animal", "--tag", "cat", "--json"]);
    assert!(json_lines(&out)[0]["hits"].as_array().unwrap().is_empty());
    let tagged = json_lines(&vtx(&["tag", "--index", index, "--json", "--top", "3"])).remove(0);
    let tagged = tagged.as_array().unwrap();
    assert_eq!(tagged.len(), 5);
    // Each photo's own subject is among its top three ImageNet labels.
    for (clip, word) in [
        ("cat.mp4", "cat"),
        ("coffee.mp4", "espresso"),
        ("rocket.mp4", "missile"),
    ] {
        let video = tagged
            .iter()
            .find(|v| file_name(v["video"].as_str().unwrap()) == clip)
            .unwrap();
        let labels: Vec<&str> = video["segments"][0]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t[0].as_str().unwrap())
            .collect();
        assert!(
            labels.iter().any(|l| l.to_lowercase().contains(word)),
            "{clip}: {labels:?}"
        );
    }
    // Search filtered by a tag: only the cat's moment, whatever the query ranks first.
    let out = vtx(&["search", "--index", index, "a rocket", "--tag", "cat", "--json"]);
    let found = hits(&json_lines(&out)[0]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(file_name(&found[0].0), "cat.mp4");
    // Clusters list their members' most frequent tags.
    let clusters = json_lines(&vtx(&["cluster", "--index", index, "--k", "5", "--json"])).remove(0);
    let cat = cluster_with(&clusters, of_video("cat.mp4"));
    let tags: Vec<&str> = cat["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0].as_str().unwrap())
        .collect();
    assert!(tags.iter().any(|t| t.to_lowercase().contains("cat")), "{cat}");
    // One video alone, named as `./cat.mp4` from its folder (as `vtx index` would take it), with a
    // built-in label set: only it is tagged again, the others keep theirs.
    let relative = Command::new(env!("CARGO_BIN_EXE_vtx"))
        .current_dir(&photos)
        .args(["tag", "--index", index, "./cat.mp4", "--labels", "coco", "--json"])
        .output()
        .unwrap();
    let coco = json_lines(&relative).remove(0);
    assert_eq!(coco.as_array().unwrap().len(), 1, "{coco}");
    assert_eq!(coco[0]["tags"][0][0], "cat", "{coco}");
    let out = vtx(&["search", "--index", index, "a drink", "--tag", "espresso", "--json"]);
    assert_eq!(file_name(&hits(&json_lines(&out)[0])[0].0), "coffee.mp4");
    let out = vtx(&["tag", "--index", index, "--labels", "no-such-set"]);
    assert_fails(&out, 3, "built-in sets: imagenet, coco, kinetics");
    let out = vtx(&["tag", "--index", index, "/no/such/clip.mp4"]);
    assert_fails(&out, 3, "is not in the index");
    // Tagging again replaces the tags: a high threshold keeps none.
    let none = json_lines(&vtx(&["tag", "--index", index, "--json", "--min-score", "1.5"])).remove(0);
    assert!(none
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["segments"][0]["tags"].as_array().unwrap().is_empty()));
    let out = vtx(&["search", "--index", index, "a rocket", "--tag", "cat", "--json"]);
    assert!(json_lines(&out)[0]["hits"].as_array().unwrap().is_empty());
}

/// A fresh index of the 40 digit clips (four per digit, from OpenCV's digits.png; see
/// scripts/setup.sh), and the clips' folder.
fn digits_index() -> (tempfile::TempDir, String, PathBuf) {
    let (dir, index) = fresh_index();
    let digits = cache().join("fixtures/digits");
    let out = vtx(&["index", "--index", &index, digits.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (dir, index, digits)
}

/// `clip<TAB>digit` for each of the 40 digit clips, and the digits in the same order.
fn digit_labels(digits: &Path) -> (Vec<String>, Vec<usize>) {
    let mut lines = Vec::new();
    let mut truth = Vec::new();
    for digit in 0..10usize {
        for block in 0..4 {
            lines.push(format!(
                "{}\t{digit}",
                digits.join(format!("{digit}-{block}.mp4")).display()
            ));
            truth.push(digit);
        }
    }
    (lines, truth)
}

#[test]
fn handwritten_digits_cluster_by_digit_far_above_chance() {
    // 40 clips from OpenCV's digits.png, four per digit (scripts/setup.sh).
    let (dir, index, digits) = digits_index();
    let (lines, truth) = digit_labels(&digits);
    let tsv = dir.path().join("digits.tsv");
    let score = eval_clusters(&index, &tsv, &lines);
    assert_eq!(
        (score["videos"].as_u64(), score["labels"].as_u64()),
        (Some(40), Some(10)),
        "{score}"
    );
    let (nmi, ari) = chance(&truth, 10);
    assert!(
        score["nmi"].as_f64().unwrap() > nmi + 0.3,
        "{score} vs chance NMI {nmi:.3}"
    );
    assert!(
        score["ari"].as_f64().unwrap() > ari + 0.5,
        "{score} vs chance ARI {ari:.3}"
    );
    // HDBSCAN, with no k: also far above chance; what it leaves out is reported as noise.
    let density = eval_clusters_with(&index, &tsv, &["--algorithm", "hdbscan", "--min-cluster-size", "2"]);
    assert!(density["nmi"].as_f64().unwrap() > nmi + 0.3, "{density}");
    assert!(density["ari"].as_f64().unwrap() > ari + 0.4, "{density}");
    let hdbscan = |min_size: &str, json: bool| {
        let mut args = vec!["cluster", "--index", &index, "--algorithm", "hdbscan"];
        args.extend(["--min-cluster-size", min_size]);
        if json {
            args.push("--json");
        }
        vtx(&args)
    };
    let clusters = json_lines(&hdbscan("3", true)).remove(0);
    let clusters = clusters["clusters"].as_array().unwrap();
    let listed: usize = clusters.iter().map(|c| c["members"].as_array().unwrap().len()).sum();
    assert_eq!(listed, 40, "every clip in a cluster or in the noise");
    let noise = clusters.iter().filter(|c| c["id"] == -1).count();
    assert!(noise <= 1, "one noise entry at most");
    assert!(clusters
        .iter()
        .filter(|c| c["id"] != -1)
        .all(|c| c["size"].as_u64().unwrap() >= 3));
    assert_fails(&hdbscan("50", false), 4, "cannot hold a cluster of at least 50");
}

#[test]
fn clusters_take_a_text_space_a_fused_space_or_whitened_vectors() {
    let (dir, index, digits) = digits_index();
    let (lines, truth) = digit_labels(&digits);
    let tsv = dir.path().join("digits.tsv");
    std::fs::write(&tsv, lines.join("\n")).unwrap();
    let (nmi, _) = chance(&truth, 10);
    let score = |extra: &[&str]| eval_clusters_with(&index, &tsv, extra);
    // ImageNet has no digits, so the ConSE text space sees them less sharply than the visual one.
    for (extra, space, margin) in [
        (&["--space", "text"][..], "text", 0.2),
        (&["--space", "visual+text"][..], "visual+text", 0.3),
        (&["--whiten", "8"][..], "visual", 0.3),
    ] {
        let found = score(extra);
        assert_eq!(found["space"], space, "{extra:?}: {found}");
        assert!(
            found["nmi"].as_f64().unwrap() > nmi + margin,
            "{extra:?}: {found} vs chance NMI {nmi:.3}"
        );
    }
    // Whitening changes what k-means sees, not just the name on it.
    let (plain, whitened) = (score(&["--k", "5"]), score(&["--k", "5", "--whiten", "2"]));
    assert_ne!(plain["nmi"], whitened["nmi"], "{plain} {whitened}");
    let cluster = |extra: &[&str]| {
        let mut args = vec!["cluster", "--index", &index];
        args.extend(extra);
        vtx(&args)
    };
    assert_fails(
        &cluster(&["--space", "nope"]),
        3,
        "no space 'nope' in this index (it has: motion, text, visual)",
    );
    assert_fails(&cluster(&["--space", "visual+visual"]), 2, "named twice");
    assert_fails(&cluster(&["--whiten", "0"]), 2, "at least 1 dimension");
    assert_fails(
        &cluster(&["--whiten", "4", "--texts", tsv.to_str().unwrap()]),
        2,
        "texts cannot be clustered in whitened vectors",
    );
}

#[test]
fn contact_sheets_and_the_map_show_the_clusters() {
    let (dir, index, _) = digits_index();
    let pictures = dir.path().join("pictures");
    let out = vtx(&[
        "cluster",
        "--index",
        &index,
        "--level",
        "segment",
        "--k",
        "10",
        "--pictures",
        pictures.to_str().unwrap(),
        "--json",
    ]);
    let clusters = json_lines(&out).remove(0);
    let clusters = clusters["clusters"].as_array().unwrap();
    let mut written: Vec<String> = std::fs::read_dir(&pictures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = (0..clusters.len()).map(|i| format!("cluster-{i}.png")).collect();
    expected.push("map.png".into());
    expected.sort();
    assert_eq!(written, expected);
    // The first tile of a sheet is the medoid's thumbnail, cropped to 192x108 at (8, 44).
    let first = &clusters[0];
    let segment = first["medoid"]["segment"].as_i64().unwrap().to_string();
    let jpeg = dir.path().join("medoid.jpg");
    let out = vtx(&["thumbnail", "--index", &index, &segment, "-o", jpeg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tile_size = vtx_media::FrameSize::new(192, 108, vtx_media::Resize::CenterCrop);
    let tile = vtx_media::load_picture(&jpeg, &[tile_size]).unwrap().remove(0);
    let sheet_path = pictures.join("cluster-0.png");
    let rows = (first["size"].as_u64().unwrap().min(30) as u32).div_ceil(5);
    let sheet_size = vtx_media::FrameSize::new(5 * 200 + 8, 44 + rows * 128 + 8, vtx_media::Resize::Squash);
    let sheet = vtx_media::load_picture(&sheet_path, &[sheet_size]).unwrap().remove(0);
    let row_bytes = sheet_size.width as usize * 3;
    let mut difference = 0u64;
    for y in 0..108usize {
        let at = (44 + y) * row_bytes + 8 * 3;
        let line = &sheet[at..at + 192 * 3];
        difference += line
            .iter()
            .zip(&tile[y * 192 * 3..(y + 1) * 192 * 3])
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum::<u64>();
    }
    let mean = difference as f64 / (192.0 * 108.0 * 3.0);
    assert!(mean < 2.0, "tile vs thumbnail: mean difference {mean}");
    // The map: one colour per cluster among the dots (palette of 12, so all 10 differ).
    let map_size = vtx_media::FrameSize::new(1020, 720, vtx_media::Resize::Squash);
    let map = vtx_media::load_picture(&pictures.join("map.png"), &[map_size])
        .unwrap()
        .remove(0);
    let colours: BTreeSet<[u8; 3]> = map
        .chunks_exact(3)
        .enumerate()
        .filter(|(i, _)| i % 1020 < 720)
        .map(|(_, p)| [p[0], p[1], p[2]])
        .filter(|p| p.iter().max().unwrap() - p.iter().min().unwrap() > 40)
        .collect();
    assert_eq!(colours.len(), clusters.len(), "{colours:?}");
}

/// A small mixed index: the five photo clips, three encodings of the LEGO clip, two OpenCV
/// videos and the three motion fixtures.
fn mixed_index() -> (tempfile::TempDir, String) {
    let (dir, index) = fresh_index();
    let c = cache();
    let mut args: Vec<String> = vec!["index".into(), "--index".into(), index.clone()];
    args.push(c.join("fixtures/photos").to_string_lossy().into_owned());
    args.push(c.join("fixtures/motion").to_string_lossy().into_owned());
    for f in ["mp4.mp4", "webm.webm", "flv.flv"] {
        args.push(c.join(MIMETYPE).join(f).to_string_lossy().into_owned());
    }
    for f in ["vtest.avi", "Megamind.avi"] {
        args.push(c.join(OPENCV).join(f).to_string_lossy().into_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = vtx(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (dir, index)
}

#[test]
fn texts_cluster_with_their_videos_and_motion_clusters_by_motion() {
    let (dir, index) = mixed_index();
    let texts = dir.path().join("topics.txt");
    std::fs::write(&texts, "a cat\na cup of coffee\na rocket launch\na grand piano\n").unwrap();
    let with_texts = |more: &[&str]| {
        let mut args = vec!["cluster", "--index", &index, "--texts", texts.to_str().unwrap()];
        args.extend(more);
        vtx(&args)
    };
    let clusters = json_lines(&with_texts(&["--json"])).remove(0);
    for (topic, clip) in [
        ("a cat", "cat.mp4"),
        ("a cup of coffee", "coffee.mp4"),
        ("a rocket launch", "rocket.mp4"),
    ] {
        let home = cluster_with(&clusters, |m| m["text"] == topic);
        let members = home["members"].as_array().unwrap();
        assert!(members.iter().any(of_video(clip)), "{topic} lands with {clip}: {home}");
        assert!(
            members.iter().any(|m| m["text"] == home["name"]),
            "a text among the members names the cluster: {home}"
        );
    }
    // A topic the library does not hold forms its own cluster.
    let piano = cluster_with(&clusters, |m| m["text"] == "a grand piano");
    assert_eq!(piano["size"], 1, "{piano}");
    // Texts need a space that embeds text; motion cannot hold them.
    assert_fails(
        &with_texts(&["--stream", "motion"]),
        2,
        "texts cannot be clustered by motion",
    );
    // By motion alone, the still clip goes with the (still) photo clips and the pan does not.
    let out = vtx(&["cluster", "--index", &index, "--stream", "motion", "--k", "3", "--json"]);
    let clusters = json_lines(&out).remove(0);
    let cluster_of = |clip: &str| cluster_with(&clusters, of_video(clip))["id"].as_i64().unwrap();
    assert_eq!(cluster_of("still.mp4"), cluster_of("cat.mp4"), "{clusters}");
    assert_eq!(cluster_of("still.mp4"), cluster_of("rocket.mp4"), "{clusters}");
    assert_ne!(cluster_of("pan.mp4"), cluster_of("cat.mp4"), "{clusters}");
    let out = vtx(&["cluster", "--index", &index, "--stream", "both", "--k", "4", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = vtx(&["cluster", "--index", &index, "--stream", "both", "--motion-weight", "2"]);
    assert_fails(&out, 2, "within 0-1");
    // Refused whatever the stream, as the API refuses it, not silently left unused.
    let out = vtx(&[
        "cluster",
        "--index",
        &index,
        "--stream",
        "rgb",
        "--motion-weight",
        "1.5",
    ]);
    assert_fails(&out, 2, "within 0-1");
}

#[test]
fn captions_find_their_videos_far_better_than_shuffled_captions() {
    let (dir, index) = mixed_index();
    let c = cache();
    let photos = c.join("fixtures/photos");
    let captioned: Vec<(PathBuf, &str)> = vec![
        (photos.join("cat.mp4"), "a cat looking at the camera"),
        (photos.join("coffee.mp4"), "a cup of espresso on a saucer"),
        (photos.join("rocket.mp4"), "a rocket on the launch pad at night"),
        (photos.join("motorcycle.mp4"), "a red motorcycle in a garage"),
        (photos.join("astronaut.mp4"), "an astronaut in an orange space suit"),
        (c.join(OPENCV).join("vtest.avi"), "people walking across a square"),
        (c.join(MIMETYPE).join("mp4.mp4"), "a toy drill made of plastic bricks"),
    ];
    let retrieval = |captions: &Path, more: &[&str]| {
        let mut args = vec![
            "eval",
            "retrieval",
            "--index",
            &index,
            "--captions",
            captions.to_str().unwrap(),
        ];
        args.extend(more);
        vtx(&args)
    };
    let evaluate = |rotation: usize| -> Value {
        let tsv = dir.path().join(format!("captions-{rotation}.tsv"));
        let lines: Vec<String> = (0..captioned.len())
            .map(|i| {
                let caption = captioned[(i + rotation) % captioned.len()].1;
                format!("{}\t{caption}", captioned[i].0.display())
            })
            .collect();
        std::fs::write(&tsv, lines.join("\n")).unwrap();
        json_lines(&retrieval(&tsv, &["--json"])).remove(0)
    };
    let right = evaluate(0);
    let shuffled = evaluate(3);
    assert_eq!(
        (right["videos"].as_u64(), right["captions"].as_u64()),
        (Some(7), Some(7))
    );
    for direction in ["text_to_video", "video_to_text"] {
        let (r, s) = (&right[direction], &shuffled[direction]);
        assert!(
            r["r1"].as_f64().unwrap() >= s["r1"].as_f64().unwrap() + 0.4,
            "{direction}: {r} vs shuffled {s}"
        );
        assert!(
            r["mean_rank"].as_f64().unwrap() + 2.0 <= s["mean_rank"].as_f64().unwrap(),
            "{direction}: {r} vs shuffled {s}"
        );
        assert!(r["r5"].as_f64().unwrap() >= r["r1"].as_f64().unwrap());
    }
    let bad = dir.path().join("bad.tsv");
    for (content, code, complaint) in [
        ("no tab here\n", 2, "expected video<TAB>caption"),
        ("/no/such/clip.mp4\tsomething\n", 3, "is not in the index"),
    ] {
        std::fs::write(&bad, content).unwrap();
        assert_fails(&retrieval(&bad, &[]), code, complaint);
    }
    // Categories after a second tab get figures of their own; --failures names each caption
    // that missed, with what came first instead.
    let categorised = dir.path().join("categorised.tsv");
    let lines: Vec<String> = captioned
        .iter()
        .enumerate()
        .map(|(i, (video, caption))| {
            let category = if i < 2 { "animal or food" } else { "other" };
            format!("{}\t{caption}\t{category}", video.display())
        })
        .collect();
    std::fs::write(&categorised, lines.join("\n")).unwrap();
    let found = json_lines(&retrieval(&categorised, &["--json", "--failures"])).remove(0);
    assert_eq!(
        found["text_to_video"], right["text_to_video"],
        "categories change nothing else"
    );
    let categories = found["categories"].as_array().unwrap();
    let counts: Vec<(&str, u64)> = categories
        .iter()
        .map(|c| (c["category"].as_str().unwrap(), c["queries"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, [("animal or food", 2), ("other", 5)]);
    let misses = found["misses"].as_array().unwrap();
    let missed = (right["text_to_video"]["r1"].as_f64().unwrap() * 7.0).round() as usize;
    assert_eq!(misses.len(), 7 - missed, "{misses:#?}");
    for miss in misses {
        assert!(
            miss["rank"].as_u64().unwrap() > 1 && miss["first"] != miss["video"],
            "{miss}"
        );
    }
    // Without --failures the misses stay out; the text form lists them with it.
    let quiet = json_lines(&retrieval(&categorised, &["--json"])).remove(0);
    assert!(quiet.get("misses").is_none() && quiet.get("categories").is_some());
    let out = retrieval(&categorised, &["--failures"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("by category") && text.contains("animal or food"),
        "{text}"
    );
    assert_eq!(text.contains("did not come first"), !misses.is_empty(), "{text}");
}

#[test]
fn the_packs_bridge_beats_plain_conse_on_the_dev_sets() {
    let models = installed_models();
    // The pack as installed, and beside it the paper's ConSE: classes described by their names
    // alone, the top 10 at their own probabilities (the manifest's WordNet, top-k and
    // temperature lines dropped).
    let names_only = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&models).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name != "efficientnet-lite0" && name != "cache" {
            std::os::unix::fs::symlink(entry.path(), names_only.path().join(&name)).unwrap();
        }
    }
    let own = names_only.path().join("efficientnet-lite0");
    std::fs::create_dir(&own).unwrap();
    for file in ["model.onnx", "labels.txt"] {
        std::os::unix::fs::symlink(models.join("efficientnet-lite0").join(file), own.join(file)).unwrap();
    }
    let manifest = std::fs::read_to_string(models.join("efficientnet-lite0/vtx-model.toml")).unwrap();
    let without: Vec<&str> = manifest
        .lines()
        .filter(|l| {
            ![
                "descriptions",
                "hypernym_weight",
                "gloss_weight",
                "top_k",
                "temperature",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect();
    assert!(
        without.len() < manifest.lines().count(),
        "the pack's manifest names WordNet descriptions"
    );
    std::fs::write(own.join("vtx-model.toml"), without.join("\n")).unwrap();

    let (objects, emoji) = (
        cache().join("fixtures/object-devset"),
        cache().join("fixtures/emoji-devset"),
    );
    let sets = [
        objects.join("captions.tsv"),
        objects.join("words.tsv"),
        emoji.join("captions.tsv"),
    ];
    let mut clips: Vec<String> = [&sets[0], &sets[2]]
        .iter()
        .flat_map(|set| {
            std::fs::read_to_string(set)
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter_map(|l| l.split('\t').next().map(String::from))
        .collect();
    clips.dedup();
    // Per set: text to video (R@1, R@10, mean rank) and the number of captions.
    let measure = |models_dir: &Path| -> Vec<(f64, f64, f64, f64)> {
        let (_dir, index) = fresh_index();
        let models_dir = models_dir.to_str().unwrap();
        let mut args = vec!["index", "--index", &index, "--no-motion", "--models-dir", models_dir];
        args.extend(clips.iter().map(String::as_str));
        let out = vtx(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        sets.iter()
            .map(|set| {
                let found = json_lines(&vtx(&[
                    "eval",
                    "retrieval",
                    "--index",
                    &index,
                    "--models-dir",
                    models_dir,
                    "--captions",
                    set.to_str().unwrap(),
                    "--json",
                ]))
                .remove(0);
                let t2v = &found["text_to_video"];
                (
                    t2v["r1"].as_f64().unwrap(),
                    t2v["r10"].as_f64().unwrap(),
                    t2v["mean_rank"].as_f64().unwrap(),
                    found["captions"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let (grounded, plain) = (measure(&models), measure(names_only.path()));
    for (set, (&(r1, r10, rank, captions), &(plain_r1, plain_r10, plain_rank, _))) in
        sets.iter().zip(grounded.iter().zip(&plain))
    {
        let said = format!(
            "{}: R@1 {r1}, R@10 {r10}, mean rank {rank} with the pack; {plain_r1}, {plain_r10}, {plain_rank} plain",
            set.display()
        );
        println!("{said}");
        // The right clips come higher on every set. On the object sets, whose captions name one
        // thing, at least two more captions find their clip first; on the emoji set, whose
        // captions are Unicode names that ImageNet mostly lacks, a fifth more find it in the top 10.
        assert!(rank < plain_rank, "{said}");
        match set.starts_with(&emoji) {
            false => assert!(r1 * captions >= plain_r1 * captions + 2.0, "{said}"),
            true => assert!(r10 >= 1.2 * plain_r10, "{said}"),
        }
    }
}

/// The model folder the set-up filled (`$VTX_MODELS`, else the cache's).
fn installed_models() -> PathBuf {
    std::env::var_os("VTX_MODELS").map_or_else(|| cache().join("models"), PathBuf::from)
}

/// `vtx index` of one video into a fresh index, with extra arguments and environment.
fn index_with(video: &Path, args: &[&str], env: &[(&str, &Path)]) -> (Output, u64) {
    let (_dir, index) = fresh_index();
    let out = Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(["index", "--index", &index])
        .args(args)
        .arg(video)
        .envs(env.iter().copied())
        .env_remove("VTX_DEVICE")
        .stdin(Stdio::null())
        .output()
        .expect("vtx runs");
    let stored = stored_videos(&index);
    (out, stored)
}

#[test]
fn the_device_is_chosen_by_flag_environment_or_manifest_and_cuda_without_one_is_refused() {
    let video = cache().join("fixtures/photos/cat.mp4");
    let models = installed_models();
    // The CPU build of ONNX Runtime, as the default set-up installs it.
    let cpu_runtime = models.join("onnxruntime/libonnxruntime.so");
    let on_cpu: &[(&str, &Path)] = &[("VTX_ORT_LIB", &cpu_runtime)];

    let (out, stored) = index_with(&video, &["--device", "cuda"], on_cpu);
    assert_fails(&out, 2, "is a CPU-only build (run `make setup-gpu`");
    assert_eq!(stored, 0, "nothing written");
    for device in ["auto", "cpu"] {
        let (out, stored) = index_with(&video, &["--device", device], on_cpu);
        assert!(out.status.success(), "{device}: {}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("note:"), "nothing to fall back from");
        assert_eq!(stored, 1);
    }
    let (out, _) = index_with(&video, &["--device", "gpu"], on_cpu);
    assert_fails(&out, 2, "device must be cpu, cuda or auto");
    let mut by_env = Command::new(env!("CARGO_BIN_EXE_vtx"));
    let (_dir, index) = fresh_index();
    let out = by_env
        .args(["index", "--index", &index])
        .arg(&video)
        .env("VTX_DEVICE", "cuda")
        .env("VTX_ORT_LIB", &cpu_runtime)
        .output()
        .unwrap();
    assert_fails(&out, 2, "CPU-only build");

    // A manifest that asks for CUDA is the default for its model; --device overrides it.
    let folder = tempfile::tempdir().unwrap();
    for entry in ["onnxruntime", "minilm-l6-v2"] {
        std::os::unix::fs::symlink(models.join(entry), folder.path().join(entry)).unwrap();
    }
    let own = folder.path().join("efficientnet-lite0");
    std::fs::create_dir(&own).unwrap();
    for file in ["model.onnx", "labels.txt", "wordnet.tsv"] {
        std::os::unix::fs::symlink(models.join("efficientnet-lite0").join(file), own.join(file)).unwrap();
    }
    let manifest = std::fs::read_to_string(models.join("efficientnet-lite0/vtx-model.toml")).unwrap();
    let asks_cuda = manifest.replacen("\nkind = ", "\ndevice = \"cuda\"\nkind = ", 1);
    assert_ne!(asks_cuda, manifest);
    std::fs::write(own.join("vtx-model.toml"), asks_cuda).unwrap();
    let models_dir = folder.path().to_str().unwrap();
    let (out, stored) = index_with(&video, &["--models-dir", models_dir], on_cpu);
    assert_fails(&out, 2, "CPU-only build");
    assert_eq!(stored, 0);
    let (out, stored) = index_with(&video, &["--models-dir", models_dir, "--device", "cpu"], on_cpu);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stored, 1);
}

#[test]
fn the_gpu_runtime_runs_on_a_gpu_or_auto_falls_back_saying_why() {
    let gpu_runtime = installed_models().join("onnxruntime-gpu/libonnxruntime.so");
    if !gpu_runtime.exists() {
        eprintln!(
            "skipped: no GPU build of ONNX Runtime at {} (`make setup-gpu` installs it)",
            gpu_runtime.display()
        );
        return;
    }
    let video = cache().join("fixtures/photos/cat.mp4");
    let has_gpu = Path::new("/dev/nvidia0").exists();
    let (auto, stored) = index_with(&video, &["--device", "auto"], &[]);
    assert!(auto.status.success(), "{}", text(&auto.stderr));
    assert_eq!(stored, 1);
    let (cuda, stored) = index_with(&video, &["--device", "cuda"], &[]);
    if has_gpu {
        assert!(cuda.status.success(), "{}", text(&cuda.stderr));
        assert_eq!(stored, 1);
    } else {
        let said = text(&auto.stderr);
        assert_eq!(
            said.matches("note: running models on the CPU").count(),
            1,
            "one line, however many models: {said}"
        );
        assert_fails(&cuda, 2, "no NVIDIA driver on this machine");
        assert_eq!(stored, 0);
    }
}
