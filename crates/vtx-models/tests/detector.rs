//! The converted COCO detector and vtx's decoding of its heads, against TensorFlow.js running the
//! original TF.js graph, post-processing included, on the same frames (`make setup` writes its
//! outputs under fixtures/detector; see scripts/setup.sh).

use std::path::PathBuf;

use vtx_models::{DecodeOptions, Detection, Manifest, ObjectDetector, OnnxDetector, Registry};

const SIZE: usize = 512;

fn cache() -> PathBuf {
    std::env::var_os("VTX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/vtx"))
}

fn registry() -> Registry {
    let dir = std::env::var_os("VTX_MODELS").map_or_else(|| cache().join("models"), PathBuf::from);
    Registry::new(&dir)
}

/// The installed detector at the size TensorFlow.js ran it at.
fn detector() -> OnnxDetector {
    let registry = registry();
    let mut manifest: Manifest = registry
        .get("centernet-coco")
        .unwrap_or_else(|e| panic!("{e}: run `make setup`"));
    manifest.detector.as_mut().unwrap().preprocess.size = [SIZE as u32; 2];
    OnnxDetector::load(&manifest, registry.options()).unwrap()
}

fn frame(photo: &str) -> Vec<u8> {
    std::fs::read(cache().join(format!("fixtures/detector/{photo}-{SIZE}.rgb"))).expect("run `make setup`")
}

/// TensorFlow.js's `tower_0/detections`: the graph's own top-100 peaks, each
/// `[x0, y0, x1, y1, score, class]` in input pixels.
fn reference(photo: &str) -> Vec<[f32; 6]> {
    let bytes = std::fs::read(cache().join(format!("fixtures/detector/{photo}/tower_0_detections.f32"))).unwrap();
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    floats.chunks_exact(6).map(|r| r.try_into().unwrap()).collect()
}

#[test]
fn raw_decoding_matches_the_graphs_own_post_processing() {
    let mut detector = detector();
    let raw = DecodeOptions {
        max_peaks: 100,
        min_score: 0.0,
        iou: None,
    };
    for photo in ["astronaut", "motorcycle_left"] {
        let expected: Vec<[f32; 6]> = reference(photo).into_iter().filter(|r| r[4] >= 0.05).collect();
        assert!(expected.len() > 20, "{photo}: only {} reference peaks", expected.len());
        let got = &detector.detect_with(&[&frame(photo)], raw).unwrap()[0];
        let got: Vec<&Detection> = got.iter().filter(|d| d.score >= 0.05).collect();
        assert_eq!(got.len(), expected.len(), "{photo}: peaks above 0.05");
        for (g, e) in got.iter().zip(&expected) {
            let px = |v: f32| v * SIZE as f32;
            let corners = [px(g.bbox.x0), px(g.bbox.y0), px(g.bbox.x1), px(g.bbox.y1)];
            assert_eq!(g.class, e[5] as usize, "{photo}: {g:?} against {e:?}");
            assert!((g.score - e[4]).abs() < 1e-4, "{photo}: {g:?} against {e:?}");
            assert!(
                corners.iter().zip(&e[..4]).all(|(a, b)| (a - b).abs() < 0.05),
                "{photo}: {corners:?} against {e:?}"
            );
        }
    }
}

#[test]
fn the_photos_show_what_was_checked_by_eye() {
    let mut detector = detector();
    let labels = detector.labels().to_vec();
    assert_eq!(labels.len(), 80);
    let frames = [frame("astronaut"), frame("motorcycle_left")];
    let found = detector.detect(&[&frames[0], &frames[1]]).unwrap();
    let named = |d: &[Detection]| d.iter().map(|d| labels[d.class].as_str()).collect::<Vec<_>>();
    // The astronaut is one person, seated left of centre and filling the height.
    assert_eq!(named(&found[0]), ["person"]);
    let person = found[0][0].bbox;
    assert!(
        person.x0 < 0.1 && person.x1 > 0.6 && person.x1 < 0.8 && person.height() > 0.9,
        "{person:?}"
    );
    // The motorcycle fills most of its photo; the two overlapping peaks on it are one detection.
    assert_eq!(named(&found[1]), ["motorcycle"]);
    assert!(found[1][0].bbox.area() > 0.5, "{:?}", found[1][0]);
    // A batch gives what single frames give.
    let alone = detector.detect(&[&frames[1]]).unwrap();
    assert_eq!(alone[0], found[1]);
}

#[test]
fn a_frame_of_the_wrong_size_is_refused() {
    let e = detector().detect(&[&[0u8; 30]]).unwrap_err().to_string();
    assert!(e.contains("expected 786432"), "{e}");
}

/// The test model with the output layout of a YOLOv8 export (`scripts/make_test_models.py`):
/// planted boxes whose scores scale with the frame's brightness.
#[test]
fn a_yolo_layout_is_decoded_with_its_boxes_classes_and_suppression() {
    let registry = registry();
    let dir = cache().join("test-models/yolo-detector");
    let manifest = Manifest::load(&dir).unwrap_or_else(|e| panic!("{e}: run `make setup`"));
    let mut detector = OnnxDetector::load(&manifest, registry.options()).unwrap();
    let (white, black) = (vec![255u8; 320 * 320 * 3], vec![0u8; 320 * 320 * 3]);
    let found = detector.detect(&[&white, &black]).unwrap();
    let labels = detector.labels().to_vec();
    let seen: Vec<(&str, f32)> = found[0].iter().map(|d| (labels[d.class].as_str(), d.score)).collect();
    // The weaker cat box overlaps the first and goes; the kite shares the dog's box but is
    // another class and stays; the fifth anchor is under min_score.
    assert_eq!(seen, [("cat", 0.9), ("dog", 0.7), ("kite", 0.6)]);
    let cat = found[0][0].bbox;
    let close = |a: f32, b: f32| (a - b).abs() < 1e-5;
    assert!(
        close(cat.x0, 50.0 / 320.0)
            && close(cat.y0, 30.0 / 320.0)
            && close(cat.x1, 110.0 / 320.0)
            && close(cat.y1, 130.0 / 320.0),
        "{cat:?}"
    );
    assert!(found[1].is_empty(), "a black frame scores nothing: {:?}", found[1]);
}
