//! The contract every [`VectorStore`] passes, as one generic suite: writes replace and remove,
//! scrolling in pages, filters apply inside the search, grouping, all-or-nothing writes, reopening, fresh work and
//! removals visible at once, and approximate answers against exact ones. Each implementation's
//! tests call [`run`] with a way to open it (see `sqlite::tests`: exact, and with a graph on every
//! space).

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use crate::{
    Claim, Filter, Hit, Keywords, ObjectFilter, ObjectTrack, Pooling, SearchRequest, SegmentObjects, SegmentSpan,
    Space, Synthetic, Tag, TextSource, TextSpan, TimeRange, TimedVector, TrackPoint, VectorStore, VideoEntry,
    VideoMeta, VideoObjects, VideoText,
};

/// Opens (or reopens) a store in a directory.
pub type Open<'a> = &'a dyn Fn(&Path) -> Box<dyn VectorStore>;

/// One check of the contract, run in an empty folder.
type Check = fn(Open<'_>, &Path);

/// Run every check, each in its own folder under `scratch`.
pub fn run(open: Open<'_>, scratch: &Path) {
    let checks: [(&str, Check); 12] = [
        ("writes", writes_replace_and_remove),
        ("claims", claims_are_leases_one_worker_holds),
        ("copy", everything_of_a_video_copies_into_another_store),
        ("objects", objects_are_kept_filtered_on_and_dropped_with_their_content),
        ("text", text_is_found_by_keyword_and_dropped_with_its_content),
        ("ids", ids_derive_from_content_and_position),
        ("paging", scrolling_pages_through_every_point_once),
        ("filters", filters_apply_inside_the_search),
        ("atomic", writes_are_all_or_nothing),
        ("reopen", data_survives_reopening),
        ("fresh", fresh_work_and_removals_are_visible_at_once),
        ("approximate", approximate_answers_match_exact_ones),
    ];
    for (name, check) in checks {
        let dir = scratch.join(name);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        check(open, &dir);
    }
}

const DIM: usize = 16;

fn space() -> Space {
    Space {
        name: "s".into(),
        dim: DIM,
        model: "m".into(),
    }
}

fn fresh(open: Open<'_>, dir: &Path) -> Box<dyn VectorStore> {
    let store = open(dir);
    store.ensure_space(&space()).expect("declare the space");
    store
}

/// A video with one 1-second segment per vector, each vector its segment's one frame.
fn video(path: &str, vectors: &[Vec<f32>]) -> VideoEntry {
    let meta = VideoMeta {
        path: path.into(),
        size: 1,
        mtime_ns: 1,
        hash: format!("hash of {path}"),
        duration: vectors.len() as f64,
        fps: Some(1.0),
        format: "mp4".into(),
        codec: "h264".into(),
        width: 2,
        height: 2,
        frames: vectors.len() as u32,
    };
    let frames = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| TimedVector {
            t: i as f64 + 0.5,
            vector: v.clone(),
        })
        .collect();
    let segments = (0..vectors.len())
        .map(|i| SegmentSpan {
            start: i as f64,
            end: i as f64 + 1.0,
            thumbnail: None,
        })
        .collect();
    VideoEntry::pooled(meta, vec![("s".into(), frames)], segments, Pooling::Mean)
}

/// `videos` videos `/v00.mp4`, `/v01.mp4`... of `per_video` drawn segments each, then optimised.
fn fill(store: &dyn VectorStore, draw: &mut Synthetic, videos: usize, per_video: usize) {
    for i in 0..videos {
        let vectors: Vec<Vec<f32>> = (0..per_video).map(|_| draw.draw().0).collect();
        store.put_video(&video(&format!("/v{i:02}.mp4"), &vectors)).unwrap();
    }
    store.optimize(&mut |_, _| {}).unwrap();
}

fn axis(i: usize) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[i % DIM] = 1.0;
    v
}

fn search(store: &dyn VectorStore, request: SearchRequest<'_>) -> Vec<Hit> {
    store.hits(&request).expect("search")
}

fn paths(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.path.as_str()).collect()
}

