use std::path::{Path, PathBuf};

use anyhow::Result;
use vtx::eval::Captioned;
use vtx::Engine;
use vtx_api::{ClusterEvaluation, RetrievalEvaluation};

use super::open_engine;
use crate::args::{ClusterArgs, Common, SpaceArg};
use crate::inputs;

/// The rows of a `video<TAB>value` file with each video as the index holds it.
fn indexed_rows(engine: &Engine, rows: Vec<(PathBuf, String)>) -> Result<Vec<(String, String)>> {
    rows.into_iter()
        .map(|(video, value)| Ok((engine.video_at(&video)?.meta.path, value)))
        .collect()
}

/// With `failures`, the captions whose video did not come first are kept in the result.
pub fn retrieval(captions: &Path, space: &SpaceArg, failures: bool, common: &Common) -> Result<RetrievalEvaluation> {
    let rows = inputs::table(captions, "caption")?;
    let engine = open_engine(common)?;
    let captioned: Vec<Captioned> = indexed_rows(&engine, rows)?
        .into_iter()
        .map(|(video, value)| Captioned::new(video, &value))
        .collect();
    let mut result = engine.evaluate_retrieval(&captioned, space.space.as_deref())?;
    if !failures {
        result.misses.clear();
    }
    Ok(result)
}

pub fn clusters(labels: &Path, cluster: &ClusterArgs, common: &Common) -> Result<ClusterEvaluation> {
    let rows = inputs::table(labels, "label")?;
    let engine = open_engine(common)?;
    let labelled = indexed_rows(&engine, rows)?;
    Ok(engine.evaluate_clusters(&labelled, &cluster.options(vtx::cluster::Level::Video))?)
}
