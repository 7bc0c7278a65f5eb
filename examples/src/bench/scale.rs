//! Scale rows (issue 21): create, full listing, plan+apply with 1% changed
//! and teardown at growing table sizes (by default 1,000, 10,000 and 100,000
//! services x 1 destination, and 10,000 x 16), and the memory a read table
//! and a plan take beside the kernel's own attribute bytes for the same table.
//!
//! `ipvs-bench run --scale [--scale-sizes 1000x1,10000x1,...]` adds them to
//! a run; `--only scale` (or `scale-create`, `scale-memory`, ...) runs them
//! alone; `--smoke` runs them at tiny sizes. Every run of every row is
//! checked against the table it must leave (every service, real server and
//! weight read back with the library; on the first round also the line
//! counts of `/proc/net/ip_vs` as an outside referee; the listing and memory
//! rows, which only read a table prepared once, on the first round), so a
//! broken run prints no figure.
//!
//! This module is a child of `run` (the harness) so that it reuses the
//! harness's workload types without widening their visibility; its drivers
//! (`ipvs-bench drive mem read|plan S D`, `drive floor dumpbytes S D`) are
//! reached from `driver::drive`.
//!
//! The soak of the director loop (issue 21 item 3) is in `soak.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use lvskit::table::{DiffOptions, Table};
use lvskit::{Ipvs, Namespace, ServiceKey};

use super::{cap_size, fmt_t, paired, sh, strs, Cmd, Entry, Kind, Opts, RowResult, Workload, NS};
#[cfg(test)]
use crate::driver::dest;
use crate::driver::{changed, desired};
use crate::raw::RawSock;
use crate::Res;

/// Workload ids of the scale rows start with this.
pub const PREFIX: &str = "scale-";

/// The steps, in the order they run and are reported.
const STEPS: [&str; 5] = ["create", "list", "reconcile", "teardown", "memory"];

/// Percent of services changed by the scale reconcile.
const PCT: usize = 1;

/// The scale options of `ipvs-bench run`.
#[derive(Default)]
pub struct ScaleOpts {
    on: bool,
    sizes: Option<Vec<(usize, usize)>>,
}

/// Takes `--scale` and `--scale-sizes SxD,...` out of `args`.
///
/// # Errors
/// A malformed size list.
pub fn take_opts(args: &[String]) -> Result<(ScaleOpts, Vec<String>), String> {
    let mut so = ScaleOpts::default();
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--scale" => so.on = true,
            "--scale-sizes" => {
                let v = it.next().ok_or("--scale-sizes needs a value")?;
                so.sizes = Some(parse_sizes(v)?);
                so.on = true;
            }
            _ => rest.push(a.clone()),
        }
    }
    Ok((so, rest))
}

fn parse_sizes(v: &str) -> Result<Vec<(usize, usize)>, String> {
    v.split(',')
        .map(|x| {
            let (s, d) = x.split_once('x').unwrap_or((x, "1"));
            match (s.parse::<usize>(), d.parse::<usize>()) {
                (Ok(s), Ok(d)) if s > 0 => Ok((s, d)),
                _ => Err(format!(
                    "--scale-sizes: bad size {x:?} (want SERVICESxDESTS)"
                )),
            }
        })
        .collect()
}

fn sizes(o: &Opts, so: &ScaleOpts) -> Vec<(usize, usize)> {
    match (&so.sizes, o.smoke) {
        (Some(v), _) => v.clone(),
        (None, true) => vec![(5, 1), (40, 1), (10, 4)],
        (None, false) => vec![(1000, 1), (10_000, 1), (100_000, 1), (10_000, 16)],
    }
}

fn wanted(o: &Opts, so: &ScaleOpts, id: &str) -> bool {
    match &o.only {
        Some(only) => only
            .iter()
            .any(|x| id == x || id.starts_with(&format!("{x}-"))),
        None => so.on || o.smoke,
    }
}

/// The scale workloads this run asked for (none unless `--scale`,
/// `--smoke` or an `--only` naming them).
pub(super) fn workloads(o: &Opts, so: &ScaleOpts) -> Vec<Workload> {
    let mut out = Vec::new();
    for step in STEPS {
        for (s, d) in sizes(o, so) {
            let id = format!("{PREFIX}{step}-{s}x{d}");
            if !wanted(o, so, &id) {
                continue;
            }
            let (kind, title, entries) = match step {
                "create" => (Kind::Create, "create", create_rows(o, s, d)),
                "list" => (Kind::List, "full listing", list_rows(o, s, d)),
                "reconcile" => (
                    Kind::Reconcile(PCT),
                    "plan+apply, 1% changed",
                    reconcile_rows(o, s, d),
                ),
                "teardown" => (Kind::Teardown, "teardown", teardown_rows(o, s, d)),
                _ => (Kind::List, "memory", memory_rows(o, s, d)),
            };
            out.push(Workload {
                title: format!("Scale, {title}: {s} services x {d} destinations"),
                id,
                kind,
                s,
                entries,
            });
        }
    }
    out
}

