//! One rules line into one [`Operation`]: the options are gathered first
//! ([`Opts`]), then each command builds its operation from them. Syntax is
//! checked here; values are checked by the model's validators, whose
//! refusals [`super::locate`] places at the option that caused them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::locate;
use super::words::{Cmd, LineParser, Occ, Opt, Word};
use super::{ParseError, IPVSADM_DEFAULT_PERSISTENCE_TIMEOUT, MAX_PERSISTENCE_TIMEOUT};
use crate::model::{
    Destination, EncapFlags, Family, Forward, Name, Netmask, Persistence, Protocol, Scheduler,
    Service, ServiceFlags, ServiceKey, SyncDaemon, SyncState, Timeouts, Tunnel,
};
use crate::op::Operation;

/// A value and the column of the option (or argument) that gave it.
pub(super) type At<T> = Option<(T, usize)>;

/// Every option of a line, gathered; each with its column.
#[derive(Default)]
pub(super) struct Opts<'a> {
    pub(super) key: At<ServiceKey>,
    pub(super) sched: Option<Word<'a>>,
    /// `-p` (its column) and its optional argument.
    pub(super) persistent: At<Option<Word<'a>>>,
    pub(super) netmask: Option<Word<'a>>,
    pub(super) server: Option<Word<'a>>,
    pub(super) forward: At<Opt>,
    pub(super) weight: At<u32>,
    pub(super) upper: At<u32>,
    pub(super) lower: At<u32>,
    pub(super) ops: Option<usize>,
    pub(super) pe: At<Name>,
    pub(super) sched_flags: Option<Word<'a>>,
    pub(super) tun_type: At<Word<'a>>,
    pub(super) tun_port: At<u16>,
    pub(super) csum: Vec<(Opt, usize, String)>,
    pub(super) mcast_if: Option<Word<'a>>,
    pub(super) sync_id: At<u32>,
    pub(super) group: At<IpAddr>,
    pub(super) mport: At<u16>,
    pub(super) ttl: At<u8>,
    pub(super) maxlen: At<u16>,
}

pub(super) fn number<T: TryFrom<u64>>(w: &Word<'_>, min: u64, max: u64) -> Option<T> {
    if w.text.is_empty() || !w.text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = w.text.parse().ok()?;
    if n < min || n > max {
        return None;
    }
    T::try_from(n).ok()
}

/// Parses `addr`, `addr:port`, `[v6]:port` or a bare IPv6 address.
/// Returns the address and the port if one was given.
fn parse_addr_port(s: &str) -> Option<(IpAddr, Option<u16>)> {
    let port = |p: &str| -> Option<u16> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (a, tail) = rest.split_once(']')?;
        let a: Ipv6Addr = a.parse().ok()?;
        let p = tail.strip_prefix(':')?;
        return Some((IpAddr::V6(a), Some(port(p)?)));
    }
    if let Ok(a) = s.parse::<Ipv6Addr>() {
        return Some((IpAddr::V6(a), None));
    }
    match s.rsplit_once(':') {
        Some((a, p)) => Some((IpAddr::V4(a.parse().ok()?), Some(port(p)?))),
        None => Some((IpAddr::V4(s.parse().ok()?), None)),
    }
}

fn opt_allowed(cmd: Cmd, opt: Opt) -> bool {
    use Opt::{
        Fwmark, Gate, Ipip, Ipv6, LThresh, Masq, McastGroup, McastIf, McastPort, McastTtl, Netmask,
        Ops, Pe, Persistent, Sched, SchedFlags, Sctp, Server, SyncId, SyncMaxlen, Tcp, TunCsum,
        TunNocsum, TunPort, TunRemcsum, TunType, UThresh, Udp, Weight,
    };
    let key = matches!(opt, Tcp | Udp | Sctp | Fwmark | Ipv6);
    match cmd {
        Cmd::Add | Cmd::Edit => {
            key || matches!(opt, Sched | Persistent | Netmask | Ops | Pe | SchedFlags)
        }
        Cmd::Del | Cmd::Zero => key,
        Cmd::AddDest | Cmd::EditDest => {
            key || matches!(
                opt,
                Server
                    | Masq
                    | Ipip
                    | Gate
                    | Weight
                    | UThresh
                    | LThresh
                    | TunType
                    | TunPort
                    | TunNocsum
                    | TunCsum
                    | TunRemcsum
            )
        }
        Cmd::DelDest => key || opt == Server,
        Cmd::Clear | Cmd::Set => false,
        Cmd::StartDaemon => matches!(
            opt,
            McastIf | SyncId | McastGroup | McastPort | McastTtl | SyncMaxlen
        ),
        Cmd::StopDaemon => opt == SyncId,
    }
}

