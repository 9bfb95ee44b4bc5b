//! The TOML config file: `townhall serve --config FILE` takes its settings
//! (a flag or environment variable still wins), and `townhall config
//! check` validates one and prints the effective settings, secrets masked.

use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use townhall_tests::{ADMIN_PASSWORD, WAIT, binary};

/// The binary with no TOWNHALL_* from the test's own environment.
fn townhall() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(binary());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TOWNHALL_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "warn").kill_on_drop(true);
    cmd
}

/// `townhall config check ARGS`: (exit code, stdout, stderr).
async fn check(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = townhall();
    cmd.args(["config", "check"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(WAIT, cmd.output())
        .await
        .expect("config check did not finish")
        .expect("run config check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Serve with `args` and return the address it says it listens on.
async fn listening_address(args: &[&str]) -> (tokio::process::Child, String) {
    let mut cmd = townhall();
    cmd.arg("serve")
        .args(args)
        .env("TOWNHALL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn townhall");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(addr) = line.strip_prefix("listening on http://") {
                return addr.to_owned();
            }
        }
        panic!("townhall exited before listening");
    })
    .await
    .expect("townhall did not start in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn the_server_listens_where_the_file_says_unless_a_flag_says_otherwise() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let data = dir.path().join("data");
    let file = write(
        dir.path(),
        "townhall.toml",
        &format!(
            "bind = \"127.0.0.1:{port}\"\ndata = {:?}\ncache_mb = 16\n",
            data.to_string_lossy()
        ),
    );
    let (mut child, addr) = listening_address(&["--config", &file]).await;
    assert_eq!(addr, format!("127.0.0.1:{port}"), "the bind from the file");
    assert!(data.join("db").exists(), "the data folder from the file");
    // It serves: the admin logs in.
    let login = reqwest::Client::new()
        .post(format!("http://{addr}/api/login"))
        .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert!(login.status().is_success(), "login: {}", login.status());
    let _ = child.kill().await;
    let _ = child.wait().await;

    // A flag wins over the file (port 0: any free port, not the file's).
    let (mut child, addr) = listening_address(&["--config", &file, "--bind", "127.0.0.1:0"]).await;
    assert_ne!(addr, format!("127.0.0.1:{port}"), "the flag's bind");
    let _ = child.kill().await;
    let _ = child.wait().await;
}

#[tokio::test]
async fn the_config_file_can_come_from_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let file = write(
        dir.path(),
        "t.toml",
        &format!(
            "bind = \"127.0.0.1:{port}\"\ndata = {:?}\n",
            dir.path().join("data").to_string_lossy()
        ),
    );
    let mut cmd = townhall();
    cmd.env("TOWNHALL_CONFIG", &file)
        .env("TOWNHALL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped());
    // No subcommand at all: `townhall` alone serves, with the file too.
    let mut child = cmd.spawn().expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("did not start")
        .expect("read")
        .expect("a line");
    assert!(
        line.starts_with("first start") || line.contains(&port.to_string()),
        "{line}"
    );
    let addr = loop {
        let l = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("did not listen")
            .expect("read")
            .expect("a line");
        if let Some(a) = l.strip_prefix("listening on http://") {
            break a.to_owned();
        }
    };
    assert_eq!(addr, format!("127.0.0.1:{port}"));
    let _ = child.kill().await;
}

#[tokio::test]
async fn config_check_shows_where_each_setting_comes_from() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "t.toml",
        "cache_mb = 5\nmin_free_mb = 6\nsession_hours = 2.5\nallowed_origins = [\"https://a.example\"]\n",
    );
    let (code, out, err) = check(
        &["--config", &file, "--cache-mb", "9"],
        &[("TOWNHALL_MIN_FREE_MB", "7")],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    for line in [
        "cache_mb = 9  # flag",
        "min_free_mb = 7  # environment TOWNHALL_MIN_FREE_MB",
        "session_hours = 2.5  # file",
        "allowed_origins = [\"https://a.example\"]  # file",
        "ping_secs = 30  # default",
        "bind = \"127.0.0.1:8080\"  # default",
    ] {
        assert!(out.lines().any(|l| l == line), "no `{line}` in:\n{out}");
    }
}

#[tokio::test]
async fn config_check_refuses_a_bad_file_naming_the_key_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "bad.toml",
        "bind = \"127.0.0.1:8080\"\n# a comment\ncahce_mb = 64\nping_secs = \"often\"\n",
    );
    let (code, out, err) = check(&["--config", &file], &[]).await;
    assert_ne!(code, 0, "a bad file passed:\n{out}");
    assert!(err.contains("bad.toml:3: `cahce_mb`: unknown key"), "{err}");
    assert!(
        err.contains("bad.toml:4: `ping_secs`: must be an integer, not string"),
        "{err}"
    );
    // `serve` refuses it the same way, before starting.
    let out = tokio::time::timeout(
        WAIT,
        townhall()
            .args(["serve", "--config", &file, "--bind", "127.0.0.1:0"])
            .output(),
    )
    .await
    .expect("serve did not finish")
    .expect("run serve");
    assert!(!out.status.success(), "serve started on a bad file");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`cahce_mb`: unknown key"), "{err}");
    // A syntax error names its line too.
    let broken = write(
        dir.path(),
        "broken.toml",
        "bind = \"127.0.0.1:8080\"\ncache_mb = \n",
    );
    let (code, _, err) = check(&["--config", &broken], &[]).await;
    assert_ne!(code, 0);
    assert!(err.contains("line 2"), "{err}");
    // A missing file is an error, not an empty config.
    let (code, _, err) = check(&["--config", "/nonexistent/townhall.toml"], &[]).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("cannot read /nonexistent/townhall.toml"),
        "{err}"
    );
}

