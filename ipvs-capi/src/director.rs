//! The director (`lvskit::director`) for C: a desired state built service by
//! service (lvskit_desired), a running director (lvskit_director) that keeps
//! a namespace's IPVS table equal to desired state x health x quorum x
//! drains, its events (a callback, and a queue read with
//! lvskit_director_poll_event()) and its metrics text. All decisions are the
//! core's: this file only translates.

use std::collections::VecDeque;
use std::ffi::{c_char, CString};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ipvs_core::director::{
    DesiredState, DestinationId, DirectedService, Director, DirectorOptions, DrainEnd, Event,
    HealthState, OnFailure,
};
use ipvs_core::{Destination, Namespace, Service, ServiceKey};

use crate::error::{guard, guard_value, input, CResult};
use crate::ffi::{arg, arg_mut, c_str, give_string, optional, out, owned, put, release};
use crate::health_check::{lvskit_check, CCallback, UserPtr};
use crate::types::{
    destination_from, destination_to, key_from, lvskit_destination, lvskit_service, service_from,
    service_to,
};
use crate::{give, lvskit_result};

/// lvskit_desired_add_service(): a failing real server is kept at weight 0
/// (keepalived's inhibit_on_failure).
pub const LVSKIT_ON_FAILURE_INHIBIT: u32 = 0;
/// lvskit_desired_add_service(): a failing real server is deleted.
pub const LVSKIT_ON_FAILURE_REMOVE: u32 = 1;

/// Health: the real server is not checked (it counts as healthy).
pub const LVSKIT_HEALTH_UNCHECKED: u32 = 0;
/// Health: the real server passes its checks.
pub const LVSKIT_HEALTH_UP: u32 = 1;
/// Health: the real server fails its checks.
pub const LVSKIT_HEALTH_DOWN: u32 = 2;

/// A drain ended: no connections were left; the real server was deleted.
pub const LVSKIT_DRAIN_IDLE: u32 = 1;
/// A drain ended: its deadline passed; the real server was deleted.
pub const LVSKIT_DRAIN_DEADLINE: u32 = 2;
/// A drain ended: the real server is wanted again and got its weight back.
pub const LVSKIT_DRAIN_RETURNED: u32 = 3;
/// A drain ended: the real server vanished from the kernel.
pub const LVSKIT_DRAIN_GONE: u32 = 4;

/// What an ::lvskit_event reports. The numbers are stable; new kinds may be
/// added (keep a default branch).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lvskit_event_kind {
    /// A real server's health changed: `service`, `destination`, `health`,
    /// `text` (the failure's reason, or empty).
    Health = 1,
    /// A plan was made: `count` operations, `text` them, one per line.
    Planned = 2,
    /// A plan was applied: `count` operations done, `failures` failed,
    /// `text` the failures ("operation: error"), one per line.
    Applied = 3,
    /// A real server started draining (or a drain was resumed): `service`, `destination`.
    DrainStarted = 4,
    /// A drain ended: `service`, `destination`, `drain_end`.
    DrainFinished = 5,
    /// A reconcile failed: `text` the error; the next in `retry_in_ms`.
    Failed = 6,
    /// New desired state was taken: `text` where from ("caller" or a file).
    DesiredChanged = 7,
    /// A desired-state file could not be reloaded: `text` the file and error.
    ReloadFailed = 8,
    /// The director stopped.
    Stopped = 9,
    /// An event this version of the binding does not know.
    Other = 99,
}

/// One event of a director. Fields a kind does not use are zero (`service`
/// and `destination` as lvskit_service_init() and lvskit_destination_init()
/// leave them); `text` is never NULL (empty when unused).
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct lvskit_event {
    /// What happened.
    pub kind: lvskit_event_kind,
    /// The service (its key fields) of HEALTH and DRAIN_* events.
    pub service: lvskit_service,
    /// The real server (its family, address and port) of HEALTH and DRAIN_* events.
    pub destination: lvskit_destination,
    /// HEALTH: LVSKIT_HEALTH_UP or LVSKIT_HEALTH_DOWN.
    pub health: u32,
    /// DRAIN_FINISHED: LVSKIT_DRAIN_*.
    pub drain_end: u32,
    /// PLANNED: operations planned; APPLIED: operations done.
    pub count: u32,
    /// APPLIED: operations failed.
    pub failures: u32,
    /// FAILED: the back-off before the next attempt, in milliseconds.
    pub retry_in_ms: u64,
    /// NUL-terminated text (see the kinds); valid as long as the event.
    pub text: *const c_char,
}

