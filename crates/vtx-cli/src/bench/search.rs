//! `vtx bench search`: search latency, recall and memory of the embedded store (or of a Qdrant
//! cluster, `--store`) at a given size, on synthetic vectors shaped like embeddings (clusters in a
//! low-dimensional subspace plus noise).
//!
//! The work runs in two child processes of this binary, so that each figure belongs to the
//! process a user would run: one writes the index and builds its graph (`insert_s`, `build_s`),
//! the other opens it and searches (`open_s`, latencies, recall, `rss_mb`). The parent adds the
//! size on disk and removes the index unless `--keep` names a folder. On a cluster the build is
//! Qdrant's own indexing, waited for; the collection is kept for the next run unless `--drop`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use vtx_index::{
    AnnOptions, Pooling, QdrantOptions, QdrantStore, SearchRequest, SegmentSpan, Space, SqliteStore, Synthetic,
    TimedVector, VectorStore, VideoEntry, VideoMeta,
};

const SPACE: &str = "bench";
/// Segments per synthetic video: an 8-minute video at 5-second segments.
const SEGMENTS_PER_VIDEO: usize = 100;
const DATA_SEED: u64 = 1;
const QUERY_SEED: u64 = 2;

#[derive(clap::Args, Clone)]
pub struct SearchBenchArgs {
    /// Segment vectors in the index.
    #[arg(long, default_value_t = 100_000)]
    pub segments: usize,
    /// Their dimension.
    #[arg(long, default_value_t = 512)]
    pub dim: usize,
    /// Queries timed (single-threaded, top 10).
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    /// Of those, how many are also answered exactly, for recall and the exact latency.
    #[arg(long, default_value_t = 50)]
    pub exact_queries: usize,
    /// Clusters in the data.
    #[arg(long, default_value_t = 200)]
    pub clusters: usize,
    /// Dimensions the clusters span (the data's intrinsic dimension).
    #[arg(long, default_value_t = 24)]
    pub intrinsic: usize,
    /// How the graph stores vectors: f16, i8 or f32.
    #[arg(long, default_value = "f16")]
    pub quantization: vtx_index::Quantization,
    /// Graph neighbours per node (M).
    #[arg(long, default_value_t = AnnOptions::default().connectivity)]
    pub connectivity: usize,
    /// Candidates kept while building (efConstruction).
    #[arg(long, default_value_t = AnnOptions::default().expansion_add)]
    pub ef_add: usize,
    /// Candidates kept while searching (ef).
    #[arg(long, default_value_t = AnnOptions::default().expansion_search)]
    pub ef_search: usize,
    /// Keep the index in this folder (reused when it already holds one of this size).
    #[arg(long, value_name = "DIR", conflicts_with = "store")]
    pub keep: Option<PathBuf>,
    /// Measure a Qdrant cluster instead: qdrant://HOST:PORT. Its collection (`--collection`,
    /// default vtx_bench_SEGMENTSxDIM) is reused when it holds this many segments.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    #[arg(long, value_name = "NAME", requires = "store")]
    pub collection: Option<String>,
    #[command(flatten)]
    pub layout: crate::args::CollectionLayout,
    /// Drop the collection at the end.
    #[arg(long, requires = "store")]
    pub drop: bool,
    #[arg(long)]
    pub json: bool,
    /// Internal: run one phase in this process.
    #[arg(long, hide = true, value_name = "PHASE")]
    pub phase: Option<String>,
}

impl SearchBenchArgs {
    fn cluster(&self) -> Result<Option<QdrantOptions>> {
        let Some(url) = &self.store else { return Ok(None) };
        let collection = self
            .collection
            .clone()
            .unwrap_or_else(|| format!("vtx_bench_{}x{}", self.segments, self.dim));
        let mut options = crate::commands::qdrant_options(url, &collection)?;
        self.layout.apply(&mut options);
        Ok(Some(options))
    }

