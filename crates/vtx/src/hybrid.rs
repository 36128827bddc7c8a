//! Keyword search over what videos show in writing, and its fusion with vector search: the two
//! rankings of one query joined by reciprocal rank fusion, so that a moment that matches in
//! either (or both) ranks, each hit saying why.

use std::collections::HashMap;

use vtx_index::{Hit, Keywords, Snippet, TextMatch};

/// Which rankings a search runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    /// Vector search and keyword search, fused (plain vector search where the index has no
    /// text, or the query no word to look for).
    #[default]
    Hybrid,
    /// The pictures alone: the query embedded in a text space.
    Visual,
    /// The words read on screen and heard (`vtx index --ocr`, `--speech`) alone, ranked by
    /// BM25.
    Keyword,
    /// What is said alone (`vtx index --speech`): the transcript segments whose words mean the
    /// query, and those that hold its words, fused.
    Speech,
}

vtx_core::names!(SearchMode, "search mode", {
    SearchMode::Hybrid => "hybrid",
    SearchMode::Visual => "visual",
    SearchMode::Keyword => "keyword",
    SearchMode::Speech => "speech",
});

/// Reciprocal rank fusion's constant: a hit at rank r of a ranking adds `weight / (K + r)`. 60 is
/// the value of the paper that introduced it (Cormack et al., 2009), and it keeps the first few
/// ranks of either list close to each other.
pub const RRF_K: f32 = 60.0;
/// How much each ranking weighs in the fusion: alike, so that a moment found only by its words,
/// one found only by its pictures and one found only by what is said in it, each first in its
/// list, tie.
pub const VISUAL_WEIGHT: f32 = 1.0;
pub const KEYWORD_WEIGHT: f32 = 1.0;
pub const SPEECH_WEIGHT: f32 = 1.0;
/// A segment joins the speech ranking only if what is said in it is this close to the query
/// (cosine in the sentence encoder's space): a vector ranking always has a first, and a moment
/// where something unrelated is said must not rise for it. Measured with MiniLM on the speech
/// fixtures: paraphrases of a sentence 0.43-0.47, unrelated queries 0.12 at most.
pub const SPEECH_MIN_COSINE: f32 = 0.3;
/// How deep each ranking is read before the fusion.
pub(crate) const FUSION_DEPTH: usize = 50;

pub(crate) const VISUAL: &str = "visual";
pub(crate) const KEYWORD: &str = "keyword";
pub(crate) const SPEECH: &str = "speech";

/// Words that carry no subject of their own: in a hybrid search, a line of text is not a match
/// for a sentence because it holds "the". A keyword search keeps them.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its", "of", "on", "or",
    "that", "the", "this", "to", "was", "were", "with",
];

/// The keywords of a sentence for the keyword half of a hybrid search: its phrases, and its words
/// but the stop words; `None` when nothing is left.
pub(crate) fn hybrid_keywords(query: &str) -> Option<Keywords> {
    let mut keywords = Keywords::parse(query).ok()?;
    keywords.words.retain(|w| !STOP_WORDS.contains(&w.as_str()));
    (!keywords.phrases.is_empty() || !keywords.words.is_empty()).then_some(keywords)
}

/// A keyword match as a hit: its segment, and the line that matched, from the first matched word
/// where the line has word times.
pub(crate) fn keyword_hit(mut hit: Hit, found: &TextMatch) -> Hit {
    hit.matched = vec![KEYWORD.into()];
    hit.snippet = Some(Snippet {
        text: found.snippet.clone(),
        source: found.source,
        start: first_marked_word(found).unwrap_or(found.line.start),
        end: found.line.end,
    });
    hit
}

/// When the first word the snippet marks is said: the snippet is the line with marks added, so
/// its n-th word is the line's n-th timed word when both have as many.
fn first_marked_word(found: &TextMatch) -> Option<f64> {
    let words = &found.line.words;
    let marked: Vec<&str> = found.snippet.split_whitespace().collect();
    if words.is_empty() || marked.len() != words.len() {
        return None;
    }
    let at = marked.iter().position(|w| w.contains(vtx_index::HIGHLIGHT.0))?;
    Some(words[at].start)
}

