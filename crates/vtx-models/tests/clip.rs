//! The CLIP-family path on the tiny random CLIP-shaped exports that `scripts/make_test_models.py`
//! generates (`make setup`): the BPE tokenizer against OpenAI's own, manifests written for export
//! folders, both text-graph layouts against onnxruntime's Python API, and installing and removing.

use std::path::{Path, PathBuf};

use vtx_models::manifest::{Interpolation, Pooling, ResizeMode};
use vtx_models::{load_tokenizer, ModelKind, OnnxTextEncoder, Registry, TextEncoder, MANIFEST_FILE};

fn cache() -> PathBuf {
    vtx_core::set_up("test-models/reference.json").unwrap()
}

fn test_models() -> PathBuf {
    cache().join("test-models")
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(test_models().join("reference.json")).unwrap()).unwrap()
}

/// An empty model folder that shares the installed ONNX Runtime library.
fn empty_registry() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let models = std::env::var_os("VTX_MODELS").map_or_else(|| cache().join("models"), PathBuf::from);
    std::os::unix::fs::symlink(models.join("onnxruntime"), dir.path().join("onnxruntime")).unwrap();
    let registry = Registry::new(dir.path());
    (dir, registry)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn clip_tokens_match_openais_tokenizer() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/clip_tokens.json")).expect("fixture is JSON");
    let tokenizer = load_tokenizer(&test_models().join("clip-export/tokenizer.json"), 77).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let expected: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        let got = tokenizer.encode(text, true).unwrap().get_ids().to_vec();
        assert_eq!(got, expected, "{text:?}");
    }
    // The long case was cut to the 77-token context and still ends with the end-of-text token.
    let long = fixture["cases"].as_array().unwrap().last().unwrap()["text"]
        .as_str()
        .unwrap();
    let ids = tokenizer.encode(long, true).unwrap().get_ids().to_vec();
    assert_eq!((ids.len(), ids[0], ids[76]), (77, 49406, 49407));
}

#[test]
fn an_export_folder_gets_a_manifest_and_its_text_tower_matches_python() {
    let (dir, registry) = empty_registry();
    let m = registry
        .add(&test_models().join("clip-export"), Some("tiny-clip"))
        .unwrap();
    assert_eq!((m.kind, m.dim, m.space()), (ModelKind::ImageText, 32, "tiny-clip"));
    let image = m.image.as_ref().unwrap();
    assert_eq!(
        (image.input.as_str(), image.output.as_str()),
        ("pixel_values", "image_embeds")
    );
    // From preprocessor_config.json: bicubic, shortest side then centre crop, CLIP's statistics.
    assert_eq!(image.preprocess.interpolation, Interpolation::Bicubic);
    assert_eq!(image.preprocess.resize, ResizeMode::CenterCrop);
    assert_eq!(image.preprocess.size, [224, 224]);
    assert!((image.preprocess.mean[0] - 0.481_454_66).abs() < 1e-6);
    let text = m.text.as_ref().unwrap();
    assert_eq!(
        (
            text.output.as_str(),
            text.pooling,
            text.max_tokens,
            text.attention_mask.as_deref()
        ),
        ("text_embeds", Pooling::None, 77, Some("attention_mask"))
    );
    // Installed as a folder of its own with a manifest that reads back.
    assert!(dir.path().join("tiny-clip").join(MANIFEST_FILE).is_file());
    assert_eq!(registry.get("tiny-clip").unwrap().dim, 32);

    let reference = reference();
    let sentences: Vec<String> = serde_json::from_value(reference["sentences"].clone()).unwrap();
    let expected: Vec<Vec<f32>> = serde_json::from_value(reference["text_embeds"].clone()).unwrap();
    let mut encoder = OnnxTextEncoder::load(&m, registry.options()).unwrap();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    // One padded batch, then one by one: masking makes them agree.
    let batch = encoder.encode(&refs).unwrap();
    for ((s, got), want) in sentences.iter().zip(&batch).zip(&expected) {
        assert!(cosine(got, want) > 0.9999, "{s:?}: cosine {}", cosine(got, want));
        let alone = encoder.encode(&[s.as_str()]).unwrap();
        assert!(cosine(&alone[0], got) > 0.9999, "{s:?} alone differs from batched");
    }
}

