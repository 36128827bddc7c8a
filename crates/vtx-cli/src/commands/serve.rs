use std::io::Write;

use anyhow::{bail, Context, Result};

use super::engine_config;
use crate::args::ServeArgs;

fn token(args: &ServeArgs) -> Result<Option<String>> {
    let Some(file) = &args.token_file else {
        return Ok(args.token.clone().filter(|t| !t.is_empty()));
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read the token file {}", file.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        bail!("the token file {} is empty", file.display());
    }
    Ok(Some(token))
}

pub fn run(args: ServeArgs) -> Result<()> {
    let token = token(&args)?;
    let addr = args.addr;
    if !addr.ip().is_loopback() && token.is_none() {
        eprintln!(
            "vtx serve: warning: listening on {addr} without a token: anyone who can reach it can search the library and download its videos (set $VTX_TOKEN or --token-file)"
        );
    }
    let options = vtx_server::ServeOptions {
        addr,
        token,
        workers: args.workers,
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        max_body: args.max_body_mb.max(1) << 20,
        allow_hosts: args.allow_hosts,
        header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        max_connections: args.max_connections,
    };
    let config = engine_config(&args.common)?;
    let index = config.location();
    vtx_server::serve(config, &options, |bound| {
        println!("vtx serve: http://{bound}/ (index {index}; Ctrl-C stops)");
        let _ = std::io::stdout().flush();
    })
    .context("vtx serve")?;
    Ok(())
}
