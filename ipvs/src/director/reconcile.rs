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
use crate::error::{Error, Result};
use crate::handle::Ipvs;
use crate::model::{DestinationEntry, ServiceKey};
use crate::netns::Namespace;
use crate::table::{diff, DiffOptions, Scope, Table, TableService};

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

struct Shared {
    ipvs: Ipvs,
    opts: DirectorOptions,
    desired: Mutex<Desired>,
    wake: Mutex<Wake>,
    cond: Condvar,
    board: Arc<Board>,
    drains: Mutex<DrainBook>,
    sink: Sink,
    runner: Mutex<Option<Runner>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn poke(&self) {
        lock(&self.wake).dirty = true;
        self.cond.notify_all();
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
        let poked = std::mem::take(&mut w.dirty);
        (w.stop, poked)
    }
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
        desired.validate()?;
        opts.validate()?;
        let ipvs = Ipvs::open(opts.namespace.clone())?;
        let owned = desired.services.iter().map(|s| s.service.key).collect();
        let shared = Arc::new(Shared {
            ipvs,
            sink: Sink::new(opts.on_event.clone()),
            opts,
            desired: Mutex::new(Desired {
                state: DesiredState::default(),
                owned,
            }),
            wake: Mutex::new(Wake::default()),
            cond: Condvar::new(),
            board: Arc::new(Board::default()),
            drains: Mutex::new(DrainBook::default()),
            runner: Mutex::new(None),
        });
        let mut director = Director {
            shared: shared.clone(),
            thread: None,
        };
        director.take(desired, "caller")?;
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
        self.take(desired, "caller")
    }

    fn take(&self, desired: DesiredState, source: &str) -> Result<()> {
        set_desired(&self.shared, desired, source)
    }

    /// Converges now rather than at the next period.
    pub fn reconcile_now(&self) {
        self.shared.poke();
    }

    /// A new receiver of every event from now on (an iterator: `.iter()`).
    pub fn subscribe(&self) -> Receiver<Event> {
        self.shared.sink.subscribe()
    }

    /// The health of every checked real server.
    pub fn health(&self) -> HashMap<DestinationId, Health> {
        self.shared.board.snapshot()
    }

    /// The real servers draining.
    pub fn draining(&self) -> Vec<DestinationId> {
        lock(&self.shared.drains).draining().copied().collect()
    }

    /// The kernel's counters of every directed service and real server, with
    /// health and drains.
    ///
    /// # Errors
    /// Any error of [`Ipvs::services`] or [`Ipvs::destinations`].
    pub fn metrics(&self) -> Result<Vec<ServiceMetrics>> {
        collect_metrics(&self.shared)
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
        lock(&self.shared.wake).stop = true;
        self.shared.cond.notify_all();
        drop(lock(&self.shared.runner).take());
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

fn set_desired(shared: &Arc<Shared>, desired: DesiredState, source: &str) -> Result<()> {
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
    let mut slot = lock(&shared.runner);
    drop(slot.take());
    shared.board.retain(&keep);
    let weak = Arc::downgrade(shared);
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
        Runner::start(checks, shared.board.clone(), notify)
            .map_err(|e| Error::io("starting the health checks", e))?,
    );
    {
        let mut d = lock(&shared.desired);
        d.owned
            .extend(desired.services.iter().map(|s| s.service.key));
        d.state = desired;
    }
    shared.sink.emit(Event::DesiredChanged {
        source: source.into(),
    });
    shared.poke();
    Ok(())
}

