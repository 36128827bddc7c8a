//! `vtx export` and `vtx import`: an index directory into a cluster, and back.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vtx::EngineConfig;

use crate::args::TransferArgs;

#[derive(Clone, Copy, PartialEq)]
pub enum Direction {
    Export,
    Import,
}

/// Copy; exit 1 when some videos could not be copied (the others were), as `vtx index` does.
pub fn run(args: &TransferArgs, direction: Direction, out: &mut dyn Write) -> Result<ExitCode> {
    let models = crate::dirs::default_models_dir();
    let directory = EngineConfig::new(
        args.index.clone().unwrap_or_else(crate::dirs::default_index_dir),
        models.clone(),
    );
    let mut cluster = super::qdrant_options(&args.store, &args.collection)?;
    args.layout.apply(&mut cluster);
    let clustered = EngineConfig {
        qdrant: Some(cluster),
        ..EngineConfig::new(directory.index_dir.clone(), models)
    };
    let (from, to) = match direction {
        Direction::Export => (&directory, &clustered),
        Direction::Import => (&clustered, &directory),
    };
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} videos {msg}").expect("a valid template"),
    );
    let report = vtx::copy_index(from, to, &mut |done, all, path| {
        bar.set_length(all as u64);
        bar.set_position(done as u64);
        bar.set_message(vtx_api::one_line(std::path::Path::new(path)));
    })
    .with_context(|| format!("cannot copy {} into {}", from.location(), to.location()))?;
    bar.finish_and_clear();
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        for (path, why) in &report.failed {
            writeln!(out, "not copied: {path}: {why}")?;
        }
        writeln!(
            out,
            "copied {} videos into {} ({} already there, {} failed)",
            report.copied,
            to.location(),
            report.already_there,
            report.failed.len()
        )?;
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
