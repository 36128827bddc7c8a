use anyhow::{Context, Result};
use vtx::{ObjectOptions, ObjectsReport, TrackerOptions};

use crate::args::ObjectsArgs;

pub fn run(args: &ObjectsArgs) -> Result<ObjectsReport> {
    if let Some(index) = &args.index {
        let config = vtx::EngineConfig::new(index.clone(), super::models_dir(&args.models));
        let engine = vtx::Engine::open_existing(config).context("cannot open vtx")?;
        return engine.stored_objects(&args.video)?.ok_or_else(|| {
            vtx::EngineError::NotFound(format!(
                "no objects were detected in {} (index it with `vtx index --objects`)",
                args.video.display()
            ))
            .into()
        });
    }
    let models = vtx::model_registry(&super::models_dir(&args.models)).with_device(args.models.device);
    let options = ObjectOptions {
        detector: args.detector.clone(),
        fps: args.fps,
        min_score: args.min_score,
        tracker: TrackerOptions {
            min_hits: args.min_frames,
            ..TrackerOptions::default()
        },
        pose: args.pose.model(),
        ..ObjectOptions::default()
    };
    // A bar over the seconds of the video, when its header says how long it is (on a terminal).
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut progress = |t: f64, claimed: Option<f64>| {
        let Some(length) = claimed else { return };
        let bar = bar.get_or_insert_with(|| {
            indicatif::ProgressBar::new((length * 10.0) as u64).with_style(
                indicatif::ProgressStyle::with_template("{bar:40} {msg} (eta {eta})").expect("a valid template"),
            )
        });
        bar.set_position((t * 10.0) as u64);
        bar.set_message(format!(
            "{} of {}",
            vtx_api::format_time(t),
            vtx_api::format_time(length)
        ));
    };
    let found = vtx::objects(&args.video, &models, &options, &mut progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let found = found.with_context(|| args.video.display().to_string())?;
    if let Some(warning) = &found.warning {
        eprintln!("warning: {}: {warning}", vtx_api::one_line(&args.video));
    }
    Ok(found)
}