fn writes_replace_and_remove(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    let a = store.put_video(&video("/a.mp4", &[axis(0), axis(1)])).unwrap();
    let b = store.put_video(&video("/b.mp4", &[axis(2)])).unwrap();
    assert_eq!(store.count("s").unwrap(), 3);
    let hits = search(&*store, SearchRequest::new("s", &axis(1), 10));
    assert_eq!(hits.len(), 3);
    assert_eq!((hits[0].video_id, hits[0].start, hits[0].end), (a, 1.0, 2.0));
    assert!(
        (hits[0].score - 1.0).abs() < 1e-3,
        "cosine of equal vectors: {}",
        hits[0].score
    );
    // Writing a path again replaces what it held.
    let before_rewrite = store.generation().unwrap();
    store.put_video(&video("/a.mp4", &[axis(3)])).unwrap();
    assert_ne!(store.generation().unwrap(), before_rewrite);
    assert_eq!(store.count("s").unwrap(), 2);
    let hits = search(&*store, SearchRequest::new("s", &axis(1), 10));
    assert_eq!(paths(&hits).iter().filter(|p| **p == "/a.mp4").count(), 1, "{hits:?}");
    let top = &search(&*store, SearchRequest::new("s", &axis(3), 1))[0];
    assert_eq!((top.path.as_str(), top.start), ("/a.mp4", 0.0));
    // Every write moves the generation on; reads and a touched modification time do not.
    let generation = store.generation().unwrap();
    store.touch_video(a, 7).unwrap();
    search(&*store, SearchRequest::new("s", &axis(1), 10));
    assert_eq!(store.generation().unwrap(), generation);
    store.remove_videos(&[b]).unwrap();
    let after_removal = store.generation().unwrap();
    assert_ne!(after_removal, generation);
    store.set_tags(a, &[]).unwrap();
    assert_ne!(
        store.generation().unwrap(),
        after_removal,
        "tags are part of what answers show"
    );
    assert_eq!(store.count("s").unwrap(), 1);
    assert_eq!(store.video_by_id(b).unwrap(), None);
    assert_eq!(
        paths(&search(&*store, SearchRequest::new("s", &axis(2), 10))),
        ["/a.mp4"]
    );
    assert!(
        store.search(&SearchRequest::new("nope", &axis(0), 1)).is_err(),
        "unknown space"
    );
    assert!(
        store.search(&SearchRequest::new("s", &[1.0], 1)).is_err(),
        "wrong dimension"
    );
    assert!(search(&*store, SearchRequest::new("s", &axis(0), 0)).is_empty());
}

fn ids_derive_from_content_and_position(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir.join("one").as_path());
    let entry = video("/a.mp4", &[axis(0), axis(1), axis(2)]);
    let a = store.put_video(&entry).unwrap();
    let segments =
        |store: &dyn VectorStore, id| -> Vec<i64> { store.segments(id).unwrap().iter().map(|s| s.id).collect() };
    let first = segments(&*store, a);
    assert_eq!(a, crate::ids::video_id(&entry.meta.hash, 0));
    assert_eq!(first[1], crate::ids::segment_id(a, 1, 0));
    assert!(first.iter().chain([&a]).all(|&id| id > 0 && id < crate::ids::ID_LIMIT));
    // Rewriting the same content (a forced re-index), even after a removal, keeps every id.
    assert_eq!(store.put_video(&entry).unwrap(), a);
    assert_eq!(segments(&*store, a), first);
    store.remove_videos(&[a]).unwrap();
    assert_eq!(store.put_video(&entry).unwrap(), a);
    // So does another index given the same file.
    let other = fresh(open, dir.join("two").as_path());
    assert_eq!(other.put_video(&entry).unwrap(), a);
    assert_eq!(segments(&*other, a), first);
    // A copy of the file elsewhere is another video, with ids of its own, found beside it.
    let copy = VideoEntry {
        meta: VideoMeta {
            path: "/copy.mp4".into(),
            ..entry.meta.clone()
        },
        ..entry.clone()
    };
    let b = store.put_video(&copy).unwrap();
    assert_ne!(a, b);
    assert!(segments(&*store, b).iter().all(|id| !first.contains(id)));
    let hits = search(&*store, SearchRequest::new("s", &axis(1), 2));
    let mut found = paths(&hits);
    found.sort();
    assert_eq!(found, ["/a.mp4", "/copy.mp4"]);
    assert_eq!(store.put_video(&copy).unwrap(), b, "the copy keeps its id too");
}

