//! Vectors shaped like real embeddings, for benchmarks and the contract suite: real ones cluster
//! and span few directions, so they come from a mixture of clusters in a low-dimensional subspace
//! plus a little noise in every dimension. (Uniformly random vectors are the worst case of any
//! graph index and say nothing about how it does on embeddings.)

use vtx_core::{normalize, Rng};

/// A seeded source of unit vectors: `clusters` centres in an `intrinsic`-dimensional subspace of
/// `dim` dimensions, each vector a centre plus a spread within the subspace plus `noise` outside.
pub struct Synthetic {
    dim: usize,
    basis: Vec<Vec<f32>>,
    centres: Vec<Vec<f32>>,
    spread: f32,
    noise: f32,
    rng: Rng,
}

impl Synthetic {
    /// `clusters` groups in a subspace of `intrinsic` dimensions (at most `dim`).
    pub fn new(dim: usize, clusters: usize, intrinsic: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let intrinsic = intrinsic.clamp(1, dim);
        let basis: Vec<Vec<f32>> = (0..intrinsic)
            .map(|_| {
                let mut v: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
                normalize(&mut v);
                v
            })
            .collect();
        let centres = (0..clusters.max(1))
            .map(|_| (0..intrinsic).map(|_| rng.normal()).collect())
            .collect();
        Self {
            dim,
            basis,
            centres,
            spread: 0.35,
            noise: 0.02,
            rng,
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Draw from the same clusters with another stream of random numbers (queries apart from
    /// the data, say).
    pub fn reseed(&mut self, seed: u64) {
        self.rng = Rng::new(seed ^ 0xA076_1D64_78BD_642F);
    }

    /// The next unit vector, and the cluster it was drawn around.
    pub fn draw(&mut self) -> (Vec<f32>, usize) {
        let cluster = self.rng.below(self.centres.len());
        let coords: Vec<f32> = self.centres[cluster]
            .iter()
            .map(|c| c + self.spread * self.rng.normal())
            .collect();
        let mut v: Vec<f32> = (0..self.dim).map(|_| self.noise * self.rng.normal()).collect();
        for (coord, axis) in coords.iter().zip(&self.basis) {
            v.iter_mut().zip(axis).for_each(|(x, a)| *x += coord * a);
        }
        normalize(&mut v);
        (v, cluster)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vectors_are_unit_seeded_and_clustered() {
        let mut a = super::Synthetic::new(64, 4, 8, 7);
        let mut b = super::Synthetic::new(64, 4, 8, 7);
        let drawn: Vec<(Vec<f32>, usize)> = (0..200).map(|_| a.draw()).collect();
        assert_eq!(drawn[5], b.draw_nth(6));
        for (v, _) in &drawn {
            let n: f32 = v.iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-4);
        }
        let cos = |x: &[f32], y: &[f32]| vtx_core::dot(x, y);
        let (mut same, mut other) = (Vec::new(), Vec::new());
        for i in 0..drawn.len() {
            for j in i + 1..drawn.len() {
                let c = cos(&drawn[i].0, &drawn[j].0);
                if drawn[i].1 == drawn[j].1 {
                    same.push(c)
                } else {
                    other.push(c)
                }
            }
        }
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        assert!(mean(&same) > mean(&other) + 0.2, "{} vs {}", mean(&same), mean(&other));
    }

    impl super::Synthetic {
        fn draw_nth(&mut self, n: usize) -> (Vec<f32>, usize) {
            (1..n).for_each(|_| {
                self.draw();
            });
            self.draw()
        }
    }
}