/// An event with the text it points to.
struct OwnedEvent {
    c: lvskit_event,
    _text: CString,
}

// SAFETY: `c.text` points into `_text`, owned by the same value and never
// written through.
unsafe impl Send for OwnedEvent {}

fn clamp32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn where_of(e: &mut lvskit_event, id: &DestinationId) {
    e.service = service_to(&Service::new(id.service));
    e.destination = destination_to(&Destination::new(id.addr, id.port));
}

fn drain_end(end: DrainEnd) -> u32 {
    match end {
        DrainEnd::Idle => LVSKIT_DRAIN_IDLE,
        DrainEnd::Deadline => LVSKIT_DRAIN_DEADLINE,
        DrainEnd::Returned => LVSKIT_DRAIN_RETURNED,
        DrainEnd::Gone => LVSKIT_DRAIN_GONE,
    }
}

fn lines<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join("\n")
}

fn event_to(ev: &Event) -> OwnedEvent {
    let mut e = lvskit_event {
        kind: lvskit_event_kind::Other,
        service: lvskit_service::default(),
        destination: lvskit_destination::default(),
        health: 0,
        drain_end: 0,
        count: 0,
        failures: 0,
        retry_in_ms: 0,
        text: std::ptr::null(),
    };
    let text = match ev {
        Event::Health { id, state, reason } => {
            e.kind = lvskit_event_kind::Health;
            where_of(&mut e, id);
            e.health = match state {
                HealthState::Up => LVSKIT_HEALTH_UP,
                HealthState::Down => LVSKIT_HEALTH_DOWN,
            };
            reason.clone().unwrap_or_default()
        }
        Event::Planned { operations } => {
            (e.kind, e.count) = (lvskit_event_kind::Planned, clamp32(operations.len()));
            lines(operations, |o| o.to_string())
        }
        Event::Applied { done, failed } => {
            e.kind = lvskit_event_kind::Applied;
            (e.count, e.failures) = (clamp32(*done), clamp32(failed.len()));
            lines(failed, |(o, err)| format!("{o}: {err}"))
        }
        Event::DrainStarted(id) => {
            e.kind = lvskit_event_kind::DrainStarted;
            where_of(&mut e, id);
            String::new()
        }
        Event::DrainFinished(id, end) => {
            e.kind = lvskit_event_kind::DrainFinished;
            where_of(&mut e, id);
            e.drain_end = drain_end(*end);
            String::new()
        }
        Event::Failed { error, retry_in } => {
            e.kind = lvskit_event_kind::Failed;
            e.retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
            error.clone()
        }
        Event::DesiredChanged { source } => {
            e.kind = lvskit_event_kind::DesiredChanged;
            source.clone()
        }
        Event::ReloadFailed { path, error } => {
            e.kind = lvskit_event_kind::ReloadFailed;
            format!("{path}: {error}")
        }
        Event::Stopped => {
            e.kind = lvskit_event_kind::Stopped;
            String::new()
        }
        _ => format!("{ev:?}"),
    };
    let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
    e.text = text.as_ptr();
    OwnedEvent { c: e, _text: text }
}

// ---------------------------------------------------------------- desired state

/// A desired state: services with their real servers, check, failure
/// policy, quorum and sorry server. Made by lvskit_desired_new(), released
/// by lvskit_desired_free(); a director keeps its own copy.
#[allow(non_camel_case_types)]
pub struct lvskit_desired {
    state: DesiredState,
    callbacks: Vec<Arc<CCallback>>,
}

/// A director's event as the caller owns it, from
/// lvskit_director_poll_event(): read it with lvskit_director_event_get(),
/// release it with lvskit_director_event_free().
#[allow(non_camel_case_types)]
pub struct lvskit_director_event {
    event: OwnedEvent,
}

