//! Users for a run, and the [`Target`] a workload talks to.
//!
//! Making a user costs two argon2 runs on the server (create + login, about
//! 20 ms each here), so 10,000 users cost minutes of CPU. The pool pays that
//! once: a prepared data folder (`<pool>/data`) holding the users and their
//! sessions, with the tokens in `<pool>/users.tsv`. Each run copies the
//! folder and starts a fresh server on the copy, so runs never see each
//! other's rooms. Sessions in the pool are made to last 30 days.

use super::Common;
use super::server::{self, Server};
use anyhow::{Context, bail};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use townhall_protocol::Pos;
use townhall_protocol::http::LoginResponse;

/// The admin password of pool servers (local, throwaway data).
const POOL_ADMIN_PASSWORD: &str = "townhall-load-admin";

/// Users made or logged in at once: the server runs argon2 on its blocking
/// pool (login) or, for creation, on its async workers; 4 keeps both cores
/// busy without queueing requests past their timeouts.
const PROVISION_CONCURRENCY: usize = 4;

#[derive(Clone, Debug)]
pub struct Cred {
    pub username: String,
    pub token: String,
}

/// The server a workload talks to, with its users.
pub struct Target {
    /// The server (in a cluster, the first node: setup goes through it).
    pub addr: SocketAddr,
    /// Where the workload's connections go, round-robin: `[addr]` for one
    /// server; the nodes (or the first `--cluster-spread`) of a cluster.
    pub addrs: Vec<SocketAddr>,
    /// Cluster mode: the processes, for CPU figures.
    pub cluster: Option<ClusterPids>,
    pub base: String,
    pub http: reqwest::Client,
    pub admin_token: String,
    pub users: Vec<Cred>,
    /// The server's pid, when known (RSS, CPU, fsync counts).
    pub pid: Option<u32>,
    /// The server's data folder, when started here.
    pub data: Option<PathBuf>,
    server: Option<Server>,
    /// Cluster mode: the nats-servers and the other nodes (stopped by
    /// [`Target::finish`]; killed when dropped).
    rig: Option<ClusterRig>,
    _dir: Option<tempfile::TempDir>,
}

/// The processes of a cluster run.
#[derive(Clone, Debug, Default)]
pub struct ClusterPids {
    pub nodes: Vec<u32>,
    pub nats: Vec<u32>,
}

struct ClusterRig {
    /// Declared first: the other nodes stop before the NATS servers go.
    others: Vec<Server>,
    nats: townhall_tests::nats::NatsCluster,
}

/// Users created or logged in at once through a cluster node: each also
/// waits for its log entry, so more are in flight than on one server.
const CLUSTER_PROVISION_CONCURRENCY: usize = 8;

