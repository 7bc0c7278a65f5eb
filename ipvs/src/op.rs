//! Operations and how the kernel's errnos map to typed errors for each.

use crate::error::Error;

/// What a request does, for error mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    ResolveFamily,
    AddService,
    EditService,
    DelService,
    GetService,
    AddDest,
    EditDest,
    DelDest,
    GetDest,
    StartDaemon,
    StopDaemon,
    GetDaemon,
    SetConfig,
    GetConfig,
    GetInfo,
    Zero,
    Flush,
}

/// Maps a kernel errno to the typed error for this kind of operation.
/// `module` names the scheduler/PE module a service operation needs.
pub(crate) fn kernel_error(
    kind: OpKind,
    context: String,
    errno: i32,
    module: Option<String>,
) -> Error {
    use OpKind::*;
    match errno {
        libc::EEXIST => Error::Exists { context, errno },
        libc::EPERM | libc::EACCES => Error::PermissionDenied { context, errno },
        libc::ESRCH => Error::NotFound {
            context,
            what: if matches!(kind, StopDaemon) {
                "no such sync daemon"
            } else {
                "no such service"
            },
            errno,
        },
        libc::ENOENT => match kind {
            AddService | EditService => Error::ModuleMissing {
                context,
                module: module.unwrap_or_else(|| "ip_vs_<scheduler>".into()),
                errno,
            },
            ResolveFamily => Error::ModuleMissing {
                context,
                module: "ip_vs".into(),
                errno,
            },
            AddDest | EditDest | DelDest => Error::NotFound {
                context,
                what: "no such destination",
                errno,
            },
            _ => Error::NotFound {
                context,
                what: "not found",
                errno,
            },
        },
        libc::ENODEV => Error::NotFound {
            context,
            what: "no such network interface",
            errno,
        },
        libc::EINVAL | libc::ERANGE | libc::EAFNOSUPPORT | libc::ENOPROTOOPT => {
            let hint = match kind {
                AddDest | EditDest => Some(
                    "the kernel refuses non-unicast or unroutable addresses, mixed-family destinations without \
                     tunnelling or while a sync daemon runs, GUE without a port, negative weights and lower \
                     thresholds above upper ones",
                ),
                AddService | EditService => Some("check the address family, netmask/prefix and flags"),
                StartDaemon => Some(
                    "the group must be multicast, the state master or backup, and no mixed-family destination may exist",
                ),
                SetConfig => Some("timeouts must be at most INT_MAX/HZ seconds"),
                _ => None,
            };
            Error::Invalid {
                context,
                errno,
                hint,
            }
        }
        _ => Error::Kernel { context, errno },
    }
}
