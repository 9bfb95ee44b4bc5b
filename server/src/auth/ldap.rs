//! Directory logins: LDAP and Active Directory, through `ldap3` over
//! rustls.
//!
//! A login connects (LDAPS, or LDAP upgraded with StartTLS; plain LDAP only
//! with `--ldap-allow-plain`), binds as the service account, searches the
//! user with the configured filter (the login name escaped per RFC 4515),
//! reads their groups, and proves the password by binding as the user's DN
//! on the same connection. It answers who the user is in Townhall's terms
//! (username, display name, role, team flag, disabled); making or updating
//! the account is the caller's business (a command through the log, so every
//! node agrees). The periodic sync uses [`DirectorySession::find`] alone.
//!
//! Every directory operation is bounded by `--ldap-timeout-secs`: a slow or
//! dead directory gives [`DirectoryError::Unavailable`], never a hung login.
//! One connection per login or sync round: logins are rare next to chat
//! traffic, and a pool would have to detect connections the directory or a
//! firewall dropped.

use crate::config::LdapConfig;
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions};
use std::sync::Arc;
use std::time::Duration;
use townhall_protocol::Role;

/// LDAP result codes we tell apart (RFC 4511, appendix A).
const RC_SIZE_LIMIT_EXCEEDED: u32 = 4;
const RC_INVALID_CREDENTIALS: u32 = 49;
const RC_UNWILLING_TO_PERFORM: u32 = 53;
const RC_INAPPROPRIATE_AUTH: u32 = 48;

/// Operational attributes naming an entry for good, asked for by name
/// (operational attributes are only returned when named). A directory
/// ignores the one it does not know.
const ENTRY_ID_ATTRIBUTES: [&str; 2] = ["entryUUID", "objectGUID"];

/// Most groups read for one user: role mapping needs a handful, and an
/// unbounded answer would be read into memory on every login.
const MAX_GROUPS: i32 = 1_000;

/// Why a directory login failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Unknown user or wrong password: one answer.
    #[error("wrong password or no such directory user")]
    BadCredentials,
    /// More than one entry matches the user filter: a login is refused (as
    /// [`DirectoryError::BadCredentials`]), the sync skips the account
    /// (never "gone": a filter or base gone wrong must not disable anyone).
    #[error("the LDAP user filter matched more than one entry")]
    Ambiguous,
    /// The directory could not be reached, refused our TLS, did not answer
    /// in time, or refused the service account. The detail is for the log.
    #[error("{0}")]
    Unavailable(String),
}

/// A user as the directory describes them, mapped to Townhall's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub dn: String,
    /// The entry's immutable id, if the directory gives one: `entryUUID`
    /// (OpenLDAP, RFC 4530) or `objectGUID` (AD, as lower-case hex). Unlike
    /// the username and the DN it is never reused for another person.
    pub entry_id: Option<String>,
    /// The username attribute's value (or the login name if it has none).
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub transformation_team: bool,
    pub disabled: bool,
}

/// How the directory marks a disabled user.
#[derive(Debug, Clone)]
enum DisabledRule {
    /// The attribute has this value (compared without case).
    Value { attribute: String, value: String },
    /// The attribute, as a number, has one of these bits (AD's
    /// userAccountControl, ACCOUNTDISABLE = 2).
    Bits { attribute: String, mask: u64 },
}

#[derive(Debug)]
struct Settings {
    url: String,
    starttls: bool,
    /// Our own rustls config when `--ldap-ca-file` names a private CA;
    /// `None`: ldap3's default, the system's trusted roots.
    tls: Option<Arc<rustls::ClientConfig>>,
    bind_dn: Option<String>,
    bind_password: String,
    user_base: String,
    user_filter: String,
    username_attribute: String,
    display_name_attribute: String,
    group_attribute: Option<String>,
    group_base: Option<String>,
    group_filter: String,
    /// (role, normalized group DN), from `--ldap-role-group`.
    role_groups: Vec<(Role, String)>,
    /// Normalized group DNs, from `--ldap-team-group`.
    team_groups: Vec<String>,
    disabled: Option<DisabledRule>,
    timeout: Duration,
    sync_every: Duration,
}

