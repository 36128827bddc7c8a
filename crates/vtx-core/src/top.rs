/// The best `limit` of a stream of scored keys, in O(limit) memory however many are pushed. Best
/// first; equal scores in key order, so a ranking is the same on every run.
pub struct TopK<K> {
    limit: usize,
    best: Vec<(f32, K)>,
}

impl<K: Ord> TopK<K> {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            best: Vec::new(),
        }
    }

    pub fn push(&mut self, score: f32, key: K) {
        self.best.push((score, key));
        // Pruned whenever it doubles: amortised O(1) a push, and never more than 2 x limit held.
        if self.best.len() >= 2 * self.limit.max(64) {
            self.prune();
        }
    }

    /// How many it holds now (at most twice the limit until `finish`).
    pub fn len(&self) -> usize {
        self.best.len()
    }

    pub fn is_empty(&self) -> bool {
        self.best.is_empty()
    }

    fn prune(&mut self) {
        self.best
            .sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        self.best.truncate(self.limit);
    }

    /// The best `limit`, best first.
    pub fn finish(mut self) -> Vec<(f32, K)> {
        self.prune();
        self.best
    }
}

impl<K: Ord> Extend<(f32, K)> for TopK<K> {
    fn extend<I: IntoIterator<Item = (f32, K)>>(&mut self, items: I) {
        items.into_iter().for_each(|(score, key)| self.push(score, key));
    }
}

#[cfg(test)]
mod tests {
    use super::TopK;

    #[test]
    fn keeps_the_best_with_ties_in_key_order() {
        let mut top = TopK::new(2);
        top.extend([(0.1, 3), (0.9, 4), (0.5, 0), (0.9, 1)]);
        assert_eq!(top.finish(), [(0.9, 1), (0.9, 4)]);
        let mut many = TopK::new(3);
        many.extend((0..10_000).map(|i| ((i % 997) as f32, i)));
        assert!(many.len() <= 128);
        assert_eq!(many.finish(), [(996.0, 996), (996.0, 1993), (996.0, 2990)]);
        assert!(TopK::<u8>::new(0).finish().is_empty());
    }
}
