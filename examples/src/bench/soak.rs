//! The soak of the director loop (issue 21 item 3): `lvskit::director` runs
//! in a child process (`ipvs-bench drive soak ...`) against a lab of real
//! namespaces (a client, a director, three LVS/DR real servers) for a bounded
//! time, while
//!
//! - the child changes the desired state once a second (services and real
//!   servers added and removed, weights changed: [`Churn`]),
//! - the harness stops and starts the real servers' service in turn (health
//!   flapping) and sends HTTP requests to the VIP all along (real traffic),
//! - the child samples its own RSS, open descriptors and threads once a
//!   second.
//!
//! At the end, with the churn and the flapping over, the child checks that
//! the kernel's table equals the effective table (desired state x health,
//! no drain left) and that no event was lost: the table rebuilt from the
//! initial one and every operation the loop reported applied ([`Ledger`])
//! equals the kernel's, and the health it reported is the director's. The
//! series and the checks go into report.json (`soak` of the row);
//! examples/bench/plot.py draws the curves.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

use lvskit::director::{
    Check, DesiredState, DestinationId, DirectedService, Event, HealthState, OnFailure,
};
use lvskit::table::{diff, DiffOptions, Table};
use lvskit::{Destination, Forward, Namespace, Operation, Scheduler, Service, ServiceKey};

#[cfg(test)]
use lvskit::director::effective;

/// The soak's workload id in the report.
pub const WORKLOAD: &str = "soak";

/// The main service's port (the one the traffic goes to); churned services
/// use `EXTRA_PORTS`.
const MAIN_PORT: u16 = 80;
const EXTRA_PORTS: std::ops::RangeInclusive<u16> = 8001..=8006;
/// The real servers' count in the lab.
const REALS: usize = 3;
/// How often the director checks each real server (also the timeout).
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long a removed real server may drain.
const DRAIN_DEADLINE: Duration = Duration::from_secs(4);
/// How long the final check waits, at most, for the table to settle.
const SETTLE: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------ churn

/// The desired state as the churn keeps it: per service port, the real
/// servers (by index) with their weights.
pub type Spec = BTreeMap<u16, BTreeMap<usize, u32>>;

/// A change a second: a small deterministic generator (xorshift) picks one
/// of add service, remove service, add real server, remove real server,
/// change a weight, within bounds (the main service always keeps one real
/// server; at most six churned services).
pub struct Churn {
    state: u64,
}

impl Churn {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Churn { state: seed | 1 }
    }

    fn next(&mut self, n: usize) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state % n.max(1) as u64) as usize
    }

    /// The spec at the start: the main service with every real server at weight 1.
    pub fn initial() -> Spec {
        let mut s = Spec::new();
        s.insert(MAIN_PORT, (0..REALS).map(|i| (i, 1)).collect());
        s
    }

    /// Changes `spec` once; returns what it did.
    pub fn step(&mut self, spec: &mut Spec) -> String {
        for _ in 0..16 {
            if let Some(done) = self.try_step(spec) {
                return done;
            }
        }
        "nothing (no change applied)".into()
    }

    fn try_step(&mut self, spec: &mut Spec) -> Option<String> {
        let ports: Vec<u16> = spec.keys().copied().collect();
        let port = ports[self.next(ports.len())];
        let rs = self.next(REALS);
        let weight = 1 + self.next(5) as u32;
        match self.next(5) {
            0 => {
                let free: Vec<u16> = EXTRA_PORTS.filter(|p| !spec.contains_key(p)).collect();
                let p = *free.get(self.next(free.len()))?;
                spec.insert(p, [(rs, weight)].into());
                Some(format!("add service :{p}"))
            }
            1 if port != MAIN_PORT => {
                spec.remove(&port);
                Some(format!("remove service :{port}"))
            }
            2 => {
                let ds = spec.get_mut(&port)?;
                ds.insert(rs, weight)
                    .is_none()
                    .then(|| format!("add rs{rs} to :{port}"))
            }
            3 => {
                let ds = spec.get_mut(&port)?;
                (ds.len() > 1 && ds.remove(&rs).is_some())
                    .then(|| format!("remove rs{rs} from :{port}"))
            }
            4 => {
                let w = spec.get_mut(&port)?.get_mut(&rs)?;
                (*w != weight).then(|| {
                    *w = weight;
                    format!("weight of rs{rs} on :{port} to {weight}")
                })
            }
            _ => None,
        }
    }
}

/// Where the lab is, as the child is told.
#[derive(Clone)]
pub struct Lab {
    /// The director's namespace (by name).
    pub namespace: String,
    /// The VIP.
    pub vip: Ipv4Addr,
    /// The real servers' addresses.
    pub reals: Vec<Ipv4Addr>,
}