/// Bounds for the slow contenders, in operations (or services) per run:
/// ipvsadm -R and pyroute2 as the standard rows bound them.
struct Caps {
    ipvsadm: usize,
    py: usize,
    py_list: usize,
    py_reconcile: usize,
}

fn caps(o: &Opts) -> Caps {
    // the smoke run bounds them too: it has to stay within minutes on a
    // loaded CI machine, where pyroute2 takes up to 50 ms an operation
    match o.smoke {
        true => Caps {
            ipvsadm: 100,
            py: 40,
            py_list: 100,
            py_reconcile: 20,
        },
        false => Caps {
            ipvsadm: 6_000,
            py: 120,
            py_list: 1_000,
            py_reconcile: 100,
        },
    }
}

fn have_py(o: &Opts) -> bool {
    o.python.is_some() && o.py_driver.is_some()
}

fn entry(id: &'static str, label: &str, (s, d): (usize, usize), ops: usize, cmd: Cmd) -> Entry {
    Entry {
        id,
        label: label.to_string(),
        s,
        d,
        ops,
        scaled: false,
        cmd,
    }
}

/// An entry bounded to `(s, d, scaled)` from [`cap_size`].
fn bounded(id: &'static str, label: &str, c: (usize, usize, bool), ops: usize, cmd: Cmd) -> Entry {
    Entry {
        scaled: c.2,
        ..entry(id, label, (c.0, c.1), ops, cmd)
    }
}

fn args(v: &[&str], s: usize, d: usize) -> Vec<String> {
    let mut a = strs(v);
    a.extend([s.to_string(), d.to_string()]);
    a
}

fn create_rows(o: &Opts, s: usize, d: usize) -> Vec<Entry> {
    let full = s * (d + 1);
    let mut e = vec![
        entry(
            "floor",
            "floor (pre-encoded, one sendmsg)",
            (s, d),
            full,
            Cmd::Own(args(&["floor", "create"], s, d)),
        ),
        entry(
            "ours-batched",
            "ours: Ipvs::execute (Continue)",
            (s, d),
            full,
            Cmd::Own(args(&["batched", "create"], s, d)),
        ),
    ];
    if o.moby.is_some() {
        let cmd = Cmd::Moby(args(&["create"], s, d));
        e.push(entry("moby", "moby/ipvs (Go)", (s, d), full, cmd));
    }
    let c = cap_size(s, d, caps(o).ipvsadm);
    let cmd = Cmd::Ipvsadm {
        args: strs(&["-R"]),
        stdin: Some(crate::driver::ipvsadm_create_script(c.0, c.1)),
        expect_lines: None,
    };
    e.push(bounded("ipvsadm", "ipvsadm -R", c, c.0 * (c.1 + 1), cmd));
    if have_py(o) {
        let cmd = Cmd::Py(args(&["ipvs", "create"], s, d));
        e.push(entry(
            "ours-py",
            "ours (Python): Ipvs.execute",
            (s, d),
            full,
            cmd,
        ));
        let c = cap_size(s, d, caps(o).py);
        let cmd = Cmd::Py(args(&["pyroute2", "create"], c.0, c.1));
        e.push(bounded("pyroute2", "pyroute2", c, c.0 * (c.1 + 1), cmd));
    }
    e
}

fn list_rows(o: &Opts, s: usize, d: usize) -> Vec<Entry> {
    let objs = s * (d + 1);
    let mut e = vec![
        entry(
            "floor",
            "floor (raw dumps, no decoding)",
            (s, d),
            objs,
            Cmd::Own(args(&["floor", "list"], s, d)),
        ),
        entry(
            "ours-batched",
            "ours: Table::read",
            (s, d),
            objs,
            Cmd::Own(args(&["batched", "list"], s, d)),
        ),
    ];
    if o.moby.is_some() {
        let cmd = Cmd::Moby(args(&["list"], s, d));
        e.push(entry(
            "moby",
            "moby/ipvs GetServices+GetDestinations",
            (s, d),
            objs,
            cmd,
        ));
    }
    let cmd = Cmd::Ipvsadm {
        args: strs(&["-Sn"]),
        stdin: None,
        expect_lines: Some(objs),
    };
    e.push(entry("ipvsadm", "ipvsadm -Sn", (s, d), objs, cmd));
    if have_py(o) {
        let cmd = Cmd::Py(args(&["ipvs", "list"], s, d));
        e.push(entry(
            "ours-py",
            "ours (Python): Ipvs.table",
            (s, d),
            objs,
            cmd,
        ));
        let c = cap_size(s, d, caps(o).py_list);
        let cmd = Cmd::Py(args(&["pyroute2", "list"], c.0, c.1));
        e.push(bounded(
            "pyroute2",
            "pyroute2 dump",
            c,
            c.0 * (c.1 + 1),
            cmd,
        ));
    }
    e
}