owned!(lvskit_desired, lvskit_director_event);

/// Makes an empty desired state. On success `*desired_out` receives it,
/// owned by the caller (lvskit_desired_free()).
///
/// # Safety
/// `desired_out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_desired_new(
    desired_out: *mut *mut lvskit_desired,
) -> lvskit_result {
    guard("lvskit_desired_new", || {
        let o = out(desired_out, "desired_out")?;
        let d = lvskit_desired {
            state: DesiredState::default(),
            callbacks: Vec::new(),
        };
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { give(o, d) };
        Ok(())
    })
}

fn on_failure_from(v: u32) -> CResult<OnFailure> {
    match v {
        LVSKIT_ON_FAILURE_INHIBIT => Ok(OnFailure::Inhibit),
        LVSKIT_ON_FAILURE_REMOVE => Ok(OnFailure::Remove),
        v => Err(input(format!(
            "unknown on_failure {v} (use LVSKIT_ON_FAILURE_INHIBIT or _REMOVE)"
        ))),
    }
}

fn service_of<'a>(d: &'a mut lvskit_desired, key: &ServiceKey) -> CResult<&'a mut DirectedService> {
    d.state
        .services
        .iter_mut()
        .find(|s| s.service.key == *key)
        .ok_or_else(|| input(format!("service {key} is not in the desired state")))
}

/// Adds a service (copied) with no real servers yet: each of its real
/// servers is checked with `check` (copied; NULL: not checked, all count as
/// healthy), and a failing one is handled as `on_failure` says
/// (LVSKIT_ON_FAILURE_INHIBIT or LVSKIT_ON_FAILURE_REMOVE). A service
/// already in the desired state is `LVSKIT_RESULT_INVALID_INPUT`.
///
/// # Safety
/// `desired` NULL or live; `service` NULL or valid; `check` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lvskit_desired_add_service(
    desired: *mut lvskit_desired,
    service: *const lvskit_service,
    check: *const lvskit_check,
    on_failure: u32,
) -> lvskit_result {
    guard("lvskit_desired_add_service", || {
        // SAFETY: the caller's promises.
        let (d, s) = unsafe { (arg_mut(desired, "desired")?, arg(service, "service")?) };
        let svc = service_from(s)?;
        let policy = on_failure_from(on_failure)?;
        if service_of(d, &svc.key).is_ok() {
            return Err(input(format!(
                "service {} is already in the desired state",
                svc.key
            )));
        }
        let mut ds = DirectedService::new(svc, Vec::new()).with_on_failure(policy);
        // SAFETY: the caller's promise.
        if let Some(c) = unsafe { optional(check) } {
            ds = ds.with_check(c.check.clone());
            d.callbacks.extend(c.callback.clone());
        }
        d.state.services.push(ds);
        Ok(())
    })
}

/// Adds a real server (copied, with its desired weight) to the service of
/// the desired state found by the key fields of `service`
/// (`LVSKIT_RESULT_INVALID_INPUT` when it is not there).
///
/// # Safety
/// `desired` NULL or live; `service` and `destination` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_desired_add_destination(
    desired: *mut lvskit_desired,
    service: *const lvskit_service,
    destination: *const lvskit_destination,
) -> lvskit_result {
    guard("lvskit_desired_add_destination", || {
        // SAFETY: the caller's promises.
        let (d, s, dest) = unsafe {
            (
                arg_mut(desired, "desired")?,
                arg(service, "service")?,
                arg(destination, "destination")?,
            )
        };
        let dest = destination_from(dest)?;
        service_of(d, &key_from(s)?)?.destinations.push(dest);
        Ok(())
    })
}