/// The line's command: its first word must be one.
fn command<'a>(p: &LineParser, words: &[Word<'a>], occs: &[Occ<'a>]) -> Result<Cmd, ParseError> {
    let expected = || {
        p.err(
            words[0].col,
            format!("expected a command, found `{}`", words[0].text),
        )
    };
    let first = occs.first().ok_or_else(expected)?;
    if first.col != words[0].col {
        return Err(expected());
    }
    match first.opt {
        Opt::Cmd(c) => Ok(c),
        Opt::OtherCmd => Err(p.err(
            first.col,
            format!("command `{}` cannot appear in rules text", first.name),
        )),
        _ => Err(p.err(
            first.col,
            format!("a line must start with a command, not `{}`", first.name),
        )),
    }
}

/// Parses one line (its words, the leading `ipvsadm` already skipped).
pub(super) fn parse_line(line_no: usize, words: &[Word<'_>]) -> Result<Operation, ParseError> {
    let p = LineParser { line: line_no };
    let (occs, positional) = p.options(words)?;
    let cmd = command(&p, words, &occs)?;
    let mut o = Opts::default();
    for occ in &occs[1..] {
        gather(&p, cmd, occ, &mut o)?;
    }
    if cmd != Cmd::Set {
        if let Some(extra) = positional.first() {
            return Err(p.err(extra.col, format!("unexpected argument `{}`", extra.text)));
        }
    }
    let line_col = words[0].col;
    let need_key = || {
        o.key.ok_or_else(|| {
            p.err(
                line_col,
                "you need to supply a service (-t, -u, --sctp-service or -f)",
            )
        })
    };
    match cmd {
        Cmd::Add => Ok(Operation::AddService(service(&p, &o, need_key()?)?)),
        Cmd::Edit => Ok(Operation::UpdateService(service(&p, &o, need_key()?)?)),
        Cmd::Del => Ok(Operation::DeleteService(need_key()?.0)),
        Cmd::Zero => Ok(Operation::Zero(o.key.map(|k| k.0))),
        Cmd::Clear => Ok(Operation::Flush),
        Cmd::Set => Ok(Operation::SetTimeouts(timeouts(&p, line_col, &positional)?)),
        Cmd::AddDest | Cmd::EditDest | Cmd::DelDest => {
            destination_op(&p, cmd, &o, need_key()?, line_col)
        }
        Cmd::StartDaemon | Cmd::StopDaemon => {
            let state = daemon_state(&p, &occs[0])?;
            if cmd == Cmd::StopDaemon {
                // ipvsadm accepts --syncid here; the kernel ignores it
                return Ok(Operation::StopDaemon(state));
            }
            Ok(Operation::StartDaemon(daemon(&p, &o, state, line_col)?))
        }
    }
}

/// Records one option occurrence in `o`, checking its argument's syntax.
fn gather<'a>(p: &LineParser, cmd: Cmd, occ: &Occ<'a>, o: &mut Opts<'a>) -> Result<(), ParseError> {
    if let Opt::Cmd(_) | Opt::OtherCmd = occ.opt {
        return Err(p.err(occ.col, "multiple commands specified"));
    }
    if occ.opt == Opt::Listing {
        return Err(p.err(
            occ.col,
            format!("option `{}` is only for listing, not for rules", occ.name),
        ));
    }
    if !opt_allowed(cmd, occ.opt) {
        return Err(p.err(
            occ.col,
            format!("option `{}` is illegal with this command", occ.name),
        ));
    }
    // an option with a required argument always has one
    let arg = occ.arg.unwrap_or(Word {
        text: "",
        col: occ.col,
    });
    let num = |what: &str, min: u64, max: u64| {
        number::<u64>(&arg, min, max)
            .map(|v| (v, arg.col))
            .ok_or_else(|| p.err(arg.col, format!("illegal {what} `{}`", arg.text)))
    };
    let u32_max = u64::from(u32::MAX);
    match occ.opt {
        Opt::Tcp | Opt::Udp | Opt::Sctp => o.key = Some((inet_key(p, occ.opt, &arg)?, occ.col)),
        Opt::Fwmark => o.key = Some((fwmark_key(p, &arg)?, occ.col)),
        Opt::Ipv6 => match &mut o.key {
            Some((ServiceKey::Fwmark { family, .. }, _)) => *family = Family::Ipv6,
            _ => return Err(p.err(occ.col, "-6 used before -f")),
        },
        Opt::Sched => o.sched = Some(arg),
        Opt::Persistent => o.persistent = Some((occ.arg, occ.col)),
        Opt::Netmask => o.netmask = Some(arg),
        Opt::Server => o.server = Some(arg),
        Opt::Masq | Opt::Ipip | Opt::Gate => o.forward = Some((occ.opt, occ.col)),
        Opt::Weight => o.weight = Some(narrow(num("weight", 0, u32_max)?)),
        Opt::UThresh => o.upper = Some(narrow(num("u_threshold", 0, u32_max)?)),
        Opt::LThresh => o.lower = Some(narrow(num("l_threshold", 0, u32_max)?)),
        Opt::Ops => o.ops = Some(occ.col),
        Opt::Pe => {
            let pe = Name::new(arg.text)
                .map_err(|e| p.err(arg.col, format!("illegal persistence engine: {e}")))?;
            o.pe = Some((pe, arg.col));
        }
        Opt::SchedFlags => o.sched_flags = Some(arg),
        Opt::McastIf => o.mcast_if = Some(arg),
        Opt::SyncId => o.sync_id = Some(narrow(num("syncid", 0, 255)?)),
        Opt::McastGroup => {
            let g: IpAddr = arg
                .text
                .parse()
                .map_err(|_| p.err(arg.col, format!("invalid mcast-group `{}`", arg.text)))?;
            o.group = Some((g, arg.col));
        }
        Opt::McastPort => o.mport = Some(narrow(num("mcast-port", 1, 65535)?)),
        Opt::McastTtl => o.ttl = Some(narrow(num("mcast-ttl", 1, 255)?)),
        Opt::SyncMaxlen => o.maxlen = Some(narrow(num("sync-maxlen", 1, 65535 - 20 - 8)?)),
        Opt::TunType => o.tun_type = Some((arg, occ.col)),
        Opt::TunPort => o.tun_port = Some(narrow(num("tunnel port", 1, 65535)?)),
        Opt::TunNocsum | Opt::TunCsum | Opt::TunRemcsum => {
            o.csum.push((occ.opt, occ.col, occ.name.clone()))
        }
        Opt::Cmd(_) | Opt::OtherCmd | Opt::Listing => {}
    }
    Ok(())
}

