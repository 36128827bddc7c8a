//! One function per command: parsed arguments in, a typed result out. `run` hands each result to
//! `output` and says how the process should exit.

mod bench;
mod cluster;
mod eval;
mod index;
mod info;
mod models;
mod motion;
mod objects;
mod search;
mod serve;
mod shots;
mod similar;
mod tag;
mod text;
mod transcript;
mod transfer;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vtx::{Engine, EngineConfig};

use crate::args::{Command, Common, EvalCommand, ModelsDir};
use crate::output;

pub fn run(command: Command) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        Command::Index(args) => {
            let report = index::run(args)?;
            for line in output::index_summary(&report) {
                eprintln!("{line}");
            }
            return Ok(index::exit_code(&report));
        }
        Command::Remove(args) => {
            let removed = index::remove(&args)?;
            for video in &removed {
                writeln!(out, "removed {}", video.meta.path)?;
            }
            eprintln!("removed {} video(s) from the index", removed.len());
        }
        Command::Search(args) => output::search(&mut out, &search::run(&args)?, args.output.json)?,
        Command::Thumbnail(args) => search::thumbnail(&args, &mut out)?,
        Command::Tag(args) => output::tags(&mut out, &tag::run(&args)?, args.json)?,
        Command::Similar(args) => output::similar(&mut out, &similar::run(&args)?, args.output.json)?,
        Command::Shots(args) => output::shots(&mut out, &shots::run(&args)?, args.json, args.csv)?,
        Command::Motion(args) => output::motion(&mut out, &motion::run(&args)?, args.json)?,
        Command::Objects(args) => output::objects(&mut out, &objects::run(&args)?, args.json)?,
        Command::Text(args) => output::text(&mut out, &text::run(&args)?, args.json)?,
        Command::Transcript(args) => output::transcript(&mut out, &transcript::run(&args)?, transcript::format(&args))?,
        Command::Cluster(args) => {
            let (clustering, pictures) = cluster::run(&args)?;
            output::clusters(&mut out, &clustering, args.json)?;
            for picture in pictures {
                // Beside JSON, standard output holds the one document.
                match args.json {
                    true => eprintln!("wrote {}", picture.display()),
                    false => writeln!(out, "wrote {}", picture.display())?,
                }
            }
        }
        Command::Eval { what } => match what {
            EvalCommand::Retrieval {
                captions,
                space,
                failures,
                json,
                common,
            } => output::retrieval(&mut out, &eval::retrieval(&captions, &space, failures, &common)?, json)?,
            EvalCommand::Clusters {
                labels,
                cluster,
                json,
                common,
            } => output::cluster_agreement(&mut out, &eval::clusters(&labels, &cluster, &common)?, json)?,
        },
        Command::Serve(args) => serve::run(args)?,
        Command::Export(args) => return transfer::run(&args, transfer::Direction::Export, &mut out),
        Command::Import(args) => return transfer::run(&args, transfer::Direction::Import, &mut out),
        Command::Info(args) => output::info(&mut out, &info::run(&args)?, args.json)?,
        Command::Models { command, dir } => models::run(command, &models_dir(&dir), dir.device, &mut out)?,
        Command::BenchModel(args) => bench::model(&args, &mut out)?,
        Command::Bench { what, ingest } => bench::run(what, &ingest, &mut out)?,
        Command::Reference => crate::reference::write(&mut out)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn models_dir(dir: &ModelsDir) -> std::path::PathBuf {
    dir.dir.clone().unwrap_or_else(crate::dirs::default_models_dir)
}

/// The index a command that reads what was stored names: `--index DIR` or `--store URL`; `None`
/// when it names neither (the command then reads the file itself).
fn stored_index(
    index: Option<&std::path::Path>,
    on: &crate::args::StoredOn,
    models: &ModelsDir,
) -> Result<Option<EngineConfig>> {
    let directory = |dir: std::path::PathBuf| EngineConfig::new(dir, models_dir(models));
    Ok(match (&on.store, index) {
        (Some(url), _) => Some(EngineConfig {
            qdrant: Some(qdrant_options(url, &on.collection)?),
            ..directory(crate::dirs::default_index_dir())
        }),
        (None, Some(dir)) => Some(directory(dir.to_path_buf())),
        (None, None) => None,
    })
}

