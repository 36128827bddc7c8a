//! How a clustering agrees with known labels: NMI, ARI, purity.

use std::collections::HashMap;

/// How a clustering agrees with known labels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Agreement {
    /// Normalised mutual information (arithmetic mean normalisation, as scikit-learn's default).
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// Share of items whose cluster's most common label is their own.
    pub purity: f64,
    pub clusters: usize,
    pub labels: usize,
}

/// Compare cluster assignments with true labels (any ids; equal length).
pub fn agreement(clusters: &[usize], labels: &[usize]) -> Agreement {
    let n = clusters.len() as f64;
    let mut table: HashMap<(usize, usize), f64> = HashMap::new();
    let mut per_cluster: HashMap<usize, f64> = HashMap::new();
    let mut per_label: HashMap<usize, f64> = HashMap::new();
    for (&c, &l) in clusters.iter().zip(labels) {
        *table.entry((c, l)).or_default() += 1.0;
        *per_cluster.entry(c).or_default() += 1.0;
        *per_label.entry(l).or_default() += 1.0;
    }
    let entropy = |counts: &HashMap<usize, f64>| -> f64 { counts.values().map(|&x| -(x / n) * (x / n).ln()).sum() };
    let mutual: f64 = table
        .iter()
        .map(|(&(c, l), &x)| (x / n) * ((x * n) / (per_cluster[&c] * per_label[&l])).ln())
        .sum();
    let (hc, hl) = (entropy(&per_cluster), entropy(&per_label));
    let nmi = if hc + hl == 0.0 { 1.0 } else { 2.0 * mutual / (hc + hl) };
    let pairs = |x: f64| x * (x - 1.0) / 2.0;
    let index: f64 = table.values().map(|&x| pairs(x)).sum();
    let (sum_c, sum_l): (f64, f64) = (
        per_cluster.values().map(|&x| pairs(x)).sum(),
        per_label.values().map(|&x| pairs(x)).sum(),
    );
    let expected = sum_c * sum_l / pairs(n).max(f64::EPSILON);
    let max_index = (sum_c + sum_l) / 2.0;
    let ari = if (max_index - expected).abs() < f64::EPSILON {
        1.0
    } else {
        (index - expected) / (max_index - expected)
    };
    let mut best_per_cluster: HashMap<usize, f64> = HashMap::new();
    for (&(c, _), &x) in &table {
        let slot = best_per_cluster.entry(c).or_default();
        *slot = slot.max(x);
    }
    Agreement {
        nmi,
        ari,
        purity: best_per_cluster.values().sum::<f64>() / n.max(1.0),
        clusters: per_cluster.len(),
        labels: per_label.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_hand_computed_examples() {
        // Identical partitions (whatever the ids): everything is 1.
        let perfect = agreement(&[0, 0, 1, 1], &[5, 5, 7, 7]);
        assert!((perfect.nmi - 1.0).abs() < 1e-12 && (perfect.ari - 1.0).abs() < 1e-12);
        assert_eq!((perfect.purity, perfect.clusters, perfect.labels), (1.0, 2, 2));
        // Clusters {a,a,b} {b,b,a}: purity 4/6. Contingency [[2,1],[1,2]]: index = 1+1 = 2,
        // sum over clusters 3+3 = 6 and labels 6, expected 6*6/15 = 2.4, max 6:
        // ARI = (2 - 2.4) / (6 - 2.4) = -1/9.
        let mixed = agreement(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 1, 0]);
        assert!((mixed.purity - 4.0 / 6.0).abs() < 1e-12);
        assert!((mixed.ari - (-1.0 / 9.0)).abs() < 1e-12, "{mixed:?}");
        // MI = 2 * (2/6 ln(2*6/9) ) + 2 * (1/6 ln(6/9)) = (2/3) ln(4/3) + (1/3) ln(2/3); H = ln 2.
        let mi = (2.0 / 3.0) * (4.0f64 / 3.0).ln() + (1.0 / 3.0) * (2.0f64 / 3.0).ln();
        assert!((mixed.nmi - mi / 2f64.ln()).abs() < 1e-12, "{mixed:?}");
        // One cluster for two labels: no information.
        let lumped = agreement(&[0, 0, 0, 0], &[0, 0, 1, 1]);
        assert!(lumped.nmi.abs() < 1e-12 && lumped.ari.abs() < 1e-12 && lumped.purity == 0.5);
    }
}
