//! TLS client settings shared by the outside login sources (the LDAP
//! directory and the OpenID provider): rustls with ring, trusting either
//! the CA certificates of a PEM file an operator names, or the system's
//! trusted roots.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

/// A client config trusting only the certificates in `ca_file` (PEM) when
/// given, else the system's roots. `flag` names the option in errors
/// (`--ldap-ca-file`), so an operator sees which setting is wrong.
pub fn client_config(
    ca_file: Option<&Path>,
    flag: &str,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let shown = path.display();
            for cert in
                CertificateDer::pem_file_iter(path).map_err(|e| format!("{flag} {shown}: {e}"))?
            {
                let cert = cert.map_err(|e| format!("{flag} {shown}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{flag} {shown}: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("{flag} {shown}: no certificate in it"));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system root rustls cannot parse is skipped, as browsers do.
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
