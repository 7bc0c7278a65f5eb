//! Semantic checks of a parsed line, by the model's own validators
//! ([`Service::validate`], [`Destination::validate`],
//! [`SyncDaemon::validate`], [`Operation::validate`]): the range rules live
//! there, once. A refusal becomes a [`ParseError`] at the column of the
//! option that caused it, found by probing: the value is validated again
//! with one field at a time put back to its default, and the first field
//! whose reset makes the value valid is the culprit.

use super::parse::Opts;
use super::words::{LineParser, Word};
use super::ParseError;
use crate::error::Error;
use crate::model::{Destination, Family, Forward, Netmask, Service, SyncDaemon, Timeouts, Tunnel};
use crate::op::Operation;

/// The validator's reason, without the context it names (the line says where).
fn reason(e: Error) -> String {
    match e {
        Error::InvalidInput { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// A field of a value: a label for messages, its column, and a copy of the
/// value with that field reset (`None` when the field was not given).
type Probe<T> = (&'static str, usize, Option<T>);

/// Runs `validate`; on a refusal, names the first probe whose reset passes.
fn check<T>(
    p: &LineParser,
    value: &T,
    validate: impl Fn(&T) -> crate::Result<()>,
    probes: Vec<Probe<T>>,
    fallback: (&'static str, usize),
) -> Result<(), ParseError> {
    let Err(e) = validate(value) else {
        return Ok(());
    };
    let (label, col) = probes
        .into_iter()
        .find_map(|(label, col, reset)| reset.filter(|r| validate(r).is_ok()).map(|_| (label, col)))
        .unwrap_or(fallback);
    Err(p.err(col, format!("illegal {label}: {}", reason(e))))
}

fn col_of(w: Option<Word<'_>>) -> Option<usize> {
    w.map(|w| w.col)
}

/// Checks a service with [`Service::validate`].
pub(super) fn service(
    p: &LineParser,
    svc: &Service,
    o: &Opts<'_>,
    key_col: usize,
) -> Result<(), ParseError> {
    let family = svc.key.family();
    let mask_label = match family {
        Family::Ipv4 => "persistent netmask",
        Family::Ipv6 => "ipv6 netmask",
    };
    let with = |f: &dyn Fn(&mut Service)| {
        let mut s = svc.clone();
        f(&mut s);
        s
    };
    let timeout_col = o
        .persistent
        .map(|(w, col)| col_of(w).unwrap_or(col))
        .unwrap_or(key_col);
    let mut probes: Vec<Probe<Service>> = Vec::new();
    if let Some(m) = o.netmask {
        probes.push((
            mask_label,
            m.col,
            Some(with(&|s| {
                if let Some(pers) = &mut s.persistence {
                    pers.netmask = Netmask::full(family);
                }
            })),
        ));
    }
    if let Some((_, col)) = o.pe {
        probes.push(("persistence engine", col, Some(with(&|s| s.pe = None))));
    }
    if let Some(w) = o.sched_flags {
        probes.push((
            "scheduler flags",
            w.col,
            Some(with(&|s| s.flags &= crate::model::ServiceFlags::ONE_PACKET)),
        ));
    }
    if let Some(col) = o.ops {
        probes.push((
            "one-packet scheduling",
            col,
            Some(with(&|s| {
                s.flags.remove(crate::model::ServiceFlags::ONE_PACKET)
            })),
        ));
    }
    if let Some(w) = o.sched {
        probes.push((
            "scheduler",
            w.col,
            Some(with(&|s| s.scheduler = Default::default())),
        ));
    }
    if o.persistent.is_some() {
        probes.push((
            "persistence",
            timeout_col,
            Some(with(&|s| {
                s.persistence = None;
                s.pe = None;
            })),
        ));
    }
    check(
        p,
        svc,
        Service::validate,
        probes,
        ("virtual service", key_col),
    )
}

/// Checks a real server with [`Destination::validate`].
pub(super) fn destination(
    p: &LineParser,
    d: &Destination,
    family: Family,
    o: &Opts<'_>,
    server_col: usize,
) -> Result<(), ParseError> {
    let with = |f: &dyn Fn(&mut Destination)| {
        let mut x = *d;
        f(&mut x);
        Some(x)
    };
    let mut probes: Vec<Probe<Destination>> = Vec::new();
    if let Some((_, col)) = o.weight {
        probes.push(("weight", col, with(&|x| x.weight = 1)));
    }
    // the pair out of order is placed at -y
    if let Some((_, col)) = o.lower {
        probes.push(("l_threshold", col, with(&|x| x.lower_threshold = 0)));
    }
    if let Some((_, col)) = o.upper {
        probes.push((
            "u_threshold",
            col,
            with(&|x| x.upper_threshold = x.lower_threshold),
        ));
    }
    if let Some((_, col)) = o.forward {
        let col = o.tun_type.map_or(col, |t| t.0.col);
        probes.push((
            "forwarding method",
            col,
            with(&|x| x.forward = Forward::Tunnel(Tunnel::Ipip)),
        ));
    }
    check(
        p,
        d,
        |x| x.validate(family),
        probes,
        ("real server", server_col),
    )
}

/// Checks a sync daemon with [`SyncDaemon::validate`].
pub(super) fn daemon(
    p: &LineParser,
    d: &SyncDaemon,
    o: &Opts<'_>,
    line_col: usize,
) -> Result<(), ParseError> {
    let with = |f: &dyn Fn(&mut SyncDaemon)| {
        let mut x = d.clone();
        f(&mut x);
        Some(x)
    };
    let mut probes: Vec<Probe<SyncDaemon>> = Vec::new();
    if let Some((_, col)) = o.group {
        probes.push(("mcast-group", col, with(&|x| x.group = None)));
    }
    if let Some((_, col)) = o.mport {
        probes.push(("mcast-port", col, with(&|x| x.port = None)));
    }
    if let Some((_, col)) = o.ttl {
        probes.push(("mcast-ttl", col, with(&|x| x.ttl = None)));
    }
    if let Some((_, col)) = o.maxlen {
        probes.push(("sync-maxlen", col, with(&|x| x.max_len = None)));
    }
    if let Some((_, col)) = o.sync_id {
        probes.push(("syncid", col, with(&|x| x.sync_id = 0)));
    }
    let if_col = col_of(o.mcast_if).unwrap_or(line_col);
    probes.push((
        "mcast-interface",
        if_col,
        with(&|x| x.interface = "eth0".into()),
    ));
    check(
        p,
        d,
        SyncDaemon::validate,
        probes,
        ("sync daemon", line_col),
    )
}

/// Checks `--set` values with [`Operation::validate`].
pub(super) fn timeouts(p: &LineParser, t: &Timeouts, args: &[Word<'_>]) -> Result<(), ParseError> {
    let with = |f: &dyn Fn(&mut Timeouts)| {
        let mut x = *t;
        f(&mut x);
        Some(x)
    };
    let probes: Vec<Probe<Timeouts>> = vec![
        ("tcp timeout", args[0].col, with(&|x| x.tcp = 0)),
        ("tcpfin timeout", args[1].col, with(&|x| x.tcp_fin = 0)),
        ("udp timeout", args[2].col, with(&|x| x.udp = 0)),
    ];
    check(
        p,
        t,
        |x| Operation::SetTimeouts(*x).validate(),
        probes,
        ("timeouts", args[0].col),
    )
}
