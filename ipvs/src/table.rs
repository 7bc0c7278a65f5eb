//! Desired state: a whole IPVS table, the plan that turns one table into
//! another, and applying that plan through a pipelined batch.
//!
//! ```
//! use ipvs::table::{diff, DiffOptions, Table, TableService};
//! use ipvs::{Destination, Service, ServiceKey};
//!
//! let key = ServiceKey::tcp([10, 0, 0, 1], 80);
//! let current = Table::default();
//! let mut desired = Table::default();
//! desired.services.push(TableService {
//!     service: Service::new(key),
//!     destinations: vec![Destination::new([10, 0, 1, 1], 80)],
//! });
//! let plan = diff(&current, &desired, &DiffOptions::default());
//! assert_eq!(plan.to_string(), "ipvsadm -A -t 10.0.0.1:80 -s wlc\n\
//!                               ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
//! // applying the plan to `current` gives `desired`: nothing is left to do
//! assert!(diff(&desired, &desired, &DiffOptions::default()).is_empty());
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::batch::{BatchMode, BatchReport, Operation};
use crate::error::Result;
use crate::fasthash::{self, FastMap, FastSet};
use crate::handle::Ipvs;
use crate::model::{Destination, Service, ServiceKey, Timeouts};

/// A virtual service with its real servers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct TableService {
    /// The service.
    pub service: Service,
    /// Its real servers.
    #[cfg_attr(feature = "serde", serde(default))]
    pub destinations: Vec<Destination>,
}

/// A whole IPVS table: services with their destinations, and optionally timeouts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Table {
    /// The services.
    #[cfg_attr(feature = "serde", serde(default))]
    pub services: Vec<TableService>,
    /// Timeouts to enforce; `None` leaves them alone.
    #[cfg_attr(feature = "serde", serde(default))]
    pub timeouts: Option<Timeouts>,
}

impl Table {
    /// Reads the kernel's current table (services and destinations; timeouts included).
    ///
    /// # Errors
    /// Any error of [`Ipvs::services`], [`Ipvs::destinations`] or [`Ipvs::timeouts`].
    pub fn read(ipvs: &Ipvs) -> Result<Table> {
        // counters are not part of a table: they are not even decoded
        let mut services = Vec::new();
        for service in ipvs.service_configs()? {
            let destinations = ipvs.destination_configs(&service.key)?;
            services.push(TableService {
                service,
                destinations,
            });
        }
        Ok(Table {
            services,
            timeouts: Some(ipvs.timeouts()?),
        })
    }

    /// The table with services and destinations in a canonical order (for comparisons).
    pub fn sorted(mut self) -> Table {
        for s in &mut self.services {
            s.destinations.sort_by_key(|d| (d.addr, d.port));
        }
        self.services.sort_by_key(|s| s.service.key);
        self
    }

    /// Finds a service by key.
    pub fn service(&self, key: &ServiceKey) -> Option<&TableService> {
        self.services.iter().find(|s| s.service.key == *key)
    }
}

/// Which services a plan may touch.
#[derive(Clone, Default)]
pub enum Scope {
    /// Every service: services not in the desired table are deleted.
    #[default]
    All,
    /// Only these services; all others are left alone whatever the tables say.
    Services(HashSet<ServiceKey>),
    /// Only the services the predicate accepts.
    Predicate(Arc<dyn Fn(&ServiceKey) -> bool + Send + Sync>),
}

impl Scope {
    /// Whether the plan may touch `key`.
    pub fn contains(&self, key: &ServiceKey) -> bool {
        match self {
            Scope::All => true,
            Scope::Services(set) => set.contains(key),
            Scope::Predicate(p) => p(key),
        }
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("All"),
            Scope::Services(s) => f.debug_tuple("Services").field(s).finish(),
            Scope::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

/// How [`diff`] plans.
#[derive(Clone, Debug, Default)]
pub struct DiffOptions {
    /// Which services may be touched.
    pub scope: Scope,
    /// Remove real servers in two steps: a destination that is to go and still
    /// has a non-zero weight is only drained (weight 0) by this plan, so
    /// established connections finish; a later plan deletes it.
    pub drain_before_remove: bool,
}

/// An ordered list of operations turning one table into another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The operations, in the order they must run.
    pub operations: Vec<Operation>,
}

impl Plan {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.operations.len()
    }
}

