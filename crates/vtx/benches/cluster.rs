//! Clustering speed: `cargo bench -p vtx --bench cluster [-- N DIM K]`.
//!
//! N unit vectors of DIM dimensions (default 100,000 x 1280, as many segment vectors of
//! EfficientNet-Lite0) drawn around K centres, clustered with spherical k-means as `vtx cluster`
//! does with a given k (k-means++ seeding, 4 restarts), then the sampled silhouette; k chosen
//! by silhouette; the PCA projection of the library map; whitening (`--whiten`); HDBSCAN on the first 2,000, 5,000 and
//! 10,000 vectors (exact: an n x n matrix) and on all N (a 5,000 sample, the rest assigned).

use std::time::Instant;

use vtx::cluster::{agreement, choose_k, hdbscan, project_2d, silhouette, spherical_kmeans, whiten};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (n, dim, k) = (
        args.first().copied().unwrap_or(100_000),
        args.get(1).copied().unwrap_or(1280),
        args.get(2).copied().unwrap_or(20),
    );
    let mut state = 7u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..k).map(|_| (0..dim).map(|_| next()).collect()).collect();
    let mut truth = Vec::with_capacity(n);
    let data: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            let c = i % k;
            truth.push(c);
            let mut v: Vec<f32> = centres[c].iter().map(|x| x + 0.8 * next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            v
        })
        .collect();
    let start = Instant::now();
    let result = spherical_kmeans(&data, k, 1, 4);
    let kmeans_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let score = silhouette(&data, &result.assignments, k, 2000, 1);
    let silhouette_s = start.elapsed().as_secs_f64();
    let quality = agreement(&result.assignments, &truth);
    println!(
        "{n} x {dim}, k = {k}: spherical k-means (4 restarts) {kmeans_s:.1} s, silhouette on 2,000 {silhouette_s:.2} s ({score:.3}); ARI {:.3}",
        quality.ari
    );
    // k not given: scanned over 2..=12 on a sample, then the full clustering.
    let start = Instant::now();
    let (chosen, result) = choose_k(&data, 2..=12.max(k), 1, 4);
    println!(
        "k chosen by silhouette: {chosen} in {:.1} s; ARI {:.3}",
        start.elapsed().as_secs_f64(),
        agreement(&result.assignments, &truth).ari
    );
    let start = Instant::now();
    let points = project_2d(&data, 1);
    println!(
        "PCA to 2-D of {} vectors: {:.1} s",
        points.len(),
        start.elapsed().as_secs_f64()
    );
    for dims in [16, 64] {
        let mut whitened = data.clone();
        let start = Instant::now();
        whiten(&mut whitened, dims, 1);
        println!("whitening to {dims} dimensions: {:.1} s", start.elapsed().as_secs_f64());
    }
    let mut sizes = vec![2_000, 5_000, 10_000, n];
    sizes.retain(|&s| s <= n);
    sizes.dedup();
    for size in sizes {
        let start = Instant::now();
        // Above 10,000 items this is the sampled variant (5,000 clustered, the rest assigned).
        let grouping = hdbscan(&data[..size], 5, 5, 1).expect("hdbscan");
        let noise = grouping.assignments.iter().filter(|a| a.is_none()).count();
        let found: Vec<usize> = grouping.assignments.iter().map(|a| a.unwrap_or(usize::MAX)).collect();
        println!(
            "HDBSCAN (min cluster 5) on {size}: {:.1} s, {} clusters, {noise} noise; ARI {:.3}",
            start.elapsed().as_secs_f64(),
            grouping.centroids.len(),
            agreement(&found, &truth[..size]).ari
        );
    }
}
