//! OpenID Connect logins ("Log in with your company account"): the
//! authorization code flow with PKCE (RFC 7636, `S256`), against a provider
//! found by discovery (`<issuer>/.well-known/openid-configuration`).
//!
//! This module speaks to the provider and answers who the user is in
//! Townhall's terms ([`OidcUser`]); the browser's side of the flow (state
//! and nonce kept for the login in progress, the redirect back, handing the
//! session to the web client) is `http/oidc.rs`, and making or updating the
//! account goes through the log (`committer/directory.rs`, the same
//! `DirectoryOp::Login` as LDAP with source `oidc`), so every node agrees.
//!
//! The ID token is verified here ([`jwt`]): RS256 or ES256 with the
//! provider's JWKS (cached, fetched again when a token names a key we do not
//! have, at most every [`JWKS_REFETCH_MIN`]), issuer, audience, expiry and
//! nonce. Claims the ID token lacks (many providers put only `sub` in it)
//! are read from the userinfo endpoint with the access token, whose `sub`
//! must be the ID token's.

pub mod fetch;
pub mod jwt;
pub mod pending;

use crate::config::OidcConfig;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fetch::Fetch;
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use townhall_protocol::Role;

/// How long discovery and the key set are trusted before they are fetched
/// again: providers rotate keys over days and announce the new one in the
/// JWKS ahead of use; an hour bounds how long a withdrawn key stays usable.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The JWKS is fetched again for an unknown `kid` at most this often, so
/// tokens naming made-up keys cannot make us hammer the provider.
const JWKS_REFETCH_MIN: Duration = Duration::from_secs(10);

/// Most group values read from a token: role mapping needs a handful.
const MAX_GROUPS: usize = 1_000;

/// The `source` of accounts an OIDC login makes (`store::DirectoryLink`).
pub const OIDC_SOURCE: &str = "oidc";

/// Why an OIDC login failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached, answered garbage or a server
    /// error, or did not answer in time. The detail is for the log.
    #[error("OpenID provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused: the user cancelled, or the code was refused at
    /// the token endpoint (used twice, expired). The detail is safe to show.
    #[error("the OpenID provider refused the login: {0}")]
    Denied(String),
    /// The ID token failed verification.
    #[error(transparent)]
    Token(#[from] jwt::JwtError),
    /// The claims cannot make a Townhall account (no username, or not a
    /// valid one). The detail is for the user.
    #[error("{0}")]
    Claims(String),
}

/// A user as the provider describes them, mapped to Townhall's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcUser {
    pub issuer: String,
    /// `sub`: with the issuer, the user's identity for good (usernames can
    /// be reused, subjects cannot: OpenID Connect Core 2).
    pub subject: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub transformation_team: bool,
}

/// What discovery tells us.
#[derive(Debug, Clone)]
struct Metadata {
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
}

#[derive(Debug)]
struct Settings {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    redirect_url: String,
    scopes: String,
    username_claim: String,
    display_name_claim: String,
    groups_claim: String,
    /// (role, group), from `--oidc-role-group`.
    role_groups: Vec<(Role, String)>,
    team_groups: Vec<String>,
    allow_http: bool,
}

/// A login just started: where to send the browser, and what to keep
/// until it comes back.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// How long a login may stay at the provider (typing a password, a second
/// factor) before its state is forgotten; also the state cookie's age.
pub const LOGIN_TTL: Duration = Duration::from_secs(600);
/// Logins in progress at once on one node. Each entry is about 200 bytes;
/// the bound keeps a flood of `/api/oidc/start` from growing memory (it
/// then answers `rate_limited`) while far exceeding real logins in ten
/// minutes.
const MAX_LOGINS: usize = 10_000;
/// How long the web client has to exchange its one-time code: it does so
/// as soon as the page loads.
const HANDOFF_TTL: Duration = Duration::from_secs(60);
/// Sessions waiting for their exchange at once (each holds a token).
const MAX_HANDOFFS: usize = 1_000;

/// What a login in progress keeps until the provider sends the browser back.
pub struct PendingLogin {
    pub nonce: String,
    pub verifier: String,
}

/// The provider and the logins in progress with it (`pending.rs`).
pub struct OidcLogins {
    pub provider: Oidc,
    /// state → nonce and verifier, from start to callback.
    pub logins: pending::Expiring<PendingLogin>,
    /// one-time code → (the login's state, the session made), from
    /// callback to exchange: the exchange must come from the browser that
    /// holds that state's cookie.
    pub handoffs: pending::Expiring<(String, townhall_protocol::http::LoginResponse)>,
    /// Logins started per address (a full `logins` map refuses everyone).
    pub starts: pending::StartLimiter,
}

