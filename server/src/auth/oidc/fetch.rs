//! The few HTTP requests made to the OpenID provider (discovery, JWKS,
//! token, userinfo): HTTP/1.1 over hyper's client connection, TLS with
//! rustls (ring) through tokio-rustls, the crates the server already has,
//! rather than a general HTTP client with its own TLS stack.
//!
//! One connection per request (`Connection: close`): a login makes two or
//! three requests and the keys are cached, so a pool would not pay for
//! itself. Every request is bounded by the configured timeout as a whole
//! (connect, TLS, answer, body) and by [`MAX_BODY`].

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest answer read from the provider: discovery documents, key sets
/// and token answers are a few KiB; anything past this is not one of them.
const MAX_BODY: usize = 256 * 1024;

pub struct Fetch {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
    /// `--oidc-allow-http`: plain `http://` URLs are allowed.
    allow_http: bool,
}

/// An answer: its status and its (bounded) body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Fetch {
    pub fn new(tls: Arc<rustls::ClientConfig>, timeout: Duration, allow_http: bool) -> Fetch {
        Fetch {
            tls: tokio_rustls::TlsConnector::from(tls),
            timeout,
            allow_http,
        }
    }

    /// GET `url`, with an `Authorization: Bearer` when given.
    pub async fn get(&self, url: &str, bearer: Option<&str>) -> Result<Answer, String> {
        let mut headers = Vec::new();
        if let Some(token) = bearer {
            headers.push((header::AUTHORIZATION, format!("Bearer {token}")));
        }
        self.send(hyper::Method::GET, url, headers, Bytes::new())
            .await
    }

    /// POST a form (`application/x-www-form-urlencoded`) with HTTP Basic
    /// client authentication when `basic` is given (RFC 6749 2.3.1).
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Answer, String> {
        use base64::Engine;
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut headers = vec![(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".to_owned(),
        )];
        if let Some((id, secret)) = basic {
            // RFC 6749 2.3.1: each part form-encoded before base64.
            let pair = format!("{}:{}", form_encode(id), form_encode(secret));
            let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
            headers.push((header::AUTHORIZATION, format!("Basic {b64}")));
        }
        self.send(hyper::Method::POST, url, headers, Bytes::from(body))
            .await
    }

    async fn send(
        &self,
        method: hyper::Method,
        url: &str,
        headers: Vec<(header::HeaderName, String)>,
        body: Bytes,
    ) -> Result<Answer, String> {
        tokio::time::timeout(
            self.timeout,
            self.send_unbounded(method, url, headers, body),
        )
        .await
        .map_err(|_| format!("{url}: no answer within {:?}", self.timeout))?
    }

    async fn send_unbounded(
        &self,
        method: hyper::Method,
        url: &str,
        headers: Vec<(header::HeaderName, String)>,
        body: Bytes,
    ) -> Result<Answer, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if self.allow_http => false,
            _ => {
                return Err(format!(
                    "{url}: only https:// (or http:// with --oidc-allow-http)"
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{url}: no host"))?
            .clone();
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned());
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, authority.as_str())
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "townhall")
            .header(header::CONNECTION, "close");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("{url}: {e}"))?;
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("{url}: connect: {e}"))?;
        if https {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| format!("{url}: {e}"))?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("{url}: TLS: {e}"))?;
            exchange(TokioIo::new(tls), request, url).await
        } else {
            exchange(TokioIo::new(tcp), request, url).await
        }
    }
}

/// One request on a fresh connection; the connection is driven alongside
/// and ends with it (the caller's timeout drops both).
async fn exchange<T>(
    io: TokioIo<T>,
    request: hyper::Request<Full<Bytes>>,
    url: &str,
) -> Result<Answer, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let answer = async move {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("{url}: body: {e}"))?
            .to_bytes();
        Ok::<_, String>(Answer { status, body })
        // `sender` drops here, which lets the connection end.
    };
    let (answer, _) = tokio::join!(answer, conn);
    answer
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decode one `application/x-www-form-urlencoded` value (`+` is a space).
pub fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_round_trips() {
        for s in ["plain", "a b&c=d/é", "", "%+"] {
            assert_eq!(form_decode(&form_encode(s)).as_deref(), Some(s));
        }
        assert_eq!(form_encode("a b"), "a%20b");
        assert_eq!(form_decode("a+b").as_deref(), Some("a b"));
        assert_eq!(form_decode("%zz"), None);
    }
}
