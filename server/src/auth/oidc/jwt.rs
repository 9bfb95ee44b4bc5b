//! ID token verification: a JWS in compact form, signed with RS256 or
//! ES256, checked with `ring` against the provider's JWKS (RFC 7515, 7517,
//! 7518), then its claims against what this login expects (OpenID Connect
//! Core 3.1.3.7).
//!
//! Only the two asymmetric algorithms are accepted: `none` and the HMAC
//! ones (`HS256`, whose key would be our client secret) are refused
//! whatever the header says, so a token cannot choose how it is checked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature;
use serde_json::Value;

/// Seconds of clock difference tolerated between us and the provider on
/// `exp`, `iat` and `nbf`: a minute is what common libraries allow, and an
/// ID token is used at once, within seconds of being issued.
pub const LEEWAY_SECS: u64 = 60;

/// Longest `sub` (OpenID Connect Core 2: at most 255 ASCII characters).
const MAX_SUBJECT: usize = 255;

/// Why an ID token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the ID token is not a well-formed JWS: {0}")]
    Malformed(String),
    #[error("the ID token's algorithm {0:?} is not accepted (RS256, ES256)")]
    Algorithm(String),
    /// No key of the provider's JWKS matches the header's `kid` and
    /// algorithm: the caller fetches the JWKS again once (a key rotation).
    #[error("no key of the provider matches the ID token's kid")]
    UnknownKey,
    #[error("the ID token's signature does not verify")]
    Signature,
    #[error("the ID token's claims are refused: {0}")]
    Claims(String),
}

/// One public key of the provider's JWKS that we can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub kid: Option<String>,
    pub key: Key,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// A P-256 point, uncompressed (`0x04 ‖ x ‖ y`), as ring takes it.
    P256 { point: Vec<u8> },
}

/// The keys of a JWKS document we can verify with (RSA, and EC on P-256)
/// whose `use` is `sig` or absent; others (encryption keys, other curves)
/// are skipped, not an error.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<Jwk>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("JWKS: {e}"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("JWKS: no \"keys\" array")?;
    let b64 = |k: &Value, name: &str| -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(k.get(name)?.as_str()?).ok()
    };
    let mut out = Vec::new();
    for k in keys {
        if k.get("use")
            .and_then(Value::as_str)
            .is_some_and(|u| u != "sig")
        {
            continue;
        }
        let kid = k.get("kid").and_then(Value::as_str).map(str::to_owned);
        let key = match (
            k.get("kty").and_then(Value::as_str),
            k.get("crv").and_then(Value::as_str),
        ) {
            (Some("RSA"), _) => match (b64(k, "n"), b64(k, "e")) {
                (Some(n), Some(e)) => Key::Rsa {
                    n: strip_zeros(n),
                    e: strip_zeros(e),
                },
                _ => continue,
            },
            (Some("EC"), Some("P-256")) => match (b64(k, "x"), b64(k, "y")) {
                (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                    let mut point = Vec::with_capacity(65);
                    point.push(4);
                    point.extend_from_slice(&x);
                    point.extend_from_slice(&y);
                    Key::P256 { point }
                }
                _ => continue,
            },
            _ => continue,
        };
        out.push(Jwk { kid, key });
    }
    Ok(out)
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|b| **b == 0).count();
    v.drain(..zeros);
    v
}

/// A compact JWS taken apart (nothing verified yet).
#[derive(Debug)]
pub struct Parts<'a> {
    pub alg: String,
    pub kid: Option<String>,
    /// `header.payload`, what the signature covers.
    signing_input: &'a str,
    signature: Vec<u8>,
    pub claims: Value,
}

