//! The ingest pipeline below the engine: planning and pooling with a fake encoder (each frame's
//! vector is the direction of its mean colour) over a temporary store and a real video.

use std::sync::atomic::AtomicBool;

use vtx_core::{dot, mean_unit, normalize};
use vtx_index::{Catalog, SqliteStore, VectorIndex, VectorStore};
use vtx_media::{FrameSize, Resize};
use vtx_models::{ImageBatch, ImageEncoder, Preprocess};

use super::{execute, finish_empty, plan, FileOutcome, IndexOptions, IndexReport, Plan, Riders};
use crate::frame_models::{FrameEncoder, FrameModel, ModelInfo};

/// The jobs of `plan` run to the end with the frame models alone.
fn run(plan: Plan, store: &dyn VectorStore, models: &mut [&mut FrameModel], options: &IndexOptions) -> IndexReport {
    let cancel = AtomicBool::new(false);
    execute(plan, store, models, Riders::default(), options, &mut (), &cancel).unwrap()
}

const SIZE: u32 = 16;

struct MeanColour {
    preprocess: Preprocess,
}

fn mean_colour(picture: &[u8]) -> Vec<f32> {
    let mut v = vec![0f32; 3];
    for pixel in picture.chunks_exact(3) {
        v.iter_mut().zip(pixel).for_each(|(sum, c)| *sum += f32::from(*c) + 1.0);
    }
    normalize(&mut v);
    v
}

impl ImageEncoder for MeanColour {
    fn preprocess(&self) -> &Preprocess {
        &self.preprocess
    }
    fn dim(&self) -> usize {
        3
    }
    fn batch_size(&self) -> usize {
        4
    }
    fn encode(&mut self, frames: &[&[u8]]) -> vtx_models::Result<ImageBatch> {
        Ok(ImageBatch {
            embeddings: frames.iter().map(|f| mean_colour(f)).collect(),
            class_probs: None,
        })
    }
}

fn fake_model(name: &str) -> FrameModel {
    let preprocess = serde_json::from_value(serde_json::json!({
        "size": [SIZE, SIZE], "resize": "squash", "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]
    }))
    .expect("a preprocess block");
    FrameModel {
        info: ModelInfo {
            name: name.into(),
            spaces: vec![vtx_index::Space {
                name: name.into(),
                dim: 3,
                model: name.into(),
            }],
            frame_size: FrameSize::new(SIZE, SIZE, Resize::Squash),
            clip: None,
            flow: false,
        },
        encoder: FrameEncoder::Image {
            encoder: Box::new(MeanColour { preprocess }),
            conse: None,
        },
    }
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
}

