//! A two-dimensional view of a clustering: each item's coordinates on the two leading principal
//! components, for a map of the library.

use vtx_core::{dot, normalize, Rng};

/// Vectors the projection's axes are found on; a plot does not need them exact.
const PCA_SAMPLE: usize = 5000;

/// Each vector's coordinates on the two leading principal components, found by power iteration
/// on the centred vectors (never forming the d x d covariance) of a sample of at most 5,000.
pub fn project_2d(data: &[Vec<f32>], seed: u64) -> Vec<[f32; 2]> {
    let Some(dim) = data.first().map(Vec::len) else {
        return Vec::new();
    };
    let mut rng = Rng::new(seed);
    let sample: Vec<&Vec<f32>> = if data.len() > PCA_SAMPLE {
        let step = data.len() as f64 / PCA_SAMPLE as f64;
        (0..PCA_SAMPLE).map(|i| &data[(i as f64 * step) as usize]).collect()
    } else {
        data.iter().collect()
    };
    let mut mean = vec![0f64; dim];
    for v in &sample {
        mean.iter_mut().zip(v.iter()).for_each(|(m, x)| *m += f64::from(*x));
    }
    let mean: Vec<f32> = mean.iter().map(|m| (m / sample.len() as f64) as f32).collect();
    let centred = |v: &[f32], axis: &[f32]| -> f32 { dot(v, axis) - dot(&mean, axis) };
    let mut axes: Vec<Vec<f32>> = Vec::new();
    for _ in 0..2 {
        let mut axis: Vec<f32> = (0..dim).map(|_| rng.unit() as f32 - 0.5).collect();
        normalize(&mut axis);
        for _ in 0..60 {
            // axis <- C axis = sum over v of (v - mean) <(v - mean), axis>, minus earlier axes.
            let mut next = vec![0f32; dim];
            for v in &sample {
                let weight = centred(v, &axis);
                next.iter_mut()
                    .zip(v.iter().zip(&mean))
                    .for_each(|(n, (x, m))| *n += weight * (x - m));
            }
            for earlier in &axes {
                let along = dot(&next, earlier);
                next.iter_mut().zip(earlier).for_each(|(n, e)| *n -= along * e);
            }
            normalize(&mut next);
            let settled = dot(&next, &axis).abs() > 1.0 - 1e-6;
            axis = next;
            if settled {
                break;
            }
        }
        axes.push(axis);
    }
    data.iter()
        .map(|v| [centred(v, &axes[0]), centred(v, &axes[1])])
        .collect()
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
}
