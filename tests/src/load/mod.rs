//! # townhall-load
//!
//! A load generator for Townhall: real WebSocket clients (tokio-tungstenite
//! speaking the `townhall-protocol` frames) against the real `townhall`
//! binary on 127.0.0.1. One run = one workload = one line of JSON on stdout;
//! progress goes to stderr.
//!
//! Every run is bounded: a warm-up (`--warmup`, discarded), a measured
//! window (`--duration`), a cap on messages, and a timeout on every wait.
//! Latency is measured with one clock: the sender writes the wall-clock time
//! in microseconds into the message body (or the `req_id` for acks), the
//! receiver subtracts it from its own reading of the same clock (same
//! machine, so no skew).
//!
//! ## Layout
//! - this file: the command line and the dispatch to a workload.
//! - [`server`]: the server under test: start (pinned with `taskset`),
//!   stop, its RSS and CPU time from `/proc`, fsyncs counted with `perf`.
//! - [`pool`]: a cache of users and their tokens in a prepared data folder
//!   (argon2 makes each user cost ~40 ms of server CPU; the pool pays it once).
//! - [`conn`]: a lean client connection: connect, `hello`, requests, backlog.
//! - [`measure`]: the clock, stamped bodies, HDR histograms, the shared
//!   tally of deliveries (exactly-once check, last-recipient latency).
//! - [`workloads`]: one file per workload.
//! - [`pool`] also starts a cluster (`--cluster-nodes`): 3 nats-servers
//!   (`townhall_tests::nats::NatsCluster`) and N townhall nodes on one log.
//! - [`peers`]: the same fan-out and offline-queue workloads against
//!   mosquitto (MQTT, through rumqttc), and fan-out against NATS core
//!   (a minimal client of its text protocol), for the side-by-side.

pub mod conn;
pub mod measure;
pub mod peers;
pub mod pool;
pub mod server;
pub mod workloads;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "townhall-load",
    about = "Load generator for Townhall: runs one workload, prints one line of JSON"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub workload: Workload,
}

#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Use a running server (e.g. http://127.0.0.1:8080) instead of starting
    /// one; users are then created through the admin API for this run.
    #[arg(long, global = true)]
    pub url: Option<String>,

    /// The admin password of the `--url` server.
    #[arg(
        long,
        env = "TOWNHALL_ADMIN_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub admin_password: Option<String>,

    /// The pid of the `--url` server, for its RSS and CPU figures.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,

    /// The townhall binary to start (default: next to this one).
    #[arg(long, global = true)]
    pub server_bin: Option<PathBuf>,

    /// CPUs the started server is pinned to (`taskset -c`), e.g. `0`.
    #[arg(long, global = true)]
    pub server_cpus: Option<String>,

    /// Extra argument for the started server (repeatable), e.g.
    /// `--server-arg=--outbox-frames=8192`.
    #[arg(long, global = true, allow_hyphen_values = true)]
    pub server_arg: Vec<String>,

    /// Folder caching prepared users and tokens (default: target/bench-pool).
    #[arg(long, global = true)]
    pub pool: Option<PathBuf>,

    /// Seconds of traffic before the measured window (discarded).
    #[arg(long, global = true, default_value_t = 2.0)]
    pub warmup: f64,

    /// Seconds of the measured window.
    #[arg(long, global = true, default_value_t = 10.0)]
    pub duration: f64,

    /// A label copied into the JSON line (e.g. `1k-saturated`).
    #[arg(long, global = true)]
    pub label: Option<String>,

    /// Cluster mode (issue 11): start 3 real nats-servers (loopback,
    /// `sync_interval: always`, file storage in a temporary folder), make
    /// the log's stream (`townhall cluster init`), start this many townhall
    /// nodes on it, create the users through the first node's admin API,
    /// and spread the workload's connections over the nodes round-robin.
    /// 0 = one embedded node on a copy of the pool (the default). Durable,
    /// fan-out and catch-up workloads only.
    #[arg(long, global = true, default_value_t = 0)]
    pub cluster_nodes: usize,

    /// Cluster mode: connect only to the first K nodes (e.g. 1 = every
    /// connection through one node while the others only apply the log).
    #[arg(long, global = true)]
    pub cluster_spread: Option<usize>,

    /// Exit with an error if a correctness check fails (lost or duplicated
    /// messages, failed connections): what `bench.sh --smoke` relies on.
    #[arg(long, global = true)]
    pub strict: bool,
}

