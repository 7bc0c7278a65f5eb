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

/// The one classification of [`Error`]s, shared by every binding: Python maps
/// each kind to one exception class and C to one result code, so a new error
/// variant needs a kind here (the `match` in [`Error::kind`] is exhaustive)
/// before it can reach either.
///
/// Deliberately not `#[non_exhaustive]`: the bindings match on it without a
/// catch-all, so the compiler points at every place a new kind must be mapped.
/// Adding a kind is therefore a breaking change, listed in CHANGELOG.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// [`Error::Exists`].
    Exists,
    /// [`Error::NotFound`].
    NotFound,
    /// [`Error::Invalid`]: the kernel refused the values (`EINVAL`).
    Invalid,
    /// [`Error::PermissionDenied`].
    PermissionDenied,
    /// [`Error::ModuleMissing`].
    ModuleMissing,
    /// [`Error::Kernel`]: any other errno.
    Kernel,
    /// [`Error::InvalidInput`]: refused before anything was sent.
    InvalidInput,
    /// [`Error::Io`].
    Io,
    /// [`Error::Protocol`].
    Protocol,
    /// [`Error::Timeout`].
    Timeout,
    /// [`Error::NotAttempted`].
    NotAttempted,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::Exists,
        ErrorKind::NotFound,
        ErrorKind::Invalid,
        ErrorKind::PermissionDenied,
        ErrorKind::ModuleMissing,
        ErrorKind::Kernel,
        ErrorKind::InvalidInput,
        ErrorKind::Io,
        ErrorKind::Protocol,
        ErrorKind::Timeout,
        ErrorKind::NotAttempted,
    ];

    /// A stable snake_case name (`"not_found"`), the same in every binding.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Exists => "exists",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Invalid => "invalid",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::ModuleMissing => "module_missing",
            ErrorKind::Kernel => "kernel",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Io => "io",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Timeout => "timeout",
            ErrorKind::NotAttempted => "not_attempted",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn hint_suffix(h: &Option<&'static str>) -> String {
    match h {
        Some(h) => format!(" ({h})"),
        None => String::new(),
    }
}

impl Error {
    /// The error's kind: the one classification the bindings share.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Exists { .. } => ErrorKind::Exists,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::ModuleMissing { .. } => ErrorKind::ModuleMissing,
            Error::Kernel { .. } => ErrorKind::Kernel,
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::Io { .. } => ErrorKind::Io,
            Error::Protocol { .. } => ErrorKind::Protocol,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::NotAttempted { .. } => ErrorKind::NotAttempted,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name_and_every_variant_a_kind() {
        let mut names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        let e = Error::invalid_input("adding service", "port 0");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.kind().to_string(), "invalid_input");
        let e = Error::NotAttempted {
            context: "x".into(),
        };
        assert_eq!(e.kind(), ErrorKind::NotAttempted);
    }
}