/// Split and decode a compact JWS (three base64url parts).
pub fn parse(token: &str) -> Result<Parts<'_>, JwtError> {
    let bad = |what: &str| JwtError::Malformed(what.to_owned());
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(bad("expected three dot-separated parts"));
    };
    let decode = |part: &str, what: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| bad(what));
    let header: Value = serde_json::from_slice(&decode(h, "header is not base64url")?)
        .map_err(|_| bad("header is not JSON"))?;
    let claims: Value = serde_json::from_slice(&decode(p, "payload is not base64url")?)
        .map_err(|_| bad("payload is not JSON"))?;
    if !claims.is_object() {
        return Err(bad("payload is not a JSON object"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("header has no alg"))?
        .to_owned();
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok(Parts {
        alg,
        kid,
        signing_input: &token[..h.len() + 1 + p.len()],
        signature: decode(s, "signature is not base64url")?,
        claims,
    })
}

impl Parts<'_> {
    /// Verify the signature with the key `keys` has for the header's `kid`
    /// (any key of the algorithm's type when the header names none).
    pub fn verify(&self, keys: &[Jwk]) -> Result<(), JwtError> {
        let rsa = match self.alg.as_str() {
            "RS256" => true,
            "ES256" => false,
            other => return Err(JwtError::Algorithm(other.to_owned())),
        };
        let candidates = keys.iter().filter(|k| {
            matches!(
                (&k.key, rsa),
                (Key::Rsa { .. }, true) | (Key::P256 { .. }, false)
            ) && (self.kid.is_none() || k.kid == self.kid)
        });
        let mut any = false;
        for k in candidates {
            any = true;
            let ok = match &k.key {
                Key::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }
                    .verify(
                        &signature::RSA_PKCS1_2048_8192_SHA256,
                        self.signing_input.as_bytes(),
                        &self.signature,
                    )
                    .is_ok(),
                Key::P256 { point } => {
                    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(self.signing_input.as_bytes(), &self.signature)
                        .is_ok()
                }
            };
            if ok {
                return Ok(());
            }
        }
        if any {
            Err(JwtError::Signature)
        } else {
            Err(JwtError::UnknownKey)
        }
    }
}

/// What the ID token of this login must say.
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Seconds since the Unix epoch.
    pub now: u64,
}