/// A configured directory; cheap to clone.
#[derive(Debug, Clone)]
pub struct Directory {
    settings: Arc<Settings>,
}

impl Directory {
    /// The directory `config` describes, `None` without `--ldap-url`, or
    /// why the configuration cannot work (the server refuses to start).
    pub fn from_config(config: &LdapConfig) -> Result<Option<Directory>, String> {
        let Some(url) = config.ldap_url.clone() else {
            return Ok(None);
        };
        let tls_from_start = if let Some(rest) = url.strip_prefix("ldaps://") {
            !rest.is_empty()
        } else if url.starts_with("ldap://") {
            false
        } else {
            return Err(format!(
                "--ldap-url {url}: expected ldaps://host[:port] or ldap://host[:port]"
            ));
        };
        if tls_from_start && config.ldap_starttls {
            return Err("--ldap-starttls is for ldap:// URLs (ldaps:// is TLS already)".into());
        }
        if !tls_from_start && !config.ldap_starttls && !config.ldap_allow_plain {
            return Err(format!(
                "--ldap-url {url} is plain LDAP: passwords would cross the network in clear. \
                 Use ldaps://, or --ldap-starttls, or (same host or trusted link only) --ldap-allow-plain"
            ));
        }
        let tls = match &config.ldap_ca_file {
            Some(path) => Some(super::tls::client_config(Some(path), "--ldap-ca-file")?),
            None => None,
        };
        let bind_password = match (&config.ldap_bind_password_file, &config.ldap_bind_dn) {
            (Some(path), _) => std::fs::read_to_string(path)
                .map_err(|e| format!("--ldap-bind-password-file {}: {e}", path.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            (None, Some(_)) => std::env::var("TOWNHALL_LDAP_BIND_PASSWORD").map_err(|_| {
                "--ldap-bind-dn needs --ldap-bind-password-file or TOWNHALL_LDAP_BIND_PASSWORD"
                    .to_owned()
            })?,
            (None, None) => String::new(),
        };
        if config.ldap_bind_dn.is_some() && bind_password.is_empty() {
            // An empty password makes a simple bind "unauthenticated" (RFC
            // 4513 5.1.2): it would silently search as anonymous.
            return Err("the LDAP service account's password is empty".into());
        }
        let user_base = config
            .ldap_user_base
            .clone()
            .ok_or("--ldap-url needs --ldap-user-base (where users are searched)")?;
        if !config.ldap_user_filter.contains("{username}") {
            return Err("--ldap-user-filter must contain {username}".into());
        }
        if config.ldap_group_base.is_some() && !config.ldap_group_filter.contains("{dn}") {
            return Err("--ldap-group-filter must contain {dn}".into());
        }
        let mut role_groups = Vec::new();
        for entry in &config.ldap_role_group {
            let (role, dn) = entry
                .split_once('=')
                .ok_or_else(|| format!("--ldap-role-group {entry}: expected ROLE=GROUP_DN"))?;
            let role = Role::parse(role.trim()).ok_or_else(|| {
                format!("--ldap-role-group {entry}: the role is admin, leader or staff")
            })?;
            role_groups.push((role, normalize_dn(dn)));
        }
        let disabled = match (
            &config.ldap_disabled_attribute,
            &config.ldap_disabled_value,
            config.ldap_disabled_bitmask,
        ) {
            (None, None, None) => None,
            (Some(attribute), Some(value), None) => Some(DisabledRule::Value {
                attribute: attribute.clone(),
                value: value.clone(),
            }),
            (Some(attribute), None, Some(mask)) if mask != 0 => Some(DisabledRule::Bits {
                attribute: attribute.clone(),
                mask,
            }),
            _ => {
                return Err("--ldap-disabled-attribute needs exactly one of \
                            --ldap-disabled-value or a non-zero --ldap-disabled-bitmask"
                    .into());
            }
        };
        let seconds = |name: &str, s: f64| {
            if s.is_finite() && s > 0.0 && s < 1e7 {
                Ok(Duration::from_secs_f64(s))
            } else {
                Err(format!("{name} must be a positive number of seconds"))
            }
        };
        Ok(Some(Directory {
            settings: Arc::new(Settings {
                url,
                starttls: config.ldap_starttls,
                tls,
                bind_dn: config.ldap_bind_dn.clone(),
                bind_password,
                user_base,
                user_filter: config.ldap_user_filter.clone(),
                username_attribute: config.ldap_username_attribute.clone(),
                display_name_attribute: config.ldap_display_name_attribute.clone(),
                group_attribute: config.ldap_group_attribute.clone(),
                group_base: config.ldap_group_base.clone(),
                group_filter: config.ldap_group_filter.clone(),
                role_groups,
                team_groups: config
                    .ldap_team_group
                    .iter()
                    .map(|g| normalize_dn(g))
                    .collect(),
                disabled,
                timeout: seconds("--ldap-timeout-secs", config.ldap_timeout_secs)?,
                sync_every: seconds("--ldap-sync-secs", config.ldap_sync_secs)?,
            }),
        }))
    }

    /// How often the sync looks every directory account up.
    pub fn sync_every(&self) -> Duration {
        self.settings.sync_every
    }

    /// Prove `password` for the login name `username`. A user the directory
    /// marks disabled is returned (with `disabled`) only once the password
    /// is proved, so the caller can disable the account here too.
    pub async fn verify(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryUser, DirectoryError> {
        // An empty password would be an "unauthenticated bind", which many
        // directories accept as anonymous (RFC 4513 5.1.2).
        if password.is_empty() {
            return Err(DirectoryError::BadCredentials);
        }
        let mut session = self.connect().await?;
        let result = async {
            let user = match session.find(username).await {
                Ok(Some(user)) => user,
                Ok(None) | Err(DirectoryError::Ambiguous) => {
                    return Err(DirectoryError::BadCredentials);
                }
                Err(e) => return Err(e),
            };
            session.bind_as_user(&user.dn, password).await?;
            Ok(user)
        }
        .await;
        session.close().await;
        result
    }

    /// A connection bound as the service account (or anonymous).
    pub async fn connect(&self) -> Result<DirectorySession, DirectoryError> {
        let s = &self.settings;
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(s.timeout)
            .set_starttls(s.starttls);
        if let Some(tls) = &s.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, mut ldap) = tokio::time::timeout(
            // StartTLS is a round trip after the TCP connect.
            s.timeout * 2,
            LdapConnAsync::with_settings(settings, &s.url),
        )
        .await
        .map_err(|_| unavailable("connect", "timed out"))?
        .map_err(|e| unavailable("connect", e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection ended");
            }
        });
        if let Some(dn) = &s.bind_dn {
            ldap.with_timeout(s.timeout)
                .simple_bind(dn, &s.bind_password)
                .await
                .and_then(|r| r.success())
                .map_err(|e| unavailable("service account bind", e))?;
        }
        Ok(DirectorySession {
            ldap,
            settings: s.clone(),
        })
    }
}

/// One connection bound as the service account.
pub struct DirectorySession {
    ldap: ldap3::Ldap,
    settings: Arc<Settings>,
}

impl DirectorySession {
    /// The user whose login name is `username`; `None` if no entry matches,
    /// [`DirectoryError::Ambiguous`] if more than one does (an ambiguous
    /// filter must not pick one at random).
    pub async fn find(&mut self, username: &str) -> Result<Option<DirectoryUser>, DirectoryError> {
        let s = self.settings.clone();
        let filter = user_filter(&s.user_filter, username);
        let mut attrs = vec![
            s.username_attribute.as_str(),
            s.display_name_attribute.as_str(),
        ];
        attrs.extend(ENTRY_ID_ATTRIBUTES);
        if let Some(a) = &s.group_attribute {
            attrs.push(a);
        }
        if let Some(rule) = &s.disabled {
            attrs.push(match rule {
                DisabledRule::Value { attribute, .. } | DisabledRule::Bits { attribute, .. } => {
                    attribute
                }
            });
        }
        let result = self
            .ldap
            .with_timeout(s.timeout)
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(&s.user_base, Scope::Subtree, &filter, attrs)
            .await
            .map_err(|e| unavailable("user search", e))?;
        // Continuation references (AD answers a search at a domain's root
        // with some) are not entries.
        let entries: Vec<_> = result
            .0
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .collect();
        let status = result.1;
        if status.rc == RC_SIZE_LIMIT_EXCEEDED || entries.len() > 1 {
            tracing::warn!(username, "LDAP user filter matched more than one entry");
            return Err(DirectoryError::Ambiguous);
        }
        if status.rc != 0 {
            return Err(unavailable("user search", status));
        }
        let Some(entry) = entries.into_iter().next() else {
            return Ok(None);
        };
        let entry = construct(entry)?;
        let mut groups: Vec<String> = match &s.group_attribute {
            Some(a) => values(&entry, a).to_vec(),
            None => Vec::new(),
        };
        if let Some(base) = &s.group_base {
            groups.extend(self.groups_of(base, &entry.dn).await?);
        }
        let groups: Vec<String> = groups.iter().map(|g| normalize_dn(g)).collect();
        let role = s
            .role_groups
            .iter()
            .filter(|(_, g)| groups.contains(g))
            .map(|(role, _)| *role)
            .max_by_key(|r| rank(*r))
            .unwrap_or(Role::Staff);
        let transformation_team = s.team_groups.iter().any(|g| groups.contains(g));
        let disabled = match &s.disabled {
            None => false,
            Some(DisabledRule::Value { attribute, value }) => values(&entry, attribute)
                .iter()
                .any(|v| v.eq_ignore_ascii_case(value)),
            Some(DisabledRule::Bits { attribute, mask }) => {
                values(&entry, attribute).iter().any(|v| {
                    v.trim()
                        .parse::<i64>()
                        .is_ok_and(|n| (n as u64) & mask != 0)
                })
            }
        };
        let username = values(&entry, &s.username_attribute)
            .first()
            .cloned()
            .unwrap_or_else(|| username.to_owned());
        // As Townhall takes a display name: at most 64 characters, no
        // bidirectional controls; the username otherwise.
        let display_name = values(&entry, &s.display_name_attribute)
            .first()
            .map(|d| d.trim().chars().take(64).collect::<String>())
            .filter(|d| !d.is_empty() && crate::names::refuse_bidi("display name", d).is_ok())
            .unwrap_or_else(|| username.clone());
        let entry_id = entry_id(&entry);
        Ok(Some(DirectoryUser {
            dn: entry.dn,
            entry_id,
            username,
            display_name,
            role,
            transformation_team,
            disabled,
        }))
    }

