//! The example client of docs/writing-a-client.md (docs/examples/client.py,
//! Python with `websockets`) runs against the real server: the walkthrough
//! a client writer follows keeps working (issue 16).
//!
//! Its Python comes from `scripts/setup.sh` (a venv under target/ with a
//! pinned `websockets`), or from `$TOWNHALL_PYTHON`.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;
use townhall_tests::TestServer;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TOWNHALL_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/py-client/bin/python");
    assert!(
        venv.exists(),
        "{} not found: run scripts/setup.sh (it makes the venv with websockets) or set TOWNHALL_PYTHON",
        venv.display()
    );
    venv
}

async fn run_example(server: &TestServer, state: &std::path::Path) -> Output {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/client.py");
    let run = tokio::process::Command::new(python())
        .arg(script)
        .arg("--server")
        .arg(format!("http://{}", server.addr))
        .args(["--username", "pat", "--password", "pat-password"])
        .arg("--state")
        .arg(state)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the example client took over a minute")
        .expect("run the example client")
}

#[tokio::test]
async fn the_python_example_client_connects_sends_once_and_resumes() {
    let server = TestServer::start().await;
    server.user("pat").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("pat.json");
    // Twice with the same state file: the second run resumes from the
    // position the first one stored.
    for run in 1..=2 {
        let out = run_example(&server, &state).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "run {run} failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        assert!(stdout.contains("duplicate, nothing new stored"), "{stdout}");
        assert!(stdout.contains("with no event twice"), "{stdout}");
    }
}
