//! The offline pack's image-to-text bridge (ConSE) in its variants, side by side on captioned dev
//! sets: `cargo bench -p vtx --bench conse_variants -- CAPTIONS.tsv [MORE.tsv ...]`.
//!
//! Each video is decoded and classified once, as `vtx index` does (1 frame a second, the same
//! frame size, segments of the default length); each variant then builds its segment vectors
//! and scores every caption against every video (a video scores its best segment, as
//! `vtx eval retrieval` does), and prints text-to-video R@1/R@5/R@10 and the median rank. The
//! first row reproduces `vtx eval retrieval` on an index built with class names alone (the paper's
//! ConSE), the row marked "the pack's default" one built with the pack's manifest.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;

use vtx::eval::{parse_table, retrieval_ranks, Captioned, Ranks};
use vtx_core::{dot, normalize};
use vtx_models::{Conse, ImageEncoder, OnnxImageEncoder, OnnxTextEncoder, Registry, TextEncoder};

/// Prompt templates for the label ensembles (CLIP's habit: a label inside a sentence).
const TEMPLATES: [&str; 3] = ["a photo of a {}", "a drawing of a {}", "a video of a {}"];

/// One video: for each segment, its frames' class probabilities.
type Video = Vec<Vec<Vec<f32>>>;

struct Bridge {
    /// Label vectors: class names alone, the default WordNet descriptions, and each with the
    /// prompt ensemble in place of the bare names.
    names: Vec<Vec<f32>>,
    wordnet: Vec<Vec<f32>>,
    prompted: Vec<Vec<f32>>,
    prompted_wordnet: Vec<Vec<f32>>,
}

/// The paper's ConSE: the top 10 classes at their own probabilities.
const PAPER: (f32, usize) = (1.0, Conse::DEFAULT_TOP_K);

/// How a variant turns a segment's frames into a vector and scores a query against it.
#[derive(Clone, Copy)]
enum Scoring {
    /// ConSE: top-k of the probabilities (sharpened or flattened by `temperature`), the frame
    /// vectors' mean; cosine with the query, after taking the labels' mean away when `centre`.
    Conse {
        temperature: f32,
        top_k: usize,
        centre: bool,
    },
    /// The query in class space: softmax of its similarities to the labels at `tau`, against the
    /// segment's mean class distribution (the chance both name the same class).
    ClassSpace { tau: f32, temperature: f32 },
    /// ConSE per frame, the segment scoring its best frame instead of its mean vector.
    BestFrame,
}

struct Variant {
    name: String,
    labels: fn(&Bridge) -> &[Vec<f32>],
    scoring: Scoring,
    /// Query through the prompt templates too (the mean of their embeddings).
    prompted_query: bool,
}

fn main() {
    let tables: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if tables.is_empty() {
        eprintln!("usage: cargo bench -p vtx --bench conse_variants -- CAPTIONS.tsv [MORE.tsv ...]");
        std::process::exit(2);
    }
    let registry = Registry::new(&vtx_core::cache_dir().join("models"));
    let image_manifest = registry.get("efficientnet-lite0").expect("run `make setup`");
    let text_manifest = registry.get("minilm-l6-v2").expect("run `make setup`");
    let mut image = OnnxImageEncoder::load(&image_manifest, registry.options()).unwrap();
    let mut text = OnnxTextEncoder::load(&text_manifest, registry.options()).unwrap();
    let bridge = bridge(&image_manifest, &mut text);
    let spec = image_manifest.conse.as_ref().unwrap();
    let variants = variants((spec.temperature, spec.top_k));
    for table in &tables {
        let captioned: Vec<Captioned> = parse_table(&std::fs::read_to_string(table).unwrap())
            .unwrap_or_else(|e| panic!("{table}: {e:?}"))
            .into_iter()
            .map(|(video, value)| Captioned::new(video, &value))
            .collect();
        let mut paths: Vec<String> = Vec::new();
        for row in &captioned {
            if !paths.contains(&row.video) {
                paths.push(row.video.clone());
            }
        }
        let videos: Vec<Video> = paths.iter().map(|p| classify(Path::new(p), &mut image)).collect();
        let owner: Vec<usize> = captioned
            .iter()
            .map(|row| paths.iter().position(|p| *p == row.video).unwrap())
            .collect();
        let captions: Vec<&str> = captioned.iter().map(|row| row.caption.as_str()).collect();
        let queries = embed(&mut text, &captions);
        let prompted_queries = prompt_mean(&mut text, &captions);
        println!(
            "\n{table}: {} captions, {} videos\n\n| variant | R@1 | R@5 | R@10 | median rank |\n|---|---|---|---|---|",
            captions.len(),
            paths.len()
        );
        for variant in &variants {
            let queries = if variant.prompted_query {
                &prompted_queries
            } else {
                &queries
            };
            let scores = score(&bridge, variant, queries, &videos);
            let (text_to_video, _) = retrieval_ranks(&scores, &owner);
            let ranks = Ranks::of(&text_to_video);
            println!(
                "| {} | {:.3} | {:.3} | {:.3} | {} |",
                variant.name, ranks.r1, ranks.r5, ranks.r10, ranks.median_rank
            );
        }
    }
}

