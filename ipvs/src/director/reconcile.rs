//! The reconcile loop: a [`Director`] keeps the kernel's table equal to the
//! effective table (desired state x health x quorum x drains), converging on
//! every change (new desired state, a health transition) and periodically,
//! backing off on errors, and reports what it does as [`Event`]s.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::drain::{settle, DrainBook, DrainChange};
use super::events::{Event, EventCallback, Sink};
use super::health::{Board, DestinationId, Health, HealthState, Notify, Runner};
use super::metrics::{self, DestinationMetrics, ServiceMetrics};
use super::policy::{effective, DesiredState};
use super::source::{FileFormat, Watched};
use crate::batch::BatchReport;
use crate::error::{Error, Result};
use crate::handle::Ipvs;
use crate::model::{DestinationEntry, ServiceEntry, ServiceKey};
use crate::netns::Namespace;
use crate::table::{diff, DiffOptions, Plan, Scope, Table, TableService};

/// How a [`Director`] runs.
#[derive(Clone)]
pub struct DirectorOptions {
    /// The network namespace whose IPVS table is directed.
    pub namespace: Namespace,
    /// Time between two reconciles when nothing happens.
    pub period: Duration,
    /// How long a draining real server keeps its connections at most.
    pub drain_deadline: Duration,
    /// The first back-off after a failed reconcile; doubled after each
    /// failure up to `backoff_max`, reset by a success.
    pub backoff_min: Duration,
    /// The longest back-off.
    pub backoff_max: Duration,
    /// Called with every event, on the director's threads.
    pub on_event: Option<EventCallback>,
}

impl Default for DirectorOptions {
    fn default() -> Self {
        DirectorOptions {
            namespace: Namespace::Current,
            period: Duration::from_secs(5),
            drain_deadline: Duration::from_secs(300),
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            on_event: None,
        }
    }
}

impl std::fmt::Debug for DirectorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectorOptions")
            .field("namespace", &self.namespace)
            .field("period", &self.period)
            .field("drain_deadline", &self.drain_deadline)
            .field("backoff_min", &self.backoff_min)
            .field("backoff_max", &self.backoff_max)
            .field("on_event", &self.on_event.as_ref().map(|_| ".."))
            .finish()
    }
}

impl DirectorOptions {
    fn validate(&self) -> Result<()> {
        let bad = |r: &str| Err(Error::invalid_input("starting a director", r));
        if self.period.is_zero() || self.backoff_min.is_zero() {
            return bad("period and backoff_min must be more than zero");
        }
        if self.backoff_max < self.backoff_min {
            return bad("backoff_max is shorter than backoff_min");
        }
        Ok(())
    }
}

#[derive(Default)]
struct Wake {
    dirty: bool,
    stop: bool,
}

struct Desired {
    state: DesiredState,
    /// Every service ever desired by this director: the plan's scope, so that
    /// a service leaving the desired state is deleted and no other is touched.
    owned: HashSet<ServiceKey>,
}

/// The kernel's services in a director's scope, with their real servers
/// (with counters), as both loops read them.
pub(super) type Current = Vec<(ServiceEntry, Vec<DestinationEntry>)>;

/// What the blocking and the async loop share: desired state, health,
/// drains, events and the wake-ups; and every decision (what to plan from
/// what the kernel holds, what a batch's report means, the metrics). Only
/// the reading and writing of the kernel differ between the loops.
pub(super) struct State {
    pub(super) opts: DirectorOptions,
    desired: Mutex<Desired>,
    wake: Mutex<Wake>,
    cond: Condvar,
    /// Wakes the async loop (the blocking one waits on `cond`).
    #[cfg(feature = "tokio")]
    notify: tokio::sync::Notify,
    board: Arc<Board>,
    drains: Mutex<DrainBook>,
    pub(super) sink: Sink,
    runner: Mutex<Option<Runner>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    /// Validates `desired` and `opts`; nothing started.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad desired state or options.
    pub(super) fn new(desired: &DesiredState, opts: DirectorOptions) -> Result<Arc<State>> {
        desired.validate()?;
        opts.validate()?;
        let owned = desired.services.iter().map(|s| s.service.key).collect();
        Ok(Arc::new(State {
            sink: Sink::new(opts.on_event.clone()),
            opts,
            desired: Mutex::new(Desired {
                state: DesiredState::default(),
                owned,
            }),
            wake: Mutex::new(Wake::default()),
            cond: Condvar::new(),
            #[cfg(feature = "tokio")]
            notify: tokio::sync::Notify::new(),
            board: Arc::new(Board::default()),
            drains: Mutex::new(DrainBook::default()),
            runner: Mutex::new(None),
        }))
    }

