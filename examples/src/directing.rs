//! The scenarios' directors run by `lvskit::director`: health checks from the
//! director's namespace, failed real servers inhibited or removed, restored
//! on recovery. The demos and the end-to-end tests use these helpers, so
//! that what the demo shows is what CI asserts.
//!
//! Every wait here is bounded in time and count.

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lvskit::director::{
    Check, DesiredState, DestinationId, DirectedService, Director, DirectorOptions, Event,
    HealthState, OnFailure,
};
use lvskit::{Destination, Namespace};

use crate::lab::Result;
use crate::scenario::Scenario;

/// A TCP connect check from the namespace of `scenario`'s director
/// `director`, every `interval`, with `interval` as its timeout.
pub fn tcp_check(s: &Scenario, director: usize, interval: Duration) -> Result<Check> {
    let d = s
        .directors
        .get(director)
        .ok_or_else(|| format!("no director #{director}"))?;
    Ok(Check::tcp()
        .with_interval(interval)
        .with_timeout(interval)
        .with_namespace(Namespace::Named(d.ns.name().to_owned())))
}

/// The scenario's service as director `director`'s kernel holds it, with
/// the scenario's real servers, each checked with `check`, failed ones
/// handled as `on_failure` says.
pub fn desired(
    s: &Scenario,
    director: usize,
    check: Check,
    on_failure: OnFailure,
) -> Result<DesiredState> {
    let d = s
        .directors
        .get(director)
        .ok_or_else(|| format!("no director #{director}"))?;
    let service = d.ipvs.service(&s.key)?.service;
    let svc = DirectedService::new(service, s.dests.clone())
        .with_check(check)
        .with_on_failure(on_failure);
    Ok(DesiredState {
        services: vec![svc],
    })
}

/// Starts a director on `scenario`'s director `director` for `desired`,
/// converging every `period`; returns it with a receiver of its events.
pub fn start(
    s: &Scenario,
    director: usize,
    desired: DesiredState,
    period: Duration,
) -> Result<(Director, Receiver<Event>)> {
    let d = s
        .directors
        .get(director)
        .ok_or_else(|| format!("no director #{director}"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let opts = DirectorOptions {
        namespace: Namespace::Named(d.ns.name().to_owned()),
        period,
        // every event from the first one on, in order
        on_event: Some(std::sync::Arc::new(move |e: &Event| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(e.clone());
            }
        })),
        ..DirectorOptions::default()
    };
    Ok((Director::start(desired, opts)?, rx))
}

/// The health key of `dest` in the scenario's service.
pub fn id_of(s: &Scenario, dest: &Destination) -> DestinationId {
    DestinationId {
        service: s.key,
        addr: dest.addr,
        port: dest.port,
    }
}

/// Waits up to `timeout` for an event `pred` accepts; the events passed
/// over are handed to `seen` (to print them, for one).
pub fn wait_event(
    rx: &Receiver<Event>,
    timeout: Duration,
    pred: impl Fn(&Event) -> bool,
    mut seen: impl FnMut(&Event),
) -> Option<Event> {
    let until = Instant::now() + timeout;
    // bounded: at most one receive per event, and no longer than `timeout`
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        let e = rx.recv_timeout(left).ok()?;
        seen(&e);
        if pred(&e) {
            return Some(e);
        }
    }
    None
}

/// Waits up to `timeout` for the health event of `id` turning `state`.
pub fn wait_health(
    rx: &Receiver<Event>,
    id: &DestinationId,
    state: HealthState,
    timeout: Duration,
    seen: impl FnMut(&Event),
) -> bool {
    let hit =
        |e: &Event| matches!(e, Event::Health { id: i, state: s, .. } if i == id && *s == state);
    wait_event(rx, timeout, hit, seen).is_some()
}

/// Polls `f` every 100 ms for up to `timeout` until it answers true; its last answer.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> Result<bool>) -> Result<bool> {
    let until = Instant::now() + timeout;
    loop {
        if f()? {
            return Ok(true);
        }
        if Instant::now() >= until {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The weight of real server `dest` in director `director`'s kernel table,
/// `None` when it is not there (read through the library).
pub fn kernel_weight(s: &Scenario, director: usize, dest: &Destination) -> Result<Option<u32>> {
    let d = s
        .directors
        .get(director)
        .ok_or_else(|| format!("no director #{director}"))?;
    Ok(d.ipvs
        .destinations(&s.key)?
        .iter()
        .find(|e| e.destination.addr == dest.addr && e.destination.port == dest.port)
        .map(|e| e.destination.weight))
}
