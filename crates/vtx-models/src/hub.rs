//! `vtx models pull`: fetch a CLIP-style ONNX export from the Hugging Face hub by id, over its
//! plain HTTP API (`/api/models/{id}/revision/{rev}` lists the files, `/{id}/resolve/{rev}/{file}`
//! serves them), then install it like a local folder.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::{io_err, Manifest, ModelError, Registry, Result};

const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Files worth fetching from an export: graphs (one plain variant each for vision and text),
/// tokenizer, preprocessing and projection. Quantised variants and weights for other runtimes are
/// left on the hub.
fn wanted(files: &[String]) -> Vec<String> {
    let onnx: Vec<std::path::PathBuf> = files.iter().filter(|f| f.ends_with(".onnx")).map(Into::into).collect();
    let mut chosen: Vec<String> = [["vision", "visual", "image"].as_slice(), ["text", "textual"].as_slice()]
        .iter()
        .filter_map(|words| crate::infer::pick(&onnx, words))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let data: Vec<String> = chosen
        .iter()
        .flat_map(|g| [format!("{g}_data"), format!("{g}.data")])
        .filter(|d| files.contains(d))
        .collect();
    chosen.extend(data);
    for name in [
        "tokenizer.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
        "config.json",
        "text_projection.npy",
    ] {
        if let Some(f) = files
            .iter()
            .find(|f| f.as_str() == name || f.ends_with(&format!("/{name}")))
        {
            chosen.push(f.clone());
        }
    }
    chosen
}

impl Registry {
    /// Download `id` at `revision` and install it (see [`Registry::add`]). `$HF_ENDPOINT` points at
    /// another hub or a mirror, `$HF_TOKEN` authenticates, `$HF_HUB_OFFLINE=1` refuses at once.
    pub fn pull(&self, id: &str, revision: &str, name: Option<&str>) -> Result<Manifest> {
        let by_hand = || {
            format!(
                "to install it by hand, copy the export's vision and text .onnx files and tokenizer.json \
                 into a folder and run `vtx models add FOLDER --name {}`",
                name.unwrap_or("NAME")
            )
        };
        if std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1") {
            return Err(ModelError::Hub(format!(
                "HF_HUB_OFFLINE=1: not fetching {id}; {}",
                by_hand()
            )));
        }
        if id.split('/').count() != 2 || id.contains("..") {
            return Err(ModelError::Hub(format!("'{id}' is not a hub id (OWNER/NAME)")));
        }
        let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| DEFAULT_ENDPOINT.into());
        let endpoint = endpoint.trim_end_matches('/');
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(60))
            .build();
        let token = std::env::var("HF_TOKEN").ok();
        let get = |url: &str| {
            let request = agent.get(url);
            let request = match &token {
                Some(t) => request.set("Authorization", &format!("Bearer {t}")),
                None => request,
            };
            request.call().map_err(|e| match e {
                ureq::Error::Status(404, _) => {
                    ModelError::Hub(format!("{url}: not found (is the id or revision right?)"))
                }
                ureq::Error::Status(code, _) => ModelError::Hub(format!("{url}: HTTP {code}")),
                ureq::Error::Transport(t) => ModelError::Hub(format!(
                    "cannot reach {endpoint} ({t}): is this machine online? {}",
                    by_hand()
                )),
            })
        };
        let listing = get(&format!("{endpoint}/api/models/{id}/revision/{revision}"))?
            .into_string()
            .map_err(|e| ModelError::Hub(format!("reading the file list of {id}: {e}")))?;
        let listing: serde_json::Value =
            serde_json::from_str(&listing).map_err(|e| ModelError::Hub(format!("the hub's file list of {id}: {e}")))?;
        let files: Vec<String> = listing["siblings"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|f| f["rfilename"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let files = wanted(&files);
        if !files.iter().any(|f| f.ends_with(".onnx")) {
            return Err(ModelError::Hub(format!(
                "{id} has no ONNX vision/text graphs; pick an ONNX export of the model (many are published \
                 under an 'onnx' name), or export one (docs/models.md)"
            )));
        }
        std::fs::create_dir_all(self.dir()).map_err(io_err(self.dir()))?;
        let staging = self.dir().join(format!(".pulling-{}", std::process::id()));
        let result = (|| {
            for file in &files {
                let url = format!("{endpoint}/{id}/resolve/{revision}/{file}");
                let dest = staging.join(file);
                tracing::info!(%url, "downloading");
                download(get(&url)?, &dest)?;
            }
            let default_name = id.replace('/', "--");
            self.add(&staging, Some(name.unwrap_or(&default_name)))
        })();
        let _ = std::fs::remove_dir_all(&staging);
        result
    }
}

fn download(response: ureq::Response, dest: &Path) -> Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let mut file = std::fs::File::create(dest).map_err(io_err(dest))?;
    std::io::copy(&mut response.into_reader(), &mut file).map_err(io_err(dest))?;
    file.flush().map_err(io_err(dest))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn picks_plain_graphs_and_the_files_around_them() {
        let files: Vec<String> = [
            "onnx/vision_model.onnx",
            "onnx/vision_model_quantized.onnx",
            "onnx/text_model_fp16.onnx",
            "onnx/text_model.onnx",
            "onnx/model.onnx",
            "tokenizer.json",
            "preprocessor_config.json",
            "pytorch_model.bin",
            "README.md",
        ]
        .map(String::from)
        .to_vec();
        let mut got = super::wanted(&files);
        got.sort();
        assert_eq!(
            got,
            [
                "onnx/text_model.onnx",
                "onnx/vision_model.onnx",
                "preprocessor_config.json",
                "tokenizer.json"
            ]
        );
    }
}
