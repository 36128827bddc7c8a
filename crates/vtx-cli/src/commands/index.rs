use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use vtx::{Engine, IndexOptions, IndexReport, MotionOptions, ShotOptions, VideoRecord};

use super::{engine_config, open_engine};
use crate::args::{IndexArgs, RemoveArgs, SamplingMode};
use crate::progress::Progress;

fn options(args: &IndexArgs) -> Result<IndexOptions> {
    if args.no_shots && args.sampling.sampling == Some(SamplingMode::Shots) {
        bail!("--sampling shots needs shot detection: drop --no-shots");
    }
    if args.pose.given() && !args.objects {
        bail!("--pose and --no-pose go with --objects");
    }
    Ok(IndexOptions {
        sampling: args.sampling.sampling(args.segment_seconds)?,
        batch_size: args.batch,
        force: args.force,
        models: args.models.clone(),
        near_duplicate_bits: args.dedup.then_some(args.dedup_bits),
        shots: (!args.no_shots).then(ShotOptions::default),
        segment_seconds: args.segment_seconds,
        pooling: args.pool,
        motion: (!args.no_motion).then(MotionOptions::default),
        prune: args.prune,
        share: args.shard,
        lease: std::time::Duration::from_secs(args.lease),
        deblocking: args.sampling.deblocking,
        decoder: vtx::decoder_for(args.common.models.device),
        jobs: args.jobs.map_or_else(vtx::default_jobs, usize::from),
        objects: args.objects.then(|| vtx::ObjectOptions {
            detector: args.detector.clone(),
            fps: args.object_fps,
            text_weight: args.object_text_weight,
            pose: args.pose.model(),
            ..Default::default()
        }),
        text: args.ocr.then(|| vtx::TextOptions {
            reader: args.reader.clone(),
            fps: args.text_fps,
        }),
        speech: args
            .speech
            .then(|| crate::args::speech_options(&args.speech_model, &args.language, args.no_vad)),
        ..Default::default()
    })
}

pub fn run(args: IndexArgs) -> Result<IndexReport> {
    let options = options(&args)?;
    let mut config = engine_config(&args.common)?;
    if let Some(cluster) = &mut config.qdrant {
        args.layout.apply(cluster);
    }
    let engine = Engine::open(config).context("cannot open vtx")?;
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    // First Ctrl-C: finish the video being written and stop; the index stays consistent either way.
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping: the index keeps every finished video (Ctrl-C again to quit now)");
    })
    .context("cannot install the Ctrl-C handler")?;
    let mut progress = Progress::new();
    let report = engine.index(&args.paths, &options, &mut progress, &cancel);
    progress.finish();
    Ok(report?)
}

/// 1 when some files were not indexed (the others were), or the run stopped early.
pub fn exit_code(report: &IndexReport) -> ExitCode {
    match report.failed() > 0 || report.cancelled || report.aborted.is_some() {
        true => ExitCode::from(1),
        false => ExitCode::SUCCESS,
    }
}

pub fn remove(args: &RemoveArgs) -> Result<Vec<VideoRecord>> {
    Ok(open_engine(&args.common)?.remove(&args.paths)?)
}
