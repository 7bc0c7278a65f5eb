//! What a health check is: its kind (TCP connect, HTTP GET, HTTPS GET, DNS
//! over UDP or a caller's closure), its timing (interval, timeout, rise, fall) and where
//! it runs from (source address, network namespace). Validated before anything
//! starts; the probes themselves are in `probe.rs`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::netns::Namespace;

/// A caller-supplied check: called with the address to check and the
/// timeout, it answers `Ok(())` when the server is healthy and `Err(reason)`
/// when not. It runs on the check's own thread; one that overruns its timeout
/// counts as failed (and its late answer is ignored).
pub type CustomCheck =
    Arc<dyn Fn(SocketAddr, Duration) -> std::result::Result<(), String> + Send + Sync>;

/// What a check does.
#[derive(Clone)]
#[non_exhaustive]
pub enum CheckKind {
    /// Healthy when a TCP connection is accepted.
    Tcp,
    /// Healthy when `GET path` (HTTP/1.0) is answered with `status`, and the
    /// body contains `body_contains` when given.
    Http {
        /// The request path, starting with `/`.
        path: String,
        /// The expected status code (100..=599).
        status: u16,
        /// A text the response body must contain.
        body_contains: Option<String>,
        /// The `Host` header; the target address when `None`.
        host: Option<String>,
    },
    /// As [`CheckKind::Http`], over TLS (needs the crate's `tls` feature;
    /// without it the check does not validate).
    Https {
        /// The request path, starting with `/`.
        path: String,
        /// The expected status code (100..=599).
        status: u16,
        /// A text the response body must contain.
        body_contains: Option<String>,
        /// The `Host` header; the target address when `None`.
        host: Option<String>,
        /// Certificate verification and the server name.
        tls: TlsOptions,
    },
    /// Healthy when a DNS query (type A) for `name`, sent over UDP, is
    /// answered with a response carrying the query's id.
    Dns {
        /// The name queried, e.g. `example.org`.
        name: String,
    },
    /// The caller's check.
    Custom(CustomCheck),
}

impl fmt::Debug for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckKind::Tcp => f.write_str("Tcp"),
            CheckKind::Http {
                path,
                status,
                body_contains,
                host,
            } => f
                .debug_struct("Http")
                .field("path", path)
                .field("status", status)
                .field("body_contains", body_contains)
                .field("host", host)
                .finish(),
            CheckKind::Https {
                path,
                status,
                body_contains,
                host,
                tls,
            } => f
                .debug_struct("Https")
                .field("path", path)
                .field("status", status)
                .field("body_contains", body_contains)
                .field("host", host)
                .field("tls", tls)
                .finish(),
            CheckKind::Dns { name } => f.debug_struct("Dns").field("name", name).finish(),
            CheckKind::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// How an HTTPS check treats the server's certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsVerify {
    /// Any certificate is accepted (as keepalived's `SSL_GET` does): the
    /// check proves that the server completes a TLS handshake and answers,
    /// not who it is. The default.
    #[default]
    Off,
    /// The server's chain must lead to one of these CA certificates (PEM,
    /// one or more) and name the server (see [`TlsOptions::server_name`]):
    /// self-signed backends are checked with their own CA.
    CaPem(Vec<u8>),
    /// As [`TlsVerify::CaPem`], read from this PEM file (when the check is
    /// validated, and at each check).
    CaFile(PathBuf),
}

/// The TLS side of an HTTPS check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Certificate verification.
    pub verify: TlsVerify,
    /// The name sent as SNI and verified in the certificate; `None`: the
    /// check's `Host` when it is a DNS name, else the target address (an
    /// address is verified against the certificate's IP names and sends no
    /// SNI).
    pub server_name: Option<String>,
}

