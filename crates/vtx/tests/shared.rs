//! One engine shared by threads, as the server shares it: searches from several threads at once,
//! while another thread indexes, each get the answer of the index before that video or after it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use vtx::{Engine, EngineConfig, IndexOptions, SearchOptions};

fn cache() -> PathBuf {
    vtx_core::set_up("fixtures/photos").unwrap()
}

type Answer = Vec<(String, f64, i64)>;

fn answer(engine: &Engine, query: &str) -> Answer {
    let options = SearchOptions {
        top: 5,
        ..Default::default()
    };
    let hits = engine.search(query, &options).expect("a search");
    // Scores to 1e-4: two threads may embed the same sentence in batches of different sizes.
    hits.into_iter()
        .map(|h| (h.path, h.start, (h.score * 1e4).round() as i64))
        .collect()
}

#[test]
fn searches_from_many_threads_see_the_index_before_or_after_a_video_never_half() {
    let cache = cache();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(
        dir.path().join("index"),
        vtx_core::cache_dir().join("models"),
    ))
    .unwrap();
    let run = |path: PathBuf| {
        engine
            .index(&[path], &IndexOptions::default(), &mut (), &AtomicBool::new(false))
            .expect("indexing")
    };
    assert_eq!(run(cache.join("fixtures/photos")).failed(), 0);
    let queries = [
        "a cat",
        "a cup of coffee",
        "a red motorcycle",
        "a rocket on the launch pad",
    ];
    let before: Vec<Answer> = queries.iter().map(|q| answer(&engine, q)).collect();
    let indexed = AtomicBool::new(false);
    let seen: Vec<Vec<Answer>> = std::thread::scope(|scope| {
        let indexer = scope.spawn(|| {
            let report = run(cache.join("fixtures/joined.mp4"));
            indexed.store(true, Ordering::Release);
            report
        });
        let searchers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut seen = vec![Vec::new(); queries.len()];
                    while !indexed.load(Ordering::Acquire) {
                        for (i, q) in queries.iter().enumerate() {
                            seen[i].push(answer(&engine, q));
                        }
                    }
                    seen
                })
            })
            .collect();
        let mut seen = vec![Vec::new(); queries.len()];
        for searcher in searchers {
            for (i, answers) in searcher.join().unwrap().into_iter().enumerate() {
                seen[i].extend(answers);
            }
        }
        assert_eq!(indexer.join().unwrap().failed(), 0);
        seen
    });
    let after: Vec<Answer> = queries.iter().map(|q| answer(&engine, q)).collect();
    assert_ne!(before, after, "the new video changes some answer");
    let total: usize = seen.iter().map(Vec::len).sum();
    assert!(total > 0, "searches ran while the video was indexed");
    for (i, answers) in seen.iter().enumerate() {
        for got in answers {
            assert!(
                *got == before[i] || *got == after[i],
                "'{}' answered {got:?}, neither before ({:?}) nor after ({:?})",
                queries[i],
                before[i],
                after[i]
            );
        }
    }
}
