//! Operations: the one write command model (validation, encoding, the
//! ipvsadm words) and how the kernel's errnos map to typed errors for each.

use std::fmt;
use std::net::IpAddr;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::codec::ipvs::{self as c, cmd};
use crate::error::{Error, Result};
use crate::model::{Destination, Service, ServiceKey, SyncDaemon, SyncState, Timeouts};

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

/// The persistence engines the kernel has (`ip_vs_pe_<name>` modules).
const KNOWN_PES: &[&str] = &["sip"];

/// The one kernel module whose absence made the kernel answer `ENOENT` to a
/// service operation: its scheduler's (`ip_vs_<name>`) or, with a
/// persistence engine, possibly the engine's (`ip_vs_pe_<name>`).
///
/// The kernel looks the scheduler up first, loading its module on demand,
/// and answers `ENOENT` for either. So the engine's module is named when the
/// scheduler's module is loaded now (it was found), or when the scheduler is
/// one the kernel ships and the engine is not; otherwise the scheduler's.
pub(crate) fn service_module(svc: &Service) -> String {
    service_module_with(svc, |module| {
        std::path::Path::new("/sys/module").join(module).exists()
    })
}

/// [`service_module`] with the check for a loaded module given.
pub(crate) fn service_module_with(svc: &Service, loaded: impl Fn(&str) -> bool) -> String {
    let sched = svc.scheduler.module();
    let Some(pe) = &svc.pe else {
        return sched;
    };
    let known_sched = !matches!(svc.scheduler, crate::model::Scheduler::Other(_));
    let known_pe = KNOWN_PES.contains(&pe.as_str());
    if loaded(&sched) || (known_sched && !known_pe) {
        format!("ip_vs_pe_{pe}")
    } else {
        sched
    }
}

/// One change to the IPVS table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Operation {
    /// `ipvsadm -A`.
    AddService(Service),
    /// `ipvsadm -E`.
    UpdateService(Service),
    /// `ipvsadm -D`.
    DeleteService(ServiceKey),
    /// `ipvsadm -a`.
    AddDestination(ServiceKey, Destination),
    /// `ipvsadm -e`.
    UpdateDestination(ServiceKey, Destination),
    /// `ipvsadm -d`: the service, and the destination's address and port.
    DeleteDestination(ServiceKey, IpAddr, u16),
    /// `ipvsadm --set`.
    SetTimeouts(Timeouts),
    /// `ipvsadm --start-daemon`.
    StartDaemon(SyncDaemon),
    /// `ipvsadm --stop-daemon`.
    StopDaemon(SyncState),
    /// `ipvsadm -Z`, for one service or all.
    Zero(Option<ServiceKey>),
    /// `ipvsadm -C`.
    Flush,
}

