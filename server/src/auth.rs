//! Passwords and session tokens.
//!
//! Passwords: argon2id with the crate defaults (19 MiB, 2 passes, 1 lane,
//! OWASP's minimum). Tokens: 256 random bits, hex; only their SHA-256 is
//! stored, so a copy of the data folder holds no usable token.
//!
//! [`ldap`]: logins checked by a company directory (LDAP / Active Directory).
//! [`oidc`]: logins through an OpenID Connect provider.

pub mod ldap;
pub mod oidc;
pub mod tls;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2: {e}"))
}

/// Does `password` match the PHC string `hash`? A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash of a password nobody has, checked when the username is unknown so
/// that an unknown user costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

/// The password "hash" of a directory account: not a PHC string, so no
/// password ever matches it locally (the directory checks the password).
pub const DIRECTORY_PASSWORD_HASH: &str = "!directory";

/// Which logins the server accepts (`--login-sources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginSources {
    /// Accounts with a Townhall password. Local admins log in even when
    /// this is off (break-glass: the directory may be down or misconfigured).
    pub local: bool,
    /// The company directory (`--ldap-url`).
    pub ldap: bool,
    /// The OpenID Connect provider (`--oidc-issuer`).
    pub oidc: bool,
}

impl Default for LoginSources {
    fn default() -> Self {
        LoginSources {
            local: true,
            ldap: false,
            oidc: false,
        }
    }
}

impl LoginSources {
    /// The sources `--login-sources` names (default: local, plus ldap when
    /// a directory is configured and oidc when a provider is), or why they
    /// cannot work.
    pub fn from_config(
        names: &[String],
        directory_configured: bool,
        oidc_configured: bool,
    ) -> Result<LoginSources, String> {
        if names.is_empty() {
            return Ok(LoginSources {
                local: true,
                ldap: directory_configured,
                oidc: oidc_configured,
            });
        }
        let mut sources = LoginSources {
            local: false,
            ldap: false,
            oidc: false,
        };
        for name in names {
            match name.trim() {
                "local" => sources.local = true,
                "ldap" => sources.ldap = true,
                "oidc" => sources.oidc = true,
                other => {
                    return Err(format!(
                        "--login-sources: unknown source {other:?} (expected local, ldap, oidc)"
                    ));
                }
            }
        }
        if sources.ldap && !directory_configured {
            return Err("--login-sources ldap needs --ldap-url".into());
        }
        if sources.oidc && !oidc_configured {
            return Err("--login-sources oidc needs --oidc-issuer".into());
        }
        Ok(sources)
    }
}

/// A new session token and the hash it is stored under.
pub fn new_token() -> (String, [u8; 32]) {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A readable random password for the first admin (about 120 bits).
pub fn random_password() -> String {
    let mut raw = [0u8; 15];
    rand::rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_and_rejects_wrong_or_malformed() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn login_sources_default_to_what_is_configured() {
        let none: [String; 0] = [];
        assert_eq!(
            LoginSources::from_config(&none, true, false),
            Ok(LoginSources {
                local: true,
                ldap: true,
                oidc: false,
            })
        );
        assert_eq!(
            LoginSources::from_config(&["ldap".into()], true, true),
            Ok(LoginSources {
                local: false,
                ldap: true,
                oidc: false,
            })
        );
        assert_eq!(
            LoginSources::from_config(&["oidc".into()], false, true),
            Ok(LoginSources {
                local: false,
                ldap: false,
                oidc: true,
            })
        );
        assert!(LoginSources::from_config(&["ldap".into()], false, true).is_err());
        assert!(LoginSources::from_config(&["oidc".into()], true, false).is_err());
        assert!(LoginSources::from_config(&["saml".into()], true, true).is_err());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(hash_token(&a), ha);
    }
}