    fn ann(&self) -> AnnOptions {
        AnnOptions {
            // The benchmark is about the graph: every size gets one.
            min_points: 0,
            quantization: self.quantization,
            connectivity: self.connectivity,
            expansion_add: self.ef_add,
            expansion_search: self.ef_search,
            ..AnnOptions::default()
        }
    }
}

#[derive(Serialize, Deserialize, Default)]
pub struct SearchBenchReport {
    pub segments: usize,
    pub dim: usize,
    /// Writing the vectors into SQLite (frames and pooled segments).
    pub insert_s: f64,
    /// Building the HNSW graph from what SQLite holds.
    pub build_s: f64,
    /// Opening the index and loading (and checking) the graph in a fresh process.
    pub open_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub recall_at_10: f64,
    pub exact_p50_ms: f64,
    /// Resident memory of the searching process after its queries, and its peak.
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
    /// Peak resident memory of the process that wrote the index and built the graph.
    pub build_peak_rss_mb: f64,
    pub disk_mb: f64,
    pub quantization: String,
    /// `embedded`, or the cluster and collection measured.
    pub store: String,
    pub connectivity: usize,
    pub ef_search: usize,
    pub queries: usize,
    pub exact_queries: usize,
}

impl SearchBenchReport {
    pub fn table(&self) -> String {
        let embedded = self.store == "embedded";
        let (layout, building) = match embedded {
            true => (
                format!(
                    "({} graph, M {}, ef {})",
                    self.quantization, self.connectivity, self.ef_search
                ),
                "graph build",
            ),
            false => (format!("on {}", self.store), "Qdrant's indexing waited for"),
        };
        let memory = match embedded {
            true => format!(
                "  memory: search {:.0} MB (peak {:.0} MB), build peak {:.0} MB; disk {:.0} MB\n",
                self.rss_mb, self.peak_rss_mb, self.build_peak_rss_mb, self.disk_mb
            ),
            false => String::new(),
        };
        format!(
            "{} segments x {} dims {layout}\n  insert {:.1} s, {building} {:.1} s, open {:.2} s\n  search p50 {:.3} ms, p99 {:.3} ms over {} queries; exact p50 {:.1} ms; recall@10 {:.3} over {} queries\n{memory}",
            self.segments,
            self.dim,
            self.insert_s,
            self.build_s,
            self.open_s,
            self.p50_ms,
            self.p99_ms,
            self.queries,
            self.exact_p50_ms,
            self.recall_at_10,
            self.exact_queries,
        )
    }
}

/// The whole benchmark (the parent), or one phase of it (a child).
pub fn run(args: &SearchBenchArgs) -> Result<SearchBenchReport> {
    if args.segments == 0 || args.dim < 2 || args.queries == 0 {
        bail!("the benchmark needs at least one segment, two dimensions and one query");
    }
    match args.phase.as_deref() {
        Some("build") => build(args, &*open(args, true)?),
        Some("query") => query(args, &*open(args, false)?),
        Some(other) => bail!("unknown benchmark phase '{other}'"),
        None => match args.cluster()? {
            Some(cluster) => on_cluster(args, cluster),
            None => parent(args),
        },
    }
}

/// The store a phase works on: the folder `--keep` names, or the cluster's collection.
fn open(args: &SearchBenchArgs, create: bool) -> Result<Box<dyn VectorStore>> {
    if let Some(cluster) = args.cluster()? {
        return Ok(Box::new(match create {
            true => QdrantStore::open(cluster)?,
            false => QdrantStore::open_existing(cluster)?,
        }));
    }
    let dir = args.keep.clone().context("a phase needs the index folder")?;
    Ok(Box::new(match create {
        true => SqliteStore::open_with(&dir, args.ann())?,
        false => SqliteStore::open_existing_with(&dir, args.ann())?,
    }))
}

