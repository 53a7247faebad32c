//! The AWS clients' HTTP client, cheap to start. Measured (perf, `bench --stub-connections`):
//! half of a function's cold-start CPU went to the SDK's HTTPS client loading the system's
//! root certificates when each AWS client was built: every PEM file of the certificate
//! directory as well as the bundle (on Debian 140 certificates three times over, on Amazon
//! Linux the bundle twice), parsed again for each of the four clients. Here the client is built
//! on its first request (a function that never calls AWS never loads them), once for all
//! clients, and trusts one bundle file, read once, when the system has one of the usual ones.

use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::sync::OnceLock;

/// CA bundles, in the order they are looked for: Amazon Linux 2023 (Lambda's `provided.al2023`),
/// then Debian and Ubuntu. `SSL_CERT_FILE`, when set, is the one bundle instead.
const BUNDLES: [&str; 2] = ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"];

/// The SDK's hyper client (rustls on *ring*), made on the first request.
#[derive(Debug, Default)]
pub struct Lazy(OnceLock<SharedHttpClient>);

impl Lazy {
    fn client(&self) -> &SharedHttpClient {
        self.0.get_or_init(|| {
            let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
            match trust_store() {
                Some(store) => {
                    builder.tls_context(TlsContext::builder().with_trust_store(store).build().unwrap_or_default())
                }
                None => builder,
            }
            .build_https()
        })
    }
}

impl HttpClient for Lazy {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.client().http_connector(settings, components)
    }
}

/// The one bundle to trust: `SSL_CERT_FILE`'s, else the first of [`BUNDLES`] there is (a
/// certificate directory, `SSL_CERT_DIR`, is not read: the bundle holds the same roots); `None`
/// (the system's roots, found as the SDK finds them) when none is there or one does not parse.
fn trust_store() -> Option<TrustStore> {
    let named = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let mut candidates = named.into_iter().chain(BUNDLES.iter().map(std::path::PathBuf::from));
    let pem = candidates.find_map(|path| std::fs::read(path).ok())?;
    readable(&pem).then(|| TrustStore::empty().with_native_roots(false).with_pem_certificate(pem))
}

/// Whether a bundle holds certificates and nothing the SDK could not parse (it would panic on
/// the first request).
fn readable(pem: &[u8]) -> bool {
    use rustls_pki_types::pem::PemObject;
    let mut certificates = rustls_pki_types::CertificateDer::pem_slice_iter(pem).peekable();
    certificates.peek().is_some() && certificates.all(|c| c.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_trusted_only_when_every_certificate_in_it_parses() {
        assert!(!readable(b""), "no certificate");
        assert!(!readable(b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"));
        let system = BUNDLES.iter().find_map(|path| std::fs::read(path).ok());
        if let Some(pem) = system {
            assert!(readable(&pem), "this machine's bundle parses");
        }
    }
}
