use anyhow::Result;
use vtx::Labels;
use vtx_api::VideoTags;

use super::open_engine;
use crate::args::TagArgs;

pub fn run(args: &TagArgs) -> Result<Vec<VideoTags>> {
    let engine = open_engine(&args.common)?;
    let only = args
        .videos
        .iter()
        .map(|v| Ok(engine.video_at(v)?.meta.path))
        .collect::<Result<Vec<_>>>()?;
    let options = vtx::TagOptions {
        labels: args.labels.as_deref().map(Labels::parse),
        top: args.top,
        min_score: args.min_score,
        only,
    };
    Ok(engine.tag(&options)?)
}
