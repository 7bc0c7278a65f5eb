//! The Rust contenders, run as a child process inside the benchmark's network
//! namespace (`ipvs-bench drive CONTENDER WORKLOAD ARGS...`): the library
//! batched and one by one, a floor sender that is the physical limit, and
//! ipvsadm loops that need a driver of their own (per-operation latency and a
//! reconcile through `ipvsadm -Sn` / `ipvsadm -R`).
//!
//! Each prints one line `RESULT {json}` with its own timing of the workload:
//! `wall_ns`, `ops`, `utime_ns`, `stime_ns` and workload-specific extras.

use std::collections::HashMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Instant;

use lvskit::raw::ipvs::{self as c, cmd, cmd_attr};
use lvskit::raw::nla;
use lvskit::table::{DiffOptions, Table, TableService};
use lvskit::{BatchMode, Destination, Forward, Ipvs, Operation, Service, ServiceKey};

use super::raw::RawSock;
use super::Res;

/// Service `i`: TCP 10.0.0.1+i port 80, wlc.
pub fn svc_key(i: usize) -> ServiceKey {
    ServiceKey::tcp(Ipv4Addr::from(0x0a00_0001u32 + i as u32), 80)
}

/// Destination `j` of every service: 172.16.0.1+j port 8080, NAT.
pub fn dest(j: usize, weight: u32) -> Destination {
    Destination::new(Ipv4Addr::from(0xac10_0001u32 + j as u32), 8080)
        .with_forward(Forward::Masq)
        .with_weight(weight)
}

/// Whether service `i` changes in a reconcile with `pct` percent changed.
pub fn changed(i: usize, pct: usize) -> bool {
    pct > 0 && i % (100 / pct) == 0
}

/// The ops that create `s` services with `d` destinations each.
pub fn create_ops(s: usize, d: usize) -> Vec<Operation> {
    let mut ops = Vec::with_capacity(s * (d + 1));
    for i in 0..s {
        let k = svc_key(i);
        ops.push(Operation::AddService(Service::new(k)));
        for j in 0..d {
            ops.push(Operation::AddDestination(k, dest(j, 1)));
        }
    }
    ops
}

/// The desired table of a reconcile.
pub fn desired(s: usize, d: usize, pct: usize) -> Table {
    Table {
        services: (0..s)
            .map(|i| TableService {
                service: Service::new(svc_key(i)),
                destinations: (0..d)
                    .map(|j| dest(j, if j == 0 && changed(i, pct) { 2 } else { 1 }))
                    .collect(),
            })
            .collect(),
        timeouts: None,
    }
}

/// `ipvsadm -R` input creating `s` x `d`.
pub fn ipvsadm_create_script(s: usize, d: usize) -> String {
    let mut out = String::with_capacity(s * (d + 1) * 48);
    for i in 0..s {
        let a = Ipv4Addr::from(0x0a00_0001u32 + i as u32);
        out.push_str(&format!("-A -t {a}:80 -s wlc\n"));
        for j in 0..d {
            let r = Ipv4Addr::from(0xac10_0001u32 + j as u32);
            out.push_str(&format!("-a -t {a}:80 -r {r}:8080 -m -w 1\n"));
        }
    }
    out
}

/// `ipvsadm -R` input deleting `s` services.
pub fn ipvsadm_delete_script(s: usize) -> String {
    (0..s)
        .map(|i| format!("-D -t {}:80\n", Ipv4Addr::from(0x0a00_0001u32 + i as u32)))
        .collect()
}

fn num(args: &[String], i: usize) -> Result<usize, String> {
    args.get(i)
        .ok_or_else(|| format!("missing argument {}", i + 1))?
        .parse()
        .map_err(|e| format!("argument {}: {e}", i + 1))
}

fn pct_stats(res: &mut Res, name: &str, mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    if !v.is_empty() {
        res.extra(&format!("{name}_p50_ns"), v[v.len() / 2]);
        res.extra(&format!("{name}_p99_ns"), v[v.len() * 99 / 100]);
    }
    v
}

