//! The director with HTTPS checks, inside the VM: a director namespace and
//! a real-server namespace on a veth; three TLS servers in the real-server
//! namespace (one answering 200 with a certificate of the backends' CA, one
//! answering 500 with such a certificate, one answering 200 with a
//! certificate of a stranger CA). The checks run from the director's
//! namespace; `ipvsadm -Ln` there is the referee. Every wait is bounded.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lvskit::director::{
    Check, DesiredState, DirectedService, Director, DirectorOptions, Event, HealthState, TlsVerify,
};
use lvskit::{Destination, Forward, Namespace, Service, ServiceKey};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::support::TestNs;

const VIP: [u8; 4] = [10, 41, 1, 100];
const PORT: u16 = 8443;

fn ca() -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    (p.self_signed(&key).unwrap(), key)
}

/// A server configuration with a `backend.test` certificate signed by `ca`.
#[allow(deprecated)] // rustls' ring provider: see ipvs/src/director/tls.rs
fn server_config(ca: &(rcgen::Certificate, KeyPair)) -> Arc<ServerConfig> {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["backend.test".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca.0, &ca.1).unwrap();
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], der)
        .unwrap();
    Arc::new(config)
}

/// A TLS server on `addr` inside namespace `ns` answering every request
/// with `status`, until `stop` (or 300 s) on a thread of its own.
fn serve(
    ns: &str,
    addr: SocketAddr,
    config: Arc<ServerConfig>,
    status: u16,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    let path = format!("/run/netns/{ns}");
    let (ready, wait) = channel();
    let t = std::thread::spawn(move || {
        let f = std::fs::File::open(&path).unwrap();
        // SAFETY: setns(2) on an open namespace file; only this thread moves.
        assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        let l = TcpListener::bind(addr).unwrap();
        l.set_nonblocking(true).unwrap();
        ready.send(()).unwrap();
        let end = Instant::now() + Duration::from_secs(300);
        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
            match l.accept() {
                Ok((c, _)) => answer(c, config.clone(), status),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    wait.recv_timeout(Duration::from_secs(10)).unwrap();
    t
}

/// Answers one HTTP request over TLS; a failed handshake just ends it.
fn answer(c: std::net::TcpStream, config: Arc<ServerConfig>, status: u16) {
    let _ = c.set_nonblocking(false);
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let mut s = StreamOwned::new(ServerConnection::new(config).unwrap(), c);
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let _ = write!(s, "HTTP/1.0 {status} X\r\n\r\nstatus {status}\n");
    s.conn.send_close_notify();
    let _ = s.flush();
}

fn real(i: u8) -> [u8; 4] {
    [10, 41, 0, 10 + i]
}

fn weight(director: &TestNs, i: u8) -> Option<u32> {
    let a = real(i);
    let needle = format!("-> {}.{}.{}.{}:{PORT}", a[0], a[1], a[2], a[3]);
    let listing = director.ipvsadm(&["-Ln"]);
    let line = listing.lines().find(|l| l.contains(&needle))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn wait_weights(director: &TestNs, want: [Option<u32>; 3]) {
    for _ in 0..600 {
        if (1..=3).map(|i| weight(director, i)).eq(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "weights never became {want:?}:\n{}",
        director.ipvsadm(&["-Ln"])
    );
}

/// Waits (60 s at most) until the last check of every real server `i` in
/// `want` failed for a reason containing its text (a slow emulated VM may
/// time a check out now and then: the last result is what counts).
fn wait_reasons(director: &Director, want: &[(u8, &str)]) {
    let last = |i: u8| {
        let h = director.health();
        h.iter()
            .find(|(id, _)| id.addr == IpAddr::from(real(i)))
            .and_then(|(_, h)| h.last_error.clone())
    };
    for _ in 0..600 {
        let ok = want
            .iter()
            .all(|(i, text)| last(*i).is_some_and(|r| r.contains(text)));
        if ok {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let got: Vec<_> = want.iter().map(|(i, _)| (i, last(*i))).collect();
    panic!("the last failures are {got:?}, expected {want:?}");
}

/// The real servers reported down so far.
fn down_events(rx: &Receiver<Event>) -> Vec<IpAddr> {
    rx.try_iter()
        .filter_map(|e| match e {
            Event::Health {
                id,
                state: HealthState::Down,
                ..
            } => Some(id.addr),
            _ => None,
        })
        .collect()
}

fn desired(check: Check) -> DesiredState {
    let dests = (1..=3)
        .map(|i| {
            Destination::new(real(i), PORT)
                .with_forward(Forward::Masq)
                .with_weight(5)
        })
        .collect();
    let svc =
        DirectedService::new(Service::new(ServiceKey::tcp(VIP, 443)), dests).with_check(check);
    DesiredState {
        services: vec![svc],
    }
}

#[test]
fn https_checks_tell_500_from_200_and_refuse_a_stranger_certificate() {
    let director_ns = TestNs::new();
    let rs = TestNs::new();
    director_ns.ip(&[
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        rs.name(),
    ]);
    director_ns.ip(&["addr", "add", "10.41.0.1/24", "dev", "eth0"]);
    director_ns.ip(&["link", "set", "eth0", "up"]);
    for i in 1..=3 {
        let a = real(i);
        rs.ip(&[
            "addr",
            "add",
            &format!("{}.{}.{}.{}/24", a[0], a[1], a[2], a[3]),
            "dev",
            "eth0",
        ]);
    }
    rs.ip(&["link", "set", "eth0", "up"]);

    let (backends, stranger) = (ca(), ca());
    let stop = Arc::new(AtomicBool::new(false));
    let servers = [
        (1, server_config(&backends), 200),
        (2, server_config(&backends), 500),
        (3, server_config(&stranger), 200),
    ]
    .map(|(i, config, status)| {
        let at = SocketAddr::from((real(i), PORT));
        serve(rs.name(), at, config, status, stop.clone())
    });

    let ns = Namespace::Named(director_ns.name().to_string());
    let verified = Check::https("/health", 200)
        .with_tls_verify(TlsVerify::CaPem(backends.0.pem().into_bytes()))
        .with_server_name("backend.test")
        .with_namespace(ns.clone())
        .with_interval(Duration::from_millis(2500))
        .with_timeout(Duration::from_millis(2000))
        .with_rise_fall(1, 2);
    let (tx, events) = channel();
    let tx = Mutex::new(tx);
    let opts = DirectorOptions {
        namespace: ns,
        period: Duration::from_millis(500),
        on_event: Some(Arc::new(move |e: &Event| {
            let _ = tx.lock().unwrap().send(e.clone());
        })),
        ..DirectorOptions::default()
    };
    let director = Director::start(desired(verified.clone()), opts).unwrap();
    wait_weights(&director_ns, [Some(5), Some(0), Some(0)]);
    wait_reasons(
        &director,
        &[(2, "HTTP status 500 (expected 200)"), (3, "certificate")],
    );
    let downs = down_events(&events);
    assert!(downs.contains(&IpAddr::from(real(2))), "{downs:?}");
    assert!(downs.contains(&IpAddr::from(real(3))), "{downs:?}");

    // the same checks with verification off: the stranger's server is up
    let lax = verified.with_tls_verify(TlsVerify::Off);
    director.set_desired(desired(lax)).unwrap();
    wait_weights(&director_ns, [Some(5), Some(0), Some(5)]);
    director.stop();
    stop.store(true, Ordering::Relaxed);
    for s in servers {
        s.join().unwrap();
    }
}
