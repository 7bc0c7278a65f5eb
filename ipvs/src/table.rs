//! Desired state: a whole IPVS table, the plan that turns one table into
//! another, and applying that plan through a pipelined batch.
//!
//! ```
//! use lvskit::table::{diff, DiffOptions, Table, TableService};
//! use lvskit::{Destination, Service, ServiceKey};
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

use crate::fasthash::{self, FastMap};
use crate::model::{Destination, Service, ServiceKey, Timeouts};
use crate::op::Operation;

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

    fn service_mut(&mut self, key: &ServiceKey) -> Result<&mut TableService, ApplyError> {
        self.services
            .iter_mut()
            .find(|s| s.service.key == *key)
            .ok_or(ApplyError::NoService(*key))
    }

    /// Applies one operation in memory, as the kernel would: adding what
    /// exists or changing what does not is refused and changes nothing.
    /// [`Operation::Flush`] empties the table, [`Operation::SetTimeouts`]
    /// sets its timeouts; counters ([`Operation::Zero`]) and sync daemons are
    /// not part of a table and change nothing.
    ///
    /// # Errors
    /// [`ApplyError`] naming what exists or is missing.
    pub fn apply(&mut self, op: &Operation) -> Result<(), ApplyError> {
        match op {
            Operation::AddService(s) => {
                if self.service(&s.key).is_some() {
                    return Err(ApplyError::ServiceExists(s.key));
                }
                self.services.push(TableService {
                    service: s.clone(),
                    destinations: vec![],
                });
            }
            Operation::UpdateService(s) => self.service_mut(&s.key)?.service = s.clone(),
            Operation::DeleteService(k) => {
                self.service_mut(k)?;
                self.services.retain(|x| x.service.key != *k);
            }
            Operation::AddDestination(k, d) => {
                let ds = &mut self.service_mut(k)?.destinations;
                if ds.iter().any(|x| x.addr == d.addr && x.port == d.port) {
                    return Err(ApplyError::DestinationExists(*k, *d));
                }
                ds.push(*d);
            }
            Operation::UpdateDestination(k, d) => {
                let ds = &mut self.service_mut(k)?.destinations;
                let x = ds
                    .iter_mut()
                    .find(|x| x.addr == d.addr && x.port == d.port)
                    .ok_or(ApplyError::NoDestination(*k, *d))?;
                *x = *d;
            }
            Operation::DeleteDestination(k, a, p) => {
                let ds = &mut self.service_mut(k)?.destinations;
                let at = ds
                    .iter()
                    .position(|x| x.addr == *a && x.port == *p)
                    .ok_or(ApplyError::NoDestination(*k, Destination::new(*a, *p)))?;
                ds.remove(at);
            }
            Operation::SetTimeouts(t) => self.timeouts = Some(*t),
            Operation::Flush => self.services.clear(),
            Operation::Zero(_) | Operation::StartDaemon(_) | Operation::StopDaemon(_) => {}
        }
        Ok(())
    }
}

/// Why an operation does not apply to a [`Table`] ([`Table::apply`]): what
/// the kernel would answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The service exists (the kernel's EEXIST).
    #[error("service {0} exists")]
    ServiceExists(ServiceKey),
    /// No such service (ESRCH).
    #[error("no service {0}")]
    NoService(ServiceKey),
    /// The real server exists (EEXIST).
    #[error("server {1} of service {0} exists")]
    DestinationExists(ServiceKey, Destination),
    /// No such real server (ENOENT).
    #[error("no server {1} in service {0}")]
    NoDestination(ServiceKey, Destination),
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

    /// The plan as `ipvsadm -R` input: one line per operation, as its
    /// `Display` (the dry run) writes it without the leading `ipvsadm`.
    ///
    /// ```
    /// use lvskit::table::{diff, DiffOptions, Table, TableService};
    /// use lvskit::{Destination, Service, ServiceKey};
    ///
    /// let mut desired = Table::default();
    /// desired.services.push(TableService {
    ///     service: Service::new(ServiceKey::tcp([10, 0, 0, 1], 80)),
    ///     destinations: vec![Destination::new([10, 0, 1, 1], 80)],
    /// });
    /// let plan = diff(&Table::default(), &desired, &DiffOptions::default());
    /// assert_eq!(plan.to_rules()?, "-A -t 10.0.0.1:80 -s wlc\n\
    ///                               -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
    /// # Ok::<(), lvskit::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an operation
    /// ipvsadm has no words for (a bypass real server).
    pub fn to_rules(&self) -> crate::Result<String> {
        let mut out = String::new();
        for op in &self.operations {
            out.push_str(&crate::ipvsadm::rule(op, crate::ipvsadm::Format::Lossless)?);
            out.push('\n');
        }
        Ok(out)
    }
}

impl fmt::Display for Plan {
    /// The plan in ipvsadm's words, one command per line, each starting
    /// with `ipvsadm` (a dry run, as [`Operation`]'s `Display`);
    /// [`Plan::to_rules`] gives the same lines as `ipvsadm -R` input.
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
    let mut d = Differ::new(desired, opts);
    for s in &current.services {
        d.current(s);
    }
    d.finish(current.timeouts)
}

/// What [`Differ`] knows of one service of the desired table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Out of scope, or a later listing of a key (the first one wins).
    Skip,
    /// Wanted; not met in the current table (yet).
    Missing,
    /// Wanted and met in the current table.
    Met,
}