/// Every reconcile row counts one operation per service of its table (the
/// floor too, though it sends the changed operations alone): time per
/// operation is then time per service, comparable across rows and sizes.
fn reconcile_rows(o: &Opts, s: usize, d: usize) -> Vec<Entry> {
    let a = |c: &str, s: usize| {
        let mut v = strs(&[c, "reconcile"]);
        v.extend([s.to_string(), d.to_string(), PCT.to_string()]);
        v
    };
    let mut e = vec![
        entry(
            "floor",
            "floor: the changed operations alone, pre-encoded, one sendmsg",
            (s, d),
            s,
            Cmd::Own(a("floor", s)),
        ),
        entry(
            "ours-read",
            "ours: Table::read only",
            (s, d),
            s,
            Cmd::Own(a("read", s)),
        ),
        entry(
            "ours-batched",
            "ours: Ipvs::plan + apply_plan",
            (s, d),
            s,
            Cmd::Own(a("batched", s)),
        ),
        entry(
            "ipvsadm",
            "ipvsadm -Sn, compare, ipvsadm -R",
            (s, d),
            s,
            Cmd::Own(a("ipvsadm", s)),
        ),
    ];
    if o.moby.is_some() {
        let mut v = a("", s);
        v.remove(0);
        e.push(entry(
            "moby",
            "moby/ipvs list, compare, update",
            (s, d),
            s,
            Cmd::Moby(v),
        ));
    }
    if have_py(o) {
        let cmd = Cmd::Py(a("ipvs", s));
        e.push(entry(
            "ours-py",
            "ours (Python): Ipvs.plan + apply_plan",
            (s, d),
            s,
            cmd,
        ));
        let s1 = s.min(caps(o).py_reconcile);
        let cmd = Cmd::Py(a("pyroute2", s1));
        e.push(bounded(
            "pyroute2",
            "pyroute2 dump, compare, update",
            (s1, d, s1 != s),
            s1,
            cmd,
        ));
    }
    e
}

fn teardown_rows(o: &Opts, s: usize, d: usize) -> Vec<Entry> {
    let own = |c: &str| Cmd::Own(args(&[c, "teardown"], s, d));
    let mut e = vec![
        entry(
            "floor",
            "floor (pre-encoded deletes, one sendmsg)",
            (s, d),
            s,
            own("floor"),
        ),
        entry(
            "ours-batched",
            "ours: Ipvs::execute(DeleteService...)",
            (s, d),
            s,
            own("batched"),
        ),
    ];
    if o.moby.is_some() {
        let cmd = Cmd::Moby(vec!["teardown".into(), s.to_string(), "onebyone".into()]);
        e.push(entry(
            "moby",
            "moby/ipvs DelService one by one",
            (s, d),
            s,
            cmd,
        ));
    }
    let c = cap_size(s, 0, caps(o).ipvsadm);
    let cmd = Cmd::Ipvsadm {
        args: strs(&["-R"]),
        stdin: Some(crate::driver::ipvsadm_delete_script(c.0)),
        expect_lines: None,
    };
    e.push(bounded(
        "ipvsadm",
        "ipvsadm -R (-D lines)",
        (c.0, d, c.2),
        c.0,
        cmd,
    ));
    if have_py(o) {
        let v = vec![
            "ipvs".into(),
            "teardown".into(),
            s.to_string(),
            "batched".into(),
        ];
        let label = "ours (Python): Ipvs.execute(delete_service...)";
        e.push(entry("ours-py", label, (s, d), s, Cmd::Py(v)));
        let c = cap_size(s, 0, caps(o).py);
        let v = vec![
            "pyroute2".into(),
            "teardown".into(),
            c.0.to_string(),
            "onebyone".into(),
        ];
        e.push(bounded(
            "pyroute2",
            "pyroute2 one by one",
            (c.0, d, c.2),
            c.0,
            Cmd::Py(v),
        ));
    }
    e
}

