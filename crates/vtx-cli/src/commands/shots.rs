use anyhow::{Context, Result};
use vtx::ShotOptions;

use crate::args::ShotsArgs;

pub fn run(args: &ShotsArgs) -> Result<Vec<vtx_api::Shot>> {
    let options = ShotOptions {
        detector: args.detector,
        threshold: args.threshold,
        adaptive_threshold: args.adaptive_threshold,
        min_content: args.min_content,
        fade_threshold: args.fade_threshold,
        min_shot: args.min_shot,
        ..ShotOptions::default()
    };
    let shots = vtx::shots(&args.video, &options).with_context(|| args.video.display().to_string())?;
    Ok(shots.iter().map(vtx_api::Shot::from).collect())
}