/// The planner behind [`diff`], fed the current table one service at a time,
/// in any order, as it is read: [`Ipvs::plan`] diffs on one thread while
/// another reads the table. `finish` gives the plan [`diff`] gives.
pub(crate) struct Differ<'d> {
    desired: &'d Table,
    opts: &'d DiffOptions,
    /// The index in `desired.services` of each wanted key's first listing.
    index: FastMap<&'d ServiceKey, usize>,
    /// Per service of `desired`.
    want: Vec<Want>,
    /// Met services that need operations, by desired index: the service's
    /// own update (if any) and the range of its operations in `dest_ops`.
    changed: Vec<(usize, Option<Operation>, std::ops::Range<usize>)>,
    dest_ops: Vec<Operation>,
    /// Current services in scope that are not wanted, in the order first met,
    /// with the operations deleting them (of the last listing met).
    gone: Vec<(ServiceKey, Vec<Operation>)>,
    gone_at: FastMap<ServiceKey, usize>,
}

impl<'d> Differ<'d> {
    pub(crate) fn new(desired: &'d Table, opts: &'d DiffOptions) -> Self {
        let n = desired.services.len();
        let mut index = fasthash::map(n);
        let mut want = Vec::with_capacity(n);
        for (i, ws) in desired.services.iter().enumerate() {
            let key = &ws.service.key;
            let w = if opts.scope.contains(key) && !index.contains_key(key) {
                index.insert(key, i);
                Want::Missing
            } else {
                Want::Skip
            };
            want.push(w);
        }
        Differ {
            desired,
            opts,
            index,
            want,
            changed: Vec::new(),
            dest_ops: Vec::new(),
            gone: Vec::new(),
            gone_at: fasthash::map(0),
        }
    }

    /// One service of the current table. A key met twice: the last listing wins.
    pub(crate) fn current(&mut self, cs: &TableService) {
        let key = &cs.service.key;
        if let Some(&i) = self.index.get(key) {
            if self.want[i] == Want::Met {
                // met before: forget what was planned against that listing
                self.changed.retain(|c| c.0 != i);
            }
            self.want[i] = Want::Met;
            let ws = &self.desired.services[i];
            let update =
                (cs.service != ws.service).then(|| Operation::UpdateService(ws.service.clone()));
            let from = self.dest_ops.len();
            diff_destinations(
                *key,
                &cs.destinations,
                &ws.destinations,
                self.opts,
                &mut self.dest_ops,
            );
            if update.is_some() || self.dest_ops.len() > from {
                self.changed.push((i, update, from..self.dest_ops.len()));
            }
            return;
        }
        if !self.opts.scope.contains(key) {
            return;
        }
        let mut ops = Vec::with_capacity(cs.destinations.len() + 1);
        for d in &cs.destinations {
            ops.push(Operation::DeleteDestination(*key, d.addr, d.port));
        }
        ops.push(Operation::DeleteService(*key));
        match self.gone_at.get(key) {
            Some(&at) => self.gone[at].1 = ops,
            None => {
                self.gone_at.insert(*key, self.gone.len());
                self.gone.push((*key, ops));
            }
        }
    }

    /// The plan; `timeouts` are the current table's.
    pub(crate) fn finish(mut self, timeouts: Option<Timeouts>) -> Plan {
        self.changed.sort_unstable_by_key(|c| c.0);
        let mut svc_ops = Vec::new();
        let mut dest_ops = Vec::new();
        let mut changed = self.changed.into_iter().peekable();
        for (i, w) in self.want.iter().enumerate() {
            match w {
                Want::Skip => {}
                Want::Met => {
                    if let Some((_, update, range)) = changed.next_if(|c| c.0 == i) {
                        svc_ops.extend(update);
                        dest_ops.extend_from_slice(&self.dest_ops[range]);
                    }
                }
                Want::Missing => {
                    let ws = &self.desired.services[i];
                    let key = ws.service.key;
                    svc_ops.push(Operation::AddService(ws.service.clone()));
                    let mut dseen = HashSet::new();
                    for d in ws
                        .destinations
                        .iter()
                        .filter(|d| dseen.insert((d.addr, d.port)))
                    {
                        dest_ops.push(Operation::AddDestination(key, *d));
                    }
                }
            }
        }
        let mut operations = svc_ops;
        operations.extend(dest_ops);
        for (_, ops) in self.gone {
            operations.extend(ops);
        }
        if let Some(t) = self.desired.timeouts {
            if timeouts != Some(t) {
                operations.push(Operation::SetTimeouts(t));
            }
        }
        Plan { operations }
    }
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
/// the plan is applied as one batch ([`BatchMode::Continue`](crate::BatchMode)):
/// each operation as [`Table::apply`] does, one that does not apply
/// changing nothing. Used to check plans without a kernel.
pub fn simulate(current: &Table, plan: &Plan) -> Table {
    let mut t = current.clone();
    for op in &plan.operations {
        // as in the kernel, a refused operation leaves the table as it was
        let _ = t.apply(op);
    }
    t
}

/// Tables of fewer services are planned on the reading thread.
pub(crate) const PARALLEL_PLAN_MIN: usize = 256;
/// Services handed to the planning thread at a time.
pub(crate) const PLAN_PART: usize = 64;