impl OidcLogins {
    pub fn new(provider: Oidc) -> OidcLogins {
        OidcLogins {
            provider,
            logins: pending::Expiring::new(LOGIN_TTL, MAX_LOGINS),
            handoffs: pending::Expiring::new(HANDOFF_TTL, MAX_HANDOFFS),
            starts: pending::StartLimiter::new(),
        }
    }
}

/// A configured provider; share it behind an `Arc`.
pub struct Oidc {
    settings: Settings,
    fetch: Fetch,
    /// Discovery, cached [`METADATA_TTL`]. A std Mutex: held only to copy
    /// an `Arc` in or out, never across an await.
    metadata: Mutex<Option<(Instant, Arc<Metadata>)>>,
    /// The key set and when it was fetched ([`METADATA_TTL`]). Same
    /// locking as `metadata`.
    jwks: Mutex<Option<(Instant, Arc<Vec<jwt::Jwk>>)>>,
    /// When a token's unknown `kid` last made us fetch the set
    /// ([`JWKS_REFETCH_MIN`]); regular fetches do not count, so a rotation
    /// right after one is still picked up at once.
    last_forced_fetch: Mutex<Option<Instant>>,
}

impl Oidc {
    /// The provider `config` describes, `None` without `--oidc-issuer`, or
    /// why the configuration cannot work (the server refuses to start).
    /// `public_origin` gives the default redirect URL.
    pub fn from_config(
        config: &OidcConfig,
        public_origin: Option<&str>,
    ) -> Result<Option<Oidc>, String> {
        let Some(issuer) = config.oidc_issuer.clone() else {
            return Ok(None);
        };
        let plain = |url: &str| url.starts_with("http://");
        if !(issuer.starts_with("https://") || plain(&issuer)) {
            return Err(format!("--oidc-issuer {issuer}: expected an https:// URL"));
        }
        if plain(&issuer) && !config.oidc_allow_http {
            return Err(format!(
                "--oidc-issuer {issuer} is plain http: tokens would cross the network in clear. \
                 Use https://, or (tests, same host only) --oidc-allow-http"
            ));
        }
        let client_id = config
            .oidc_client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or("--oidc-issuer needs --oidc-client-id")?;
        let client_secret = match &config.oidc_client_secret_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("--oidc-client-secret-file {}: {e}", path.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
            ),
            None => std::env::var("TOWNHALL_OIDC_CLIENT_SECRET").ok(),
        }
        .filter(|s| !s.is_empty());
        let redirect_url = match (&config.oidc_redirect_url, public_origin) {
            (Some(url), _) => url.clone(),
            (None, Some(origin)) => format!("{origin}/api/oidc/callback"),
            (None, None) => {
                return Err("--oidc-issuer needs --oidc-redirect-url \
                            (or --public-origin, which gives ORIGIN/api/oidc/callback)"
                    .into());
            }
        };
        if !(redirect_url.starts_with("https://") || plain(&redirect_url)) {
            return Err(format!(
                "--oidc-redirect-url {redirect_url}: expected an http(s) URL"
            ));
        }
        if !config.oidc_scopes.split_whitespace().any(|s| s == "openid") {
            return Err("--oidc-scopes must include openid".into());
        }
        let mut role_groups = Vec::new();
        for entry in &config.oidc_role_group {
            let (role, group) = entry
                .split_once('=')
                .ok_or_else(|| format!("--oidc-role-group {entry}: expected ROLE=GROUP"))?;
            let role = Role::parse(role.trim()).ok_or_else(|| {
                format!("--oidc-role-group {entry}: the role is admin, leader or staff")
            })?;
            role_groups.push((role, group.trim().to_owned()));
        }
        let timeout = config.oidc_timeout_secs;
        if !(timeout.is_finite() && timeout > 0.0 && timeout < 1e6) {
            return Err("--oidc-timeout-secs must be a positive number of seconds".into());
        }
        let tls =
            crate::auth::tls::client_config(config.oidc_ca_file.as_deref(), "--oidc-ca-file")?;
        Ok(Some(Oidc {
            settings: Settings {
                issuer: issuer.clone(),
                client_id,
                client_secret,
                redirect_url,
                scopes: config.oidc_scopes.clone(),
                username_claim: config.oidc_username_claim.clone(),
                display_name_claim: config.oidc_display_name_claim.clone(),
                groups_claim: config.oidc_groups_claim.clone(),
                role_groups,
                team_groups: config
                    .oidc_team_group
                    .iter()
                    .map(|g| g.trim().to_owned())
                    .collect(),
                allow_http: config.oidc_allow_http,
            },
            fetch: Fetch::new(
                tls,
                Duration::from_secs_f64(timeout),
                config.oidc_allow_http,
            ),
            metadata: Mutex::new(None),
            jwks: Mutex::new(None),
            last_forced_fetch: Mutex::new(None),
        }))
    }

    /// The configured issuer (what ID tokens and, per RFC 9207, the
    /// callback's `iss` parameter must name).
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// Whether the redirect URL is `https://` (the state cookie is then
    /// `Secure`).
    pub fn redirect_is_https(&self) -> bool {
        self.settings.redirect_url.starts_with("https://")
    }

    /// Start a login: fresh state, nonce and PKCE verifier, and the
    /// provider's authorization URL carrying them.
    pub async fn authorize(&self) -> Result<Authorization, OidcError> {
        let meta = self.metadata().await?;
        let (state, nonce, verifier) = (random_b64(), random_b64(), random_b64());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let s = &self.settings;
        let params = [
            ("response_type", "code"),
            ("client_id", s.client_id.as_str()),
            ("redirect_uri", s.redirect_url.as_str()),
            ("scope", s.scopes.as_str()),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", fetch::form_encode(v)))
            .collect();
        let sep = if meta.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(Authorization {
            url: format!("{}{sep}{}", meta.authorization_endpoint, query.join("&")),
            state,
            nonce,
            verifier,
        })
    }

    /// Finish a login: exchange `code` at the token endpoint (with the PKCE
    /// verifier), verify the ID token against `nonce`, read the claims.
    pub async fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<OidcUser, OidcError> {
        let s = &self.settings;
        let meta = self.metadata().await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", s.redirect_url.as_str()),
            ("code_verifier", verifier),
        ];
        let basic = match &s.client_secret {
            Some(secret) => Some((s.client_id.as_str(), secret.as_str())),
            None => {
                // A public client (PKCE alone) names itself in the form.
                form.push(("client_id", s.client_id.as_str()));
                None
            }
        };
        let answer = self
            .fetch
            .post_form(&meta.token_endpoint, &form, basic)
            .await
            .map_err(OidcError::Unavailable)?;
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        if answer.status != 200 {
            let error = body.get("error").and_then(Value::as_str).unwrap_or("");
            return if (400..500).contains(&answer.status) && !error.is_empty() {
                Err(OidcError::Denied(format!(
                    "token endpoint: {}",
                    short(error)
                )))
            } else {
                Err(OidcError::Unavailable(format!(
                    "token endpoint answered {}",
                    answer.status
                )))
            };
        }
        let id_token = body
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| OidcError::Unavailable("token endpoint gave no id_token".into()))?;
        let parts = jwt::parse(id_token)?;
        match parts.verify(&self.keys(false).await?) {
            Err(jwt::JwtError::UnknownKey) => parts.verify(&self.keys(true).await?)?,
            other => other?,
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let subject = jwt::check_claims(
            &parts.claims,
            &jwt::Expect {
                issuer: &s.issuer,
                client_id: &s.client_id,
                nonce,
                now,
            },
        )?;
        let mut claims = parts.claims;
        let access_token = body.get("access_token").and_then(Value::as_str);
        let wanted = [
            s.username_claim.as_str(),
            s.display_name_claim.as_str(),
            s.groups_claim.as_str(),
        ];
        if wanted.iter().any(|c| claims.get(c).is_none())
            && let (Some(url), Some(token)) = (&meta.userinfo_endpoint, access_token)
        {
            self.merge_userinfo(url, token, &subject, &mut claims)
                .await?;
        }
        self.map_claims(subject, &claims)
    }

    /// Add the userinfo endpoint's claims that the ID token lacks (OpenID
    /// Connect Core 5.3.2: its `sub` must be the ID token's).
    async fn merge_userinfo(
        &self,
        url: &str,
        token: &str,
        subject: &str,
        claims: &mut Value,
    ) -> Result<(), OidcError> {
        let answer = self
            .fetch
            .get(url, Some(token))
            .await
            .map_err(OidcError::Unavailable)?;
        if answer.status != 200 {
            return Err(OidcError::Unavailable(format!(
                "userinfo answered {}",
                answer.status
            )));
        }
        let info: Value = serde_json::from_slice(&answer.body)
            .map_err(|_| OidcError::Unavailable("userinfo is not JSON".into()))?;
        if info.get("sub").and_then(Value::as_str) != Some(subject) {
            return Err(jwt::JwtError::Claims("userinfo is about another sub".into()).into());
        }
        if let (Some(info), Some(claims)) = (info.as_object(), claims.as_object_mut()) {
            for (k, v) in info {
                claims.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Ok(())
    }

    /// Username, display name, role and team flag from the claims, mapped
    /// as LDAP's groups are: the highest role among the groups the user is
    /// in wins, `staff` otherwise; any team group sets the team flag.
    fn map_claims(&self, subject: String, claims: &Value) -> Result<OidcUser, OidcError> {
        let s = &self.settings;
        let username = claims
            .get(&s.username_claim)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                OidcError::Claims(format!(
                    "the provider gave no {:?} claim to use as the username",
                    s.username_claim
                ))
            })?
            .to_owned();
        let groups: Vec<&str> = match claims.get(&s.groups_claim) {
            Some(Value::Array(a)) => a
                .iter()
                .take(MAX_GROUPS)
                .filter_map(Value::as_str)
                .collect(),
            Some(Value::String(g)) => vec![g.as_str()],
            _ => Vec::new(),
        };
        let role = s
            .role_groups
            .iter()
            .filter(|(_, g)| groups.contains(&g.as_str()))
            .map(|(role, _)| *role)
            .max_by_key(|r| rank(*r))
            .unwrap_or(Role::Staff);
        let transformation_team = s.team_groups.iter().any(|g| groups.contains(&g.as_str()));
        // As for LDAP: at most 64 characters, no bidirectional controls;
        // the username otherwise.
        let display_name = claims
            .get(&s.display_name_claim)
            .and_then(Value::as_str)
            .map(|d| d.trim().chars().take(64).collect::<String>())
            .filter(|d| !d.is_empty() && crate::names::refuse_bidi("display name", d).is_ok())
            .unwrap_or_else(|| username.clone());
        Ok(OidcUser {
            issuer: s.issuer.clone(),
            subject,
            username,
            display_name,
            role,
            transformation_team,
        })
    }

    /// Discovery, cached.
    async fn metadata(&self) -> Result<Arc<Metadata>, OidcError> {
        if let Ok(guard) = self.metadata.lock()
            && let Some((at, meta)) = guard.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(meta.clone());
        }
        let s = &self.settings;
        let url = format!(
            "{}/.well-known/openid-configuration",
            s.issuer.trim_end_matches('/')
        );
        let answer = self
            .fetch
            .get(&url, None)
            .await
            .map_err(OidcError::Unavailable)?;
        if answer.status != 200 {
            return Err(OidcError::Unavailable(format!(
                "discovery ({url}) answered {}",
                answer.status
            )));
        }
        let doc: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| OidcError::Unavailable(format!("discovery: {e}")))?;
        let field = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_owned);
        // OpenID Connect Discovery 4.3: the document's issuer is exactly
        // the one configured (it is what ID tokens must name).
        if field("issuer").as_deref() != Some(s.issuer.as_str()) {
            return Err(OidcError::Unavailable(format!(
                "discovery names issuer {:?}, not the configured {:?}",
                field("issuer").unwrap_or_default(),
                s.issuer
            )));
        }
        let endpoint = |name: &str| -> Result<String, OidcError> {
            let url = field(name)
                .ok_or_else(|| OidcError::Unavailable(format!("discovery has no {name}")))?;
            if url.starts_with("https://") || (s.allow_http && url.starts_with("http://")) {
                Ok(url)
            } else {
                Err(OidcError::Unavailable(format!(
                    "discovery's {name} is not https"
                )))
            }
        };
        let meta = Arc::new(Metadata {
            authorization_endpoint: endpoint("authorization_endpoint")?,
            token_endpoint: endpoint("token_endpoint")?,
            jwks_uri: endpoint("jwks_uri")?,
            userinfo_endpoint: endpoint("userinfo_endpoint").ok(),
        });
        if let Ok(mut guard) = self.metadata.lock() {
            *guard = Some((Instant::now(), meta.clone()));
        }
        Ok(meta)
    }

    /// The provider's keys: cached, or fetched (again) when the cache is
    /// old, or when `unknown_kid` and no unknown kid made us fetch in the
    /// last [`JWKS_REFETCH_MIN`] (tokens with made-up kids cannot make us
    /// hammer the provider).
    async fn keys(&self, unknown_kid: bool) -> Result<Arc<Vec<jwt::Jwk>>, OidcError> {
        let cached = self
            .jwks
            .lock()
            .ok()
            .and_then(|guard| guard.as_ref().map(|(at, keys)| (*at, keys.clone())));
        let use_cache = if unknown_kid {
            match self.last_forced_fetch.lock() {
                Ok(last) if last.is_some_and(|t| t.elapsed() < JWKS_REFETCH_MIN) => true,
                Ok(mut last) => {
                    *last = Some(Instant::now());
                    false
                }
                Err(_) => true,
            }
        } else {
            cached
                .as_ref()
                .is_some_and(|(at, _)| at.elapsed() < METADATA_TTL)
        };
        if use_cache && let Some((_, keys)) = cached {
            return Ok(keys);
        }
        let meta = self.metadata().await?;
        let answer = self
            .fetch
            .get(&meta.jwks_uri, None)
            .await
            .map_err(OidcError::Unavailable)?;
        if answer.status != 200 {
            return Err(OidcError::Unavailable(format!(
                "JWKS answered {}",
                answer.status
            )));
        }
        let keys = Arc::new(jwt::parse_jwks(&answer.body).map_err(OidcError::Unavailable)?);
        if let Ok(mut guard) = self.jwks.lock() {
            *guard = Some((Instant::now(), keys.clone()));
        }
        Ok(keys)
    }
}

