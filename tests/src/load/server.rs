//! The server under test: start the real binary (optionally pinned with
//! `taskset`), stop it, and read its figures from `/proc` and `perf`.

use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
pub use townhall_tests::dir_bytes;

/// How long the server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A townhall process this tool started.
pub struct Server {
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
}

impl Server {
    /// Start `bin serve` on 127.0.0.1 (any free port) with `data`,
    /// pinned to `cpus` when given; stderr goes to `data.log`.
    pub async fn start(
        bin: &Path,
        data: &Path,
        cpus: Option<&str>,
        admin_password: &str,
        extra: &[String],
    ) -> anyhow::Result<Server> {
        let log_path = data.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut cmd = match cpus {
            // taskset execs the program, so the child's pid is the server's.
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpus).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.arg("serve")
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--data")
            .arg(data)
            .args(extra)
            .env("TOWNHALL_ADMIN_PASSWORD", admin_password)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("listening on http://") {
                    return Ok(rest.parse::<SocketAddr>()?);
                }
            }
            bail!(
                "the server exited before listening; see {}",
                log_path.display()
            )
        })
        .await
        .context("the server did not start in time")??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { addr, pid, child })
    }

    /// SIGTERM, then wait for the exit (the server flushes its store).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                status?;
                Ok(())
            }
            Err(_) => {
                let _ = self.child.kill().await;
                bail!("the server did not stop within 30 s of SIGTERM")
            }
        }
    }
}

/// Resident set size of a process, bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// User + system CPU time of a process (all its threads), seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at
    // field 3; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// CPU time of a process over an interval, as a fraction of one core.
pub struct CpuMeter {
    pid: Option<u32>,
    cpu: Option<f64>,
    at: Instant,
}

impl CpuMeter {
    pub fn start(pid: Option<u32>) -> CpuMeter {
        CpuMeter {
            pid,
            cpu: pid.and_then(cpu_secs),
            at: Instant::now(),
        }
    }
    /// (CPU seconds used, cores busy on average) since `start`.
    pub fn stop(&self) -> Option<(f64, f64)> {
        let used = cpu_secs(self.pid?)? - self.cpu?;
        let wall = self.at.elapsed().as_secs_f64();
        Some((used, used / wall))
    }
}

/// CPU time of several processes together over an interval.
pub struct GroupCpuMeter {
    meters: Vec<CpuMeter>,
}

impl GroupCpuMeter {
    pub fn start(pids: &[u32]) -> GroupCpuMeter {
        GroupCpuMeter {
            meters: pids.iter().map(|p| CpuMeter::start(Some(*p))).collect(),
        }
    }
    /// Cores busy on average, all the processes together.
    pub fn stop(&self) -> Option<f64> {
        let each: Option<Vec<f64>> = self.meters.iter().map(|m| m.stop().map(|c| c.1)).collect();
        each.filter(|e| !e.is_empty()).map(|e| e.iter().sum())
    }
}

/// Counts system calls of a process with `perf stat` on the syscall
/// tracepoints (works without hardware counters, which this machine's
/// virtual CPUs lack). `None` when perf is missing or not permitted.
pub struct SyscallCounter {
    child: std::process::Child,
    out: PathBuf,
    started: Instant,
}

/// The tracepoints of the calls that make data durable.
pub const FSYNC_CALLS: &[&str] = &["fdatasync", "fsync"];

/// The tracepoints of the calls that write to sockets.
pub const WRITE_CALLS: &[&str] = &["write", "writev", "sendto", "sendmsg"];

impl SyscallCounter {
    pub fn start(pid: Option<u32>, calls: &[&str], out: PathBuf) -> Option<SyscallCounter> {
        Self::start_pids(&[pid?], calls, out)
    }

    /// The same over several processes together (`perf stat -p A,B,C`).
    pub fn start_pids(pids: &[u32], calls: &[&str], out: PathBuf) -> Option<SyscallCounter> {
        if pids.is_empty() {
            return None;
        }
        let pid = pids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let events: Vec<String> = calls
            .iter()
            .map(|c| format!("syscalls:sys_enter_{c}"))
            .collect();
        let child = std::process::Command::new("perf")
            .args(["stat", "-x", ",", "-e"])
            .arg(events.join(","))
            .arg("-p")
            .arg(pid)
            .arg("-o")
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(SyscallCounter {
            child,
            out,
            started: Instant::now(),
        })
    }

    /// Stop counting: (calls of all the kinds together, seconds counted).
    pub fn stop(mut self) -> Option<(u64, f64)> {
        let secs = self.started.elapsed().as_secs_f64();
        let _ = std::process::Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    return None;
                }
            }
        }
        let text = std::fs::read_to_string(&self.out).ok()?;
        let _ = std::fs::remove_file(&self.out);
        let mut total = 0u64;
        let mut seen = false;
        for line in text.lines().filter(|l| l.contains("syscalls:sys_enter_")) {
            let count = line.split(',').next()?.trim();
            total += count.parse::<u64>().ok()?;
            seen = true;
        }
        seen.then_some((total, secs))
    }
}

/// Copy a folder tree (the pool's prepared sled folder).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Counters of the server's `/metrics` page, if it has one.
pub async fn metrics(http: &reqwest::Client, base: &str) -> Option<Vec<(String, f64)>> {
    let resp = http.get(format!("{base}/metrics")).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let text = resp.text().await.ok()?;
    if !text.contains("# TYPE") {
        return None;
    }
    Some(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect(),
    )
}

pub fn metric(m: &Option<Vec<(String, f64)>>, name: &str) -> Option<f64> {
    m.as_ref()?.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}