#[test]
fn segments_pool_their_frames_and_a_second_run_plans_only_what_is_missing() {
    // Five photos of 3 s each, joined: five shots, five segments.
    let video = vtx_core::cache_dir().join("fixtures/joined.mp4");
    assert!(video.exists(), "test media missing: run `make setup`");
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("index")).unwrap();
    let mut colour = fake_model("colour");
    store.ensure_space(&colour.info.spaces[0]).unwrap();
    let options = IndexOptions {
        motion: None,
        ..Default::default()
    };
    let paths = [video.clone()];
    let first = plan(&store, &[colour.info.clone()], &paths, &options, &mut ()).unwrap();
    assert!(!first.is_empty());
    let report = run(first, &store, &mut [&mut colour], &options);
    assert!(
        matches!(report.files[0].1, FileOutcome::Indexed { frames: 15, .. }),
        "{:?}",
        report.files
    );

    let record = store.videos().unwrap().remove(0);
    let segments = store.segments(record.id).unwrap();
    let spans: Vec<(f64, f64)> = segments.iter().map(|s| (s.start, s.end)).collect();
    assert_eq!(spans.len(), 5, "{spans:?}");
    let page = store.scroll("colour", None, 100).unwrap();
    assert_eq!(page.points.len(), 5);
    // Each segment is one photo: its vector is that photo's colour, whichever frame is taken.
    for (segment, vector) in &page.points {
        let middle = (segment.start + segment.end) / 2.0;
        let mut frame = None;
        vtx_media::sample(
            &video,
            &vtx_media::Sampling::Fps(1.0),
            &[FrameSize::new(SIZE, SIZE, Resize::Squash)],
            |f| {
                if f.t >= middle && frame.is_none() {
                    frame = Some(f.images[0].clone());
                }
                std::ops::ControlFlow::Continue(())
            },
        )
        .unwrap();
        let expected = mean_colour(&frame.unwrap());
        assert!(
            dot(vector, &expected) > 0.999,
            "segment at {middle}: {vector:?} vs {expected:?}"
        );
    }
    let distinct = page.points.windows(2).filter(|w| dot(&w[0].1, &w[1].1) < 0.999).count();
    assert!(distinct >= 3, "the photos differ in colour");
    // The video's vector is the mean of its segments', not of its frames.
    let pooled = mean_unit(page.points.iter().map(|(_, v)| v.as_slice())).unwrap();
    assert!(close(
        &store.video_vector(record.id, "colour").unwrap().unwrap(),
        &pooled
    ));

    // Unchanged and complete: nothing to do.
    let again = plan(&store, &[colour.info.clone()], &paths, &options, &mut ()).unwrap();
    assert!(again.is_empty());
    assert_eq!(finish_empty(again).files[0].1, FileOutcome::Unchanged);
    // A second model: the video gets its vectors only, over the stored segments.
    let mut shade = fake_model("shade");
    store.ensure_space(&shade.info.spaces[0]).unwrap();
    let infos = [colour.info.clone(), shade.info.clone()];
    let extend = plan(&store, &infos, &paths, &options, &mut ()).unwrap();
    let report = run(extend, &store, &mut [&mut colour, &mut shade], &options);
    assert!(
        matches!(&report.files[0].1, FileOutcome::Extended { spaces, .. } if spaces == &["shade".to_string()]),
        "{:?}",
        report.files
    );
    assert_eq!(
        store.segments(record.id).unwrap(),
        segments,
        "the segments stay as they were"
    );
    let shaded = store.scroll("shade", None, 100).unwrap();
    for ((a, u), (b, v)) in page.points.iter().zip(&shaded.points) {
        assert_eq!(a.id, b.id);
        assert!(close(u, v), "the same encoder gives the same pooled vectors");
    }
}

#[test]
fn the_motion_model_rides_on_the_first_decode_and_never_forces_another() {
    let video = vtx_core::cache_dir().join("fixtures/motion/pan.mp4");
    assert!(video.exists(), "test media missing: run `make setup`");
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("index")).unwrap();
    let mut colour = fake_model("colour");
    let mut flow = FrameModel {
        info: ModelInfo::new(&crate::motion::manifest(), None).unwrap(),
        encoder: FrameEncoder::Flow,
    };
    assert!(flow.info.flow);
    let (colour_space, motion_space) = (colour.info.spaces[0].clone(), flow.info.spaces[0].clone());
    store.ensure_space(&colour_space).unwrap();
    store.ensure_space(&motion_space).unwrap();
    let options = IndexOptions::default();
    let paths = [video];

    // Motion alone: one pictureless decode still measures it.
    let infos = [flow.info.clone()];
    let only = plan(&store, &infos, &paths, &options, &mut ()).unwrap();
    run(only, &store, &mut [&mut flow], &options);
    let record = store.videos().unwrap().remove(0);
    assert_eq!(
        store.video_spaces(record.id).unwrap(),
        std::slice::from_ref(&motion_space.name)
    );
    assert!(store.count(&motion_space.name).unwrap() > 0);

    // With an image model, in full: both spaces from one decode.
    let both = [colour.info.clone(), flow.info.clone()];
    let force = IndexOptions {
        force: true,
        ..IndexOptions::default()
    };
    let full = plan(&store, &both, &paths, &force, &mut ()).unwrap();
    run(full, &store, &mut [&mut colour, &mut flow], &force);
    let mut spaces = store.video_spaces(record.id).unwrap();
    spaces.sort();
    assert_eq!(spaces, [colour_space.name.clone(), motion_space.name.clone()]);
    let motion_vector = store.video_vector(record.id, &motion_space.name).unwrap().unwrap();
    assert!(
        (dot(&motion_vector, &motion_vector) - 1.0).abs() < 1e-4,
        "pooled to unit length"
    );

    // A video without motion vectors is not decoded again for them: some videos give none.
    store.remove_videos(&[record.id]).unwrap();
    let colour_only = [colour.info.clone()];
    let first = plan(&store, &colour_only, &paths, &options, &mut ()).unwrap();
    run(first, &store, &mut [&mut colour], &options);
    let again = plan(&store, &both, &paths, &options, &mut ()).unwrap();
    assert!(
        again.is_empty(),
        "unchanged, and the motion model alone does not extend it"
    );
}