/// A number already checked to fit `T` (by its range).
fn narrow<T: TryFrom<u64> + Default>((v, col): (u64, usize)) -> (T, usize) {
    (T::try_from(v).unwrap_or_default(), col)
}

fn inet_key(p: &LineParser, opt: Opt, arg: &Word<'_>) -> Result<ServiceKey, ParseError> {
    let protocol = match opt {
        Opt::Tcp => Protocol::Tcp,
        Opt::Udp => Protocol::Udp,
        _ => Protocol::Sctp,
    };
    let (addr, port) = parse_addr_port(arg.text).ok_or_else(|| {
        p.err(
            arg.col,
            format!(
                "illegal virtual server address[:port] `{}` (numeric address and port expected)",
                arg.text
            ),
        )
    })?;
    Ok(ServiceKey::Inet {
        protocol,
        addr,
        port: port.unwrap_or(0),
    })
}

fn fwmark_key(p: &LineParser, arg: &Word<'_>) -> Result<ServiceKey, ParseError> {
    // ipvsadm 1.31 saves marks above 2^31-1 as negative numbers: read
    // those back as the unsigned mark they stand for
    let mark = match arg.text.strip_prefix('-') {
        Some(neg) => number::<u32>(
            &Word {
                text: neg,
                col: arg.col,
            },
            1,
            1 << 31,
        )
        .map(|v| v.wrapping_neg()),
        None => number::<u32>(arg, 1, u64::from(u32::MAX)),
    }
    .ok_or_else(|| p.err(arg.col, format!("invalid fwmark value `{}`", arg.text)))?;
    Ok(ServiceKey::fwmark(Family::Ipv4, mark))
}