impl Operation {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Operation::AddService(_) => OpKind::AddService,
            Operation::UpdateService(_) => OpKind::EditService,
            Operation::DeleteService(_) => OpKind::DelService,
            Operation::AddDestination(..) => OpKind::AddDest,
            Operation::UpdateDestination(..) => OpKind::EditDest,
            Operation::DeleteDestination(..) => OpKind::DelDest,
            Operation::SetTimeouts(_) => OpKind::SetConfig,
            Operation::StartDaemon(_) => OpKind::StartDaemon,
            Operation::StopDaemon(_) => OpKind::StopDaemon,
            Operation::Zero(_) => OpKind::Zero,
            Operation::Flush => OpKind::Flush,
        }
    }

    /// What the operation does, in words used by error messages.
    pub fn context(&self) -> String {
        match self {
            Operation::AddService(s) => format!("adding service {}", s.key),
            Operation::UpdateService(s) => format!("updating service {}", s.key),
            Operation::DeleteService(k) => format!("deleting service {k}"),
            Operation::AddDestination(k, d) => format!("adding destination {d} to service {k}"),
            Operation::UpdateDestination(k, d) => {
                format!("updating destination {d} of service {k}")
            }
            Operation::DeleteDestination(k, a, p) => {
                format!(
                    "deleting destination {} from service {k}",
                    Destination::new(*a, *p)
                )
            }
            Operation::SetTimeouts(t) => format!(
                "setting timeouts tcp {} tcpfin {} udp {}",
                t.tcp, t.tcp_fin, t.udp
            ),
            Operation::StartDaemon(d) => {
                format!("starting the {:?} sync daemon on {}", d.state, d.interface)
            }
            Operation::StopDaemon(s) => format!("stopping the {s:?} sync daemon"),
            Operation::Zero(Some(k)) => format!("zeroing counters of service {k}"),
            Operation::Zero(None) => "zeroing all counters".into(),
            Operation::Flush => "flushing the IPVS table".into(),
        }
    }

    /// True for an operation the kernel may carry out without answering at
    /// all: stopping a sync daemon whose thread has not run yet (it is
    /// started and stopped within moments). The kernel stops it all the same,
    /// but `kthread_stop` then returns `-EINTR`, and netlink sends neither an
    /// acknowledgement nor an error for a request whose handler returned
    /// `-EINTR`. Such an operation is followed by a sentinel request (see
    /// [`crate::batch`]), whose answer proves that it was handled.
    pub(crate) fn may_go_unanswered(&self) -> bool {
        matches!(self, Operation::StopDaemon(_))
    }

    fn module(&self) -> Option<String> {
        match self {
            Operation::AddService(s) | Operation::UpdateService(s) => Some(service_module(s)),
            _ => None,
        }
    }

    /// Checks everything that can be checked before sending.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the object and the problem.
    pub fn validate(&self) -> Result<()> {
        match self {
            Operation::AddService(s) | Operation::UpdateService(s) => s.validate(),
            Operation::DeleteService(k) | Operation::Zero(Some(k)) => k.validate(),
            Operation::AddDestination(k, d) | Operation::UpdateDestination(k, d) => {
                k.validate()?;
                d.validate(k.family())
            }
            Operation::DeleteDestination(k, ..) => k.validate(),
            Operation::SetTimeouts(t) => t.validate(),
            Operation::StartDaemon(d) => d.validate(),
            Operation::StopDaemon(s) => s.validate(),
            Operation::Zero(None) | Operation::Flush => Ok(()),
        }
    }

    /// Appends this operation's request to `buf`.
    pub(crate) fn encode(
        &self,
        buf: &mut Vec<u8>,
        family: u16,
        flags: u16,
        seq: u32,
    ) -> Result<()> {
        let command = match self {
            Operation::AddService(_) => cmd::NEW_SERVICE,
            Operation::UpdateService(_) => cmd::SET_SERVICE,
            Operation::DeleteService(_) => cmd::DEL_SERVICE,
            Operation::AddDestination(..) => cmd::NEW_DEST,
            Operation::UpdateDestination(..) => cmd::SET_DEST,
            Operation::DeleteDestination(..) => cmd::DEL_DEST,
            Operation::SetTimeouts(_) => cmd::SET_CONFIG,
            Operation::StartDaemon(_) => cmd::NEW_DAEMON,
            Operation::StopDaemon(_) => cmd::DEL_DAEMON,
            Operation::Zero(_) => cmd::ZERO,
            Operation::Flush => cmd::FLUSH,
        };
        c::request(buf, family, command, flags, seq, |b| match self {
            Operation::AddService(s) | Operation::UpdateService(s) => c::put_service_nest(b, s),
            Operation::DeleteService(k) | Operation::Zero(Some(k)) => c::put_service_key_nest(b, k),
            Operation::AddDestination(k, d) | Operation::UpdateDestination(k, d) => {
                c::put_service_key_nest(b, k)?;
                c::put_dest_nest(b, d, true)
            }
            Operation::DeleteDestination(k, a, p) => {
                c::put_service_key_nest(b, k)?;
                c::put_dest_nest(b, &Destination::new(*a, *p), false)
            }
            Operation::SetTimeouts(t) => {
                c::put_timeouts(b, t);
                Ok(())
            }
            Operation::StartDaemon(d) => c::put_daemon_nest(b, d, true),
            Operation::StopDaemon(s) => {
                c::put_daemon_nest(b, &SyncDaemon::new(*s, String::new(), 0), false)
            }
            Operation::Zero(None) | Operation::Flush => Ok(()),
        })
    }

    /// The typed error for a kernel errno answered to this operation.
    pub(crate) fn kernel_error(&self, errno: i32) -> Error {
        self.kernel_error_for(self.context(), errno)
    }

    /// As [`Operation::kernel_error`], with the context already written.
    pub(crate) fn kernel_error_for(&self, context: String, errno: i32) -> Error {
        // which module is missing matters (and is looked up) only for ENOENT
        let module = (errno == libc::ENOENT).then(|| self.module()).flatten();
        kernel_error(self.kind(), context, errno, module)
    }
}

