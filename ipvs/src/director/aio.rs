//! [`AsyncDirector`]: the director's loop as a tokio task on the async IPVS
//! handle ([`crate::aio::Ipvs`]), with the blocking [`super::Director`]'s
//! state and decisions (`State`: effective table, drains, health, events,
//! metrics; `Pace`: when to converge). Only the reading and writing of the
//! kernel are awaited here. The health checks run on their threads, as for
//! the blocking director (a probe never holds up the runtime).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::events::Event;
use super::health::{DestinationId, Health};
use super::metrics::{self, ServiceMetrics};
use super::policy::DesiredState;
use super::reconcile::{Current, DirectorOptions, Pace, State};
use super::source::{FileFormat, Watched};
use crate::aio::Ipvs;
use crate::error::Result;
use crate::model::ServiceKey;

/// A [`super::Director`] whose loop is a tokio task on the async IPVS
/// handle: the same desired state, checks, drains, quorum, events and
/// metrics, decided by the same code; the kernel is read and written
/// without blocking a runtime thread.
///
/// ```no_run
/// use std::time::Duration;
/// use lvskit::director::{AsyncDirector, Check, DesiredState, DirectedService, DirectorOptions};
/// use lvskit::{Destination, Service, ServiceKey};
///
/// # async fn f() -> lvskit::Result<()> {
/// let svc = DirectedService::new(
///     Service::new(ServiceKey::tcp([10, 0, 0, 1], 80)),
///     vec![Destination::new([10, 0, 1, 1], 80), Destination::new([10, 0, 1, 2], 80)],
/// )
/// .with_check(Check::tcp().with_interval(Duration::from_secs(1)).with_timeout(Duration::from_millis(500)));
/// let director =
///     AsyncDirector::start(DesiredState { services: vec![svc] }, DirectorOptions::default()).await?;
/// print!("{}", director.metrics_text().await?);
/// director.stop().await;
/// # Ok(()) }
/// ```
pub struct AsyncDirector {
    state: Arc<State>,
    ipvs: Ipvs,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for AsyncDirector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncDirector")
            .field("options", &self.state.opts)
            .finish_non_exhaustive()
    }
}

impl AsyncDirector {
    /// Validates `desired`, opens an async IPVS handle in `opts.namespace`,
    /// starts the checks and the loop's task (which converges at once) on
    /// the current tokio runtime.
    ///
    /// # Errors
    /// As [`super::Director::start`]; [`crate::Error::Io`] outside a tokio
    /// runtime.
    pub async fn start(desired: DesiredState, opts: DirectorOptions) -> Result<AsyncDirector> {
        Self::start_with(desired, opts, None).await
    }

    /// As [`AsyncDirector::start`], with the desired state read from `path`
    /// and reloaded when the file changes, as [`super::Director::watch`].
    ///
    /// # Errors
    /// As [`super::Director::watch`].
    pub async fn watch(
        path: impl Into<PathBuf>,
        format: FileFormat,
        opts: DirectorOptions,
    ) -> Result<AsyncDirector> {
        let (watched, desired) = Watched::open(path.into(), format)?;
        Self::start_with(desired, opts, Some(watched)).await
    }

    /// As [`AsyncDirector::start`], on an async IPVS handle the caller
    /// opened (`opts.namespace` is then not used: the handle's namespace is
    /// directed). The handle may be shared with other tasks, or be one over
    /// a scripted kernel (`aio::Ipvs::with_kernel`, feature `test-kernel`),
    /// which lets the loop run on a host without IPVS.
    ///
    /// ```no_run
    /// use lvskit::director::{AsyncDirector, DesiredState, DirectorOptions};
    ///
    /// # async fn f() -> lvskit::Result<()> {
    /// let ipvs = lvskit::aio::Ipvs::new().await?;
    /// let director =
    ///     AsyncDirector::with_handle(ipvs, DesiredState::default(), DirectorOptions::default())?;
    /// director.stop().await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] for bad desired state or options
    /// (nothing started, nothing sent); [`crate::Error::Io`] outside a tokio
    /// runtime or when a check thread cannot be started.
    pub fn with_handle(
        ipvs: Ipvs,
        desired: DesiredState,
        opts: DirectorOptions,
    ) -> Result<AsyncDirector> {
        let state = State::new(&desired, opts)?;
        Self::run_on(ipvs, state, desired, None)
    }

