use anyhow::{Context, Result};
use vtx::{IndexOptions, ShotOptions};
use vtx_api::SegmentMotion;

use crate::args::MotionArgs;

pub fn run(args: &MotionArgs) -> Result<Vec<SegmentMotion>> {
    let options = IndexOptions {
        segment_seconds: args.segment_seconds,
        shots: (!args.no_shots).then(ShotOptions::default),
        ..Default::default()
    };
    vtx::motion(&args.video, &options).with_context(|| args.video.display().to_string())
}