impl fmt::Display for Operation {
    /// The operation in ipvsadm's words, as a command line, e.g. `ipvsadm -a
    /// -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1`: `ipvsadm` and the line
    /// [`crate::ipvsadm::rule`] writes for `ipvsadm -R`. An operation
    /// ipvsadm has no words for (a bypass real server) is
    /// written as a comment saying so, followed by the nearest command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        crate::ipvsadm::write_line(&mut line, self);
        match crate::ipvsadm::unwritable(self) {
            Some(why) => write!(f, "# {why}: ipvsadm {line}"),
            None => write!(f, "ipvsadm {line}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{Name, Scheduler};
    use std::net::Ipv4Addr;

    fn svc(sched: &str, pe: Option<&str>) -> Service {
        let mut s = Service::new(ServiceKey::fwmark(crate::model::Family::Ipv4, 1))
            .with_scheduler(Scheduler::from_name(sched).unwrap())
            .with_persistence(60);
        s.pe = pe.map(|p| Name::new(p).unwrap());
        s
    }

    #[test]
    fn module_hints_name_one_real_module() {
        let none = |_: &str| false;
        let wlc_loaded = |m: &str| m == "ip_vs_wlc";
        // no engine: the scheduler's module
        assert_eq!(
            service_module_with(&svc("nosuch", None), none),
            "ip_vs_nosuch"
        );
        // an unknown engine beside a scheduler the kernel ships: the engine's
        assert_eq!(
            service_module_with(&svc("wlc", Some("x")), none),
            "ip_vs_pe_x"
        );
        assert_eq!(
            service_module_with(&svc("wlc", Some("x")), wlc_loaded),
            "ip_vs_pe_x"
        );
        // the kernel's engine beside a scheduler that did not load: the scheduler's
        assert_eq!(
            service_module_with(&svc("twos", Some("sip")), none),
            "ip_vs_twos"
        );
        assert_eq!(
            service_module_with(&svc("nosuch", Some("sip")), none),
            "ip_vs_nosuch"
        );
        // both known, scheduler loaded: the engine's
        assert_eq!(
            service_module_with(&svc("wlc", Some("sip")), wlc_loaded),
            "ip_vs_pe_sip"
        );
    }

    #[test]
    fn module_missing_error_names_the_module() {
        let op = Operation::AddService(svc("wlc", Some("x")));
        match op.kernel_error(libc::ENOENT) {
            Error::ModuleMissing { module, .. } => assert_eq!(module, "ip_vs_pe_x"),
            e => panic!("{e:?}"),
        }
        let e = Operation::AddService(Service::new(ServiceKey::tcp(Ipv4Addr::LOCALHOST, 80)))
            .kernel_error(libc::EINVAL);
        assert!(matches!(e, Error::Invalid { .. }));
    }
}