    /// The DNs of the groups under `base` that match the group filter.
    async fn groups_of(&mut self, base: &str, dn: &str) -> Result<Vec<String>, DirectoryError> {
        let s = self.settings.clone();
        let filter = s.group_filter.replace("{dn}", &ldap3::ldap_escape(dn));
        // "1.1": no attributes, the DNs are all we need (RFC 4511 4.5.1.8).
        let (entries, _) = self
            .ldap
            .with_timeout(s.timeout)
            .with_search_options(SearchOptions::new().sizelimit(MAX_GROUPS))
            .search(base, Scope::Subtree, &filter, vec!["1.1"])
            .await
            .map_err(|e| unavailable("group search", e))?
            .within_limit()
            .map_err(|e| unavailable("group search", e))?;
        entries
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .map(|e| construct(e).map(|e| e.dn))
            .collect()
    }

    /// Bind as the user: the directory checks the password (and, in AD,
    /// whether the account may log in at all).
    async fn bind_as_user(&mut self, dn: &str, password: &str) -> Result<(), DirectoryError> {
        let result = self
            .ldap
            .with_timeout(self.settings.timeout)
            .simple_bind(dn, password)
            .await
            .map_err(|e| unavailable("user bind", e))?;
        match result.rc {
            0 => Ok(()),
            RC_INVALID_CREDENTIALS | RC_UNWILLING_TO_PERFORM | RC_INAPPROPRIATE_AUTH => {
                Err(DirectoryError::BadCredentials)
            }
            _ => Err(unavailable("user bind", result)),
        }
    }