/// Sets the quorum of the service found by the key fields of `service`:
/// while fewer than `quorum` of its real servers are healthy, the sorry
/// server `sorry` (copied; NULL: none) takes the new connections and the
/// healthy real servers are set to weight 0. 0: no quorum.
///
/// # Safety
/// `desired` NULL or live; `service` NULL or valid; `sorry` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lvskit_desired_set_quorum(
    desired: *mut lvskit_desired,
    service: *const lvskit_service,
    quorum: u32,
    sorry: *const lvskit_destination,
) -> lvskit_result {
    guard("lvskit_desired_set_quorum", || {
        // SAFETY: the caller's promises.
        let (d, s) = unsafe { (arg_mut(desired, "desired")?, arg(service, "service")?) };
        // SAFETY: the caller's promise.
        let sorry = match unsafe { optional(sorry) } {
            Some(x) => Some(destination_from(x)?),
            None => None,
        };
        let svc = service_of(d, &key_from(s)?)?;
        (svc.quorum, svc.sorry_server) = (quorum, sorry);
        Ok(())
    })
}

/// Checks the whole desired state as a director would before using it:
/// `LVSKIT_RESULT_INVALID_INPUT` with a message naming the service for a
/// real server listed twice, a sorry server that is also a real server, a
/// quorum above the number of real servers, a bad check (zero interval, rise
/// or fall 0, a target that points at nothing, ...).
///
/// # Safety
/// `desired` must be NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lvskit_desired_validate(desired: *const lvskit_desired) -> lvskit_result {
    guard("lvskit_desired_validate", || {
        // SAFETY: the caller's promise.
        unsafe { arg(desired, "desired") }?.state.validate()?;
        Ok(())
    })
}

/// Releases a desired state. NULL is accepted and ignored.
///
/// # Safety
/// `desired` must be NULL or live, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_desired_free(desired: *mut lvskit_desired) {
    // SAFETY: the caller's promise.
    guard_value((), || unsafe { release(desired) })
}

// ---------------------------------------------------------------- the director

/// How a director runs; fill it with lvskit_director_options_init().
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lvskit_director_options {
    /// Time between two reconciles when nothing happens (default 5000).
    pub period_ms: u32,
    /// How long a draining real server keeps its connections at most (default 300000).
    pub drain_deadline_ms: u32,
    /// The first back-off after a failed reconcile (default 200), doubled
    /// after each failure up to `backoff_max_ms` (default 30000).
    pub backoff_min_ms: u32,
    /// The longest back-off.
    pub backoff_max_ms: u32,
    /// Events kept for lvskit_director_poll_event() (default 1024; the
    /// oldest are dropped beyond it); 0: no queue, events go only to the callback.
    pub event_queue: u32,
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl Default for lvskit_director_options {
    fn default() -> Self {
        let d = DirectorOptions::default();
        lvskit_director_options {
            period_ms: ms(d.period),
            drain_deadline_ms: ms(d.drain_deadline),
            backoff_min_ms: ms(d.backoff_min),
            backoff_max_ms: ms(d.backoff_max),
            event_queue: 1024,
        }
    }
}

/// Fills `options` with the defaults.
///
/// # Safety
/// `options` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_options_init(
    options: *mut lvskit_director_options,
) -> lvskit_result {
    guard("lvskit_director_options_init", || {
        let p = out(options, "options")?;
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { put(p, lvskit_director_options::default()) };
        Ok(())
    })
}

/// Called with each event of a director, on the director's threads, while
/// the event is valid (copy what is kept). It must not call back into the
/// director; `user` must be usable from any thread.
#[allow(non_camel_case_types)]
pub type lvskit_event_fn =
    Option<unsafe extern "C" fn(user: *mut std::ffi::c_void, event: *const lvskit_event)>;