fn timeouts(p: &LineParser, line_col: usize, args: &[Word<'_>]) -> Result<Timeouts, ParseError> {
    if args.len() < 3 {
        return Err(p.err(line_col, "--set needs 3 timeout values"));
    }
    if let Some(extra) = args.get(3) {
        return Err(p.err(extra.col, format!("unexpected argument `{}`", extra.text)));
    }
    let t = |w: &Word<'_>| {
        number::<u32>(w, 0, u64::from(MAX_PERSISTENCE_TIMEOUT))
            .ok_or_else(|| p.err(w.col, format!("invalid timeout value `{}`", w.text)))
    };
    let v = Timeouts {
        tcp: t(&args[0])?,
        tcp_fin: t(&args[1])?,
        udp: t(&args[2])?,
    };
    locate::timeouts(p, &v, args)?;
    Ok(v)
}

/// `-A`/`-E`: the whole service (options not given take their defaults, as with ipvsadm).
fn service(p: &LineParser, o: &Opts<'_>, key: (ServiceKey, usize)) -> Result<Service, ParseError> {
    let (key, key_col) = key;
    let scheduler = match o.sched {
        Some(w) => Scheduler::from_name(w.text)
            .map_err(|e| p.err(w.col, format!("illegal scheduler: {e}")))?,
        None => Scheduler::default(),
    };
    let persistence = persistence(p, o, key.family())?;
    let mut flags = sched_flags(p, o, &scheduler)?;
    if o.ops.is_some() {
        flags |= ServiceFlags::ONE_PACKET;
    }
    if let ServiceKey::Inet { protocol, port, .. } = key {
        if port == 0 && persistence.is_none() {
            return Err(p.err(key_col, "zero port specified for non-persistent service"));
        }
        if o.ops.is_some() && protocol != Protocol::Udp {
            return Err(p.err(
                key_col,
                "one-packet scheduling (-o) is only for UDP virtual services",
            ));
        }
    }
    let svc = Service {
        key,
        scheduler,
        flags,
        persistence,
        pe: o.pe.as_ref().map(|(n, _)| n.clone()),
    };
    locate::service(p, &svc, o, key_col)?;
    Ok(svc)
}

fn persistence(
    p: &LineParser,
    o: &Opts<'_>,
    family: Family,
) -> Result<Option<Persistence>, ParseError> {
    let netmask = match o.netmask {
        None => None,
        Some(m) => Some(match family {
            Family::Ipv4 => {
                Netmask::V4(m.text.parse::<Ipv4Addr>().map_err(|_| {
                    p.err(m.col, format!("illegal persistent netmask `{}`", m.text))
                })?)
            }
            Family::Ipv6 => Netmask::V6(
                number(&m, 0, 255)
                    .ok_or_else(|| p.err(m.col, format!("illegal ipv6 netmask `{}`", m.text)))?,
            ),
        }),
    };
    // ipvsadm accepts -M without -p; without persistence it has no effect
    // (and -S never writes it): its syntax is checked, then it is dropped
    let Some((t, _)) = o.persistent else {
        if let (Some(m), Some(Netmask::V6(len))) = (o.netmask, netmask) {
            if !(1..=128).contains(&len) {
                return Err(p.err(m.col, format!("illegal ipv6 netmask `{}`", m.text)));
            }
        }
        return Ok(None);
    };
    let timeout = match t {
        None => IPVSADM_DEFAULT_PERSISTENCE_TIMEOUT,
        Some(w) => number(&w, 1, u64::from(MAX_PERSISTENCE_TIMEOUT))
            .ok_or_else(|| p.err(w.col, format!("invalid timeout value `{}`", w.text)))?,
    };
    Ok(Some(Persistence {
        timeout,
        netmask: netmask.unwrap_or_else(|| Netmask::full(family)),
    }))
}