fn scrolling_pages_through_every_point_once(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    let mut expected = Vec::new();
    for i in 0..5 {
        let vectors: Vec<Vec<f32>> = (0..(3 + i * 2)).map(|j| axis(i + j)).collect();
        let id = store.put_video(&video(&format!("/v{i}.mp4"), &vectors)).unwrap();
        expected.extend(vectors.iter().enumerate().map(|(j, v)| (id, j as f64, v.clone())));
    }
    expected.sort_by(|a, b| (a.0, a.1).partial_cmp(&(b.0, b.1)).unwrap());
    for limit in [1, 4, 7, 100] {
        let (mut seen, mut cursor, mut pages) = (Vec::new(), None, 0);
        loop {
            let page = store.scroll("s", cursor.as_ref(), limit).unwrap();
            assert!(page.points.len() <= limit);
            pages += 1;
            seen.extend(page.points.into_iter().map(|(s, v)| (s.video_id, s.start, v)));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, expected, "pages of {limit}: every point once, by video and time");
        assert_eq!(pages, expected.len().div_ceil(limit).max(1), "pages of {limit}");
    }
    assert!(store.scroll("nope", None, 10).is_err(), "unknown space");
}

fn filters_apply_inside_the_search(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    let a = store.put_video(&video("/a.mp4", &[axis(0), axis(0), axis(1)])).unwrap();
    let b = store.put_video(&video("/b.mp4", &[axis(0), axis(2)])).unwrap();
    let grouped = search(
        &*store,
        SearchRequest {
            group_by_video: true,
            ..SearchRequest::new("s", &axis(0), 10)
        },
    );
    let mut per_video = paths(&grouped);
    per_video.sort();
    assert_eq!(
        per_video,
        ["/a.mp4", "/b.mp4"],
        "one hit per video (equal scores, in either order)"
    );
    let only_b = search(
        &*store,
        SearchRequest {
            filter: Filter::video(b),
            ..SearchRequest::new("s", &axis(0), 10)
        },
    );
    assert_eq!(paths(&only_b), ["/b.mp4", "/b.mp4"]);
    let late = search(
        &*store,
        SearchRequest {
            filter: Filter {
                time: Some(TimeRange { start: 1.5, end: 9.0 }),
                ..Filter::default()
            },
            ..SearchRequest::new("s", &axis(0), 10)
        },
    );
    let mut late: Vec<(i64, f64)> = late.iter().map(|h| (h.video_id, h.start)).collect();
    assert_eq!(late[0], (a, 1.0), "the one match first");
    late[1..].sort_by(|x, y| x.partial_cmp(y).unwrap());
    let mut rest = [(a, 2.0), (b, 1.0)];
    rest.sort_by(|x, y| x.partial_cmp(y).unwrap());
    assert_eq!(late[1..], rest, "then the two that score 0, in either order");
    let segments = store.segments(a).unwrap();
    store
        .set_tags(
            a,
            &[Tag {
                segment: segments[2].id,
                label: "Tabby cat".into(),
                score: 0.5,
            }],
        )
        .unwrap();
    let cats = Filter {
        tag: Some("CAT".into()),
        ..Filter::default()
    };
    let tagged = search(
        &*store,
        SearchRequest {
            filter: cats.clone(),
            ..SearchRequest::new("s", &axis(0), 10)
        },
    );
    assert_eq!(tagged.iter().map(|h| h.segment).collect::<Vec<_>>(), [segments[2].id]);
    let nothing = Filter {
        videos: Some(HashSet::from([b])),
        ..cats
    };
    assert!(search(
        &*store,
        SearchRequest {
            filter: nothing,
            ..SearchRequest::new("s", &axis(0), 10)
        }
    )
    .is_empty());
}