    /// End the connection politely (best effort).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(self.settings.timeout, self.ldap.unbind()).await;
    }
}

/// Search results with size-limit-exceeded accepted (we asked for a
/// limit: the first [`MAX_GROUPS`] are used).
trait WithinLimit {
    fn within_limit(self)
    -> Result<(Vec<ldap3::ResultEntry>, ldap3::LdapResult), ldap3::LdapError>;
}

impl WithinLimit for ldap3::SearchResult {
    fn within_limit(
        self,
    ) -> Result<(Vec<ldap3::ResultEntry>, ldap3::LdapResult), ldap3::LdapError> {
        if self.1.rc == 0 || self.1.rc == RC_SIZE_LIMIT_EXCEEDED {
            Ok((self.0, self.1))
        } else {
            Err(ldap3::LdapError::from(self.1))
        }
    }
}

/// `SearchEntry::construct` without its panics: ldap3 0.12 `expect`s a
/// UTF-8 DN and attribute names and the BER shape it wants, so a directory
/// answering otherwise would panic a login or end the sync task. A panic
/// there is caught and becomes [`DirectoryError::Unavailable`] (the default
/// panic hook still prints it once, which is wanted: it is a directory to
/// look at). Nothing shared is touched inside, so unwinding is safe.
fn construct(entry: ldap3::ResultEntry) -> Result<SearchEntry, DirectoryError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        SearchEntry::construct(entry)
    }))
    .map_err(|_| {
        unavailable(
            "search entry",
            "malformed entry (non-UTF-8 DN or attribute name)",
        )
    })
}