impl Target {
    /// A server with at least `users` users: a fresh one on a copy of the
    /// pool (started with `server_args`), or the `--url` one.
    pub async fn prepare(
        common: &Common,
        users: usize,
        server_args: &[String],
    ) -> anyhow::Result<Target> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        if let Some(url) = &common.url {
            let base = url.trim_end_matches('/').to_owned();
            let addr = base
                .trim_start_matches("http://")
                .parse::<SocketAddr>()
                .context("--url must be http://IP:PORT")?;
            let password = common
                .admin_password
                .as_deref()
                .context("--url needs --admin-password (or TOWNHALL_ADMIN_PASSWORD)")?;
            let admin_token = login(&http, &base, "admin", password).await?.token;
            let run = format!("{:x}", super::measure::now_us() % 0xffff_ffff);
            let creds =
                provision(&http, &base, &admin_token, &format!("l{run}-"), 0..users).await?;
            return Ok(Target {
                addr,
                addrs: vec![addr],
                cluster: None,
                rig: None,
                base,
                http,
                admin_token,
                users: creds,
                pid: common.server_pid,
                data: None,
                server: None,
                _dir: None,
            });
        }
        let bin = server_bin(common)?;
        if common.cluster_nodes > 0 {
            return Self::prepare_cluster(common, &bin, http, users, server_args).await;
        }
        let pool = common.pool.clone().unwrap_or_else(|| default_pool(&bin));
        let (creds, admin_token) = ensure_pool(&pool, &bin, users, &http).await?;
        let dir = tempfile::Builder::new()
            .prefix("townhall-load-")
            .tempdir()?;
        let data = dir.path().join("data");
        server::copy_dir(&pool.join("data"), &data).context("copying the pool's data folder")?;
        let started = Server::start(
            &bin,
            &data,
            common.server_cpus.as_deref(),
            POOL_ADMIN_PASSWORD,
            &[server_args, &common.server_arg].concat(),
        )
        .await?;
        let base = format!("http://{}", started.addr);
        Ok(Target {
            addr: started.addr,
            addrs: vec![started.addr],
            cluster: None,
            rig: None,
            base,
            http,
            admin_token,
            users: creds,
            pid: Some(started.pid),
            data: Some(data),
            server: Some(started),
            _dir: Some(dir),
        })
    }

    /// Cluster mode: 3 nats-servers, the stream, `common.cluster_nodes`
    /// townhall nodes on it (each on a fresh data folder, pinned to
    /// `--server-cpus` if given), and `users` users made through the first
    /// node's admin API (a copied pool folder would not be in the log).
    async fn prepare_cluster(
        common: &Common,
        bin: &Path,
        http: reqwest::Client,
        users: usize,
        server_args: &[String],
    ) -> anyhow::Result<Target> {
        let t0 = Instant::now();
        let nats = townhall_tests::nats::NatsCluster::start(3).await;
        let urls = nats.urls();
        let init = tokio::process::Command::new(bin)
            .args(["cluster", "init", "--cluster", &urls])
            .output()
            .await
            .with_context(|| format!("running {} cluster init", bin.display()))?;
        if !init.status.success() {
            bail!(
                "townhall cluster init failed: {}{}",
                String::from_utf8_lossy(&init.stdout),
                String::from_utf8_lossy(&init.stderr)
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("townhall-load-cluster-")
            .tempdir()?;
        let args = [
            &["--cluster".to_owned(), urls.clone()],
            server_args,
            &common.server_arg,
        ]
        .concat();
        let mut nodes = Vec::with_capacity(common.cluster_nodes);
        for i in 0..common.cluster_nodes {
            nodes.push(
                Server::start(
                    bin,
                    &dir.path().join(format!("node{i}")),
                    common.server_cpus.as_deref(),
                    POOL_ADMIN_PASSWORD,
                    &args,
                )
                .await
                .with_context(|| format!("starting cluster node {i}"))?,
            );
        }
        let spread = common
            .cluster_spread
            .unwrap_or(nodes.len())
            .clamp(1, nodes.len());
        let addrs: Vec<SocketAddr> = nodes.iter().take(spread).map(|n| n.addr).collect();
        let pids = ClusterPids {
            nodes: nodes.iter().map(|n| n.pid).collect(),
            nats: (0..nats.len()).filter_map(|i| nats.pid(i)).collect(),
        };
        super::conn::RESUME_NOW_FROM_HEALTHZ.store(true, std::sync::atomic::Ordering::Relaxed);
        let first = nodes.remove(0);
        let base = format!("http://{}", first.addr);
        let admin_token = login(&http, &base, "admin", POOL_ADMIN_PASSWORD)
            .await?
            .token;
        let t_users = Instant::now();
        let creds = provision_with(
            &http,
            &base,
            &admin_token,
            "load",
            0..users,
            CLUSTER_PROVISION_CONCURRENCY,
        )
        .await?;
        eprintln!(
            "cluster: 3 nats-servers, {} nodes, {users} users through node 0 ({:.1} s for the users, {:.1} s in all)",
            common.cluster_nodes,
            t_users.elapsed().as_secs_f64(),
            t0.elapsed().as_secs_f64()
        );
        Ok(Target {
            addr: first.addr,
            addrs,
            cluster: Some(pids),
            base,
            http,
            admin_token,
            users: creds,
            pid: Some(first.pid),
            data: Some(dir.path().join("node0")),
            server: Some(first),
            rig: Some(ClusterRig {
                others: nodes,
                nats,
            }),
            _dir: Some(dir),
        })
    }

    /// The address connection `i` of a workload uses (round-robin).
    pub fn addr_of(&self, i: usize) -> SocketAddr {
        self.addrs[i % self.addrs.len()]
    }

    /// `/healthz`: (published position, open sessions).
    /// One room of the first `members` users. The first makes it; the admin
    /// (not a member, so it hears none of it) adds the others while they are
    /// offline, so no one receives thousands of join events.
    pub async fn one_room(
        &self,
        name: &str,
        members: usize,
        parallel: usize,
    ) -> anyhow::Result<townhall_protocol::RoomId> {
        use super::conn;
        let (mut owner, _) = conn::login_caught_up(
            self.addr,
            &self.users[0].token,
            Some(Pos::MAX),
            conn::SMALL_READ_BUFFER,
        )
        .await?;
        let room = conn::create_room(&mut owner, name).await?.id;
        let _ = owner.close(None).await;
        let pairs = self.users[1..members]
            .iter()
            .map(|c| (room, c.username.clone()))
            .collect();
        conn::add_members_as_admin(self.addr, &self.admin_token, pairs, parallel).await?;
        Ok(room)
    }

    pub async fn health(&self) -> anyhow::Result<(Pos, u64)> {
        let v: serde_json::Value = self
            .http
            .get(format!("{}/healthz", self.base))
            .send()
            .await?
            .json()
            .await?;
        Ok((
            v["published_pos"]
                .as_u64()
                .context("healthz published_pos")?,
            v["sessions"].as_u64().unwrap_or(0),
        ))
    }

    pub async fn published_pos(&self) -> anyhow::Result<Pos> {
        Ok(self.health().await?.0)
    }

    pub fn rss(&self) -> Option<u64> {
        server::rss_bytes(self.pid?)
    }

    pub fn data_bytes(&self) -> Option<u64> {
        self.data.as_deref().map(server::dir_bytes)
    }

    /// Stop the server (every node, then the NATS servers) if this tool
    /// started it.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        let mut result = Ok(());
        if let Some(s) = self.server.take() {
            result = s.stop().await;
        }
        if let Some(rig) = self.rig.take() {
            for node in rig.others {
                let r = node.stop().await;
                if result.is_ok() {
                    result = r;
                }
            }
            let mut nats = rig.nats;
            for i in 0..nats.len() {
                nats.stop(i).await;
            }
        }
        result
    }
}