fn text_is_found_by_keyword_and_dropped_with_its_content(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    let a = store.put_video(&video("/a.mp4", &[axis(0), axis(1), axis(2)])).unwrap();
    let b = store.put_video(&video("/b.mp4", &[axis(0), axis(2)])).unwrap();
    assert_eq!(store.text(a, TextSource::Screen).unwrap(), None, "no reader has run");
    let line = |start: f64, text: &str| TextSpan {
        start,
        end: start + 0.8,
        text: text.into(),
        score: 0.9,
        bbox: [0.1, 0.8, 0.6, 0.9],
        words: Vec::new(),
    };
    let read = VideoText {
        source: TextSource::Screen,
        reader: "r".into(),
        fps: 1.0,
        frames: 3,
        language: None,
        lines: vec![
            line(0.1, "QUARTERLY RESULTS 2026"),
            line(1.2, "Budget meeting at noon"),
            line(1.5, "budget cuts: results later"),
            line(2.1, "Café Zürich"),
        ],
    };
    store.set_text(a, &read).unwrap();
    let other = VideoText {
        lines: vec![line(1.0, "results of the budget vote"), line(1.9, "budget")],
        ..read.clone()
    };
    store.set_text(b, &other).unwrap();
    assert_eq!(
        store.text(a, TextSource::Screen).unwrap().as_ref(),
        Some(&read),
        "read back as written"
    );
    // What was heard is kept beside what was read, each replaced on its own.
    let heard = VideoText {
        source: TextSource::Speech,
        reader: "s".into(),
        fps: 0.0,
        frames: 0,
        language: Some("en".into()),
        lines: vec![TextSpan {
            words: ["where", "she", "mentions", "the", "budget"]
                .iter()
                .enumerate()
                .map(|(i, w)| crate::TimedWord {
                    start: 2.4 + 0.15 * i as f64,
                    end: 2.55 + 0.15 * i as f64,
                    text: w.to_string(),
                })
                .collect(),
            ..line(2.4, "where she mentions the budget")
        }],
    };
    store.set_text(a, &heard).unwrap();
    assert_eq!(store.text(a, TextSource::Speech).unwrap().as_ref(), Some(&heard));
    // b was listened to and has no sound at all.
    let mute = VideoText {
        lines: Vec::new(),
        ..heard.clone()
    };
    store.set_text(b, &mute).unwrap();
    let stats = store.stats().unwrap().text;
    let of = |source| stats.iter().find(|s| s.source == source).cloned().unwrap();
    let screen = of(TextSource::Screen);
    assert_eq!((screen.videos, screen.lines, screen.empty), (2, 6, 0), "{stats:?}");
    let speech = of(TextSource::Speech);
    assert_eq!(
        (speech.videos, speech.lines, speech.empty, speech.nothing_there),
        (2, 1, 1, 1),
        "{stats:?}"
    );
    assert_eq!(
        store.text(a, TextSource::Screen).unwrap().as_ref(),
        Some(&read),
        "the screen text stays"
    );
    let (sa, sb) = (store.segments(a).unwrap(), store.segments(b).unwrap());
    let find = |query: &str, filter: &Filter| {
        let keywords = Keywords::parse(query).unwrap();
        store.text_matches(&keywords, filter, 10).unwrap()
    };
    // Any case, one match per segment (its best line), each in the segment on screen then.
    let budget = find("BUDGET", &Filter::default());
    let segments: HashSet<i64> = budget.iter().map(|m| m.point.segment).collect();
    assert_eq!(segments, HashSet::from([sa[1].id, sa[2].id, sb[1].id]), "{budget:?}");
    assert_eq!(budget.len(), 3);
    let said = budget.iter().find(|m| m.point.segment == sa[2].id).unwrap();
    assert_eq!(
        (said.source, said.snippet.as_str()),
        (TextSource::Speech, "where she mentions the **budget**")
    );
    let lone = budget.iter().find(|m| m.point.segment == sb[1].id).unwrap();
    assert_eq!(lone.line.text, "budget", "the shorter line ranks first in its segment");
    assert_eq!(lone.snippet, "**budget**");
    assert!(budget.iter().all(|m| m.point.score > 0.0));
    // A phrase matches word for word, in order; loose words add alternatives.
    let phrase = find("\"results 2026\"", &Filter::default());
    assert_eq!(phrase.len(), 1);
    assert_eq!((phrase[0].point.video, phrase[0].point.segment), (a, sa[0].id));
    assert_eq!(
        phrase[0].snippet, "QUARTERLY **RESULTS 2026**",
        "a phrase is marked whole"
    );
    assert!(find("\"2026 results\"", &Filter::default()).is_empty(), "out of order");
    assert_eq!(find("zurich cafe", &Filter::default()).len(), 1, "accents folded");
    // Filters apply.
    assert_eq!(find("budget", &Filter::video(b)).len(), 1);
    // Re-indexing the content drops its text; so does removing the video.
    store.put_video(&video("/a.mp4", &[axis(3), axis(1), axis(2)])).unwrap();
    assert_eq!(
        store.text(a, TextSource::Screen).unwrap(),
        None,
        "new content, no reading yet"
    );
    assert_eq!(store.text(a, TextSource::Speech).unwrap(), None);
    assert!(find("quarterly", &Filter::default()).is_empty());
    store.remove_videos(&[b]).unwrap();
    assert!(
        find("budget", &Filter::default()).is_empty(),
        "{:?}",
        find("budget", &Filter::default())
    );
}