fn on_cluster(args: &SearchBenchArgs, cluster: QdrantOptions) -> Result<SearchBenchReport> {
    let built = child(args, "build", None)?;
    let mut report = child(args, "query", None)?;
    report.insert_s = built.insert_s;
    report.build_s = built.build_s;
    if args.drop {
        QdrantStore::open_existing(cluster)?.delete_collection()?;
    }
    Ok(report)
}

fn parent(args: &SearchBenchArgs) -> Result<SearchBenchReport> {
    let scratch;
    let dir = match &args.keep {
        Some(dir) => dir.clone(),
        None => {
            scratch = tempfile::Builder::new()
                .prefix("vtx-bench-search-")
                .tempdir()
                .context("cannot make a scratch folder")?;
            scratch.path().to_path_buf()
        }
    };
    let built = child(args, "build", Some(&dir))?;
    let mut report = child(args, "query", Some(&dir))?;
    report.insert_s = built.insert_s;
    report.build_s = built.build_s;
    report.build_peak_rss_mb = built.build_peak_rss_mb;
    report.disk_mb = folder_bytes(&dir) as f64 / 1e6;
    Ok(report)
}

fn child(args: &SearchBenchArgs, phase: &str, dir: Option<&Path>) -> Result<SearchBenchReport> {
    let exe = std::env::current_exe().context("cannot find the vtx binary")?;
    let mut command = Command::new(exe);
    command.args(["bench", "search", "--json", "--phase", phase]);
    if let Some(dir) = dir {
        command.arg("--keep").arg(dir);
    }
    if let Some(cluster) = args.cluster()? {
        command
            .args(["--store", &cluster.url, "--collection", &cluster.collection])
            .args(args.layout.shards.map(|n| format!("--shards={n}")))
            .args(args.layout.replicas.map(|n| format!("--replicas={n}")))
            .args(
                args.layout
                    .write_consistency
                    .map(|n| format!("--write-consistency={n}")),
            )
            .args(args.layout.int8.then_some("--int8"));
    }
    for (flag, value) in [
        ("--segments", args.segments.to_string()),
        ("--dim", args.dim.to_string()),
        ("--queries", args.queries.to_string()),
        ("--exact-queries", args.exact_queries.to_string()),
        ("--clusters", args.clusters.to_string()),
        ("--intrinsic", args.intrinsic.to_string()),
        ("--quantization", args.quantization.as_str().to_string()),
        ("--connectivity", args.connectivity.to_string()),
        ("--ef-add", args.ef_add.to_string()),
        ("--ef-search", args.ef_search.to_string()),
    ] {
        command.arg(flag).arg(value);
    }
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run the benchmark phase")?;
    if !output.status.success() {
        bail!("the benchmark's {phase} phase failed ({})", output.status);
    }
    serde_json::from_slice(&output.stdout).with_context(|| format!("the {phase} phase printed no report"))
}

fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => folder_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn build(args: &SearchBenchArgs, store: &dyn VectorStore) -> Result<SearchBenchReport> {
    store.ensure_space(&Space {
        name: SPACE.into(),
        dim: args.dim,
        model: "synthetic".into(),
    })?;
    let clock = Instant::now();
    let existing = store.count(SPACE)? as usize;
    if existing != args.segments {
        if existing > 0 {
            bail!(
                "the index holds {existing} segments, not {}: give --keep another folder (or --collection another name)",
                args.segments
            );
        }
        let progress = indicatif::ProgressBar::new(args.segments as u64).with_message("writing vectors");
        let mut draw = Synthetic::new(args.dim, args.clusters, args.intrinsic, DATA_SEED);
        draw.reseed(DATA_SEED);
        let mut written = 0;
        for video in 0.. {
            if written >= args.segments {
                break;
            }
            let n = SEGMENTS_PER_VIDEO.min(args.segments - written);
            store.put_video(&synthetic_video(video, n, &mut draw))?;
            written += n;
            progress.inc(n as u64);
        }
        progress.finish_and_clear();
    }
    let insert_s = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    store.optimize(&mut |space, points| eprintln!("building the graph of '{space}' ({points} points)"))?;
    if let Some(cluster) = args.cluster()? {
        QdrantStore::open_existing(cluster)?.wait_until_indexed()?;
    }
    Ok(SearchBenchReport {
        insert_s,
        build_s: clock.elapsed().as_secs_f64(),
        build_peak_rss_mb: vtx_core::resident_mb().1,
        ..SearchBenchReport::default()
    })
}