fn sched_flags(
    p: &LineParser,
    o: &Opts<'_>,
    scheduler: &Scheduler,
) -> Result<ServiceFlags, ParseError> {
    let mut flags = ServiceFlags::empty();
    let Some(w) = o.sched_flags else {
        return Ok(flags);
    };
    let sname = scheduler.name();
    let mut col = w.col;
    for flag in w.text.split(',') {
        let (bit, only) = match flag {
            "flag-1" => (ServiceFlags::SCHED_1, None),
            "flag-2" => (ServiceFlags::SCHED_2, None),
            "flag-3" => (ServiceFlags::SCHED_3, None),
            "sh-fallback" => (ServiceFlags::SH_FALLBACK, Some("sh")),
            "sh-port" => (ServiceFlags::SH_PORT, Some("sh")),
            "mh-fallback" => (ServiceFlags::MH_FALLBACK, Some("mh")),
            "mh-port" => (ServiceFlags::MH_PORT, Some("mh")),
            "" => {
                col += 1;
                continue;
            }
            other => return Err(p.err(col, format!("invalid scheduler flag `{other}`"))),
        };
        if only.is_some_and(|s| s != sname) {
            return Err(p.err(
                col,
                format!("incompatible scheduler flag `{flag}` for scheduler {sname}"),
            ));
        }
        flags |= bit;
        col += flag.chars().count() + 1;
    }
    Ok(flags)
}

/// `-a`/`-e`/`-d`.
fn destination_op(
    p: &LineParser,
    cmd: Cmd,
    o: &Opts<'_>,
    key: (ServiceKey, usize),
    line_col: usize,
) -> Result<Operation, ParseError> {
    let (key, _) = key;
    let w = o
        .server
        .ok_or_else(|| p.err(line_col, "you need to supply a real server (-r)"))?;
    let (addr, port) = parse_addr_port(w.text).ok_or_else(|| {
        p.err(
            w.col,
            format!(
                "illegal real server address[:port] `{}` (numeric address and port expected)",
                w.text
            ),
        )
    })?;
    let svc_port = match key {
        ServiceKey::Inet { port, .. } => port,
        ServiceKey::Fwmark { .. } => 0,
    };
    let mut port = port.unwrap_or(svc_port);
    if cmd == Cmd::DelDest {
        return Ok(Operation::DeleteDestination(key, addr, port));
    }
    let fwd = o.forward.map(|f| f.0);
    let tunnel = fwd == Some(Opt::Ipip);
    // ipvsadm gives DR and tunnel servers of an address service its port
    if !matches!(key, ServiceKey::Fwmark { .. })
        && matches!(fwd, None | Some(Opt::Ipip | Opt::Gate))
    {
        port = svc_port;
    }
    if Family::of(&addr) != key.family() && !tunnel {
        return Err(p.err(
            w.col,
            "a different address family is allowed only for tunneling servers (-i)",
        ));
    }
    let forward = match fwd {
        Some(Opt::Masq) => Forward::Masq,
        Some(Opt::Ipip) => Forward::Tunnel(tunnel_of(p, o, line_col)?),
        _ => {
            no_tunnel_options(p, o)?;
            Forward::DirectRoute
        }
    };
    if fwd == Some(Opt::Masq) {
        no_tunnel_options(p, o)?;
    }
    let d = Destination {
        addr,
        port,
        forward,
        weight: o.weight.map_or(1, |w| w.0),
        upper_threshold: o.upper.map_or(0, |v| v.0),
        lower_threshold: o.lower.map_or(0, |v| v.0),
    };
    locate::destination(p, &d, key.family(), o, w.col)?;
    Ok(if cmd == Cmd::AddDest {
        Operation::AddDestination(key, d)
    } else {
        Operation::UpdateDestination(key, d)
    })
}

