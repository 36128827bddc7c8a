//! `vtx models`: the model folder, listed, inspected, added to and removed from.

use std::path::Path;

use anyhow::{Context, Result};
use vtx::ModelRegistry;

use crate::ModelsCommand;

pub(crate) fn run(command: ModelsCommand, dir: &Path) -> Result<()> {
    let registry = ModelRegistry::new(dir);
    match command {
        ModelsCommand::List { json } => list(&registry, json),
        ModelsCommand::Info { name } => {
            let manifest = registry.get(&name)?;
            say!("# {}", manifest.dir.display())?;
            print!("{}", manifest.to_toml());
            for file in graph_files(&manifest) {
                let io = vtx_models::inspect_graph(&manifest.file(&file), registry.options())?;
                say!("\n# {file}")?;
                for (direction, outlets) in [("input ", &io.inputs), ("output", &io.outputs)] {
                    for (name, ty, shape) in outlets {
                        say!("#   {direction} {name}: {ty} {shape:?}")?;
                    }
                }
            }
            Ok(())
        }
        ModelsCommand::Add { folder, name } => {
            let manifest = registry
                .add(&folder, name.as_deref())
                .with_context(|| format!("cannot add {}", folder.display()))?;
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
    [image, text, video].into_iter().flatten().collect()
}

fn list(registry: &ModelRegistry, json: bool) -> Result<()> {
    let (models, broken) = registry.scan();
    if json {
        let rows: Vec<_> = models
            .iter()
            .map(|m| {
                serde_json::json!({
                    "name": m.name, "kind": m.kind, "space": m.space(), "dim": m.dim,
                    "text": m.has_text(), "description": m.description, "dir": m.dir,
                })
            })
            .collect();
        let broken: Vec<String> = broken.iter().map(ToString::to_string).collect();
        say!("{}", serde_json::json!({ "models": rows, "broken": broken }))?;
        return Ok(());
    }
    if models.is_empty() {
        say!(
            "(no models in {}: run `make setup`, or `vtx models add DIR`)",
            registry.dir().display()
        )?;
    }
    for m in &models {
        let kind = serde_json::to_value(m.kind)?;
        say!(
            "{:<22} {:<11} {:>5}-d  space {:<14} {}",
            m.name,
            kind.as_str().unwrap_or_default(),
            m.dim,
            m.space(),
            m.description
        )?;
    }
    for e in &broken {
        eprintln!("broken: {e}");
    }
    Ok(())
}
