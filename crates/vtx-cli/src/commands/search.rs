use std::io::Write;

use anyhow::{bail, Context, Result};
use vtx_api::SearchResults;

use super::open_engine;
use crate::args::{SearchArgs, ThumbnailArgs};
use crate::inputs;

pub fn run(args: &SearchArgs) -> Result<Vec<SearchResults>> {
    let options = vtx::SearchOptions {
        top: args.output.top,
        space: args.space.space.clone(),
        per_video: args.per_video,
        tag: args.tag.clone(),
        object: args.object.as_ref().map(|label| vtx::ObjectFilter {
            label: label.clone(),
            min_count: args.min_count,
        }),
        action: args.action.clone(),
        exact: args.exact,
        mode: args.mode,
    };
    let ranked_by = match (&options.object, &options.action) {
        (Some(object), _) => Some(format!("objects:{}", object.label)),
        (None, Some(action)) => Some(format!("actions:{action}")),
        (None, None) => None,
    };
    let queries: Vec<String> = match (&args.query, &args.queries, ranked_by) {
        (Some(q), _, _) => vec![q.clone()],
        (None, Some(file), _) => inputs::lines(file, "queries")?,
        (None, None, Some(ranked_by)) => {
            let hits = open_engine(&args.common)?.search_objects(&options)?;
            return Ok(vec![SearchResults::new("", &ranked_by, &hits)]);
        }
        (None, None, None) => bail!("give a query, --queries FILE, --object LABEL or --action ACTION"),
    };
    let engine = open_engine(&args.common)?;
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