/// The entry's immutable id ([`ENTRY_ID_ATTRIBUTES`]): `entryUUID` as
/// text (lower case), `objectGUID` (binary) as lower-case hex.
fn entry_id(entry: &SearchEntry) -> Option<String> {
    let text = entry.attrs.iter().find_map(|(k, v)| {
        ENTRY_ID_ATTRIBUTES
            .iter()
            .any(|a| k.eq_ignore_ascii_case(a))
            .then(|| v.first().map(|v| v.trim().to_lowercase()))
            .flatten()
    });
    let binary = || {
        entry.bin_attrs.iter().find_map(|(k, v)| {
            ENTRY_ID_ATTRIBUTES
                .iter()
                .any(|a| k.eq_ignore_ascii_case(a))
                .then(|| {
                    v.first()
                        .map(|v| v.iter().map(|b| format!("{b:02x}")).collect::<String>())
                })
                .flatten()
        })
    };
    text.or_else(binary).filter(|id| !id.is_empty())
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(format!("LDAP {what}: {e}"))
}

/// `--ldap-user-filter` with the login name in place of `{username}`,
/// escaped per RFC 4515, so `*`, `(`, `)`, `\` and NUL are literal
/// characters of the name and never filter syntax.
pub fn user_filter(template: &str, username: &str) -> String {
    template.replace("{username}", &ldap3::ldap_escape(username))
}

/// An attribute's values; attribute names are compared without case (the
/// directory answers with its own spelling, e.g. `memberof`).
fn values<'a>(entry: &'a SearchEntry, attribute: &str) -> &'a [String] {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .map_or(&[], |(_, v)| v.as_slice())
}

