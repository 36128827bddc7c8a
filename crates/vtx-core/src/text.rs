//! Comparing strings as sequences: what text read off pictures (and, later, heard) is measured by.

/// The least insertions, deletions and substitutions that turn `a` into `b` (Levenshtein).
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(x != y)).min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The character error rate of `read` against `truth`: its edit distance in characters over the
/// length of the truth (0 for a perfect reading; above 1 when far more was read than is there).
pub fn character_error_rate(truth: &str, read: &str) -> f64 {
    let truth: Vec<char> = truth.chars().collect();
    let read: Vec<char> = read.chars().collect();
    edit_distance(&truth, &read) as f64 / truth.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_the_least_changes() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(edit_distance(&chars(""), &chars("abc")), 3);
        assert_eq!(edit_distance(&chars("same"), &chars("same")), 0);
        assert_eq!(edit_distance(&["a", "b"], &["b"]), 1, "words as well as letters");
        assert!((character_error_rate("Gate C12", "Gate C1") - 0.125).abs() < 1e-9);
    }
}
