//! End-to-end tests of the Qdrant store: every command on a real 3-node cluster gives the
//! answers the embedded index gives, an index copies between the two, a writer killed mid-video
//! leaves the old version whole, and search goes on with a node down. The cluster comes from
//! `$VTX_QDRANT_URL` or `$VTX_QDRANT_BIN` (see `vtx_index::qdrant` and the README); without either,
//! these tests say so and skip.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use vtx_index::cluster::{unavailable, TestCluster};
use vtx_index::{Claim, QdrantOptions, QdrantStore, SqliteStore, VectorStore};

mod common;
use common::{cache, file_name, kill_after, photo_clips, vtx};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    out
}

/// Where an index is: `--index DIR`, or `--store URL --collection NAME`.
fn at(location: &[String]) -> Vec<&str> {
    location.iter().map(String::as_str).collect()
}

fn run(args: &[&str], location: &[String]) -> Output {
    let mut all = args.to_vec();
    all.extend(at(location));
    vtx(&all)
}

/// Every segment of the index, ranked for `query` by exact visual search: (file, start).
fn ranked(query: &str, location: &[String]) -> Vec<(String, f64)> {
    let out = ok(run(
        &["search", query, "--mode", "visual", "--exact", "--top", "500", "--json"],
        location,
    ));
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                file_name(h["video"].as_str().unwrap()).to_string(),
                (h["start"].as_f64().unwrap() * 1000.0).round() / 1000.0,
            )
        })
        .collect()
}

fn names(hits: &[(String, f64)]) -> Vec<&str> {
    hits.iter().map(|h| h.0.as_str()).collect()
}

fn info(location: &[String]) -> Value {
    serde_json::from_slice(&ok(run(&["info", "--json"], location)).stdout).unwrap()
}

fn cluster_at(cluster: &TestCluster, collection: &str) -> Vec<String> {
    vec![
        "--store".into(),
        cluster.url.clone(),
        "--collection".into(),
        collection.into(),
    ]
}

fn library(dir: &Path) -> String {
    photo_clips(dir).to_string_lossy().into_owned()
}