fn objects_are_kept_filtered_on_and_dropped_with_their_content(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    let entry = video("/a.mp4", &[axis(0), axis(0), axis(1)]);
    let a = store.put_video(&entry).unwrap();
    let b = store.put_video(&video("/b.mp4", &[axis(0), axis(2)])).unwrap();
    assert_eq!(store.objects(a).unwrap(), None, "no detector has run");
    let (sa, sb) = (store.segments(a).unwrap(), store.segments(b).unwrap());
    let seen = |segment: i64, label: &str, count: u32, score: f32| SegmentObjects {
        segment,
        label: label.into(),
        count,
        score,
        share: 0.5,
    };
    let found = VideoObjects {
        detector: "d".into(),
        fps: 5.0,
        frames: 7,
        tracks: vec![ObjectTrack {
            id: 7,
            label: "person".into(),
            start: 0.2,
            end: 1.4,
            score: 0.6,
            velocity: (0.1, -0.02),
            heading: "right".into(),
            actions: vec![("walking".into(), 0.2, 1.0), ("running".into(), 1.0, 1.4)],
            boxes: vec![
                TrackPoint {
                    t: 0.2,
                    bbox: [0.1, 0.2, 0.3, 0.9],
                    score: 0.5,
                },
                TrackPoint {
                    t: 1.4,
                    bbox: [0.2, 0.2, 0.4, 0.9],
                    score: 0.7,
                },
            ],
        }],
        segments: vec![seen(sa[0].id, "person", 3, 0.6), seen(sa[1].id, "person", 1, 0.7)],
        actions: vec![seen(sa[1].id, "running", 1, 0.7)],
    };
    store.set_objects(a, &found).unwrap();
    store
        .set_objects(
            b,
            &VideoObjects {
                tracks: Vec::new(),
                segments: vec![seen(sb[1].id, "car", 1, 0.9), seen(sb[0].id, "person", 2, 0.4)],
                actions: vec![seen(sb[0].id, "walking", 2, 0.4)],
                ..found.clone()
            },
        )
        .unwrap();
    assert_eq!(store.objects(a).unwrap().as_ref(), Some(&found), "read back as written");
    let people = |min_count: u32| Filter {
        object: Some(ObjectFilter {
            label: "Person".into(),
            min_count,
        }),
        ..Filter::default()
    };
    let crowded = search(
        &*store,
        SearchRequest {
            filter: people(2),
            ..SearchRequest::new("s", &axis(0), 10)
        },
    );
    let mut crowded: Vec<i64> = crowded.iter().map(|h| h.segment).collect();
    crowded.sort();
    let mut expected = vec![sa[0].id, sb[0].id];
    expected.sort();
    assert_eq!(
        crowded, expected,
        "segments with two people or more, any case of the label"
    );
    // By object alone: best detection score first, other conditions still applying.
    let ranked = store.object_hits(&people(1), 10).unwrap();
    let ranked: Vec<(i64, f32)> = ranked.iter().map(|p| (p.segment, p.score)).collect();
    assert_eq!(ranked, [(sa[1].id, 0.7), (sa[0].id, 0.6), (sb[0].id, 0.4)]);
    let only_b = Filter {
        videos: Some(HashSet::from([b])),
        ..people(1)
    };
    assert_eq!(store.object_hits(&only_b, 10).unwrap().len(), 1);
    assert!(store.object_hits(&Filter::default(), 10).is_err(), "no object named");
    // Actions are labels of their own: a filter on one never matches an object of that name.
    let doing = |action: &str| Filter {
        action: Some(action.into()),
        ..Filter::default()
    };
    let running = search(
        &*store,
        SearchRequest {
            filter: doing("Running"),
            ..SearchRequest::new("s", &axis(0), 10)
        },
    );
    assert_eq!(running.iter().map(|h| h.segment).collect::<Vec<_>>(), [sa[1].id]);
    let walking_people = Filter {
        action: Some("walking".into()),
        ..people(2)
    };
    assert_eq!(
        store.object_hits(&walking_people, 10).unwrap().len(),
        1,
        "b's first segment"
    );
    let no_such_object = Filter {
        object: Some(ObjectFilter {
            label: "running".into(),
            min_count: 1,
        }),
        ..Filter::default()
    };
    assert!(store.object_hits(&no_such_object, 10).unwrap().is_empty());
    // Content indexed again has not been looked at: its objects go with its old segments.
    store.put_video(&entry).unwrap();
    assert_eq!(store.objects(a).unwrap(), None);
    assert!(store.object_hits(&people(1), 10).unwrap().iter().all(|p| p.video == b));
    store.remove_videos(&[b]).unwrap();
    assert!(store.object_hits(&people(1), 10).unwrap().is_empty());
}