    /// A change: the loop converges at once.
    pub(super) fn poke(&self) {
        lock(&self.wake).dirty = true;
        self.cond.notify_all();
        #[cfg(feature = "tokio")]
        self.notify.notify_one();
    }

    /// Takes the wake flags: (stopped, poked).
    fn take_wake(&self) -> (bool, bool) {
        let mut w = lock(&self.wake);
        let poked = std::mem::take(&mut w.dirty);
        (w.stop, poked)
    }

    /// Waits for a poke, a stop or `timeout`: (stopped, poked).
    fn wait(&self, timeout: Duration) -> (bool, bool) {
        let until = Instant::now() + timeout;
        let mut w = lock(&self.wake);
        while !w.dirty && !w.stop {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            w = match self.cond.wait_timeout(w, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        drop(w);
        self.take_wake()
    }

    /// As [`State::wait`], awaited.
    #[cfg(feature = "tokio")]
    pub(super) async fn wait_async(&self, timeout: Duration) -> (bool, bool) {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            {
                let w = lock(&self.wake);
                if w.dirty || w.stop {
                    break;
                }
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                break;
            }
        }
        self.take_wake()
    }

    /// Stops the checks (joining their threads) and tells the loop to end.
    pub(super) fn stop(&self) {
        lock(&self.wake).stop = true;
        self.cond.notify_all();
        #[cfg(feature = "tokio")]
        self.notify.notify_one();
        drop(lock(&self.runner).take());
    }

    /// Replaces the desired state and restarts the checks; health of the
    /// real servers kept is kept.
    ///
    /// # Errors
    /// [`Error::Io`] when a check thread cannot be started.
    pub(super) fn set_desired(self: &Arc<Self>, desired: DesiredState, source: &str) -> Result<()> {
        let mut keep = HashMap::new();
        let mut checks = Vec::new();
        for (id, c) in desired.checked() {
            let initial = if c.initially_up {
                HealthState::Up
            } else {
                HealthState::Down
            };
            keep.insert(id, initial);
            checks.push((id, c.target_for(id.addr, id.port), c.clone()));
        }
        let mut slot = lock(&self.runner);
        drop(slot.take());
        self.board.retain(&keep);
        let weak = Arc::downgrade(self);
        let notify: Notify = Arc::new(move |t| {
            if let Some(s) = weak.upgrade() {
                s.sink.emit(Event::Health {
                    id: t.id,
                    state: t.state,
                    reason: t.reason,
                });
                s.poke();
            }
        });
        *slot = Some(
            Runner::start(checks, self.board.clone(), notify)
                .map_err(|e| Error::io("starting the health checks", e))?,
        );
        drop(slot);
        {
            let mut d = lock(&self.desired);
            d.owned
                .extend(desired.services.iter().map(|s| s.service.key));
            d.state = desired;
        }
        self.sink.emit(Event::DesiredChanged {
            source: source.into(),
        });
        self.poke();
        Ok(())
    }

    /// Takes a new desired state from the file, if it changed.
    pub(super) fn reload(self: &Arc<Self>, w: &mut Watched) {
        let path = w.path.display().to_string();
        let error = match w.poll() {
            None => return,
            Some(Ok(state)) => match self.set_desired(state, &path) {
                Ok(()) => return,
                Err(e) => e.to_string(),
            },
            Some(Err(e)) => e.to_string(),
        };
        self.sink.emit(Event::ReloadFailed { path, error });
    }

    /// The desired state and the services in scope, now.
    pub(super) fn desired(&self) -> (DesiredState, HashSet<ServiceKey>) {
        let d = lock(&self.desired);
        (d.state.clone(), d.owned.clone())
    }

    /// The services in scope.
    pub(super) fn scope(&self) -> HashSet<ServiceKey> {
        lock(&self.desired).owned.clone()
    }

    /// The health of every checked real server.
    pub(super) fn health(&self) -> HashMap<DestinationId, Health> {
        self.board.snapshot()
    }

    /// The real servers draining.
    pub(super) fn draining(&self) -> Vec<DestinationId> {
        lock(&self.drains).draining().copied().collect()
    }

    /// The decision of one convergence, from what the kernel holds: the
    /// effective table with drains settled, planned; `None` when nothing is
    /// to change. Reports drains and the plan as events.
    pub(super) fn plan(
        &self,
        desired: &DesiredState,
        scope: HashSet<ServiceKey>,
        current: Current,
    ) -> Option<Plan> {
        let mut eff = effective(desired, &|id| self.board.state(id));
        let per_service: Vec<(ServiceKey, Vec<DestinationEntry>)> = current
            .iter()
            .map(|(s, ds)| (s.service.key, ds.clone()))
            .collect();
        let changes = settle(
            &mut lock(&self.drains),
            &per_service,
            &mut eff,
            Instant::now(),
            self.opts.drain_deadline,
        );
        for c in changes {
            self.sink.emit(match c {
                DrainChange::Started(id) => Event::DrainStarted(id),
                DrainChange::Finished(id, end) => Event::DrainFinished(id, end),
            });
        }
        let table = Table {
            services: current
                .into_iter()
                .map(|(s, ds)| TableService {
                    service: s.service,
                    destinations: ds.into_iter().map(|d| d.destination).collect(),
                })
                .collect(),
            timeouts: None,
        };
        let opts = DiffOptions {
            scope: Scope::Services(scope),
            drain_before_remove: false,
        };
        let plan = diff(&table, &eff.table, &opts);
        if plan.is_empty() {
            return None;
        }
        self.sink.emit(Event::Planned {
            operations: plan.operations.clone(),
        });
        Some(plan)
    }

    /// What an applied plan's report means: reported as an event; the first
    /// failure's text when any operation failed.
    pub(super) fn applied(
        &self,
        plan: &Plan,
        report: &BatchReport,
    ) -> std::result::Result<(), String> {
        let failed: Vec<_> = report
            .failures()
            .filter_map(|(i, o)| Some((plan.operations.get(i)?.clone(), outcome_text(o))))
            .collect();
        let first = failed.first().map(|(op, e)| format!("{op}: {e}"));
        self.sink.emit(Event::Applied {
            done: report.done(),
            failed,
        });
        match first {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// The metrics of what the kernel holds, with health and drains.
    pub(super) fn metrics(&self, current: Current) -> Vec<ServiceMetrics> {
        let health = self.board.snapshot();
        let drains = lock(&self.drains).clone();
        current
            .into_iter()
            .map(|(entry, ds)| {
                let key = entry.service.key;
                let destinations = ds
                    .into_iter()
                    .map(|e| {
                        let id = DestinationId {
                            service: key,
                            addr: e.destination.addr,
                            port: e.destination.port,
                        };
                        DestinationMetrics {
                            entry: e,
                            health: health.get(&id).map(|h| h.state),
                            draining: drains.contains(&id),
                        }
                    })
                    .collect();
                ServiceMetrics {
                    entry,
                    destinations,
                }
            })
            .collect()
    }
}

/// When a loop converges: on every change (unless backing off), at every
/// period, and after a failure once its back-off ran out. Both loops pace
/// themselves with it.
pub(super) struct Pace {
    backoff: Option<Duration>,
    next_at: Instant,
    /// A change came since the last convergence.
    pub(super) dirty: bool,
}

impl Pace {
    /// Converging at once.
    pub(super) fn new() -> Self {
        Pace {
            backoff: None,
            next_at: Instant::now(),
            dirty: true,
        }
    }

    /// True when the loop should converge now.
    pub(super) fn due(&self) -> bool {
        Instant::now() >= self.next_at || (self.dirty && self.backoff.is_none())
    }

    /// Records a convergence's result (a failure is reported with its
    /// back-off) and schedules the next.
    pub(super) fn done(&mut self, state: &State, r: std::result::Result<(), String>) {
        match r {
            Ok(()) => self.backoff = None,
            Err(error) => {
                let b = next_backoff(self.backoff, &state.opts);
                self.backoff = Some(b);
                state.sink.emit(Event::Failed { error, retry_in: b });
            }
        }
        self.next_at = Instant::now() + self.backoff.unwrap_or(state.opts.period);
    }

    /// How long to wait for a change (shorter while a file is watched).
    pub(super) fn wait(&self, watching: bool) -> Duration {
        let wait = self.next_at.saturating_duration_since(Instant::now());
        if watching {
            wait.min(Watched::EVERY)
        } else {
            wait
        }
    }
}

/// The blocking loop's handle and state.
struct Shared {
    ipvs: Ipvs,
    state: Arc<State>,
}

/// Keeps a namespace's IPVS table equal to desired state x health x quorum x
/// drains, on threads of its own: one per health check and one for the loop.
///
/// It touches only the services it was ever given (other services of the
/// namespace are left alone). A real server leaving a service's desired
/// state is drained (see [`settle`](super::settle)); a whole service leaving
/// the desired state is deleted at once, with its real servers.
///
/// ```no_run
/// use std::time::Duration;
/// use lvskit::director::{Check, DesiredState, DirectedService, Director, DirectorOptions};
/// use lvskit::{Destination, Service, ServiceKey};
///
/// # fn main() -> lvskit::Result<()> {
/// let svc = DirectedService::new(
///     Service::new(ServiceKey::tcp([10, 0, 0, 1], 80)),
///     vec![Destination::new([10, 0, 1, 1], 80), Destination::new([10, 0, 1, 2], 80)],
/// )
/// .with_check(Check::http("/", 200).with_interval(Duration::from_secs(1)).with_timeout(Duration::from_millis(500)))
/// .with_quorum(1, Some(Destination::new([10, 0, 2, 1], 80)));
/// let director = Director::start(DesiredState { services: vec![svc] }, DirectorOptions::default())?;
/// for event in director.subscribe().iter().take(3) {
///     println!("{event:?}");
/// }
/// print!("{}", director.metrics_text()?);
/// director.stop();
/// # Ok(())
/// # }
/// ```
pub struct Director {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Director {
    /// Validates `desired`, opens an IPVS handle in `opts.namespace`, starts
    /// the checks and the loop (which converges at once).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad desired state or options (nothing
    /// started, nothing sent); any error of [`Ipvs::open`]; [`Error::Io`] when
    /// a thread cannot be started.
    pub fn start(desired: DesiredState, opts: DirectorOptions) -> Result<Director> {
        Self::start_with(desired, opts, None)
    }

    /// As [`Director::start`], with the desired state read from `path` and
    /// reloaded when the file changes (checked twice a second). A reload
    /// that does not parse or validate is reported
    /// ([`Event::ReloadFailed`]) and the last good state kept.
    ///
    /// # Errors
    /// As [`Director::start`]; [`Error::Io`] when the file cannot be read,
    /// [`Error::InvalidInput`] when it does not parse.
    pub fn watch(
        path: impl Into<PathBuf>,
        format: FileFormat,
        opts: DirectorOptions,
    ) -> Result<Director> {
        let (watched, desired) = Watched::open(path.into(), format)?;
        Self::start_with(desired, opts, Some(watched))
    }

    fn start_with(
        desired: DesiredState,
        opts: DirectorOptions,
        file: Option<Watched>,
    ) -> Result<Director> {
        let state = State::new(&desired, opts)?;
        let ipvs = Ipvs::open(state.opts.namespace.clone())?;
        let shared = Arc::new(Shared { ipvs, state });
        let mut director = Director {
            shared: shared.clone(),
            thread: None,
        };
        director.shared.state.set_desired(desired, "caller")?;
        let t = std::thread::Builder::new()
            .name("lvskit-director".into())
            .spawn(move || run(&shared, file))
            .map_err(|e| Error::io("starting the director's thread", e))?;
        director.thread = Some(t);
        Ok(director)
    }

    /// Replaces the desired state; the loop converges to it at once. Health
    /// of the real servers kept is kept.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad desired state (the previous one stays);
    /// [`Error::Io`] when a check thread cannot be started.
    pub fn set_desired(&self, desired: DesiredState) -> Result<()> {
        desired.validate()?;
        self.shared.state.set_desired(desired, "caller")
    }

    /// Converges now rather than at the next period.
    pub fn reconcile_now(&self) {
        self.shared.state.poke();
    }

    /// A new receiver of every event from now on (an iterator: `.iter()`).
    pub fn subscribe(&self) -> Receiver<Event> {
        self.shared.state.sink.subscribe()
    }

    /// The health of every checked real server.
    pub fn health(&self) -> HashMap<DestinationId, Health> {
        self.shared.state.health()
    }

    /// The real servers draining.
    pub fn draining(&self) -> Vec<DestinationId> {
        self.shared.state.draining()
    }

    /// The kernel's counters of every directed service and real server, with
    /// health and drains.
    ///
    /// # Errors
    /// Any error of [`Ipvs::services`] or [`Ipvs::destinations`].
    pub fn metrics(&self) -> Result<Vec<ServiceMetrics>> {
        let state = &self.shared.state;
        let current = read_scope(&self.shared.ipvs, &state.scope())?;
        Ok(state.metrics(current))
    }

    /// [`Director::metrics`] in the Prometheus text format ([`metrics::render`]).
    ///
    /// # Errors
    /// As [`Director::metrics`].
    pub fn metrics_text(&self) -> Result<String> {
        Ok(metrics::render(&self.metrics()?))
    }

    /// Stops the checks and the loop and waits for them. The kernel's table
    /// is left as it is: a new director with the same desired state takes it
    /// over, drains included.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.shared.state.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The loop: converge, then wait for a change, the period, or the back-off.
fn run(shared: &Shared, mut file: Option<Watched>) {
    let state = &shared.state;
    let mut pace = Pace::new();
    loop {
        if let Some(w) = &mut file {
            state.reload(w);
        }
        if pace.due() {
            pace.done(state, reconcile(shared));
        }
        let (stopped, poked) = state.wait(pace.wait(file.is_some()));
        if stopped {
            break;
        }
        pace.dirty = poked;
    }
    state.sink.emit(Event::Stopped);
}

/// The back-off after one more failure: `backoff_min` first, then doubled
/// up to `backoff_max`.
fn next_backoff(last: Option<Duration>, opts: &DirectorOptions) -> Duration {
    last.map_or(opts.backoff_min, |b| {
        b.saturating_mul(2)
            .clamp(opts.backoff_min, opts.backoff_max)
    })
}

/// The kernel's services in `scope` with their real servers (with counters).
fn read_scope(ipvs: &Ipvs, scope: &HashSet<ServiceKey>) -> Result<Current> {
    let mut out = Vec::new();
    for s in ipvs.services()? {
        if scope.contains(&s.service.key) {
            let ds = ipvs.destinations(&s.service.key)?;
            out.push((s, ds));
        }
    }
    Ok(out)
}

/// One convergence: read, decide (see [`State::plan`]), apply.
fn reconcile(shared: &Shared) -> std::result::Result<(), String> {
    let (desired, scope) = shared.state.desired();
    let current = read_scope(&shared.ipvs, &scope).map_err(|e| e.to_string())?;
    let Some(plan) = shared.state.plan(&desired, scope, current) else {
        return Ok(());
    };
    let report = shared.ipvs.apply_plan(&plan);
    shared.state.applied(&plan, &report)
}

/// The text of a failed outcome: the error's (operation, object, errno).
fn outcome_text(o: &crate::batch::OpOutcome) -> String {
    use crate::batch::OpOutcome;
    match o {
        OpOutcome::Failed(e) | OpOutcome::Unknown(e) => e.to_string(),
        OpOutcome::NotAttempted => "not attempted (an earlier operation failed)".into(),
        OpOutcome::Done => "done".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_up_to_its_bound() {
        let opts = DirectorOptions {
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(700),
            ..DirectorOptions::default()
        };
        let mut b = None;
        let mut seen = Vec::new();
        for _ in 0..6 {
            let next = next_backoff(b, &opts);
            seen.push(next.as_millis());
            b = Some(next);
        }
        assert_eq!(seen, vec![100, 200, 400, 700, 700, 700]);
        let huge = Some(Duration::MAX);
        assert_eq!(next_backoff(huge, &opts), opts.backoff_max);
    }
}
