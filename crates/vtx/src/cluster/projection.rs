//! Principal components of the clustered vectors: a two-dimensional view for a map of the
//! library, and whitening before k-means.

use vtx_core::{dot, normalize, Rng};

/// Vectors the axes are found on; neither a plot nor whitening needs them exact.
const PCA_SAMPLE: usize = 5000;
/// Whitening finds up to a few hundred axes at once, each pass costing samples x dims x axes.
const WHITEN_SAMPLE: usize = 1500;
const MAX_PASSES: usize = 60;

/// The mean of (a sample of) `data` and its `count` leading principal axes, unit and orthogonal,
/// found by block power iteration on the centred sample (never forming the d x d covariance).
fn principal_axes(data: &[Vec<f32>], count: usize, sample_max: usize, seed: u64) -> (Vec<f32>, Vec<Vec<f32>>) {
    let dim = data[0].len();
    let step = (data.len() as f64 / sample_max as f64).max(1.0);
    let sample: Vec<&Vec<f32>> = (0..data.len().min(sample_max))
        .map(|i| &data[(i as f64 * step) as usize])
        .collect();
    let mut mean = vec![0f64; dim];
    for v in &sample {
        mean.iter_mut().zip(v.iter()).for_each(|(m, x)| *m += f64::from(*x));
    }
    let mean: Vec<f32> = mean.iter().map(|m| (m / sample.len() as f64) as f32).collect();
    let centred: Vec<Vec<f32>> = sample
        .iter()
        .map(|v| v.iter().zip(&mean).map(|(x, m)| x - m).collect())
        .collect();
    let mut rng = Rng::new(seed);
    let mut axes: Vec<Vec<f32>> = (0..count)
        .map(|_| (0..dim).map(|_| rng.unit() as f32 - 0.5).collect())
        .collect();
    orthonormalise(&mut axes);
    for _ in 0..MAX_PASSES {
        // axes <- C axes = sum over v of v <v, axis>, then made orthonormal again in order, so
        // that the first settles on the leading component, the second on the next, and so on.
        let mut next = vec![vec![0f32; dim]; count];
        for v in &centred {
            for (n, axis) in next.iter_mut().zip(&axes) {
                let weight = dot(v, axis);
                n.iter_mut().zip(v).for_each(|(n, x)| *n += weight * x);
            }
        }
        orthonormalise(&mut next);
        let settled = next.iter().zip(&axes).all(|(n, a)| dot(n, a).abs() > 1.0 - 1e-6);
        axes = next;
        if settled {
            break;
        }
    }
    (mean, axes)
}

/// Gram-Schmidt in order; an axis with nothing left of its own becomes zero.
fn orthonormalise(axes: &mut [Vec<f32>]) {
    for i in 0..axes.len() {
        let (earlier, rest) = axes.split_at_mut(i);
        let axis = &mut rest[0];
        for e in earlier.iter() {
            let along = dot(axis, e);
            axis.iter_mut().zip(e).for_each(|(a, e)| *a -= along * e);
        }
        normalize(axis);
    }
}

/// Each vector's coordinates on the two leading principal components of a sample of at most
/// 5,000 of them.
pub fn project_2d(data: &[Vec<f32>], seed: u64) -> Vec<[f32; 2]> {
    if data.is_empty() {
        return Vec::new();
    }
    let (mean, axes) = principal_axes(data, 2, PCA_SAMPLE, seed);
    let centred = |v: &[f32], axis: &[f32]| -> f32 { dot(v, axis) - dot(&mean, axis) };
    data.iter()
        .map(|v| [centred(v, &axes[0]), centred(v, &axes[1])])
        .collect()
}

/// Replace each vector by its coordinates on the `dims` leading principal components, each
/// divided by that component's spread, made unit length. The few directions of largest spread
/// in an image model's features are mostly colour and layout; whitened, every direction counts
/// alike in the cosines that k-means compares. `dims` is capped at one less than the vectors.
pub fn whiten(data: &mut [Vec<f32>], dims: usize, seed: u64) {
    let count = dims
        .min(data.len().saturating_sub(1))
        .min(data.first().map_or(0, Vec::len));
    if count == 0 {
        return;
    }
    let (mean, axes) = principal_axes(data, count, WHITEN_SAMPLE, seed);
    let offsets: Vec<f32> = axes.iter().map(|a| dot(&mean, a)).collect();
    let mut coordinates: Vec<Vec<f32>> = data
        .iter()
        .map(|v| axes.iter().zip(&offsets).map(|(a, o)| dot(v, a) - o).collect())
        .collect();
    for axis in 0..count {
        let variance = coordinates.iter().map(|c| f64::from(c[axis]).powi(2)).sum::<f64>() / data.len() as f64;
        let scale = if variance > 1e-12 {
            (1.0 / variance.sqrt()) as f32
        } else {
            0.0
        };
        coordinates.iter_mut().for_each(|c| c[axis] *= scale);
    }
    for (v, mut c) in data.iter_mut().zip(coordinates) {
        normalize(&mut c);
        *v = c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_finds_the_axis_of_largest_spread() {
        // Points along (1, 1, 0) with a little spread along (0, 0, 1): the first component's
        // coordinates keep their order and dwarf the second's.
        let data: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                let t = i as f32 / 10.0;
                vec![t, t, 0.1 * ((i % 5) as f32 - 2.0)]
            })
            .collect();
        let points = project_2d(&data, 7);
        let first: Vec<f32> = points.iter().map(|p| p[0]).collect();
        let increasing = first.windows(2).all(|w| w[1] > w[0]);
        let decreasing = first.windows(2).all(|w| w[1] < w[0]);
        assert!(increasing || decreasing, "{first:?}");
        let spread = |a: usize| points.iter().map(|p| p[a].abs()).fold(0f32, f32::max);
        assert!(spread(0) > 10.0 * spread(1), "{} vs {}", spread(0), spread(1));
        assert!(spread(1) > 0.1, "the second axis holds the small spread");
    }

    #[test]
    fn whitening_gives_every_kept_direction_the_same_spread() {
        // Spread 10 along x, 1 along y, 0.01 along z: after whitening to two dimensions the two
        // coordinates spread alike, and the z noise is gone.
        let mut rng = Rng::new(3);
        let mut data: Vec<Vec<f32>> = (0..400)
            .map(|_| {
                let g = |rng: &mut Rng| (rng.unit() as f32 - 0.5) * 2.0;
                vec![10.0 * g(&mut rng), g(&mut rng), 0.01 * g(&mut rng)]
            })
            .collect();
        whiten(&mut data, 2, 5);
        assert!(data.iter().all(|v| v.len() == 2 && (dot(v, v) - 1.0).abs() < 1e-4));
        let mean_abs = |a: usize| data.iter().map(|v| v[a].abs()).sum::<f32>() / data.len() as f32;
        let (first, second) = (mean_abs(0), mean_abs(1));
        assert!((first / second - 1.0).abs() < 0.2, "{first} vs {second}");
    }

    #[test]
    fn whitening_keeps_fewer_dimensions_than_vectors() {
        let mut data = vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]];
        whiten(&mut data, 64, 1);
        assert!(data.iter().all(|v| v.len() == 1), "{data:?}");
        let mut one = vec![vec![1.0, 2.0]];
        whiten(&mut one, 8, 1);
        assert_eq!(one, vec![vec![1.0, 2.0]], "a lone vector is left as it is");
    }
}
