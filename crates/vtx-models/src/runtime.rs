//! Loading ONNX Runtime at run time (`load-dynamic`) and creating sessions with deliberate options.

use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};

use ort::environment::Environment;
use ort::ep::{ExecutionProvider, CUDA};
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::{Session, SessionOutputs};

use crate::{ModelError, Result};

/// The environment variable that points vtx at a specific `libonnxruntime.so`.
pub const ORT_LIB_ENV: &str = "VTX_ORT_LIB";

/// Where models run. `auto` takes the GPU when the runtime has CUDA and a GPU answers, else the
/// CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Cpu,
    Cuda,
    #[default]
    Auto,
}

vtx_core::names!(Device, "device", {
    Device::Cpu => "cpu",
    Device::Cuda => "cuda",
    Device::Auto => "auto",
});

/// The folder `make setup-gpu` fills: the GPU build of ONNX Runtime with the CUDA libraries.
pub fn gpu_runtime_dir(models_dir: &Path) -> PathBuf {
    models_dir.join("onnxruntime-gpu")
}

/// Where the ONNX Runtime library is: `$VTX_ORT_LIB`; else, unless the CPU is asked for, the GPU
/// build when it is installed; else the CPU build inside the model pack.
pub fn ort_library_path(models_dir: &Path, device: Device) -> PathBuf {
    if let Some(library) = std::env::var_os(ORT_LIB_ENV) {
        return PathBuf::from(library);
    }
    let gpu = gpu_runtime_dir(models_dir).join("libonnxruntime.so");
    match device != Device::Cpu && gpu.exists() {
        true => gpu,
        false => models_dir.join("onnxruntime").join("libonnxruntime.so"),
    }
}

/// Which ONNX Runtime library to load and how sessions use the machine.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    pub library: PathBuf,
    /// Threads inside one operator; defaults to the number of cores.
    pub intra_threads: usize,
    /// The device asked for; `None` takes the model's manifest's, else `auto`.
    pub device: Option<Device>,
}

impl RuntimeOptions {
    /// The library of the model folder `models_dir` (or `$VTX_ORT_LIB`) for `device`, one thread
    /// per core.
    pub fn for_models(models_dir: &Path, device: Option<Device>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            library: ort_library_path(models_dir, device.unwrap_or_default()),
            intra_threads: cores,
            device,
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

/// Run `session` `rounds` times on one batch of `frames`, its input tensor built once: ONNX
/// Runtime's own throughput on the graph and batch, the ceiling for an encoder or detector on it.
pub(crate) fn run_raw(
    session: &mut Session,
    preprocess: &crate::Preprocess,
    input: &str,
    frames: &[&[u8]],
    rounds: usize,
) -> Result<()> {
    if frames.is_empty() {
        return Ok(());
    }
    let (shape, data) = preprocess.image_tensor(frames)?;
    let tensor = ort::value::Tensor::from_array((shape, data)).map_err(rt_err)?;
    for _ in 0..rounds {
        session.run(ort::inputs![input => &tensor]).map_err(rt_err)?;
    }
    Ok(())
}

/// Run `session` once on `frames`, made into the image tensor `preprocess` describes and fed as
/// its input `input`.
pub(crate) fn run_on_frames<'s>(
    session: &'s mut Session,
    preprocess: &crate::Preprocess,
    input: &str,
    frames: &[&[u8]],
) -> Result<SessionOutputs<'s>> {
    let (shape, data) = preprocess.image_tensor(frames)?;
    let tensor = ort::value::Tensor::from_array((shape, data)).map_err(rt_err)?;
    session.run(ort::inputs![input => tensor]).map_err(rt_err)
}

