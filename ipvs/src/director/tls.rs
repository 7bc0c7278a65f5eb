//! The TLS side of HTTPS checks, on rustls with the ring provider (the
//! crate's `tls` feature): the client configuration (certificate
//! verification off, or against the caller's CA certificates), the server
//! name (SNI and the name verified) and the handshake over a connected
//! socket. Without the feature an HTTPS check does not validate.

use std::net::SocketAddr;

use super::check::TlsOptions;

/// Checks `opts` for a target: the server name parses, the CA certificates
/// parse. Without the `tls` feature, every HTTPS check is refused.
pub(crate) fn validate(
    opts: &TlsOptions,
    host: Option<&str>,
    target: SocketAddr,
) -> Result<(), String> {
    imp::validate(opts, host, target)
}

#[cfg(feature = "tls")]
pub(crate) use imp::{handshake, TlsStream};

#[cfg(not(feature = "tls"))]
mod imp {
    use super::*;

    pub(super) fn validate(_: &TlsOptions, _: Option<&str>, _: SocketAddr) -> Result<(), String> {
        Err("HTTPS checks need lvskit built with its `tls` feature".into())
    }
}

#[cfg(feature = "tls")]
mod imp {
    use std::net::TcpStream;
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore};

    use super::*;
    use crate::director::check::TlsVerify;

    /// A TLS connection over the check's socket.
    pub(crate) type TlsStream = rustls::StreamOwned<ClientConnection, TcpStream>;

    pub(super) fn validate(
        opts: &TlsOptions,
        host: Option<&str>,
        target: SocketAddr,
    ) -> Result<(), String> {
        server_name(opts, host, target)?;
        config(opts).map(drop)
    }

    /// The name sent as SNI and verified: the configured one, else the `Host`
    /// (without a port) when it is a name, else the target's address.
    fn server_name(
        opts: &TlsOptions,
        host: Option<&str>,
        target: SocketAddr,
    ) -> Result<ServerName<'static>, String> {
        if let Some(name) = &opts.server_name {
            return ServerName::try_from(name.as_str())
                .map(|n| n.to_owned())
                .map_err(|_| format!("TLS server name {name:?} is no DNS name or address"));
        }
        let from_host = host
            .map(|h| h.rsplit_once(':').map_or(h, |(n, _)| n))
            .and_then(|h| ServerName::try_from(h).ok());
        Ok(from_host.map_or_else(|| ServerName::from(target.ip()), |n| n.to_owned()))
    }

    /// rustls' ring provider. rustls 0.23.48 deprecates it because ring has
    /// no post-quantum key exchange; for a health check that carries no
    /// secret that does not matter, and the alternative (aws-lc-rs) needs
    /// cmake and a long C build.
    #[allow(deprecated)]
    fn provider() -> Arc<CryptoProvider> {
        Arc::new(ring::default_provider())
    }

    fn roots(pem: &[u8], what: &str) -> Result<RootCertStore, String> {
        let mut store = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("{what}: {e}"))?;
            store
                .add(cert)
                .map_err(|e| format!("{what}: a CA certificate is not usable: {e}"))?;
        }
        if store.is_empty() {
            return Err(format!("{what}: no CA certificate found"));
        }
        Ok(store)
    }

    fn config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, String> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let config = match &opts.verify {
            TlsVerify::Off => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
                .with_no_client_auth(),
            TlsVerify::CaPem(pem) => builder
                .with_root_certificates(roots(pem, "the CA certificates")?)
                .with_no_client_auth(),
            TlsVerify::CaFile(path) => {
                let what = format!("CA file {}", path.display());
                let pem = std::fs::read(path).map_err(|e| format!("{what}: {e}"))?;
                builder
                    .with_root_certificates(roots(&pem, &what)?)
                    .with_no_client_auth()
            }
        };
        Ok(Arc::new(config))
    }

    /// Starts TLS over `tcp` (the handshake runs at the first read or write,
    /// within the socket's timeouts).
    pub(crate) fn handshake(
        tcp: TcpStream,
        opts: &TlsOptions,
        host: Option<&str>,
        target: SocketAddr,
    ) -> Result<TlsStream, String> {
        let name = server_name(opts, host, target)?;
        let conn = ClientConnection::new(config(opts)?, name).map_err(|e| format!("TLS: {e}"))?;
        Ok(rustls::StreamOwned::new(conn, tcp))
    }

    /// Accepts any certificate, but still checks that the server holds its
    /// key (the handshake's signatures), so that the check talks TLS properly.
    #[derive(Debug)]
    struct AnyCertificate(Arc<CryptoProvider>);

    impl ServerCertVerifier for AnyCertificate {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

#[cfg(all(test, feature = "tls"))]
#[path = "tls_tests.rs"]
mod tests;
