//! The `townhall` binary: `serve` (the default) and `user …` administration.

use anyhow::{Context, bail};
use clap::{ArgMatches, Command, CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;
use townhall_protocol::Role;
use townhall_server::committer::now_millis;
use townhall_server::config::{Config, LogFormat};
use townhall_server::config_file::ConfigFile;
use townhall_server::store::{self, Batch, Store};

#[derive(Parser)]
#[command(
    name = "townhall",
    version,
    about = "Townhall: a two-way chat hub for companies in change"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Parser)]
struct ServeDefaults {
    #[command(flatten)]
    config: Config,
}

// Parsed once at start: the size of the biggest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Run the server (the default).
    Serve(Config),
    /// Manage users in a data folder (the server must not be running on it).
    User {
        /// Data folder.
        #[arg(long, env = "TOWNHALL_DATA", default_value = "./data", global = true)]
        data: PathBuf,
        #[command(subcommand)]
        action: UserCmd,
    },
    /// Back up a running server without stopping it: fetch its snapshot
    /// (one consistent position), check its checksum, and write it
    /// gzip-compressed to FILE (through FILE.tmp, renamed once complete).
    /// An admin's session token (`POST /api/login`) comes from
    /// TOWNHALL_ADMIN_TOKEN, never a flag: command lines show in `ps`.
    Backup {
        /// The server, as http://HOST:PORT.
        #[arg(long)]
        from: String,
        /// The backup file to write.
        #[arg(long)]
        to: PathBuf,
    },
    /// Make a data folder from a snapshot: a `townhall backup` file
    /// (gzip) or a plain `GET /api/admin/snapshot` body. A cluster node
    /// started on it applies the log from the entry after the snapshot's.
    Restore {
        /// The snapshot or backup file.
        file: PathBuf,
        /// The data folder to make (must not exist, or be empty).
        #[arg(long, env = "TOWNHALL_DATA")]
        data: PathBuf,
    },
    /// Rebuild the message search index (`DATA/search/`) from the store.
    /// The server must not be running on the folder. A server also
    /// rebuilds it by itself at start when it is missing or from another
    /// version; this is for doing it on purpose (e.g. after a restore).
    Reindex {
        /// Data folder.
        #[arg(long, env = "TOWNHALL_DATA", default_value = "./data")]
        data: PathBuf,
    },
    /// The config file (`--config FILE` or TOWNHALL_CONFIG).
    Config {
        #[command(subcommand)]
        action: ConfigCmd,
    },
    /// Cluster mode: make the JetStream stream that holds the log (once per
    /// cluster), or check the one there.
    Cluster {
        #[command(subcommand)]
        action: ClusterCmd,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Check the config file (unknown keys, wrong types and bad values are
    /// errors naming the key and its line) and print the settings `serve`
    /// would run with (flag > environment > file > default), secrets
    /// masked. Takes the same flags as `serve`.
    Check(Config),
}

#[derive(Subcommand)]
enum ClusterCmd {
    /// Make the log's stream with the expected settings; if it exists,
    /// check it.
    Init(townhall_server::config::ClusterConfig),
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user; prints a generated password unless one is given.
    Add {
        username: String,
        #[arg(long, default_value = "staff")]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, env = "TOWNHALL_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List users.
    List,
    /// Change a user's role (admin, leader, staff).
    SetRole { username: String, role: String },
    /// Disable a user and end their sessions.
    Disable { username: String },
    /// Set a new password (printed when generated) and end their sessions.
    ResetPassword {
        username: String,
        #[arg(long, env = "TOWNHALL_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    // First pass: as if there were no config file, which also finds it.
    let cli = Cli::parse();
    match cli.command {
        // No subcommand: serve with flags' defaults and the environment.
        None => match std::env::var_os("TOWNHALL_CONFIG").filter(|p| !p.is_empty()) {
            None => serve(ServeDefaults::parse_from(["townhall"]).config),
            Some(path) => {
                let parsed =
                    with_file::<ServeDefaults>(Path::new(&path), &[], vec!["townhall".into()])?;
                serve(parsed.cli.config)
            }
        },
        Some(Cmd::Serve(config)) => match &config.config_file {
            None => serve(config),
            Some(path) => match with_file::<Cli>(path, &["serve"], std::env::args_os().collect())?
                .cli
                .command
            {
                Some(Cmd::Serve(config)) => serve(config),
                _ => bail!("the command line changed meaning with the config file"),
            },
        },
        Some(Cmd::Config {
            action: ConfigCmd::Check(config),
        }) => config_check(config.config_file.as_deref()),
        Some(Cmd::User { data, action }) => user(&data, action),
        Some(Cmd::Backup { from, to }) => backup(&from, &to),
        Some(Cmd::Restore { file, data }) => restore(&file, &data),
        Some(Cmd::Reindex { data }) => reindex(&data),
        Some(Cmd::Cluster {
            action: ClusterCmd::Init(cfg),
        }) => cluster_init(&cfg),
    }
}

/// The command line parsed again with a config file's values as the
/// defaults of the flags of the subcommand at `sub_path` (flag and
/// environment still win), with that subcommand's definition and matches
/// (for `config check`).
struct WithFile<C> {
    cli: C,
    leaf: Command,
    matches: ArgMatches,
    file: ConfigFile,
}

fn with_file<C: Parser>(
    path: &Path,
    sub_path: &[&str],
    args: Vec<OsString>,
) -> anyhow::Result<WithFile<C>> {
    fn at<'a>(cmd: &'a Command, path: &[&str]) -> Option<&'a Command> {
        match path.split_first() {
            None => Some(cmd),
            Some((first, rest)) => at(cmd.find_subcommand(first)?, rest),
        }
    }
    fn apply(cmd: Command, path: &[&str], file: &ConfigFile) -> Command {
        match path.split_first() {
            None => file.apply(cmd),
            Some((first, rest)) => cmd.mut_subcommand(*first, |sc| apply(sc, rest, file)),
        }
    }
    let mut plain = C::command();
    plain.build();
    let leaf = at(&plain, sub_path).context("no such subcommand")?;
    let file = ConfigFile::load(path, leaf).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut cmd = apply(C::command(), sub_path, &file);
    cmd.build();
    let matches = cmd.clone().get_matches_from(args);
    let cli = C::from_arg_matches(&matches).map_err(|e| e.exit())?;
    let mut leaf_matches = &matches;
    for name in sub_path {
        leaf_matches = leaf_matches
            .subcommand_matches(name)
            .context("no such subcommand")?;
    }
    Ok(WithFile {
        cli,
        // The plain definition: `mut_arg` moves an arg to the end, and
        // `config check` should list the settings in `--help`'s order.
        leaf: leaf.clone(),
        matches: leaf_matches.clone(),
        file,
    })
}

/// `townhall config check`.
fn config_check(path: Option<&Path>) -> anyhow::Result<()> {
    const SUB: [&str; 2] = ["config", "check"];
    let text = match path {
        Some(path) => {
            let parsed = with_file::<Cli>(path, &SUB, std::env::args_os().collect())?;
            townhall_server::config_file::effective(
                &parsed.leaf,
                &parsed.matches,
                Some(&parsed.file),
            )
        }
        None => {
            let mut cmd = Cli::command();
            cmd.build();
            let matches = cmd.clone().get_matches();
            let leaf = cmd
                .find_subcommand("config")
                .and_then(|c| c.find_subcommand("check"))
                .context("no such subcommand")?;
            let leaf_matches = matches
                .subcommand_matches("config")
                .and_then(|m| m.subcommand_matches("check"))
                .context("no such subcommand")?;
            townhall_server::config_file::effective(leaf, leaf_matches, None)
        }
    };
    print!("{text}");
    Ok(())
}

fn reindex(data: &std::path::Path) -> anyhow::Result<()> {
    if !data.join("db").exists() {
        bail!("{} holds no Townhall data", data.display());
    }
    let started = std::time::Instant::now();
    // Opening the store first also refuses a folder a running server holds
    // (sled locks it), before the index folder is touched.
    let store = Store::open_sled(data, 64 * 1024 * 1024)
        .with_context(|| format!("opening {} (is a server running on it?)", data.display()))?;
    store.init()?;
    let docs =
        townhall_server::search::rebuild(data, &store).context("rebuilding the search index")?;
    println!(
        "reindexed {docs} messages into {} in {:.1} s",
        townhall_server::search::index_dir(data).display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn serve(config: Config) -> anyhow::Result<()> {
    init_logs(config.log_format);
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    // The connections' writers on threads of their own (see
    // `townhall_server::writer::use_runtime`), as many as the runtime's.
    let writers = tokio::runtime::Builder::new_multi_thread()
        .thread_name("townhall-writer")
        .enable_all()
        .build()
        .context("starting the writers' runtime")?;
    townhall_server::writer::use_runtime(writers.handle().clone());
    let served = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(signals(shutdown.clone()));
        townhall_server::run(config, shutdown)
            .await
            .context("townhall")
    });
    // `run` has drained the sessions (each waited for its writer's goodbye,
    // up to its drain timeout); writers still running after it are dropped
    // here, while the main runtime, whose I/O driver their sockets are
    // registered with, is still alive. Only backlog reads already running
    // are waited for (bounded store reads).
    drop(writers);
    served
}

/// Logs on stderr, in the `--log-format`; `RUST_LOG` picks the lines
/// (default `info`, which never carries message bodies, tokens or
/// passwords: see docs/operations.md, "Logs").
fn init_logs(format: LogFormat) {
    townhall_server::console::set_format(format);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(log_colour()).init(),
        // Fields at the top level (not under `fields`): what Loki, Elastic
        // and Vector expect of a flat JSON line; never colour codes.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_ansi(false)
            .init(),
    }
}

