//! Loading ONNX Runtime at run time (`load-dynamic`) and creating sessions with deliberate options.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use crate::{ModelError, Result};

/// The environment variable that points vtx at a specific `libonnxruntime.so`.
pub const ORT_LIB_ENV: &str = "VTX_ORT_LIB";

/// Where the ONNX Runtime library is: `$VTX_ORT_LIB`, else inside the model pack.
pub fn ort_library_path(models_dir: &Path) -> PathBuf {
    std::env::var_os(ORT_LIB_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| models_dir.join("onnxruntime").join("libonnxruntime.so"))
}

/// How sessions use the machine.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeOptions {
    /// Threads inside one operator; defaults to the number of cores.
    pub intra_threads: usize,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self { intra_threads: cores }
    }
}

fn environment(library: &Path) -> Result<&'static Environment> {
    static ENV: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        if !library.exists() {
            return Err(format!(
                "ONNX Runtime library not found at {} (run `make setup`, or set {ORT_LIB_ENV})",
                library.display()
            ));
        }
        ort::init_from(library)
            .map_err(|e| e.to_string())?
            .with_name("vtx")
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| ModelError::Runtime(e.clone()))
}

pub(crate) fn rt_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Runtime(e.to_string())
}

/// Open an ONNX graph with all graph optimisations on and a thread budget that leaves room for
/// the decoder thread.
pub(crate) fn load_session(library: &Path, model: &Path, options: RuntimeOptions) -> Result<Session> {
    if !model.exists() {
        return Err(ModelError::Missing(model.display().to_string()));
    }
    let env = environment(library)?;
    let started = std::time::Instant::now();
    let session = Session::builder(env)
        .map_err(rt_err)?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(rt_err)?
        .with_intra_threads(options.intra_threads)
        .map_err(rt_err)?
        .with_inter_threads(1)
        .map_err(rt_err)?
        // Idle intra-op threads spin by default, burning the core the decoder thread needs
        // while it prepares the next batch.
        .with_intra_op_spinning(false)
        .map_err(rt_err)?
        .commit_from_file(model)
        .map_err(|e| ModelError::Runtime(format!("{}: {e}", model.display())))?;
    tracing::info!(model = %model.display(), seconds = started.elapsed().as_secs_f64(), "ONNX session ready");
    Ok(session)
}