/// Join rankings of the same query, each with its weight: each segment's score is the sum over the
/// rankings that hold it of `weight / (RRF_K + rank)`, ranks from 1; a segment in several keeps the
/// first one's span, every reason it matched, and the first snippet. With `per_video`, only each
/// video's best segment. The `top` best, best first.
pub(crate) fn fuse<const N: usize>(rankings: [(f32, Vec<Hit>); N], top: usize, per_video: bool) -> Vec<Hit> {
    let mut fused: Vec<(f32, Hit)> = Vec::new();
    let mut at: HashMap<i64, usize> = HashMap::new();
    for (weight, hits) in rankings {
        for (rank, hit) in hits.into_iter().enumerate() {
            let score = weight / (RRF_K + rank as f32 + 1.0);
            match at.get(&hit.segment) {
                Some(&i) => {
                    let (sum, kept) = &mut fused[i];
                    *sum += score;
                    kept.matched.extend(hit.matched);
                    kept.snippet = kept.snippet.take().or(hit.snippet);
                }
                None => {
                    at.insert(hit.segment, fused.len());
                    fused.push((score, hit));
                }
            }
        }
    }
    fused.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.segment.cmp(&b.1.segment)));
    let mut seen = std::collections::HashSet::new();
    fused
        .into_iter()
        .filter(|(_, hit)| !per_video || seen.insert(hit.video_id))
        .take(top)
        .map(|(score, hit)| Hit { score, ..hit })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(segment: i64, video: i64, why: &str) -> Hit {
        Hit {
            video_id: video,
            path: format!("/v{video}.mp4"),
            segment,
            start: segment as f64,
            end: segment as f64 + 1.0,
            score: 0.5,
            matched: vec![why.into()],
            snippet: (why == KEYWORD).then(|| Snippet {
                text: "**word**".into(),
                source: vtx_index::TextSource::Screen,
                start: segment as f64 + 0.5,
                end: segment as f64 + 0.9,
            }),
        }
    }

    #[test]
    fn a_moment_in_both_rankings_leads_and_says_so() {
        let visual = vec![hit(1, 1, VISUAL), hit(2, 1, VISUAL), hit(3, 2, VISUAL)];
        let keyword = vec![hit(3, 2, KEYWORD), hit(4, 3, KEYWORD)];
        let fused = fuse([(VISUAL_WEIGHT, visual), (KEYWORD_WEIGHT, keyword)], 10, false);
        let order: Vec<i64> = fused.iter().map(|h| h.segment).collect();
        // 3: 1/63 + 1/61; 1: 1/61; 2 and 4 tie at 1/62 (then by segment).
        assert_eq!(order, [3, 1, 2, 4]);
        assert_eq!(fused[0].matched, [VISUAL, KEYWORD]);
        assert_eq!(fused[0].snippet.as_ref().unwrap().text, "**word**");
        assert!((fused[0].score - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-6);
        let best_per_video: Vec<i64> = fuse([(1.0, fused.clone())], 10, true)
            .iter()
            .map(|h| h.segment)
            .collect();
        assert_eq!(best_per_video, [3, 1, 4]);
        // A third ranking adds its reason to a moment already found.
        let rankings = [
            (1.0, vec![hit(1, 1, VISUAL)]),
            (1.0, vec![hit(4, 3, KEYWORD)]),
            (1.0, vec![hit(4, 3, SPEECH)]),
        ];
        let three = fuse(rankings, 10, false);
        assert_eq!(three[0].segment, 4);
        assert_eq!(three[0].matched, [KEYWORD, SPEECH]);
    }

    #[test]
    fn stop_words_are_no_keywords_of_a_sentence() {
        assert_eq!(hybrid_keywords("a dog on the beach").unwrap().words, ["dog", "beach"]);
        assert!(hybrid_keywords("on the").is_none());
        assert_eq!(
            hybrid_keywords("\"at the\"").unwrap().phrases.len(),
            1,
            "a phrase is kept whole"
        );
    }
}