fn synthetic_video(video: usize, segments: usize, draw: &mut Synthetic) -> VideoEntry {
    let frames = (0..segments)
        .map(|i| TimedVector {
            t: i as f64 * 5.0 + 2.5,
            vector: draw.draw().0,
        })
        .collect();
    VideoEntry::pooled(
        VideoMeta {
            path: format!("/synthetic/{video:07}.mp4"),
            size: 1,
            mtime_ns: 0,
            hash: format!("synthetic {video}"),
            duration: segments as f64 * 5.0,
            fps: Some(1.0),
            format: "synthetic".into(),
            codec: "none".into(),
            width: 0,
            height: 0,
            frames: segments as u32,
        },
        vec![(SPACE.into(), frames)],
        (0..segments)
            .map(|i| SegmentSpan {
                start: i as f64 * 5.0,
                end: (i + 1) as f64 * 5.0,
                thumbnail: None,
            })
            .collect(),
        Pooling::Mean,
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn query(args: &SearchBenchArgs, store: &dyn VectorStore) -> Result<SearchBenchReport> {
    let clock = Instant::now();
    let mut draw = Synthetic::new(args.dim, args.clusters, args.intrinsic, DATA_SEED);
    draw.reseed(QUERY_SEED);
    let queries: Vec<Vec<f32>> = (0..args.queries).map(|_| draw.draw().0).collect();
    // The first search loads the graph: part of opening, not of a query's latency.
    store.hits(&SearchRequest::new(SPACE, &queries[0], 10))?;
    let open_s = clock.elapsed().as_secs_f64();
    let mut latencies = Vec::with_capacity(queries.len());
    let mut approximate = Vec::with_capacity(queries.len());
    for q in &queries {
        let clock = Instant::now();
        let hits = store.hits(&SearchRequest::new(SPACE, q, 10))?;
        latencies.push(clock.elapsed().as_secs_f64() * 1000.0);
        approximate.push(hits);
    }
    let (mut found, mut wanted, mut exact_latencies) = (0usize, 0usize, Vec::new());
    for (q, hits) in queries.iter().zip(&approximate).take(args.exact_queries.max(1)) {
        let clock = Instant::now();
        let exact = store.hits(&SearchRequest {
            exact: true,
            ..SearchRequest::new(SPACE, q, 10)
        })?;
        exact_latencies.push(clock.elapsed().as_secs_f64() * 1000.0);
        wanted += exact.len();
        found += hits
            .iter()
            .filter(|h| exact.iter().any(|e| e.segment == h.segment))
            .count();
    }
    latencies.sort_by(f64::total_cmp);
    exact_latencies.sort_by(f64::total_cmp);
    let (rss_mb, peak_rss_mb) = vtx_core::resident_mb();
    Ok(SearchBenchReport {
        segments: store.count(SPACE)? as usize,
        dim: args.dim,
        open_s,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        recall_at_10: found as f64 / wanted.max(1) as f64,
        exact_p50_ms: percentile(&exact_latencies, 0.5),
        rss_mb,
        peak_rss_mb,
        quantization: args.quantization.as_str().into(),
        store: match args.cluster()? {
            Some(cluster) => format!("{} (collection {})", cluster.url, cluster.collection),
            None => "embedded".into(),
        },
        connectivity: args.connectivity,
        ef_search: args.ef_search,
        queries: latencies.len(),
        exact_queries: exact_latencies.len(),
        ..SearchBenchReport::default()
    })
}