/// The director's desired state for `spec`: LVS/DR, each real server checked
/// over TCP on port 80 from the director's namespace; failed ones inhibited
/// on the main service and on even ports, removed on odd ones.
pub fn desired(lab: &Lab, spec: &Spec) -> DesiredState {
    let check = Check::tcp()
        .with_port(MAIN_PORT)
        .with_interval(CHECK_EVERY)
        .with_timeout(CHECK_EVERY)
        .with_namespace(Namespace::Named(lab.namespace.clone()));
    let services = spec.iter().map(|(port, ds)| {
        let key = ServiceKey::tcp(lab.vip, *port);
        let dests = ds.iter().filter_map(|(i, w)| {
            let addr = *lab.reals.get(*i)?;
            let d = Destination::new(addr, *port).with_forward(Forward::DirectRoute);
            Some(d.with_weight(*w))
        });
        let on_failure = if *port % 2 == 1 {
            OnFailure::Remove
        } else {
            OnFailure::Inhibit
        };
        let svc = Service::new(key).with_scheduler(Scheduler::RoundRobin);
        DirectedService::new(svc, dests.collect())
            .with_check(check.clone())
            .with_on_failure(on_failure)
    });
    DesiredState {
        services: services.collect(),
    }
}

// ------------------------------------------------------------------ ledger

/// What the director reported, replayed: the table rebuilt from the initial
/// one with every operation reported applied, and the health reported.
#[derive(Default)]
pub struct Ledger {
    /// The table as the events tell it.
    pub table: Table,
    pending: Option<Vec<Operation>>,
    /// The health as the events tell it (unchecked and unreported: up).
    pub health: HashMap<DestinationId, HealthState>,
    /// Counters: plans, operations applied, operations failed, health
    /// transitions, drains started, drains finished, reconcile failures.
    pub counts: BTreeMap<&'static str, u64>,
    /// What did not add up, as it happened (the first few).
    pub errors: Vec<String>,
}

impl Ledger {
    /// A ledger starting from the kernel's `table`.
    pub fn new(table: Table) -> Self {
        Ledger {
            table,
            ..Ledger::default()
        }
    }

    fn count(&mut self, what: &'static str, n: u64) {
        *self.counts.entry(what).or_default() += n;
    }

    fn error(&mut self, e: String) {
        if self.errors.len() < 5 {
            self.errors.push(e);
        }
    }

    /// Forgets the health of real servers no longer checked: the director
    /// starts them afresh (up) when they come back, without an event.
    pub fn forget_health_except(&mut self, desired: &DesiredState) {
        let kept: std::collections::HashSet<DestinationId> = desired
            .services
            .iter()
            .flat_map(|s| s.destinations.iter().map(|d| s.id_of(d)))
            .collect();
        self.health.retain(|id, _| kept.contains(id));
    }

    /// Takes one event into account.
    pub fn on_event(&mut self, e: &Event) {
        match e {
            Event::Planned { operations } => {
                if self.pending.replace(operations.clone()).is_some() {
                    self.error("a plan was reported without its outcome".into());
                }
                self.count("plans", 1);
            }
            Event::Applied { done, failed } => self.applied(*done, failed),
            Event::Health { id, state, .. } => {
                self.health.insert(*id, *state);
                self.count("health transitions", 1);
            }
            Event::DrainStarted(_) => self.count("drains started", 1),
            Event::DrainFinished(..) => self.count("drains finished", 1),
            Event::Failed { .. } => self.count("reconcile failures", 1),
            _ => {}
        }
    }

    fn applied(&mut self, done: usize, failed: &[(Operation, String)]) {
        let Some(ops) = self.pending.take() else {
            self.error("an outcome was reported without its plan".into());
            return;
        };
        let mut applied = 0;
        for op in &ops {
            if failed.iter().any(|(f, _)| f == op) {
                continue;
            }
            match self.table.apply(op) {
                Ok(()) => applied += 1,
                Err(e) => self.error(format!("reported `{op}` does not apply: {e}")),
            }
        }
        if applied != done {
            self.error(format!(
                "{done} operations reported done, {applied} replayed"
            ));
        }
        self.count("operations applied", applied as u64);
        self.count("operations failed", failed.len() as u64);
    }
}

/// How far `got` is from `want`: `None` when the planner finds nothing to
/// change either way, else the first operation that would. Timeouts are not the director's: they are left out.
pub fn apart(got: &Table, want: &Table) -> Option<String> {
    let opts = DiffOptions::default();
    let services = |t: &Table| Table {
        services: t.services.clone(),
        timeouts: None,
    };
    let (got, want) = (services(got), services(want));
    let there = diff(&got, &want, &opts);
    let back = diff(&want, &got, &opts);
    let first = there.operations.first().or(back.operations.first())?;
    Some(format!(
        "{} operation(s) apart, the first: `{first}`",
        there.len().max(back.len())
    ))
}

#[path = "soak_child.rs"]
pub mod child;
#[path = "soak_run.rs"]
mod harness;
pub(super) use harness::{report, row};

#[cfg(test)]
#[path = "soak_tests.rs"]
mod tests;