/// 256 random bits, base64url: state, nonce, PKCE verifier (RFC 7636 4.1
/// asks 43 to 128 characters of this alphabet; this is 43).
pub fn random_b64() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// A provider's error code as we repeat it: short, and only the characters
/// RFC 6749 allows in one.
fn short(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(64)
        .collect()
}

/// Shown to the user from a provider's `error` (the redirect's).
pub fn provider_error(s: &str) -> String {
    short(s)
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Staff => 0,
        Role::Leader => 1,
        Role::Admin => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str) -> OidcConfig {
        OidcConfig {
            oidc_issuer: Some(issuer.into()),
            oidc_client_id: Some("townhall".into()),
            oidc_redirect_url: Some("https://chat.example/api/oidc/callback".into()),
            ..OidcConfig::default()
        }
    }

    #[test]
    fn plain_http_issuers_need_an_explicit_flag() {
        let err = Oidc::from_config(&config("http://127.0.0.1:9"), None)
            .err()
            .expect("refused");
        assert!(err.contains("--oidc-allow-http"), "{err}");
        let mut c = config("http://127.0.0.1:9");
        c.oidc_allow_http = true;
        assert!(matches!(Oidc::from_config(&c, None), Ok(Some(_))));
        assert!(matches!(
            Oidc::from_config(&config("https://idp.example"), None),
            Ok(Some(_))
        ));
        assert!(Oidc::from_config(&config("ftp://idp.example"), None).is_err());
        assert!(matches!(
            Oidc::from_config(&OidcConfig::default(), None),
            Ok(None)
        ));
    }

    #[test]
    fn claims_map_to_username_display_name_and_groups_as_ldap_does() {
        let mut c = config("https://idp.example");
        c.oidc_role_group = vec!["leader=leads".into(), "admin=it-admins".into()];
        c.oidc_team_group = vec!["transformation".into()];
        let oidc = Oidc::from_config(&c, None).expect("config").expect("oidc");
        let user = oidc
            .map_claims(
                "sub-1".into(),
                &serde_json::json!({"preferred_username": "alice", "name": " Alice A. ",
                                    "groups": ["leads", "it-admins", "transformation"]}),
            )
            .expect("mapped");
        assert_eq!(
            (
                user.username.as_str(),
                user.display_name.as_str(),
                user.role,
                user.transformation_team
            ),
            ("alice", "Alice A.", Role::Admin, true)
        );
        let plain = oidc
            .map_claims(
                "sub-2".into(),
                &serde_json::json!({"preferred_username": "bob", "groups": "x"}),
            )
            .expect("mapped");
        assert_eq!(
            (
                plain.display_name.as_str(),
                plain.role,
                plain.transformation_team
            ),
            ("bob", Role::Staff, false)
        );
        assert!(matches!(
            oidc.map_claims("sub-3".into(), &serde_json::json!({"name": "No Name"})),
            Err(OidcError::Claims(_))
        ));
        let mut bad = config("https://idp.example");
        bad.oidc_role_group = vec!["owner=x".into()];
        assert!(Oidc::from_config(&bad, None).is_err());
    }
}
