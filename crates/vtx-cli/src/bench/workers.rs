//! `vtx bench workers`: ingest throughput of N `vtx index` workers started at once on the same
//! files, sharing them by claims, into one index: a new Qdrant collection (`--store`) or a new
//! index folder per count. Each worker is a whole process of this binary, as a user would start
//! one per machine; on one machine the figure shows what the coordination costs, not a speed-up.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use vtx_index::{QdrantStore, SqliteStore, VectorStore};

#[derive(clap::Args, Clone)]
pub struct WorkersBenchArgs {
    /// The videos every worker is given (distinct files: a video's content is what is claimed).
    #[arg(required = true, value_name = "VIDEO")]
    pub videos: Vec<PathBuf>,
    /// Worker counts to measure, each into an index of its own.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub workers: Vec<usize>,
    /// Measure a Qdrant cluster: qdrant://HOST:PORT (a new collection for each count, dropped
    /// after); an embedded index in a scratch folder otherwise.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    #[command(flatten)]
    pub layout: crate::args::CollectionLayout,
    /// Decoders per worker (`vtx index --jobs`).
    #[arg(long, value_name = "N")]
    pub jobs: Option<u16>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
pub struct WorkersBenchReport {
    pub store: String,
    pub videos: usize,
    pub runs: Vec<WorkersRun>,
}

#[derive(Serialize)]
pub struct WorkersRun {
    pub workers: usize,
    pub wall_s: f64,
    /// Seconds of video in the index at the end, over the wall time.
    pub video_s: f64,
    pub x_real_time: f64,
    /// Videos in the index at the end: each file once, or the run lost or doubled some.
    pub indexed: u64,
}

impl WorkersBenchReport {
    pub fn table(&self) -> String {
        let mut out = format!("{} videos into {}\n", self.videos, self.store);
        for run in &self.runs {
            out.push_str(&format!(
                "  {} worker(s): {:.1} s, {:.1} s of video ({:.1}x real time), {} videos indexed\n",
                run.workers, run.wall_s, run.video_s, run.x_real_time, run.indexed
            ));
        }
        out
    }
}

pub fn run(args: &WorkersBenchArgs) -> Result<WorkersBenchReport> {
    if args.workers.contains(&0) {
        bail!("--workers takes counts of at least 1");
    }
    let scratch = tempfile::Builder::new()
        .prefix("vtx-bench-workers-")
        .tempdir()
        .context("cannot make a scratch folder")?;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut runs = Vec::new();
    for &workers in &args.workers {
        let run = match &args.store {
            Some(url) => {
                let mut options =
                    crate::commands::qdrant_options(url, &format!("vtx_bench_workers_{started}_{workers}"))?;
                args.layout.apply(&mut options);
                let location = vec![
                    "--store".into(),
                    url.clone(),
                    "--collection".into(),
                    options.collection.clone(),
                ];
                let store = QdrantStore::open(options)?;
                let run = run_workers(args, workers, &location, &store);
                store.delete_collection()?;
                run
            }
            None => {
                let dir = scratch.path().join(format!("index-{workers}"));
                let location = vec!["--index".into(), dir.to_string_lossy().into_owned()];
                run_workers(args, workers, &location, &SqliteStore::open(&dir)?)
            }
        };
        runs.push(run?);
    }
    Ok(WorkersBenchReport {
        store: args.store.clone().unwrap_or_else(|| "an embedded index".into()),
        videos: args.videos.len(),
        runs,
    })
}

fn run_workers(
    args: &WorkersBenchArgs,
    workers: usize,
    location: &[String],
    store: &dyn VectorStore,
) -> Result<WorkersRun> {
    let exe = std::env::current_exe().context("cannot find the vtx binary")?;
    let clock = Instant::now();
    let children = (0..workers)
        .map(|_| {
            Command::new(&exe)
                .arg("index")
                .args(&args.videos)
                .args(location)
                .args(args.jobs.map(|n| format!("--jobs={n}")))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .context("cannot start a worker")
        })
        .collect::<Result<Vec<_>>>()?;
    for child in children {
        let output = child.wait_with_output().context("a worker")?;
        if !output.status.success() {
            bail!(
                "a worker failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
    let wall_s = clock.elapsed().as_secs_f64();
    let stats = store.stats()?;
    Ok(WorkersRun {
        workers,
        wall_s,
        video_s: stats.total_duration,
        x_real_time: stats.total_duration / wall_s.max(1e-9),
        indexed: stats.videos,
    })
}
