//! Batches: many operations in few system calls, with a result per operation.
//!
//! In [`BatchMode::Continue`] the operations are pipelined: up to
//! [`CHUNK_BYTES`] of requests go out in one `sendmsg`, none asking for an
//! acknowledgement except the last, which is the barrier. The kernel executes
//! the requests in order and answers every failure with the failing request's
//! sequence number, so when the barrier's acknowledgement arrives every
//! request of the chunk without an error reply succeeded. Each error is
//! attributed to exactly the request that caused it. If a `sendmsg` fails,
//! none of its requests reached the kernel: the first operation of that chunk
//! carries the error ([`OpOutcome::Failed`]); the rest of the chunk and every
//! later operation are [`OpOutcome::NotAttempted`]. If the replies of a
//! chunk cannot be read, its operations not reported failed are
//! [`OpOutcome::Unknown`] and every later operation is not attempted.
//!
//! In [`BatchMode::StopOnError`] the operations are sent one at a time, each
//! acknowledged, because the kernel executes every request of a `sendmsg`
//! whatever happened to the previous one: stopping means not sending.

use std::fmt;
use std::net::IpAddr;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::codec::ipvs::{self as c, cmd};
use crate::codec::nla;
use crate::error::{Error, Result};
use crate::handle::{service_module, Ipvs};
use crate::model::{Destination, Service, ServiceKey, SyncDaemon, SyncState, Timeouts};
use crate::op::{kernel_error, OpKind};
use crate::transport::Transport;

/// Requests per `sendmsg` are bounded by this many bytes.
pub const CHUNK_BYTES: usize = 256 * 1024;

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
            Operation::SetTimeouts(t) => {
                const MAX: u32 = i32::MAX as u32 / 1000;
                if [t.tcp, t.tcp_fin, t.udp].iter().any(|&v| v > MAX) {
                    return Err(Error::invalid_input(
                        self.context(),
                        format!("timeouts must be at most {MAX} seconds"),
                    ));
                }
                Ok(())
            }
            Operation::StartDaemon(d) => d.validate(),
            Operation::StopDaemon(_) | Operation::Zero(None) | Operation::Flush => Ok(()),
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
        kernel_error(self.kind(), self.context(), errno, self.module())
    }
}

impl fmt::Display for Operation {
    /// The operation in ipvsadm's words, e.g. `ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::model::{Family, Forward, Netmask, Protocol, ServiceFlags, Tunnel};
        fn key(k: &ServiceKey) -> String {
            match k {
                ServiceKey::Inet {
                    protocol,
                    addr,
                    port,
                } => {
                    let p = match protocol {
                        Protocol::Tcp => "-t",
                        Protocol::Udp => "-u",
                        Protocol::Sctp => "--sctp-service",
                    };
                    match addr {
                        IpAddr::V4(a) => format!("{p} {a}:{port}"),
                        IpAddr::V6(a) => format!("{p} [{a}]:{port}"),
                    }
                }
                ServiceKey::Fwmark {
                    family: Family::Ipv4,
                    mark,
                } => format!("-f {mark}"),
                ServiceKey::Fwmark {
                    family: Family::Ipv6,
                    mark,
                } => format!("-f {mark} -6"),
            }
        }
        fn svc(s: &Service) -> String {
            let mut out = format!("{} -s {}", key(&s.key), s.scheduler);
            let sf = s.flags & !ServiceFlags::ONE_PACKET;
            if !sf.is_empty() {
                let mut names = vec![];
                for (bit, n) in [
                    (ServiceFlags::SCHED_1, 1),
                    (ServiceFlags::SCHED_2, 2),
                    (ServiceFlags::SCHED_3, 3),
                ] {
                    if sf.contains(bit) {
                        names.push(match (s.scheduler.name(), n) {
                            ("sh", 1) => "sh-fallback".to_string(),
                            ("sh", 2) => "sh-port".to_string(),
                            ("mh", 1) => "mh-fallback".to_string(),
                            ("mh", 2) => "mh-port".to_string(),
                            (_, n) => format!("flag-{n}"),
                        });
                    }
                }
                out += &format!(" -b {}", names.join(","));
            }
            if let Some(p) = &s.persistence {
                out += &format!(" -p {}", p.timeout);
                if p.netmask != Netmask::full(s.key.family()) {
                    out += &format!(" -M {}", p.netmask);
                }
            }
            if let Some(pe) = &s.pe {
                out += &format!(" --pe {pe}");
            }
            if s.flags.contains(ServiceFlags::ONE_PACKET) {
                out += " -o";
            }
            out
        }
        fn dest(d: &Destination) -> String {
            let fwd = match d.forward {
                Forward::Masq => "-m".to_string(),
                Forward::DirectRoute => "-g".to_string(),
                Forward::Tunnel(Tunnel::Ipip) => "-i".to_string(),
                Forward::Tunnel(Tunnel::Gue { port, flags }) => {
                    format!("-i --tun-type gue --tun-port {port}{}", encap(flags))
                }
                Forward::Tunnel(Tunnel::Gre { flags }) => {
                    format!("-i --tun-type gre{}", encap(flags))
                }
                Forward::Local => "(local)".to_string(),
                Forward::Bypass => "(bypass)".to_string(),
            };
            let mut out = format!("-r {d} {fwd} -w {}", d.weight);
            if d.upper_threshold != 0 {
                out += &format!(" -x {}", d.upper_threshold);
            }
            if d.lower_threshold != 0 {
                out += &format!(" -y {}", d.lower_threshold);
            }
            out
        }
        fn encap(f: crate::model::EncapFlags) -> &'static str {
            use crate::model::EncapFlags as E;
            if f.contains(E::REMCSUM) {
                " --tun-remcsum"
            } else if f.contains(E::CSUM) {
                " --tun-csum"
            } else {
                ""
            }
        }
        match self {
            Operation::AddService(s) => write!(f, "ipvsadm -A {}", svc(s)),
            Operation::UpdateService(s) => write!(f, "ipvsadm -E {}", svc(s)),
            Operation::DeleteService(k) => write!(f, "ipvsadm -D {}", key(k)),
            Operation::AddDestination(k, d) => write!(f, "ipvsadm -a {} {}", key(k), dest(d)),
            Operation::UpdateDestination(k, d) => write!(f, "ipvsadm -e {} {}", key(k), dest(d)),
            Operation::DeleteDestination(k, a, p) => {
                write!(f, "ipvsadm -d {} -r {}", key(k), Destination::new(*a, *p))
            }
            Operation::SetTimeouts(t) => {
                write!(f, "ipvsadm --set {} {} {}", t.tcp, t.tcp_fin, t.udp)
            }
            Operation::StartDaemon(d) => write!(
                f,
                "ipvsadm --start-daemon {} --mcast-interface {} --syncid {}",
                if d.state == SyncState::Master {
                    "master"
                } else {
                    "backup"
                },
                d.interface,
                d.sync_id
            ),
            Operation::StopDaemon(s) => {
                write!(
                    f,
                    "ipvsadm --stop-daemon {}",
                    if *s == SyncState::Master {
                        "master"
                    } else {
                        "backup"
                    }
                )
            }
            Operation::Zero(Some(k)) => write!(f, "ipvsadm -Z {}", key(k)),
            Operation::Zero(None) => write!(f, "ipvsadm -Z"),
            Operation::Flush => write!(f, "ipvsadm -C"),
        }
    }
}

