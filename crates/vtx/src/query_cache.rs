//! Recently embedded queries. People repeat searches (going back, paging, the same question from
//! several users of one server), and embedding a sentence costs more than searching a small index
//! (MiniLM: about 5 ms on 2 cores, `docs/performance.md`).

use std::collections::HashMap;

/// The `capacity` most recently used (model, text) embeddings.
pub(crate) struct QueryCache {
    capacity: usize,
    clock: u64,
    entries: HashMap<(String, String), (u64, Vec<f32>)>,
}

impl QueryCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            clock: 0,
            entries: HashMap::new(),
        }
    }

    /// The embedding of `text` by `model`, if it is here (it becomes the most recently used).
    pub(crate) fn get(&mut self, model: &str, text: &str) -> Option<Vec<f32>> {
        self.clock += 1;
        let clock = self.clock;
        // Keyed by owned strings; a miss costs two small allocations, nothing next to encoding.
        let entry = self.entries.get_mut(&(model.to_string(), text.to_string()))?;
        entry.0 = clock;
        Some(entry.1.clone())
    }

    pub(crate) fn put(&mut self, model: &str, text: &str, vector: Vec<f32>) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            // A scan of at most `capacity` entries per eviction: microseconds, and no list to keep
            // in step with the map.
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.entries
            .insert((model.to_string(), text.to_string()), (self.clock, vector));
    }
}

#[cfg(test)]
mod tests {
    use super::QueryCache;

    #[test]
    fn keeps_the_most_recently_used_per_model() {
        let mut cache = QueryCache::new(2);
        cache.put("m", "a cat", vec![1.0]);
        cache.put("m", "a dog", vec![2.0]);
        assert_eq!(cache.get("m", "a cat"), Some(vec![1.0]));
        assert_eq!(
            cache.get("other", "a cat"),
            None,
            "another model's embedding is another vector"
        );
        cache.put("m", "a bird", vec![3.0]);
        assert_eq!(cache.get("m", "a dog"), None, "the least recently used went");
        assert_eq!(cache.get("m", "a cat"), Some(vec![1.0]));
        assert_eq!(cache.get("m", "a bird"), Some(vec![3.0]));
        let mut off = QueryCache::new(0);
        off.put("m", "a cat", vec![1.0]);
        assert_eq!(off.get("m", "a cat"), None);
    }
}
