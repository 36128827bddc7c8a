//! The `vtx` command line: a thin shell over the [`vtx`] engine. `args` is the schema,
//! `commands` does the work (one function per command), `output` renders the results.
//!
//! Exit codes: 0 all went well; 1 some files could not be indexed (the others were); otherwise
//! the kind of what failed, as [`exit_code`] lists them.

mod args;
mod bench;
mod commands;
mod dirs;
mod inputs;
mod output;
mod progress;
mod reference;

use std::process::ExitCode;

use clap::Parser;
use vtx::ErrorKind;

/// The exit status of each kind of failure (2 is also what clap exits with for a bad command line).
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::BadInput => 2,
        ErrorKind::NotFound => 3,
        ErrorKind::Conflict => 4,
        ErrorKind::Busy => 5,
        ErrorKind::Unavailable => 6,
        ErrorKind::Internal => 7,
    }
}

/// The kind of a command's failure: the first error in its chain that has one; what the command
/// line itself rejects (a bad file of queries, conflicting flags) is bad input.
fn kind_of(error: &anyhow::Error) -> ErrorKind {
    error
        .chain()
        .find_map(|cause| {
            if let Some(e) = cause.downcast_ref::<vtx::EngineError>() {
                Some(e.kind())
            } else if let Some(e) = cause.downcast_ref::<vtx_server::ServeError>() {
                Some(e.kind())
            } else if let Some(e) = cause.downcast_ref::<vtx::ModelError>() {
                Some(e.kind())
            } else {
                cause.downcast_ref::<std::io::Error>().map(ErrorKind::of_io)
            }
        })
        .unwrap_or(ErrorKind::BadInput)
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let default_level = ["warn", "info", "debug", "trace"][usize::from(cli.verbose.min(3))];
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_level.into()))
        .with_writer(std::io::stderr)
        .init();
    match commands::run(cli.command) {
        Ok(code) => code,
        // The reader went away (`vtx cluster | head`): nothing more to say, and nothing went wrong.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(kind_of(&e)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_exit_code() {
        let codes: Vec<u8> = ErrorKind::ALL.iter().map(|k| exit_code(*k)).collect();
        assert_eq!(codes, [2, 3, 4, 5, 6, 7]);
        let busy = anyhow::Error::from(vtx::EngineError::Index(vtx::IndexError::Busy)).context("cannot open vtx");
        assert_eq!(kind_of(&busy), ErrorKind::Busy, "found below the context");
        assert_eq!(
            kind_of(&anyhow::anyhow!("--sampling frames needs --frames N")),
            ErrorKind::BadInput
        );
        let missing =
            anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::NotFound)).context("cannot read q.txt");
        assert_eq!(kind_of(&missing), ErrorKind::NotFound);
    }
}
