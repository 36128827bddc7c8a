//! End-to-end tests of what the store seam gives a user: approximate search that answers as exact
//! search does, `vtx remove` and `vtx index --prune`, all or nothing even under `kill -9`.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

mod common;
use common::{file_name, kill_after, photo_clips, vtx};

fn vtx_with_graphs(args: &[&str]) -> Output {
    // Every space gets a graph, however small, so these tests walk one.
    Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(args)
        .env("VTX_ANN_MIN_POINTS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("vtx runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn info(index: &str) -> Value {
    let out = vtx(&["info", "--index", index, "--json", "--videos"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn indexed_names(index: &str) -> Vec<String> {
    let mut names: Vec<String> = info(index)["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| file_name(v["video"].as_str().unwrap()).to_string())
        .collect();
    names.sort();
    names
}

/// (video file name, start, segment) of each hit of `vtx search QUERY --json`.
fn moments(out: &Output) -> Vec<(String, f64, i64)> {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    line["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                file_name(h["video"].as_str().unwrap()).to_string(),
                h["start"].as_f64().unwrap(),
                h["segment"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn search(index: &str, query: &str, exact: bool) -> Vec<(String, f64, i64)> {
    let mut args = vec!["search", "--index", index, query, "--json", "--top", "20"];
    if exact {
        args.push("--exact");
    }
    moments(&vtx_with_graphs(&args))
}

/// A folder of copies of the photo clips, indexed with a graph on every space.
fn photo_library(dir: &Path) -> (String, String) {
    let library = photo_clips(dir);
    let index = dir.join("index").to_string_lossy().into_owned();
    let library = library.to_string_lossy().into_owned();
    let out = vtx_with_graphs(&["index", "--index", &index, &library]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("approximate index of 'visual' built"),
        "graphs are built after indexing: {stderr}"
    );
    (index, library)
}

#[test]
fn graph_search_answers_as_exact_search_and_removed_videos_never_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let (index, library) = photo_library(dir.path());
    assert!(Path::new(&index).join("ann").read_dir().unwrap().count() >= 2);
    let spaces = |out: Output| -> Vec<(String, u64, bool)> {
        let info: Value = serde_json::from_slice(&out.stdout).unwrap();
        info["spaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let name = s["name"].as_str().unwrap().to_string();
                (
                    name,
                    s["segment_vectors"].as_u64().unwrap(),
                    s["approximate"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let with_graphs = spaces(vtx_with_graphs(&["info", "--index", &index, "--json"]));
    assert!(
        with_graphs.iter().all(|(_, n, approximate)| *n >= 5 && *approximate),
        "{with_graphs:?}"
    );
    let by_default = spaces(vtx(&["info", "--index", &index, "--json"]));
    assert!(
        by_default.iter().all(|(_, _, approximate)| !approximate),
        "5 videos are searched exactly"
    );
    for query in ["a cat", "a cup of coffee", "a rocket"] {
        let approximate = search(&index, query, false);
        assert_eq!(approximate, search(&index, query, true), "{query}");
    }
    assert_eq!(search(&index, "a cat", false)[0].0, "cat.mp4");

    // Ids derive from each file's content and each segment's position: a forced re-index writes
    // the same ones, so links to a video or a thumbnail keep working.
    let before = search(&index, "a cat", true);
    let out = vtx_with_graphs(&["index", "--index", &index, &library, "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        search(&index, "a cat", true),
        before,
        "the same moments under the same ids"
    );
    let cat_segments =
        |hits: &[(String, f64, i64)]| -> Vec<i64> { hits.iter().filter(|h| h.0 == "cat.mp4").map(|h| h.2).collect() };

    let cat = format!("{library}/cat.mp4");
    let out = vtx_with_graphs(&["remove", "--index", &index, &cat]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), format!("removed {cat}"));
    let hits = search(&index, "a cat", false);
    assert!(hits.iter().all(|h| h.0 != "cat.mp4"), "{hits:?}");
    assert_eq!(hits, search(&index, "a cat", true));

    // A path that names no indexed video removes nothing, even beside one that does.
    let coffee = format!("{library}/coffee.mp4");
    let out = vtx_with_graphs(&["remove", "--index", &index, &coffee, "/no/such/video.mp4"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("not in the index (nothing was removed)"));
    assert_eq!(
        indexed_names(&index),
        ["astronaut.mp4", "coffee.mp4", "motorcycle.mp4", "rocket.mp4"]
    );

    // --prune drops what is gone from disk under the paths given, and only that.
    std::fs::remove_file(&coffee).unwrap();
    let out = vtx_with_graphs(&["index", "--index", &index, &library, "--prune"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("pruned 1 video(s)"), "{stderr}");
    // The removed cat is still on disk under the folder, so indexing the folder brings it back.
    assert!(stderr.contains("indexed 1 video(s), 3 unchanged"), "{stderr}");
    assert_eq!(
        indexed_names(&index),
        ["astronaut.mp4", "cat.mp4", "motorcycle.mp4", "rocket.mp4"]
    );
    assert_eq!(
        cat_segments(&search(&index, "a cat", true)),
        cat_segments(&before),
        "removed and indexed again, the cat keeps its ids"
    );
    assert!(search(&index, "a cup of coffee", false)
        .iter()
        .all(|h| h.0 != "coffee.mp4"));
    let missing_root = dir.path().join("unmounted").to_string_lossy().into_owned();
    let out = vtx_with_graphs(&["index", "--index", &index, &missing_root, "--prune"]);
    assert!(!text(&out.stderr).contains("pruned"), "a missing root prunes nothing");
    assert_eq!(indexed_names(&index).len(), 4);

    // A folder removes everything indexed under it.
    let out = vtx_with_graphs(&["remove", "--index", &index, &library]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(info(&index)["videos"].as_u64(), Some(0));
    assert!(search(&index, "a rocket", false).is_empty());
}

#[test]
fn a_removal_killed_at_any_moment_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let index_str = index.to_string_lossy().into_owned();
    // A synthetic index big enough that removing all of it takes a while: 400 videos of 100
    // segments, 64-d, with a graph.
    let out = vtx(&[
        "bench",
        "search",
        "--segments",
        "40000",
        "--dim",
        "64",
        "--queries",
        "1",
        "--exact-queries",
        "1",
        "--keep",
        &index_str,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = info(&index_str)["videos"].as_u64().unwrap();
    assert_eq!(all, 400);
    let mut killed_while_running = 0;
    for delay_ms in [40, 120, 250, 500, 900] {
        if kill_after(&["remove", "--index", &index_str, "/synthetic"], delay_ms) {
            killed_while_running += 1;
        }
        let info = info(&index_str);
        let (videos, segments) = (info["videos"].as_u64().unwrap(), info["segments"].as_u64().unwrap());
        assert!(
            (videos, segments) == (all, all * 100) || (videos, segments) == (0, 0),
            "after a kill at {delay_ms} ms: {videos} videos, {segments} segments"
        );
        if videos == 0 {
            break;
        }
    }
    assert!(killed_while_running > 0, "no kill landed while the removal ran");
    if info(&index_str)["videos"].as_u64() != Some(0) {
        let out = vtx(&["remove", "--index", &index_str, "/synthetic"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(info(&index_str)["videos"].as_u64(), Some(0));
    assert_eq!(info(&index_str)["segments"].as_u64(), Some(0));
}

#[test]
fn a_graph_build_killed_half_way_leaves_an_index_that_rebuilds_it_and_answers_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index").to_string_lossy().into_owned();
    let size = [
        "--segments",
        "60000",
        "--dim",
        "96",
        "--queries",
        "20",
        "--exact-queries",
        "20",
        "--keep",
        &index,
    ];
    // The benchmark's build phase writes the vectors, then builds the graph: kill it once the
    // graph build has begun.
    let mut args = vec!["bench", "search", "--json", "--phase", "build"];
    args.extend(size);
    let mut child = Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("building the graph") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the build phase ended before building a graph"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the graph build finished before it could be killed"
    );
    child.kill().unwrap(); // SIGKILL, mid-build
    child.wait().unwrap();
    let ann = Path::new(&index).join("ann");
    assert!(!ann.join("bench.hnsw").exists(), "no graph file until one is whole");
    // The next run finds the vectors in SQLite, builds the graph, removes the dead writer's
    // scraps and searches as well as an index built in one go.
    let mut args = vec!["bench", "search", "--json"];
    args.extend(size);
    let out = vtx(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["segments"].as_u64(), Some(60000));
    assert!(report["recall_at_10"].as_f64().unwrap() >= 0.95, "{report}");
    let left: Vec<String> = ann
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["bench.hnsw"], "temporary files of the killed build are gone");
}