#[derive(Subcommand, Debug)]
pub enum Workload {
    /// N authenticated connections held open: RSS per connection, time to
    /// connect all, server CPU while only pings flow.
    Idle(workloads::idle::IdleArgs),
    /// One room of M online members; senders at a fixed rate, or saturated
    /// (a window of messages not yet received by every member).
    Fanout(workloads::fanout::FanoutArgs),
    /// Many rooms of a few members, everyone sending periodically.
    SmallRooms(workloads::small_rooms::SmallRoomsArgs),
    /// Many senders, each message acked after fsync: acks/s, ack latency,
    /// fsyncs/s.
    Durable(workloads::durable::DurableArgs),
    /// One user offline while K messages went to their rooms: time to
    /// `caught_up` and to the `summary`.
    Catchup(workloads::catchup::CatchupArgs),
    /// A big room with most members offline: ack latency, store growth per
    /// absent member, one absent member's catch-up.
    AbsentBroadcast(workloads::absent::AbsentArgs),
    /// Fan-out through an MQTT broker (mosquitto) at --mqtt.
    MqttFanout(peers::MqttFanoutArgs),
    /// Offline queue through an MQTT broker: persistent session, QoS 1.
    MqttQueue(peers::MqttQueueArgs),
    /// Fan-out through NATS core pub/sub at --nats.
    NatsFanout(peers::NatsFanoutArgs),
    /// Only make sure the pool holds this many users (and report its size).
    Pool {
        #[arg(long, default_value_t = 10_000)]
        users: usize,
    },
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(l) = measure::loadavg() {
        let _ = measure::LOADAVG_AT_START.set(l);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    workloads::check_send_shape()?;
    if cli.common.cluster_nodes > 0 {
        anyhow::ensure!(
            matches!(
                cli.workload,
                Workload::Durable(_) | Workload::Fanout(_) | Workload::Catchup(_)
            ),
            "--cluster-nodes works with the durable, fanout and catchup workloads"
        );
        anyhow::ensure!(
            cli.common.url.is_none(),
            "--cluster-nodes starts its own cluster: no --url"
        );
    }
    let line = runtime.block_on(async {
        let common = cli.common.clone();
        let server_cpus = common.server_cpus.clone();
        let figures = match cli.workload {
            Workload::Idle(a) => workloads::idle::run(&common, a).await,
            Workload::Fanout(a) => workloads::fanout::run(&common, a).await,
            Workload::SmallRooms(a) => workloads::small_rooms::run(&common, a).await,
            Workload::Durable(a) => workloads::durable::run(&common, a).await,
            Workload::Catchup(a) => workloads::catchup::run(&common, a).await,
            Workload::AbsentBroadcast(a) => workloads::absent::run(&common, a).await,
            Workload::MqttFanout(a) => peers::fanout(&common, a).await,
            Workload::MqttQueue(a) => peers::queue(&common, a).await,
            Workload::NatsFanout(a) => peers::nats_fanout(&common, a).await,
            Workload::Pool { users } => pool::prepare_only(&common, users).await,
        }?;
        let mut figures = figures;
        figures.param("server_cpus", server_cpus);
        if common.cluster_nodes > 0 {
            figures.param("cluster_nodes", common.cluster_nodes);
            figures.param(
                "cluster_spread",
                common
                    .cluster_spread
                    .unwrap_or(common.cluster_nodes)
                    .clamp(1, common.cluster_nodes),
            );
        }
        anyhow::Ok(figures)
    })?;
    let failed = line.failed_checks();
    println!("{}", line.to_json(cli.common.label.as_deref()));
    // Connections still open are dropped with the runtime; that is fine.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    if cli.common.strict && !failed.is_empty() {
        anyhow::bail!("correctness checks failed: {}", failed.join(", "));
    }
    Ok(())
}
