//! "Log in with your company account" (OpenID Connect), against a real
//! OpenID provider: the certified `oidc-provider` npm package, started by
//! each test on a loopback port (`scripts/oidc/provider.mjs`, installed by
//! `scripts/setup.sh`). These tests play the browser with plain HTTP
//! requests (the provider's login form is one POST); the real browser flow
//! is `client-web/e2e/oidc.spec.ts`.
//!
//! At the provider: alice (group townhall-admins → admin), bob (groups
//! transformation and leads → leader on the team), carol (staff), mallory
//! (another person whose username claim is "alice") and root (username
//! claim "admin", the local admin's name). Passwords: NAME-pw.

use reqwest::header;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use townhall_protocol::http::LoginResponse;
use townhall_protocol::{Role, close};
use townhall_tests::{TestServer, WAIT};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The redirect URL registered at the provider and given to Townhall. The
/// browser would reach Townhall there; these tests take the provider's
/// redirect and replay its query at the test server's real address.
const REDIRECT: &str = "http://127.0.0.1:9/api/oidc/callback";

/// A running oidc-provider.
struct Provider {
    port: u16,
    _child: Child,
}

impl Provider {
    async fn start() -> Provider {
        Provider::start_on(free_port()).await
    }

    /// Stop it and start a new one on the same port: same issuer, new keys
    /// with new kids (a key rotation), and its logins in progress forgotten.
    async fn restart(self) -> Provider {
        let Provider { port, mut _child } = self;
        let _ = _child.kill().await;
        let _ = _child.wait().await;
        Provider::start_on(port).await
    }

    async fn start_on(port: u16) -> Provider {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/oidc");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "these tests need the oidc-provider package: run scripts/setup.sh \
             (it runs npm ci in scripts/oidc)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .arg(port.to_string())
            .arg(REDIRECT)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("run node scripts/oidc/provider.mjs");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.expect("provider stdout") {
                if line.contains("oidc-provider listening on") {
                    return;
                }
            }
            panic!("the provider exited before listening");
        })
        .await
        .expect("the provider did not start in time");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Provider {
            port,
            _child: child,
        }
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Townhall flags for `issuer` with client `client_id`.
fn oidc_args(issuer: &str, client_id: &str, secret_file: &Path) -> Vec<String> {
    [
        "--oidc-issuer",
        issuer,
        "--oidc-allow-http",
        "--oidc-client-id",
        client_id,
        "--oidc-client-secret-file",
        &secret_file.display().to_string(),
        "--oidc-redirect-url",
        REDIRECT,
        "--oidc-scopes",
        "openid profile groups",
        "--oidc-role-group",
        "admin=townhall-admins",
        "--oidc-role-group",
        "leader=leads",
        "--oidc-team-group",
        "transformation",
        "--oidc-timeout-secs",
        "5",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

async fn start_server(
    issuer: &str,
    client_id: &str,
    extra: &[&str],
) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, "townhall-secret\n").expect("secret file");
    let mut args = oidc_args(issuer, client_id, &secret);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (TestServer::start_with(&args).await, dir)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

fn location(r: &reqwest::Response) -> String {
    assert_eq!(
        r.status().as_u16(),
        303,
        "expected a redirect from {}",
        r.url()
    );
    r.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_owned()
}

/// The `name=value` parts of a response's Set-Cookie headers.
fn cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// A browser's login in progress: Townhall's state cookie and the query
/// the provider sends back to the callback.
struct Returned {
    state_cookie: String,
    callback_query: String,
}

/// Click "Log in with your company account" and sign in at the provider.
async fn sign_in_at_provider(server: &TestServer, provider: &Provider, who: &str) -> Returned {
    let client = http();
    let r = client
        .get(server.http("/api/oidc/start"))
        .send()
        .await
        .expect("start");
    let to_provider = location(&r);
    assert!(
        to_provider.starts_with(&format!("{}/auth?", provider.issuer())),
        "start sends the browser to the provider: {to_provider}"
    );
    for part in [
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
        "state=",
    ] {
        assert!(to_provider.contains(part), "{part} in {to_provider}");
    }
    let state_cookie = cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("townhall_oidc_state="))
        .expect("state cookie");
    let mut jar: Vec<String> = Vec::new();
    let absolute = |l: String| {
        if l.starts_with('/') {
            format!("{}{l}", provider.issuer())
        } else {
            l
        }
    };
    let r = client
        .get(&to_provider)
        .send()
        .await
        .expect("provider auth");
    jar.extend(cookies(&r));
    let interaction = absolute(location(&r));
    let r = client
        .post(format!("{interaction}/login"))
        .header(header::COOKIE, jar.join("; "))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("login={who}&password={who}-pw"))
        .send()
        .await
        .expect("provider login");
    jar.extend(cookies(&r));
    let resume = absolute(location(&r));
    let r = client
        .get(&resume)
        .header(header::COOKIE, jar.join("; "))
        .send()
        .await
        .expect("provider resume");
    let back = location(&r);
    let query = back
        .strip_prefix(&format!("{REDIRECT}?"))
        .unwrap_or_else(|| {
            panic!("the provider sends the browser back to the redirect URL: {back}")
        });
    Returned {
        state_cookie,
        callback_query: query.to_owned(),
    }
}