/// The events kept for lvskit_director_poll_event().
struct Queue {
    items: Mutex<VecDeque<OwnedEvent>>,
    ready: Condvar,
    cap: usize,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<OwnedEvent>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, e: OwnedEvent) {
        if self.cap == 0 {
            return;
        }
        let mut q = self.lock();
        while q.len() >= self.cap {
            q.pop_front();
        }
        q.push_back(e);
        self.ready.notify_all();
    }

    fn pop(&self, timeout: Duration) -> Option<OwnedEvent> {
        let until = Instant::now() + timeout;
        let mut q = self.lock();
        loop {
            if let Some(e) = q.pop_front() {
                return Some(e);
            }
            let left = until.checked_duration_since(Instant::now())?;
            q = match self.ready.wait_timeout(q, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

/// A running director. Made by lvskit_director_start(), stopped by
/// lvskit_director_stop() and released by lvskit_director_free(). May be
/// used from several threads at once.
#[allow(non_camel_case_types)]
pub struct lvskit_director {
    director: Mutex<Option<Director>>,
    queue: Arc<Queue>,
    callbacks: Mutex<Vec<Arc<CCallback>>>,
}

owned!(lvskit_director);

impl lvskit_director {
    fn running<T>(&self, f: impl FnOnce(&Director) -> CResult<T>) -> CResult<T> {
        let d = self.director.lock().unwrap_or_else(|p| p.into_inner());
        f(d.as_ref().ok_or_else(|| input("the director is stopped"))?)
    }

    /// Stops the director (if running) and waits until no check callback runs.
    fn halt(&self) {
        let d = self
            .director
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(d) = d {
            d.stop();
        }
        for cb in self
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            cb.wait_idle();
        }
    }
}

// `..DirectorOptions::default()`: options the core adds later keep their defaults
#[allow(clippy::needless_update)]
fn options_from(
    o: &lvskit_director_options,
    namespace: Namespace,
    on_event: ipvs_core::director::EventCallback,
) -> DirectorOptions {
    let ms = |v: u32| Duration::from_millis(u64::from(v));
    DirectorOptions {
        namespace,
        period: ms(o.period_ms),
        drain_deadline: ms(o.drain_deadline_ms),
        backoff_min: ms(o.backoff_min_ms),
        backoff_max: ms(o.backoff_max_ms),
        on_event: Some(on_event),
        ..DirectorOptions::default()
    }
}

unsafe fn namespace_from(path: *const c_char) -> CResult<Namespace> {
    // SAFETY: the caller's promise.
    Ok(match unsafe { optional(path) } {
        None => Namespace::Current,
        Some(_) => match unsafe { c_str(path, "netns_path") }? {
            "" => return Err(input("netns_path is empty")),
            p => Namespace::Path(PathBuf::from(p)),
        },
    })
}

/// Starts a director on `desired` (copied) in the network namespace at
/// `netns_path` (e.g. "/run/netns/NAME"; NULL: the calling thread's), with
/// `options` (NULL: the defaults). It validates the desired state and the
/// options first (`LVSKIT_RESULT_INVALID_INPUT`, nothing started, nothing
/// sent), then starts one thread per checked real server and one for the
/// loop, which converges at once. Every event goes to `on_event(user,
/// event)` when it is not NULL, and to the queue (see
/// lvskit_director_options.event_queue). It only touches the services it
/// was given. On success `*director_out` receives the director, owned by the
/// caller (lvskit_director_free()).
///
/// # Safety
/// `desired` NULL or live; `options` NULL or valid; `netns_path` NULL or a
/// NUL-terminated string; `on_event` NULL or as lvskit_event_fn describes;
/// `director_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_start(
    desired: *const lvskit_desired,
    options: *const lvskit_director_options,
    netns_path: *const c_char,
    on_event: lvskit_event_fn,
    user: *mut std::ffi::c_void,
    director_out: *mut *mut lvskit_director,
) -> lvskit_result {
    guard("lvskit_director_start", || {
        // SAFETY: the caller's promises.
        let d = unsafe { arg(desired, "desired") }?;
        let o = unsafe { optional(options) }.copied().unwrap_or_default();
        let ns = unsafe { namespace_from(netns_path) }?;
        let dout = out(director_out, "director_out")?;
        let queue = Arc::new(Queue {
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            cap: o.event_queue as usize,
        });
        let (q, user) = (queue.clone(), UserPtr(user));
        let callback: ipvs_core::director::EventCallback = Arc::new(move |ev: &Event| {
            let e = event_to(ev);
            if let Some(f) = on_event {
                // SAFETY: the caller's function and user pointer; the event
                // lives for the call.
                unsafe { f(user.get(), &e.c) };
            }
            q.push(e);
        });
        let director = Director::start(d.state.clone(), options_from(&o, ns, callback))?;
        let c = lvskit_director {
            director: Mutex::new(Some(director)),
            queue,
            callbacks: Mutex::new(d.callbacks.clone()),
        };
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { give(dout, c) };
        Ok(())
    })
}

/// Replaces the director's desired state with `desired` (copied); the loop
/// converges to it at once. A desired state that does not validate is
/// `LVSKIT_RESULT_INVALID_INPUT` and the previous one stays.
///
/// # Safety
/// `director` NULL or live; `desired` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_set_desired(
    director: *const lvskit_director,
    desired: *const lvskit_desired,
) -> lvskit_result {
    guard("lvskit_director_set_desired", || {
        // SAFETY: the caller's promises.
        let (dir, d) = unsafe { (arg(director, "director")?, arg(desired, "desired")?) };
        dir.running(|r| Ok(r.set_desired(d.state.clone())?))?;
        dir.callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(d.callbacks.iter().cloned());
        Ok(())
    })
}

