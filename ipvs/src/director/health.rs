//! Health: the rise/fall state machine of one real server, and the runner
//! that checks every real server on a thread of its own, so that a slow or
//! hanging check never delays another.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::check::Check;
use super::probe::probe;
use crate::model::ServiceKey;

/// Whether a real server passes its checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum HealthState {
    /// Healthy: it gets its desired weight.
    Up,
    /// Failing: drained or removed, as its service's policy says.
    Down,
}

impl fmt::Display for HealthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthState::Up => "up",
            HealthState::Down => "down",
        })
    }
}

/// One real server of one service: what health is kept for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DestinationId {
    /// The virtual service.
    pub service: ServiceKey,
    /// The real server's address.
    pub addr: IpAddr,
    /// The real server's port.
    pub port: u16,
}

impl fmt::Display for DestinationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{} of {}", self.port, self.service),
            IpAddr::V6(a) => write!(f, "[{a}]:{} of {}", self.port, self.service),
        }
    }
}

/// The rise/fall state machine of one real server.
///
/// ```
/// use lvskit::director::{Health, HealthState};
///
/// let mut h = Health::new(HealthState::Up);
/// assert_eq!(h.record(false, 2, 2), None); // one failure of two
/// assert_eq!(h.record(false, 2, 2), Some(HealthState::Down));
/// assert_eq!(h.record(true, 2, 2), None);
/// assert_eq!(h.record(true, 2, 2), Some(HealthState::Up));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// The current state.
    pub state: HealthState,
    /// Consecutive successes (while down) or failures (while up) so far.
    pub streak: u32,
    /// Checks run in all.
    pub checks: u64,
    /// The last failure's reason, cleared by a success.
    pub last_error: Option<String>,
}

impl Health {
    /// A server in `state` with no checks run.
    pub fn new(state: HealthState) -> Self {
        Health {
            state,
            streak: 0,
            checks: 0,
            last_error: None,
        }
    }

    /// Records one check's result; returns the new state when it changes:
    /// after `fall` consecutive failures while up, or `rise` consecutive
    /// successes while down (a count of 0 acts as 1).
    pub fn record(&mut self, ok: bool, rise: u32, fall: u32) -> Option<HealthState> {
        self.checks += 1;
        let (against, need, next) = match self.state {
            HealthState::Up => (!ok, fall, HealthState::Down),
            HealthState::Down => (ok, rise, HealthState::Up),
        };
        if !against {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        if self.streak < need.max(1) {
            return None;
        }
        self.streak = 0;
        self.state = next;
        Some(next)
    }
}

/// A change of health, as reported to the director.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) id: DestinationId,
    pub(crate) state: HealthState,
    pub(crate) reason: Option<String>,
}

/// The health of every checked real server, shared by the check threads and the director.
#[derive(Default)]
pub(crate) struct Board {
    states: Mutex<HashMap<DestinationId, Health>>,
}

impl Board {
    fn lock(&self) -> MutexGuard<'_, HashMap<DestinationId, Health>> {
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state of `id`; `None` when it is not checked.
    pub(crate) fn state(&self, id: &DestinationId) -> Option<HealthState> {
        self.lock().get(id).map(|h| h.state)
    }

    /// A copy of every checked server's health.
    pub(crate) fn snapshot(&self) -> HashMap<DestinationId, Health> {
        self.lock().clone()
    }

    /// Keeps only the servers in `keep`, adding the missing ones in their initial state.
    pub(crate) fn retain(&self, keep: &HashMap<DestinationId, HealthState>) {
        let mut m = self.lock();
        m.retain(|id, _| keep.contains_key(id));
        for (id, s) in keep {
            m.entry(*id).or_insert_with(|| Health::new(*s));
        }
    }

    fn record(
        &self,
        id: &DestinationId,
        check: &Check,
        r: &Result<(), String>,
    ) -> Option<Transition> {
        let mut m = self.lock();
        let initial = if check.initially_up {
            HealthState::Up
        } else {
            HealthState::Down
        };
        let h = m.entry(*id).or_insert_with(|| Health::new(initial));
        let t = h.record(r.is_ok(), check.rise, check.fall);
        h.last_error = r.as_ref().err().cloned();
        t.map(|state| Transition {
            id: *id,
            state,
            reason: h.last_error.clone(),
        })
    }
}