/// Memory rows: each reports `delta_bytes` (peak RSS during the step minus
/// RSS just before it); the floor reports `attr_bytes`, the attribute bytes
/// of the kernel's dump replies for the whole table.
fn memory_rows(o: &Opts, s: usize, d: usize) -> Vec<Entry> {
    let mut e = vec![
        entry(
            "floor",
            "kernel: attribute bytes of the table's dumps",
            (s, d),
            s,
            Cmd::Own(args(&["floor", "dumpbytes"], s, d)),
        ),
        entry(
            "ours-read",
            "ours: Table::read",
            (s, d),
            s,
            Cmd::Own(args(&["mem", "read"], s, d)),
        ),
        entry(
            "ours-plan",
            "ours: Ipvs::plan (1% changed)",
            (s, d),
            s,
            Cmd::Own(args(&["mem", "plan"], s, d)),
        ),
    ];
    if o.moby.is_some() {
        let cmd = Cmd::Moby(args(&["memory"], s, d));
        e.push(entry(
            "moby-read",
            "moby/ipvs GetServices+GetDestinations",
            (s, d),
            s,
            cmd,
        ));
    }
    if have_py(o) {
        let cmd = Cmd::Py(args(&["ipvs", "memory", "read"], s, d));
        e.push(entry(
            "ours-py-read",
            "ours (Python): Ipvs.table",
            (s, d),
            s,
            cmd,
        ));
        let cmd = Cmd::Py(args(&["ipvs", "memory", "plan"], s, d));
        e.push(entry(
            "ours-py-plan",
            "ours (Python): Ipvs.plan (1% changed)",
            (s, d),
            s,
            cmd,
        ));
    }
    e
}

// ------------------------------------------------------------------ checks

/// The table a row must leave.
fn expected(w: &Workload, e: &Entry) -> Table {
    match w.kind {
        Kind::Teardown => Table::default(),
        Kind::Reconcile(_) if e.id != "ours-read" => desired(e.s, e.d, PCT),
        _ => desired(e.s, e.d, 0),
    }
}

/// What a run must leave of a table: per service, its real servers'
/// address, port and weight.
type Shape = BTreeMap<ServiceKey, BTreeSet<(IpAddr, u16, u32)>>;

fn shape(t: &Table) -> Shape {
    t.services
        .iter()
        .map(|s| {
            let ds = s.destinations.iter().map(|d| (d.addr, d.port, d.weight));
            (s.service.key, ds.collect())
        })
        .collect()
}

/// Compares a table read back after a run with the table the run must
/// leave: the same services, each with the same real servers at the same
/// weights. The error names the first difference.
///
/// # Errors
/// `label`, then what is missing, extra or at another weight.
pub(super) fn check_table(label: &str, got: &Table, want: &Table) -> Result<(), String> {
    let (got, want) = (shape(got), shape(want));
    let bad = |what: String| Err(format!("{label}: {what}"));
    if let Some(k) = want.keys().find(|k| !got.contains_key(k)) {
        return bad(format!("service {k} is missing"));
    }
    if let Some(k) = got.keys().find(|k| !want.contains_key(k)) {
        return bad(format!("service {k} should not be there"));
    }
    for (k, ds) in &want {
        let have = got.get(k).cloned().unwrap_or_default();
        if let Some((a, p, w)) = ds.difference(&have).next() {
            let other = have.iter().find(|(ha, hp, _)| (ha, hp) == (a, p));
            return bad(match other {
                Some((_, _, hw)) => {
                    format!("service {k}: real server {a}:{p} has weight {hw}, expected {w}")
                }
                None => format!("service {k}: real server {a}:{p} is missing"),
            });
        }
        if let Some((a, p, _)) = have.difference(ds).next() {
            return bad(format!(
                "service {k}: real server {a}:{p} should not be there"
            ));
        }
    }
    Ok(())
}

/// Services and destinations counted in the kernel's own text of the table
/// (`/proc/net/ip_vs`): a service line starts with its protocol, a real
/// server's with `  -> ` (the header's `  -> RemoteAddress` line aside).
fn proc_counts(text: &str) -> (usize, usize) {
    let services = ["TCP ", "UDP ", "SCTP ", "FWM "];
    let svc = |l: &&str| services.iter().any(|p| l.starts_with(p));
    let dest = |l: &&str| l.starts_with("  -> ") && !l.contains("RemoteAddress");
    (
        text.lines().filter(svc).count(),
        text.lines().filter(dest).count(),
    )
}