#[test]
fn an_unreachable_cluster_is_one_line_and_its_own_exit_code() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("qdrant://127.0.0.1:{port}");
    for args in [vec!["search", "a cat"], vec!["info"], vec!["index", "/nonexistent.mp4"]] {
        let out = run(&args, &[String::from("--store"), url.clone()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("cannot reach the Qdrant cluster at {url}")),
            "{stderr}"
        );
    }
    let out = vtx(&["info", "--store", "http://127.0.0.1:6334"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--store takes qdrant://HOST:PORT"));
}

/// A `vtx index` worker, started: `vtx index ARGS... LOCATION`.
fn worker(args: &[String], location: &[String]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_vtx"))
        .arg("index")
        .args(args)
        .args(location)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `n` workers of `vtx index library` at once into one index, worker k (from 1) with
/// `extra(k)` added: what each said.
fn index_at_once(library: &str, n: u32, location: &[String], extra: impl Fn(u32) -> Vec<String>) -> Vec<String> {
    let workers: Vec<_> = (1..=n)
        .map(|k| {
            let mut args = vec![library.to_string()];
            args.extend(extra(k));
            worker(&args, location)
        })
        .collect();
    workers
        .into_iter()
        .map(|worker| text(&ok(worker.wait_with_output().unwrap()).stderr))
        .collect()
}

/// `vtx index --shard K/N` on each of `n` workers at once, into one index: what each said.
fn index_in_shards(library: &str, n: u32, location: &[String]) -> Vec<String> {
    index_at_once(library, n, location, |k| vec!["--shard".into(), format!("{k}/{n}")])
}

/// The count before `what` in the summary line of `vtx index` ("indexed 3 video(s), 2 by other
/// workers, ..."), 0 where it is not there.
fn counted(summary: &str, what: &str) -> u32 {
    let line = summary.lines().find(|l| l.starts_with("indexed ")).unwrap();
    line.trim_start_matches("indexed ")
        .split(", ")
        .find_map(|part| part.strip_suffix(what).map(str::trim))
        .map_or(0, |n| n.split(' ').next().unwrap().parse().unwrap())
}

/// Two workers without `--shard` on one folder at once: each video is claimed and indexed by
/// one of them, and each summary counts every video of the run.
fn workers_share_a_folder_by_claims(library: &str, location: &[String]) {
    let summaries = index_at_once(library, 2, location, |_| Vec::new());
    let here: Vec<u32> = summaries.iter().map(|s| counted(s, "video(s)")).collect();
    assert_eq!(here.iter().sum::<u32>(), 5, "each file once: {summaries:?}");
    for summary in &summaries {
        let whole = counted(summary, "video(s)") + counted(summary, "by other workers") + counted(summary, "unchanged");
        assert_eq!(whole, 5, "the summary counts the whole run: {summary}");
    }
    assert!(
        summaries.iter().any(|s| counted(s, "by other workers") > 0),
        "the workers overlapped: {summaries:?}"
    );
    assert_eq!(info(location)["videos"], 5);
}

/// The store at `location` (`--index DIR`, or `--store URL --collection NAME`).
fn store_at(location: &[String]) -> Box<dyn VectorStore> {
    match location {
        [flag, dir] if flag == "--index" => Box::new(SqliteStore::open(Path::new(dir)).unwrap()),
        [_, url, _, collection] => {
            let mut options = QdrantOptions::from_url(url).unwrap();
            options.collection = collection.clone();
            Box::new(QdrantStore::open_existing(options).unwrap())
        }
        other => panic!("not a location: {other:?}"),
    }
}

/// Wait until a worker other than this test holds the claim on `file`'s content.
fn wait_for_its_claim(file: &Path, location: &[String]) {
    let content = blake3::hash(&std::fs::read(file).unwrap()).to_hex().to_string();
    let store = store_at(location);
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(60) {
        // A probe that finds the claim free holds it for a millisecond, and gives it back.
        match store
            .claim(&content, "test probe", std::time::Duration::from_millis(1))
            .unwrap()
        {
            Claim::Held { .. } => return,
            Claim::Ours => store.release(&content, "test probe").unwrap(),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no worker claimed {}", file.display());
}

/// A worker killed holding its claim: a worker that was waiting for the video takes it over
/// once the lease runs out, and says so.
fn a_dead_workers_claim_is_taken_over(dir: &Path, location: &[String]) {
    let long = dir.join("long");
    std::fs::create_dir_all(&long).unwrap();
    let video = long.join("cockatoo.mp4");
    std::fs::copy(cache().join("fixtures/bench/cockatoo-1080p.mp4"), &video).unwrap();
    let args = vec![long.to_string_lossy().into_owned(), "--lease".into(), "2".into()];
    let mut first = worker(&args, location);
    wait_for_its_claim(&video, location);
    let second = worker(&args, location);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first worker was still indexing"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    let said = text(&ok(second.wait_with_output().unwrap()).stderr);
    assert_eq!(counted(&said, "video(s)"), 1, "{said}");
    assert!(said.contains("took over 1 video(s)"), "{said}");
}

#[test]
fn shards_and_claims_share_a_folder_and_together_index_every_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let library = library(dir.path());
    let index = vec![
        "--index".to_string(),
        dir.path().join("index").to_string_lossy().into_owned(),
    ];
    // The index exists before the workers start, as a cluster's collection would.
    assert_eq!(run(&["index", "/nonexistent.mp4"], &index).status.code(), Some(1));
    let summaries = index_in_shards(&library, 2, &index);
    let indexed: Vec<u32> = summaries
        .iter()
        .map(|s| {
            let line = s.lines().find(|l| l.starts_with("indexed ")).unwrap();
            line["indexed ".len()..].split(' ').next().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(indexed.iter().sum::<u32>(), 5, "each file once: {summaries:?}");
    assert!(
        summaries.iter().any(|s| s.contains("left to other shards")),
        "{summaries:?}"
    );
    assert_eq!(info(&index)["videos"], 5);
    let again = index_in_shards(&library, 2, &index);
    assert!(again.iter().all(|s| s.contains("indexed 0 video(s)")), "{again:?}");

    let shared = vec![
        "--index".to_string(),
        dir.path().join("shared").to_string_lossy().into_owned(),
    ];
    assert_eq!(run(&["index", "/nonexistent.mp4"], &shared).status.code(), Some(1));
    workers_share_a_folder_by_claims(&library, &shared);
    a_dead_workers_claim_is_taken_over(dir.path(), &shared);
    let out = vtx(&["index", &library, "--shard", "3/2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not K/N"), "{}", text(&out.stderr));
}

#[test]
fn a_cluster_answers_as_the_embedded_index_copies_both_ways_and_survives_kills_and_a_node_down() {
    let Some(mut cluster) = TestCluster::from_env(3) else {
        eprintln!(
            "skipped: the Qdrant end-to-end tests ({})",
            unavailable().unwrap_or_default()
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let library = library(dir.path());
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let lib = cluster_at(&cluster, &format!("e2e_{run_id}_lib"));
    let embedded = vec![
        "--index".to_string(),
        dir.path().join("embedded").to_string_lossy().into_owned(),
    ];

    // Index: the same folder into the cluster (3 shards, 2 copies of each) and into a directory.
    let mut index = vec!["index", &library, "--shards", "3", "--replicas", "2"];
    index.extend(at(&lib));
    let out = ok(vtx(&index));
    assert!(
        text(&out.stderr).contains("indexed 5 video(s)"),
        "{}",
        text(&out.stderr)
    );
    ok(run(&["index", &library], &embedded));

    // Two workers, no shards, one folder: claims share it out.
    let claimed = cluster_at(&cluster, &format!("e2e_{run_id}_claims"));
    assert_eq!(run(&["index", "/nonexistent.mp4"], &claimed).status.code(), Some(1));
    workers_share_a_folder_by_claims(&library, &claimed);
    a_dead_workers_claim_is_taken_over(dir.path(), &claimed);

    let described = info(&lib);
    assert_eq!(described["videos"], 5);
    assert_eq!(described["cluster"]["shards"], 3);
    assert_eq!(described["cluster"]["replicas"], 2);
    if cluster.is_local() {
        assert_eq!(described["cluster"]["nodes"], 3);
    }
    assert_eq!(described["segments"], info(&embedded)["segments"]);

    // What indexing passes stored is read from the cluster too.
    let cat = format!("{library}/cat.mp4");
    let mut stored_text = vec!["text", &cat];
    stored_text.extend(at(&lib));
    let out = vtx(&stored_text);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no text was read in"),
        "{}",
        text(&out.stderr)
    );

    // Search, similar and cluster give what the embedded index gives.
    for query in ["a cat", "a rocket launch", "a cup of coffee"] {
        assert_eq!(ranked(query, &lib), ranked(query, &embedded), "{query}");
    }
    let similar = |location: &[String]| -> Vec<String> {
        let out = ok(run(&["similar", &cat, "--json"], location));
        let found: Value = serde_json::from_slice(&out.stdout).unwrap();
        found["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| file_name(h["video"].as_str().unwrap()).to_string())
            .collect()
    };
    assert_eq!(similar(&lib), similar(&embedded));
    let clusters = ok(run(&["cluster", "--k", "2", "--json"], &lib));
    let clusters: Value = serde_json::from_slice(&clusters.stdout).unwrap();
    let members: u64 = clusters["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .sum();
    assert!(members > 0, "{clusters}");

    // Export the directory into a new collection, import the cluster's into a new directory.
    let moved = cluster_at(&cluster, &format!("e2e_{run_id}_moved"));
    let mut export = vec!["export"];
    export.extend(at(&embedded));
    export.extend(at(&moved));
    let out = ok(vtx(&export));
    assert!(text(&out.stdout).contains("copied 5 videos"), "{}", text(&out.stdout));
    let out = ok(vtx(&export));
    assert!(text(&out.stdout).contains("copied 0 videos") && text(&out.stdout).contains("5 already there"));
    let imported = vec![
        "--index".to_string(),
        dir.path().join("imported").to_string_lossy().into_owned(),
    ];
    let mut import = vec!["import"];
    import.extend(at(&lib));
    import.extend(at(&imported));
    ok(vtx(&import));
    let expected = ranked("a cat", &embedded);
    assert_eq!(ranked("a cat", &moved), expected);
    assert_eq!(ranked("a cat", &imported), expected);

    // A writer killed mid-video: readers see the old version or the new, whole, never a mix.
    let changing = dir.path().join("library/changing.mp4");
    std::fs::copy(cache().join("fixtures/joined.mp4"), &changing).unwrap();
    let mut index_changing = vec!["index", changing.to_str().unwrap()];
    index_changing.extend(at(&lib));
    ok(vtx(&index_changing));
    let of_changing = |hits: Vec<(String, f64)>| -> Vec<f64> {
        let mut starts: Vec<f64> = hits
            .into_iter()
            .filter(|h| h.0 == "changing.mp4")
            .map(|h| h.1)
            .collect();
        starts.sort_by(f64::total_cmp);
        starts
    };
    let old = of_changing(ranked("a bird", &lib));
    assert!(!old.is_empty());
    std::fs::copy(cache().join("fixtures/bench/cockatoo-720p.mp4"), &changing).unwrap();
    let mut killed_while_running = 0;
    let mut after_kills = Vec::new();
    for delay_ms in [400, 1500, 3000, 5000] {
        if kill_after(&index_changing, delay_ms) {
            killed_while_running += 1;
        }
        let seen = of_changing(ranked("a bird", &lib));
        let finished = seen != old;
        after_kills.push((delay_ms, seen));
        if finished {
            break;
        }
    }
    assert!(killed_while_running > 0, "no kill landed while the write ran");
    ok(vtx(&index_changing));
    let new = of_changing(ranked("a bird", &lib));
    assert!(new.len() > old.len(), "the rerun completes the new version: {new:?}");
    assert_eq!(new.first(), Some(&0.0));
    for (delay_ms, seen) in after_kills {
        assert!(
            seen == old || seen == new,
            "after a kill at {delay_ms} ms: {seen:?}, neither {old:?} nor {new:?}"
        );
    }

    // One node of three down: with two copies of every shard, search still answers the same.
    let before = ranked("a cat", &lib);
    if cluster.is_local() {
        cluster.nodes[2].kill();
        let while_down = ranked("a cat", &lib);
        assert_eq!(names(&while_down), names(&before));
        // Writes go on too: the copies on the nodes left take them.
        let late = dir.path().join("library/late.mp4");
        std::fs::copy(cache().join("fixtures/shots/fade.mp4"), &late).unwrap();
        let mut index_late = vec!["index", late.to_str().unwrap()];
        index_late.extend(at(&lib));
        let out = ok(vtx(&index_late));
        assert!(
            text(&out.stderr).contains("indexed 1 video(s)"),
            "{}",
            text(&out.stderr)
        );
        let described = info(&lib);
        assert_eq!(described["videos"], 7);
        assert!(
            described["cluster"]["shard_copies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c[2] != "Active"),
            "the dead node's copies are not active: {}",
            described["cluster"]
        );
        cluster.restart(2);
    }
    for location in [&lib, &moved] {
        let mut drop = vec!["remove", &library];
        drop.extend(at(location));
        ok(vtx(&drop));
        assert_eq!(info(location)["videos"], 0);
    }
}