/// Townhall's callback: where it sends the browser (`/#oidc_code=…` or
/// `/#oidc_error=…`).
async fn callback(server: &TestServer, query: &str, cookie: Option<&str>) -> String {
    let mut req = http().get(server.http(&format!("/api/oidc/callback?{query}")));
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    location(&req.send().await.expect("callback"))
}

/// POST /api/oidc/exchange: the session, or (status, code).
/// `cookie`: the browser's state cookie (`None`: another browser).
async fn exchange(
    server: &TestServer,
    code: &str,
    cookie: Option<&str>,
) -> Result<LoginResponse, (u16, String)> {
    let mut req = http()
        .post(server.http("/api/oidc/exchange"))
        .json(&serde_json::json!({"code": code}));
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let r = req.send().await.expect("exchange");
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.expect("json");
    if status == 200 {
        Ok(serde_json::from_value(body).expect("login response"))
    } else {
        Err((status, body["code"].as_str().unwrap_or_default().to_owned()))
    }
}

/// The whole login; the session, or the error code it ended with.
async fn company_login(
    server: &TestServer,
    provider: &Provider,
    who: &str,
) -> Result<LoginResponse, String> {
    let back = sign_in_at_provider(server, provider, who).await;
    let to = callback(server, &back.callback_query, Some(&back.state_cookie)).await;
    if let Some(code) = to.strip_prefix("/#oidc_code=") {
        Ok(exchange(server, code, Some(&back.state_cookie))
            .await
            .expect("exchange"))
    } else if let Some(error) = to.strip_prefix("/#oidc_error=") {
        Err(error.to_owned())
    } else {
        panic!("unexpected redirect {to}");
    }
}

/// The admin's view of one account: (role, disabled, team, source).
async fn account(server: &TestServer, username: &str) -> Option<(String, bool, bool, String)> {
    server.admin_user_entry(username).await.map(|u| {
        (
            u["user"]["role"].as_str().unwrap_or_default().to_owned(),
            u["disabled"] == true,
            u["transformation_team"] == true,
            u["source"].as_str().unwrap_or_default().to_owned(),
        )
    })
}