/// Checks the namespace's table after one run of a scale row: every
/// service, real server and weight through the library, and on the first
/// round the line counts of `/proc/net/ip_vs` as an independent referee
/// (the kernel's own text; `ipvsadm -Sn` took 105 s at 100,000 services).
/// A listing's rows only read the table prepared once for them: it is
/// checked on the first round (one referee for all its rows), not again.
///
/// # Errors
/// The table differs from what the row must leave.
pub(super) fn verify(w: &Workload, e: &Entry, referee: bool) -> Result<(), String> {
    if w.kind == Kind::List && !referee {
        return Ok(());
    }
    let want = expected(w, e);
    let h = Ipvs::open(Namespace::Named(NS.into())).map_err(|e| e.to_string())?;
    let t = Table::read(&h).map_err(|e| e.to_string())?;
    check_table(&format!("{} {}", w.id, e.id), &t, &want)?;
    let want = (
        want.services.len(),
        want.services
            .iter()
            .map(|s| s.destinations.len())
            .sum::<usize>(),
    );
    // a listing's table is prepared once for all its rows: one referee will do
    if referee && (w.kind != Kind::List || w.entries.first().map(|x| x.id) == Some(e.id)) {
        let text = sh("ip", &["netns", "exec", NS, "cat", "/proc/net/ip_vs"])?;
        let got = proc_counts(&text);
        if got != want {
            return Err(format!(
                "{} {}: /proc/net/ip_vs shows {} services and {} destinations, expected {} and {}",
                w.id, e.id, got.0, got.1, want.0, want.1
            ));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ drivers

fn status_kib(field: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("status: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("/proc/self/status has no {field}"))
}

/// Resets the peak RSS to the current RSS and returns it, in KiB. From
/// here on the process gets no transparent huge pages, so that RSS grows by
/// 4 KiB pages, not by 2 MiB blocks (one such block is 2,000 bytes per
/// service of a 1,000-service table).
fn rss_baseline() -> Result<u64, String> {
    // SAFETY: prctl(2) with integer arguments only, on this process.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| format!("clear_refs: {e}"))?;
    status_kib("VmRSS")
}

/// The anonymous and file-backed parts of RSS now, in KiB.
fn rss_parts() -> Result<(u64, u64), String> {
    Ok((status_kib("RssAnon")?, status_kib("RssFile")?))
}

/// Records how much of RSS grew since `before` was anonymous memory (the
/// table, buffers) and how much file-backed (code pages run for the first
/// time), as `anon_delta_bytes` and `file_delta_bytes`: what the peak
/// does not tell apart.
fn rss_parts_delta(res: &mut Res, before: (u64, u64)) -> Result<(), String> {
    let (anon, file) = rss_parts()?;
    res.extra("anon_delta_bytes", anon.saturating_sub(before.0) * 1024);
    res.extra("file_delta_bytes", file.saturating_sub(before.1) * 1024);
    Ok(())
}

fn num(a: &[String], i: usize) -> Result<usize, String> {
    a.get(i)
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| format!("argument {} missing or not a number", i + 1))
}

/// The scale drivers (`ipvs-bench drive CONTENDER WORKLOAD S D`); `None`
/// when the pair is not one of them.
///
/// # Errors
/// The step failed or left a result other than expected.
pub fn drive(contender: &str, work: &str, a: &[String]) -> Result<Option<Res>, String> {
    let mut res = Res::default();
    match (contender, work) {
        ("floor", "dumpbytes") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            let mut sock = RawSock::open()?;
            res.start();
            let (ns, nd) = sock.list_raw()?;
            res.stop(ns);
            if (ns, nd) != (s, s * d) {
                return Err(format!("floor listed {ns}/{nd}, expected {s}/{}", s * d));
            }
            res.extra("attr_bytes", sock.dumped as u64);
        }
        ("mem", "read") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            let ipvs = Ipvs::new().map_err(|e| e.to_string())?;
            let base = rss_baseline()?;
            let parts = rss_parts()?;
            res.start();
            let t = Table::read(&ipvs).map_err(|e| e.to_string())?;
            res.stop(t.services.len());
            res.extra(
                "delta_bytes",
                (status_kib("VmHWM")?.saturating_sub(base)) * 1024,
            );
            rss_parts_delta(&mut res, parts)?;
            let nd: usize = t.services.iter().map(|x| x.destinations.len()).sum();
            if (t.services.len(), nd) != (s, s * d) {
                return Err(format!(
                    "read {}/{nd}, expected {s}/{}",
                    t.services.len(),
                    s * d
                ));
            }
        }
        ("mem", "plan") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            let ipvs = Ipvs::new().map_err(|e| e.to_string())?;
            let want = desired(s, d, PCT);
            let base = rss_baseline()?;
            let parts = rss_parts()?;
            res.start();
            let plan = ipvs
                .plan(&want, &DiffOptions::default())
                .map_err(|e| e.to_string())?;
            res.stop(s);
            res.extra(
                "delta_bytes",
                (status_kib("VmHWM")?.saturating_sub(base)) * 1024,
            );
            rss_parts_delta(&mut res, parts)?;
            let expect = (0..s).filter(|&i| d > 0 && changed(i, PCT)).count();
            if plan.len() != expect {
                return Err(format!(
                    "plan has {} operations, expected {expect}",
                    plan.len()
                ));
            }
        }
        _ => return Ok(None),
    }
    Ok(Some(res))
}

// ------------------------------------------------------------------ report

