//! Logins with the company directory, against a real OpenLDAP `slapd`
//! (Debian's package) that each test configures and starts on loopback
//! ports with a temporary database (`scripts/slapd.sh`, data in
//! `tests/ldap/directory.ldif`), over LDAPS or StartTLS with a test CA.
//!
//! In the directory: alice (group townhall-admins → admin), bob (group
//! transformation → team flag), carol and erin (plain staff).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use townhall_protocol::{ClientFrame, ErrorCode, Role, close};
use townhall_tests::{TestServer, WAIT};

const PEOPLE: &str = "ou=people,dc=example,dc=org";
const GROUPS: &str = "ou=groups,dc=example,dc=org";

/// A running slapd with its own folder (config, certificates, database).
struct Slapd {
    dir: tempfile::TempDir,
    ldap_port: u16,
    ldaps_port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Slapd {
    async fn start() -> Slapd {
        assert!(
            Path::new("/usr/sbin/slapd").exists() && Path::new("/usr/bin/ldapmodify").exists(),
            "these tests need Debian's slapd and ldap-utils: \
             DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils \
             (scripts/test.sh installs them)"
        );
        let mut s = Slapd {
            dir: tempfile::tempdir().expect("temp dir"),
            ldap_port: free_port(),
            ldaps_port: free_port(),
            child: None,
        };
        s.run().await;
        s
    }

    /// Start slapd (again) on the same folder and ports; returns once it
    /// accepts connections.
    async fn run(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slapd.sh");
        let child = Command::new("bash")
            .arg(script)
            .arg(self.dir.path())
            .arg(self.ldap_port.to_string())
            .arg(self.ldaps_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("run scripts/slapd.sh");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT * 2;
        for port in [self.ldap_port, self.ldaps_port] {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                assert!(
                    Instant::now() < deadline,
                    "slapd did not listen on {port} in time"
                );
                if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                    panic!("slapd exited: {status}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
            let _ = c.wait().await;
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Change the directory as its administrator (`ldapmodify`).
    async fn modify(&self, ldif: &str) {
        use tokio::io::AsyncWriteExt;
        let mut child = Command::new("ldapmodify")
            .args(["-H", &format!("ldap://127.0.0.1:{}/", self.ldap_port)])
            .args([
                "-x",
                "-D",
                "cn=admin,dc=example,dc=org",
                "-w",
                "admin-secret",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapmodify");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(ldif.as_bytes()).await.expect("write ldif");
        drop(stdin);
        let out = child.wait_with_output().await.expect("ldapmodify ran");
        assert!(
            out.status.success(),
            "ldapmodify failed: {}\n{ldif}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Flags for a townhall that uses this directory over LDAPS, trusting
    /// the test CA, syncing every `sync_secs`.
    fn args(&self, sync_secs: f64) -> Vec<String> {
        let mut a = vec![
            "--ldap-url".to_owned(),
            format!("ldaps://127.0.0.1:{}", self.ldaps_port),
        ];
        a.extend(self.common_args(sync_secs, "ca.pem"));
        a
    }

    fn common_args(&self, sync_secs: f64, ca: &str) -> Vec<String> {
        let s = |v: &str| v.to_owned();
        vec![
            s("--ldap-ca-file"),
            self.file(ca).display().to_string(),
            s("--ldap-bind-dn"),
            s("cn=townhall,ou=services,dc=example,dc=org"),
            s("--ldap-bind-password-file"),
            self.file("service.password").display().to_string(),
            s("--ldap-user-base"),
            s(PEOPLE),
            s("--ldap-group-base"),
            s(GROUPS),
            s("--ldap-role-group"),
            format!("admin=cn=townhall-admins,{GROUPS}"),
            s("--ldap-role-group"),
            format!("leader=cn=townhall-leaders,{GROUPS}"),
            s("--ldap-team-group"),
            format!("cn=transformation,{GROUPS}"),
            s("--ldap-disabled-attribute"),
            s("employeeType"),
            s("--ldap-disabled-value"),
            s("disabled"),
            s("--ldap-sync-secs"),
            sync_secs.to_string(),
            s("--ldap-timeout-secs"),
            s("3"),
        ]
    }
}

async fn start_server(args: &[String]) -> TestServer {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestServer::start_with(&args).await
}

/// POST /api/login: (HTTP status, error code or "", body).
async fn try_login(
    server: &TestServer,
    user: &str,
    password: &str,
) -> (u16, String, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(server.http("/api/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .expect("login request");
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.expect("json body");
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    (status, code, body)
}

/// The admin's view of one account: (role, disabled, transformation_team).
async fn account(server: &TestServer, username: &str) -> Option<(String, bool, bool)> {
    server.admin_user_entry(username).await.map(|u| {
        (
            u["user"]["role"].as_str().unwrap_or_default().to_owned(),
            u["disabled"] == true,
            u["transformation_team"] == true,
        )
    })
}

/// Where the admin's list says an account comes from.
async fn source(server: &TestServer, username: &str) -> String {
    server
        .admin_user_entry(username)
        .await
        .and_then(|u| u["source"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

async fn create_local_user(server: &TestServer, username: &str, password: &str) {
    let r = reqwest::Client::new()
        .post(server.http("/api/admin/users"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"username": username, "password": password, "role": "staff"}))
        .send()
        .await
        .expect("create user");
    assert_eq!(r.status().as_u16(), 201, "create {username}");
}

#[tokio::test]
async fn first_directory_login_makes_the_account_with_the_mapped_role_and_team_flag() {
    let slapd = Slapd::start().await;
    let server = start_server(&slapd.args(600.0)).await;
    assert_eq!(
        account(&server, "alice").await,
        None,
        "no account before login"
    );

    let alice = server.login("alice", "alice-directory-pw").await;
    assert_eq!(alice.user.role, Role::Admin, "townhall-admins → admin");
    assert_eq!(alice.user.display_name, "Alice Admin");
    let bob = server.login("bob", "bob-directory-pw").await;
    assert_eq!(bob.user.role, Role::Staff);
    assert_eq!(
        account(&server, "bob").await,
        Some(("staff".into(), false, true))
    );
    assert_eq!(
        account(&server, "alice").await,
        Some(("admin".into(), false, false))
    );
    assert_eq!(source(&server, "bob").await, "ldap");
    assert_eq!(source(&server, "admin").await, "local");

    // A second login finds the same account; the token works like a local
    // one: a socket, and logout closes it.
    let again = server.login("bob", "bob-directory-pw").await;
    assert_eq!(again.user.id, bob.user.id);
    let (mut socket, _, _) = server.connect_caught_up(&again.token, None, None).await;
    let r = reqwest::Client::new()
        .post(server.http("/api/logout"))
        .bearer_auth(&again.token)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(socket.expect_close().await, Some(close::LOGGED_OUT));
    // The other session (first login) still works.
    let mut first = server.connect(&bob.token).await;
    first.request(ClientFrame::Ping { req_id: None }).await;

    // A directory account has no local password: the directory's is the only one.
    let (status, code, _) = try_login(&server, "bob", "!directory").await;
    assert_eq!((status, code.as_str()), (401, "invalid_credentials"));
}

#[tokio::test]
async fn wrong_password_unknown_user_and_filter_injection_get_one_answer() {
    let slapd = Slapd::start().await;
    let server = start_server(&slapd.args(600.0)).await;
    for (user, password) in [
        ("bob", "wrong-password"),
        ("nobody", "bob-directory-pw"),
        // Unescaped, this filter would match every user and bind as the first.
        ("*)(uid=*", "bob-directory-pw"),
        ("*", "bob-directory-pw"),
        ("bo*", "bob-directory-pw"),
        // An empty password is an anonymous bind to LDAP: never a login.
        ("bob", ""),
    ] {
        let (status, code, body) = try_login(&server, user, password).await;
        assert_eq!(
            (status, code.as_str()),
            (401, "invalid_credentials"),
            "{user:?} / {password:?}: {body}"
        );
    }
    assert_eq!(account(&server, "bob").await, None);
}

#[tokio::test]
async fn starttls_works_and_a_wrong_ca_is_refused_and_plain_ldap_needs_its_flag() {
    let slapd = Slapd::start().await;
    // StartTLS on the plain port, trusting the test CA.
    let mut args = vec![
        "--ldap-url".to_owned(),
        format!("ldap://127.0.0.1:{}", slapd.ldap_port),
        "--ldap-starttls".to_owned(),
    ];
    args.extend(slapd.common_args(600.0, "ca.pem"));
    let server = start_server(&args).await;
    assert_eq!(
        server.login("bob", "bob-directory-pw").await.user.username,
        "bob"
    );
    drop(server);

    // LDAPS with a CA that did not sign the directory's certificate.
    let mut args = vec![
        "--ldap-url".to_owned(),
        format!("ldaps://127.0.0.1:{}", slapd.ldaps_port),
    ];
    args.extend(slapd.common_args(600.0, "wrong-ca.pem"));
    let server = start_server(&args).await;
    let (status, code, body) = try_login(&server, "bob", "bob-directory-pw").await;
    assert_eq!(
        (status, code.as_str()),
        (503, "directory_unavailable"),
        "{body}"
    );
    // StartTLS with the wrong CA: refused too.
    drop(server);
    let mut args = vec![
        "--ldap-url".to_owned(),
        format!("ldap://127.0.0.1:{}", slapd.ldap_port),
        "--ldap-starttls".to_owned(),
    ];
    args.extend(slapd.common_args(600.0, "wrong-ca.pem"));
    let server = start_server(&args).await;
    let (status, code, _) = try_login(&server, "bob", "bob-directory-pw").await;
    assert_eq!((status, code.as_str()), (503, "directory_unavailable"));
    drop(server);

    // Plain ldap:// without --ldap-allow-plain: the server does not start.
    let data = tempfile::tempdir().expect("temp dir");
    let mut plain = vec![
        "--ldap-url".to_owned(),
        format!("ldap://127.0.0.1:{}", slapd.ldap_port),
    ];
    plain.extend(slapd.common_args(600.0, "ca.pem"));
    let out = tokio::time::timeout(
        WAIT,
        Command::new(townhall_tests::binary())
            .args(["serve", "--bind", "127.0.0.1:0", "--data"])
            .arg(data.path().join("data"))
            .args(&plain)
            .env("TOWNHALL_ADMIN_PASSWORD", townhall_tests::ADMIN_PASSWORD)
            .output(),
    )
    .await
    .expect("townhall exits at once")
    .expect("run townhall");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started with plain LDAP: {stderr}");
    assert!(stderr.contains("--ldap-allow-plain"), "{stderr}");

    // With the explicit flag it starts and logs in.
    plain.push("--ldap-allow-plain".to_owned());
    let server = start_server(&plain).await;
    assert_eq!(
        server
            .login("carol", "carol-directory-pw")
            .await
            .user
            .username,
        "carol"
    );
}

#[tokio::test]
async fn the_sync_disables_users_disabled_or_removed_in_the_directory_and_follows_group_changes() {
    let slapd = Slapd::start().await;
    let server = start_server(&slapd.args(1.0)).await;
    let bob = server.login("bob", "bob-directory-pw").await;
    let carol = server.login("carol", "carol-directory-pw").await;
    let (mut bob_socket, _, _) = server.connect_caught_up(&bob.token, None, None).await;
    let (mut carol_socket, _, _) = server.connect_caught_up(&carol.token, None, None).await;

    slapd
        .modify(&format!(
            "dn: uid=bob,{PEOPLE}\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n"
        ))
        .await;
    // The sync runs every second; the socket closes as for an admin's disable.
    assert_eq!(bob_socket.expect_close().await, Some(close::LOGGED_OUT));
    let (status, code, _) = try_login(&server, "bob", "bob-directory-pw").await;
    assert_eq!((status, code.as_str()), (401, "invalid_credentials"));
    assert_eq!(
        account(&server, "bob").await,
        Some(("staff".into(), true, true))
    );
    // The old token is revoked.
    let mut again = townhall_tests::Client::open(&server.ws_url()).await;
    again
        .send(&ClientFrame::Hello {
            version: townhall_protocol::PROTOCOL_VERSION,
            token: bob.token.clone(),
            resume: None,
            device: None,
        })
        .await;
    again
        .expect("bad_token", |f| {
            matches!(
                f,
                townhall_protocol::ServerFrame::Error {
                    code: ErrorCode::BadToken,
                    ..
                }
            )
        })
        .await;

    // A group change reaches carol's open socket through the sync alone:
    // it closes to reconnect with her new role, and her token still works.
    slapd
        .modify(&format!(
            "dn: cn=townhall-leaders,{GROUPS}\nchangetype: modify\nadd: member\nmember: uid=carol,{PEOPLE}\n"
        ))
        .await;
    assert_eq!(
        carol_socket.expect_close().await,
        Some(close::ACCOUNT_CHANGED)
    );
    assert_eq!(
        account(&server, "carol").await,
        Some(("leader".into(), false, false))
    );
    let (mut carol_socket, _, _) = server.connect_caught_up(&carol.token, None, None).await;

    // Carol's entry is deleted: the same as a disable.
    slapd
        .modify(&format!("dn: uid=carol,{PEOPLE}\nchangetype: delete\n"))
        .await;
    assert_eq!(carol_socket.expect_close().await, Some(close::LOGGED_OUT));
    assert_eq!(account(&server, "carol").await.map(|a| a.1), Some(true));

    // Enabled again in the directory: bob logs in again, same account.
    slapd
        .modify(&format!(
            "dn: uid=bob,{PEOPLE}\nchangetype: modify\ndelete: employeeType\n"
        ))
        .await;
    let back = server.login("bob", "bob-directory-pw").await;
    assert_eq!(back.user.id, bob.user.id);
}

#[tokio::test]
async fn a_group_change_in_the_directory_changes_the_role_at_next_login() {
    let slapd = Slapd::start().await;
    // No sync during the test: the login alone must pick the change up.
    let server = start_server(&slapd.args(3600.0)).await;
    let carol = server.login("carol", "carol-directory-pw").await;
    assert_eq!(carol.user.role, Role::Staff);
    let (mut socket, _, _) = server.connect_caught_up(&carol.token, None, None).await;

    slapd
        .modify(&format!(
            "dn: cn=townhall-leaders,{GROUPS}\nchangetype: modify\nadd: member\nmember: uid=carol,{PEOPLE}\n\n\
             dn: cn=transformation,{GROUPS}\nchangetype: modify\nadd: member\nmember: uid=carol,{PEOPLE}\n"
        ))
        .await;
    let again = server.login("carol", "carol-directory-pw").await;
    assert_eq!(again.user.role, Role::Leader);
    assert_eq!(again.user.id, carol.user.id);
    assert_eq!(
        account(&server, "carol").await,
        Some(("leader".into(), false, true))
    );
    // Her open socket reconnects to carry the new role, as after an admin's change.
    assert_eq!(socket.expect_close().await, Some(close::ACCOUNT_CHANGED));
}

#[tokio::test]
async fn local_accounts_log_in_while_the_directory_is_down() {
    let mut slapd = Slapd::start().await;
    let server = start_server(&slapd.args(600.0)).await;
    create_local_user(&server, "dana", "dana-local-password").await;
    server.login("bob", "bob-directory-pw").await;
    slapd.stop().await;

    let started = Instant::now();
    let (status, code, body) = try_login(&server, "bob", "bob-directory-pw").await;
    assert_eq!(
        (status, code.as_str()),
        (503, "directory_unavailable"),
        "{body}"
    );
    assert!(started.elapsed() < WAIT, "took {:?}", started.elapsed());
    // Unknown names are the directory's business too.
    let (status, code, _) = try_login(&server, "nobody", "whatever-password").await;
    assert_eq!((status, code.as_str()), (503, "directory_unavailable"));
    // The break-glass admin and local staff are not.
    server.login("admin", townhall_tests::ADMIN_PASSWORD).await;
    server.login("dana", "dana-local-password").await;
    // A local name with a wrong password answers as an unknown name does
    // (the directory conflict check could not be made).
    let (status, code, _) = try_login(&server, "dana", "not-her-password").await;
    assert_eq!((status, code.as_str()), (503, "directory_unavailable"));

    // The directory back: directory logins work again.
    slapd.run().await;
    server.login("bob", "bob-directory-pw").await;
}

#[tokio::test]
async fn with_only_directory_logins_local_staff_are_refused_but_the_local_admin_is_not() {
    let slapd = Slapd::start().await;
    let mut args = slapd.args(600.0);
    args.extend(["--login-sources".to_owned(), "ldap".to_owned()]);
    let server = start_server(&args).await; // logs in as the local admin
    create_local_user(&server, "dana", "dana-local-password").await;

    let (status, code, body) = try_login(&server, "dana", "dana-local-password").await;
    assert_eq!(
        (status, code.as_str()),
        (403, "login_source_disabled"),
        "{body}"
    );
    // Without the right password nothing is revealed.
    let (status, code, _) = try_login(&server, "dana", "not-her-password").await;
    assert_eq!((status, code.as_str()), (401, "invalid_credentials"));
    server.login("admin", townhall_tests::ADMIN_PASSWORD).await;
    server.login("bob", "bob-directory-pw").await;
}

#[tokio::test]
async fn a_directory_login_never_takes_over_a_local_account_of_the_same_name() {
    let slapd = Slapd::start().await;
    let server = start_server(&slapd.args(600.0)).await;
    create_local_user(&server, "erin", "erin-local-password").await;

    let (status, code, body) = try_login(&server, "erin", "erin-directory-pw").await;
    assert_eq!(
        (status, code.as_str()),
        (409, "account_source_conflict"),
        "{body}"
    );
    let (status, code, _) = try_login(&server, "erin", "neither-password").await;
    assert_eq!((status, code.as_str()), (401, "invalid_credentials"));
    // The local account is untouched and logs in with its own password.
    let erin = server.login("erin", "erin-local-password").await;
    assert_eq!(erin.user.display_name, "erin");
}

/// Add `who` to (`add`) or remove them from the transformation group: a
/// change the sync reports on that user's open socket (`account_changed`),
/// which proves a whole sync round ran (every account is looked up before
/// any verdict is applied).
async fn toggle_team(slapd: &Slapd, who: &str, add: bool) {
    let op = if add { "add" } else { "delete" };
    slapd
        .modify(&format!(
            "dn: cn=transformation,{GROUPS}\nchangetype: modify\n{op}: member\nmember: uid={who},{PEOPLE}\n"
        ))
        .await;
}

#[tokio::test]
async fn a_reused_directory_username_does_not_take_over_the_old_account() {
    let slapd = Slapd::start().await;
    let server = start_server(&slapd.args(1.0)).await;
    let bob = server.login("bob", "bob-directory-pw").await;
    let alice = server.login("alice", "alice-directory-pw").await;
    let (mut alice_socket, _, _) = server.connect_caught_up(&alice.token, None, None).await;

    // Bob leaves; a new person gets the same uid (same DN, new entryUUID).
    slapd
        .modify(&format!(
            "dn: uid=bob,{PEOPLE}\nchangetype: delete\n\n\
             dn: uid=bob,{PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: bob\n\
             cn: Bob Newcomer\nsn: Newcomer\nuserPassword: new-bob-pw\n"
        ))
        .await;
    let (status, code, body) = try_login(&server, "bob", "new-bob-pw").await;
    assert_eq!(
        (status, code.as_str()),
        (409, "account_source_conflict"),
        "{body}"
    );
    // A sync round later (alice's change shows it ran), the old account is
    // as it was: not renamed, not disabled, still refused to the newcomer.
    toggle_team(&slapd, "alice", true).await;
    assert_eq!(
        alice_socket.expect_close().await,
        Some(close::ACCOUNT_CHANGED)
    );
    let users: Vec<serde_json::Value> = reqwest::Client::new()
        .get(server.http("/api/admin/users"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("list users")
        .json()
        .await
        .expect("users json");
    let old = users
        .iter()
        .find(|u| u["user"]["username"] == "bob")
        .expect("bob's account");
    assert_eq!(old["user"]["display_name"], "Bob Builder");
    assert_eq!(old["disabled"], false);
    assert_eq!(old["user"]["id"], serde_json::json!(bob.user.id));
    let (status, code, _) = try_login(&server, "bob", "new-bob-pw").await;
    assert_eq!((status, code.as_str()), (409, "account_source_conflict"));
}

#[tokio::test]
async fn ambiguous_matches_and_mass_disappearances_disable_no_one() {
    let slapd = Slapd::start().await;
    let server = start_server(&slapd.args(1.0)).await;
    // Three users in their own OU, so one rename moves them all out of the
    // search base at once (as a wrong base or ACL change would).
    let team = format!("ou=team,{PEOPLE}");
    let mut ldif =
        format!("dn: {team}\nchangetype: add\nobjectClass: organizationalUnit\nou: team\n");
    for name in ["tom", "tim", "tess"] {
        ldif.push_str(&format!(
            "\ndn: uid={name},{team}\nchangetype: add\nobjectClass: inetOrgPerson\n\
             uid: {name}\ncn: {name}\nsn: {name}\nuserPassword: {name}-pw\n"
        ));
    }
    slapd.modify(&ldif).await;
    for name in ["tom", "tim", "tess"] {
        server.login(name, &format!("{name}-pw")).await;
    }
    let alice = server.login("alice", "alice-directory-pw").await;
    let (mut alice_socket, _, _) = server.connect_caught_up(&alice.token, None, None).await;

    // A second entry with uid=tom: tom's lookup is ambiguous, which is not
    // "gone" (a single gone account would be disabled).
    slapd
        .modify(&format!(
            "dn: cn=tom-twin,{PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\n\
             uid: tom\ncn: tom-twin\nsn: Twin\n"
        ))
        .await;
    toggle_team(&slapd, "alice", true).await;
    assert_eq!(
        alice_socket.expect_close().await,
        Some(close::ACCOUNT_CHANGED)
    );
    assert_eq!(account(&server, "tom").await.map(|a| a.1), Some(false));
    let (mut alice_socket, _, _) = server.connect_caught_up(&alice.token, None, None).await;

    // Three of four accounts gone at once: the round disables none of them.
    slapd
        .modify(&format!(
            "dn: cn=tom-twin,{PEOPLE}\nchangetype: delete\n\n\
             dn: {team}\nchangetype: modrdn\nnewrdn: ou=team\ndeleteoldrdn: 1\n\
             newsuperior: dc=example,dc=org\n"
        ))
        .await;
    toggle_team(&slapd, "alice", false).await;
    assert_eq!(
        alice_socket.expect_close().await,
        Some(close::ACCOUNT_CHANGED)
    );
    for name in ["tom", "tim", "tess"] {
        assert_eq!(
            account(&server, name).await.map(|a| a.1),
            Some(false),
            "{name} disabled"
        );
    }
}
