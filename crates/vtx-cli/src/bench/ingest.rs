//! `vtx bench`: ingest throughput beside the two limits that bound it on this machine, measured in
//! the same run: the FFmpeg CLI decoding the whole video, and ONNX Runtime running the same image
//! model on the same number of frames. Decode and inference overlap in the pipeline, so its wall
//! time should approach the larger of the two, not their sum.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use vtx_media::Sampling;
use vtx_models::{OnnxImageEncoder, Registry};

use anyhow::{anyhow, bail, Context, Result};
use vtx::{frame_size, Engine, EngineConfig, IndexOptions};

#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchRow {
    pub video: String,
    pub resolution: String,
    pub video_seconds: f64,
    pub frames_sampled: u64,
    /// `ffmpeg -i VIDEO -f null -`: decode every frame, nothing else.
    pub ffmpeg_cli_decode_s: f64,
    /// The same with `-skip_frame noref`: the decoding work vtx does when sampling sparsely.
    pub ffmpeg_cli_noref_s: f64,
    /// vtx-media alone: decode, sample and convert to the model's input, no inference.
    pub vtx_decode_sample_s: f64,
    /// The bare ONNX Runtime session on the same number of frames.
    pub ort_raw_infer_s: f64,
    /// `vtx index` of the video into an empty index, models already loaded (as by default: shots
    /// detected, motion measured, segment thumbnails made).
    pub pipeline_s: f64,
    /// The same without the motion stream (`--no-motion`).
    pub pipeline_no_motion_s: f64,
    /// Plain sampling at the same rate: neither shots nor motion (`--no-shots --no-motion`).
    pub pipeline_plain_s: f64,
    /// CPU seconds (user + system, all threads) of the default pipeline and of the plain one:
    /// the work shots and motion add, less blurred by other jobs on a shared host than wall time.
    pub pipeline_cpu_s: f64,
    pub pipeline_plain_cpu_s: f64,
    /// Whether vtx skipped non-reference frames, which makes `ffmpeg_cli_noref_s` the comparable
    /// decode limit instead of `ffmpeg_cli_decode_s`.
    pub skipped_nonref: bool,
}

impl BenchRow {
    /// The FFmpeg CLI doing the same decoding work as vtx.
    pub fn decode_limit_s(&self) -> f64 {
        if self.skipped_nonref {
            self.ffmpeg_cli_noref_s
        } else {
            self.ffmpeg_cli_decode_s
        }
    }