/// What to do after an operation fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum BatchMode {
    /// Send everything (pipelined); each operation gets its own result.
    #[default]
    Continue,
    /// Stop at the first failure; later operations are not attempted.
    StopOnError,
}

/// The outcome of one operation of a batch.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpOutcome {
    /// The kernel applied it.
    Done,
    /// It failed: refused before sending, or by the kernel.
    Failed(Error),
    /// It was not sent.
    NotAttempted,
    /// It was sent, but the exchange broke before its outcome was known.
    Unknown(Error),
}

impl OpOutcome {
    /// True for [`OpOutcome::Done`].
    pub fn is_done(&self) -> bool {
        matches!(self, OpOutcome::Done)
    }

    /// The error, for failed and unknown outcomes.
    pub fn error(&self) -> Option<&Error> {
        match self {
            OpOutcome::Failed(e) | OpOutcome::Unknown(e) => Some(e),
            _ => None,
        }
    }
}

/// A result per operation, in the order the operations were given.
#[derive(Debug)]
pub struct BatchReport {
    /// One outcome per operation.
    pub outcomes: Vec<OpOutcome>,
}

impl BatchReport {
    /// True when every operation was applied.
    pub fn is_ok(&self) -> bool {
        self.outcomes.iter().all(OpOutcome::is_done)
    }

    /// How many operations were applied.
    pub fn done(&self) -> usize {
        self.outcomes.iter().filter(|o| o.is_done()).count()
    }

    /// The operations that did not succeed: (index, outcome).
    pub fn failures(&self) -> impl Iterator<Item = (usize, &OpOutcome)> {
        self.outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| !o.is_done())
    }

    /// The first error, if any operation did not succeed.
    pub fn first_error(&self) -> Option<&Error> {
        self.outcomes.iter().find_map(OpOutcome::error)
    }
}

impl Ipvs {
    /// Applies one operation, acknowledged.
    ///
    /// # Errors
    /// The operation's typed error.
    pub fn apply(&self, op: &Operation) -> Result<()> {
        op.validate()?;
        self.with_transport(|t, buf, family| one(t, buf, family, op))
    }

    /// Applies many operations and reports each one's outcome.
    ///
    /// Never returns early: every operation's outcome is in the report, in
    /// order (see the module documentation for how each mode sends them).
    pub fn execute(&self, ops: &[Operation], mode: BatchMode) -> BatchReport {
        self.with_transport(|t, buf, family| match mode {
            BatchMode::StopOnError => sequential(t, buf, family, ops),
            BatchMode::Continue => pipelined(t, buf, family, ops),
        })
    }
}