/// The sizes that ran, in the order given, and the rows of a step.
fn step_rows<'a>(res: &'a [RowResult], step: &str) -> Vec<(&'a str, Vec<&'a RowResult>)> {
    let prefix = format!("{PREFIX}{step}-");
    let mut out: Vec<(&str, Vec<&RowResult>)> = Vec::new();
    for r in res.iter().filter(|r| r.workload.starts_with(&prefix)) {
        let size = &r.workload[prefix.len()..];
        match out.iter_mut().find(|(s, _)| *s == size) {
            Some((_, v)) => v.push(r),
            None => out.push((size, vec![r])),
        }
    }
    out
}

fn contenders<'a>(sizes: &[(&str, Vec<&'a RowResult>)]) -> Vec<(&'a str, &'a str)> {
    let mut ids: Vec<(&str, &str)> = Vec::new();
    for r in sizes.iter().flat_map(|(_, v)| v.iter()) {
        if !ids.iter().any(|(id, _)| *id == r.entry.id) {
            ids.push((r.entry.id, &r.entry.label));
        }
    }
    ids
}

fn row<'a>(rows: &[&'a RowResult], id: &str) -> Option<&'a RowResult> {
    rows.iter().copied().find(|r| r.entry.id == id)
}

/// Time per operation of a row at each size, its paired ratio to the floor,
/// and the growth from the smallest to the largest size with the fewest
/// destinations per service.
fn time_table(m: &mut String, step: &str, sizes: &[(&str, Vec<&RowResult>)]) {
    let _ = write!(m, "| contender |");
    for (s, _) in sizes {
        let _ = write!(m, " {s}: per op (× floor) |");
    }
    let _ = writeln!(m, " growth |\n|---|{}---|", "---|".repeat(sizes.len()));
    for (id, label) in contenders(sizes) {
        let _ = write!(m, "| {label} |");
        for (_, rows) in sizes {
            let _ = write!(m, " {} |", cell(rows, id));
        }
        let _ = writeln!(m, " {} |", growth(sizes, id));
    }
    let unit = match step {
        "create" => "object created (service or destination)",
        "list" => "object listed",
        "reconcile" => "service of the table",
        _ => "service deleted",
    };
    let _ = writeln!(m, "\nPer operation: per {unit}.\n");
}

fn cell(rows: &[&RowResult], id: &str) -> String {
    let Some(r) = row(rows, id) else {
        return "-".into();
    };
    if let Some(err) = &r.error {
        return format!("failed: {}", err.replace('|', "/"));
    }
    let star = match r.entry.scaled {
        true => format!(" \\* ({}x{})", r.entry.s, r.entry.d),
        false => String::new(),
    };
    let xf = row(rows, "floor")
        .filter(|f| f.ok() && f.entry.id != r.entry.id)
        .and_then(|f| paired(r, f))
        .map(|x| format!(" ({x:.2}x)"))
        .unwrap_or_default();
    format!("{}{xf}{star}", fmt_t(r.per_op()))
}

/// Table sizes with the fewest destinations per service, smallest and largest.
fn growth_ends<'a, 'b>(
    sizes: &'b [(&'a str, Vec<&'a RowResult>)],
) -> Option<(&'b [&'a RowResult], &'b [&'a RowResult])> {
    let d_of = |rows: &[&RowResult]| rows.first().map(|r| r.entry.d);
    let dmin = sizes.iter().filter_map(|(_, v)| d_of(v)).min()?;
    let line: Vec<&(&str, Vec<&RowResult>)> = sizes
        .iter()
        .filter(|(_, v)| d_of(v) == Some(dmin))
        .collect();
    let by_s = |x: &&&(&str, Vec<&RowResult>)| x.1.first().map(|r| r.entry.s).unwrap_or(0);
    let lo = line.iter().min_by_key(by_s)?;
    let hi = line.iter().max_by_key(by_s)?;
    Some((&lo.1, &hi.1))
}

fn growth(sizes: &[(&str, Vec<&RowResult>)], id: &str) -> String {
    let Some((lo, hi)) = growth_ends(sizes) else {
        return "-".into();
    };
    match (row(lo, id), row(hi, id)) {
        (Some(a), Some(b)) if a.ok() && b.ok() && a.entry.s < b.entry.s => {
            format!(
                "{:.2}x ({} → {})",
                b.per_op() / a.per_op(),
                a.entry.s,
                b.entry.s
            )
        }
        (Some(_), Some(_)) => "n/a (bounded)".into(),
        _ => "-".into(),
    }
}

