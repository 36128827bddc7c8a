use anyhow::{Context, Result};
use vtx::{ObjectOptions, ObjectsReport, TrackerOptions};

use crate::args::ObjectsArgs;

pub fn run(args: &ObjectsArgs) -> Result<ObjectsReport> {
    if let Some(index) = super::stored_index(args.index.as_deref(), &args.stored_on, &args.models)? {
        let what = ("objects were detected", "--objects");
        return super::stored(index, &args.video, what, vtx::Engine::stored_objects);
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
    let mut bar = crate::progress::SecondsBar::default();
    let found = vtx::objects(&args.video, &models, &options, &mut |t, claimed| bar.at(t, claimed));
    bar.finish();
    let found = found.with_context(|| args.video.display().to_string())?;
    if let Some(warning) = &found.warning {
        eprintln!("warning: {}: {warning}", vtx_api::one_line(&args.video));
    }
    Ok(found)
}