fn bridge(manifest: &vtx_models::Manifest, text: &mut OnnxTextEncoder) -> Bridge {
    let spec = manifest.conse.clone().expect("the image model has a [conse] section");
    let names = manifest.labels().unwrap();
    let descriptions = manifest
        .class_descriptions()
        .unwrap()
        .expect("run `make setup` (wordnet.tsv)");
    let kinds: Vec<String> = descriptions
        .iter()
        .map(|(kind, _)| format!("a kind of {kind}"))
        .collect();
    let glosses: Vec<String> = descriptions.iter().map(|(_, gloss)| gloss.clone()).collect();
    let [kinds, glosses, plain] =
        [&kinds, &glosses, &names].map(|texts| embed(text, &texts.iter().map(String::as_str).collect::<Vec<_>>()));
    // As `Conse::from_descriptions` builds them: the name, plus the weighted kind and gloss.
    let with_wordnet = |base: &[Vec<f32>]| -> Vec<Vec<f32>> {
        base.iter()
            .zip(kinds.iter().zip(&glosses))
            .map(|(n, (k, g))| {
                let mut v: Vec<f32> = (0..n.len())
                    .map(|i| n[i] + spec.hypernym_weight * k[i] + spec.gloss_weight * g[i])
                    .collect();
                normalize(&mut v);
                v
            })
            .collect()
    };
    let prompted = prompt_mean(text, &names.iter().map(String::as_str).collect::<Vec<_>>());
    Bridge {
        wordnet: with_wordnet(&plain),
        prompted_wordnet: with_wordnet(&prompted),
        names: plain,
        prompted,
    }
}

/// Every variant; the one whose temperature and top-k are `pack`'s is marked as the default.
fn variants(pack: (f32, usize)) -> Vec<Variant> {
    let conse = |(temperature, top_k), centre| Scoring::Conse {
        temperature,
        top_k,
        centre,
    };
    let v = |name: &str, labels: fn(&Bridge) -> &[Vec<f32>], scoring, prompted_query| Variant {
        name: name.to_string(),
        labels,
        scoring,
        prompted_query,
    };
    let names: fn(&Bridge) -> &[Vec<f32>] = |b| &b.names;
    let wordnet: fn(&Bridge) -> &[Vec<f32>] = |b| &b.wordnet;
    let prompted: fn(&Bridge) -> &[Vec<f32>] = |b| &b.prompted;
    let prompted_wordnet: fn(&Bridge) -> &[Vec<f32>] = |b| &b.prompted_wordnet;
    let mut all = vec![
        v("class names (plain ConSE)", names, conse(PAPER, false), false),
        v("WordNet descriptions", wordnet, conse(PAPER, false), false),
        v("prompt ensemble of the names", prompted, conse(PAPER, false), false),
        v(
            "prompt ensemble + WordNet",
            prompted_wordnet,
            conse(PAPER, false),
            false,
        ),
        v("WordNet, prompted queries", wordnet, conse(PAPER, false), true),
        v(
            "prompt ensemble + WordNet, prompted queries",
            prompted_wordnet,
            conse(PAPER, false),
            true,
        ),
    ];
    for temperature in [0.5, 2.0, 4.0] {
        all.push(v(
            &format!("WordNet, temperature {temperature}"),
            wordnet,
            conse((temperature, PAPER.1), false),
            false,
        ));
    }
    for (temperature, k) in [
        (2.0, 50),
        (2.0, 200),
        (3.0, 50),
        (3.0, 200),
        (4.0, 50),
        (4.0, 200),
        (4.0, 1000),
        (6.0, 200),
    ] {
        let default = if (temperature, k) == pack {
            " (the pack's default)"
        } else {
            ""
        };
        all.push(v(
            &format!("WordNet, temperature {temperature}, top {k}{default}"),
            wordnet,
            conse((temperature, k), false),
            false,
        ));
        all.push(v(
            &format!("prompt ensemble + WordNet, temperature {temperature}, top {k}"),
            prompted_wordnet,
            conse((temperature, k), false),
            false,
        ));
    }
    all.push(v("WordNet, centred", wordnet, conse(PAPER, true), false));
    all.push(v("names, centred", names, conse(PAPER, true), false));
    for (tau, temperature) in [
        (0.01, 1.0),
        (0.02, 1.0),
        (0.05, 1.0),
        (0.02, 2.0),
        (0.05, 2.0),
        (0.1, 2.0),
    ] {
        all.push(v(
            &format!("WordNet, class-space scoring, tau {tau}, temperature {temperature}"),
            wordnet,
            Scoring::ClassSpace { tau, temperature },
            false,
        ));
    }
    all.push(v(
        "WordNet, best frame of a segment",
        wordnet,
        Scoring::BestFrame,
        false,
    ));
    all
}