    async fn start_with(
        desired: DesiredState,
        opts: DirectorOptions,
        file: Option<Watched>,
    ) -> Result<AsyncDirector> {
        let state = State::new(&desired, opts)?;
        let ipvs = Ipvs::open(state.opts.namespace.clone()).await?;
        Self::run_on(ipvs, state, desired, file)
    }

    /// Starts the checks and the loop's task on the current runtime.
    fn run_on(
        ipvs: Ipvs,
        state: Arc<State>,
        desired: DesiredState,
        file: Option<Watched>,
    ) -> Result<AsyncDirector> {
        let rt = tokio::runtime::Handle::try_current().map_err(|e| {
            crate::Error::io(
                "starting an async director",
                std::io::Error::other(e.to_string()),
            )
        })?;
        state.set_desired(desired, "caller")?;
        let task = rt.spawn(run(ipvs.clone(), Arc::clone(&state), file));
        Ok(AsyncDirector {
            state,
            ipvs,
            task: Some(task),
        })
    }

    /// Replaces the desired state; the loop converges to it at once. Health
    /// of the real servers kept is kept. The previous checks' threads are
    /// stopped first: each finishes the probe it is in (at most its timeout).
    ///
    /// # Errors
    /// As [`super::Director::set_desired`].
    pub fn set_desired(&self, desired: DesiredState) -> Result<()> {
        desired.validate()?;
        self.state.set_desired(desired, "caller")
    }

    /// Converges now rather than at the next period.
    pub fn reconcile_now(&self) {
        self.state.poke();
    }

    /// A new receiver of every event from now on.
    pub fn subscribe(&self) -> Receiver<Event> {
        self.state.sink.subscribe()
    }

    /// The health of every checked real server.
    pub fn health(&self) -> HashMap<DestinationId, Health> {
        self.state.health()
    }

    /// The real servers draining.
    pub fn draining(&self) -> Vec<DestinationId> {
        self.state.draining()
    }

    /// The kernel's counters of every directed service and real server, with
    /// health and drains.
    ///
    /// # Errors
    /// Any error of [`Ipvs::services`] or [`Ipvs::destinations`].
    pub async fn metrics(&self) -> Result<Vec<ServiceMetrics>> {
        let current = read_scope(&self.ipvs, &self.state.scope()).await?;
        Ok(self.state.metrics(current))
    }

    /// [`AsyncDirector::metrics`] in the Prometheus text format ([`metrics::render`]).
    ///
    /// # Errors
    /// As [`AsyncDirector::metrics`].
    pub async fn metrics_text(&self) -> Result<String> {
        Ok(metrics::render(&self.metrics().await?))
    }

    /// Stops the checks and the loop and waits for them (the check threads
    /// are joined off the runtime's threads). The kernel's table is left as
    /// it is, as [`super::Director::stop`] leaves it.
    pub async fn stop(mut self) {
        let state = Arc::clone(&self.state);
        let _ = tokio::task::spawn_blocking(move || state.stop()).await;
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for AsyncDirector {
    fn drop(&mut self) {
        if self.task.is_some() {
            // not stopped with `stop`: the loop ends at its next wake-up
            self.state.stop();
        }
    }
}

/// The loop: converge, then wait for a change, the period, or the back-off.
async fn run(ipvs: Ipvs, state: Arc<State>, mut file: Option<Watched>) {
    let mut pace = Pace::new();
    loop {
        if let Some(w) = &mut file {
            state.reload(w);
        }
        if pace.due() {
            let r = reconcile(&ipvs, &state).await;
            pace.done(&state, r);
        }
        let (stopped, poked) = state.wait_async(pace.wait(file.is_some())).await;
        if stopped {
            break;
        }
        pace.dirty = poked;
    }
    state.sink.emit(Event::Stopped);
}

/// The kernel's services in `scope` with their real servers (with counters).
async fn read_scope(ipvs: &Ipvs, scope: &HashSet<ServiceKey>) -> Result<Current> {
    let mut out = Vec::new();
    for s in ipvs.services().await? {
        if scope.contains(&s.service.key) {
            let ds = ipvs.destinations(&s.service.key).await?;
            out.push((s, ds));
        }
    }
    Ok(out)
}

/// One convergence: read, decide (the blocking loop's decisions), apply.
async fn reconcile(ipvs: &Ipvs, state: &State) -> std::result::Result<(), String> {
    let (desired, scope) = state.desired();
    let current = read_scope(ipvs, &scope).await.map_err(|e| e.to_string())?;
    let Some(plan) = state.plan(&desired, scope, current) else {
        return Ok(());
    };
    let report = ipvs.apply_plan(&plan).await;
    state.applied(&plan, &report)
}
