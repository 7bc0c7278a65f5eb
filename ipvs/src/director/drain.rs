//! Graceful termination, decided purely: a real server that leaves the
//! desired state is kept at weight 0 until its connections are gone (active
//! and inactive, from the kernel's listing) or a deadline passes, then
//! deleted. The book of drains lives in memory; after a restart the kernel
//! tells what was draining (a real server the kernel holds and the desired
//! state does not), so drains resume rather than being forgotten or undone.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::health::DestinationId;
use super::policy::Effective;
use crate::model::{Destination, DestinationEntry, ServiceKey};

/// Why a drain ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DrainEnd {
    /// No connections were left: the real server is deleted.
    Idle,
    /// The deadline passed: the real server is deleted with its connections.
    Deadline,
    /// It is wanted again: it gets its weight back.
    Returned,
    /// It vanished from the kernel (deleted by someone else, or its service went).
    Gone,
}

/// A change of drains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainChange {
    /// A drain started (or, after a restart, was found and resumed).
    Started(DestinationId),
    /// A drain ended.
    Finished(DestinationId, DrainEnd),
}

/// The drains in progress: when each started.
#[derive(Clone, Debug, Default)]
pub struct DrainBook {
    started: HashMap<DestinationId, Instant>,
}

impl DrainBook {
    /// The real servers draining.
    pub fn draining(&self) -> impl Iterator<Item = &DestinationId> {
        self.started.keys()
    }

    /// Whether `id` is draining.
    pub fn contains(&self, id: &DestinationId) -> bool {
        self.started.contains_key(id)
    }
}

/// Adds the drains to `effective`, given the kernel's real servers of each
/// desired service (`current`), at `now`, with `deadline` per drain. A real
/// server in the kernel and not in the effective table is draining, unless
/// it failed with [`OnFailure::Remove`](super::OnFailure::Remove): it stays
/// at weight 0 while it has connections, and is left out (so the plan
/// deletes it) once it has none or its deadline passed. Returns what changed.
pub fn settle(
    book: &mut DrainBook,
    current: &[(ServiceKey, Vec<DestinationEntry>)],
    effective: &mut Effective,
    now: Instant,
    deadline: Duration,
) -> Vec<DrainChange> {
    let mut changes = Vec::new();
    let mut seen = HashSet::new();
    for (key, entries) in current {
        let Some(ts) = effective
            .table
            .services
            .iter_mut()
            .find(|s| s.service.key == *key)
        else {
            continue;
        };
        for e in entries {
            let d = &e.destination;
            let id = DestinationId {
                service: *key,
                addr: d.addr,
                port: d.port,
            };
            let wanted = ts
                .destinations
                .iter()
                .any(|w| w.addr == d.addr && w.port == d.port);
            if wanted || effective.failed.contains(&id) {
                if book.started.remove(&id).is_some() {
                    changes.push(DrainChange::Finished(id, DrainEnd::Returned));
                }
                continue;
            }
            seen.insert(id);
            let started = *book.started.entry(id).or_insert_with(|| {
                changes.push(DrainChange::Started(id));
                now
            });
            let idle = e.active_conns == 0 && e.inactive_conns == 0;
            let late = now.saturating_duration_since(started) >= deadline;
            if idle || late {
                book.started.remove(&id);
                let end = if idle {
                    DrainEnd::Idle
                } else {
                    DrainEnd::Deadline
                };
                changes.push(DrainChange::Finished(id, end));
            } else {
                ts.destinations.push(Destination { weight: 0, ..*d });
            }
        }
    }
    let gone: Vec<DestinationId> = book
        .started
        .keys()
        .filter(|id| !seen.contains(id))
        .copied()
        .collect();
    for id in gone {
        book.started.remove(&id);
        changes.push(DrainChange::Finished(id, DrainEnd::Gone));
    }
    changes
}