/// Decode `path` as indexing does and classify its frames, grouped into segments of the default
/// length.
fn classify(path: &Path, image: &mut OnnxImageEncoder) -> Video {
    let size = vtx::frame_size(image.preprocess());
    let mut frames = Vec::new();
    vtx_media::sample(path, &vtx::Sampling::Fps(1.0), &[size], |mut frame| {
        frames.push((frame.t, frame.images.swap_remove(0)));
        ControlFlow::Continue(())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut segments: HashMap<usize, Vec<Vec<f32>>> = HashMap::new();
    for chunk in frames.chunks(image.batch_size()) {
        let pictures: Vec<&[u8]> = chunk.iter().map(|(_, p)| p.as_slice()).collect();
        let probs = image.encode(&pictures).unwrap().class_probs.expect("a classifier");
        for ((t, _), p) in chunk.iter().zip(probs) {
            let segment = (t / vtx::DEFAULT_SEGMENT_SECONDS).floor() as usize;
            segments.entry(segment).or_default().push(p);
        }
    }
    let mut keys: Vec<usize> = segments.keys().copied().collect();
    keys.sort_unstable();
    keys.into_iter().map(|k| segments.remove(&k).unwrap()).collect()
}

fn score(bridge: &Bridge, variant: &Variant, queries: &[Vec<f32>], videos: &[Video]) -> Vec<Vec<f32>> {
    let labels = (variant.labels)(bridge);
    let mean_label = vtx_core::mean_unit(labels.iter().map(Vec::as_slice)).unwrap();
    let centred = |v: &[f32]| {
        let mut c: Vec<f32> = v.iter().zip(&mean_label).map(|(x, m)| x - m).collect();
        normalize(&mut c);
        c
    };
    let conse = conse_of(labels, variant);
    let project = |probs: &[f32]| conse.as_ref().unwrap().project(probs).unwrap();
    // Each segment as what the scoring compares: a vector, a class distribution or its frames.
    let segments: Vec<Vec<Vec<Vec<f32>>>> = videos
        .iter()
        .map(|video| {
            video
                .iter()
                .map(|frames| match variant.scoring {
                    Scoring::Conse { centre, .. } => {
                        let vectors: Vec<Vec<f32>> = frames.iter().map(|p| project(p)).collect();
                        let mean = vtx_core::mean_unit(vectors.iter().map(Vec::as_slice)).unwrap();
                        vec![if centre { centred(&mean) } else { mean }]
                    }
                    Scoring::ClassSpace { temperature, .. } => {
                        let flattened: Vec<Vec<f32>> = frames
                            .iter()
                            .map(|p| {
                                let q: Vec<f32> = p.iter().map(|x| x.powf(1.0 / temperature)).collect();
                                let sum: f32 = q.iter().sum();
                                q.into_iter().map(|x| x / sum).collect()
                            })
                            .collect();
                        let n = frames.len() as f32;
                        vec![(0..frames[0].len())
                            .map(|c| flattened.iter().map(|p| p[c]).sum::<f32>() / n)
                            .collect()]
                    }
                    Scoring::BestFrame => frames.iter().map(|p| project(p)).collect(),
                })
                .collect()
        })
        .collect();
    queries
        .iter()
        .map(|query| {
            let query: Vec<f32> = match variant.scoring {
                Scoring::Conse { centre: true, .. } => centred(query),
                Scoring::ClassSpace { tau, .. } => {
                    let sims: Vec<f32> = labels.iter().map(|l| dot(query, l) / tau).collect();
                    let top = sims.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let exp: Vec<f32> = sims.iter().map(|s| (s - top).exp()).collect();
                    let sum: f32 = exp.iter().sum();
                    exp.into_iter().map(|e| e / sum).collect()
                }
                _ => query.clone(),
            };
            segments
                .iter()
                .map(|video| {
                    video
                        .iter()
                        .flatten()
                        .map(|s| dot(&query, s))
                        .fold(f32::NEG_INFINITY, f32::max)
                })
                .collect()
        })
        .collect()
}

/// The ConSE bridge a variant projects frames with, if it projects them.
fn conse_of(labels: &[Vec<f32>], variant: &Variant) -> Option<Conse> {
    let (temperature, top_k) = match variant.scoring {
        Scoring::Conse { temperature, top_k, .. } => (temperature, top_k),
        Scoring::BestFrame => PAPER,
        Scoring::ClassSpace { .. } => return None,
    };
    Some(
        Conse::new(labels.to_vec(), top_k)
            .and_then(|c| c.with_temperature(temperature))
            .unwrap(),
    )
}

fn embed(text: &mut impl TextEncoder, texts: &[&str]) -> Vec<Vec<f32>> {
    texts.chunks(64).flat_map(|chunk| text.encode(chunk).unwrap()).collect()
}

/// Each text through every template, the mean of the embeddings, back to unit length.
fn prompt_mean(text: &mut impl TextEncoder, texts: &[&str]) -> Vec<Vec<f32>> {
    let per_template: Vec<Vec<Vec<f32>>> = TEMPLATES
        .iter()
        .map(|template| {
            let prompted: Vec<String> = texts.iter().map(|t| template.replace("{}", t)).collect();
            embed(text, &prompted.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .collect();
    (0..texts.len())
        .map(|i| vtx_core::mean_unit(per_template.iter().map(|vectors| vectors[i].as_slice())).unwrap())
        .collect()
}