/// The `pool` command: make sure the pool has `users` users.
pub async fn prepare_only(common: &Common, users: usize) -> anyhow::Result<super::measure::Report> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let bin = server_bin(common)?;
    let pool = common.pool.clone().unwrap_or_else(|| default_pool(&bin));
    let t0 = Instant::now();
    let (creds, _) = ensure_pool(&pool, &bin, users, &http).await?;
    let mut r = super::measure::Report::new("pool");
    r.param("users", users);
    r.figure("pool", pool.display().to_string());
    r.figure("users_ready", creds.len());
    r.figure(
        "seconds",
        super::measure::round3(t0.elapsed().as_secs_f64()),
    );
    r.check(
        "pool_complete",
        creds.len() == users,
        format!("{} users", creds.len()),
    );
    Ok(r)
}

fn server_bin(common: &Common) -> anyhow::Result<PathBuf> {
    if let Some(b) = &common.server_bin {
        return Ok(b.clone());
    }
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .context("the load generator's folder")?
        .join("townhall");
    if !bin.exists() {
        bail!(
            "{} not found: build it (`cargo build --release -p townhall-server`) or pass --server-bin",
            bin.display()
        );
    }
    Ok(bin)
}

/// `target/bench-pool` for a binary in `target/release`.
fn default_pool(bin: &Path) -> PathBuf {
    bin.parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("bench-pool"), |t| t.join("bench-pool"))
}