    /// Pipeline time over the larger limit (decode or inference): 1.0 means they overlap
    /// perfectly. When both limits already use every core, their sum is the honest floor.
    pub fn overlap_ratio(&self) -> f64 {
        self.pipeline_s / self.decode_limit_s().max(self.ort_raw_infer_s)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    pub model: String,
    pub sampling: String,
    pub batch: usize,
    pub cores: usize,
    pub rows: Vec<BenchRow>,
}

impl BenchReport {
    pub fn table(&self) -> String {
        let mut out = format!(
            "model {}, sampling {}, batch {}, {} cores; seconds (fastest of the repeats)\n",
            self.model, self.sampling, self.batch, self.cores
        );
        out.push_str(&format!(
            "{:<24} {:>9} {:>7} {:>6} {:>8} {:>8} {:>10} {:>8} {:>8} {:>10} {:>6} {:>6} {:>6} {:>7} {:>6} {:>5}\n",
            "video",
            "size",
            "video_s",
            "frames",
            "ff_full",
            "ff_noref",
            "vtx_decode",
            "ort_raw",
            "pipeline",
            "realtime_x",
            "ratio",
            "plain",
            "shots+",
            "motion+",
            "both+",
            "cpu+"
        ));
        for r in &self.rows {
            let name = Path::new(&r.video)
                .file_name()
                .map_or(r.video.clone(), |n| n.to_string_lossy().into_owned());
            out.push_str(&format!(
                "{:<24} {:>9} {:>7.1} {:>6} {:>8} {:>8} {:>10.2} {:>8.2} {:>8.2} {:>10.1} {:>6.2} {:>6.2} {:>5.0}% {:>6.0}% {:>5.0}% {:>5.0}%\n",
                name,
                r.resolution,
                r.video_seconds,
                r.frames_sampled,
                format!(
                    "{:.2}{}",
                    r.ffmpeg_cli_decode_s,
                    if r.skipped_nonref { " " } else { "*" }
                ),
                format!(
                    "{:.2}{}",
                    r.ffmpeg_cli_noref_s,
                    if r.skipped_nonref { "*" } else { " " }
                ),
                r.vtx_decode_sample_s,
                r.ort_raw_infer_s,
                r.pipeline_s,
                r.video_seconds / r.pipeline_s,
                r.overlap_ratio(),
                r.pipeline_plain_s,
                (r.pipeline_no_motion_s / r.pipeline_plain_s - 1.0) * 100.0,
                (r.pipeline_s / r.pipeline_no_motion_s - 1.0) * 100.0,
                (r.pipeline_s / r.pipeline_plain_s - 1.0) * 100.0,
                (r.pipeline_cpu_s / r.pipeline_plain_cpu_s - 1.0) * 100.0
            ));
        }
        out.push_str("ff_full / ff_noref: ffmpeg CLI decoding every frame / skipping non-reference frames (vtx does that when\n  the sampling gap spans 8+ frames; * marks the decode limit that applies)\nratio = pipeline / max(decode limit, ort_raw); realtime_x = video seconds per wall second\nplain = the pipeline without shot detection and motion; shots+ = what shots add to plain; motion+ = what\n  the motion stream adds to that; both+ = the default pipeline over plain; cpu+ = the same in CPU time\n  (the three pipelines run interleaved, fastest of the repeats kept)\n");
        out
    }
}

fn fastest<T>(repeat: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut best: Option<(f64, T)> = None;
    for _ in 0..repeat {
        let start = Instant::now();
        let value = f()?;
        let secs = start.elapsed().as_secs_f64();
        if best.as_ref().is_none_or(|(b, _)| secs < *b) {
            best = Some((secs, value));
        }
    }
    Ok(best.expect("repeat is at least 1"))
}

/// CPU time of this process so far, all threads (ONNX Runtime's and the decoder's included).
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn ffmpeg_decode(video: &Path, skip_frame: &str) -> Result<()> {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-skip_frame", skip_frame, "-i"])
        .arg(video)
        .args(["-map", "0:v:0", "-f", "null", "-"])
        .stdout(Stdio::null())
        .status()
        .context("cannot run the ffmpeg CLI (install ffmpeg)")?;
    if !status.success() {
        bail!("ffmpeg could not decode {}", video.display());
    }
    Ok(())
}

/// Benchmark indexing each video with one image model; `repeat` runs of each measurement,
/// fastest kept.
pub fn run(
    videos: &[PathBuf],
    models_dir: &Path,
    model: &str,
    sampling: Sampling,
    repeat: usize,
    device: Option<vtx::Device>,
) -> Result<BenchReport> {
    let registry = Registry::new(models_dir).with_device(device);
    let manifest = registry.get(model)?;
    let image = manifest
        .image
        .as_ref()
        .ok_or_else(|| anyhow!("'{model}' is not an image model"))?;
    let batch = image.batch;
    let size = frame_size(&image.preprocess);
    let mut raw_encoder = OnnxImageEncoder::load(&manifest, registry.options())?;
    let options = IndexOptions {
        sampling: sampling.clone(),
        force: true,
        models: vec![model.to_string()],
        decoder: vtx::decoder_for(device),
        ..Default::default()
    };
    let scratch = std::env::temp_dir().join(format!("vtx-bench-{}", std::process::id()));
    let engine = Engine::open(EngineConfig {
        device,
        ..EngineConfig::new(scratch.clone(), models_dir.to_path_buf())
    })?;
    engine.prepare_indexing(&options)?;
    let mut rows = Vec::new();
    for video in videos {
        let info = vtx_media::probe(video)?;
        let (ffmpeg_s, ()) = fastest(repeat, || ffmpeg_decode(video, "default"))?;
        let (ffmpeg_noref_s, ()) = fastest(repeat, || ffmpeg_decode(video, "noref"))?;
        let analyses = vtx_media::Analyses {
            deblocking: options.deblocking,
            decoder: options.decoder,
            ..Default::default()
        };
        let (decode_s, stats) = fastest(repeat, || {
            let decoded =
                vtx_media::sample_and_analyse(video, &sampling, &[size], analyses, |_| ControlFlow::Continue(()))?;
            Ok(decoded.stats)
        })?;
        let frames = stats.frames_sampled as usize;
        let picture = vec![128u8; size.width as usize * size.height as usize * 3];
        let pictures = vec![picture.as_slice(); batch];
        let (ort_s, ()) = fastest(repeat, || {
            raw_encoder.run_raw(&pictures, frames / batch)?;
            Ok(raw_encoder.run_raw(&pictures[..frames % batch], 1)?)
        })?;
        // The variants run in turn within each repeat, so that a slow spell of a shared host
        // does not land on one of them only.
        let variants = [
            options.clone(),
            IndexOptions {
                motion: None,
                ..options.clone()
            },
            IndexOptions {
                shots: None,
                motion: None,
                ..options.clone()
            },
        ];
        let mut best = [(f64::INFINITY, f64::INFINITY); 3];
        for _ in 0..repeat {
            for (variant, slot) in variants.iter().zip(&mut best) {
                let (cpu0, start) = (cpu_seconds(), Instant::now());
                let report = engine.index(std::slice::from_ref(video), variant, &mut (), &Default::default())?;
                let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
                if report.failed() > 0 {
                    bail!("{}: {:?}", video.display(), report.files);
                }
                *slot = (slot.0.min(wall), slot.1.min(cpu));
            }
        }
        let [(pipeline_s, pipeline_cpu_s), (pipeline_no_motion_s, _), (pipeline_plain_s, pipeline_plain_cpu_s)] = best;
        rows.push(BenchRow {
            video: video.display().to_string(),
            resolution: format!("{}x{}", info.width, info.height),
            video_seconds: stats.duration,
            frames_sampled: stats.frames_sampled,
            ffmpeg_cli_decode_s: ffmpeg_s,
            ffmpeg_cli_noref_s: ffmpeg_noref_s,
            vtx_decode_sample_s: decode_s,
            ort_raw_infer_s: ort_s,
            pipeline_s,
            pipeline_no_motion_s,
            pipeline_plain_s,
            pipeline_cpu_s,
            pipeline_plain_cpu_s,
            skipped_nonref: stats.skipped_nonref,
        });
    }
    drop(engine);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(BenchReport {
        model: model.to_string(),
        sampling: format!("{sampling:?}"),
        batch,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rows,
    })
}

/// One tower of a model, run by vtx and bare, on the same inputs and batch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TowerRow {
    pub tower: String,
    pub batch: usize,
    pub items: usize,
    /// Items per second through vtx's encoder: preprocessing or tokenising, tensor building,
    /// inference, pooling and normalisation.
    pub vtx_per_s: f64,
    /// Items per second through the bare ONNX Runtime session with inputs built once.
    pub ort_raw_per_s: f64,
    /// Milliseconds per item that vtx spends before the session (pixels to the input tensor, or
    /// tokenising), measured alone: the overhead without the host's noise.
    pub prepare_ms: f64,
}

