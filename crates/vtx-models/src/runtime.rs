//! Loading ONNX Runtime at run time (`load-dynamic`) and creating sessions with deliberate options.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionOutputs};

use crate::{ModelError, Result};

/// The environment variable that points vtx at a specific `libonnxruntime.so`.
pub const ORT_LIB_ENV: &str = "VTX_ORT_LIB";

/// Where the ONNX Runtime library is: `$VTX_ORT_LIB`, else inside the model pack.
pub fn ort_library_path(models_dir: &Path) -> PathBuf {
    std::env::var_os(ORT_LIB_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| models_dir.join("onnxruntime").join("libonnxruntime.so"))
}

/// Which ONNX Runtime library to load and how sessions use the machine.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    pub library: PathBuf,
    /// Threads inside one operator; defaults to the number of cores.
    pub intra_threads: usize,
}

impl RuntimeOptions {
    /// The library of the model folder `models_dir` (or `$VTX_ORT_LIB`), one thread per core.
    pub fn for_models(models_dir: &Path) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            library: ort_library_path(models_dir),
            intra_threads: cores,
        }
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
pub(crate) fn load_session(model: &Path, options: &RuntimeOptions) -> Result<Session> {
    if !model.exists() {
        return Err(ModelError::Missing(model.display().to_string()));
    }
    let env = environment(&options.library)?;
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

/// A `[batch, dim]` output as one row per input; any other shape is a manifest mistake.
pub(crate) fn output_rows(outputs: &SessionOutputs<'_>, name: &str, dim: usize) -> Result<Vec<Vec<f32>>> {
    let value = outputs
        .get(name)
        .ok_or_else(|| ModelError::Manifest(format!("the graph has no output named '{name}'")))?;
    let (shape, data) = value.try_extract_tensor::<f32>().map_err(rt_err)?;
    match shape[..] {
        [_, width] if width as usize == dim => Ok(data.chunks_exact(dim).map(<[f32]>::to_vec).collect()),
        _ => Err(ModelError::Manifest(format!(
            "output '{name}' has shape {:?}, the manifest expects [batch, {dim}]",
            &shape[..]
        ))),
    }
}

/// Names, element types and shapes of a graph's inputs and outputs (-1 for a free dimension), for
/// `vtx models info` and for writing a manifest from a folder of ONNX files.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphIo {
    pub inputs: Vec<(String, String, Vec<i64>)>,
    pub outputs: Vec<(String, String, Vec<i64>)>,
}

pub fn inspect_graph(model: &Path, options: &RuntimeOptions) -> Result<GraphIo> {
    let session = load_session(model, options)?;
    let describe = |outlets: &[ort::value::Outlet]| {
        outlets
            .iter()
            .map(|o| {
                let ty = o
                    .dtype()
                    .tensor_type()
                    .map_or("?".into(), |t| format!("{t:?}").to_lowercase());
                let shape = o.dtype().tensor_shape().map_or(vec![], |s| s.to_vec());
                (o.name().to_string(), ty, shape)
            })
            .collect()
    };
    Ok(GraphIo {
        inputs: describe(session.inputs()),
        outputs: describe(session.outputs()),
    })
}
