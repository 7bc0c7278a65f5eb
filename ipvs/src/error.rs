//! The one error type of the crate.
//!
//! Every failure keeps what was being done (`context`, such as
//! `adding destination 10.0.0.2:80 to service TCP 10.0.0.1:80`) and, when the
//! kernel refused, the errno it answered. Kernel errnos are mapped to typed
//! variants so callers can match on *what* went wrong without decoding errnos.

use std::fmt;
use std::io;
use std::time::Duration;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while talking to IPVS or preparing a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object already exists (`EEXIST`).
    #[error("{context}: already exists ({})", Errno(*errno))]
    Exists {
        /// What was being done.
        context: String,
        /// The kernel's errno.
        errno: i32,
    },
    /// The object does not exist (`ESRCH` for services, `ENOENT` for destinations).
    #[error("{context}: {what} ({})", Errno(*errno))]
    NotFound {
        /// What was being done.
        context: String,
        /// What is missing, e.g. "no such service".
        what: &'static str,
        /// The kernel's errno.
        errno: i32,
    },
    /// The kernel refused the values (`EINVAL`, `ERANGE`, `EAFNOSUPPORT`, ...).
    #[error("{context}: invalid argument{} ({})", hint_suffix(hint), Errno(*errno))]
    Invalid {
        /// What was being done.
        context: String,
        /// The kernel's errno.
        errno: i32,
        /// Likely causes, when known.
        hint: Option<&'static str>,
    },
    /// The caller lacks `CAP_NET_ADMIN` in the network namespace (`EPERM`).
    #[error("{context}: permission denied ({}); IPVS needs CAP_NET_ADMIN: run as root or grant the capability", Errno(*errno))]
    PermissionDenied {
        /// What was being done.
        context: String,
        /// The kernel's errno.
        errno: i32,
    },
    /// A kernel module (IPVS itself, a scheduler or a persistence engine) is not available.
    #[error("{context}: kernel module {module} is not available; load it with `modprobe {module}` (the running kernel must be built with it)")]
    ModuleMissing {
        /// What was being done.
        context: String,
        /// The module that is missing, e.g. `ip_vs` or `ip_vs_wrr`.
        module: String,
        /// The kernel's errno.
        errno: i32,
    },
    /// Any other errno answered by the kernel.
    #[error("{context}: {}", Errno(*errno))]
    Kernel {
        /// What was being done.
        context: String,
        /// The kernel's errno.
        errno: i32,
    },
    /// The request was refused before anything was sent.
    #[error("{context}: {reason}")]
    InvalidInput {
        /// What was being built.
        context: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The kernel's reply could not be understood.
    #[error("{context}: malformed reply: {detail}")]
    Protocol {
        /// What was being done.
        context: String,
        /// What was wrong with the reply.
        detail: String,
    },
    /// No reply arrived in time.
    #[error("{context}: no reply from the kernel within {after:?}")]
    Timeout {
        /// What was being done.
        context: String,
        /// How long was waited.
        after: Duration,
    },
    /// A batched operation was not sent because an earlier one failed.
    #[error("{context}: not attempted (an earlier operation of the batch failed)")]
    NotAttempted {
        /// The operation that was not sent.
        context: String,
    },
}

fn hint_suffix(h: &Option<&'static str>) -> String {
    match h {
        Some(h) => format!(" ({h})"),
        None => String::new(),
    }
}

impl Error {
    /// The kernel's errno, when the kernel (or a system call) refused.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Exists { errno, .. }
            | Error::NotFound { errno, .. }
            | Error::Invalid { errno, .. }
            | Error::PermissionDenied { errno, .. }
            | Error::ModuleMissing { errno, .. }
            | Error::Kernel { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// What was being done when the error happened.
    pub fn context(&self) -> &str {
        match self {
            Error::Exists { context, .. }
            | Error::NotFound { context, .. }
            | Error::Invalid { context, .. }
            | Error::PermissionDenied { context, .. }
            | Error::ModuleMissing { context, .. }
            | Error::Kernel { context, .. }
            | Error::InvalidInput { context, .. }
            | Error::Io { context, .. }
            | Error::Protocol { context, .. }
            | Error::Timeout { context, .. }
            | Error::NotAttempted { context } => context,
        }
    }

    pub(crate) fn invalid_input(context: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            context: context.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn protocol(context: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Protocol {
            context: context.into(),
            detail: detail.into(),
        }
    }
}

/// Formats an errno as `ENAME` with its description, e.g. `no such process (ESRCH)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The symbolic name (`EEXIST`), when known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::ESRCH => "ESRCH",
            libc::EINTR => "EINTR",
            libc::EIO => "EIO",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::ENODEV => "ENODEV",
            libc::EINVAL => "EINVAL",
            libc::ERANGE => "ERANGE",
            libc::EAGAIN => "EAGAIN",
            libc::ENOBUFS => "ENOBUFS",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            libc::EAFNOSUPPORT => "EAFNOSUPPORT",
            libc::ENOPROTOOPT => "ENOPROTOOPT",
            libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
            libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
            libc::ENETUNREACH => "ENETUNREACH",
            libc::EMSGSIZE => "EMSGSIZE",
            _ => return None,
        })
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let desc = io::Error::from_raw_os_error(self.0).to_string();
        let desc = desc
            .split(" (os error")
            .next()
            .unwrap_or(&desc)
            .to_lowercase();
        match self.name() {
            Some(n) => write!(f, "{desc}, {n}"),
            None => write!(f, "{desc}, errno {}", self.0),
        }
    }
}
