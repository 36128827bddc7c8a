/// SplitMix64: small, fast and reproducible across platforms, so a seed means the same draws
/// everywhere (no `rand` dependency for one generator).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
}

/// `count` distinct indices below `n` drawn from `seed` (all of them, in order, when `n <= count`).
pub fn sample_indices(n: usize, count: usize, seed: u64) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..n).collect();
    if n > count {
        let mut rng = Rng::new(seed);
        for i in 0..count {
            let j = i + rng.below(n - i);
            indices.swap(i, j);
        }
        indices.truncate(count);
    }
    indices
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_are_seeded_and_in_range() {
        let mut a = super::Rng::new(5);
        let mut b = super::Rng::new(5);
        for _ in 0..1000 {
            let (x, y) = (a.unit(), b.unit());
            assert_eq!(x, y);
            assert!((0.0..1.0).contains(&x));
            assert!(a.below(7) < 7 && b.below(7) < 7);
        }
        let mean = (0..10_000).map(|_| f64::from(a.normal())).sum::<f64>() / 10_000.0;
        assert!(mean.abs() < 0.05, "{mean}");
    }

    #[test]
    fn samples_are_distinct_and_seeded() {
        let drawn = super::sample_indices(100, 10, 3);
        let mut unique = drawn.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert!(drawn.iter().all(|&i| i < 100));
        assert_eq!(drawn, super::sample_indices(100, 10, 3));
        assert_eq!(super::sample_indices(4, 10, 3), [0, 1, 2, 3]);
    }
}
