//! Where vtx keeps what its set-up fetches, and what a process costs: for the CLI, the tests and
//! the benchmarks alike.

use std::path::PathBuf;

/// `$VTX_CACHE`, else `$XDG_CACHE_HOME/vtx`, else `~/.cache/vtx`: where `make setup` puts models,
/// media and fixtures.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VTX_CACHE") {
        return PathBuf::from(dir);
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
        .join("vtx")
}

/// [`cache_dir`] when it holds `marker` (something `make setup` puts there), else an error that
/// says to run it: what tests and benchmarks call for the set-up's media and models.
pub fn set_up(marker: &str) -> Result<PathBuf, String> {
    let dir = cache_dir();
    match dir.join(marker).exists() {
        true => Ok(dir),
        false => Err(format!("{marker} is missing from {}: run `make setup`", dir.display())),
    }
}

/// Resident memory of this process now and at its peak, in MB (10^6 bytes), from
/// `/proc/self/status`; zeros where that file does not exist.
pub fn resident_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb * 1024.0 / 1e6)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
