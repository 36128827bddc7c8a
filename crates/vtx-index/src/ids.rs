//! The ids of videos and segments. vtx chooses them, not the store: derived from the video's
//! content hash and the segment's position, so re-indexing a file (even with `--force`), or
//! indexing the same file into another index or on another machine, writes the same ids, and
//! links to `/media/ID` or a thumbnail keep working.
//!
//! An id is the first bytes of a BLAKE3 hash, cut to 53 bits: JSON readers (the web page's
//! JavaScript) hold integers exactly only up to 2^53. Two things can want one id: two files with
//! the same content (duplicates are kept apart, as two videos), or a rare collision of the cut
//! hashes (about one in 10^4 for a library of 10^6 videos). The store then takes the next
//! `attempt`, so the id stays a function of the content and of what the index held before.

/// Ids are below this (2^53).
pub const ID_LIMIT: i64 = 1 << 53;

fn derive(domain: &str, parts: &[&[u8]]) -> i64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(domain.as_bytes());
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let bytes: [u8; 8] = hasher.finalize().as_bytes()[..8].try_into().expect("8 bytes");
    // Zero is left out: some readers take it for "no id".
    ((u64::from_le_bytes(bytes) % (ID_LIMIT as u64 - 1)) + 1) as i64
}

/// The id of a video with content hash `content`, at the `attempt`-th try (0 first).
pub fn video_id(content: &str, attempt: u32) -> i64 {
    derive("vtx video", &[content.as_bytes(), &attempt.to_le_bytes()])
}

/// The id of the `position`-th segment (in time order) of video `video`, at the `attempt`-th try.
pub fn segment_id(video: i64, position: usize, attempt: u32) -> i64 {
    derive(
        "vtx segment",
        &[
            &video.to_le_bytes(),
            &(position as u64).to_le_bytes(),
            &attempt.to_le_bytes(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_safe_for_json() {
        assert_eq!(video_id("abc", 0), video_id("abc", 0));
        assert_ne!(video_id("abc", 0), video_id("abc", 1));
        assert_ne!(video_id("abc", 0), video_id("abd", 0));
        assert_ne!(segment_id(7, 0, 0), segment_id(7, 1, 0));
        assert_ne!(segment_id(7, 0, 0), segment_id(8, 0, 0));
        let all: Vec<i64> = (0..10_000).map(|p| segment_id(42, p, 0)).collect();
        assert!(all.iter().all(|&id| id > 0 && id < ID_LIMIT));
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
        // Pinned: a change here changes every index's ids, and its links.
        assert_eq!(
            (video_id("abc", 0), segment_id(1, 2, 0)),
            (8523349763823754, 7826253389880725)
        );
    }
}
