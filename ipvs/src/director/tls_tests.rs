//! HTTPS checks against TLS servers on loopback, with certificates made by
//! rcgen: a CA, a backend certificate it signs (for `backend.test` and
//! 127.0.0.1), and a stranger CA that signed nothing here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::director::{probe_once, Check, TlsVerify};
use crate::error::ErrorKind;

struct Pki {
    ca_pem: String,
    cert: CertificateDer<'static>,
    key: Vec<u8>,
}

fn ca() -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    (p.self_signed(&key).unwrap(), key)
}

fn pki() -> Pki {
    let (ca, ca_key) = ca();
    let key = KeyPair::generate().unwrap();
    let p =
        CertificateParams::new(vec!["backend.test".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert: cert.der().clone(),
        key: key.serialize_der(),
    }
}

#[allow(deprecated)]
fn server_config(pki: &Pki) -> Arc<ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key.clone()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![pki.cert.clone()], key)
            .unwrap();
    Arc::new(config)
}

/// A TLS server on loopback answering one request with `status`; sends the
/// SNI it saw (or "-" for none) once the handshake is done.
fn tls_server(pki: &Pki, status: u16) -> (SocketAddr, Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = l.local_addr().unwrap();
    let config = server_config(pki);
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let Ok((c, _)) = l.accept() else { return };
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut s = StreamOwned::new(ServerConnection::new(config).unwrap(), c);
        let mut buf = [0u8; 2048];
        let mut req = Vec::new();
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
        let _ = tx.send(s.conn.server_name().unwrap_or("-").to_string());
        let _ = write!(s, "HTTP/1.0 {status} X\r\n\r\ntls body of {status}\n");
        s.conn.send_close_notify();
        let _ = s.flush();
    });
    (at, rx)
}

fn check() -> Check {
    Check::https("/healthz", 200).with_timeout(Duration::from_secs(5))
}

#[test]
fn an_https_check_tells_500_from_200() {
    let pki = pki();
    let (ok, _) = tls_server(&pki, 200);
    assert_eq!(probe_once(&check(), ok), Ok(()));
    let (err, _) = tls_server(&pki, 500);
    assert_eq!(
        probe_once(&check(), err),
        Err("HTTP status 500 (expected 200)".into())
    );
    let (body, _) = tls_server(&pki, 200);
    assert_eq!(
        probe_once(&check().with_body("tls body of 200"), body),
        Ok(())
    );
    let (body, _) = tls_server(&pki, 200);
    assert!(probe_once(&check().with_body("other"), body).is_err());
}

#[test]
fn verification_with_the_backends_ca_passes_and_sends_sni() {
    let pki = pki();
    let verified = check()
        .with_tls_verify(TlsVerify::CaPem(pki.ca_pem.clone().into_bytes()))
        .with_server_name("backend.test");
    let (at, sni) = tls_server(&pki, 200);
    assert_eq!(probe_once(&verified, at), Ok(()));
    assert_eq!(
        sni.recv_timeout(Duration::from_secs(5)).unwrap(),
        "backend.test"
    );
    // no name: the Host header's name is the server name
    let by_host = check()
        .with_tls_verify(TlsVerify::CaPem(pki.ca_pem.clone().into_bytes()))
        .with_host("backend.test:8443");
    let (at, sni) = tls_server(&pki, 200);
    assert_eq!(probe_once(&by_host, at), Ok(()));
    assert_eq!(
        sni.recv_timeout(Duration::from_secs(5)).unwrap(),
        "backend.test"
    );
    // no name at all: the address, verified against the IP name, no SNI
    let by_addr = check().with_tls_verify(TlsVerify::CaPem(pki.ca_pem.clone().into_bytes()));
    let (at, sni) = tls_server(&pki, 200);
    assert_eq!(probe_once(&by_addr, at), Ok(()));
    assert_eq!(sni.recv_timeout(Duration::from_secs(5)).unwrap(), "-");
}

#[test]
fn a_bad_certificate_fails_when_verification_is_on() {
    let pki = pki();
    let (stranger, _) = ca();
    let other_ca = check()
        .with_tls_verify(TlsVerify::CaPem(stranger.pem().into_bytes()))
        .with_server_name("backend.test");
    let (at, _) = tls_server(&pki, 200);
    let r = probe_once(&other_ca, at);
    assert!(
        r.as_ref().is_err_and(|e| e.contains("certificate")),
        "{r:?}"
    );
    let wrong_name = check()
        .with_tls_verify(TlsVerify::CaPem(pki.ca_pem.clone().into_bytes()))
        .with_server_name("elsewhere.test");
    let (at, _) = tls_server(&pki, 200);
    let r = probe_once(&wrong_name, at);
    assert!(
        r.as_ref().is_err_and(|e| e.contains("certificate")),
        "{r:?}"
    );
    // the same servers pass with verification off
    let (at, _) = tls_server(&pki, 200);
    assert_eq!(
        probe_once(&check().with_server_name("elsewhere.test"), at),
        Ok(())
    );
}

#[test]
fn a_ca_file_is_read_and_plain_and_tls_do_not_mix() {
    let pki = pki();
    let dir = std::env::temp_dir().join(format!("lvskit-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ca.pem");
    std::fs::write(&file, &pki.ca_pem).unwrap();
    let from_file = check()
        .with_tls_verify(TlsVerify::CaFile(file))
        .with_server_name("backend.test");
    let (at, _) = tls_server(&pki, 200);
    assert_eq!(probe_once(&from_file, at), Ok(()));
    std::fs::remove_dir_all(&dir).unwrap();
    // plain HTTP against a TLS server fails, as does HTTPS against plain TCP
    let (at, _) = tls_server(&pki, 200);
    let plain = Check::http("/", 200).with_timeout(Duration::from_secs(5));
    assert!(probe_once(&plain, at).is_err());
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = l.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
        }
    });
    assert!(probe_once(&check(), at).is_err());
}

#[test]
fn bad_tls_settings_are_refused_by_validation() {
    let rs = "10.0.1.1".parse().unwrap();
    let garbage = check().with_tls_verify(TlsVerify::CaPem(b"not a certificate".to_vec()));
    let e = garbage.validate(rs, 443).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("no CA certificate"), "{e}");
    let missing = check().with_tls_verify(TlsVerify::CaFile("/nonexistent/ca.pem".into()));
    let e = missing.validate(rs, 443).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    let name = check().with_server_name("not a name");
    assert_eq!(
        name.validate(rs, 443).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert!(check().validate(rs, 443).is_ok());
    let bad_status = Check::https("/", 700);
    assert!(bad_status.validate(rs, 443).is_err());
}