/// Check the claims (OpenID Connect Core 3.1.3.7): the issuer exactly, our
/// client among the audiences (and as `azp` when one is given), not
/// expired, not issued or valid only in the future, our nonce, a subject.
/// Returns the subject.
pub fn check_claims(claims: &Value, expect: &Expect<'_>) -> Result<String, JwtError> {
    let refuse = |why: String| Err(JwtError::Claims(why));
    let str_claim = |name: &str| claims.get(name).and_then(Value::as_str);
    let num_claim = |name: &str| claims.get(name).and_then(Value::as_u64);
    if str_claim("iss") != Some(expect.issuer) {
        return refuse(format!(
            "iss {:?} is not the configured issuer",
            str_claim("iss").unwrap_or("")
        ));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return refuse("no aud".into()),
    };
    if !audiences.contains(&expect.client_id) {
        return refuse("aud does not name this client".into());
    }
    if let Some(azp) = claims.get("azp")
        && azp.as_str() != Some(expect.client_id)
    {
        return refuse("azp is another client".into());
    }
    let Some(exp) = num_claim("exp") else {
        return refuse("no exp".into());
    };
    if expect.now >= exp.saturating_add(LEEWAY_SECS) {
        return refuse("expired".into());
    }
    if num_claim("iat").is_some_and(|iat| iat > expect.now + LEEWAY_SECS) {
        return refuse("issued in the future".into());
    }
    if num_claim("nbf").is_some_and(|nbf| nbf > expect.now + LEEWAY_SECS) {
        return refuse("not valid yet".into());
    }
    if str_claim("nonce") != Some(expect.nonce) {
        return refuse("nonce does not match this login".into());
    }
    match str_claim("sub") {
        Some(sub) if !sub.is_empty() && sub.len() <= MAX_SUBJECT => Ok(sub.to_owned()),
        _ => refuse("sub missing or longer than 255 bytes".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    fn b64(v: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    struct Signer {
        pair: EcdsaKeyPair,
        rng: SystemRandom,
    }

    impl Signer {
        fn new() -> Signer {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .expect("pair");
            Signer { pair, rng }
        }

        fn jwk(&self, kid: &str) -> Value {
            let p = self.pair.public_key().as_ref();
            json!({"kty": "EC", "crv": "P-256", "use": "sig", "kid": kid,
                   "x": b64(&p[1..33]), "y": b64(&p[33..65])})
        }

        fn sign(&self, header: Value, claims: &Value) -> String {
            let input = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let sig = self.pair.sign(&self.rng, input.as_bytes()).expect("sign");
            format!("{input}.{}", b64(sig.as_ref()))
        }
    }

    fn claims(now: u64) -> Value {
        json!({"iss": "https://idp.example", "aud": "townhall", "sub": "248289761001",
               "exp": now + 300, "iat": now, "nonce": "n-0S6_WzA2Mj"})
    }

    fn expect(now: u64) -> Expect<'static> {
        Expect {
            issuer: "https://idp.example",
            client_id: "townhall",
            nonce: "n-0S6_WzA2Mj",
            now,
        }
    }

    #[test]
    fn an_es256_token_from_the_provider_verifies_and_its_claims_pass() {
        let s = Signer::new();
        let keys = parse_jwks(json!({"keys": [s.jwk("k1")]}).to_string().as_bytes()).expect("jwks");
        let now = 1_800_000_000;
        let token = s.sign(json!({"alg": "ES256", "kid": "k1"}), &claims(now));
        let parts = parse(&token).expect("parse");
        parts.verify(&keys).expect("signature");
        assert_eq!(
            check_claims(&parts.claims, &expect(now)).as_deref(),
            Ok("248289761001")
        );
    }

    #[test]
    fn another_key_an_unknown_kid_or_a_changed_payload_is_refused() {
        let (s, other) = (Signer::new(), Signer::new());
        let keys = parse_jwks(json!({"keys": [s.jwk("k1")]}).to_string().as_bytes()).expect("jwks");
        let now = 1_800_000_000;
        // Signed by a key that claims the provider's kid.
        let forged = other.sign(json!({"alg": "ES256", "kid": "k1"}), &claims(now));
        assert_eq!(
            parse(&forged).expect("parse").verify(&keys),
            Err(JwtError::Signature)
        );
        // A kid the JWKS does not have (yet): the caller refetches.
        let rotated = s.sign(json!({"alg": "ES256", "kid": "k2"}), &claims(now));
        assert_eq!(
            parse(&rotated).expect("parse").verify(&keys),
            Err(JwtError::UnknownKey)
        );
        // The payload swapped after signing.
        let good = s.sign(json!({"alg": "ES256", "kid": "k1"}), &claims(now));
        let mut changed = claims(now);
        changed["sub"] = json!("someone-else");
        let mut pieces: Vec<&str> = good.split('.').collect();
        let payload = b64(changed.to_string().as_bytes());
        pieces[1] = &payload;
        let tampered = pieces.join(".");
        assert_eq!(
            parse(&tampered).expect("parse").verify(&keys),
            Err(JwtError::Signature)
        );
    }

    #[test]
    fn none_and_hmac_algorithms_are_refused_whatever_the_keys() {
        let s = Signer::new();
        let keys = parse_jwks(json!({"keys": [s.jwk("k1")]}).to_string().as_bytes()).expect("jwks");
        for alg in ["none", "HS256", "RS512", "ES384"] {
            let token = format!(
                "{}.{}.",
                b64(json!({"alg": alg, "kid": "k1"}).to_string().as_bytes()),
                b64(claims(0).to_string().as_bytes())
            );
            assert_eq!(
                parse(&token).expect("parse").verify(&keys),
                Err(JwtError::Algorithm(alg.into()))
            );
        }
        assert!(matches!(parse("a.b"), Err(JwtError::Malformed(_))));
        assert!(matches!(
            parse("e30.e30.e30.e30"),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn wrong_audience_issuer_nonce_or_an_expired_token_is_refused() {
        let now = 1_800_000_000;
        let with = |key: &str, value: Value| {
            let mut c = claims(now);
            c[key] = value;
            check_claims(&c, &expect(now))
        };
        assert!(matches!(
            with("aud", json!("another-app")),
            Err(JwtError::Claims(_))
        ));
        assert!(with("aud", json!(["another-app", "townhall"])).is_ok());
        assert!(matches!(
            with("azp", json!("another-app")),
            Err(JwtError::Claims(_))
        ));
        assert!(matches!(
            with("iss", json!("https://evil.example")),
            Err(JwtError::Claims(_))
        ));
        assert!(matches!(
            with("nonce", json!("replayed")),
            Err(JwtError::Claims(_))
        ));
        assert!(matches!(
            with("exp", json!(now - LEEWAY_SECS)),
            Err(JwtError::Claims(_))
        ));
        assert!(with("exp", json!(now - LEEWAY_SECS + 1)).is_ok());
        assert!(matches!(
            with("iat", json!(now + 3600)),
            Err(JwtError::Claims(_))
        ));
        assert!(matches!(with("sub", json!("")), Err(JwtError::Claims(_))));
        let mut no_nonce = claims(now);
        no_nonce.as_object_mut().expect("object").remove("nonce");
        assert!(check_claims(&no_nonce, &expect(now)).is_err());
    }

    #[test]
    fn jwks_skips_keys_it_cannot_use() {
        let doc = json!({"keys": [
            {"kty": "RSA", "use": "enc", "kid": "e", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
            {"kty": "oct", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "r", "n": "AAEC", "e": "AQAB"}
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).expect("jwks");
        assert_eq!(
            keys,
            vec![Jwk {
                kid: Some("r".into()),
                key: Key::Rsa {
                    n: vec![1, 2],
                    e: vec![1, 0, 1]
                }
            }]
        );
        assert!(parse_jwks(b"{}").is_err());
    }
}