#[tokio::test]
async fn a_company_login_makes_the_account_with_the_mapped_role_and_a_normal_session() {
    let provider = Provider::start().await;
    let (server, _dir) = start_server(&provider.issuer(), "townhall", &[]).await;
    let sources: serde_json::Value = reqwest::get(server.http("/api/login/sources"))
        .await
        .expect("sources")
        .json()
        .await
        .expect("json");
    assert_eq!(
        sources,
        serde_json::json!({"local": true, "ldap": false, "oidc": true})
    );
    assert_eq!(
        account(&server, "alice").await,
        None,
        "no account before login"
    );

    let alice = company_login(&server, &provider, "alice")
        .await
        .expect("alice logs in");
    assert_eq!(alice.user.username, "alice");
    assert_eq!(alice.user.display_name, "Alice Admin");
    assert_eq!(alice.user.role, Role::Admin, "townhall-admins → admin");
    assert_eq!(
        account(&server, "alice").await,
        Some(("admin".into(), false, false, "oidc".into()))
    );
    let bob = company_login(&server, &provider, "bob")
        .await
        .expect("bob logs in");
    assert_eq!(bob.user.role, Role::Leader, "leads → leader");
    assert_eq!(
        account(&server, "bob").await,
        Some(("leader".into(), false, true, "oidc".into()))
    );

    // A second login is the same account.
    let again = company_login(&server, &provider, "alice")
        .await
        .expect("alice again");
    assert_eq!(again.user.id, alice.user.id);
    assert_ne!(again.token, alice.token);

    // The session is an ordinary one: the socket takes it, logout ends it
    // and closes the socket.
    let (mut ws, _, _) = server.connect_caught_up(&alice.token, None, None).await;
    let r = reqwest::Client::new()
        .post(server.http("/api/logout"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(ws.expect_close().await, Some(close::LOGGED_OUT));
    let r = reqwest::Client::new()
        .get(server.http("/api/admin/users"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("list users");
    assert_eq!(
        r.status().as_u16(),
        401,
        "a logged-out OIDC token is refused"
    );
    // The other session still works (an admin's, by the mapped role).
    let r = reqwest::Client::new()
        .get(server.http("/api/admin/users"))
        .bearer_auth(&again.token)
        .send()
        .await
        .expect("list users");
    assert_eq!(r.status().as_u16(), 200);
    // No password login for a company account.
    let r = reqwest::Client::new()
        .post(server.http("/api/login"))
        .json(&serde_json::json!({"username": "alice", "password": "alice-pw"}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn state_is_checked_used_once_and_bound_to_the_browser() {
    let provider = Provider::start().await;
    let (server, _dir) = start_server(&provider.issuer(), "townhall", &[]).await;

    // The callback without this browser's state cookie (a link made for
    // another browser: login CSRF) logs no one in, and a made-up state is
    // no better.
    let back = sign_in_at_provider(&server, &provider, "carol").await;
    assert_eq!(
        callback(&server, &back.callback_query, None).await,
        "/#oidc_error=oidc_state_mismatch"
    );
    assert_eq!(
        callback(
            &server,
            &back.callback_query,
            Some("townhall_oidc_state=made-up")
        )
        .await,
        "/#oidc_error=oidc_state_mismatch"
    );
    let forged = back.callback_query.replace("state=", "state=x");
    let forged_cookie = format!(
        "townhall_oidc_state=x{}",
        &back.state_cookie["townhall_oidc_state=".len()..]
    );
    assert_eq!(
        callback(&server, &forged, Some(&forged_cookie)).await,
        "/#oidc_error=oidc_state_mismatch"
    );

    // Another issuer named in the callback (RFC 9207, a mix-up attack) is
    // refused, and uses the state up; so does a forged one below.
    let other = sign_in_at_provider(&server, &provider, "carol").await;
    let mixed = other
        .callback_query
        .split('&')
        .map(|p| {
            if p.starts_with("iss=") {
                "iss=http%3A%2F%2Fevil.example".to_owned()
            } else {
                p.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    assert!(
        mixed.contains("iss=http%3A%2F%2Fevil.example"),
        "the provider sends iss: {mixed}"
    );
    assert_eq!(
        callback(&server, &mixed, Some(&other.state_cookie)).await,
        "/#oidc_error=oidc_denied"
    );

    // The real one works once; replayed, it is refused.
    let to = callback(&server, &back.callback_query, Some(&back.state_cookie)).await;
    let code = to
        .strip_prefix("/#oidc_code=")
        .unwrap_or_else(|| panic!("logged in: {to}"));
    assert_eq!(
        callback(&server, &back.callback_query, Some(&back.state_cookie)).await,
        "/#oidc_error=oidc_state_mismatch",
        "a replayed callback"
    );
    // The one-time code gives the session once, to this browser.
    let cookie = Some(back.state_cookie.as_str());
    let carol = exchange(&server, code, cookie).await.expect("exchange");
    assert_eq!(carol.user.role, Role::Staff);
    assert_eq!(
        exchange(&server, code, cookie).await.err(),
        Some((401, "oidc_state_mismatch".into()))
    );
    assert_eq!(
        exchange(&server, "never-issued", cookie).await.err(),
        Some((401, "oidc_state_mismatch".into()))
    );
    // A code handed to another browser (a link with `#oidc_code=…`: the
    // session swap) logs that browser into nothing, and is used up.
    let again = sign_in_at_provider(&server, &provider, "carol").await;
    let to = callback(&server, &again.callback_query, Some(&again.state_cookie)).await;
    let code = to
        .strip_prefix("/#oidc_code=")
        .unwrap_or_else(|| panic!("logged in: {to}"));
    assert_eq!(
        exchange(&server, code, None).await.err(),
        Some((401, "oidc_state_mismatch".into()))
    );
    assert_eq!(
        exchange(&server, code, Some(&again.state_cookie))
            .await
            .err(),
        Some((401, "oidc_state_mismatch".into()))
    );

    // The provider's own refusal (the user cancelled there).
    let client = http();
    let r = client
        .get(server.http("/api/oidc/start"))
        .send()
        .await
        .expect("start");
    let to_provider = location(&r);
    let state_cookie = cookies(&r).into_iter().next().expect("cookie");
    let state = to_provider
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .expect("state");
    assert_eq!(
        callback(
            &server,
            &format!("error=access_denied&state={state}"),
            Some(&state_cookie)
        )
        .await,
        "/#oidc_error=oidc_denied"
    );
}

#[tokio::test]
async fn a_reused_username_a_local_name_or_a_disabled_account_is_refused() {
    let provider = Provider::start().await;
    let (server, _dir) = start_server(&provider.issuer(), "townhall", &[]).await;
    let alice = company_login(&server, &provider, "alice")
        .await
        .expect("alice");

    // Another person at the provider whose username claim is "alice" does
    // not get alice's account, and no account is made for them.
    assert_eq!(
        company_login(&server, &provider, "mallory")
            .await
            .err()
            .as_deref(),
        Some("account_source_conflict")
    );
    // "admin" is the local admin: a company login never takes it over.
    assert_eq!(
        company_login(&server, &provider, "root")
            .await
            .err()
            .as_deref(),
        Some("account_source_conflict")
    );
    assert_eq!(
        account(&server, "admin").await.map(|a| a.3),
        Some("local".into())
    );
    // alice herself still logs in to her account.
    let again = company_login(&server, &provider, "alice")
        .await
        .expect("alice again");
    assert_eq!(again.user.id, alice.user.id);

    // An admin disables carol's account: her company login is refused.
    company_login(&server, &provider, "carol")
        .await
        .expect("carol");
    let r = reqwest::Client::new()
        .patch(server.http("/api/admin/users/carol"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"disabled": true}))
        .send()
        .await
        .expect("disable");
    assert!(r.status().is_success(), "disable carol: {}", r.status());
    assert_eq!(
        company_login(&server, &provider, "carol")
            .await
            .err()
            .as_deref(),
        Some("invalid_credentials")
    );
    assert_eq!(
        account(&server, "carol").await.map(|a| a.1),
        Some(true),
        "still disabled"
    );
}

#[tokio::test]
async fn es256_id_tokens_verify_too() {
    let provider = Provider::start().await;
    let (server, _dir) = start_server(&provider.issuer(), "townhall-es", &[]).await;
    let bob = company_login(&server, &provider, "bob")
        .await
        .expect("bob with ES256");
    assert_eq!(bob.user.role, Role::Leader);
}

#[tokio::test]
async fn a_provider_that_does_not_answer_or_a_disabled_source_is_said_so() {
    // Nothing listens on this port.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let (server, _dir) = start_server(&nobody, "townhall", &[]).await;
    let r = http()
        .get(server.http("/api/oidc/start"))
        .send()
        .await
        .expect("start");
    assert_eq!(location(&r), "/#oidc_error=directory_unavailable");

    let (server, _dir) = start_server(&nobody, "townhall", &["--login-sources", "local"]).await;
    let r = http()
        .get(server.http("/api/oidc/start"))
        .send()
        .await
        .expect("start");
    assert_eq!(location(&r), "/#oidc_error=login_source_disabled");
    let sources: serde_json::Value = reqwest::get(server.http("/api/login/sources"))
        .await
        .expect("sources")
        .json()
        .await
        .expect("json");
    assert_eq!(sources["oidc"], false);
}

#[tokio::test]
async fn a_rotated_provider_key_is_fetched_again() {
    let provider = Provider::start().await;
    let (server, _dir) = start_server(&provider.issuer(), "townhall", &[]).await;
    // Townhall fetches and caches the provider's keys.
    company_login(&server, &provider, "alice")
        .await
        .expect("alice");
    // The provider now signs with a new key that the cached set lacks: the
    // unknown kid makes Townhall fetch the set again, and the login works.
    let provider = provider.restart().await;
    let bob = company_login(&server, &provider, "bob")
        .await
        .expect("bob, after the rotation");
    assert_eq!(bob.user.role, Role::Leader);
}

/// A throwaway slapd (`scripts/slapd.sh`, as `tests/ldap.rs` runs it):
/// the child, its folder and its plain LDAP port.
async fn start_slapd() -> (Child, tempfile::TempDir, u16) {
    assert!(
        Path::new("/usr/sbin/slapd").exists() && Path::new("/usr/bin/ldapmodify").exists(),
        "this test needs Debian's slapd and ldap-utils (scripts/setup.sh installs them)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let (ldap_port, ldaps_port) = (free_port(), free_port());
    let child = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slapd.sh"))
        .arg(dir.path())
        .arg(ldap_port.to_string())
        .arg(ldaps_port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("run scripts/slapd.sh");
    let deadline = std::time::Instant::now() + WAIT * 2;
    while tokio::net::TcpStream::connect(("127.0.0.1", ldap_port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "slapd did not listen in time"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (child, dir, ldap_port)
}

#[tokio::test]
async fn the_ldap_sync_leaves_company_accounts_alone() {
    use tokio::io::AsyncWriteExt;
    let (_slapd, slapd_dir, ldap_port) = start_slapd().await;
    let provider = Provider::start().await;
    let people = "ou=people,dc=example,dc=org";
    let ldap_args = [
        "--ldap-url".to_owned(),
        format!("ldap://127.0.0.1:{ldap_port}"),
        "--ldap-allow-plain".to_owned(),
        "--ldap-bind-dn".to_owned(),
        "cn=townhall,ou=services,dc=example,dc=org".to_owned(),
        "--ldap-bind-password-file".to_owned(),
        slapd_dir
            .path()
            .join("service.password")
            .display()
            .to_string(),
        "--ldap-user-base".to_owned(),
        people.to_owned(),
        "--ldap-disabled-attribute".to_owned(),
        "employeeType".to_owned(),
        "--ldap-disabled-value".to_owned(),
        "disabled".to_owned(),
        "--ldap-sync-secs".to_owned(),
        "0.3".to_owned(),
    ];
    let ldap_args: Vec<&str> = ldap_args.iter().map(String::as_str).collect();
    let (server, _dir) = start_server(&provider.issuer(), "townhall", &ldap_args).await;

    // dave has a company account and no directory entry; erin a directory one.
    let dave = company_login(&server, &provider, "dave")
        .await
        .expect("dave");
    let r = reqwest::Client::new()
        .post(server.http("/api/login"))
        .json(&serde_json::json!({"username": "erin", "password": "erin-directory-pw"}))
        .send()
        .await
        .expect("erin logs in");
    assert_eq!(r.status().as_u16(), 200);
    // A directory login for a company account's name is refused.
    company_login(&server, &provider, "carol")
        .await
        .expect("carol (company)");
    let r = reqwest::Client::new()
        .post(server.http("/api/login"))
        .json(&serde_json::json!({"username": "carol", "password": "carol-directory-pw"}))
        .send()
        .await
        .expect("carol by directory");
    assert_eq!(r.status().as_u16(), 409, "account_source_conflict");

    // The directory disables erin; once the sync has done so here, it has
    // looked at every account it owns: dave (whom it would call gone) and
    // carol are untouched.
    let mut child = Command::new("ldapmodify")
        .args(["-H", &format!("ldap://127.0.0.1:{ldap_port}/")])
        .args([
            "-x",
            "-D",
            "cn=admin,dc=example,dc=org",
            "-w",
            "admin-secret",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("ldapmodify");
    let ldif = format!(
        "dn: uid=erin,{people}\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n"
    );
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(ldif.as_bytes()).await.expect("ldif");
    drop(stdin);
    assert!(child.wait().await.expect("ldapmodify ran").success());
    tokio::time::timeout(WAIT, async {
        while account(&server, "erin").await.map(|a| a.1) != Some(true) {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the sync disables erin");
    assert_eq!(
        account(&server, "dave").await,
        Some(("staff".into(), false, false, "oidc".into()))
    );
    assert_eq!(
        account(&server, "carol").await.map(|a| (a.1, a.3)),
        Some((false, "oidc".into()))
    );
    let r = reqwest::Client::new()
        .get(server.http("/api/login/sources"))
        .bearer_auth(&dave.token)
        .send()
        .await
        .expect("sources");
    assert_eq!(r.status().as_u16(), 200);
}
