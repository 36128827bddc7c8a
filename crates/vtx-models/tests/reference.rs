//! The Rust text encoder against embeddings computed independently with Python's onnxruntime and
//! tokenizers (`scripts/reference_embeddings.py`), and the image encoder on real photos.

use std::path::PathBuf;

use vtx_models::{ImageEncoder, Manifest, OnnxImageEncoder, OnnxTextEncoder, Registry, TextEncoder};

fn registry() -> Registry {
    let cache = std::env::var_os("VTX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/vtx"));
    let dir = std::env::var_os("VTX_MODELS").map_or_else(|| cache.join("models"), PathBuf::from);
    Registry::new(&dir)
}

fn manifest(name: &str) -> Manifest {
    registry().get(name).unwrap_or_else(|e| panic!("{e}: run `make setup`"))
}

fn minilm() -> OnnxTextEncoder {
    OnnxTextEncoder::load(&manifest("minilm-l6-v2"), registry().options()).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn text_embeddings_match_the_python_reference() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/minilm_reference.json")).expect("fixture is JSON");
    let sentences: Vec<String> = serde_json::from_value(fixture["sentences"].clone()).unwrap();
    let expected: Vec<Vec<f32>> = serde_json::from_value(fixture["vectors"].clone()).unwrap();
    let mut encoder = minilm();
    // All at once: the batch is padded to its longest sentence, so this also checks the masking.
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let got = encoder.encode(&refs).unwrap();
    assert_eq!(got.len(), expected.len());
    for ((s, g), e) in sentences.iter().zip(&got).zip(&expected) {
        assert_eq!(g.len(), 384);
        let c = cosine(g, e);
        assert!(c >= 0.999, "cosine {c} for {s:?}");
    }
    // The reference pairs from models.md: related sentences near, unrelated ones near zero.
    assert!(cosine(&got[0], &got[1]) > 0.5);
    assert!(cosine(&got[0], &got[2]).abs() < 0.1);
}

#[test]
fn empty_batch_is_fine() {
    assert!(minilm().encode(&[]).unwrap().is_empty());
}

#[test]
fn image_encoder_rejects_wrong_frame_size() {
    let mut encoder = OnnxImageEncoder::load(&manifest("efficientnet-lite0"), registry().options()).unwrap();
    assert!(encoder.encode(&[&[0u8; 10]]).is_err());
}

#[test]
fn conse_puts_label_words_near_their_class() {
    let (image, text_model) = (manifest("efficientnet-lite0"), manifest("minilm-l6-v2"));
    let mut text = minilm();
    let conse = registry().conse(&image, &text_model, &mut text).unwrap();
    let labels = image.file(image.image.as_ref().unwrap().labels.as_ref().unwrap());
    let names: Vec<String> = std::fs::read_to_string(labels)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(names.len(), 1000);
    // A frame the classifier is sure shows an espresso projects to the "espresso" label vector.
    let espresso = names.iter().position(|n| n == "espresso").unwrap();
    let mut probs = vec![0.0f32; 1000];
    probs[espresso] = 1.0;
    let v = conse.project(&probs).unwrap();
    let q = text.encode(&["a cup of coffee", "a motorcycle"]).unwrap();
    assert!(cosine(&v, &q[0]) > cosine(&v, &q[1]) + 0.2);
}

/// Where the classes of `range` (ImageNet indices) rank, on average, among all 1000 label vectors
/// for `query` (1 = nearest).
fn mean_rank_of(labels: &[Vec<f32>], query: &[f32], range: std::ops::Range<usize>) -> f64 {
    let scores: Vec<f32> = labels.iter().map(|l| cosine(l, query)).collect();
    let rank = |i: usize| 1 + scores.iter().filter(|&&s| s > scores[i]).count();
    range.clone().map(rank).sum::<usize>() as f64 / range.len() as f64
}

#[test]
fn wordnet_descriptions_put_broader_words_and_synonyms_near_their_classes() {
    let (image, text_model) = (manifest("efficientnet-lite0"), manifest("minilm-l6-v2"));
    let descriptions = image
        .class_descriptions()
        .unwrap()
        .expect("the offline pack's manifest names its WordNet descriptions: run `make setup`");
    assert_eq!(descriptions.len(), 1000);
    // The tabby (class 281) is a kind of domestic cat, and its gloss says what it looks like.
    assert!(
        descriptions[281].0.starts_with("domestic cat"),
        "{:?}",
        descriptions[281]
    );
    assert!(descriptions[281].1.contains("mottled"), "{:?}", descriptions[281]);
    let mut text = minilm();
    let grounded = registry().conse(&image, &text_model, &mut text).unwrap();
    let names = image.labels().unwrap();
    let plain = vtx_models::Conse::from_class_names(&names, &mut text, 10).unwrap();
    // ImageNet's 118 dog breeds are classes 151-268, its cats 281-293 (house and wild), its
    // rodents 333-338: words that name none of them bring them closer with WordNet than with
    // their names alone.
    let q = text.encode(&["a canine", "a feline", "a rodent"]).unwrap();
    for (query, classes) in [(&q[0], 151..269), (&q[1], 281..294), (&q[2], 333..339)] {
        let (with, without) = (
            mean_rank_of(grounded.label_vectors(), query, classes.clone()),
            mean_rank_of(plain.label_vectors(), query, classes.clone()),
        );
        assert!(
            with < 0.7 * without,
            "classes {classes:?}: mean rank {with} with WordNet, {without} without"
        );
    }
}
