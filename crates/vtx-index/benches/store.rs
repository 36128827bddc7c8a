//! Store throughput and exact-search latency: `cargo bench -p vtx-index [-- FRAMES]`.
//!
//! Fills a fresh index with FRAMES frames (default 100,000) in videos of 600 frames, each frame with
//! a 384-d and a 1280-d vector as `vtx index` writes them, in segments of 5 frames (pooled at
//! commit), then times text-space searches over the segments.

use std::time::Instant;

use vtx_index::{
    Catalog, Pooling, SearchRequest, SegmentSpan, Space, SqliteStore, TimedVector, VectorIndex, VectorStore,
    VideoEntry, VideoMeta,
};

/// A small deterministic generator, so runs are comparable without a rand dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }

    fn unit(&mut self, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| self.next()).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    }
}

fn main() {
    let frames: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let per_video = 600;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    for (name, dim) in [("text", 384), ("visual", 1280)] {
        store
            .ensure_space(&Space {
                name: name.into(),
                dim,
                model: "bench".into(),
            })
            .unwrap();
    }
    let mut rng = Lcg(7);
    let start = Instant::now();
    for v in 0..frames.div_ceil(per_video) {
        let entry = VideoEntry::pooled(
            VideoMeta {
                path: format!("/videos/{v}.mp4"),
                size: 1,
                mtime_ns: 0,
                hash: String::new(),
                duration: per_video as f64,
                fps: Some(25.0),
                format: "mp4".into(),
                codec: "h264".into(),
                width: 1280,
                height: 720,
                frames: per_video as u32,
            },
            [("text", 384), ("visual", 1280)]
                .into_iter()
                .map(|(space, dim)| {
                    let frames = (0..per_video)
                        .map(|i| TimedVector {
                            t: i as f64,
                            vector: rng.unit(dim),
                        })
                        .collect();
                    (space.to_string(), frames)
                })
                .collect(),
            (0..per_video / 5)
                .map(|i| SegmentSpan {
                    start: i as f64 * 5.0,
                    end: i as f64 * 5.0 + 5.0,
                    thumbnail: None,
                })
                .collect(),
            Pooling::Mean,
        );
        store.put_video(&entry).unwrap();
    }
    let insert = start.elapsed().as_secs_f64();
    let stats = store.stats().unwrap();
    println!(
        "insert: {} frames in {:.2} s ({:.0} frames/s), {:.0} MiB on disk",
        stats.frames,
        insert,
        stats.frames as f64 / insert,
        stats.bytes_on_disk as f64 / (1 << 20) as f64
    );
    let mut times: Vec<f64> = (0..20)
        .map(|_| {
            let q = rng.unit(384);
            let t = Instant::now();
            let request = SearchRequest {
                exact: true,
                ..SearchRequest::new("text", &q, 10)
            };
            let hits = store.hits(&request).unwrap();
            assert_eq!(hits.len(), 10);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "exact text-space search over {} segments: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        stats.segments,
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() - 1]
    );
}
