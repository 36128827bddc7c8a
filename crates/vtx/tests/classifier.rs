//! The converted EfficientNet-Lite0 recognises what is in the photo clips: decoded by vtx-media,
//! classified by vtx-models, the way `vtx index` does it.

use std::ops::ControlFlow;

use vtx_media::Sampling;
use vtx_models::{ImageEncoder, OnnxImageEncoder, Registry};

#[test]
fn photo_clips_are_classified_as_what_they_show() {
    let cache = vtx_core::cache_dir();
    let registry = Registry::new(&vtx_core::cache_dir().join("models"));
    let manifest = registry
        .get("efficientnet-lite0")
        .expect("model pack: run `make setup`");
    let labels = manifest.file(manifest.image.as_ref().unwrap().labels.as_ref().unwrap());
    let names: Vec<String> = std::fs::read_to_string(labels)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let mut encoder = OnnxImageEncoder::load(&manifest, registry.options()).unwrap();
    let size = vtx::frame_size(encoder.preprocess());
    for (clip, expected) in [
        ("cat", &["cat"][..]),
        ("coffee", &["espresso", "cup", "coffee"][..]),
        ("motorcycle", &["moped", "scooter", "motorcycle"][..]),
    ] {
        let path = cache.join(format!("fixtures/photos/{clip}.mp4"));
        let mut frame = None;
        vtx_media::sample(&path, &Sampling::Count(1), &[size], |f| {
            frame = Some(f);
            ControlFlow::Break(())
        })
        .unwrap();
        let batch = encoder.encode(&[frame.unwrap().images[0].as_slice()]).unwrap();
        let probs = &batch.class_probs.unwrap()[0];
        let top = (0..probs.len()).max_by(|&a, &b| probs[a].total_cmp(&probs[b])).unwrap();
        assert!(
            expected.iter().any(|word| names[top].contains(word)),
            "{clip}: top class {} ({:.2})",
            names[top],
            probs[top]
        );
        assert!(probs[top] > 0.3, "{clip}: unsure, {:.2}", probs[top]);
        assert_eq!(batch.embeddings[0].len(), 1280);
    }
}
