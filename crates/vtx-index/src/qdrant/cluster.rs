//! A real Qdrant cluster for tests: the one at `$VTX_QDRANT_URL`, or nodes started here on
//! loopback ports from the server binary at `$VTX_QDRANT_BIN`. No server ships with vtx (none can
//! be had from the package registries), so without either the tests that need one say so and
//! skip.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node may take to start and join.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One node's ports and process.
pub struct Node {
    pub http: u16,
    pub grpc: u16,
    p2p: u16,
    storage: PathBuf,
    child: Option<Child>,
}

/// A cluster to test against, stopped (when started here) on drop.
pub struct TestCluster {
    /// The gRPC address, as `--store` takes it (`qdrant://127.0.0.1:PORT`).
    pub url: String,
    binary: Option<PathBuf>,
    pub nodes: Vec<Node>,
    _dir: Option<tempfile::TempDir>,
}

/// Why the cluster tests cannot run here, or `None` when they can.
pub fn unavailable() -> Option<&'static str> {
    if std::env::var_os("VTX_QDRANT_URL").is_some() || std::env::var_os("VTX_QDRANT_BIN").is_some() {
        None
    } else {
        Some("neither VTX_QDRANT_URL (a running Qdrant) nor VTX_QDRANT_BIN (a Qdrant server binary) is set")
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A plain HTTP GET on loopback: the status line and body, or `None` if nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

impl Node {
    fn start(&mut self, binary: &Path, first_p2p: u16) {
        let mut command = Command::new(binary);
        command
            .current_dir(&self.storage)
            .env("QDRANT__SERVICE__HOST", "127.0.0.1")
            .env("QDRANT__SERVICE__HTTP_PORT", self.http.to_string())
            .env("QDRANT__SERVICE__GRPC_PORT", self.grpc.to_string())
            .env("QDRANT__CLUSTER__ENABLED", "true")
            .env("QDRANT__CLUSTER__P2P__PORT", self.p2p.to_string())
            .env("QDRANT__STORAGE__STORAGE_PATH", self.storage.join("storage"))
            .env("QDRANT__STORAGE__SNAPSHOTS_PATH", self.storage.join("snapshots"))
            .env("QDRANT__TELEMETRY_DISABLED", "true")
            .env("QDRANT__LOG_LEVEL", "WARN")
            .args(["--uri", &format!("http://127.0.0.1:{}", self.p2p)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.storage.join("log.txt")).expect("a node's log"));
        if first_p2p != self.p2p {
            command.args(["--bootstrap", &format!("http://127.0.0.1:{first_p2p}")]);
        }
        self.child = Some(command.spawn().expect("start the Qdrant server"));
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if matches!(http_get(self.http, "/readyz"), Some((200, _))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(self.storage.join("log.txt")).unwrap_or_default();
        panic!("a Qdrant node did not start in {START_TIMEOUT:?}; its log:\n{log}");
    }

    /// Stop it hard, as a crash or a pulled cable would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl TestCluster {
    /// The cluster at `$VTX_QDRANT_URL`, else `nodes` nodes started from `$VTX_QDRANT_BIN`; `None`
    /// (see [`unavailable`]) when neither is set.
    pub fn from_env(nodes: usize) -> Option<Self> {
        if let Some(url) = std::env::var_os("VTX_QDRANT_URL") {
            return Some(Self {
                url: url.to_string_lossy().into_owned(),
                binary: None,
                nodes: Vec::new(),
                _dir: None,
            });
        }
        let binary = PathBuf::from(std::env::var_os("VTX_QDRANT_BIN")?);
        assert!(
            binary.is_file(),
            "VTX_QDRANT_BIN is {}, which is not a file",
            binary.display()
        );
        let dir = tempfile::tempdir().expect("a folder for the cluster");
        let mut started = Vec::new();
        for i in 0..nodes {
            let storage = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&storage).expect("a node's folder");
            started.push(Node {
                http: free_port(),
                grpc: free_port(),
                p2p: free_port(),
                storage,
                child: None,
            });
        }
        let first = started[0].p2p;
        started[0].start(&binary, first);
        started[0].wait_ready();
        for node in started.iter_mut().skip(1) {
            node.start(&binary, first);
            node.wait_ready();
        }
        let cluster = Self {
            url: format!("qdrant://127.0.0.1:{}", started[0].grpc),
            binary: Some(binary),
            nodes: started,
            _dir: Some(dir),
        };
        cluster.wait_for_peers(nodes);
        Some(cluster)
    }

    /// Wait until the first node counts `peers` peers in its cluster.
    fn wait_for_peers(&self, peers: usize) {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Some((200, body)) = http_get(self.nodes[0].http, "/cluster") {
                let known = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["result"]["peers"].as_object().map(|p| p.len()));
                if known == Some(peers) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the Qdrant cluster did not gather {peers} peers in {START_TIMEOUT:?}");
    }

    /// The gRPC address of node `i`.
    pub fn node_url(&self, i: usize) -> String {
        format!("qdrant://127.0.0.1:{}", self.nodes[i].grpc)
    }

    /// Start node `i` again after [`Node::kill`].
    pub fn restart(&mut self, i: usize) {
        let binary = self.binary.clone().expect("a cluster started here");
        let first = self.nodes[0].p2p;
        self.nodes[i].start(&binary, first);
        self.nodes[i].wait_ready();
    }

    /// Whether this cluster's nodes were started here (and can be stopped).
    pub fn is_local(&self) -> bool {
        self.binary.is_some()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }
}