/// Where transitions go.
pub(crate) type Notify = Arc<dyn Fn(Transition) + Send + Sync>;

#[derive(Default)]
struct StopFlag {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl StopFlag {
    fn is_set(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `until` or a stop; true when stopped.
    fn wait_until(&self, until: Instant) -> bool {
        let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        while !*stopped {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return false;
            };
            stopped = match self.wake.wait_timeout(stopped, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    fn set(&self) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
    }
}

/// The check threads of one set of checks; stopped (and joined) on drop.
pub(crate) struct Runner {
    stop: Arc<StopFlag>,
    threads: Vec<JoinHandle<()>>,
}

impl Runner {
    /// Starts one thread per check: `(server, target, check)`.
    pub(crate) fn start(
        checks: Vec<(DestinationId, std::net::SocketAddr, Check)>,
        board: Arc<Board>,
        notify: Notify,
    ) -> std::io::Result<Runner> {
        let stop = Arc::new(StopFlag::default());
        let mut runner = Runner {
            stop: stop.clone(),
            threads: Vec::with_capacity(checks.len()),
        };
        for (id, target, check) in checks {
            let (stop, board, notify) = (stop.clone(), board.clone(), notify.clone());
            let t = std::thread::Builder::new()
                .name(format!("lvskit-health {target}"))
                .spawn(move || check_loop(id, target, check, &board, &stop, &notify))?;
            runner.threads.push(t);
        }
        Ok(runner)
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.set();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn check_loop(
    id: DestinationId,
    target: std::net::SocketAddr,
    check: Check,
    board: &Board,
    stop: &StopFlag,
    notify: &Notify,
) {
    loop {
        let started = Instant::now();
        let r = probe(&check, target);
        if stop.is_set() {
            return;
        }
        if let Some(t) = board.record(&id, &check, &r) {
            notify(t);
        }
        let next = started + check.interval.max(Duration::from_millis(1));
        if stop.wait_until(next) {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::director::check::Check;

    fn id(port: u16) -> DestinationId {
        DestinationId {
            service: ServiceKey::tcp([10, 0, 0, 1], 80),
            addr: IpAddr::from([10, 0, 1, 1]),
            port,
        }
    }

    /// A check that hangs for its whole timeout does not hold back another:
    /// the fast one runs many times while the slow one has not finished twice.
    #[test]
    fn a_hanging_check_never_delays_another() {
        let slow = Check::custom(|_, _| {
            std::thread::sleep(Duration::from_secs(5));
            Ok(())
        })
        .with_interval(Duration::from_secs(2))
        .with_timeout(Duration::from_secs(2));
        let fast = Check::custom(|_, _| Err("down".into()))
            .with_interval(Duration::from_millis(20))
            .with_timeout(Duration::from_millis(20))
            .with_rise_fall(1, 3);
        let board = Arc::new(Board::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let notify: Notify = Arc::new(move |t| s2.lock().unwrap().push(t));
        let checks = vec![
            (id(1), "10.0.1.1:1".parse().unwrap(), slow),
            (id(2), "10.0.1.1:2".parse().unwrap(), fast),
        ];
        let runner = Runner::start(checks, board.clone(), notify).unwrap();
        let mut fast_checks = 0;
        for _ in 0..500 {
            fast_checks = board.snapshot().get(&id(2)).map_or(0, |h| h.checks);
            if fast_checks >= 10 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let slow_checks = board.snapshot().get(&id(1)).map_or(0, |h| h.checks);
        assert!(fast_checks >= 10, "the fast check ran {fast_checks} times");
        assert!(
            slow_checks <= 1,
            "the slow check finished {slow_checks} times"
        );
        assert_eq!(board.state(&id(2)), Some(HealthState::Down));
        let t = seen.lock().unwrap().clone();
        assert_eq!(
            t,
            vec![Transition {
                id: id(2),
                state: HealthState::Down,
                reason: Some("down".into())
            }]
        );
        drop(runner);
    }
}
