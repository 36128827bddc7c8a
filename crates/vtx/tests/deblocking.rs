//! What skipping the decoder's deblocking filter costs in fidelity: the same real videos indexed
//! with the filter on every frame, with it off, and as `auto` chooses (the default) must give the
//! same shots and segments, and segment vectors (image model, its text-space vectors, motion)
//! that agree; `auto` must also answer searches as the full decode does. Prints the figures
//! docs/performance.md quotes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use vtx::{Deblocking, Engine, EngineConfig, IndexOptions, Sampling, SearchOptions};
use vtx_index::{Catalog, Cursor, SqliteStore, VectorIndex};

/// H.264 and VP8 videos of the set-up (the codecs whose filter is in the loop): long and short
/// keyframe intervals, 4:2:0 and 4:4:4, cuts and fades.
const VIDEOS: &[&str] = &[
    "fixtures/bench/cockatoo-720p.mp4",
    "media/usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4",
    "media/usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/mp4.mp4",
    "media/usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/webm.webm",
    "media/usr/share/pymecavideo/data/video/balle-jbart.mp4",
    "fixtures/joined.mp4",
    "fixtures/shots/fade.mp4",
];

/// Sentences about what the videos show, and some they do not.
const QUERIES: &[&str] = &[
    "a bird",
    "a white cockatoo",
    "a ball thrown in the air",
    "a person",
    "a street with cars",
    "a fade to black",
    "a photo of a building",
    "a dog",
];

/// The places of each query's answer that must agree between decodes; as many again are fetched,
/// to see where a moment that left them went.
const COMPARED: usize = 5;

struct Indexed {
    store: SqliteStore,
    /// For each of [`QUERIES`], its top hits as (video, segment start, score).
    answers: Vec<Vec<(String, f64, f32)>>,
    _dir: tempfile::TempDir,
}

fn index_with(deblocking: Deblocking, sampling: &Sampling, videos: &[PathBuf]) -> Indexed {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(
        dir.path().join("index"),
        vtx_core::cache_dir().join("models"),
    ))
    .unwrap();
    let options = IndexOptions {
        deblocking,
        sampling: sampling.clone(),
        ..IndexOptions::default()
    };
    let report = engine
        .index(videos, &options, &mut (), &AtomicBool::new(false))
        .unwrap();
    assert_eq!(report.failed(), 0, "{:?}", report.files);
    let search = SearchOptions {
        top: 2 * COMPARED,
        ..SearchOptions::default()
    };
    let answers = engine
        .search_many(QUERIES, &search)
        .unwrap()
        .into_iter()
        .map(|hits| hits.into_iter().map(|h| (h.path, h.start, h.score)).collect())
        .collect();
    drop(engine);
    Indexed {
        store: SqliteStore::open(&dir.path().join("index")).unwrap(),
        answers,
        _dir: dir,
    }
}