/// What an indexing pass (`found`, by `--flag`) stored for `video` in the index `config` names,
/// read by `stored`; a clear error if it never ran on it.
fn stored<T>(
    config: EngineConfig,
    video: &std::path::Path,
    (found, flag): (&str, &str),
    stored: impl FnOnce(&vtx::Engine, &std::path::Path) -> vtx::Result<Option<T>>,
) -> Result<T> {
    let engine = vtx::Engine::open_existing(config).context("cannot open vtx")?;
    stored(&engine, video)?.ok_or_else(|| {
        vtx::EngineError::NotFound(format!(
            "no {found} in {} (index it with `vtx index {flag}`)",
            video.display()
        ))
        .into()
    })
}

/// What a finder of words (`vtx text`, `vtx transcript`) found in `video`: what its indexing pass
/// (`found`, by `--flag`) stored in the index `index` names when it names one, else a run of the
/// finder `load` makes on the file itself, with a bar over its seconds.
fn find_words<F: vtx::FindsText>(
    index: Option<EngineConfig>,
    models: &ModelsDir,
    video: &std::path::Path,
    what: (&str, &str),
    load: impl FnOnce(&vtx::ModelRegistry) -> vtx::Result<F>,
) -> Result<F::Found> {
    if let Some(index) = index {
        return stored(index, video, what, vtx::Engine::stored_found::<F>);
    }
    let registry = vtx::model_registry(&models_dir(models)).with_device(models.device);
    let mut finder = load(&registry)?;
    let mut bar = crate::progress::SecondsBar::default();
    let found = finder.find(video, &mut |t, length| {
        bar.at(t, length);
        std::ops::ControlFlow::Continue(())
    });
    bar.finish();
    found
        .with_context(|| video.display().to_string())?
        .context("it stopped without being asked to")
}

/// Spaces smaller than `$VTX_ANN_MIN_POINTS` segment vectors (default 20,000) are searched
/// exactly and get no graph.
fn ann_options() -> Result<vtx::AnnOptions> {
    let mut ann = vtx::AnnOptions::default();
    if let Some(value) = std::env::var_os("VTX_ANN_MIN_POINTS") {
        ann.min_points = value
            .to_str()
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("VTX_ANN_MIN_POINTS must be a number of points, not {value:?}"))?;
    }
    Ok(ann)
}

/// The cluster `--store` (or `$VTX_STORE`, when no `--index` is given) names, if any.
fn cluster(common: &Common) -> Result<Option<vtx::QdrantOptions>> {
    let url = match (&common.store, &common.index) {
        (Some(url), _) => url.clone(),
        (None, None) => match std::env::var("VTX_STORE") {
            Ok(url) if !url.is_empty() => url,
            _ => return Ok(None),
        },
        (None, Some(_)) => return Ok(None),
    };
    qdrant_options(&url, &common.collection).map(Some)
}

/// The options of a cluster at `url`: its key and request timeout from the environment.
pub(crate) fn qdrant_options(url: &str, collection: &str) -> Result<vtx::QdrantOptions> {
    let mut options = vtx::QdrantOptions::from_url(url)
        .with_context(|| format!("--store takes qdrant://HOST:PORT or qdrants://HOST:PORT, not '{url}'"))?;
    options.collection = collection.to_string();
    options.api_key = std::env::var("VTX_QDRANT_API_KEY").ok().filter(|k| !k.is_empty());
    if let Some(value) = std::env::var_os("VTX_QDRANT_TIMEOUT") {
        let seconds: u64 = value
            .to_str()
            .and_then(|v| v.parse().ok())
            .filter(|&s| s > 0)
            .with_context(|| format!("VTX_QDRANT_TIMEOUT must be a number of seconds, not {value:?}"))?;
        options.timeout = std::time::Duration::from_secs(seconds);
    }
    Ok(options)
}

fn engine_config(common: &Common) -> Result<EngineConfig> {
    Ok(EngineConfig {
        qdrant: cluster(common)?,
        ann: ann_options()?,
        device: common.models.device,
        ..EngineConfig::new(
            common.index.clone().unwrap_or_else(crate::dirs::default_index_dir),
            models_dir(&common.models),
        )
    })
}

/// The engine over an index that must exist (only `index` creates one: a mistyped path is an
/// error, not an empty library).
fn open_engine(common: &Common) -> Result<Engine> {
    Engine::open_existing(engine_config(common)?).context("cannot open vtx")
}
