//! Load: `cargo bench -p vtx-server --bench load [-- CLIENTS REQUESTS WORKERS DISTINCT CLUSTERS]`.
//!
//! Indexes the test library's photo clips, joined clip and OpenCV videos (set-up's fixtures) into
//! a temporary index, serves it on a loopback port in this process, and has CLIENTS threads
//! (default 50) issue REQUESTS searches in all (default 2,000), each a GET /api/search with one of
//! a dozen sentences, repeated (DISTINCT 0, the default: the engine's query cache answers most) or
//! each made unique by its request number (DISTINCT 1: every query is embedded). With CLUSTERS 1,
//! one more client asks for `/api/clusters` the whole time, a new seed each request (so no cached
//! answer serves it), after a first clustering timed apart. Reports throughput, p50/p90/p99 latency, the errors (there should be none)
//! and resident memory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const QUERIES: [&str; 12] = [
    "a cat",
    "a cup of coffee",
    "a rocket on the launch pad",
    "a red motorcycle",
    "an astronaut",
    "people walking in a square",
    "a ball rolling on a table",
    "a bird",
    "a toy made of bricks",
    "a cartoon character",
    "a dark night sky",
    "a man talking",
];

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let clients = args.first().copied().unwrap_or(50);
    let requests = args.get(1).copied().unwrap_or(2000);
    let workers = args.get(2).copied().unwrap_or(2);
    let distinct = args.get(3).copied().unwrap_or(0) == 1;
    let with_clusters = args.get(4).copied().unwrap_or(0) == 1;
    let query = move |n: usize| match distinct {
        true => format!("{} {n}", QUERIES[n % QUERIES.len()]),
        false => QUERIES[n % QUERIES.len()].to_string(),
    };
    let cache = vtx_core::cache_dir();
    let library: Vec<PathBuf> = vec![
        cache.join("fixtures/photos"),
        cache.join("fixtures/joined.mp4"),
        cache.join("media/usr/share/doc/opencv-doc/examples/data"),
    ];
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = vtx::EngineConfig::new(dir.path().join("index"), vtx_core::cache_dir().join("models"));
    let engine = vtx::Engine::open(config.clone()).expect("an index");
    let report = engine
        .index(
            &library,
            &vtx::IndexOptions::default(),
            &mut (),
            &AtomicBool::new(false),
        )
        .expect("the library indexes (run `make setup` first)");
    let info = engine.info().expect("index info");
    // The limit: the same searches straight on the engine, one thread, no HTTP.
    let direct = |engine: &vtx::Engine, n: usize| {
        for i in 0..n {
            let options = vtx::SearchOptions {
                top: 10,
                ..Default::default()
            };
            engine.search(&query(i), &options).expect("a search");
        }
    };
    direct(&engine, QUERIES.len());
    let timed = Instant::now();
    direct(&engine, 300);
    let per_search = timed.elapsed().as_secs_f64() / 300.0;
    println!(
        "engine alone, one thread: {:.2} ms a search ({:.0} searches/s)",
        per_search * 1e3,
        1.0 / per_search
    );
    drop(engine);
    println!(
        "index: {} videos, {} segments ({} frames encoded)",
        info.videos, info.segments, report.frames
    );

    let options = vtx_server::ServeOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        workers,
        ..Default::default()
    };
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        vtx_server::serve(config, &options, |addr| bound_tx.send(addr).unwrap()).expect("the server runs");
    });
    let addr = bound_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server listens");
    let base = format!("http://{addr}");
    // Warm up: load the text model.
    for query in QUERIES.iter().take(2) {
        ureq::get(&format!("{base}/api/search"))
            .query("q", query)
            .call()
            .expect("warm-up search");
    }

    if with_clusters {
        // The first clustering embeds the label set that names clusters (1,000 ImageNet labels):
        // seconds, once per server. Measured apart, before the load.
        let first = Instant::now();
        ureq::get(&format!("{base}/api/clusters"))
            .call()
            .expect("a first clustering");
        println!(
            "first clustering (embeds the labels): {:.2} s",
            first.elapsed().as_secs_f64()
        );
    }
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let clusterer = with_clusters.then(|| {
        let (done, errors, base) = (done.clone(), errors.clone(), base.clone());
        std::thread::spawn(move || {
            let agent = ureq::agent();
            let mut took = Vec::new();
            for seed in 1.. {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                let sent = Instant::now();
                let answer = agent
                    .get(&format!("{base}/api/clusters"))
                    .query("seed", &seed.to_string())
                    .call();
                match answer.map(|r| r.into_string()) {
                    Ok(Ok(body)) if body.contains("\"clusters\"") => took.push(sent.elapsed()),
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            took
        })
    });
    let started = Instant::now();
    let client_threads: Vec<_> = (0..clients)
        .map(|_| {
            let (next, errors, base) = (next.clone(), errors.clone(), base.clone());
            std::thread::spawn(move || {
                let agent = ureq::agent();
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= requests {
                        return latencies;
                    }
                    let sent = Instant::now();
                    let answer = agent
                        .get(&format!("{base}/api/search"))
                        .query("q", &query(n))
                        .query("top", "10")
                        .call();
                    match answer.map(|r| r.into_string()) {
                        Ok(Ok(body)) if body.contains("\"hits\"") => latencies.push(sent.elapsed()),
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = client_threads.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let elapsed = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    if let Some(clusterer) = clusterer {
        let took = clusterer.join().unwrap();
        let mean = took.iter().map(Duration::as_secs_f64).sum::<f64>() / took.len().max(1) as f64;
        println!(
            "one client asking for clusters meanwhile: {} answered, {:.2} s each on average",
            took.len(),
            mean
        );
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let (resident, peak) = vtx_core::resident_mb();
    let mib = |mb: f64| mb * 1e6 / f64::from(1u32 << 20);
    println!(
        "{clients} clients, {requests} {} searches, {workers} workers: {:.1} requests/s, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} errors; resident {:.0} MiB (peak {:.0} MiB)",
        if distinct { "distinct" } else { "repeated" },
        latencies.len() as f64 / elapsed,
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
        errors.load(Ordering::Relaxed),
        mib(resident),
        mib(peak)
    );
}
