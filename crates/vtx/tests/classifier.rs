//! The converted EfficientNet-Lite0 recognises what is in the photo clips: decoded by vtx-media,
//! classified by vtx-models, the way `vtx index` does it.

use std::ops::ControlFlow;
use std::path::PathBuf;

use vtx_media::{FrameSize, Resize, Sampling};
use vtx_models::{ImageEncoder, ModelPack};

#[test]
fn photo_clips_are_classified_as_what_they_show() {
    let cache = std::env::var_os("VTX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/vtx"));
    let pack = ModelPack::open(&vtx::default_models_dir()).expect("model pack: run `make setup`");
    let names = pack.class_names().unwrap();
    let mut encoder = pack.image_encoder().unwrap();
    for (clip, expected) in [
        ("cat", &["cat"][..]),
        ("coffee", &["espresso", "cup", "coffee"][..]),
        ("motorcycle", &["moped", "scooter", "motorcycle"][..]),
    ] {
        let path = cache.join(format!("fixtures/photos/{clip}.mp4"));
        let mut frame = None;
        vtx_media::sample(
            &path,
            Sampling::Count(1),
            FrameSize::new(224, 224, Resize::CenterCrop),
            |f| {
                frame = Some(f);
                ControlFlow::Break(())
            },
        )
        .unwrap();
        let batch = encoder.encode(&[frame.unwrap().rgb.as_slice()]).unwrap();
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