fn everything_of_a_video_copies_into_another_store(open: Open<'_>, dir: &Path) {
    let from = fresh(open, &dir.join("from"));
    let mut entry = video("/c.mp4", &[axis(0), axis(1), axis(2)]);
    entry.segments[1].thumbnail = Some(b"a jpeg".to_vec());
    let id = from.put_video(&entry).unwrap();
    let segments = from.segments(id).unwrap();
    from.set_tags(
        id,
        &[Tag {
            segment: segments[2].id,
            label: "a kitten".into(),
            score: 0.5,
        }],
    )
    .unwrap();
    let text = VideoText {
        source: TextSource::Speech,
        reader: "r".into(),
        fps: 0.0,
        frames: 3,
        language: Some("fr".into()),
        lines: vec![TextSpan {
            start: 1.2,
            end: 1.8,
            text: "the budget".into(),
            score: 0.9,
            bbox: [0.0; 4],
            words: vec![crate::TimedWord {
                start: 1.5,
                end: 1.8,
                text: "budget".into(),
            }],
        }],
    };
    from.set_text(id, &text).unwrap();

    let to = open(&dir.join("to"));
    crate::transfer::copy_spaces(&*from, &*to).unwrap();
    let record = from.video_by_id(id).unwrap().unwrap();
    assert!(!crate::transfer::already_copied(&record, &*to).unwrap());
    let copied = crate::transfer::copy_video(&*from, &*to, &record).unwrap();
    assert!(crate::transfer::already_copied(&record, &*to).unwrap());
    assert_eq!(to.video_by_id(copied).unwrap().unwrap().meta, record.meta);
    assert_eq!(to.spaces().unwrap(), from.spaces().unwrap());
    assert_eq!(to.moments(copied, "s").unwrap(), from.moments(id, "s").unwrap());
    let there = to.segments(copied).unwrap();
    assert_eq!(there.len(), 3);
    assert_eq!(to.thumbnail(there[1].id).unwrap().as_deref(), Some(&b"a jpeg"[..]));
    assert_eq!(to.thumbnail(there[0].id).unwrap(), None);
    assert_eq!(
        to.stored_vectors(copied, "s").unwrap(),
        from.stored_vectors(id, "s").unwrap()
    );
    assert_eq!(
        to.video_vector(copied, "s").unwrap(),
        from.video_vector(id, "s").unwrap()
    );
    let tags = to.tags(copied).unwrap();
    assert_eq!(
        (tags.len(), tags[0].segment, tags[0].label.as_str()),
        (1, there[2].id, "a kitten")
    );
    assert_eq!(to.text(copied, TextSource::Speech).unwrap(), Some(text));
    let found = to
        .text_matches(&Keywords::parse("budget").unwrap(), &Filter::default(), 5)
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].point.segment, there[1].id);
    let hits = search(&*to, SearchRequest::new("s", &axis(2), 1));
    assert_eq!((hits[0].video_id, hits[0].start), (copied, 2.0));
}

fn held_by(claim: Claim) -> String {
    match claim {
        Claim::Held { worker, .. } => worker,
        Claim::Ours => panic!("a claim another worker holds was taken"),
    }
}