fn no_tunnel_options(p: &LineParser, o: &Opts<'_>) -> Result<(), ParseError> {
    let col = o
        .tun_type
        .map(|t| t.1)
        .or(o.tun_port.map(|t| t.1))
        .or(o.csum.first().map(|c| c.1));
    match col {
        Some(col) => Err(p.err(col, "tunnel options conflict with the forwarding method")),
        None => Ok(()),
    }
}

fn tunnel_of(p: &LineParser, o: &Opts<'_>, line_col: usize) -> Result<Tunnel, ParseError> {
    let ttype = o.tun_type.map_or("ipip", |t| t.0.text);
    let type_col = o.tun_type.map_or(line_col, |t| t.0.col);
    if let Some((_, col, name)) = o.csum.get(1) {
        return Err(p.err(
            *col,
            format!("option `{name}` conflicts with `{}`", o.csum[0].2),
        ));
    }
    let csum = o.csum.first();
    let no_port = |what: &str| match o.tun_port {
        Some((_, col)) => Err(p.err(
            col,
            format!("illegal `--tun-port` option with the `{what}` tunnel type"),
        )),
        None => Ok(()),
    };
    let encap = |allow_rem: bool| -> Result<EncapFlags, ParseError> {
        Ok(match csum {
            None | Some((Opt::TunNocsum, _, _)) => EncapFlags::empty(),
            Some((Opt::TunCsum, _, _)) => EncapFlags::CSUM,
            Some((_, col, name)) if !allow_rem => {
                return Err(p.err(
                    *col,
                    format!("illegal `{name}` option with the `{ttype}` tunnel type"),
                ))
            }
            Some(_) => EncapFlags::REMCSUM,
        })
    };
    match ttype {
        "ipip" => {
            no_port("ipip")?;
            if let Some((_, col, name)) = csum {
                return Err(p.err(
                    *col,
                    format!("illegal `{name}` option with the `ipip` tunnel type"),
                ));
            }
            Ok(Tunnel::Ipip)
        }
        "gue" => {
            let Some((port, _)) = o.tun_port else {
                return Err(p.err(
                    type_col,
                    "you need to supply the `--tun-port` option for the `gue` tunnel type",
                ));
            };
            Ok(Tunnel::Gue {
                port,
                flags: encap(true)?,
            })
        }
        "gre" => {
            no_port("gre")?;
            Ok(Tunnel::Gre {
                flags: encap(false)?,
            })
        }
        other => Err(p.err(
            type_col,
            format!("illegal tunnel type `{other}` (ipip, gue or gre)"),
        )),
    }
}

fn daemon_state(p: &LineParser, first: &Occ<'_>) -> Result<SyncState, ParseError> {
    let w = first.arg.unwrap_or(Word {
        text: "",
        col: first.col,
    });
    match w.text {
        "master" => Ok(SyncState::Master),
        "backup" => Ok(SyncState::Backup),
        other => Err(p.err(
            w.col,
            format!("illegal daemon state `{other}` (master or backup)"),
        )),
    }
}

fn daemon(
    p: &LineParser,
    o: &Opts<'_>,
    state: SyncState,
    line_col: usize,
) -> Result<SyncDaemon, ParseError> {
    // ipvsadm's default interface
    let interface = o.mcast_if.map_or("eth0", |w| w.text);
    let mut d = SyncDaemon::new(state, interface, o.sync_id.map_or(0, |v| v.0));
    d.max_len = o.maxlen.map(|v| v.0);
    d.group = o.group.map(|v| v.0);
    d.port = o.mport.map(|v| v.0);
    d.ttl = o.ttl.map(|v| v.0);
    locate::daemon(p, &d, o, line_col)?;
    Ok(d)
}