/// The reconcile's steps once more in the same process, off its clock:
/// what a long-running director pays once the library's code has run (the
/// first plan and batch of a process also fault that code in and start the
/// planner's first thread). The table now equals `want`, so the plan is
/// empty but reads and compares as much; the plan's changes applied again
/// are the same work for the kernel. Recorded as `plan_again_ns` (beside
/// `read_again_ns`, the listing just before it) and `apply_again_ns`.
fn again(
    res: &mut Res,
    ipvs: &Ipvs,
    want: &lvskit::table::Table,
    plan: &lvskit::table::Plan,
    read_ns: u64,
) -> Result<(), String> {
    let t = Instant::now();
    let empty = ipvs
        .plan(want, &DiffOptions::default())
        .map_err(|e| e.to_string())?;
    res.extra("plan_again_ns", t.elapsed().as_nanos() as u64);
    res.extra("read_again_ns", read_ns);
    if !empty.is_empty() {
        return Err(format!("the table left differs from the desired: {empty}"));
    }
    let t = Instant::now();
    let report = ipvs.apply_plan(plan);
    res.extra("apply_again_ns", t.elapsed().as_nanos() as u64);
    check(&report, "reconcile applied again")
}

fn check(report: &lvskit::BatchReport, what: &str) -> Result<(), String> {
    match report.first_error() {
        Some(e) => Err(format!(
            "{what}: {} of {} failed, first: {e}",
            report.outcomes.len() - report.done(),
            report.outcomes.len()
        )),
        None => Ok(()),
    }
}