fn memory_table(m: &mut String, sizes: &[(&str, Vec<&RowResult>)]) {
    let _ = writeln!(m, "### Memory per service\n");
    let _ = writeln!(m, "Peak RSS during the step minus RSS just before it (`/proc/self/clear_refs` 5, then `VmHWM`; transparent huge pages off for the process, `PR_SET_THP_DISABLE`, so that RSS grows by 4 KiB pages and not by 2 MiB blocks), per service, beside the kernel's own attribute bytes for the same table (the floor's dump, attributes only) and its ratio to them. The memory target is judged on what the table takes: the peak's growth less its file-backed part (code pages run for the first time, `RssFile`), which is reported with each row:\n");
    let _ = write!(m, "| step |");
    for (s, _) in sizes {
        let _ = write!(m, " {s}: bytes/service (× kernel) |");
    }
    let _ = writeln!(m, "\n|---|{}", "---|".repeat(sizes.len()));
    for (id, label) in contenders(sizes) {
        let _ = write!(m, "| {label} |");
        for (_, rows) in sizes {
            let _ = write!(m, " {} |", mem_cell(rows, id));
        }
        let _ = writeln!(m);
    }
    let _ = writeln!(m);
}

/// Bytes per service of a memory row (the floor's are its attribute bytes).
fn mem_per_service(r: &RowResult) -> Option<f64> {
    let k = if r.entry.id == "floor" {
        "attr_bytes"
    } else {
        "delta_bytes"
    };
    let v = r.extra(k);
    (r.ok() && v.is_finite()).then(|| v / r.entry.s.max(1) as f64)
}

/// Bytes per service a step's table took at its peak: peak RSS growth less
/// the file-backed growth (the library's code pages paged in for the first
/// time, which stay resident and are not the table's).
fn table_per_service(r: &RowResult) -> Option<f64> {
    let peak = mem_per_service(r)?;
    let file = r.extra("file_delta_bytes");
    file.is_finite()
        .then(|| (peak - file / r.entry.s.max(1) as f64).max(0.0))
}

fn mem_cell(rows: &[&RowResult], id: &str) -> String {
    let Some(r) = row(rows, id) else {
        return "-".into();
    };
    if let Some(err) = &r.error {
        return format!("failed: {}", err.replace('|', "/"));
    }
    let Some(b) = mem_per_service(r) else {
        return "-".into();
    };
    let kernel = row(rows, "floor").and_then(mem_per_service);
    match kernel {
        Some(k) if id != "floor" && k > 0.0 => format!("{b:.0} ({:.2}x)", b / k),
        _ => format!("{b:.0}"),
    }
}

/// The targets for ours (Rust), judged on this run.
fn targets(m: &mut String, res: &[RowResult]) {
    let _ = writeln!(
        m,
        "### Scale targets\n\n| target | measured | met |\n|---|---|---|"
    );
    let mut line = |what: String, got: String, ok: Option<bool>| {
        let v = match ok {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "n/a",
        };
        let _ = writeln!(m, "| {what} | {got} | {v} |");
    };
    for step in ["create", "list", "teardown"] {
        let sizes = step_rows(res, step);
        if let Some((lo, hi)) = growth_ends(&sizes) {
            if let (Some(a), Some(b)) = (row(lo, "ours-batched"), row(hi, "ours-batched")) {
                if a.ok() && b.ok() && a.entry.s < b.entry.s {
                    let g = b.per_op() / a.per_op();
                    line(
                        format!(
                            "{step}: ours within 1.3x per operation from {} to {}",
                            a.entry.s, b.entry.s
                        ),
                        format!("{g:.2}x"),
                        Some(g <= 1.3),
                    );
                }
            }
        }
        for (size, rows) in &sizes {
            if let (Some(o), Some(f)) = (row(rows, "ours-batched"), row(rows, "floor")) {
                if let Some(x) = paired(o, f) {
                    line(
                        format!("{step} {size}: ours within 1.2x of the floor"),
                        format!("{x:.2}x"),
                        Some(x <= 1.2),
                    );
                }
            }
        }
    }
    for (size, rows) in step_rows(res, "reconcile") {
        let read = row(&rows, "ours-read");
        if let (Some(r), Some(f)) = (row(&rows, "ours-batched"), row(&rows, "floor")) {
            for (what, got, ok) in
                super::reconcile_verdicts(&format!("reconcile {size}"), r, f, read)
            {
                line(what, got, ok);
            }
        }
    }
    for (size, rows) in step_rows(res, "memory") {
        let k = row(&rows, "floor").and_then(mem_per_service);
        let read = row(&rows, "ours-read");
        let peak = read.and_then(mem_per_service);
        if let (Some(k), Some(peak), Some(table)) = (k, peak, read.and_then(table_per_service)) {
            let x = table / k;
            line(
                format!("memory {size}: a read table ≤ 3x the kernel's attribute bytes"),
                format!(
                    "{x:.2}x (peak RSS growth {:.2}x, less the code pages run for the first time)",
                    peak / k
                ),
                Some(x <= 3.0),
            );
        }
    }
    let _ = writeln!(m);
}

