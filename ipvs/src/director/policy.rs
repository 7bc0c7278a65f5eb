//! The director's desired state (services, real servers, checks, and what to
//! do when real servers fail) and the pure computation of the table the
//! kernel should hold: desired state x health x quorum (drains are added by
//! `drain.rs`).

use std::collections::HashSet;
use std::net::IpAddr;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use super::check::Check;
use super::health::{DestinationId, HealthState};
use crate::error::{Error, Result};
use crate::model::{Destination, Service};
use crate::table::{Table, TableService};

/// What happens to a real server whose checks fail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum OnFailure {
    /// Keep it at weight 0 (keepalived's `inhibit_on_failure`): established
    /// connections go on, new ones go elsewhere.
    #[default]
    Inhibit,
    /// Delete it from the service.
    Remove,
}

/// One virtual service as the director keeps it.
#[derive(Clone, Debug)]
pub struct DirectedService {
    /// The service.
    pub service: Service,
    /// Its real servers, with their desired weights.
    pub destinations: Vec<Destination>,
    /// The check of every real server; `None`: all count as healthy.
    pub check: Option<Check>,
    /// What happens to a failing real server.
    pub on_failure: OnFailure,
    /// The fewest healthy real servers the service runs on; below it the
    /// sorry server takes the new connections. 0: no quorum.
    pub quorum: u32,
    /// The server that takes over below quorum; not one of the real servers.
    pub sorry_server: Option<Destination>,
}

impl DirectedService {
    /// A service with `destinations`, no check, inhibit on failure, no quorum.
    pub fn new(service: Service, destinations: Vec<Destination>) -> Self {
        DirectedService {
            service,
            destinations,
            check: None,
            on_failure: OnFailure::Inhibit,
            quorum: 0,
            sorry_server: None,
        }
    }

    /// Checks every real server with `check`.
    pub fn with_check(mut self, check: Check) -> Self {
        self.check = Some(check);
        self
    }

    /// Sets what happens to a failing real server.
    pub fn with_on_failure(mut self, on_failure: OnFailure) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// Sends new connections to `sorry` while fewer than `quorum` real servers are healthy.
    pub fn with_quorum(mut self, quorum: u32, sorry: Option<Destination>) -> Self {
        self.quorum = quorum;
        self.sorry_server = sorry;
        self
    }

    /// The health key of real server `d` of this service.
    pub fn id_of(&self, d: &Destination) -> DestinationId {
        DestinationId {
            service: self.service.key,
            addr: d.addr,
            port: d.port,
        }
    }

    /// Checks the service, its real servers, their check and the quorum.
    ///
    /// # Errors
    /// [`Error::InvalidInput`]: as [`Service::validate`],
    /// [`Destination::validate`] and [`Check::validate`]; a real server listed
    /// twice; a sorry server that is also a real server; a quorum larger than
    /// the number of real servers.
    pub fn validate(&self) -> Result<()> {
        let key = self.service.key;
        self.service.validate()?;
        let bad = |reason: String| {
            Err(Error::invalid_input(
                format!("directing service {key}"),
                reason,
            ))
        };
        let mut seen: HashSet<(IpAddr, u16)> = HashSet::new();
        for d in &self.destinations {
            d.validate(key.family())?;
            if !seen.insert((d.addr, d.port)) {
                return bad(format!("real server {d} is listed twice"));
            }
            if let Some(c) = &self.check {
                c.validate(d.addr, d.port)?;
            }
        }
        if let Some(s) = &self.sorry_server {
            s.validate(key.family())?;
            if seen.contains(&(s.addr, s.port)) {
                return bad(format!("sorry server {s} is also a real server"));
            }
        }
        if self.quorum as usize > self.destinations.len() {
            return bad(format!(
                "quorum {} is more than its {} real servers",
                self.quorum,
                self.destinations.len()
            ));
        }
        Ok(())
    }
}

