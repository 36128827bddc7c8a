//! Where the command line looks when not told: the index and the model folder.

use std::path::PathBuf;

/// `$VTX_MODELS`, else `$VTX_CACHE/models`, else `~/.cache/vtx/models`: where `make setup`
/// installs the model pack.
pub fn default_models_dir() -> PathBuf {
    std::env::var_os("VTX_MODELS").map_or_else(|| vtx_core::cache_dir().join("models"), PathBuf::from)
}

/// `$VTX_INDEX`, else `$XDG_DATA_HOME/vtx/index`, else `~/.local/share/vtx/index`.
pub fn default_index_dir() -> PathBuf {
    std::env::var_os("VTX_INDEX").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("vtx/index")
    })
}
