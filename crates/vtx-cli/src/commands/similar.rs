use anyhow::Result;
use vtx::IndexOptions;
use vtx_api::SimilarResults;

use super::open_engine;
use crate::args::SimilarArgs;

pub fn run(args: &SimilarArgs) -> Result<SimilarResults> {
    let engine = open_engine(&args.common)?;
    let options = IndexOptions {
        sampling: args.sampling.sampling(vtx::DEFAULT_SEGMENT_SECONDS)?,
        deblocking: args.sampling.deblocking,
        decoder: vtx::decoder_for(args.common.models.device),
        ..Default::default()
    };
    let space = args.space.space.as_deref();
    let stream = args.stream.stream();
    let label = engine.similar_space(space, stream)?;
    let hits = engine.similar(&args.video, args.output.top, space, stream, &options)?;
    let own = engine.video_at(&args.video).ok().map(|v| v.id);
    Ok(SimilarResults::new(own, &label, &hits))
}
