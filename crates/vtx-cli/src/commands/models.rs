//! `vtx models`: the model folder, listed, inspected, added to and removed from.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use vtx::ModelRegistry;
use vtx_api::{ModelList, ModelSummary};

use crate::args::ModelsCommand;
use crate::output;

pub fn run(command: ModelsCommand, dir: &Path, device: Option<vtx::Device>, out: &mut impl Write) -> Result<()> {
    let registry = vtx::model_registry(dir).with_device(device);
    match command {
        ModelsCommand::List { json } => list(&registry, json, out),
        ModelsCommand::Info { name } => {
            let manifest = registry.get(&name)?;
            writeln!(out, "# {}", manifest.dir.display())?;
            write!(out, "{}", manifest.to_toml())?;
            for file in graph_files(&manifest) {
                let io = vtx_models::inspect_graph(&manifest.file(&file), registry.options())?;
                writeln!(out, "\n# {file}")?;
                for (direction, outlets) in [("input ", &io.inputs), ("output", &io.outputs)] {
                    for (name, ty, shape) in outlets {
                        writeln!(out, "#   {direction} {name}: {ty} {shape:?}")?;
                    }
                }
            }
            Ok(())
        }
        ModelsCommand::Add { folder, name } => {
            let manifest = registry
                .add(&folder, name.as_deref())
                .with_context(|| format!("cannot add {}", folder.display()))?;
            let runs_without_vectors = match manifest.kind {
                vtx_models::ModelKind::Detector => Some(("detector", "objects VIDEO --detector")),
                vtx_models::ModelKind::Pose => Some(("pose model", "objects VIDEO --pose")),
                vtx_models::ModelKind::Ocr => Some(("text reader", "text VIDEO --reader")),
                vtx_models::ModelKind::Speech => Some(("speech model", "transcript VIDEO --speech-model")),
                _ => None,
            };
            if let Some((what, command)) = runs_without_vectors {
                eprintln!(
                    "added {what} '{}' in {}; run it with `vtx {command} {}`",
                    manifest.name,
                    manifest.dir.display(),
                    manifest.name
                );
                return Ok(());
            }
            eprintln!(
                "added '{}' ({}-d, space '{}') in {}; index with `vtx index PATH --model {}`",
                manifest.name,
                manifest.dim,
                manifest.space(),
                manifest.dir.display(),
                manifest.name
            );
            Ok(())
        }
        ModelsCommand::Remove { name } => {
            let removed = registry.remove(&name)?;
            eprintln!("removed '{name}' ({})", removed.display());
            Ok(())
        }
        ModelsCommand::Pull { id, name, revision } => {
            let manifest = registry
                .pull(&id, &revision, name.as_deref())
                .with_context(|| format!("cannot pull {id}"))?;
            eprintln!(
                "pulled '{id}' as '{}' ({}-d) into {}",
                manifest.name,
                manifest.dim,
                manifest.dir.display()
            );
            Ok(())
        }
    }
}

fn graph_files(manifest: &vtx::Manifest) -> Vec<String> {
    let image = manifest.image.as_ref().map(|i| i.onnx.clone());
    let text = manifest.text.as_ref().map(|t| t.onnx.clone());
    let video = manifest.video.as_ref().map(|v| v.onnx.clone());
    let detector = manifest.detector.as_ref().map(|d| d.onnx.clone());
    let pose = manifest.pose.as_ref().map(|p| p.onnx.clone());
    [image, text, video, detector, pose].into_iter().flatten().collect()
}

fn list(registry: &ModelRegistry, json: bool, out: &mut impl Write) -> Result<()> {
    let (models, broken) = registry.scan();
    let list = ModelList {
        models: models.iter().map(ModelSummary::from).collect(),
        broken: broken.iter().map(ToString::to_string).collect(),
    };
    if json {
        return Ok(output::json(out, &list)?);
    }
    if list.models.is_empty() {
        writeln!(
            out,
            "(no models in {}: run `make setup`, or `vtx models add DIR`)",
            registry.dir().display()
        )?;
    }
    for m in &list.models {
        let writes = match &m.space {
            Some(space) => format!("{:>5}-d  space {space:<14}", m.dim),
            None => {
                let finds = match m.kind.as_str() {
                    "pose" => "poses",
                    "ocr" => "lines",
                    "speech" => "phrases",
                    _ => "boxes",
                };
                format!("{finds:>7}  {:<20}", "no space")
            }
        };
        writeln!(out, "{:<22} {:<11} {writes} {}", m.name, m.kind, m.description)?;
    }
    for e in &list.broken {
        eprintln!("broken: {e}");
    }
    Ok(())
}
