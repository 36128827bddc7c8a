//! Text on the cluster: each video's runs of a reader (or speech model) as one record, and each
//! line as a point under Qdrant's full-text index, which finds the candidate lines; BM25 ranks
//! them here, from the cluster's counts of lines and of lines holding each word.

use std::collections::{HashMap, HashSet};

use qdrant_client::qdrant::{Condition, Filter as QFilter, PointId, PointStruct};
use serde_json::json;

use super::codec::{self, field, json_field};
use super::{kind, point_id, QdrantStore};
use crate::keywords::tokens;
use crate::{
    Filter, IndexError, Keywords, Result, ScoredPoint, TextMatch, TextSource, TextSpan, TextStats, VideoText, HIGHLIGHT,
};

/// A word without its accents ("zürich" reads "zurich"), as FTS5's `remove_diacritics` reads it.
fn fold(word: &str) -> String {
    use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
    word.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

/// A line's words as keyword search compares them: lowercased, accents folded.
fn words_of(text: &str) -> Vec<String> {
    tokens(text).iter().map(|w| fold(w)).collect()
}

/// BM25's usual constants (FTS5's too, so both stores rank alike).
const K1: f64 = 1.2;
const B: f64 = 0.75;

pub(super) fn line_point(video: i64, gen: i64, source: String, tgen: i64, i: usize) -> PointId {
    point_id(&[
        kind::LINE,
        &video.to_string(),
        &gen.to_string(),
        &source,
        &tgen.to_string(),
        &i.to_string(),
    ])
}

/// Lines first, under a new text generation; then the record that names it; then the lines
/// before it go. A search meanwhile sees the old lines or the new, by the record it reads.
pub(super) fn set_text(store: &QdrantStore, video: i64, text: &VideoText) -> Result<()> {
    let gen = store
        .current_generation(video)?
        .ok_or_else(|| IndexError::Query(format!("no video with id {video} in this index")))?;
    let tgen = write_text(store, video, gen, text)?;
    store.tick(codec::now_us())?;
    drop_older_lines(store, video, None, text.source, tgen)
}

/// The lines of `video`'s `source` (of its generation `gen`, or of any) but those of the text
/// generation `kept`, which its record names.
pub(super) fn drop_older_lines(
    store: &QdrantStore,
    video: i64,
    gen: Option<i64>,
    source: TextSource,
    kept: i64,
) -> Result<()> {
    let mut must = vec![
        Condition::matches("video", video),
        Condition::matches("kind", kind::LINE.to_string()),
        Condition::matches("source", source.to_string()),
    ];
    must.extend(gen.map(|gen| Condition::matches("gen", gen)));
    store.delete(QFilter {
        must,
        must_not: vec![Condition::matches("tgen", kept)],
        ..Default::default()
    })
}

/// The lines and the record of `text` under the video's generation `gen`, seen once `gen` is
/// current (at once for the current one, at its commit for a write under way); its text
/// generation.
pub(super) fn write_text(store: &QdrantStore, video: i64, gen: i64, text: &VideoText) -> Result<i64> {
    let source = text.source.to_string();
    let tgen = codec::now_us();
    let mut points = Vec::with_capacity(text.lines.len());
    for (i, line) in text.lines.iter().enumerate() {
        points.push(PointStruct::new(
            line_point(video, gen, source.clone(), tgen, i),
            HashMap::<String, Vec<f32>>::new(),
            codec::payload(json!({
                "kind": kind::LINE, "video": video, "gen": gen, "source": source, "tgen": tgen, "i": i,
                "line": codec::to_text(line)?, "text": line.text, "start": line.start,
            }))?,
        ));
    }
    store.upsert(points)?;
    store.put_record(
        video,
        gen,
        kind::TEXT,
        &source,
        serde_json::to_value(text).map_err(codec::bad_json)?,
        json!({ "source": source, "tgen": tgen, "lines": text.lines.len(), "frames": text.frames }),
    )?;
    Ok(tgen)
}

/// Of one video's text record: its text generation, lines and frames.
type TextRun = (i64, u64, u32);

/// The current text record of each video's source, by (video, source).
fn current_records(store: &QdrantStore, videos: Option<&HashSet<i64>>) -> Result<HashMap<(i64, String), TextRun>> {
    let mut conditions = vec![super::is(kind::TEXT)];
    if let Some(videos) = videos {
        conditions.push(Condition::matches(
            "video",
            videos.iter().copied().collect::<Vec<i64>>(),
        ));
    }
    let records = store.scroll_all(
        QFilter::must(conditions),
        Some(&["video", "gen", "source", "tgen", "lines", "frames"]),
        false,
    )?;
    let mut current = HashMap::new();
    for (video, record) in store.current(records)? {
        current.insert(
            (video, field(&record.payload, "source")?),
            (
                field(&record.payload, "tgen")?,
                field(&record.payload, "lines")?,
                field(&record.payload, "frames")?,
            ),
        );
    }
    Ok(current)
}

pub(super) fn text_stats(store: &QdrantStore) -> Result<Vec<TextStats>> {
    let mut by_source: HashMap<String, TextStats> = HashMap::new();
    for ((_, source), (_, lines, frames)) in current_records(store, None)? {
        let parsed: TextSource = source
            .parse()
            .map_err(|e| IndexError::Storage(format!("a text record: {e}")))?;
        let stats = by_source.entry(source).or_insert(TextStats {
            source: parsed,
            videos: 0,
            lines: 0,
            empty: 0,
            nothing_there: 0,
        });
        stats.videos += 1;
        stats.lines += lines;
        if lines == 0 {
            stats.empty += 1;
            if frames == 0 {
                stats.nothing_there += 1;
            }
        }
    }
    let mut stats: Vec<TextStats> = by_source.into_values().collect();
    // As the embedded store lists them: speech after screen text, by name descending.
    stats.sort_by_key(|s| std::cmp::Reverse(s.source.to_string()));
    Ok(stats)
}

/// Does a line's words hold every phrase in order, and (with loose words) one of them?
fn holds(words: &[String], keywords: &Keywords) -> bool {
    let phrase_in = |phrase: &[String]| words.windows(phrase.len()).any(|w| w == phrase);
    keywords.phrases.iter().all(|p| phrase_in(p))
        && (keywords.words.is_empty() || keywords.words.iter().any(|w| words.contains(w)))
}

/// The line with each match between [`HIGHLIGHT`] marks, as FTS5 marks them: a phrase as one
/// span, a loose word each time it appears.
fn highlight(text: &str, keywords: &Keywords) -> String {
    let mut words: Vec<(usize, usize, String)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_alphanumeric() && i < text.len(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i, fold(&text[s..i].to_lowercase())));
                start = None;
            }
            _ => {}
        }
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for phrase in &keywords.phrases {
        for at in 0..words.len().saturating_sub(phrase.len() - 1) {
            if words[at..at + phrase.len()].iter().zip(phrase).all(|(w, p)| &w.2 == p) {
                spans.push((words[at].0, words[at + phrase.len() - 1].1));
            }
        }
    }
    for (s, e, word) in &words {
        if keywords.words.contains(word) {
            spans.push((*s, *e));
        }
    }
    spans.sort();
    let mut out = String::with_capacity(text.len() + 4 * spans.len());
    let mut at = 0;
    for (s, e) in spans {
        if s < at {
            continue;
        }
        out.push_str(&text[at..s]);
        out.push_str(HIGHLIGHT.0);
        out.push_str(&text[s..e]);
        out.push_str(HIGHLIGHT.1);
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

pub(super) fn text_matches(
    store: &QdrantStore,
    keywords: &Keywords,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<TextMatch>> {
    let line_kind = || Condition::matches("kind", kind::LINE.to_string());
    let mut candidates = QFilter::must([line_kind()]);
    for phrase in &keywords.phrases {
        candidates
            .must
            .push(Condition::matches_phrase("text", phrase.join(" ")));
    }
    if !keywords.words.is_empty() {
        candidates.should = keywords
            .words
            .iter()
            .map(|w| Condition::matches_text("text", w.clone()))
            .collect();
    }
    if let Some(videos) = &filter.videos {
        candidates.must.push(Condition::matches(
            "video",
            videos.iter().copied().collect::<Vec<i64>>(),
        ));
    }
    let found = store.scroll_all(candidates, Some(&["video", "gen", "source", "tgen", "line"]), false)?;
    let videos: HashSet<i64> = found
        .iter()
        .map(|p| field(&p.payload, "video"))
        .collect::<Result<_>>()?;
    let records = current_records(store, Some(&videos))?;
    let mut lines: Vec<(i64, TextSource, TextSpan, Vec<String>)> = Vec::new();
    for point in &found {
        let video: i64 = field(&point.payload, "video")?;
        let source: String = field(&point.payload, "source")?;
        let Some((tgen, _, _)) = records.get(&(video, source.clone())) else {
            continue;
        };
        if *tgen != field::<i64>(&point.payload, "tgen")? {
            continue;
        }
        let line: TextSpan = json_field(&point.payload, "line")?;
        let words = words_of(&line.text);
        if !holds(&words, keywords) {
            continue;
        }
        let source = source
            .parse()
            .map_err(|e| IndexError::Storage(format!("a text line: {e}")))?;
        lines.push((video, source, line, words));
    }
    if lines.is_empty() {
        return Ok(Vec::new());
    }

    let terms: HashSet<String> = keywords
        .words
        .iter()
        .chain(keywords.phrases.iter().flatten())
        .cloned()
        .collect();
    let all_lines = store.count_points(QFilter::must([line_kind()]))?.max(1) as f64;
    let mut idf = HashMap::new();
    for term in &terms {
        let holding = store.count_points(QFilter::must([
            line_kind(),
            Condition::matches_text("text", term.clone()),
        ]))? as f64;
        idf.insert(term.clone(), ((all_lines - holding + 0.5) / (holding + 0.5) + 1.0).ln());
    }
    let mean_length = lines.iter().map(|l| l.3.len()).sum::<usize>() as f64 / lines.len() as f64;
    let bm25 = |words: &[String]| -> f64 {
        terms
            .iter()
            .map(|term| {
                let tf = words.iter().filter(|w| *w == term).count() as f64;
                let norm = 1.0 - B + B * words.len() as f64 / mean_length.max(1.0);
                idf[term] * tf * (K1 + 1.0) / (tf + K1 * norm)
            })
            .sum()
    };

    let admitted = store.admitted_segments(filter)?;
    let mut segments_of: HashMap<i64, Vec<crate::Segment>> = HashMap::new();
    for video in lines.iter().map(|l| l.0).collect::<HashSet<_>>() {
        segments_of.insert(video, store.row_segments(video)?);
    }
    let mut ranked: Vec<(f64, TextMatch)> = Vec::new();
    for (video, source, line, words) in lines {
        // A line belongs to the segment on screen when it appeared.
        let Some(segment) = segments_of[&video]
            .iter()
            .rev()
            .find(|s| s.start <= line.start.max(0.0))
        else {
            continue;
        };
        let in_time = filter
            .time
            .is_none_or(|r| segment.start < r.end && segment.end > r.start);
        if !in_time || admitted.as_ref().is_some_and(|a| !a.contains(&segment.id)) {
            continue;
        }
        let score = bm25(&words);
        ranked.push((
            score,
            TextMatch {
                point: ScoredPoint {
                    segment: segment.id,
                    video,
                    score: score as f32,
                },
                snippet: highlight(&line.text, keywords),
                line,
                source,
            },
        ));
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.line.start.total_cmp(&b.1.line.start)));
    let mut seen = HashSet::new();
    Ok(ranked
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| seen.insert(m.point.segment))
        .take(limit)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_hold_phrases_in_order_and_one_loose_word() {
        let k = Keywords::parse(r#"budget "q3 results""#).unwrap();
        assert!(holds(&words_of("Q3 results and the budget"), &k));
        assert!(!holds(&words_of("results of Q3, budget"), &k));
        assert!(!holds(&words_of("Q3 results"), &k));
        let only_phrase = Keywords::parse(r#""q3 results""#).unwrap();
        assert!(holds(&words_of("the Q3 results"), &only_phrase));
        assert!(holds(&words_of("Zürich Café"), &Keywords::parse("cafe").unwrap()));
    }

    #[test]
    fn highlights_mark_whole_words_in_any_case_and_phrases_as_one() {
        let k = Keywords::parse("budget").unwrap();
        assert_eq!(highlight("The Budget, budgets.", &k), "The **Budget**, budgets.");
        let k = Keywords::parse(r#""results 2026" q3"#).unwrap();
        assert_eq!(
            highlight("Q3 RESULTS 2026 (q3)", &k),
            "**Q3** **RESULTS 2026** (**q3**)"
        );
    }
}