fn claims_are_leases_one_worker_holds(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    let minute = Duration::from_secs(60);
    assert_eq!(store.claim("a", "w1", minute).unwrap(), Claim::Ours);
    match store.claim("a", "w2", minute).unwrap() {
        Claim::Held { worker, expires_in } => {
            assert_eq!(worker, "w1");
            assert!(
                expires_in > Duration::from_secs(50) && expires_in <= minute,
                "{expires_in:?}"
            );
        }
        Claim::Ours => panic!("w2 took w1's live claim"),
    }
    assert_eq!(store.claim("a", "w1", minute).unwrap(), Claim::Ours, "a renewal");
    assert_eq!(store.claim("b", "w2", minute).unwrap(), Claim::Ours, "keys are apart");

    store.release("a", "w2").unwrap();
    assert_eq!(
        held_by(store.claim("a", "w2", minute).unwrap()),
        "w1",
        "only the holder releases"
    );
    store.release("a", "w1").unwrap();
    assert_eq!(
        store.claim("a", "w2", minute).unwrap(),
        Claim::Ours,
        "a released claim is free"
    );
    store.release("never claimed", "w1").unwrap();

    // A worker that stops renewing loses its claim when its lease runs out.
    assert_eq!(store.claim("c", "w3", Duration::from_millis(300)).unwrap(), Claim::Ours);
    assert_eq!(held_by(store.claim("c", "w4", minute).unwrap()), "w3");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        store.claim("c", "w4", minute).unwrap(),
        Claim::Ours,
        "an expired claim is taken over"
    );
    assert_eq!(held_by(store.claim("c", "w3", minute).unwrap()), "w4");

    // Workers claiming one key at once: one of them gets it.
    let store: &dyn VectorStore = &*store;
    let winners = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..6)
            .map(|w| scope.spawn(move || store.claim("race", &format!("r{w}"), minute).unwrap()))
            .collect();
        racers
            .into_iter()
            .map(|racer| racer.join().unwrap())
            .filter(|claim| *claim == Claim::Ours)
            .count()
    });
    assert_eq!(winners, 1, "claims racing for one key");

    let reopened = open(dir);
    assert_eq!(
        held_by(reopened.claim("b", "w1", minute).unwrap()),
        "w2",
        "claims survive reopening"
    );
}

fn writes_are_all_or_nothing(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    store.put_video(&video("/a.mp4", &[axis(0)])).unwrap();
    let mut bad = video("/a.mp4", &[axis(1), axis(2)]);
    bad.frames[0].1[1].vector.push(0.0);
    assert!(store.put_video(&bad).is_err(), "a vector of the wrong dimension");
    let hits = search(&*store, SearchRequest::new("s", &axis(0), 10));
    assert_eq!(hits.len(), 1, "the old version stays whole");
    assert!((hits[0].score - 1.0).abs() < 1e-3);
    // A writer dropped before it commits (an error, a panic) leaves nothing, not even the
    // replaced video's absence.
    let entry = video("/b.mp4", &[axis(4)]);
    let mut writer = store.write_video("/b.mp4", &entry.meta.hash).unwrap();
    writer.add_frames("s", &entry.frames[0].1).unwrap();
    writer.set_segments(&entry.segments).unwrap();
    writer.put_vectors(&entry.vectors[0]).unwrap();
    drop(writer);
    let mut writer = store.write_video("/a.mp4", "hash of /a.mp4").unwrap();
    writer.add_frames("s", &entry.frames[0].1).unwrap();
    drop(writer);
    assert_eq!(store.count("s").unwrap(), 1);
    assert_eq!(store.video_by_path("/b.mp4").unwrap(), None);
    let hits = search(&*store, SearchRequest::new("s", &axis(0), 10));
    assert_eq!(paths(&hits), ["/a.mp4"]);
    text_goes_with_its_write(&*store, &entry);
}

/// What a write says of a video's text is seen from its commit on, never from a write dropped,
/// for a new video and for an extension.
fn text_goes_with_its_write(store: &dyn VectorStore, entry: &VideoEntry) {
    let heard = |text: &str| VideoText {
        source: TextSource::Speech,
        reader: "s".into(),
        fps: 0.0,
        frames: 1,
        language: Some("en".into()),
        lines: vec![TextSpan {
            start: 0.2,
            end: 0.9,
            text: text.into(),
            score: 0.9,
            bbox: [0.0; 4],
            words: Vec::new(),
        }],
    };
    let found = |query: &str| {
        let keywords = Keywords::parse(query).unwrap();
        let matches = store.text_matches(&keywords, &Filter::default(), 10).unwrap();
        matches.iter().map(|m| m.point.video).collect::<Vec<i64>>()
    };
    let write = || {
        let mut writer = store.write_video("/c.mp4", "hash of /c.mp4").unwrap();
        writer.add_frames("s", &entry.frames[0].1).unwrap();
        writer.set_segments(&entry.segments).unwrap();
        writer.put_vectors(&entry.vectors[0]).unwrap();
        writer.set_text(&heard("the lighthouse keeper")).unwrap();
        writer
    };
    drop(write());
    assert_eq!(store.video_by_path("/c.mp4").unwrap(), None);
    assert!(found("lighthouse").is_empty(), "a dropped write's text is gone with it");
    let writer = write();
    assert!(found("lighthouse").is_empty(), "not seen before the commit");
    let meta = VideoMeta {
        path: "/c.mp4".into(),
        hash: "hash of /c.mp4".into(),
        ..entry.meta.clone()
    };
    let id = writer.commit(&meta).unwrap();
    assert_eq!(found("lighthouse"), [id]);
    assert_eq!(
        store.text(id, TextSource::Speech).unwrap(),
        Some(heard("the lighthouse keeper"))
    );
    let mut extension = store.extend_video(id, &[]).unwrap();
    extension.set_text(&heard("the foghorn")).unwrap();
    drop(extension);
    assert_eq!(found("lighthouse"), [id], "a dropped extension changes nothing");
    let mut extension = store.extend_video(id, &[]).unwrap();
    extension.set_text(&heard("the foghorn")).unwrap();
    extension.commit(&meta).unwrap();
    assert!(found("lighthouse").is_empty(), "replaced, not added to");
    assert_eq!(found("foghorn"), [id]);
    assert_eq!(store.text(id, TextSource::Speech).unwrap(), Some(heard("the foghorn")));
    assert_eq!(store.count("s").unwrap(), 2, "the extension kept the vectors");
}