impl fmt::Display for Plan {
    /// The plan in ipvsadm's words, one command per line (a dry run).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for op in &self.operations {
            writeln!(f, "{op}")?;
        }
        Ok(())
    }
}

/// Plans the operations that turn `current` into `desired`.
///
/// Order: service additions and updates; then, per service, destination
/// removals (or drains), updates and additions; then destination removals and
/// service deletions for services that go (destinations first); timeouts last.
pub fn diff(current: &Table, desired: &Table, opts: &DiffOptions) -> Plan {
    let all = matches!(opts.scope, Scope::All);
    let in_scope = |k: &ServiceKey| all || opts.scope.contains(k);
    // a key listed twice in `current`: the last wins (as a map built from it);
    // the flag says whether the key was met in `desired` (or already planned
    // for deletion), so one map serves both directions
    let mut cur: FastMap<&ServiceKey, (&TableService, bool)> =
        fasthash::map(current.services.len());
    for s in &current.services {
        cur.insert(&s.service.key, (s, false));
    }
    // keys of `desired` that are not in `current`, to plan each once
    let mut added: FastSet<&ServiceKey> = fasthash::set(0);
    let mut matched = 0; // keys of `cur` met in `desired`

    let mut svc_ops = Vec::new();
    let mut dest_ops = Vec::new();
    // desired, first occurrence of a key wins; kept in the caller's order
    for ws in &desired.services {
        let key = &ws.service.key;
        if !in_scope(key) {
            continue;
        }
        match cur.get_mut(key) {
            Some((_, true)) => {} // listed twice in `desired`: the first wins
            Some((cs, seen)) => {
                *seen = true;
                matched += 1;
                if cs.service != ws.service {
                    svc_ops.push(Operation::UpdateService(ws.service.clone()));
                }
                diff_destinations(
                    *key,
                    &cs.destinations,
                    &ws.destinations,
                    opts,
                    &mut dest_ops,
                );
            }
            None => {
                if !added.insert(key) {
                    continue;
                }
                svc_ops.push(Operation::AddService(ws.service.clone()));
                let mut dseen = HashSet::new();
                for d in ws
                    .destinations
                    .iter()
                    .filter(|d| dseen.insert((d.addr, d.port)))
                {
                    dest_ops.push(Operation::AddDestination(*key, *d));
                }
            }
        }
    }
    let mut del_ops = Vec::new();
    // when every current service is wanted (the usual reconcile) there is
    // nothing to delete and no need to look the services up again
    let candidates: &[TableService] = if matched == cur.len() {
        &[]
    } else {
        &current.services
    };
    for cs in candidates {
        let key = cs.service.key;
        if !in_scope(&key) {
            continue;
        }
        let Some((last, seen)) = cur.get_mut(&key) else {
            continue;
        };
        if *seen {
            continue; // wanted, or already planned for deletion
        }
        *seen = true;
        for d in &last.destinations {
            del_ops.push(Operation::DeleteDestination(key, d.addr, d.port));
        }
        del_ops.push(Operation::DeleteService(key));
    }
    let mut operations = svc_ops;
    operations.extend(dest_ops);
    operations.extend(del_ops);
    if let Some(t) = desired.timeouts {
        if current.timeouts != Some(t) {
            operations.push(Operation::SetTimeouts(t));
        }
    }
    Plan { operations }
}