/// Every segment vector of `space`, by segment id, with its video's id.
fn vectors(store: &SqliteStore, space: &str) -> HashMap<i64, (i64, Vec<f32>)> {
    let mut all = HashMap::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = store.scroll(space, cursor.as_ref(), 1024).unwrap();
        for (segment, vector) in page.points {
            all.insert(segment.id, (segment.video_id, vector));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

/// (mean, lowest) cosine of each segment's vectors in `a` and `b`, which must hold the same
/// segments: over all of them, and for each video (by id).
type Agreement = (f64, f64);

fn agreement(a: &SqliteStore, b: &SqliteStore, space: &str) -> (Agreement, HashMap<i64, Agreement>) {
    let (a, b) = (vectors(a, space), vectors(b, space));
    assert_eq!(a.len(), b.len(), "{space}: the same segments");
    let mut by_video: HashMap<i64, Vec<f64>> = HashMap::new();
    for (id, (video, va)) in &a {
        by_video
            .entry(*video)
            .or_default()
            .push(f64::from(vtx_core::dot(va, &b[id].1)));
    }
    let summary = |cosines: &[f64]| {
        let mean = cosines.iter().sum::<f64>() / cosines.len() as f64;
        (mean, cosines.iter().copied().fold(f64::INFINITY, f64::min))
    };
    let all: Vec<f64> = by_video.values().flatten().copied().collect();
    let per_video = by_video.iter().map(|(video, c)| (*video, summary(c))).collect();
    (summary(&all), per_video)
}

fn assert_same_shots(a: &SqliteStore, b: &SqliteStore) {
    for video in a.videos().unwrap() {
        assert_eq!(
            a.shots(video.id).unwrap(),
            b.shots(video.id).unwrap(),
            "the shots of {}",
            video.meta.path
        );
    }
}

fn file_name(video: &vtx_index::VideoRecord) -> String {
    video.meta.file().file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn indexing_without_deblocking_keeps_shots_and_segments_and_vectors_stay_close() {
    let cache = vtx_core::cache_dir();
    let videos: Vec<PathBuf> = VIDEOS.iter().map(|v| cache.join(v)).collect();
    for video in &videos {
        assert!(video.exists(), "{}: run `make setup`", video.display());
    }
    let sampling = IndexOptions::default().sampling;
    assert_eq!(IndexOptions::default().deblocking, Deblocking::Auto);
    let full = index_with(Deblocking::Full, &sampling, &videos);
    let off = index_with(Deblocking::Off, &sampling, &videos);
    let auto = index_with(Deblocking::Auto, &sampling, &videos);
    assert_same_shots(&full.store, &off.store);
    assert_same_shots(&full.store, &auto.store);
    for space in ["visual", "text", "motion"] {
        let ((mean, lowest), per_video) = agreement(&full.store, &off.store, space);
        println!("deblocking off: {space} against full: mean cosine {mean:.4}, lowest {lowest:.4}");
        for video in full.store.videos().unwrap() {
            let (mean, lowest) = per_video[&video.id];
            println!("    {}: mean {mean:.4}, lowest {lowest:.4}", file_name(&video));
        }
        assert!(mean >= 0.98 && lowest >= 0.9, "{space}: mean {mean}, lowest {lowest}");
        assert!(mean < 0.99999, "{space}: the filter was never off ({mean})");

        // Auto leaves the filter out only where that costs little: the bar for a default.
        let ((mean, lowest), per_video) = agreement(&full.store, &auto.store, space);
        println!("deblocking auto: {space} against full: mean cosine {mean:.4}, lowest {lowest:.4}");
        let mut changed = 0;
        for video in full.store.videos().unwrap() {
            let (video_mean, _) = per_video[&video.id];
            if video_mean < 0.99999 {
                changed += 1;
                println!("    {} (filter off): mean {video_mean:.4}", file_name(&video));
            }
            assert!(video_mean >= 0.99, "{space}: {}: mean {video_mean}", file_name(&video));
        }
        assert!(mean >= 0.99 && lowest >= 0.95, "{space}: mean {mean}, lowest {lowest}");
        assert!(
            (1..videos.len()).contains(&changed),
            "{space}: auto should leave the filter out on some videos and not on others ({changed})"
        );
    }
    // The same moments come back. Near ties may swap places: a moment in one decode's first
    // places and not the other's must score, in the other, within twice the largest drift of a
    // moment both hold (one moment rising and one falling by that much swap them) of its last place.
    for (query, (full, auto)) in QUERIES.iter().zip(full.answers.iter().zip(&auto.answers)) {
        println!(
            "{query:?}: scores {:?} against {:?}",
            full.iter().map(|h| h.2).collect::<Vec<_>>(),
            auto.iter().map(|h| h.2).collect::<Vec<_>>()
        );
        let score_in = |hits: &[(String, f64, f32)], (video, start, _): &(String, f64, f32)| {
            hits.iter().find(|h| (&h.0, h.1) == (video, *start)).map(|h| h.2)
        };
        let drift = full
            .iter()
            .filter_map(|moment| score_in(auto, moment).map(|score| (score - moment.2).abs()))
            .fold(0f32, f32::max);
        for (this, other) in [(full, auto), (auto, full)] {
            let last = this[COMPARED - 1].2;
            for moment in &other[..COMPARED] {
                if score_in(&this[..COMPARED], moment).is_some() {
                    continue;
                }
                let score = score_in(this, moment);
                assert!(
                    score.is_some_and(|score| score >= last - 2.0 * drift),
                    "{query:?}: {moment:?} scores {score:?} in the other decode, whose place {COMPARED} scores {last} (drift {drift})"
                );
            }
        }
    }
}