fn data_survives_reopening(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    let mut draw = Synthetic::new(DIM, 5, 6, 3);
    fill(&*store, &mut draw, 10, 30);
    let query = draw.draw().0;
    let before = search(&*store, SearchRequest::new("s", &query, 10));
    drop(store);
    let store = open(dir);
    assert_eq!(store.count("s").unwrap(), 300);
    assert_eq!(search(&*store, SearchRequest::new("s", &query, 10)), before);
}

fn fresh_work_and_removals_are_visible_at_once(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    let mut draw = Synthetic::new(DIM, 5, 6, 4);
    fill(&*store, &mut draw, 20, 20);
    // Written after the last optimisation: found at once.
    let new = store.put_video(&video("/new.mp4", &[axis(5)])).unwrap();
    let hit = &search(&*store, SearchRequest::new("s", &axis(5), 1))[0];
    assert_eq!((hit.video_id, hit.path.as_str()), (new, "/new.mp4"));
    // Removed: never a hit again, before and after optimising.
    let gone = store.video_by_path("/v03.mp4").unwrap().unwrap().id;
    let its_segments: HashSet<i64> = store.segments(gone).unwrap().iter().map(|s| s.id).collect();
    store.remove_videos(&[gone, new]).unwrap();
    for round in 0..2 {
        for _ in 0..20 {
            let query = draw.draw().0;
            let hits = search(
                &*store,
                SearchRequest {
                    group_by_video: round == 1,
                    ..SearchRequest::new("s", &query, 50)
                },
            );
            assert!(
                hits.iter()
                    .all(|h| h.video_id != gone && h.video_id != new && !its_segments.contains(&h.segment)),
                "a removed video came back (round {round})"
            );
        }
        store.optimize(&mut |_, _| {}).unwrap();
    }
    assert_eq!(store.count("s").unwrap(), 19 * 20);
}

fn approximate_answers_match_exact_ones(open: Open<'_>, dir: &Path) {
    let store = fresh(open, dir);
    let mut draw = Synthetic::new(DIM, 8, 8, 5);
    fill(&*store, &mut draw, 60, 50);
    let (mut found, mut wanted) = (0, 0);
    for _ in 0..50 {
        let query = draw.draw().0;
        for group_by_video in [false, true] {
            let request = SearchRequest {
                group_by_video,
                ..SearchRequest::new("s", &query, 10)
            };
            let exact = search(
                &*store,
                SearchRequest {
                    exact: true,
                    ..request.clone()
                },
            );
            let approximate = search(&*store, request);
            assert_eq!(approximate.len(), exact.len());
            let truth: HashSet<i64> = exact.iter().map(|h| h.segment).collect();
            found += approximate.iter().filter(|h| truth.contains(&h.segment)).count();
            wanted += truth.len();
            for pair in approximate.windows(2) {
                assert!(pair[0].score >= pair[1].score, "best first");
            }
            if group_by_video {
                let videos: HashSet<i64> = approximate.iter().map(|h| h.video_id).collect();
                assert_eq!(videos.len(), approximate.len(), "one hit per video");
            }
        }
    }
    let recall = found as f64 / wanted as f64;
    assert!(recall >= 0.95, "recall@10 against exact search: {recall:.3}");
}
