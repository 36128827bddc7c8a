//! The converted MoveNet pose model and vtx's decoding of its heads, against TensorFlow.js running
//! the original TF.js graph, its own keypoint decoding included, on the same pictures (`make
//! setup` writes its outputs under fixtures/pose; see scripts/setup.sh).

use std::path::PathBuf;

use vtx_models::{OnnxPose, PoseEstimator, Registry, KEYPOINTS};

fn cache() -> PathBuf {
    std::env::var_os("VTX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/vtx"))
}

fn pose_model() -> OnnxPose {
    let dir = std::env::var_os("VTX_MODELS").map_or_else(|| cache().join("models"), PathBuf::from);
    let registry = Registry::new(&dir);
    let manifest = registry
        .get("movenet-lightning")
        .unwrap_or_else(|e| panic!("{e}: run `make setup`"));
    OnnxPose::load(&manifest, registry.options()).unwrap()
}

fn picture(name: &str) -> Vec<u8> {
    std::fs::read(cache().join(format!("fixtures/pose/{name}.rgb"))).expect("run `make setup`")
}

/// TensorFlow.js's `Identity`: `[y, x, score]` per keypoint, in fractions of the picture.
fn reference(name: &str) -> Vec<[f32; 3]> {
    let bytes = std::fs::read(cache().join(format!("fixtures/pose/{name}/Identity.f32"))).unwrap();
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    floats.chunks_exact(3).map(|r| r.try_into().unwrap()).collect()
}

#[test]
fn decoding_matches_the_graphs_own_and_finds_a_body() {
    let mut model = pose_model();
    let names = ["astronaut", "football"];
    let pictures: Vec<Vec<u8>> = names.iter().map(|n| picture(n)).collect();
    let refs: Vec<&[u8]> = pictures.iter().map(Vec::as_slice).collect();
    // Both in one batch: the decoding must keep pictures apart.
    let poses = model.estimate(&refs).unwrap();
    assert_eq!(poses.len(), 2);
    for (name, pose) in names.iter().zip(&poses) {
        let expected = reference(name);
        assert_eq!(pose.keypoints.len(), KEYPOINTS.len());
        for ((kp, [y, x, score]), label) in pose.keypoints.iter().zip(&expected).zip(KEYPOINTS) {
            // The graph's constants are float16 (1/48 is 0.020828): a few 1e-4 apart at most.
            let off = (kp.x - x).abs().max((kp.y - y).abs());
            assert!(off < 1e-3, "{name} {label}: ({}, {}) against ({x}, {y})", kp.x, kp.y);
            assert!(
                (kp.score - score).abs() < 1e-4,
                "{name} {label}: score {} against {score}",
                kp.score
            );
        }
    }
    // The footballer is seen whole and upright: shoulders above hips above knees, his head on top.
    let seen = |i: usize| poses[1].keypoints[i];
    let y_of = |a: usize, b: usize| (seen(a).y + seen(b).y) / 2.0;
    let (shoulders, hips, knees) = (y_of(5, 6), y_of(11, 12), y_of(13, 14));
    assert!(
        seen(0).y < shoulders && shoulders < hips && hips < knees,
        "{:?}",
        poses[1]
    );
    assert!((5..17).all(|i| seen(i).score > model.min_score()), "{:?}", poses[1]);
    // The astronaut's photo ends at her waist: her ankles are not seen.
    let astronaut = &poses[0].keypoints;
    assert!(astronaut[15].score < model.min_score() && astronaut[16].score < model.min_score());
    assert!(model.estimate(&[]).unwrap().is_empty());
}