impl TowerRow {
    /// vtx's time over the bare session's, minus one, end to end.
    pub fn overhead(&self) -> f64 {
        self.ort_raw_per_s / self.vtx_per_s - 1.0
    }

    /// Input preparation as a share of the bare session's time per item.
    pub fn prepare_share(&self) -> f64 {
        self.prepare_ms / (1000.0 / self.ort_raw_per_s)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelBenchReport {
    pub model: String,
    pub cores: usize,
    pub rows: Vec<TowerRow>,
}

impl ModelBenchReport {
    pub fn table(&self) -> String {
        let mut out = format!(
            "model {}, {} cores (fastest of the repeats, vtx and bare runs interleaved)\n{:<6} {:>5} {:>6} {:>10} {:>12} {:>9} {:>11} {:>9}\n",
            self.model, self.cores, "tower", "batch", "items", "vtx/s", "ort_raw/s", "overhead", "prepare_ms", "prepare%"
        );
        for r in &self.rows {
            out.push_str(&format!(
                "{:<6} {:>5} {:>6} {:>10.1} {:>12.1} {:>8.1}% {:>11.3} {:>8.1}%\n",
                r.tower,
                r.batch,
                r.items,
                r.vtx_per_s,
                r.ort_raw_per_s,
                r.overhead() * 100.0,
                r.prepare_ms,
                r.prepare_share() * 100.0
            ));
        }
        out.push_str("overhead = vtx time / bare session time - 1, end to end (noisy on a shared host);\nprepare = pixels to tensor or tokenising, per item, measured alone, and as a share of the session's time\n");
        out
    }
}

/// Sentences of caption length for the text tower.
const BENCH_SENTENCES: [&str; 8] = [
    "a dog running on the beach at sunset",
    "two people talking in a kitchen",
    "aerial view of a city at night with traffic",
    "a close-up of a hummingbird drinking from a flower",
    "slow motion footage of a wave breaking",
    "a man playing guitar on stage",
    "children playing football in a park",
    "a rocket launching into a cloudy sky",
];

/// The fastest of `repeat` runs of `a` and of `b`, run turn about so that a slow spell of the
/// host weighs on both alike.
fn fastest_pair(
    repeat: usize,
    mut a: impl FnMut() -> Result<()>,
    mut b: impl FnMut() -> Result<()>,
) -> Result<(f64, f64)> {
    let (mut best_a, mut best_b) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..repeat {
        best_a = best_a.min(fastest(1, &mut a)?.0);
        best_b = best_b.min(fastest(1, &mut b)?.0);
    }
    Ok((best_a, best_b))
}

/// One tower measured: `items` inputs (rounded up to whole batches) through vtx's encoder
/// (`encode`, a batch a call) and through the bare session (`raw`, all rounds in one call), and
/// the time `prepare` takes to build one batch's input tensors.
fn tower_row(
    tower: &str,
    batch: usize,
    items: usize,
    repeat: usize,
    mut encode: impl FnMut() -> Result<()>,
    mut raw: impl FnMut(usize) -> Result<()>,
    mut prepare: impl FnMut() -> Result<()>,
) -> Result<TowerRow> {
    let rounds = items.div_ceil(batch);
    let all = |step: &mut dyn FnMut() -> Result<()>| (0..rounds).try_for_each(|_| step());
    let (vtx_s, raw_s) = fastest_pair(repeat, || all(&mut encode), || raw(rounds))?;
    let (prepare_s, ()) = fastest(repeat, || all(&mut prepare))?;
    let n = (rounds * batch) as f64;
    Ok(TowerRow {
        tower: tower.into(),
        batch,
        items: rounds * batch,
        vtx_per_s: n / vtx_s,
        ort_raw_per_s: n / raw_s,
        prepare_ms: prepare_s * 1000.0 / n,
    })
}

/// [`tower_row`] for a tower that takes pictures of `preprocess`'s size: (batch, items, repeat)
/// as there; `run` goes through vtx, `raw` runs the bare session on a batch that many rounds.
fn picture_row(
    tower: &str,
    preprocess: &vtx_models::Preprocess,
    (batch, items, repeat): (usize, usize, usize),
    mut run: impl FnMut(&[&[u8]]) -> Result<()>,
    mut raw: impl FnMut(&[&[u8]], usize) -> Result<()>,
) -> Result<TowerRow> {
    let picture = bench_picture(frame_size(preprocess));
    let pictures = vec![picture.as_slice(); batch];
    tower_row(
        tower,
        batch,
        items,
        repeat,
        || run(&pictures),
        |rounds| raw(&pictures, rounds),
        || Ok(preprocess.image_tensor(&pictures).map(drop)?),
    )
}

/// Throughput of each tower of `model` through vtx and through the bare session, `items` inputs in
/// batches of `batch` (default: the manifest's). Pictures are a real photo, resized once.
/// Any picture does for timing; the astronaut photo when `make setup` has fetched it (a
/// detector then finds what it would in footage, so its decoding costs what it would).
fn bench_picture(size: vtx_media::FrameSize) -> Vec<u8> {
    let photo = vtx_core::cache_dir().join("media/photos/astronaut.png");
    vtx_media::load_picture(&photo, &[size]).map_or_else(
        |_| (0..size.width * size.height * 3).map(|i| (i % 251) as u8).collect(),
        |mut p| p.remove(0),
    )
}

pub fn run_model(
    models_dir: &Path,
    model: &str,
    batch: Option<usize>,
    items: usize,
    repeat: usize,
    device: Option<vtx::Device>,
) -> Result<ModelBenchReport> {
    use vtx_models::{ImageEncoder, OnnxTextEncoder, TextEncoder};
    let registry = Registry::new(models_dir).with_device(device);
    let manifest = registry.get(model)?;
    let mut rows = Vec::new();
    let sized = |spec_batch: usize| (batch.unwrap_or(spec_batch).max(1), items, repeat);
    if let Some(spec) = &manifest.image {
        let encoder = RefCell::new(OnnxImageEncoder::load(&manifest, registry.options())?);
        let preprocess = encoder.borrow().preprocess().clone();
        rows.push(picture_row(
            "image",
            &preprocess,
            sized(spec.batch),
            |pictures| Ok(encoder.borrow_mut().encode(pictures).map(drop)?),
            |pictures, rounds| Ok(encoder.borrow_mut().run_raw(pictures, rounds)?),
        )?);
    }
    if manifest.text.is_some() {
        let batch = batch.unwrap_or(BENCH_SENTENCES.len()).max(1);
        let texts: Vec<&str> = BENCH_SENTENCES.iter().copied().cycle().take(batch).collect();
        let encoder = RefCell::new(OnnxTextEncoder::load(&manifest, registry.options())?);
        rows.push(tower_row(
            "text",
            batch,
            items,
            repeat,
            || Ok(encoder.borrow_mut().encode(&texts).map(drop)?),
            |rounds| Ok(encoder.borrow_mut().run_raw(&texts, rounds)?),
            || Ok(encoder.borrow().tokenize(&texts).map(drop)?),
        )?);
    }
    if let Some(spec) = &manifest.detector {
        let detector = RefCell::new(vtx_models::OnnxDetector::load(&manifest, registry.options())?);
        rows.push(picture_row(
            "detector",
            &spec.preprocess,
            sized(spec.batch),
            |pictures| Ok(vtx_models::ObjectDetector::detect(&mut *detector.borrow_mut(), pictures).map(drop)?),
            |pictures, rounds| Ok(detector.borrow_mut().run_raw(pictures, rounds)?),
        )?);
    }
    if let Some(spec) = &manifest.pose {
        let pose = RefCell::new(vtx_models::OnnxPose::load(&manifest, registry.options())?);
        rows.push(picture_row(
            "pose",
            &spec.preprocess,
            sized(spec.batch),
            |pictures| Ok(vtx_models::PoseEstimator::estimate(&mut *pose.borrow_mut(), pictures).map(drop)?),
            |pictures, rounds| Ok(pose.borrow_mut().run_raw(pictures, rounds)?),
        )?);
    }
    if manifest.ocr.is_some() {
        let reader = RefCell::new(vtx_models::OnnxTextReader::load(&manifest, registry.options())?);
        let preprocess = reader.borrow().detector_preprocess(1.0);
        let (w, h) = (preprocess.size[0], preprocess.size[1]);
        // One frame at a time, as `vtx text` reads them.
        rows.push(picture_row(
            "ocr",
            &preprocess,
            sized(1),
            |pictures| {
                let mut reader = reader.borrow_mut();
                for picture in pictures {
                    vtx_models::TextReader::read(&mut *reader, picture, w, h)?;
                }
                Ok(())
            },
            |pictures, rounds| Ok(reader.borrow_mut().run_raw(&pictures[..1], rounds * pictures.len())?),
        )?);
    }
    if rows.is_empty() {
        bail!("'{model}' has no image, text, detector, pose or ocr graph to measure");
    }
    Ok(ModelBenchReport {
        model: model.to_string(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rows,
    })
}
