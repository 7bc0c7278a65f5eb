//! Desired state from a file, reloaded when it changes: `ipvsadm -S` rules
//! text (services and real servers only), or JSON (with checks, failure
//! policy and quorum; needs the `serde` feature).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::policy::DesiredState;
use crate::error::{Error, Result};

/// The format of a desired-state file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// `ipvsadm -S` rules (`-A`/`-a` lines): no checks, inhibit on failure.
    Rules,
    /// JSON: `{"services": [{"service": .., "destinations": [..], "check":
    /// {"kind": "http", "path": "/", "status": 200, "interval_ms": 1000, ..},
    /// "on_failure": "inhibit", "quorum": 1, "sorry_server": ..}]}`
    /// (see [`parse_json`]).
    #[cfg(feature = "serde")]
    Json,
}

/// Parses desired state from `text` in `format`; validated.
///
/// # Errors
/// [`Error::InvalidInput`] naming the problem (a rules line, a JSON field,
/// or what [`DesiredState::validate`] refuses).
pub fn parse(text: &str, format: FileFormat) -> Result<DesiredState> {
    let state = match format {
        FileFormat::Rules => {
            let table = crate::ipvsadm::parse_table(text)
                .map_err(|e| Error::invalid_input("reading desired state rules", e.to_string()))?;
            DesiredState::from_table(table)
        }
        #[cfg(feature = "serde")]
        FileFormat::Json => json::parse_json(text)?,
    };
    state.validate()?;
    Ok(state)
}

#[cfg(feature = "serde")]
pub use json::parse_json;

#[cfg(feature = "serde")]
mod json {
    use std::net::{IpAddr, SocketAddr};
    use std::time::Duration;

    use serde::Deserialize;

    use super::super::check::{Check, CheckKind};
    use super::super::policy::{DesiredState, DirectedService, OnFailure};
    use crate::error::{Error, Result};
    use crate::model::{Destination, Service};
    use crate::netns::Namespace;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        services: Vec<FileService>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FileService {
        service: Service,
        #[serde(default)]
        destinations: Vec<Destination>,
        #[serde(default)]
        check: Option<FileCheck>,
        #[serde(default)]
        on_failure: OnFailure,
        #[serde(default)]
        quorum: u32,
        #[serde(default)]
        sorry_server: Option<Destination>,
    }

    #[derive(Deserialize)]
    #[serde(tag = "kind", rename_all = "lowercase")]
    enum FileKind {
        Tcp,
        Http {
            #[serde(default = "slash")]
            path: String,
            #[serde(default = "ok")]
            status: u16,
            #[serde(default)]
            body: Option<String>,
            #[serde(default)]
            host: Option<String>,
        },
        Dns {
            name: String,
        },
    }

    fn slash() -> String {
        "/".into()
    }
    fn ok() -> u16 {
        200
    }

    // serde cannot deny unknown fields next to a flattened one
    #[derive(Deserialize)]
    struct FileCheck {
        #[serde(flatten)]
        kind: FileKind,
        interval_ms: Option<u64>,
        timeout_ms: Option<u64>,
        rise: Option<u32>,
        fall: Option<u32>,
        port: Option<u16>,
        target: Option<SocketAddr>,
        source: Option<IpAddr>,
        netns: Option<String>,
    }

    impl FileCheck {
        fn into_check(self) -> Check {
            let kind = match self.kind {
                FileKind::Tcp => CheckKind::Tcp,
                FileKind::Http {
                    path,
                    status,
                    body,
                    host,
                } => CheckKind::Http {
                    path,
                    status,
                    body_contains: body,
                    host,
                },
                FileKind::Dns { name } => CheckKind::Dns { name },
            };
            let mut c = Check::new(kind);
            c.interval = self.interval_ms.map_or(c.interval, Duration::from_millis);
            c.timeout = self.timeout_ms.map_or(c.timeout, Duration::from_millis);
            c.rise = self.rise.unwrap_or(c.rise);
            c.fall = self.fall.unwrap_or(c.fall);
            c.port = self.port;
            c.target = self.target;
            c.source = self.source;
            if let Some(n) = self.netns {
                c.namespace = Namespace::Named(n);
            }
            c
        }
    }

    /// Parses the JSON form of desired state (not yet validated): an object
    /// with `services`, each with `service` and `destinations` as the
    /// model's serde form, and optional `check` (`kind`: `tcp`, `http` with
    /// `path`, `status`, `body`, `host`, or `dns` with `name`; `interval_ms`,
    /// `timeout_ms`, `rise`, `fall`, `port`, `target`, `source`, `netns`),
    /// `on_failure` (`inhibit` or `remove`), `quorum` and `sorry_server`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] with serde's message (line and column).
    pub fn parse_json(text: &str) -> Result<DesiredState> {
        let f: File = serde_json::from_str(text)
            .map_err(|e| Error::invalid_input("reading desired state JSON", e.to_string()))?;
        let services = f
            .services
            .into_iter()
            .map(|s| DirectedService {
                service: s.service,
                destinations: s.destinations,
                check: s.check.map(FileCheck::into_check),
                on_failure: s.on_failure,
                quorum: s.quorum,
                sorry_server: s.sorry_server,
            })
            .collect();
        Ok(DesiredState { services })
    }
}

/// A desired-state file and what was last read from it.
#[derive(Debug)]
pub(crate) struct Watched {
    pub(crate) path: PathBuf,
    pub(crate) format: FileFormat,
    stamp: Option<(SystemTime, u64)>,
}

impl Watched {
    /// Reads `path` once.
    pub(crate) fn open(path: PathBuf, format: FileFormat) -> Result<(Watched, DesiredState)> {
        let mut w = Watched {
            path,
            format,
            stamp: None,
        };
        let state = w.read()?;
        Ok((w, state))
    }

    fn read(&mut self) -> Result<DesiredState> {
        self.stamp = stamp(&self.path);
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
        parse(&text, self.format)
    }

    /// The new desired state when the file changed since it was last read.
    pub(crate) fn poll(&mut self) -> Option<Result<DesiredState>> {
        if stamp(&self.path) == self.stamp {
            return None;
        }
        Some(self.read())
    }

    /// How often the file is looked at.
    pub(crate) const EVERY: Duration = Duration::from_millis(500);
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}