#[tokio::test]
async fn config_check_masks_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "t.toml",
        "admin_password = \"file-secret-123\"\n",
    );
    let (code, out, err) = check(
        &["--config", &file],
        &[
            ("TOWNHALL_LDAP_BIND_PASSWORD", "ldap-secret-456"),
            ("TOWNHALL_OIDC_CLIENT_SECRET", "oidc-secret-789"),
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    for secret in ["file-secret-123", "ldap-secret-456", "oidc-secret-789"] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} shown:\n{out}{err}"
        );
    }
    assert!(
        out.contains("admin_password = \"********\"  # file"),
        "{out}"
    );
    assert!(
        out.contains("# environment TOWNHALL_LDAP_BIND_PASSWORD: set (masked)"),
        "{out}"
    );
    assert!(
        out.contains("# environment TOWNHALL_OIDC_CLIENT_SECRET: set (masked)"),
        "{out}"
    );
    // From the environment it is masked too.
    let (_, out, _) = check(&[], &[("TOWNHALL_ADMIN_PASSWORD", "env-secret-000")]).await;
    assert!(!out.contains("env-secret-000"), "{out}");
    assert!(
        out.contains("admin_password = \"********\"  # environment TOWNHALL_ADMIN_PASSWORD"),
        "{out}"
    );
}

/// docs/examples/townhall.toml stays valid: as shipped, and with every
/// commented-out `# key = value` example line switched on.
#[tokio::test]
async fn the_example_config_file_passes_config_check() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/townhall.toml");
    let text = std::fs::read_to_string(&example).expect("read the example");
    let (code, out, err) = check(&["--config", &example.to_string_lossy()], &[]).await;
    assert_eq!(code, 0, "the example fails config check:\n{err}");
    assert!(out.contains("log_format = \"json\"  # file"), "{out}");

    let all_on: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                }) =>
            {
                rest.to_owned()
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        all_on.contains("\nldap_url = "),
        "no example lines switched on"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "all.toml", &all_on);
    let (code, out, err) = check(&["--config", &file], &[]).await;
    assert_eq!(
        code, 0,
        "the example's commented lines fail config check:\n{err}"
    );
    assert!(
        out.contains("ldap_url = \"ldaps://ldap.example.com\"  # file"),
        "{out}"
    );
}