/// Colour in the logs only when they go to a terminal: redirected to a
/// file or a collector, escape codes are noise in every line.
/// `TOWNHALL_LOG_COLOR=always|never` overrides that guess, and `NO_COLOR`
/// (no-color.org) turns it off.
fn log_colour() -> bool {
    use std::io::IsTerminal as _;
    match std::env::var("TOWNHALL_LOG_COLOR").as_deref() {
        Ok("always") => true,
        Ok("never") => false,
        _ => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

async fn signals(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
    shutdown.cancel();
}

fn backup(from: &str, to: &std::path::Path) -> anyhow::Result<()> {
    let token = std::env::var("TOWNHALL_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .context("set TOWNHALL_ADMIN_TOKEN to an admin's session token")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let started = std::time::Instant::now();
    let info = runtime
        .block_on(townhall_server::backup::backup(from, &token, to))
        .with_context(|| format!("backing up {from} to {}", to.display()))?;
    println!(
        "backed up position {} (log entry {}) to {}: {} bytes, {} compressed, in {:.1} s",
        info.pos,
        info.log_seq,
        to.display(),
        info.snapshot_bytes,
        info.file_bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn restore(file: &std::path::Path, data: &std::path::Path) -> anyhow::Result<()> {
    if data.exists()
        && std::fs::read_dir(data)
            .with_context(|| format!("reading {}", data.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} exists and is not empty: restore into a new folder",
            data.display()
        );
    }
    let mut input = townhall_server::backup::open_snapshot(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let restored = (|| -> anyhow::Result<store::SnapshotInfo> {
        let store = Store::open_sled(data, 64 * 1024 * 1024)?;
        let mut on_file = |kind, hash: &str, _len, bytes: &mut dyn std::io::Read| {
            townhall_server::backup::restore_file(data, kind, hash, bytes)
                .map_err(|e| store::StoreError::Backend(format!("restoring file {hash}: {e}")))
        };
        let info = store.import(&mut input, &mut on_file)?;
        // A gzip file is checked (its CRC) only once read to its end.
        std::io::copy(&mut input, &mut std::io::sink()).context("reading the file's end")?;
        drop(store);
        // The store synced its files; the folders naming them must be
        // durable too (the data folder's own entry in its parent).
        townhall_server::backup::sync_dir(data).context("syncing the data folder")?;
        if let Some(parent) = data.parent().filter(|p| !p.as_os_str().is_empty()) {
            townhall_server::backup::sync_dir(parent).context("syncing its parent folder")?;
        }
        Ok(info)
    })();
    match restored {
        Ok(info) => {
            println!(
                "restored {} pairs and {} files into {} (position {}, log entry {})",
                info.pairs,
                info.files,
                data.display(),
                info.pos,
                info.log_seq
            );
            Ok(())
        }
        Err(e) => {
            // Half a store is worse than none.
            let _ = std::fs::remove_dir_all(data);
            Err(e.context(format!("restoring {}", file.display())))
        }
    }
}

fn cluster_init(cfg: &townhall_server::config::ClusterConfig) -> anyhow::Result<()> {
    if !cfg.enabled() {
        bail!("give the NATS servers with --cluster nats://HOST:PORT,...");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let done = runtime
        .block_on(townhall_server::cluster::init(cfg))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{done}");
    Ok(())
}

fn parse_role(s: &str) -> anyhow::Result<Role> {
    Role::parse(s).with_context(|| format!("unknown role `{s}` (admin, leader or staff)"))
}

fn user(data: &std::path::Path, action: UserCmd) -> anyhow::Result<()> {
    let store = Store::open_sled(data, 16 * 1024 * 1024).with_context(|| {
        format!(
            "opening {} (is a server running on it? stop it first)",
            data.display()
        )
    })?;
    store.init()?;
    if store.log_seq()? > 0 {
        bail!(
            "{} belongs to a cluster node: change users through the admin API (POST/PATCH /api/admin/users) so that every node applies the change",
            data.display()
        );
    }
    let find = |name: &str| -> anyhow::Result<store::UserRecord> {
        store
            .user_by_name(name)?
            .with_context(|| format!("no user `{name}`"))
    };
    let mut batch = Batch::default();
    match action {
        UserCmd::Add {
            username,
            role,
            display_name,
            password,
        } => {
            if store.user_by_name(&username)?.is_some() {
                bail!("user `{username}` exists");
            }
            let (password, generated) = password_or_random(password);
            let record = townhall_server::http::new_user_record(
                &username,
                display_name.as_deref(),
                &password,
                parse_role(&role)?,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            store::put_user(&mut batch, &record);
            println!("added {} ({})", record.username, record.role.as_str());
            if generated {
                println!("password: {password}");
            }
        }
        UserCmd::List => {
            for u in store.users()? {
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{}\t{}\t{}\t{}",
                    u.username,
                    u.role.as_str(),
                    state,
                    u.display_name
                );
            }
            return Ok(());
        }
        UserCmd::SetRole { username, role } => {
            let mut u = find(&username)?;
            u.role = parse_role(&role)?;
            store::put_user(&mut batch, &u);
            println!("{} is now {}", u.username, u.role.as_str());
        }
        UserCmd::Disable { username } => {
            let mut u = find(&username)?;
            u.disabled = true;
            u.sessions_valid_after = now_millis() + 1;
            store::put_user(&mut batch, &u);
            for hash in store.sessions_of(u.id)? {
                store::delete_session(&mut batch, &hash);
            }
            println!("{} disabled; their sessions are revoked", u.username);
        }
        UserCmd::ResetPassword { username, password } => {
            let mut u = find(&username)?;
            let (password, generated) = password_or_random(password);
            if password.chars().count() < 8 {
                bail!("a password is at least 8 characters");
            }
            u.password_hash =
                townhall_server::auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?;
            u.sessions_valid_after = now_millis() + 1;
            store::put_user(&mut batch, &u);
            for hash in store.sessions_of(u.id)? {
                store::delete_session(&mut batch, &hash);
            }
            println!(
                "password of {} changed at {}; their sessions are revoked",
                u.username,
                now_millis()
            );
            if generated {
                println!("password: {password}");
            }
        }
    }
    store.apply(&batch)?;
    store.sync()?;
    Ok(())
}

fn password_or_random(password: Option<String>) -> (String, bool) {
    match password {
        Some(p) if !p.is_empty() => (p, false),
        _ => (townhall_server::auth::random_password(), true),
    }
}