/// The first `n` users of the pool, adding users to it first if it has
/// fewer; and the admin's token.
async fn ensure_pool(
    dir: &Path,
    bin: &Path,
    n: usize,
    http: &reqwest::Client,
) -> anyhow::Result<(Vec<Cred>, String)> {
    let users_file = dir.join("users.tsv");
    let admin_file = dir.join("admin.token");
    let mut creds = read_users(&users_file);
    let admin = std::fs::read_to_string(&admin_file)
        .ok()
        .map(|s| s.trim().to_owned());
    if let (true, Some(admin)) = (creds.len() >= n, &admin) {
        creds.truncate(n);
        return Ok((creds, admin.clone()));
    }
    std::fs::create_dir_all(dir)?;
    eprintln!(
        "pool {}: has {} users, making {} more (argon2 on the server: about 40 ms of CPU each)",
        dir.display(),
        creds.len(),
        n - creds.len().min(n)
    );
    let started = Server::start(
        bin,
        &dir.join("data"),
        None,
        POOL_ADMIN_PASSWORD,
        &["--session-hours".to_owned(), "720".to_owned()],
    )
    .await?;
    let base = format!("http://{}", started.addr);
    let result = async {
        let admin = match admin {
            Some(a) => a,
            None => {
                let token = login(http, &base, "admin", POOL_ADMIN_PASSWORD)
                    .await?
                    .token;
                std::fs::write(&admin_file, &token)?;
                token
            }
        };
        let t0 = Instant::now();
        while creds.len() < n {
            let from = creds.len();
            let to = (from + 500).min(n);
            let made = provision(http, &base, &admin, "load", from..to).await?;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&users_file)?;
            for c in &made {
                writeln!(f, "{}\t{}", c.username, c.token)?;
            }
            creds.extend(made);
            eprintln!(
                "pool: {} users ({:.0} s)",
                creds.len(),
                t0.elapsed().as_secs_f64()
            );
        }
        anyhow::Ok(admin)
    }
    .await;
    started.stop().await?;
    let admin = result?;
    creds.truncate(n);
    Ok((creds, admin))
}

fn read_users(path: &Path) -> Vec<Cred> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (u, t) = l.split_once('\t')?;
            Some(Cred {
                username: u.to_owned(),
                token: t.to_owned(),
            })
        })
        .collect()
}

fn password_of(username: &str) -> String {
    format!("{username}-password")
}

/// Create users `prefix{i:05}` for `range` (an existing one is fine) and log
/// each in; in index order.
async fn provision(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    prefix: &str,
    range: std::ops::Range<usize>,
) -> anyhow::Result<Vec<Cred>> {
    provision_with(http, base, admin, prefix, range, PROVISION_CONCURRENCY).await
}

async fn provision_with(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    prefix: &str,
    range: std::ops::Range<usize>,
    concurrency: usize,
) -> anyhow::Result<Vec<Cred>> {
    let limit = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for i in range.clone() {
        let (http, base, admin, limit) = (
            http.clone(),
            base.to_owned(),
            admin.to_owned(),
            limit.clone(),
        );
        let username = format!("{prefix}{i:05}");
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let password = password_of(&username);
            let resp = http
                .post(format!("{base}/api/admin/users"))
                .bearer_auth(&admin)
                .json(&serde_json::json!({"username": username, "password": password}))
                .send()
                .await?;
            let status = resp.status().as_u16();
            if status != 201 && status != 409 {
                bail!(
                    "creating {username}: {status} {}",
                    resp.text().await.unwrap_or_default()
                );
            }
            let token = login(&http, &base, &username, &password).await?.token;
            anyhow::Ok((i, Cred { username, token }))
        });
    }
    let mut out: Vec<(usize, Cred)> = Vec::with_capacity(range.len());
    while let Some(r) = tasks.join_next().await {
        out.push(r??);
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<LoginResponse> {
    // A login refused for rate (429) is retried after a pause.
    for _ in 0..20 {
        let resp = http
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await?;
        match resp.status().as_u16() {
            200 => return Ok(resp.json().await?),
            429 => tokio::time::sleep(Duration::from_secs(2)).await,
            s => bail!(
                "login of {username}: {s} {}",
                resp.text().await.unwrap_or_default()
            ),
        }
    }
    bail!("login of {username}: still rate-limited after 20 tries")
}