/// The markdown section of the scale rows.
pub(super) fn report(res: &[RowResult]) -> String {
    let mut m = String::new();
    if res.is_empty() {
        return m;
    }
    let _ = writeln!(m, "## Scale\n\nTime per operation at each table size (median of the runs; × floor paired as above) and its growth from the smallest to the largest size with one destination per service. Every run of a row that changes the table was checked against the table it must leave (every service, real server and weight read back), a listing's table once on the first round; `/proc/net/ip_vs` line counts on the first round as the outside referee. Rows marked \\* ran the smaller table shown (slow contender, bounded as in the standard rows).\n");
    for step in ["create", "list", "reconcile", "teardown"] {
        let sizes = step_rows(res, step);
        if sizes.is_empty() {
            continue;
        }
        let _ = writeln!(m, "### Scale: {step}\n");
        time_table(&mut m, step, &sizes);
    }
    let _ = writeln!(m, "Notes: `reconcile` plans and applies 1% changed (the weight of one destination of every hundredth service); its time per operation is per service of the table for every row, the floor's being the changed operations alone spread over the table.\n");
    let mem = step_rows(res, "memory");
    if !mem.is_empty() {
        memory_table(&mut m, &mem);
    }
    targets(&mut m, res);
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Issue 21's memory target is judged on the table's bytes: the peak's
    /// growth less the code pages paged in (file-backed), never below zero.
    #[test]
    fn a_tables_memory_is_its_peak_less_the_file_backed_growth() {
        let mut r = RowResult {
            workload: "scale-memory".into(),
            entry: entry("ours-read", "read", (1000, 1), 1000, Cmd::Own(Vec::new())),
            samples: Vec::new(),
            syscalls: None,
            error: None,
            soak: None,
        };
        let mut sample = super::super::Sample::default();
        sample.extra.insert("delta_bytes".into(), 2_281_000.0);
        sample.extra.insert("file_delta_bytes".into(), 2_030_000.0);
        r.samples.push(sample);
        assert_eq!(mem_per_service(&r), Some(2281.0));
        assert_eq!(table_per_service(&r), Some(251.0));
        r.samples[0]
            .extra
            .insert("file_delta_bytes".into(), 3_000_000.0);
        assert_eq!(table_per_service(&r), Some(0.0));
        r.samples[0].extra.remove("file_delta_bytes");
        assert_eq!(table_per_service(&r), None);
    }

    /// Issue 21: each run is checked against the table it must leave; the
    /// check must fail on a table that differs in one real server.
    #[test]
    fn the_table_check_fails_on_a_missing_server_or_a_wrong_weight() {
        let want = desired(3, 2, 50);
        assert_eq!(check_table("row", &want, &want), Ok(()));
        let mut shuffled = want.clone();
        shuffled.services.reverse();
        assert_eq!(check_table("row", &shuffled, &want), Ok(()));

        let mut missing = want.clone();
        missing.services[1].destinations.pop();
        let err = check_table("row", &missing, &want).unwrap_err();
        assert_eq!(
            err,
            "row: service TCP 10.0.0.2:80: real server 172.16.0.2:8080 is missing"
        );

        let mut heavy = want.clone();
        heavy.services[0].destinations[0].weight = 1; // the change never applied
        let err = check_table("row", &heavy, &want).unwrap_err();
        assert_eq!(
            err,
            "row: service TCP 10.0.0.1:80: real server 172.16.0.1:8080 has weight 1, expected 2"
        );

        let mut extra = want.clone();
        extra.services[2].destinations.push(dest(7, 1));
        let err = check_table("row", &extra, &want).unwrap_err();
        assert!(err.contains("172.16.0.8:8080 should not be there"), "{err}");

        let err = check_table("row", &Table::default(), &want).unwrap_err();
        assert_eq!(err, "row: service TCP 10.0.0.1:80 is missing");
        let err = check_table("row", &want, &Table::default()).unwrap_err();
        assert!(err.contains("should not be there"), "{err}");
    }

    /// The referee counts the kernel's own lines, not its headers.
    #[test]
    fn the_proc_referee_counts_services_and_real_servers_not_headers() {
        let text = "IP Virtual Server version 1.2.1 (size=4096)\n\
            Prot LocalAddress:Port Scheduler Flags\n  \
            -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n\
            TCP  0A000001:0050 rr\n  \
            -> AC100001:1F90      Masq    1      0          0\n  \
            -> AC100002:1F90      Route   2      0          0\n\
            UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 wlc\n\
            SCTP 0A000002:0050 sh\n\
            FWM  00000007 rr\n  \
            -> AC100003:0000      Tunnel  1      0          0\n";
        assert_eq!(proc_counts(text), (4, 3));
        assert_eq!(proc_counts(""), (0, 0));
    }
}
