//! Invitation links against the real binary: an admin invites a username,
//! the person redeems the token with a password and is logged in; a token
//! works once, expires, can be revoked, and only admins make them.

use serde_json::{Value, json};
use std::time::Duration;
use townhall_tests::TestServer;

/// POST a JSON body (with the bearer token if given); status and body.
async fn post(server: &TestServer, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(server.http(path)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn invite(server: &TestServer, username: &str, role: &str) -> (String, Value) {
    let (status, body) = post(
        server,
        "/api/admin/invitations",
        Some(&server.admin_token),
        json!({"username": username, "role": role, "display_name": "New Person"}),
    )
    .await;
    assert_eq!(status, 201, "invite {username}: {body}");
    let token = body["token"].as_str().expect("token").to_owned();
    (token, body["invitation"].clone())
}

async fn redeem(server: &TestServer, token: &str, password: &str) -> (u16, Value) {
    post(
        server,
        "/api/invite/redeem",
        None,
        json!({"token": token, "password": password}),
    )
    .await
}

async fn list(server: &TestServer) -> Vec<Value> {
    reqwest::Client::new()
        .get(server.http("/api/admin/invitations"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("list json")
}

#[tokio::test]
async fn an_invited_person_chooses_a_password_and_is_logged_in() {
    let server = TestServer::start().await;
    let (token, invitation) = invite(&server, "newhire", "leader").await;
    assert!(token.len() >= 32, "at least 128 bits of token: {token}");
    assert_eq!(invitation["state"], "pending");
    assert_eq!(invitation["user"]["role"], "leader");
    // 7 days by default.
    let lifetime = invitation["expires_at"]
        .as_u64()
        .expect("as the test set up")
        - invitation["created_at"]
            .as_u64()
            .expect("as the test set up");
    assert_eq!(lifetime, 7 * 24 * 3_600_000);
    // The token itself is nowhere in the admin's list.
    assert!(
        !serde_json::to_string(&list(&server).await)
            .expect("as the test set up")
            .contains(&token)
    );

    let (status, info) = post(&server, "/api/invite/info", None, json!({"token": token})).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["username"], "newhire");
    assert_eq!(info["display_name"], "New Person");

    // Password rules as elsewhere.
    let (status, body) = redeem(&server, &token, "short").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_field")),
        "{body}"
    );

    let (status, login) = redeem(&server, &token, "a good long password").await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["user"]["username"], "newhire");
    assert_eq!(login["user"]["role"], "leader");
    assert_eq!(login["user"]["id"], invitation["user"]["id"]);
    // The session works on the WebSocket, and the password at /api/login.
    let client = server
        .connect(login["token"].as_str().expect("as the test set up"))
        .await;
    client.close().await;
    let again = server.login("newhire", "a good long password").await;
    assert_eq!(again.user.username, "newhire");

    // Used once: the same link is refused.
    let (status, body) = redeem(&server, &token, "another password").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("invite_used")),
        "{body}"
    );
    let (_, body) = post(&server, "/api/invite/info", None, json!({"token": token})).await;
    assert_eq!(body["code"], "invite_used");
    let listed = list(&server).await;
    assert_eq!(listed[0]["state"], "used", "{listed:?}");

    // Audited: the admin's invitation and the redemption.
    let audit: Vec<Value> = reqwest::Client::new()
        .get(server.http("/api/admin/audit"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("as the test set up")
        .json()
        .await
        .expect("as the test set up");
    let actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"create_invitation"), "{actions:?}");
    assert!(actions.contains(&"redeem_invitation"), "{actions:?}");
    let created = audit
        .iter()
        .find(|e| e["action"] == "create_invitation")
        .expect("as the test set up");
    assert_eq!(created["target"]["username"], "newhire");
}

