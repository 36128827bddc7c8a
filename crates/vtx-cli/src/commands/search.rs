use std::io::Write;

use anyhow::{bail, Context, Result};
use vtx_api::SearchResults;

use super::open_engine;
use crate::args::{SearchArgs, ThumbnailArgs};
use crate::inputs;

pub fn run(args: &SearchArgs) -> Result<Vec<SearchResults>> {
    let queries: Vec<String> = match (&args.query, &args.queries) {
        (Some(q), _) => vec![q.clone()],
        (None, Some(file)) => inputs::lines(file, "queries")?,
        (None, None) => bail!("give a query or --queries FILE"),
    };
    let engine = open_engine(&args.common)?;
    let options = vtx::SearchOptions {
        top: args.output.top,
        space: args.space.space.clone(),
        per_video: args.per_video,
        tag: args.tag.clone(),
        exact: args.exact,
    };
    let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
    let (space, found) = engine.search_with_space(&refs, &options)?;
    Ok(queries
        .iter()
        .zip(&found)
        .map(|(query, hits)| SearchResults::new(query, &space.name, hits))
        .collect())
}

pub fn thumbnail(args: &ThumbnailArgs, out: &mut impl Write) -> Result<()> {
    let engine = open_engine(&args.common)?;
    let Some(jpeg) = engine.thumbnail(args.segment)? else {
        return Err(vtx::EngineError::NotFound(format!(
            "segment {} has no thumbnail (or does not exist): search hits and `vtx info --videos --json` name segments",
            args.segment
        ))
        .into());
    };
    if args.output == std::path::Path::new("-") {
        out.write_all(&jpeg)?;
    } else {
        std::fs::write(&args.output, &jpeg).with_context(|| format!("cannot write {}", args.output.display()))?;
    }
    Ok(())
}