/// Everything the director keeps in the kernel.
#[derive(Clone, Debug, Default)]
pub struct DesiredState {
    /// The services.
    pub services: Vec<DirectedService>,
}

impl DesiredState {
    /// The services of `table`, unchecked, inhibited on failure, without quorum.
    pub fn from_table(table: Table) -> Self {
        DesiredState {
            services: table
                .services
                .into_iter()
                .map(|s| DirectedService::new(s.service, s.destinations))
                .collect(),
        }
    }

    /// Checks every service.
    ///
    /// # Errors
    /// [`Error::InvalidInput`]: as [`DirectedService::validate`], or a service listed twice.
    pub fn validate(&self) -> Result<()> {
        let mut keys = HashSet::new();
        for s in &self.services {
            if !keys.insert(s.service.key) {
                return Err(Error::invalid_input(
                    format!("directing service {}", s.service.key),
                    "the service is listed twice",
                ));
            }
            s.validate()?;
        }
        Ok(())
    }

    /// Every checked real server with its initial health.
    pub(crate) fn checked(&self) -> impl Iterator<Item = (DestinationId, &Check)> + '_ {
        self.services.iter().flat_map(|s| {
            s.check
                .iter()
                .flat_map(move |c| s.destinations.iter().map(move |d| (s.id_of(d), c)))
        })
    }
}

/// The table the kernel should hold, before drains, and the real servers
/// left out because they failed (deleted at once, not drained).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effective {
    /// The table.
    pub table: Table,
    /// Real servers removed because they failed ([`OnFailure::Remove`]).
    pub failed: HashSet<DestinationId>,
}

/// The table the kernel should hold: each service with its healthy real
/// servers at their desired weight, the failed ones at weight 0
/// ([`OnFailure::Inhibit`]) or left out ([`OnFailure::Remove`]); below quorum
/// the sorry server is added and the healthy real servers are set to weight 0
/// (their established connections go on). `health` answers `None` for a real
/// server that is not checked: it counts as healthy.
///
/// ```
/// use lvskit::director::{effective, DesiredState, DirectedService, HealthState};
/// use lvskit::{Destination, Service, ServiceKey};
///
/// let svc = DirectedService::new(
///     Service::new(ServiceKey::tcp([10, 0, 0, 1], 80)),
///     vec![Destination::new([10, 0, 1, 1], 80).with_weight(5)],
/// );
/// let desired = DesiredState { services: vec![svc] };
/// let e = effective(&desired, &|_| Some(HealthState::Down));
/// assert_eq!(e.table.services[0].destinations[0].weight, 0); // inhibited
/// ```
pub fn effective(
    desired: &DesiredState,
    health: &dyn Fn(&DestinationId) -> Option<HealthState>,
) -> Effective {
    let mut out = Effective::default();
    for s in &desired.services {
        out.table
            .services
            .push(effective_service(s, health, &mut out.failed));
    }
    out
}

fn effective_service(
    s: &DirectedService,
    health: &dyn Fn(&DestinationId) -> Option<HealthState>,
    failed: &mut HashSet<DestinationId>,
) -> TableService {
    let up = |d: &Destination| health(&s.id_of(d)) != Some(HealthState::Down);
    let healthy = s.destinations.iter().filter(|d| up(d)).count();
    let sorry = s.sorry_server.filter(|_| healthy < s.quorum as usize);
    let mut destinations = Vec::with_capacity(s.destinations.len() + 1);
    for d in &s.destinations {
        match (up(d), s.on_failure) {
            (true, _) if sorry.is_some() => destinations.push(d.with_weight(0)),
            (true, _) => destinations.push(*d),
            (false, OnFailure::Inhibit) => destinations.push(d.with_weight(0)),
            (false, OnFailure::Remove) => {
                failed.insert(s.id_of(d));
            }
        }
    }
    destinations.extend(sorry);
    TableService {
        service: s.service.clone(),
        destinations,
    }
}
