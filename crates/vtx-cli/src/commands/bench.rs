use std::io::Write;

use anyhow::Result;

use super::models_dir;
use crate::args::{BenchCommand, BenchIngestArgs, BenchModelArgs};
use crate::bench::{ingest, search, workers};
use crate::output;

pub fn run(what: Option<BenchCommand>, args: &BenchIngestArgs, out: &mut impl Write) -> Result<()> {
    match what {
        Some(BenchCommand::Search(args)) => {
            let report = search::run(&args)?;
            return Ok(output::report(
                out,
                &report,
                args.json,
                search::SearchBenchReport::table,
            )?);
        }
        Some(BenchCommand::Workers(args)) => {
            let report = workers::run(&args)?;
            return Ok(output::report(
                out,
                &report,
                args.json,
                workers::WorkersBenchReport::table,
            )?);
        }
        None => {}
    }
    let sampling = args.sampling.sampling(vtx::DEFAULT_SEGMENT_SECONDS)?;
    let report = ingest::run(
        &args.videos,
        &models_dir(&args.models),
        &args.model,
        sampling,
        args.repeat.max(1),
        args.models.device,
    )?;
    Ok(output::report(out, &report, args.json, ingest::BenchReport::table)?)
}

pub fn model(args: &BenchModelArgs, out: &mut impl Write) -> Result<()> {
    let report = ingest::run_model(
        &models_dir(&args.models),
        &args.model,
        args.batch,
        args.items.max(1),
        args.repeat.max(1),
        args.models.device,
    )?;
    Ok(output::report(
        out,
        &report,
        args.json,
        ingest::ModelBenchReport::table,
    )?)
}
