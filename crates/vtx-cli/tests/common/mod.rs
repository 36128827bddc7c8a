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

/// Start `vtx ARGS`, and `kill -9` it after `delay_ms`; whether it was still running then.
// Not every test file that shares this module kills.
#[allow(dead_code)]
pub fn kill_after(args: &[&str], delay_ms: u64) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vtx starts");
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    let running = child.try_wait().expect("vtx's status").is_none();
    child.kill().expect("SIGKILL");
    child.wait().expect("vtx ends");
    running
}

/// Start `vtx ARGS`, and press Ctrl-C (SIGINT) after `delay_ms`, which must find it still
/// running; its output, and how long it took to stop.
// Not every test file that shares this module interrupts.
#[allow(dead_code)]
pub fn interrupt_after(args: &[&str], delay_ms: u64) -> (Output, std::time::Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vtx starts");
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    assert!(
        child.try_wait().expect("vtx's status").is_none(),
        "vtx {args:?} ended before it could be stopped"
    );
    let stopped_at = std::time::Instant::now();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let out = child.wait_with_output().expect("vtx ends");
    (out, stopped_at.elapsed())
}

/// `DIR/library`, a folder of copies of the five photo clips.
// Not every test file that shares this module needs them.
#[allow(dead_code)]
pub fn photo_clips(dir: &Path) -> PathBuf {
    let library = dir.join("library");
    std::fs::create_dir_all(&library).unwrap();
    for name in ["cat", "coffee", "motorcycle", "rocket", "astronaut"] {
        std::fs::copy(
            cache().join(format!("fixtures/photos/{name}.mp4")),
            library.join(format!("{name}.mp4")),
        )
        .unwrap();
    }
    library
}