/// The loop: converge, then wait for a change, the period, or the back-off.
fn run(shared: &Arc<Shared>, mut file: Option<Watched>) {
    let mut backoff: Option<Duration> = None;
    let mut next_at = Instant::now();
    let mut dirty = true;
    loop {
        if let Some(w) = &mut file {
            reload(shared, w);
        }
        if Instant::now() >= next_at || (dirty && backoff.is_none()) {
            match reconcile(shared) {
                Ok(()) => backoff = None,
                Err(error) => {
                    let b = next_backoff(backoff, &shared.opts);
                    backoff = Some(b);
                    shared.sink.emit(Event::Failed { error, retry_in: b });
                }
            }
            next_at = Instant::now() + backoff.unwrap_or(shared.opts.period);
        }
        let mut wait = next_at.saturating_duration_since(Instant::now());
        if file.is_some() {
            wait = wait.min(Watched::EVERY);
        }
        let (stopped, poked) = shared.wait(wait);
        if stopped {
            break;
        }
        dirty = poked;
    }
    shared.sink.emit(Event::Stopped);
}

/// The back-off after one more failure: `backoff_min` first, then doubled
/// up to `backoff_max`.
fn next_backoff(last: Option<Duration>, opts: &DirectorOptions) -> Duration {
    last.map_or(opts.backoff_min, |b| {
        b.saturating_mul(2)
            .clamp(opts.backoff_min, opts.backoff_max)
    })
}

fn reload(shared: &Arc<Shared>, w: &mut Watched) {
    let path = w.path.display().to_string();
    match w.poll() {
        None => {}
        Some(Ok(state)) => {
            if let Err(e) = set_desired(shared, state, &path) {
                shared.sink.emit(Event::ReloadFailed {
                    path,
                    error: e.to_string(),
                });
            }
        }
        Some(Err(e)) => shared.sink.emit(Event::ReloadFailed {
            path,
            error: e.to_string(),
        }),
    }
}

/// The kernel's services in `scope` with their real servers (with counters).
fn read_scope(
    ipvs: &Ipvs,
    scope: &HashSet<ServiceKey>,
) -> Result<Vec<(crate::model::ServiceEntry, Vec<DestinationEntry>)>> {
    let mut out = Vec::new();
    for s in ipvs.services()? {
        if scope.contains(&s.service.key) {
            let ds = ipvs.destinations(&s.service.key)?;
            out.push((s, ds));
        }
    }
    Ok(out)
}

/// One convergence: read, compute the effective table with drains, plan, apply.
fn reconcile(shared: &Shared) -> std::result::Result<(), String> {
    let (desired, scope) = {
        let d = lock(&shared.desired);
        (d.state.clone(), d.owned.clone())
    };
    let current = read_scope(&shared.ipvs, &scope).map_err(|e| e.to_string())?;
    let mut eff = effective(&desired, &|id| shared.board.state(id));
    let per_service: Vec<(ServiceKey, Vec<DestinationEntry>)> = current
        .iter()
        .map(|(s, ds)| (s.service.key, ds.clone()))
        .collect();
    let changes = settle(
        &mut lock(&shared.drains),
        &per_service,
        &mut eff,
        Instant::now(),
        shared.opts.drain_deadline,
    );
    for c in changes {
        shared.sink.emit(match c {
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
        return Ok(());
    }
    shared.sink.emit(Event::Planned {
        operations: plan.operations.clone(),
    });
    let report = shared.ipvs.apply_plan(&plan);
    let failed: Vec<_> = report
        .failures()
        .filter_map(|(i, o)| Some((plan.operations.get(i)?.clone(), outcome_text(o))))
        .collect();
    let ok = failed.is_empty();
    let first = failed.first().map(|(op, e)| format!("{op}: {e}"));
    shared.sink.emit(Event::Applied {
        done: report.done(),
        failed,
    });
    match (ok, first) {
        (true, _) | (false, None) => Ok(()),
        (false, Some(e)) => Err(e),
    }
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

fn collect_metrics(shared: &Shared) -> Result<Vec<ServiceMetrics>> {
    let scope = lock(&shared.desired).owned.clone();
    let current = read_scope(&shared.ipvs, &scope)?;
    let health = shared.board.snapshot();
    let drains = lock(&shared.drains).clone();
    Ok(current
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
        .collect())
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