fn one(t: &mut Transport, buf: &mut Vec<u8>, family: u16, op: &Operation) -> Result<()> {
    buf.clear();
    let seq = t.next_seq();
    op.encode(buf, family, nla::NLM_F_ACK, seq)?;
    t.exchange(buf, seq, false, |_, _| Ok(())).map_err(|f| {
        f.into_error(
            || op.context(),
            |context, errno| kernel_error(op.kind(), context, errno, op.module()),
        )
    })
}

fn sequential(t: &mut Transport, buf: &mut Vec<u8>, family: u16, ops: &[Operation]) -> BatchReport {
    let mut outcomes = Vec::with_capacity(ops.len());
    let mut stopped = false;
    for op in ops {
        if stopped {
            outcomes.push(OpOutcome::NotAttempted);
            continue;
        }
        let r = op.validate().and_then(|()| one(t, buf, family, op));
        outcomes.push(match r {
            Ok(()) => OpOutcome::Done,
            Err(e @ (Error::Timeout { .. } | Error::Io { .. } | Error::Protocol { .. })) => {
                stopped = true;
                OpOutcome::Unknown(e)
            }
            Err(e) => {
                stopped = true;
                OpOutcome::Failed(e)
            }
        });
    }
    BatchReport { outcomes }
}

fn pipelined(t: &mut Transport, buf: &mut Vec<u8>, family: u16, ops: &[Operation]) -> BatchReport {
    // One outcome per operation, pushed in order as each is handled: an
    // operation that is sent is recorded as done at once, and a reply that
    // reports its failure overwrites that (a request that asks for no
    // acknowledgement gets a reply only when it fails).
    let mut outcomes: Vec<OpOutcome> = Vec::with_capacity(ops.len());
    let mut sent: Vec<usize> = Vec::new(); // op index per sequence offset in the chunk
    while outcomes.len() < ops.len() {
        buf.clear();
        sent.clear();
        // reserve generously; unused numbers are simply skipped
        let remaining = (ops.len() - outcomes.len()).min(u32::MAX as usize / 2) as u32;
        let base = t.reserve_seqs(remaining);
        let mut last_start = 0;
        while outcomes.len() < ops.len() && buf.len() < CHUNK_BYTES {
            let i = outcomes.len();
            let op = &ops[i];
            let start = buf.len();
            let seq = base.wrapping_add(sent.len() as u32);
            match op.validate().and_then(|()| op.encode(buf, family, 0, seq)) {
                Ok(()) => {
                    last_start = start;
                    sent.push(i);
                    outcomes.push(OpOutcome::Done);
                }
                Err(e) => {
                    buf.truncate(start);
                    outcomes.push(OpOutcome::Failed(e));
                }
            }
        }
        if sent.is_empty() {
            continue;
        }
        // the last request of the chunk asks for an acknowledgement: the barrier
        let flags_at = last_start + 6;
        let flags = u16::from_ne_bytes([buf[flags_at], buf[flags_at + 1]]) | nla::NLM_F_ACK;
        buf[flags_at..flags_at + 2].copy_from_slice(&flags.to_ne_bytes());
        let barrier = base.wrapping_add(sent.len() as u32 - 1);
        if let Err(e) = t.send(buf) {
            // nothing of this chunk reached the kernel (a netlink datagram is
            // taken whole or not at all): its first operation carries why,
            // the others, and everything after, were not attempted
            for &k in &sent {
                outcomes[k] = OpOutcome::NotAttempted;
            }
            outcomes[sent[0]] = OpOutcome::Failed(e);
            break;
        }
        if let Err(e) = collect(t, base, barrier, &sent, ops, &mut outcomes) {
            // replies not read: what was not reported failed is unknown
            for &k in &sent {
                if outcomes[k].is_done() {
                    outcomes[k] = OpOutcome::Unknown(Error::protocol(
                        ops[k].context(),
                        format!("sent, but the batch's replies were lost: {e}"),
                    ));
                }
            }
            break;
        }
    }
    // after a broken exchange, the rest is not attempted
    outcomes.resize_with(ops.len(), || OpOutcome::NotAttempted);
    BatchReport { outcomes }
}

/// Reads replies until the barrier's acknowledgement; records each error on its operation.
fn collect(
    t: &mut Transport,
    base: u32,
    barrier: u32,
    sent: &[usize],
    ops: &[Operation],
    outcomes: &mut [OpOutcome],
) -> Result<()> {
    let pid = t.pid();
    loop {
        let part = t.recv()?;
        let mut finished = false;
        for m in nla::Messages::new(t.received(part)) {
            let (h, payload) = m?;
            if h.ty != nla::NLMSG_ERROR || (h.pid != pid && h.pid != 0) {
                continue;
            }
            let off = h.seq.wrapping_sub(base) as usize;
            let Some(&k) = sent.get(off) else {
                continue; // not ours: a stale reply
            };
            let code = nla::get_u32("error code", payload)? as i32;
            if code != 0 {
                outcomes[k] = OpOutcome::Failed(ops[k].kernel_error(code.saturating_neg()));
            }
            if h.seq == barrier {
                finished = true;
            }
        }
        if finished {
            return Ok(());
        }
    }
}
