//! On-screen text: `vtx index --ocr`, `vtx text` and keyword and hybrid search, on real footage
//! with text drawn over it at known times (`make setup`, scripts/text-fixtures.tsv) and the
//! photo fixtures beside it.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::{cache, file_name, vtx};
use serde_json::Value;

/// (clip, start, end, text) for each drawn line.
fn truth() -> Vec<(PathBuf, f64, f64, String)> {
    let path = cache().join("fixtures/text/truth.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}: run `make setup`", path.display()));
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (f[0].into(), f[1].parse().unwrap(), f[2].parse().unwrap(), f[4].into())
        })
        .collect()
}

/// An index of the two captioned clips (with --ocr) and four photos without text, made once.
fn index() -> &'static str {
    static INDEX: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    let (_, path) = INDEX.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index").to_str().unwrap().to_string();
        let text = cache().join("fixtures/text");
        let photos = cache().join("fixtures/photos");
        let mut args = vec!["index".to_string(), "--index".into(), index.clone(), "--ocr".into()];
        for clip in ["captions.mp4", "signs.mp4"] {
            args.push(text.join(clip).to_str().unwrap().into());
        }
        for photo in ["cat.mp4", "coffee.mp4", "rocket.mp4", "astronaut.mp4"] {
            args.push(photos.join(photo).to_str().unwrap().into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = vtx(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("text: 8 line(s) in 6 video(s)"), "{stderr}");
        (dir, index)
    });
    path
}

fn search(query: &str, mode: &str) -> Vec<Value> {
    let out = vtx(&[
        "search",
        "--index",
        index(),
        "--json",
        "--mode",
        mode,
        "--top",
        "5",
        query,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["hits"].as_array().unwrap().clone()
}

fn name(hit: &Value) -> &str {
    file_name(hit["video"].as_str().unwrap())
}

#[test]
fn a_keyword_search_lands_on_each_drawn_line_at_its_time() {
    for (clip, start, end, text) in truth() {
        // The line's longest word: distinctive in this set.
        let word = text.split(' ').max_by_key(|w| w.len()).unwrap().trim_end_matches(':');
        let hits = search(word, "keyword");
        let best = hits.first().unwrap_or_else(|| panic!("'{word}' found nothing"));
        assert_eq!(
            name(best),
            clip.file_name().unwrap().to_str().unwrap(),
            "'{word}': {best:#}"
        );
        assert_eq!(best["matched"], serde_json::json!(["keyword"]));
        let snippet = best["snippet"].as_str().unwrap();
        assert!(
            snippet.to_lowercase().contains(&format!("**{}**", word.to_lowercase())),
            "{snippet}"
        );
        // Read once a second: the line's span starts half a second before the first frame it is
        // in, which is at most a second after it appeared.
        let at = best["snippet_at"].as_f64().unwrap();
        assert!(
            at >= start - 0.6 && at <= start + 1.0,
            "'{word}' drawn at {start}-{end}, found at {at}"
        );
        assert!(
            best["media"].as_str().unwrap().ends_with(&format!("#t={at:.3}")),
            "{best:#}"
        );
    }
}

#[test]
fn a_quoted_phrase_matches_word_for_word_and_a_wordless_query_is_refused() {
    let hits = search("\"departs 14\"", "keyword");
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["snippet"], "Platform 9 **departs 14**:35");
    assert!(search("\"14 departs\"", "keyword").is_empty(), "out of order");
    let out = vtx(&["search", "--index", index(), "--mode", "keyword", "?!"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no words to look for"));
}

#[test]
fn hybrid_search_ranks_a_written_word_and_a_seen_thing_and_says_why() {
    // Written only: "budget" is in no picture of a cockatoo.
    let hits = search("budget", "hybrid");
    let top3: Vec<&str> = hits.iter().take(3).map(name).collect();
    assert_eq!(top3[0], "captions.mp4", "{hits:#?}");
    assert!(hits[0]["matched"].as_array().unwrap().contains(&"keyword".into()));
    assert!(hits[0]["snippet"].as_str().unwrap().contains("**Budget**"));
    // Seen only: no line of text says cat, and hybrid search still finds the cat by its picture.
    let hits = search("a photo of a cat", "hybrid");
    assert_eq!(name(&hits[0]), "cat.mp4", "{hits:#?}");
    assert_eq!(hits[0]["matched"], serde_json::json!(["visual"]));
    assert!(hits[0].get("snippet").is_none());
    // --mode visual ignores the text.
    let visual = search("budget", "visual");
    assert!(visual.iter().all(|h| h["matched"] == serde_json::json!(["visual"])));
}

#[test]
fn vtx_text_prints_what_was_read_and_when_from_the_index_or_the_file() {
    let clip = cache().join("fixtures/text/signs.mp4");
    let clip = clip.to_str().unwrap();
    let stored = vtx(&["text", "--index", index(), "--json", clip]);
    assert!(stored.status.success(), "{}", String::from_utf8_lossy(&stored.stderr));
    let stored: Value = serde_json::from_slice(&stored.stdout).unwrap();
    let fresh = vtx(&["text", "--json", clip]);
    assert!(fresh.status.success(), "{}", String::from_utf8_lossy(&fresh.stderr));
    let fresh: Value = serde_json::from_slice(&fresh.stdout).unwrap();
    let texts = |doc: &Value| -> Vec<String> {
        doc["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(&stored), texts(&fresh), "the index keeps what a reading gives");
    let mut expected: Vec<String> = truth()
        .into_iter()
        .filter(|(c, ..)| c.ends_with("signs.mp4"))
        .map(|(.., t)| t)
        .collect();
    let mut read = texts(&fresh);
    expected.sort();
    read.sort();
    assert_eq!(read, expected);
    assert_eq!(
        (fresh["frames"].as_u64(), fresh["reader"].as_str()),
        (Some(10), Some("ppocr-v4"))
    );
    // Human-readable: one line each, with its span.
    let out = vtx(&["text", "--index", index(), clip]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("4 line(s) in 10 frames at 1 fps (ppocr-v4)"),
        "{printed}"
    );
    assert!(
        printed.contains("00:00:02.500-00:00:06.500  1.00  Lecture three: linear algebra"),
        "{printed}"
    );
    // A photo with no text in it was read all the same, and has no lines.
    let photo = cache().join("fixtures/photos/cat.mp4");
    let blank = vtx(&["text", "--index", index(), "--json", photo.to_str().unwrap()]);
    assert!(blank.status.success(), "{}", String::from_utf8_lossy(&blank.stderr));
    let blank: Value = serde_json::from_slice(&blank.stdout).unwrap();
    assert_eq!(blank["lines"], serde_json::json!([]));
    // A model that reads no text: a clear error.
    let out = vtx(&["text", "--reader", "minilm-l6-v2", clip]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a text reader"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