/// Runs one Rust contender on one workload; prints `RESULT {json}`.
pub fn drive(args: &[String]) -> Result<(), String> {
    let contender = args.first().ok_or("drive: missing contender")?.as_str();
    let work = args.get(1).ok_or("drive: missing workload")?.as_str();
    let a = &args[2..];
    if (contender, work) == ("soak", "director") {
        return super::run::soak::child::drive(a);
    }
    if let Some(res) = super::run::scale::drive(contender, work, a)? {
        println!("RESULT {}", res.json());
        return Ok(());
    }
    let mut res = Res::default();
    match (contender, work) {
        ("floor", "create") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            let mut sock = RawSock::open()?;
            let ops = create_ops(s, d);
            let msgs = sock.encode(&ops)?;
            res.start();
            sock.send_batch(&msgs)?;
            res.stop(ops.len());
        }
        ("floor", "teardown") => {
            let s = num(a, 0)?;
            let mut sock = RawSock::open()?;
            let ops: Vec<Operation> = (0..s)
                .map(|i| Operation::DeleteService(svc_key(i)))
                .collect();
            let msgs = sock.encode(&ops)?;
            res.start();
            sock.send_batch(&msgs)?;
            res.stop(s);
        }
        ("floor", "list") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            let mut sock = RawSock::open()?;
            res.start();
            let (ns, nd) = sock.list_raw()?;
            res.stop(ns + nd);
            if ns != s || nd != s * d {
                return Err(format!("floor listed {ns}/{nd}, expected {s}/{}", s * d));
            }
        }
        ("floor", "latency") => {
            let n = num(a, 0)?;
            let mut sock = RawSock::open()?;
            let mut add = Vec::with_capacity(n);
            let mut addd = Vec::with_capacity(n);
            let mut del = Vec::with_capacity(n);
            let mut lat = [Vec::new(), Vec::new(), Vec::new()];
            for i in 0..n {
                add.push(sock.encode(&[Operation::AddService(Service::new(svc_key(i)))])?);
                addd.push(sock.encode(&[Operation::AddDestination(svc_key(i), dest(0, 1))])?);
                del.push(sock.encode(&[Operation::DeleteService(svc_key(i))])?);
            }
            res.start();
            for i in 0..n {
                let t = Instant::now();
                sock.send_batch(&add[i])?;
                lat[0].push(t.elapsed().as_nanos() as u64);
                let t = Instant::now();
                sock.send_batch(&addd[i])?;
                lat[1].push(t.elapsed().as_nanos() as u64);
            }
            for m in &del {
                let t = Instant::now();
                sock.send_batch(m)?;
                lat[2].push(t.elapsed().as_nanos() as u64);
            }
            res.stop(3 * n);
            latency_extras(&mut res, lat);
        }
        ("batched" | "prebuilt", "create") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            let ipvs = Ipvs::new().map_err(|e| e.to_string())?;
            // "prebuilt": the operations exist before the clock starts, as the
            // floor's requests do; "batched" builds them on the clock
            let prebuilt = (contender == "prebuilt").then(|| create_ops(s, d));
            res.start();
            let ops = match prebuilt {
                Some(ops) => ops,
                None => create_ops(s, d),
            };
            let report = ipvs.execute(&ops, BatchMode::Continue);
            res.stop(ops.len());
            check(&report, "batched create")?;
        }
        ("onebyone", "create") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            let ipvs = Ipvs::new().map_err(|e| e.to_string())?;
            res.start();
            for i in 0..s {
                let k = svc_key(i);
                ipvs.add_service(&Service::new(k))
                    .map_err(|e| e.to_string())?;
                for j in 0..d {
                    ipvs.add_destination(&k, &dest(j, 1))
                        .map_err(|e| e.to_string())?;
                }
            }
            res.stop(s * (d + 1));
        }
        ("async64", "create") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            super::aio::create(&mut res, s, d, super::aio::Shape::Tasks)?;
        }
        ("async64-onetask", "create") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            super::aio::create(&mut res, s, d, super::aio::Shape::OneTask)?;
        }
        ("batched", "list") => {
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            let ipvs = Ipvs::new().map_err(|e| e.to_string())?;
            res.start();
            let t = Table::read(&ipvs).map_err(|e| e.to_string())?;
            let nd: usize = t.services.iter().map(|x| x.destinations.len()).sum();
            res.stop(t.services.len() + nd);
            if t.services.len() != s || nd != s * d {
                return Err(format!(
                    "listed {}/{nd}, expected {s}/{}",
                    t.services.len(),
                    s * d
                ));
            }
        }
        ("floor", "reconcile") => {
            // the changed operations alone, pre-encoded, in one sendmsg: what
            // the reconcile bound allows beyond the listing
            let (s, d, pct) = (num(a, 0)?, num(a, 1)?, num(a, 2)?);
            let mut sock = RawSock::open()?;
            let ops: Vec<Operation> = (0..s)
                .filter(|&i| d > 0 && changed(i, pct))
                .map(|i| Operation::UpdateDestination(svc_key(i), dest(0, 2)))
                .collect();
            if ops.is_empty() {
                res.start();
                res.stop(0);
            } else {
                let msgs = sock.encode(&ops)?;
                res.start();
                sock.send_batch(&msgs)?;
                res.stop(ops.len());
            }
        }
        ("read", "reconcile") => {
            // the listing a reconcile is measured against: Table::read alone
            let (s, d) = (num(a, 0)?, num(a, 1)?);
            let ipvs = Ipvs::new().map_err(|e| e.to_string())?;
            res.start();
            let t = Table::read(&ipvs).map_err(|e| e.to_string())?;
            res.stop(t.services.len());
            let nd: usize = t.services.iter().map(|x| x.destinations.len()).sum();
            if t.services.len() != s || nd != s * d {
                return Err(format!(
                    "read {}/{nd}, expected {s}/{}",
                    t.services.len(),
                    s * d
                ));
            }
        }
        ("batched" | "onebyone", "reconcile") => {
            let (s, d, pct) = (num(a, 0)?, num(a, 1)?, num(a, 2)?);
            let ipvs = Ipvs::new().map_err(|e| e.to_string())?;
            // the listing of the same table just before and just after the
            // timed reconcile, off the clock: planning's cost over the read is
            // measured within seconds, not across runs minutes apart
            let read = |ipvs: &Ipvs| -> Result<u64, String> {
                let t = Instant::now();
                Table::read(ipvs).map_err(|e| e.to_string())?;
                Ok(t.elapsed().as_nanos() as u64)
            };
            // not in the strace run, which counts the reconcile's system calls alone
            let around = contender == "batched" && std::env::var_os(super::STRACE_ENV).is_none();
            let before = if around { read(&ipvs)? } else { 0 };
            // the desired table is the caller's input, made before the clock
            // as the floor's requests are (its making is recorded beside)
            let t = Instant::now();
            let want = desired(s, d, pct);
            res.extra("desired_ns", t.elapsed().as_nanos() as u64);
            res.start();
            // the table is read and planned at once (the planning overlaps the read)
            let plan = ipvs
                .plan(&want, &DiffOptions::default())
                .map_err(|e| e.to_string())?;
            let t_plan = res.elapsed_ns();
            if contender == "batched" {
                check(&ipvs.apply_plan(&plan), "reconcile")?;
            } else {
                for op in &plan.operations {
                    ipvs.apply(op).map_err(|e| e.to_string())?;
                }
            }
            res.stop(plan.len());
            res.extra("plan_ns", t_plan);
            res.extra("apply_ns", res.wall_ns - t_plan);
            if around {
                let after = read(&ipvs)?;
                res.extra("read_around_ns", (before + after) / 2);
                again(&mut res, &ipvs, &want, &plan, after)?;
            }
            let expect = (0..s).filter(|&i| d > 0 && changed(i, pct)).count();
            if plan.len() != expect {
                return Err(format!(
                    "plan has {} operations, expected {expect}",
                    plan.len()
                ));
            }
        }
        ("onebyone", "latency") => {
            let n = num(a, 0)?;
            let ipvs = Ipvs::new().map_err(|e| e.to_string())?;
            let mut lat = [Vec::new(), Vec::new(), Vec::new()];
            res.start();
            for i in 0..n {
                let k = svc_key(i);
                let t = Instant::now();
                ipvs.add_service(&Service::new(k))
                    .map_err(|e| e.to_string())?;
                lat[0].push(t.elapsed().as_nanos() as u64);
                let t = Instant::now();
                ipvs.add_destination(&k, &dest(0, 1))
                    .map_err(|e| e.to_string())?;
                lat[1].push(t.elapsed().as_nanos() as u64);
            }
            for i in 0..n {
                let t = Instant::now();
                ipvs.delete_service(&svc_key(i))
                    .map_err(|e| e.to_string())?;
                lat[2].push(t.elapsed().as_nanos() as u64);
            }
            res.stop(3 * n);
            latency_extras(&mut res, lat);
        }
        ("flush" | "batched" | "prebuilt" | "onebyone", "teardown") => {
            let s = num(a, 0)?;
            let ipvs = Ipvs::new().map_err(|e| e.to_string())?;
            let delete_ops = || -> Vec<Operation> {
                (0..s)
                    .map(|i| Operation::DeleteService(svc_key(i)))
                    .collect()
            };
            // "prebuilt": the deletes exist before the clock starts, as the
            // floor's requests do; "batched" builds them on the clock
            let prebuilt = (contender == "prebuilt").then(delete_ops);
            res.start();
            match contender {
                "flush" => {
                    ipvs.flush().map_err(|e| e.to_string())?;
                    res.stop(s);
                }
                "batched" | "prebuilt" => {
                    let ops = prebuilt.unwrap_or_else(delete_ops);
                    let report = ipvs.execute(&ops, BatchMode::Continue);
                    // as in create: the clock stops when the batch is done;
                    // checking the report and freeing it and the operations
                    // come after (the floor's buffers are freed after its clock)
                    res.stop(s);
                    check(&report, "batched delete")?;
                }
                _ => {
                    for i in 0..s {
                        ipvs.delete_service(&svc_key(i))
                            .map_err(|e| e.to_string())?;
                    }
                    res.stop(s);
                }
            }
        }
        ("ipvsadm", "latency") => {
            let n = num(a, 0)?;
            let mut lat = [Vec::new(), Vec::new(), Vec::new()];
            let run = |args: &[String]| -> Result<u64, String> {
                let t = Instant::now();
                let st = Command::new("ipvsadm")
                    .args(args)
                    .status()
                    .map_err(|e| format!("ipvsadm: {e}"))?;
                if !st.success() {
                    return Err(format!("ipvsadm {args:?}: {st}"));
                }
                Ok(t.elapsed().as_nanos() as u64)
            };
            res.start();
            for i in 0..n {
                let v = format!("{}:80", Ipv4Addr::from(0x0a00_0001u32 + i as u32));
                lat[0].push(run(&[
                    "-A".into(),
                    "-t".into(),
                    v.clone(),
                    "-s".into(),
                    "wlc".into(),
                ])?);
                lat[1].push(run(&[
                    "-a".into(),
                    "-t".into(),
                    v,
                    "-r".into(),
                    "172.16.0.1:8080".into(),
                    "-m".into(),
                    "-w".into(),
                    "1".into(),
                ])?);
            }
            for i in 0..n {
                let v = format!("{}:80", Ipv4Addr::from(0x0a00_0001u32 + i as u32));
                lat[2].push(run(&["-D".into(), "-t".into(), v])?);
            }
            res.stop(3 * n);
            latency_extras(&mut res, lat);
        }
        ("ipvsadm", "reconcile") => {
            // what a shell control plane does: save, compare, restore the difference
            let (s, d, pct) = (num(a, 0)?, num(a, 1)?, num(a, 2)?);
            res.start();
            let out = Command::new("ipvsadm")
                .arg("-Sn")
                .output()
                .map_err(|e| format!("ipvsadm -Sn: {e}"))?;
            if !out.status.success() {
                return Err(format!("ipvsadm -Sn: {}", out.status));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let mut have: HashMap<(String, String), u32> = HashMap::new();
            let mut services = std::collections::HashSet::new();
            for line in text.lines() {
                let w: Vec<&str> = line.split_whitespace().collect();
                match w.as_slice() {
                    ["-A", "-t", v, ..] => {
                        services.insert(v.to_string());
                    }
                    ["-a", "-t", v, "-r", r, _, "-w", wt, ..] => {
                        have.insert((v.to_string(), r.to_string()), wt.parse().unwrap_or(0));
                    }
                    _ => {}
                }
            }
            res.extra("read_ns", res.elapsed_ns());
            let mut script = String::new();
            let mut n = 0;
            for i in 0..s {
                let v = format!("{}:80", Ipv4Addr::from(0x0a00_0001u32 + i as u32));
                if !services.contains(&v) {
                    script.push_str(&format!("-A -t {v} -s wlc\n"));
                    n += 1;
                }
                for j in 0..d {
                    let r = format!("{}:8080", Ipv4Addr::from(0xac10_0001u32 + j as u32));
                    let w = if j == 0 && changed(i, pct) { 2 } else { 1 };
                    match have.get(&(v.clone(), r.clone())) {
                        None => script.push_str(&format!("-a -t {v} -r {r} -m -w {w}\n")),
                        Some(&x) if x != w => {
                            script.push_str(&format!("-e -t {v} -r {r} -m -w {w}\n"))
                        }
                        Some(_) => continue,
                    }
                    n += 1;
                }
            }
            if n > 0 {
                let mut child = Command::new("ipvsadm")
                    .arg("-R")
                    .stdin(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("ipvsadm -R: {e}"))?;
                child
                    .stdin
                    .take()
                    .ok_or("ipvsadm -R: no stdin")?
                    .write_all(script.as_bytes())
                    .map_err(|e| format!("ipvsadm -R: {e}"))?;
                let st = child.wait().map_err(|e| format!("ipvsadm -R: {e}"))?;
                if !st.success() {
                    return Err(format!("ipvsadm -R: {st}"));
                }
            }
            res.stop(n);
        }
        _ => {
            return Err(format!(
                "drive: no contender {contender} for workload {work}"
            ))
        }
    }
    println!("RESULT {}", res.json());
    Ok(())
}

