//! A health checker: TCP-connect probes of each real server, and the IPVS
//! table changed through the library when one fails or comes back.
//!
//! A failed server is either *drained* (weight 0: no new connections, the
//! established ones continue) or *removed* (deleted from the service), and
//! restored with its configured weight when it answers again. `fall`
//! consecutive failed probes mark a server down, `rise` successful ones up.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use lvskit::{Destination, Ipvs, Namespace, ServiceKey};

use crate::lab::{in_namespace, Result};

/// What to do with a failed real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Set its weight to 0 (no new connections; established ones continue).
    Drain,
    /// Delete it from the service.
    Remove,
}

/// A state change the checker applied to the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The server failed `fall` probes and was drained or removed.
    Down(Destination),
    /// The server passed `rise` probes and was restored.
    Up(Destination),
}

struct Target {
    dest: Destination,
    up: bool,
    streak: u32,
}

/// Probes the real servers of one service and keeps its table in step.
pub struct HealthChecker {
    ipvs: Ipvs,
    probe_from: String,
    service: ServiceKey,
    policy: Policy,
    timeout: Duration,
    fall: u32,
    rise: u32,
    targets: Vec<Target>,
}

impl HealthChecker {
    /// A checker for `service`'s real servers `dests` (as configured: their
    /// weight is what a recovered server gets back) on the director whose
    /// network namespace is named `director_ns`: it opens its own IPVS handle
    /// there and probes from there. All servers start healthy.
    pub fn new(
        director_ns: &str,
        service: ServiceKey,
        dests: &[Destination],
        policy: Policy,
    ) -> Result<Self> {
        Ok(HealthChecker {
            ipvs: Ipvs::open(Namespace::Named(director_ns.into()))?,
            probe_from: director_ns.into(),
            service,
            policy,
            timeout: Duration::from_millis(500),
            fall: 1,
            rise: 1,
            targets: dests
                .iter()
                .map(|d| Target {
                    dest: *d,
                    up: true,
                    streak: 0,
                })
                .collect(),
        })
    }

    /// Consecutive failures before a server is marked down, successes before up (both at least 1).
    pub fn with_thresholds(mut self, fall: u32, rise: u32) -> Self {
        self.fall = fall.max(1);
        self.rise = rise.max(1);
        self
    }

    /// The connect timeout of one probe.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// One TCP connect probe of `dest` from the director's namespace.
    pub fn probe(&self, dest: &Destination) -> Result<bool> {
        let to = SocketAddr::new(dest.addr, dest.port);
        let timeout = self.timeout;
        Ok(in_namespace(&self.probe_from, move || {
            TcpStream::connect_timeout(&to, timeout)
        })?
        .is_ok())
    }

    /// Probes every server once and applies the changes; returns them.
    pub fn check_once(&mut self) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        for i in 0..self.targets.len() {
            let ok = self.probe(&self.targets[i].dest)?;
            let t = &mut self.targets[i];
            if ok == t.up {
                t.streak = 0;
                continue;
            }
            t.streak += 1;
            let needed = if t.up { self.fall } else { self.rise };
            if t.streak < needed {
                continue;
            }
            t.streak = 0;
            let dest = t.dest;
            if t.up {
                match self.policy {
                    Policy::Drain => self
                        .ipvs
                        .update_destination(&self.service, &dest.with_weight(0))?,
                    Policy::Remove => {
                        self.ipvs
                            .delete_destination(&self.service, dest.addr, dest.port)?
                    }
                }
                events.push(Event::Down(dest));
            } else {
                match self.policy {
                    Policy::Drain => self.ipvs.update_destination(&self.service, &dest)?,
                    Policy::Remove => self.ipvs.add_destination(&self.service, &dest)?,
                }
                events.push(Event::Up(dest));
            }
            self.targets[i].up = !self.targets[i].up;
        }
        Ok(events)
    }

    /// Whether the checker currently considers `dest` healthy.
    pub fn is_up(&self, dest: &Destination) -> Option<bool> {
        self.targets
            .iter()
            .find(|t| t.dest.addr == dest.addr && t.dest.port == dest.port)
            .map(|t| t.up)
    }
}