#[test]
fn several_videos_at_once_write_what_one_at_a_time_writes() {
    let fixtures = vtx_core::cache_dir().join("fixtures");
    let paths: Vec<_> = [
        "joined.mp4",
        "rates/joined-24.mp4",
        "bad/notes.mp4",
        "rates/joined-60.mp4",
        "shots/fade.mp4",
        "digits/1-0.mp4",
        "rates/joined-vfr.mp4",
        "shots/pan-2s.mp4",
    ]
    .iter()
    .map(|name| fixtures.join(name))
    .collect();
    assert!(paths.iter().all(|p| p.exists()), "test media missing: run `make setup`");
    // Two frames a second: the long videos hold more vectors than a waiting one may keep, so
    // they pause and take the write over in turn; the short ones finish while another holds it
    // and wait to be written.
    let index = |jobs: usize, dir: &std::path::Path| {
        let store = SqliteStore::open(&dir.join("index")).unwrap();
        let mut colour = fake_model("colour");
        store.ensure_space(&colour.info.spaces[0]).unwrap();
        let options = IndexOptions {
            sampling: vtx_media::Sampling::Fps(2.0),
            motion: None,
            jobs,
            ..Default::default()
        };
        let planned = plan(&store, &[colour.info.clone()], &paths, &options, &mut ()).unwrap();
        let report = run(planned, &store, &mut [&mut colour], &options);
        (store, report)
    };
    let (one_dir, three_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (one, alone) = index(1, one_dir.path());
    let (three, together) = index(3, three_dir.path());

    let names: Vec<_> = together.files.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(names, paths, "outcomes are reported in the order of the files");
    assert_eq!(alone.files, together.files);
    assert!(
        matches!(together.files[2].1, FileOutcome::Failed(_)),
        "{:?}",
        together.files
    );
    assert_eq!(together.count(|o| matches!(o, FileOutcome::Indexed { .. })), 7);
    assert_eq!(alone.frames, together.frames);

    let videos = |store: &SqliteStore| {
        let mut videos = store.videos().unwrap();
        videos.sort_by_key(|v| v.id);
        videos
    };
    let (from_one, from_three) = (videos(&one), videos(&three));
    assert_eq!(from_one.len(), 7);
    for (a, b) in from_one.iter().zip(&from_three) {
        assert_eq!((a.id, &a.meta), (b.id, &b.meta));
        assert_eq!(one.segments(a.id).unwrap(), three.segments(b.id).unwrap());
        assert_eq!(
            one.frame_times(a.id, "colour").unwrap(),
            three.frame_times(b.id, "colour").unwrap()
        );
        let (u, v) = (
            one.video_vector(a.id, "colour").unwrap().unwrap(),
            three.video_vector(b.id, "colour").unwrap().unwrap(),
        );
        assert!(close(&u, &v), "{}: {u:?} vs {v:?}", a.meta.path);
    }
    let (p, q) = (
        one.scroll("colour", None, 1000).unwrap().points,
        three.scroll("colour", None, 1000).unwrap().points,
    );
    assert_eq!(p.len(), q.len());
    for ((a, u), (b, v)) in p.iter().zip(&q) {
        assert_eq!(a.id, b.id);
        assert!(close(u, v));
    }
}
