//! The anonymous-asker secret and the keys made from it.
//!
//! 32 random bytes in a file (`<data>/anon-secret` by default, mode 0600,
//! made at first start; `--anon-secret-file` names another). Every node of
//! a cluster must use the same file, or a question asked through one node
//! could not be edited through another: so in cluster mode there is no
//! default, and a node started without the flag answers `unavailable` to
//! anonymous requests. The secret never goes into the log: the NATS stream
//! would then hold the key beside every tag made with it.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use townhall_protocol::UserId;

/// Bytes of secret: the HMAC-SHA256 key length, so the key is never hashed
/// down first.
const SECRET_BYTES: usize = 32;

/// Domain separation: a key made for another purpose from the same secret
/// can never equal an asker key.
const OWNER_DOMAIN: &[u8] = b"townhall anonymous asker v1";

/// An asker as the log and the store know them: HMAC-SHA256(secret,
/// domain ‖ user id). On the wire and in the log, 64 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerKey(pub [u8; 32]);

impl serde::Serialize for OwnerKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for OwnerKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(OwnerKey(out))
    }
}

/// The secret every asker key is made with.
pub struct Secret {
    key: [u8; SECRET_BYTES],
}

/// Why the secret could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("anonymous-question secret {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "anonymous-question secret {path} must hold exactly {SECRET_BYTES} bytes, it has {len}"
    )]
    Length { path: String, len: usize },
}

impl Secret {
    /// Read the secret at `path`, or make a new one there if `create` and
    /// there is no file yet.
    pub fn load(path: &Path, create: bool) -> Result<Secret, SecretError> {
        let io = |source| SecretError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let key = <[u8; SECRET_BYTES]>::try_from(bytes.as_slice()).map_err(|_| {
                    SecretError::Length {
                        path: path.display().to_string(),
                        len: bytes.len(),
                    }
                })?;
                Ok(Secret { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let key: [u8; SECRET_BYTES] = rand::random();
                let tmp = path.with_extension("tmp");
                let mut f = open_private(&tmp).map_err(io)?;
                f.write_all(&key).map_err(io)?;
                f.sync_all().map_err(io)?;
                std::fs::rename(&tmp, path).map_err(io)?;
                Ok(Secret { key })
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A secret from bytes (tests).
    pub fn from_bytes(key: [u8; SECRET_BYTES]) -> Secret {
        Secret { key }
    }

    /// The asker key of `user`.
    pub fn owner(&self, user: UserId) -> OwnerKey {
        let mut msg = Vec::with_capacity(OWNER_DOMAIN.len() + 16);
        msg.extend_from_slice(OWNER_DOMAIN);
        msg.extend_from_slice(user.as_bytes());
        OwnerKey(hmac_sha256(&self.key, &msg))
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

/// HMAC-SHA256 (RFC 2104) with a key of at most one block: a dozen lines
/// over `sha2`, checked against RFC 4231 below, rather than one more crate.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_cases_1_and_2() {
        let tag = hmac_sha256(&[0x0b; 20], b"Hi There");
        assert_eq!(
            hex::encode(tag),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_differ_per_person_and_per_secret_and_round_trip_as_hex() {
        let a = Secret::from_bytes([1; 32]);
        let b = Secret::from_bytes([2; 32]);
        let u = UserId::from_bytes([7; 16]);
        let v = UserId::from_bytes([8; 16]);
        assert_eq!(a.owner(u), a.owner(u));
        assert_ne!(a.owner(u), a.owner(v));
        assert_ne!(a.owner(u), b.owner(u));
        let json = serde_json::to_string(&a.owner(u)).expect("json");
        assert_eq!(json.len(), 66);
        let back: OwnerKey = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, a.owner(u));
    }

    #[test]
    fn a_new_secret_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("anon-secret");
        assert!(Secret::load(&path, false).is_err(), "no file, no create");
        let made = Secret::load(&path, true).expect("made");
        let read = Secret::load(&path, true).expect("read");
        assert_eq!(made.key, read.key);
        std::fs::write(&path, [0u8; 5]).expect("write");
        assert!(matches!(
            Secret::load(&path, true),
            Err(SecretError::Length { len: 5, .. })
        ));
    }
}
