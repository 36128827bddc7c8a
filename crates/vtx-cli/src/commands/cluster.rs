use std::path::PathBuf;

use anyhow::Result;
use vtx::Labels;
use vtx_api::Clustering;

use super::open_engine;
use crate::args::ClusterCommandArgs;
use crate::inputs;

/// The clustering, and the pictures written of it (with `--pictures`).
pub fn run(args: &ClusterCommandArgs) -> Result<(Clustering, Vec<PathBuf>)> {
    let texts = match &args.texts {
        Some(file) => inputs::lines(file, "texts")?,
        None => Vec::new(),
    };
    let engine = open_engine(&args.common)?;
    let options = vtx::cluster::ClusterOptions {
        labels: args.labels.as_deref().map(Labels::parse),
        texts,
        text_min_score: args.text_min_score,
        map: args.pictures.is_some(),
        ..args.cluster.options(args.level)
    };
    let clustering = engine.cluster(&options)?;
    let pictures = match &args.pictures {
        Some(dir) => vtx_pictures::write(&engine, &clustering, dir)?,
        None => Vec::new(),
    };
    Ok((Clustering::new(&engine, &clustering)?, pictures))
}
