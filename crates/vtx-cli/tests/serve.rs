//! `vtx serve` as a real process on a loopback port: the API, its refusals, re-indexing while it
//! serves, shutdown, and the page in headless Chromium driven over WebDriver.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{cache, file_name, vtx};

/// A fresh index of `videos` in a temporary directory.
fn index_of(videos: &[PathBuf]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index").to_string_lossy().into_owned();
    let mut args = vec!["index".to_string(), "--index".into(), index.clone()];
    args.extend(videos.iter().map(|v| v.to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = vtx(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (dir, index)
}

/// A running `vtx serve`, stopped (SIGINT, as Ctrl-C) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(index: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vtx"))
            .args(["serve", "--index", index, "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("vtx serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Self { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Ctrl-C; the exit status.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "vtx serve did not stop on Ctrl-C");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.interrupt();
        }
    }
}

/// Status, headers and body of a request (error statuses too).
fn call(request: ureq::Request, body: Option<&[u8]>) -> (u16, ureq::Response) {
    let response = match body {
        Some(bytes) => request.send_bytes(bytes),
        None => request.call(),
    };
    match response {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(code, r)) => (code, r),
        Err(e) => panic!("{e}"),
    }
}

fn json_of(response: ureq::Response) -> Value {
    response.into_json().expect("a JSON body")
}

fn bytes_of(response: ureq::Response) -> Vec<u8> {
    let mut bytes = Vec::new();
    response.into_reader().read_to_end(&mut bytes).unwrap();
    bytes
}

/// A raw HTTP/1.1 request (for paths a client library would normalise, and for a body that is
/// declared but never sent): the whole answer as text.
fn raw_request(base: &str, request_line: &str, token: &str, extra_headers: &str) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{request_line} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n{extra_headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[test]
fn the_api_answers_and_refuses_what_it_must() {
    let photos = cache().join("fixtures/photos");
    let (_dir, index) = index_of(&[photos.clone(), cache().join("fixtures/joined.mp4")]);
    let token = "s3cret-token";
    let mut server = Server::start(&index, &["--token", token, "--max-body-mb", "1"]);
    let agent = ureq::agent();
    let get = |path: &str| {
        agent
            .get(&server.url(path))
            .set("Authorization", &format!("Bearer {token}"))
    };
    let post = |path: &str| {
        agent
            .post(&server.url(path))
            .set("Authorization", &format!("Bearer {token}"))
    };

    // The token: none, wrong, right.
    let (status, _) = call(agent.get(&server.url("/healthz")), None);
    assert_eq!(status, 401);
    let (status, _) = call(
        agent
            .get(&server.url("/api/videos"))
            .set("Authorization", "Bearer nope"),
        None,
    );
    assert_eq!(status, 401);
    let (status, _) = call(get("/healthz"), None);
    assert_eq!(status, 200);
    // The page: /?token=... sets a cookie (its <img> and <video> requests carry no header).
    let no_redirects = ureq::builder().redirects(0).build();
    let (status, response) = call(no_redirects.get(&server.url(&format!("/?token={token}"))), None);
    assert_eq!(status, 303);
    let cookie = response
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("vtx_token="));
    let (status, _) = call(agent.get(&server.url("/api/videos")).set("Cookie", &cookie), None);
    assert_eq!(status, 200);
    let (status, _) = call(no_redirects.get(&server.url("/?token=wrong")), None);
    assert_eq!(status, 401);

    // Search, by GET and by POST: the rocket photo is the best moment for "a rocket", and the
    // joined clip's rocket (12-15 s) comes among the first.
    let (status, response) = call(get("/api/search?q=a%20rocket&top=3"), None);
    assert_eq!(status, 200);
    let found = json_of(response);
    let hits = found["hits"].as_array().unwrap();
    assert!(
        matches!(
            file_name(hits[0]["video"].as_str().unwrap()),
            "rocket.mp4" | "joined.mp4"
        ),
        "{found}"
    );
    let joined = hits
        .iter()
        .find(|h| h["name"] == "joined.mp4")
        .expect("joined.mp4 among the hits");
    assert!(
        joined["start"].as_f64().unwrap() >= 11.9 && joined["end"].as_f64().unwrap() <= 15.1,
        "{joined}"
    );
    let (status, response) = call(
        post("/api/search").set("Content-Type", "application/json"),
        Some(json!({"q": "a cup of coffee", "top": 1}).to_string().as_bytes()),
    );
    assert_eq!(status, 200);
    let coffee = json_of(response);
    assert!(
        matches!(coffee["hits"][0]["name"].as_str(), Some("coffee.mp4" | "joined.mp4")),
        "{coffee}"
    );

    // Videos, one video, its thumbnail (cached by ETag), the file by range.
    let (_, response) = call(get("/api/videos"), None);
    let videos = json_of(response);
    assert_eq!(videos.as_array().unwrap().len(), 6, "{videos}");
    let cat = videos
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "cat.mp4")
        .unwrap();
    let (_, response) = call(get(&format!("/api/videos/{}", cat["id"])), None);
    let detail = json_of(response);
    let segment = &detail["segments"][0];
    let (status, response) = call(get(segment["thumbnail"].as_str().unwrap()), None);
    assert_eq!(status, 200);
    assert_eq!(response.header("content-type"), Some("image/jpeg"));
    let etag = response.header("etag").unwrap().to_string();
    let jpeg = bytes_of(response);
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let (status, _) = call(
        get(segment["thumbnail"].as_str().unwrap()).set("If-None-Match", &etag),
        None,
    );
    assert_eq!(status, 304);
    let (status, response) = call(get(cat["media"].as_str().unwrap()).set("Range", "bytes=100-199"), None);
    assert_eq!(status, 206);
    let file = std::fs::read(photos.join("cat.mp4")).unwrap();
    assert_eq!(
        response.header("content-range").unwrap(),
        format!("bytes 100-199/{}", file.len())
    );
    assert_eq!(bytes_of(response), &file[100..200]);

    // More like this: an indexed video, and an uploaded picture (the cat's own thumbnail).
    let (_, response) = call(get(&format!("/api/similar?video={}&top=3", cat["id"])), None);
    let like = json_of(response);
    assert!(like["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["video_id"] != cat["id"]));
    let (status, response) = call(
        post("/api/similar?top=1").set("Content-Type", "image/jpeg"),
        Some(&jpeg),
    );
    assert_eq!(status, 200);
    let upload = json_of(response);
    assert!(
        matches!(upload["hits"][0]["name"].as_str(), Some("cat.mp4" | "joined.mp4")),
        "{upload}"
    );

    // The command line and the API answer with the same documents.
    let printed = |args: &[&str]| -> Value {
        let out = vtx(args);
        assert!(
            out.status.success(),
            "vtx {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (_, response) = call(get("/api/search?q=a%20rocket&top=3"), None);
    let cli = printed(&["search", "--index", &index, "a rocket", "--top", "3", "--json"]);
    assert_eq!(json_of(response), cli);
    assert_eq!(cli["hits"][0]["time"].as_str().map(str::len), Some(12), "{cli}");
    let cat_path = cat["video"].as_str().unwrap();
    let (_, response) = call(get(&format!("/api/similar?video={}&top=3", cat["id"])), None);
    assert_eq!(
        json_of(response),
        printed(&["similar", "--index", &index, cat_path, "--top", "3", "--json"])
    );
    let listed = printed(&["info", "--index", &index, "--videos", "--json"]);
    let listed_cat = listed["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == cat["id"])
        .unwrap();
    assert_eq!(&detail, listed_cat);
    let (_, response) = call(get("/api/clusters?k=2"), None);
    assert_eq!(
        json_of(response),
        printed(&["cluster", "--index", &index, "--k", "2", "--json"])
    );

    // Each kind of error has its status, and says its kind.
    let (status, response) = call(get("/api/search?q=x&space=nope"), None);
    assert_eq!(status, 404);
    assert_eq!(json_of(response)["kind"], "not_found");
    let (status, response) = call(get(&format!("/api/similar?video={}&stream=sideways", cat["id"])), None);
    assert_eq!(status, 400);
    let error = json_of(response);
    assert_eq!(error["kind"], "bad_input");
    assert!(
        error["error"].as_str().unwrap().contains("rgb, motion or both"),
        "{error}"
    );

    // Refusals: no path reaches the file system, ids must be ids, limits hold, errors are JSON.
    let (status, response) = call(get("/media/..%2F..%2F..%2Fetc%2Fpasswd"), None);
    assert_eq!(status, 400);
    assert!(json_of(response)["error"].as_str().unwrap().contains("not a video id"));
    let raw = raw_request(&server.base, "GET /media/../../../../etc/passwd", token, "");
    assert!(!raw.starts_with("HTTP/1.1 200") && !raw.contains("root:"), "{raw}");
    let (status, _) = call(get("/media/999999"), None);
    assert_eq!(status, 404);
    let (status, _) = call(get("/api/thumbnails/abc"), None);
    assert_eq!(status, 400);
    let (status, response) = call(get("/api/search"), None);
    assert_eq!(status, 400);
    assert!(json_of(response)["error"].as_str().unwrap().contains("q"));
    let (status, _) = call(get("/api/search?q=x&top=0"), None);
    assert_eq!(status, 400);
    let long = "a".repeat(9000);
    let (status, _) = call(get(&format!("/api/search?q={long}")), None);
    assert_eq!(status, 414);
    let oversized = raw_request(
        &server.base,
        "POST /api/similar",
        token,
        &format!("Content-Type: video/mp4\r\nContent-Length: {}\r\n", 2 << 20),
    );
    assert!(oversized.starts_with("HTTP/1.1 413"), "{oversized}");
    assert!(oversized.contains("\"error\""), "a JSON error: {oversized}");
    let (status, response) = call(
        post("/api/similar").set("Content-Type", "video/mp4"),
        Some(b"not a video"),
    );
    assert_eq!(status, 400, "{}", response.into_string().unwrap());
    let (status, response) = call(get("/no/such/route"), None);
    assert_eq!(status, 404);
    assert!(json_of(response)["error"].is_string());

    // The description names every route; the metrics count what was asked.
    let (_, response) = call(get("/api/openapi.json"), None);
    let openapi = json_of(response);
    for route in [
        "/api/search",
        "/api/similar",
        "/api/videos",
        "/api/videos/{id}",
        "/api/clusters",
        "/api/thumbnails/{segment}",
        "/media/{id}",
        "/healthz",
        "/metrics",
    ] {
        assert!(openapi["paths"][route].is_object(), "{route} described");
    }
    let (status, response) = call(get("/api/clusters?k=2"), None);
    assert_eq!(status, 200);
    let clusters = json_of(response);
    let members: usize = clusters["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_u64().unwrap() as usize)
        .sum();
    assert_eq!(members, 6, "{clusters}");
    let (_, response) = call(get("/metrics"), None);
    let metrics = response.into_string().unwrap();
    assert!(
        metrics.contains("vtx_http_requests_total{route=\"/api/search\",method=\"GET\",status=\"200\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("vtx_http_requests_total{route=\"/media/{id}\",method=\"GET\",status=\"206\"} 1"));
    assert!(metrics.contains("vtx_index_videos 6"), "{metrics}");
    assert!(metrics.contains("vtx_http_request_duration_seconds_count{route=\"/api/search\"}"));

    // Re-indexing while it serves: the new video is seen, searches keep working.
    let out = vtx(&[
        "index",
        "--index",
        &index,
        cache().join("fixtures/motion/pan.mp4").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, response) = call(get("/api/videos"), None);
    assert_eq!(json_of(response).as_array().unwrap().len(), 7);
    let (status, _) = call(get("/api/search?q=a%20cat"), None);
    assert_eq!(status, 200);

    // Ctrl-C: a clean exit, and the index is whole.
    assert!(server.interrupt().success());
    let out = vtx(&["info", "--index", &index, "--json"]);
    assert!(out.status.success());
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["videos"], 7);
}

/// Send `request` as it is (HTTP/1.1 text, ending in a blank line): the whole answer as text.
fn send_raw(base: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[test]
fn hostile_clients_and_swapped_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("library");
    std::fs::create_dir_all(&library).unwrap();
    for name in ["cat", "coffee"] {
        std::fs::copy(
            cache().join(format!("fixtures/photos/{name}.mp4")),
            library.join(format!("{name}.mp4")),
        )
        .unwrap();
    }
    // A name that is not UTF-8 is served like any other.
    let latin1 = library.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(
        b"caf\xe9.mp4",
    ));
    std::fs::copy(cache().join("fixtures/photos/rocket.mp4"), &latin1).unwrap();
    let (_index_dir, index) = index_of(std::slice::from_ref(&library));
    let server = Server::start(&index, &["--allow-host", "media.lan", "--header-timeout", "2"]);
    let agent = ureq::agent();
    let (_, response) = call(agent.get(&server.url("/api/videos")), None);
    let videos = json_of(response);
    let media = |name: &str| -> String {
        let video = videos.as_array().unwrap().iter().find(|v| v["name"] == name).unwrap();
        server.url(video["media"].as_str().unwrap())
    };

    // Every answer forbids sniffing; the page runs only its own script.
    let (status, response) = call(agent.get(&server.url("/")), None);
    assert_eq!(status, 200);
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    let policy = response
        .header("content-security-policy")
        .unwrap_or_default()
        .to_string();
    assert!(
        policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    let (_, response) = call(agent.get(&media("coffee.mp4")), None);
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("content-type"), Some("video/mp4"));
    let (status, response) = call(agent.get(&media("caf%E9.mp4")), None);
    assert_eq!((status, bytes_of(response)), (200, std::fs::read(&latin1).unwrap()));

    // A file replaced after indexing is never served: not a link to another file, not new bytes.
    let cat = library.join("cat.mp4");
    let original = std::fs::read(&cat).unwrap();
    let (status, response) = call(agent.get(&media("cat.mp4")), None);
    assert_eq!((status, bytes_of(response)), (200, original.clone()));
    std::fs::remove_file(&cat).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &cat).unwrap();
    let (status, response) = call(agent.get(&media("cat.mp4")), None);
    let body = response.into_string().unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(!body.contains("root:") && body.contains("index it again"), "{body}");
    std::fs::remove_file(&cat).unwrap();
    std::os::unix::fs::symlink(library.join("coffee.mp4"), &cat).unwrap();
    let (status, _) = call(agent.get(&media("cat.mp4")), None);
    assert_eq!(status, 409, "a link to another indexed video");
    std::fs::remove_file(&cat).unwrap();
    std::fs::write(&cat, vec![0u8; original.len()]).unwrap();
    let (status, _) = call(agent.get(&media("cat.mp4")), None);
    assert_eq!(status, 409, "same size, new content (and a new modification time)");
    std::fs::remove_file(&cat).unwrap();
    let (status, _) = call(agent.get(&media("cat.mp4")), None);
    assert_eq!(status, 410);

    // A range it will not honour (several, unparsable, past the end) is ignored: the whole file.
    let coffee = std::fs::read(library.join("coffee.mp4")).unwrap();
    for ignored in ["bytes=0-1,5-6", "bytes=abc", &format!("bytes={}-", coffee.len())] {
        let (status, response) = call(agent.get(&media("coffee.mp4")).set("Range", ignored), None);
        assert_eq!((status, bytes_of(response).len()), (200, coffee.len()), "{ignored}");
    }
    let (status, response) = call(agent.get(&media("coffee.mp4")).set("Range", "bytes=10-19"), None);
    assert_eq!((status, bytes_of(response)), (206, coffee[10..20].to_vec()));

    // DNS rebinding: a loopback server answers loopback names and the allowed one, no other.
    let request = |host: &str| format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let answer = send_raw(&server.base, &request("evil.example"));
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(!answer.contains("/library/"), "no path leaks: {answer}");
    for allowed in ["localhost:8080", "127.0.0.1", "MEDIA.lan:80", "[::1]:9"] {
        let answer = send_raw(&server.base, &request(allowed));
        assert!(answer.starts_with("HTTP/1.1 200"), "{allowed}: {answer}");
    }

    // Slow clients: 300 connections trickling header bytes are cut off after the header timeout
    // (2 s here), and a client that comes after them is answered.
    let address = server.base.trim_start_matches("http://").to_string();
    let slow: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut stream = TcpStream::connect(&address).unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                .unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    let trickle = std::thread::spawn(move || {
        let mut cut = 0;
        while started.elapsed() < Duration::from_secs(8) && cut < slow.len() {
            cut = slow
                .iter()
                .filter(|s| {
                    let mut stream: &TcpStream = s;
                    stream.write_all(b"x").is_err()
                })
                .count();
            std::thread::sleep(Duration::from_millis(250));
        }
        (cut, started.elapsed())
    });
    let (status, _) = call(agent.get(&server.url("/healthz")), None);
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "answered behind the slow clients"
    );
    let (cut, after) = trickle.join().unwrap();
    assert_eq!(cut, 300, "every slow client was disconnected within {after:?}");
}

#[test]
fn clusters_are_checked_first_computed_once_and_fresh_after_every_write() {
    let (_dir, index) = index_of(&[cache().join("fixtures/photos")]);
    let server = Server::start(&index, &[]);
    let agent = ureq::agent();
    for (bad, says) in [
        ("k=0", "k must be"),
        ("k=5000", "k must be"),
        ("algorithm=hdbscan&min_cluster_size=1", "min_cluster_size"),
        ("level=frame", "level must be"),
        ("algorithm=spectral", "algorithm must be"),
        ("whiten=0", "whiten must be"),
        ("whiten=9999", "whiten must be"),
    ] {
        let (status, response) = call(agent.get(&server.url(&format!("/api/clusters?{bad}"))), None);
        assert_eq!(status, 400, "{bad}");
        assert!(json_of(response)["error"].as_str().unwrap().contains(says), "{bad}");
    }
    // Two at once: one computation, the same answer for both.
    let url = server.url("/api/clusters?k=2");
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let asks: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| json_of(call(ureq::get(&url), None).1)))
            .collect();
        asks.into_iter().map(|a| a.join().unwrap()).collect()
    });
    assert_eq!(answers[0], answers[1]);
    let (status, response) = call(agent.get(&server.url("/api/clusters?k=2&space=nope")), None);
    assert_eq!(status, 404);
    assert!(json_of(response)["error"].as_str().unwrap().contains("no space 'nope'"));
    let (status, response) = call(
        agent.get(&server.url("/api/clusters?k=2&space=visual%2Btext&whiten=2")),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(json_of(response)["space"], "visual+text");
    let tags_of = |clustering: &Value| -> usize {
        clustering["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["tags"].as_array().map_or(0, Vec::len))
            .sum()
    };
    assert_eq!(tags_of(&answers[0]), 0, "nothing is tagged yet");
    // Tagging changes no count of videos, segments or bytes that matter, but it is a write: the
    // next answer is computed afresh and shows the tags.
    let out = vtx(&["tag", "--index", &index]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, response) = call(agent.get(&url), None);
    assert_eq!(status, 200);
    assert!(tags_of(&json_of(response)) > 0, "the clusters show the new tags");
}

/// Schemathesis (installed by `make setup`) against a live server: every route, every check, a
/// fixed seed; the API must answer as its OpenAPI document says, with and without a token.
#[test]
fn the_api_keeps_to_its_openapi_document_under_schemathesis() {
    let schemathesis = cache().join("tools-venv/bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "{} is missing: run `make setup`",
        schemathesis.display()
    );
    let (dir, index) = index_of(&[cache().join("fixtures/photos")]);
    let listed = vtx(&["info", "--index", &index, "--videos", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let video = listed["list"][0]["id"].as_i64().unwrap();
    // An upload is any bytes by the schema and only a picture or clip is accepted (else 400);
    // `similar` by id needs an id the index holds to get past 404.
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "[[operations]]\ninclude-name = \"POST /api/similar\"\nchecks.positive_data_acceptance.expected-statuses = [\"2XX\", \"400\"]\n\n[[operations]]\ninclude-name = \"GET /api/similar\"\nparameters = {{ video = {video} }}\n"
        ),
    )
    .unwrap();
    for token in [None, Some("s3cret-token")] {
        let extra: Vec<&str> = token.map_or_else(Vec::new, |t| vec!["--token", t]);
        let server = Server::start(&index, &extra);
        let mut run = Command::new(&schemathesis);
        run.current_dir(dir.path())
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(server.url("/api/openapi.json"))
            // One worker: CPython 3.11's `ast` module keeps its recursion depth per process, and
            // two threads parsing at once make hypothesis fail with "recursion depth mismatch".
            .args([
                "--checks",
                "all",
                "--max-examples",
                "30",
                "--workers",
                "1",
                "--seed",
                "1",
            ])
            // The first /api/clusters request embeds the 1,000 labels that name clusters: about
            // 7 s in a release build here, up to 15 s in this debug one beside other tests, and
            // schemathesis gives up, or fails the response, at 10. Speed is measured elsewhere.
            .args(["--request-timeout", "60", "--max-response-time", "60"])
            .args(["--generation-database", "none", "--no-color"]);
        if let Some(t) = token {
            run.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        let out = run.output().expect("schemathesis runs");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "schemathesis found failures (token: {token:?}):\n{report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(report.contains("passed"), "{report}");
    }
}

/// An index of each video with its own extra `vtx index` flags, one run each: (its folder, the
/// index, the id of each video by file name).
fn index_each(videos: &[(PathBuf, &[&str])]) -> (tempfile::TempDir, String, impl Fn(&str) -> i64) {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index").to_string_lossy().into_owned();
    for (video, extra) in videos {
        let mut args = vec!["index", "--index", &index, "--no-motion", video.to_str().unwrap()];
        args.extend(extra.iter());
        let out = vtx(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let listed: Value =
        serde_json::from_slice(&vtx(&["info", "--index", &index, "--videos", "--json"]).stdout).unwrap();
    let id_of = move |name: &str| {
        listed["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {listed}"))["id"]
            .as_i64()
            .unwrap()
    };
    (dir, index, id_of)
}

/// An index of crossing.mp4 with its objects, then the cat clip without.
fn objects_index() -> (tempfile::TempDir, String, impl Fn(&str) -> i64) {
    index_each(&[
        (cache().join("fixtures/objects/crossing.mp4"), &["--objects"]),
        (cache().join("fixtures/photos/cat.mp4"), &[]),
    ])
}

#[test]
fn a_videos_tracks_and_the_object_filter_are_served() {
    // The cat clip is indexed without --objects: a video no detector has looked at.
    let (_dir, index, id_of) = objects_index();
    let server = Server::start(&index, &[]);
    let (status, response) = call(
        ureq::get(&server.url(&format!("/api/videos/{}/tracks", id_of("crossing.mp4")))),
        None,
    );
    assert_eq!(status, 200);
    let tracks = json_of(response);
    assert_eq!(tracks["detector"], "centernet-coco");
    let motorcycle = tracks["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "motorcycle")
        .unwrap_or_else(|| panic!("{tracks:#}"));
    assert_eq!(motorcycle["heading"], "right");
    assert!(motorcycle["boxes"].as_array().unwrap().len() >= 15, "{motorcycle:#}");
    let (status, response) = call(
        ureq::get(&server.url(&format!("/api/videos/{}/tracks", id_of("cat.mp4")))),
        None,
    );
    assert_eq!(status, 404);
    assert!(json_of(response)["error"].as_str().unwrap().contains("--objects"));
    let (status, _) = call(ureq::get(&server.url("/api/videos/999/tracks")), None);
    assert_eq!(status, 404);
    let search = |query: &str| {
        let (status, response) = call(ureq::get(&server.url(&format!("/api/search?q=a%20photo{query}"))), None);
        (status, json_of(response))
    };
    let (status, found) = search("&object=person");
    assert_eq!(status, 200, "{found}");
    let files: Vec<&str> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["crossing.mp4"], "the cat has no person");
    let (status, found) = search("&object=person&min_count=2");
    assert_eq!((status, found["hits"].as_array().map(Vec::len)), (200, Some(0)));
    let (status, found) = search("&min_count=2");
    assert_eq!(
        (status, found["hits"].as_array().map(Vec::len)),
        (200, Some(2)),
        "no object: no filter"
    );
    let (status, found) = search("&action=walking");
    assert_eq!(
        (status, found["hits"].as_array().map(Vec::len)),
        (200, Some(1)),
        "the astronaut walks: {found}"
    );
    let (status, _) = search("&action=flying");
    assert_eq!(status, 400, "not an action vtx reads");
    let person = tracks["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "person")
        .unwrap();
    assert_eq!(person["actions"][0]["action"], "walking", "{person:#}");
}

#[test]
fn a_token_from_a_file_any_case_of_bearer_and_a_warning_for_an_open_address() {
    let (_dir, index) = index_of(&[cache().join("fixtures/photos/cat.mp4")]);
    let token_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token_file.path(), "file-token\n").unwrap();
    let server = Server::start(&index, &["--token-file", token_file.path().to_str().unwrap()]);
    let agent = ureq::agent();
    let (status, _) = call(agent.get(&server.url("/healthz")), None);
    assert_eq!(status, 401);
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let (status, _) = call(
            agent
                .get(&server.url("/healthz"))
                .set("Authorization", &format!("{scheme} file-token")),
            None,
        );
        assert_eq!(status, 200, "{scheme}");
    }
    drop(server);
    let mut open = Command::new(env!("CARGO_BIN_EXE_vtx"))
        .args(["serve", "--index", &index, "--addr", "0.0.0.0:0"])
        .env_remove("VTX_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(open.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = Command::new("kill").args(["-INT", &open.id().to_string()]).status();
    let out = open.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without a token"), "{stderr}");
}

/// A free loopback port (bound, then released for chromedriver to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's chromedriver and headless Chromium, spoken to over plain WebDriver.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    fn start() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; `make setup` installs it)");
        let base = format!("http://127.0.0.1:{port}");
        let agent = ureq::agent();
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        // Offline: without the background-networking flags Chromium keeps dialling Google.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let session: Value = agent
            .post(&format!("{base}/session"))
            .send_json(capabilities)
            .expect("a Chromium session")
            .into_json()
            .unwrap();
        let session = session["value"]["sessionId"].as_str().unwrap().to_string();
        Self {
            driver,
            base,
            session,
            agent,
            _profile: profile,
        }
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = self.agent.request(method, &url);
        let response = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        let response = match response {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("webdriver {path}: {e}"),
        };
        let value: Value = response.into_json().unwrap();
        value["value"].clone()
    }

    fn open(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// Open the page at `url` and search it for `query` (typed, then Enter).
    fn search(&self, url: &str, query: &str) {
        self.open(url);
        let input = self.find("#q");
        self.command(
            "POST",
            &format!("/element/{input}/value"),
            Some(json!({ "text": format!("{query}\u{E007}") })),
        );
    }

    fn find(&self, css: &str) -> String {
        let found = self.command("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no {css}: {found}"))
            .to_string()
    }

    fn script(&self, source: &str) -> Value {
        self.command("POST", "/execute/sync", Some(json!({"script": source, "args": []})))
    }

    /// Run `source` until it returns something other than null, for at most `seconds`.
    fn wait_for(&self, source: &str, seconds: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let value = self.script(source);
            if !value.is_null() {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {source}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn screenshot(&self, file: &Path) {
        let encoded = self.command("GET", "/screenshot", None);
        let png = decode_base64(encoded.as_str().unwrap());
        assert_eq!(&png[1..4], b"PNG");
        std::fs::write(file, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let symbols: Vec<u8> = text
        .bytes()
        .filter(|c| !matches!(c, b'=' | b'\n' | b'\r'))
        .map(value)
        .collect();
    symbols
        .chunks(4)
        .flat_map(|chunk| {
            let bits = chunk.iter().fold(0u32, |acc, &s| acc << 6 | u32::from(s)) << (6 * (4 - chunk.len()));
            let bytes = [(bits >> 16) as u8, (bits >> 8) as u8, bits as u8];
            bytes.into_iter().take(chunk.len().saturating_sub(1))
        })
        .collect()
}

#[test]
fn the_page_finds_a_moment_and_plays_it_from_there_in_chromium() {
    // The rocket is 12-15 s into joined.mp4; the other clips are distractors.
    let c = cache();
    let (_dir, index) = index_of(&[
        c.join("fixtures/joined.mp4"),
        c.join("fixtures/motion"),
        c.join("media/usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/webm.webm"),
    ]);
    let server = Server::start(&index, &[]);
    let browser = Browser::start();
    browser.search(&server.url("/"), "a rocket");
    let first = browser.wait_for(
        "const r = document.querySelector('a.result'); \
         return r ? {video: r.dataset.video, start: Number(r.dataset.start), end: Number(r.dataset.end)} : null;",
        30,
    );
    assert_eq!(first["video"], "joined.mp4", "{first}");
    let (start, end) = (first["start"].as_f64().unwrap(), first["end"].as_f64().unwrap());
    assert!((11.9..=12.1).contains(&start) && end <= 15.1, "{first}");
    let result = browser.find("a.result");
    browser.command("POST", &format!("/element/{result}/click"), Some(json!({})));
    // The player loads the file (range requests) and seeks to the moment.
    let time = browser.wait_for(
        "const v = document.getElementById('player'); \
         return v && v.readyState >= 2 && v.currentTime > 0 ? v.currentTime : null;",
        30,
    );
    let time = time.as_f64().unwrap();
    assert!(
        time >= start - 0.1 && time <= end + 0.5,
        "playing at {time}, the moment is {start}-{end}"
    );
    // The timeline's segments are as wide as they are long: styles set under the page's
    // Content-Security-Policy, which refuses inline style attributes, still apply.
    let widths = browser
        .script("return [...document.querySelectorAll('.timeline button')].map(b => getComputedStyle(b).flexGrow);");
    let widths = widths.as_array().unwrap();
    assert!(!widths.is_empty() && widths.iter().all(|w| w != "0"), "{widths:?}");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vtx-page-playing.png");
    browser.screenshot(&shot);
    eprintln!("screenshot: {}", shot.display());
    // "More like this" from the video page lists other videos.
    let more = browser.find(".player .meta button");
    browser.command("POST", &format!("/element/{more}/click"), Some(json!({})));
    let listed = browser.wait_for(
        "const r = document.querySelectorAll('a.result'); return r.length ? r.length : null;",
        30,
    );
    assert!(listed.as_u64().unwrap() >= 2, "{listed}");
}

#[test]
fn the_page_draws_the_boxes_of_a_videos_tracks_over_it_in_chromium() {
    let (_dir, index, id_of) = objects_index();
    let id = id_of("crossing.mp4");
    let server = Server::start(&index, &[]);
    let (_, response) = call(ureq::get(&server.url(&format!("/api/videos/{id}/tracks"))), None);
    let tracks = json_of(response);
    let motorcycle = tracks["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "motorcycle")
        .unwrap()
        .clone();
    let browser = Browser::start();
    browser.open(&server.url(&format!("/#/video/{id}?t=2")));
    // Stopped at a moment the detector saw (2.0 s), so that the boxes stay put while they are read.
    browser.wait_for(
        "const v = document.getElementById('player'); \
         if (!v || v.readyState < 2) return null; \
         if (!v.paused || v.currentTime !== 2) { v.pause(); v.currentTime = 2; return null; } \
         const c = document.querySelector('canvas.boxes'); \
         return c && Number(c.dataset.drawn) > 0 ? true : null;",
        30,
    );
    let stage = browser.script(
        "const v = document.getElementById('player'); const c = document.querySelector('canvas.boxes'); \
         return {drawn: Number(c.dataset.drawn), width: c.width, height: c.height, vw: v.videoWidth, vh: v.videoHeight};",
    );
    assert!(
        stage["drawn"].as_u64().unwrap() >= 2,
        "the motorcycle and the person: {stage}"
    );
    // The motorcycle's box at 2.0 s, in canvas pixels (the picture letterboxed as the page does).
    let b = motorcycle["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| (b["t"].as_f64().unwrap() - 2.0).abs() < 0.05)
        .unwrap_or_else(|| panic!("no box at 2.0 s: {motorcycle:#}"));
    let g = |v: &Value| v.as_f64().unwrap();
    let (width, height) = (g(&stage["width"]), g(&stage["height"]));
    let scale = (width / g(&stage["vw"])).min(height / g(&stage["vh"]));
    let (w, h) = (g(&stage["vw"]) * scale, g(&stage["vh"]) * scale);
    let (left, top) = ((width - w) / 2.0, (height - h) / 2.0);
    let (x0, y0, x1) = (left + g(&b["x0"]) * w, top + g(&b["y0"]) * h, left + g(&b["x1"]) * w);
    let pixel = |x: f64, y: f64| -> Vec<u64> {
        let found = browser.script(&format!(
            "return Array.from(document.querySelector('canvas.boxes').getContext('2d').getImageData({}, {}, 1, 1).data);",
            x.round(),
            y.round()
        ));
        found.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect()
    };
    // On the box's top edge: the stroke, opaque; well inside the box: nothing drawn.
    let edge = pixel((x0 + x1) / 2.0, y0);
    assert!(
        edge[3] > 200,
        "no stroke on the motorcycle's top edge at ({}, {y0}): {edge:?}",
        (x0 + x1) / 2.0
    );
    let inside = pixel((x0 + x1) / 2.0, y0 + 0.3 * (g(&b["y1"]) - g(&b["y0"])) * h);
    assert_eq!(inside[3], 0, "{inside:?}");
    // The switch takes them off.
    let toggle = browser.find("#show-boxes");
    browser.command("POST", &format!("/element/{toggle}/click"), Some(json!({})));
    let drawn = browser.wait_for(
        "const c = document.querySelector('canvas.boxes'); return c.dataset.drawn === '0' ? 0 : null;",
        10,
    );
    assert_eq!(drawn, 0);
}

#[test]
fn on_screen_text_is_served_searched_by_keyword_and_shown_on_the_page() {
    // The captioned clip is read (--ocr); the cat is indexed without.
    let (_dir, index, id_of) = index_each(&[
        (cache().join("fixtures/text/captions.mp4"), &["--ocr"]),
        (cache().join("fixtures/photos/cat.mp4"), &[]),
    ]);
    let server = Server::start(&index, &[]);
    let (status, response) = call(
        ureq::get(&server.url(&format!("/api/videos/{}/text", id_of("captions.mp4")))),
        None,
    );
    assert_eq!(status, 200);
    let text = json_of(response);
    assert_eq!(
        (text["reader"].as_str(), text["lines"].as_array().map(Vec::len)),
        (Some("ppocr-v4"), Some(4)),
        "{text:#}"
    );
    let (status, response) = call(
        ureq::get(&server.url(&format!("/api/videos/{}/text", id_of("cat.mp4")))),
        None,
    );
    assert_eq!(status, 404);
    assert!(json_of(response)["error"].as_str().unwrap().contains("--ocr"));
    let (status, response) = call(ureq::get(&server.url("/api/search?q=budget&mode=keyword")), None);
    assert_eq!(status, 200);
    let found = json_of(response);
    assert_eq!(found["space"], "keyword");
    assert_eq!(found["hits"][0]["snippet"], "**Budget** meeting at noon", "{found:#}");
    assert_eq!(found["hits"][0]["matched"], json!(["keyword"]));
    let (status, _) = call(ureq::get(&server.url("/api/search?q=budget&mode=loud")), None);
    assert_eq!(status, 400, "not a search mode");
    let (status, _) = call(ureq::get(&server.url("/api/search?q=%3F%21&mode=keyword")), None);
    assert_eq!(status, 400, "no word to look for");
    // The page shows why a hit matched, with the words marked, and plays it from that line.
    let browser = Browser::start();
    browser.search(&server.url("/"), "budget");
    let first = browser.wait_for(
        "const r = document.querySelector('a.result'); \
         return r ? {video: r.dataset.video, start: Number(r.dataset.start), \
                     marked: [...r.querySelectorAll('.snippet mark')].map(m => m.textContent), \
                     why: r.querySelector('.snippet .why')?.textContent} : null;",
        30,
    );
    assert_eq!(first["video"], "captions.mp4", "{first}");
    assert_eq!(first["marked"], json!(["Budget"]), "{first}");
    assert!(first["why"].as_str().unwrap().contains("keyword"), "{first}");
    let start = first["start"].as_f64().unwrap();
    assert!((3.4..=4.6).contains(&start), "drawn from 4 s: {first}");
}

#[test]
fn a_transcript_is_served_as_json_and_subtitles_and_the_page_plays_from_a_phrase() {
    let (_dir, index, id_of) = index_each(&[
        (cache().join("fixtures/speech/said.mp4"), &["--speech"]),
        (cache().join("fixtures/photos/cat.mp4"), &[]),
    ]);
    let server = Server::start(&index, &[]);
    let said = id_of("said.mp4");
    let (status, response) = call(ureq::get(&server.url(&format!("/api/videos/{said}/transcript"))), None);
    assert_eq!(status, 200);
    let heard = json_of(response);
    assert_eq!(heard["phrases"].as_array().map(Vec::len), Some(3), "{heard:#}");
    let (status, response) = call(
        ureq::get(&server.url(&format!("/api/videos/{said}/subtitles.vtt"))),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(response.header("content-type"), Some("text/vtt; charset=utf-8"));
    let vtt = String::from_utf8(bytes_of(response)).unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n") && vtt.contains("passport"), "{vtt}");
    let (status, response) = call(
        ureq::get(&server.url(&format!("/api/videos/{}/subtitles.vtt", id_of("cat.mp4")))),
        None,
    );
    assert_eq!(status, 404);
    assert!(json_of(response)["error"].as_str().unwrap().contains("--speech"));
    // The player gets the subtitles as a track and the transcript as lines that seek it.
    let browser = Browser::start();
    browser.open(&server.url(&format!("/#/video/{said}?t=0")));
    let lines = browser.wait_for(
        "const b = document.querySelectorAll('.transcript button.said'); \
         return b.length ? {lines: b.length, track: !!document.querySelector('#player track[kind=subtitles]')} : null;",
        30,
    );
    assert_eq!(lines, json!({"lines": 3, "track": true}));
    let second = browser.script("return document.querySelectorAll('.transcript button.said')[1].dataset.start;");
    let second: f64 = second.as_str().unwrap().parse().unwrap();
    browser.script("document.querySelectorAll('.transcript button.said')[1].click(); return null;");
    let time = browser.wait_for(
        &format!(
            "const v = document.getElementById('player'); \
             return v && Math.abs(v.currentTime - {second}) < 0.6 ? v.currentTime : null;"
        ),
        30,
    );
    assert!(
        (time.as_f64().unwrap() - 7.0).abs() < 0.7,
        "the second sentence is said at 7 s: {time}"
    );
}