fn latency_extras(res: &mut Res, lat: [Vec<u64>; 3]) {
    let [a, b, c] = lat;
    let mut all = pct_stats(res, "add_service", a);
    all.extend(pct_stats(res, "add_destination", b));
    all.extend(pct_stats(res, "delete_service", c));
    pct_stats(res, "all", all);
}

/// Used by the floor lister: the SERVICE nest of a GET_SERVICE reply, sent
/// back verbatim as the key of a GET_DEST dump (no decoding at all).
pub fn service_nest(attrs: &[u8]) -> Option<Vec<u8>> {
    for a in nla::Attrs::new(attrs) {
        let (ty, p) = a.ok()?;
        if ty == cmd_attr::SERVICE {
            let mut b = Vec::with_capacity(p.len() + 4);
            let at = nla::begin_nest(&mut b, cmd_attr::SERVICE);
            b.extend_from_slice(p);
            nla::end_nest(&mut b, at).ok()?;
            return Some(b);
        }
    }
    None
}

/// Builds one dump request.
pub fn dump_request(family: u16, command: u8, seq: u32, attrs: &[u8]) -> Result<Vec<u8>, String> {
    let mut b = Vec::with_capacity(64 + attrs.len());
    c::request(&mut b, family, command, nla::NLM_F_DUMP, seq, |b| {
        b.extend_from_slice(attrs);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(b)
}

/// `GET_SERVICE` and `GET_DEST` for the floor lister.
pub const GET_SERVICE: u8 = cmd::GET_SERVICE;
/// See [`GET_SERVICE`].
pub const GET_DEST: u8 = cmd::GET_DEST;