/// A health check of one real server, with its timing.
///
/// ```
/// use std::time::Duration;
/// use lvskit::director::Check;
///
/// let check = Check::http("/healthz", 200)
///     .with_interval(Duration::from_secs(2))
///     .with_timeout(Duration::from_secs(1))
///     .with_rise_fall(2, 3);
/// assert_eq!(check.fall, 3);
/// ```
#[derive(Clone, Debug)]
pub struct Check {
    /// What the check does.
    pub kind: CheckKind,
    /// The address checked; `None` checks the real server's own address and
    /// port (its address with `port` when only the port differs: see
    /// [`Check::with_port`]).
    pub target: Option<SocketAddr>,
    /// A port to check on the real server's address instead of its own port.
    pub port: Option<u16>,
    /// Time between the starts of two checks.
    pub interval: Duration,
    /// How long one check may take; no longer than `interval`.
    pub timeout: Duration,
    /// Consecutive successes that bring a server that is down up.
    pub rise: u32,
    /// Consecutive failures that bring a server that is up down.
    pub fall: u32,
    /// The local address checks are sent from.
    pub source: Option<IpAddr>,
    /// The network namespace the check's socket is created in.
    pub namespace: Namespace,
    /// Whether the server counts as up before its first checks (the default,
    /// so that a restarted director does not take healthy servers out).
    pub initially_up: bool,
}

impl Check {
    /// A check of `kind` every 5 s with a 2 s timeout, rise 1 and fall 1.
    pub fn new(kind: CheckKind) -> Self {
        Check {
            kind,
            target: None,
            port: None,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            rise: 1,
            fall: 1,
            source: None,
            namespace: Namespace::Current,
            initially_up: true,
        }
    }

    /// A TCP connect check.
    pub fn tcp() -> Self {
        Check::new(CheckKind::Tcp)
    }

    /// An HTTP GET of `path` expecting `status`.
    pub fn http(path: impl Into<String>, status: u16) -> Self {
        Check::new(CheckKind::Http {
            path: path.into(),
            status,
            body_contains: None,
            host: None,
        })
    }

    /// An HTTPS GET of `path` expecting `status`, accepting any certificate
    /// (see [`Check::with_tls_verify`]); needs the crate's `tls` feature.
    pub fn https(path: impl Into<String>, status: u16) -> Self {
        Check::new(CheckKind::Https {
            path: path.into(),
            status,
            body_contains: None,
            host: None,
            tls: TlsOptions::default(),
        })
    }

    /// A DNS query for `name` over UDP.
    pub fn dns(name: impl Into<String>) -> Self {
        Check::new(CheckKind::Dns { name: name.into() })
    }

    /// A caller-supplied check.
    pub fn custom(
        f: impl Fn(SocketAddr, Duration) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Check::new(CheckKind::Custom(Arc::new(f)))
    }

    /// Requires the HTTP body to contain `text` (HTTP and HTTPS checks only).
    pub fn with_body(mut self, text: impl Into<String>) -> Self {
        if let CheckKind::Http { body_contains, .. } | CheckKind::Https { body_contains, .. } =
            &mut self.kind
        {
            *body_contains = Some(text.into());
        }
        self
    }

    /// Sets the `Host` header (HTTP and HTTPS checks only).
    pub fn with_host(mut self, name: impl Into<String>) -> Self {
        if let CheckKind::Http { host, .. } | CheckKind::Https { host, .. } = &mut self.kind {
            *host = Some(name.into());
        }
        self
    }

    /// Sets how the certificate is verified (HTTPS checks only).
    pub fn with_tls_verify(mut self, verify: TlsVerify) -> Self {
        if let CheckKind::Https { tls, .. } = &mut self.kind {
            tls.verify = verify;
        }
        self
    }