/// Converges now rather than at the next period.
///
/// # Safety
/// `director` must be NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_reconcile_now(
    director: *const lvskit_director,
) -> lvskit_result {
    guard("lvskit_director_reconcile_now", || {
        // SAFETY: the caller's promise.
        unsafe { arg(director, "director") }?.running(|r| {
            r.reconcile_now();
            Ok(())
        })
    })
}

/// Takes the oldest queued event, waiting up to `timeout_ms` for one. On
/// success `*event_out` receives the event, owned by the caller
/// (lvskit_director_event_free()), or NULL when none came in time. Works
/// after lvskit_director_stop() too (the last event is LVSKIT_EVENT_KIND_STOPPED).
///
/// # Safety
/// `director` NULL or live; `event_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_poll_event(
    director: *const lvskit_director,
    timeout_ms: u32,
    event_out: *mut *mut lvskit_director_event,
) -> lvskit_result {
    guard("lvskit_director_poll_event", || {
        // SAFETY: the caller's promise.
        let dir = unsafe { arg(director, "director") }?;
        let o = out(event_out, "event_out")?;
        match dir.queue.pop(Duration::from_millis(u64::from(timeout_ms))) {
            // SAFETY: checked non-NULL; the caller promises writability.
            Some(event) => unsafe { give(o, lvskit_director_event { event }) },
            // SAFETY: as above.
            None => unsafe { put(o, std::ptr::null_mut()) },
        }
        Ok(())
    })
}

/// The event inside `event` (valid until lvskit_director_event_free()); NULL for NULL.
///
/// # Safety
/// `event` must be NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_event_get(
    event: *const lvskit_director_event,
) -> *const lvskit_event {
    guard_value(std::ptr::null(), || {
        // SAFETY: the caller's promise.
        unsafe { optional(event) }.map_or(std::ptr::null(), |e| &e.event.c)
    })
}

/// Releases an event from lvskit_director_poll_event(). NULL is accepted and ignored.
///
/// # Safety
/// `event` must be NULL or live, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_event_free(event: *mut lvskit_director_event) {
    // SAFETY: the caller's promise.
    guard_value((), || unsafe { release(event) })
}

/// Writes the health of the real server `destination` (its address and
/// port) of the service found by the key fields of `service` to
/// `*health_out`: LVSKIT_HEALTH_UP, LVSKIT_HEALTH_DOWN, or
/// LVSKIT_HEALTH_UNCHECKED when the director does not check it.
///
/// # Safety
/// `director` NULL or live; `service` and `destination` NULL or valid;
/// `health_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_health(
    director: *const lvskit_director,
    service: *const lvskit_service,
    destination: *const lvskit_destination,
    health_out: *mut u32,
) -> lvskit_result {
    guard("lvskit_director_health", || {
        // SAFETY: the caller's promises.
        let (dir, s, d) = unsafe {
            (
                arg(director, "director")?,
                arg(service, "service")?,
                arg(destination, "destination")?,
            )
        };
        let o = out(health_out, "health_out")?;
        let d = destination_from(d)?;
        let id = DestinationId {
            service: key_from(s)?,
            addr: d.addr,
            port: d.port,
        };
        let h = dir.running(|r| Ok(r.health().get(&id).map(|h| h.state)))?;
        let v = match h {
            None => LVSKIT_HEALTH_UNCHECKED,
            Some(HealthState::Up) => LVSKIT_HEALTH_UP,
            Some(HealthState::Down) => LVSKIT_HEALTH_DOWN,
        };
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { put(o, v) };
        Ok(())
    })
}