/// A DN in a form to compare: lower case, no spaces around `,` and `=`
/// (`CN=Admins, OU=Groups` and `cn=admins,ou=groups` are one group).
pub fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.split('=').map(str::trim).collect::<Vec<_>>().join("="))
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
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

    #[test]
    fn the_login_name_is_escaped_in_the_filter() {
        let t = "(&(objectClass=inetOrgPerson)(uid={username}))";
        assert_eq!(
            user_filter(t, "alice"),
            "(&(objectClass=inetOrgPerson)(uid=alice))"
        );
        // An injection attempt becomes a literal (and impossible) name.
        assert_eq!(
            user_filter(t, "*)(uid=*"),
            "(&(objectClass=inetOrgPerson)(uid=\\2a\\29\\28uid=\\2a))"
        );
        assert_eq!(
            user_filter(t, "a\\b\0"),
            "(&(objectClass=inetOrgPerson)(uid=a\\5cb\\00))"
        );
    }

    #[test]
    fn a_malformed_entry_is_an_error_not_a_panic() {
        use ldap3::asn1::{PL, StructureTag, TagClass};
        let prim = |id, bytes: &[u8]| StructureTag {
            class: TagClass::Universal,
            id,
            payload: PL::P(bytes.to_vec()),
        };
        let entry = |dn: &[u8], attr: &[u8]| {
            let values = StructureTag {
                class: TagClass::Universal,
                id: 17,
                payload: PL::C(vec![prim(4, b"x")]),
            };
            let attribute = StructureTag {
                class: TagClass::Universal,
                id: 16,
                payload: PL::C(vec![prim(4, attr), values]),
            };
            let attrs = StructureTag {
                class: TagClass::Universal,
                id: 16,
                payload: PL::C(vec![attribute]),
            };
            ldap3::ResultEntry::new(StructureTag {
                class: TagClass::Application,
                id: 4,
                payload: PL::C(vec![prim(4, dn), attrs]),
            })
        };
        let ok = construct(entry(b"uid=a,dc=x", b"entryUUID")).expect("well-formed");
        assert_eq!(ok.dn, "uid=a,dc=x");
        assert_eq!(entry_id(&ok).as_deref(), Some("x"));
        for bad in [
            entry(&[b'u', b'=', 0xff, 0xfe], b"cn"),
            entry(b"uid=a", &[b'c', 0xff, b'n']),
        ] {
            assert!(matches!(
                construct(bad),
                Err(DirectoryError::Unavailable(_))
            ));
        }
        // Not an entry at all (wrong tag).
        let wrong = ldap3::ResultEntry::new(prim(4, b"x"));
        assert!(matches!(
            construct(wrong),
            Err(DirectoryError::Unavailable(_))
        ));
    }

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(
            normalize_dn("CN=Admins, OU=Groups ,DC=Example"),
            "cn=admins,ou=groups,dc=example"
        );
    }

    fn config(url: &str) -> LdapConfig {
        LdapConfig {
            ldap_url: Some(url.into()),
            ldap_user_base: Some("ou=people,dc=example,dc=org".into()),
            ldap_user_filter: "(uid={username})".into(),
            ldap_group_filter: "(member={dn})".into(),
            ldap_sync_secs: 60.0,
            ldap_timeout_secs: 5.0,
            ..LdapConfig::default()
        }
    }

    #[test]
    fn plain_ldap_needs_an_explicit_flag() {
        let err = Directory::from_config(&config("ldap://127.0.0.1:389")).expect_err("plain");
        assert!(err.contains("--ldap-allow-plain"), "{err}");
        let mut c = config("ldap://127.0.0.1:389");
        c.ldap_starttls = true;
        assert!(Directory::from_config(&c).is_ok());
        let mut c = config("ldap://127.0.0.1:389");
        c.ldap_allow_plain = true;
        assert!(Directory::from_config(&c).is_ok());
        assert!(Directory::from_config(&config("ldaps://127.0.0.1:636")).is_ok());
        assert!(Directory::from_config(&config("http://127.0.0.1")).is_err());
    }

    #[test]
    fn role_groups_and_disabled_rules_are_checked_at_start() {
        let mut c = config("ldaps://h");
        c.ldap_role_group = vec!["owner=cn=x".into()];
        assert!(Directory::from_config(&c).is_err());
        let mut c = config("ldaps://h");
        c.ldap_disabled_attribute = Some("userAccountControl".into());
        assert!(Directory::from_config(&c).is_err());
        c.ldap_disabled_bitmask = Some(2);
        assert!(Directory::from_config(&c).is_ok());
        let mut c = config("ldaps://h");
        c.ldap_user_filter = "(uid=alice)".into();
        assert!(Directory::from_config(&c).is_err());
    }
}