fn diff_destinations(
    key: ServiceKey,
    current: &[Destination],
    desired: &[Destination],
    opts: &DiffOptions,
    out: &mut Vec<Operation>,
) {
    if same_destinations(current, desired) {
        return;
    }
    let cur: BTreeMap<(IpAddr, u16), &Destination> =
        current.iter().map(|d| ((d.addr, d.port), d)).collect();
    let mut want: BTreeMap<(IpAddr, u16), &Destination> = BTreeMap::new();
    let mut order = Vec::new();
    // as for services, the first occurrence of a destination wins
    for d in desired {
        if let std::collections::btree_map::Entry::Vacant(e) = want.entry((d.addr, d.port)) {
            e.insert(d);
            order.push((d.addr, d.port));
        }
    }
    for (id, d) in &cur {
        if want.contains_key(id) {
            continue;
        }
        if opts.drain_before_remove && d.weight != 0 {
            out.push(Operation::UpdateDestination(
                key,
                Destination { weight: 0, ..**d },
            ));
        } else {
            out.push(Operation::DeleteDestination(key, id.0, id.1));
        }
    }
    for id in order {
        let Some(d) = want.get(&id) else { continue };
        match cur.get(&id) {
            Some(c) if *c == *d => {}
            Some(_) => out.push(Operation::UpdateDestination(key, **d)),
            None => out.push(Operation::AddDestination(key, **d)),
        }
    }
}

/// Whether two short destination lists hold the same destinations, each id
/// once, in any order: then there is nothing to plan. Checked pairwise
/// without allocating (a reconcile of thousands of unchanged services is
/// mostly this); long lists go the general way.
fn same_destinations(current: &[Destination], desired: &[Destination]) -> bool {
    const SHORT: usize = 16;
    let n = current.len();
    if n != desired.len() || n > SHORT {
        return false;
    }
    let id = |d: &Destination| (d.addr, d.port);
    desired.iter().enumerate().all(|(i, d)| {
        current.iter().any(|c| c == d)
            && !desired[..i].iter().any(|e| id(e) == id(d))
            && current.iter().filter(|c| id(c) == id(d)).count() == 1
    })
}

/// Applies `plan` to `current` in memory: what the kernel table becomes if
/// every operation succeeds. Used to check plans without a kernel.
pub fn simulate(current: &Table, plan: &Plan) -> Table {
    let mut t = current.clone();
    for op in &plan.operations {
        match op {
            Operation::AddService(s) => {
                t.services.push(TableService {
                    service: s.clone(),
                    destinations: vec![],
                });
            }
            Operation::UpdateService(s) => {
                if let Some(ts) = t.services.iter_mut().find(|x| x.service.key == s.key) {
                    ts.service = s.clone();
                }
            }
            Operation::DeleteService(k) => t.services.retain(|x| x.service.key != *k),
            Operation::AddDestination(k, d) => {
                if let Some(ts) = t.services.iter_mut().find(|x| x.service.key == *k) {
                    ts.destinations.push(*d);
                }
            }
            Operation::UpdateDestination(k, d) => {
                if let Some(ts) = t.services.iter_mut().find(|x| x.service.key == *k) {
                    if let Some(x) = ts
                        .destinations
                        .iter_mut()
                        .find(|x| x.addr == d.addr && x.port == d.port)
                    {
                        *x = *d;
                    }
                }
            }
            Operation::DeleteDestination(k, a, p) => {
                if let Some(ts) = t.services.iter_mut().find(|x| x.service.key == *k) {
                    ts.destinations.retain(|x| !(x.addr == *a && x.port == *p));
                }
            }
            Operation::SetTimeouts(to) => t.timeouts = Some(*to),
            Operation::Flush => t.services.clear(),
            _ => {}
        }
    }
    t
}

impl Ipvs {
    /// Applies a plan as one pipelined batch ([`BatchMode::Continue`]).
    pub fn apply_plan(&self, plan: &Plan) -> BatchReport {
        self.execute(&plan.operations, BatchMode::Continue)
    }

    /// Reads the current table, plans the way to `desired`, and applies it.
    /// Returns the plan with its report.
    ///
    /// # Errors
    /// Only when the current table cannot be read; the plan's own failures are in the report.
    pub fn converge(&self, desired: &Table, opts: &DiffOptions) -> Result<(Plan, BatchReport)> {
        let current = Table::read(self)?;
        let plan = diff(&current, desired, opts);
        let report = self.apply_plan(&plan);
        Ok((plan, report))
    }
}