#[test]
fn a_hidden_state_text_graph_is_pooled_on_the_end_token_and_projected() {
    let (_dir, registry) = empty_registry();
    let m = registry.add(&test_models().join("clip-hidden-export"), None).unwrap();
    assert_eq!(m.name, "clip-hidden-export");
    let text = m.text.as_ref().unwrap();
    assert_eq!(text.pooling, Pooling::Eos);
    assert_eq!(text.projection.as_deref(), Some("text_projection.npy"));
    let reference = reference();
    let sentences: Vec<String> = serde_json::from_value(reference["sentences"].clone()).unwrap();
    let expected: Vec<Vec<f32>> = serde_json::from_value(reference["hidden_eos_projected"].clone()).unwrap();
    let mut encoder = OnnxTextEncoder::load(&m, registry.options()).unwrap();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    for ((s, got), want) in sentences.iter().zip(encoder.encode(&refs).unwrap()).zip(&expected) {
        assert_eq!(got.len(), 32);
        assert!(cosine(&got, want) > 0.9999, "{s:?}: cosine {}", cosine(&got, want));
    }
}

#[test]
fn adding_is_all_or_nothing_and_mistakes_are_named() {
    let (dir, registry) = empty_registry();
    let not_a_model = tempfile::tempdir().unwrap();
    std::fs::write(not_a_model.path().join("notes.txt"), "hello").unwrap();
    let e = registry.add(not_a_model.path(), None).unwrap_err().to_string();
    assert!(e.contains("does not look like a CLIP-style export"), "{e}");

    // A manifest naming an output the graph does not have fails when added, not when indexing.
    let broken = tempfile::tempdir().unwrap();
    let export = test_models().join("clip-export");
    std::fs::create_dir(broken.path().join("onnx")).unwrap();
    for f in ["onnx/vision_model.onnx", "onnx/text_model.onnx", "tokenizer.json"] {
        std::fs::copy(export.join(f), broken.path().join(f)).unwrap();
    }
    let manifest = registry.add(&export, Some("good")).unwrap().to_toml();
    std::fs::write(
        broken.path().join(MANIFEST_FILE),
        manifest
            .replace("name = \"good\"", "name = \"bad\"")
            .replace("\"image_embeds\"", "\"image_embedding\""),
    )
    .unwrap();
    let e = registry.add(broken.path(), None).unwrap_err().to_string();
    assert!(e.contains("image_embedding"), "{e}");
    assert!(registry.get("bad").is_err());
    assert!(
        leftovers(dir.path()).is_empty(),
        "staging left behind: {:?}",
        leftovers(dir.path())
    );

    let e = registry.add(&export, Some("good")).unwrap_err().to_string();
    assert!(e.contains("installed already"), "{e}");
    let removed = registry.remove("good").unwrap();
    assert!(!removed.exists());
    let e = registry.get("good").unwrap_err().to_string();
    assert!(e.contains("no model named 'good'"), "{e}");
}

#[test]
fn pulling_offline_says_how_to_install_by_hand() {
    let (_dir, registry) = empty_registry();
    // Nothing listens on port 9 (discard) here: the connection is refused at once.
    std::env::set_var("HF_ENDPOINT", "http://127.0.0.1:9");
    let e = registry
        .pull("openai/clip-vit-base-patch32", "main", None)
        .unwrap_err()
        .to_string();
    std::env::remove_var("HF_ENDPOINT");
    assert!(e.contains("cannot reach http://127.0.0.1:9"), "{e}");
    assert!(e.contains("vtx models add FOLDER"), "{e}");
    let e = registry.pull("not-a-hub-id", "main", None).unwrap_err().to_string();
    assert!(e.contains("not a hub id"), "{e}");
}