#[tokio::test]
async fn unknown_taken_revoked_and_forbidden() {
    let server = TestServer::start().await;
    let (status, body) = redeem(&server, &"0".repeat(64), "a good long password").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("invite_unknown")),
        "{body}"
    );

    // A name an account has, or a pending invitation has, cannot be invited.
    server.user("alice").await;
    let (status, body) = post(
        &server,
        "/api/admin/invitations",
        Some(&server.admin_token),
        json!({"username": "ALICE"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("name_taken")),
        "{body}"
    );
    let (token, invitation) = invite(&server, "bob", "staff").await;
    let (status, body) = post(
        &server,
        "/api/admin/invitations",
        Some(&server.admin_token),
        json!({"username": "bob"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("name_taken")),
        "{body}"
    );

    // Staff cannot invite, list or revoke.
    let (_, alice_token) = server.user("alice2").await;
    let (status, body) = post(
        &server,
        "/api/admin/invitations",
        Some(&alice_token),
        json!({"username": "mallory"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let id = invitation["id"].as_str().expect("as the test set up");
    let resp = reqwest::Client::new()
        .delete(server.http(&format!("/api/admin/invitations/{id}")))
        .bearer_auth(&alice_token)
        .send()
        .await
        .expect("as the test set up");
    assert_eq!(resp.status().as_u16(), 403);
    let resp = reqwest::Client::new()
        .get(server.http("/api/admin/invitations"))
        .bearer_auth(&alice_token)
        .send()
        .await
        .expect("as the test set up");
    assert_eq!(resp.status().as_u16(), 403);

    // The admin revokes it: the link no longer works.
    let resp = reqwest::Client::new()
        .delete(server.http(&format!("/api/admin/invitations/{id}")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("as the test set up");
    assert_eq!(resp.status().as_u16(), 204);
    let (status, body) = redeem(&server, &token, "a good long password").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("invite_revoked")),
        "{body}"
    );
    assert!(
        server.admin_user_entry("bob").await.is_none(),
        "no account made"
    );
    let listed = list(&server).await;
    let bob = listed
        .iter()
        .find(|i| i["user"]["username"] == "bob")
        .expect("as the test set up");
    assert_eq!(bob["state"], "revoked");
    // A revoked invitation frees the name for a new one.
    invite(&server, "bob", "staff").await;

    // If the name was taken meanwhile (an account made by hand), redeeming
    // says so and makes nothing.
    let (token, _) = invite(&server, "carol", "staff").await;
    server.user("carol").await;
    let (status, body) = redeem(&server, &token, "a good long password").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("name_taken")),
        "{body}"
    );
}

#[tokio::test]
async fn an_invitation_past_its_expiry_is_refused() {
    // 0.0002 h = 720 ms.
    let server = TestServer::start_with(&["--invite-hours", "0.0002"]).await;
    let (token, invitation) = invite(&server, "late", "staff").await;
    let lifetime = invitation["expires_at"]
        .as_u64()
        .expect("as the test set up")
        - invitation["created_at"]
            .as_u64()
            .expect("as the test set up");
    assert_eq!(lifetime, 720);
    // The expiry is a fixed instant: waiting past it is deterministic.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (status, body) = redeem(&server, &token, "a good long password").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("invite_expired")),
        "{body}"
    );
    assert!(server.admin_user_entry("late").await.is_none());
    // An expired invitation frees the name for a new one.
    let (token, _) = invite(&server, "late", "staff").await;
    let (status, body) = redeem(&server, &token, "a good long password").await;
    assert_eq!(status, 200, "{body}");
}

/// An invitation is only as good as the admin who made it: once they are
/// no longer an admin, their pending links are refused as revoked.
#[tokio::test]
async fn an_invitation_from_a_demoted_admin_is_refused() {
    let server = TestServer::start().await;
    let (_, ada_token) = server.user_with_role("ada", "admin").await;
    let (status, body) = post(
        &server,
        "/api/admin/invitations",
        Some(&ada_token),
        json!({"username": "newbie", "role": "admin", "display_name": "New Admin"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let demoted = reqwest::Client::new()
        .patch(server.http("/api/admin/users/ada"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"role": "staff"}))
        .send()
        .await
        .expect("patch");
    assert!(demoted.status().is_success(), "{}", demoted.status());
    let (status, body) = redeem(&server, &token, "a good long password").await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["code"], "invite_revoked", "{body}");
}
