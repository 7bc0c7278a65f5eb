//! What the director reports: one event enum, delivered to a callback and to
//! any number of subscribers (an iterator each).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::drain::DrainEnd;
use super::health::{DestinationId, HealthState};
use crate::batch::Operation;

/// Something the director did or saw.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// A real server's health changed.
    Health {
        /// The real server.
        id: DestinationId,
        /// Its new state.
        state: HealthState,
        /// The last failure's reason (for [`HealthState::Down`]).
        reason: Option<String>,
    },
    /// A plan was made (not sent when empty: no event then).
    Planned {
        /// The operations, in order.
        operations: Vec<Operation>,
    },
    /// A plan was applied, as one batch.
    Applied {
        /// Operations applied.
        done: usize,
        /// The operations that failed, with the error's text.
        failed: Vec<(Operation, String)>,
    },
    /// A real server started draining (or a drain found after a restart resumed).
    DrainStarted(DestinationId),
    /// A drain ended.
    DrainFinished(DestinationId, DrainEnd),
    /// A reconcile failed; the next one runs after `retry_in`.
    Failed {
        /// The error's text.
        error: String,
        /// The back-off before the next attempt.
        retry_in: Duration,
    },
    /// New desired state was taken (from the caller or a reloaded file).
    DesiredChanged {
        /// Where it came from: `caller` or the file's path.
        source: String,
    },
    /// A desired-state file could not be read or parsed; the last good state is kept.
    ReloadFailed {
        /// The file.
        path: String,
        /// Why.
        error: String,
    },
    /// The director stopped.
    Stopped,
}

/// The callback events are passed to, on the director's threads.
pub type EventCallback = Arc<dyn Fn(&Event) + Send + Sync>;

/// Delivers events to the callback and to subscribers.
#[derive(Default)]
pub(crate) struct Sink {
    callback: Option<EventCallback>,
    subscribers: Mutex<Vec<Sender<Event>>>,
}

impl Sink {
    pub(crate) fn new(callback: Option<EventCallback>) -> Self {
        Sink {
            callback,
            subscribers: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        rx
    }

    pub(crate) fn emit(&self, e: Event) {
        if let Some(cb) = &self.callback {
            cb(&e);
        }
        // a subscriber that dropped its receiver is forgotten
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|tx| tx.send(e.clone()).is_ok());
    }
}