/// The director's metrics in the Prometheus text format (per service and
/// real server: the kernel's counters, weights, connections, health,
/// drains). On success `*text_out` receives a NUL-terminated string owned
/// by the caller (lvskit_string_free()).
///
/// # Safety
/// `director` NULL or live; `text_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_metrics_text(
    director: *const lvskit_director,
    text_out: *mut *mut c_char,
) -> lvskit_result {
    guard("lvskit_director_metrics_text", || {
        // SAFETY: the caller's promise.
        let dir = unsafe { arg(director, "director") }?;
        let o = out(text_out, "text_out")?;
        let text = dir.running(|r| Ok(r.metrics_text()?))?;
        // SAFETY: checked non-NULL; the caller promises writability.
        unsafe { give_string(o, text) }
    })
}

/// Stops the checks and the loop and waits for them (and for running check
/// callbacks). The kernel's table is left as it is: a new director with the
/// same desired state takes it over, drains included. Later calls other
/// than lvskit_director_poll_event() and lvskit_director_free() give
/// `LVSKIT_RESULT_INVALID_INPUT`; stopping twice is fine. Must not be called
/// from a callback of this director.
///
/// # Safety
/// `director` must be NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_stop(director: *const lvskit_director) -> lvskit_result {
    guard("lvskit_director_stop", || {
        // SAFETY: the caller's promise.
        unsafe { arg(director, "director") }?.halt();
        Ok(())
    })
}

/// Stops the director as lvskit_director_stop() does and releases it. NULL
/// is accepted and ignored. Must not be called from a callback of this director.
///
/// # Safety
/// `director` must be NULL or live, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lvskit_director_free(director: *mut lvskit_director) {
    guard_value((), || {
        // SAFETY: the caller's promise.
        if let Some(d) = unsafe { optional(director) } {
            d.halt();
        }
        // SAFETY: the caller's promise.
        unsafe { release(director) }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn text(e: &OwnedEvent) -> String {
        // SAFETY: points into the event's own CString.
        unsafe { CStr::from_ptr(e.c.text) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn events_become_flat_c_events_with_their_text() {
        let id = DestinationId {
            service: ServiceKey::tcp([10, 0, 0, 1], 80),
            addr: [10, 0, 1, 2].into(),
            port: 8080,
        };
        let down = event_to(&Event::Health {
            id,
            state: HealthState::Down,
            reason: Some("refused".into()),
        });
        assert_eq!(down.c.kind, lvskit_event_kind::Health);
        assert_eq!(down.c.health, LVSKIT_HEALTH_DOWN);
        assert_eq!(down.c.destination.port, 8080);
        assert_eq!(&down.c.destination.addr[..4], &[10, 0, 1, 2]);
        assert_eq!(down.c.service.port, 80);
        assert_eq!(text(&down), "refused");
        let end = event_to(&Event::DrainFinished(id, DrainEnd::Deadline));
        assert_eq!(end.c.kind, lvskit_event_kind::DrainFinished);
        assert_eq!(end.c.drain_end, LVSKIT_DRAIN_DEADLINE);
        assert_eq!(text(&end), "");
        let failed = event_to(&Event::Failed {
            error: "no\0pe".into(),
            retry_in: Duration::from_millis(400),
        });
        assert_eq!(failed.c.retry_in_ms, 400);
        assert_eq!(text(&failed), "no pe");
        assert_eq!(event_to(&Event::Stopped).c.kind, lvskit_event_kind::Stopped);
    }

    #[test]
    fn the_queue_keeps_the_newest_and_times_out_empty() {
        let q = Queue {
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            cap: 2,
        };
        for n in 0..3 {
            q.push(event_to(&Event::DesiredChanged {
                source: n.to_string(),
            }));
        }
        let got: Vec<String> = std::iter::from_fn(|| q.pop(Duration::ZERO))
            .map(|e| text(&e))
            .collect();
        assert_eq!(got, ["1", "2"]);
        assert!(q.pop(Duration::from_millis(10)).is_none());
    }
}