    /// Sets the name sent as SNI and verified in the certificate (HTTPS checks only).
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        if let CheckKind::Https { tls, .. } = &mut self.kind {
            tls.server_name = Some(name.into());
        }
        self
    }

    /// Sets the interval between checks.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the timeout of one check.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the rise and fall counts.
    pub fn with_rise_fall(mut self, rise: u32, fall: u32) -> Self {
        self.rise = rise;
        self.fall = fall;
        self
    }

    /// Checks another address than the real server's.
    pub fn with_target(mut self, target: SocketAddr) -> Self {
        self.target = Some(target);
        self
    }

    /// Checks another port of the real server.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Sends checks from `source`.
    pub fn with_source(mut self, source: IpAddr) -> Self {
        self.source = Some(source);
        self
    }

    /// Creates the check's sockets in `namespace`.
    pub fn with_namespace(mut self, namespace: Namespace) -> Self {
        self.namespace = namespace;
        self
    }

    /// Whether the server counts as up before its first checks.
    pub fn with_initially_up(mut self, up: bool) -> Self {
        self.initially_up = up;
        self
    }

    /// The address this check probes for a real server at `addr:port`.
    pub fn target_for(&self, addr: IpAddr, port: u16) -> SocketAddr {
        self.target
            .unwrap_or_else(|| SocketAddr::new(addr, self.port.unwrap_or(port)))
    }

    /// Checks the configuration for a real server at `addr:port`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a target that points at nothing (an
    /// unspecified or multicast address, port 0 for a TCP, HTTP or DNS check), a
    /// zero interval or timeout, a timeout longer than the interval, a rise or
    /// fall of 0, a source address of another family than the target, an HTTP
    /// path not starting with `/` or a status outside 100..=599, an empty DNS
    /// name; for HTTPS a server name that is no DNS name or address, CA
    /// certificates that do not parse (or a CA file that cannot be read), or
    /// a library built without the `tls` feature.
    pub fn validate(&self, addr: IpAddr, port: u16) -> Result<()> {
        let target = self.target_for(addr, port);
        let bad = |reason: String| {
            Err(Error::invalid_input(
                format!("health check of {target}"),
                reason,
            ))
        };
        if target.ip().is_unspecified() || target.ip().is_multicast() {
            return bad(format!("address {} points at nothing", target.ip()));
        }
        let needs_port = !matches!(self.kind, CheckKind::Custom(_));
        if needs_port && target.port() == 0 {
            return bad("port 0 points at nothing".into());
        }
        if self.interval.is_zero() || self.timeout.is_zero() {
            return bad("interval and timeout must be more than zero".into());
        }
        if self.timeout > self.interval {
            return bad(format!(
                "timeout {:?} is longer than the interval {:?}",
                self.timeout, self.interval
            ));
        }
        if self.rise == 0 || self.fall == 0 {
            return bad("rise and fall must be at least 1".into());
        }
        if let Some(src) = self.source {
            if src.is_ipv4() != target.is_ipv4() {
                return bad(format!("source {src} is not of the target's family"));
            }
        }
        self.validate_kind(target)
    }

    fn validate_kind(&self, target: SocketAddr) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::invalid_input(
                format!("health check of {target}"),
                reason,
            ))
        };
        match &self.kind {
            CheckKind::Http { path, status, .. } => {
                validate_http(path, *status).or_else(bad)?;
            }
            CheckKind::Https {
                path,
                status,
                host,
                tls,
                ..
            } => {
                validate_http(path, *status).or_else(bad)?;
                super::tls::validate(tls, host.as_deref(), target).or_else(bad)?;
            }
            CheckKind::Dns { name } => {
                let labels_ok = name
                    .trim_end_matches('.')
                    .split('.')
                    .all(|l| !l.is_empty() && l.len() < 64);
                if name.is_empty() || name.len() > 253 || !labels_ok {
                    return bad(format!("DNS name {name:?} is not a valid name"));
                }
            }
            CheckKind::Tcp | CheckKind::Custom(_) => {}
        }
        Ok(())
    }
}

fn validate_http(path: &str, status: u16) -> std::result::Result<(), String> {
    if !path.starts_with('/') || path.contains(['\r', '\n', ' ']) {
        return Err(format!(
            "HTTP path {path:?} must start with / and hold no spaces"
        ));
    }
    if !(100..=599).contains(&status) {
        return Err(format!("HTTP status {status} is not in 100..=599"));
    }
    Ok(())
}