/// Open an ONNX graph on the device asked for (`manifest_device` when the options name none),
/// with all graph optimisations on and a thread budget that leaves room for the decoder thread.
pub(crate) fn load_session(model: &Path, options: &RuntimeOptions, manifest_device: Option<Device>) -> Result<Session> {
    if !model.exists() {
        return Err(ModelError::Missing(model.display().to_string()));
    }
    let env = environment(&options.library)?;
    let device = options.device.or(manifest_device).unwrap_or_default();
    let started = std::time::Instant::now();
    let session = match device {
        Device::Cpu => cpu_session(env, model, options)?,
        Device::Cuda => cuda_session(env, model, options)?,
        Device::Auto => match cuda_session(env, model, options) {
            Ok(session) => session,
            Err(why) => {
                fell_back(&why, options.library.parent().is_some_and(has_cuda_libraries));
                cpu_session(env, model, options)?
            }
        },
    };
    tracing::info!(model = %model.display(), %device, seconds = started.elapsed().as_secs_f64(), "ONNX session ready");
    Ok(session)
}

/// Say once per process why `auto` runs on the CPU: aloud where a GPU runtime is installed (the
/// user set one up), quietly where only the CPU build is (there was never a GPU to use).
fn fell_back(why: &ModelError, gpu_runtime: bool) {
    static SAID: Once = Once::new();
    SAID.call_once(|| match gpu_runtime {
        true => eprintln!("note: running models on the CPU: {why}"),
        false => tracing::info!("running models on the CPU: {why}"),
    });
}

/// The driver's library comes with the driver, never in a wheel: without it no CUDA library loads,
/// and the loader's complaint would name some cuDNN file instead of the real cause.
fn nvidia_driver_present() -> bool {
    // SAFETY: libcuda's initialisers only set up the driver's own state.
    unsafe { libloading::Library::new("libcuda.so.1") }.is_ok()
}

fn has_cuda_libraries(dir: &Path) -> bool {
    dir.join("libonnxruntime_providers_cuda.so").exists()
}

fn cpu_session(env: &Environment, model: &Path, options: &RuntimeOptions) -> Result<Session> {
    commit(builder(env, options)?, model)
}

/// A session with CUDA for every node it supports, or why there can be none.
fn cuda_session(env: &Environment, model: &Path, options: &RuntimeOptions) -> Result<Session> {
    let library = options.library.display();
    if !CUDA::is_available().map_err(rt_err)? {
        return Err(ModelError::Device(format!(
            "the ONNX Runtime at {library} is a CPU-only build (run `make setup-gpu` for the GPU build, or use --device cpu)"
        )));
    }
    if !nvidia_driver_present() {
        return Err(ModelError::Device(
            "there is no NVIDIA driver on this machine (libcuda.so.1 cannot be loaded), so no GPU to run on".into(),
        ));
    }
    let folder = options.library.parent().filter(|dir| has_cuda_libraries(dir));
    // The CUDA libraries of `make setup-gpu` sit beside the runtime; loaded first, they need no
    // LD_LIBRARY_PATH. Elsewhere (a system CUDA) the loader finds them itself.
    if let Some(folder) = folder {
        ort::ep::cuda::preload_dylibs(Some(folder), Some(folder))
            .map_err(|e| ModelError::Device(format!("cannot load the CUDA libraries in {}: {e}", folder.display())))?;
    }
    let builder = builder(env, options)?
        .with_execution_providers([CUDA::default().build().error_on_failure()])
        .map_err(|e| ModelError::Device(format!("CUDA is not usable here: {e}")))?;
    commit(builder, model).map_err(|e| ModelError::Device(format!("CUDA is not usable here: {e}")))
}

fn builder(env: &Environment, options: &RuntimeOptions) -> Result<SessionBuilder> {
    Session::builder(env)
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
        .map_err(rt_err)
}

fn commit(mut builder: SessionBuilder, model: &Path) -> Result<Session> {
    builder
        .commit_from_file(model)
        .map_err(|e| ModelError::Runtime(format!("{}: {e}", model.display())))
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
    let session = load_session(model, options, Some(Device::Cpu))?;
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
