//! What the end-to-end test files share: where the set-up put the media, and running `vtx`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `$VTX_CACHE` (default `~/.cache/vtx`), checked to hold the set-up's fixtures.
pub fn cache() -> PathBuf {
    vtx_core::set_up("fixtures/joined.mp4").unwrap()
}

/// Run the `vtx` binary to completion.
pub fn vtx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("vtx runs")
}

pub fn file_name(path: &str) -> &str {
    Path::new(path).file_name().unwrap().to_str().unwrap()
}
