//! The soak's harness side: the lab (a client, a director and three LVS/DR
//! real servers, `ipvs_examples::scenario`), the child that runs the
//! director, real traffic to the VIP and health flapping while it runs, and
//! the report's section.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ipvs_examples::scenario::{Mode, RealServer, Scenario};
use ipvs_examples::traffic;
use lvskit::Scheduler;

use super::super::{sh, Cmd, Entry, RowResult, Sample};
use super::WORKLOAD;

/// The soak section's first and last lines in the report and in
/// BENCHMARKS.md, where `scripts/bench --soak MINUTES` replaces it.
const BEGIN: &str = "<!-- soak:begin (scripts/bench writes this section) -->";
const END: &str = "<!-- soak:end -->";

/// How long each flap keeps a real server's service stopped, and the pause
/// before the next one.
const FLAP: Duration = Duration::from_secs(4);

/// Runs the soak for `secs` seconds with the harness `exe`; its row.
pub fn row(exe: &str, secs: u64) -> RowResult {
    let mut r = RowResult {
        workload: WORKLOAD.into(),
        entry: Entry {
            id: "ours-director",
            label: "lvskit::director (Director::set_desired once a second)".into(),
            s: 0,
            d: 0,
            ops: secs as usize,
            scaled: false,
            cmd: Cmd::Own(Vec::new()),
        },
        samples: Vec::new(),
        syscalls: None,
        error: None,
        soak: None,
    };
    let t0 = Instant::now();
    match run(exe, secs) {
        Ok(v) => {
            let errors: Vec<String> = v["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if !errors.is_empty() {
                r.error = Some(errors.join("; "));
            }
            r.samples.push(Sample {
                wall: t0.elapsed().as_secs_f64(),
                ..Sample::default()
            });
            r.soak = Some(v);
        }
        Err(e) => r.error = Some(e),
    }
    r
}

/// Kills the child when dropped (its normal end has reaped it already).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(exe: &str, secs: u64) -> Result<serde_json::Value, String> {
    let mut s = Scenario::one_director(
        "soak-",
        Mode::DirectRoute,
        Scheduler::RoundRobin,
        &[1, 1, 1],
    )
    .map_err(|e| format!("soak lab: {e}"))?;
    let rips: Vec<String> = s.servers.iter().map(|r| r.rip.to_string()).collect();
    let args = [
        "drive".to_string(),
        "soak".into(),
        "director".into(),
        s.directors[0].ns.name().to_owned(),
        s.vip.ip().to_string(),
        rips.join(","),
        secs.to_string(),
        "20261206".into(),
    ];
    let mut child = Command::new(exe)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting the soak's director: {e}"))?;
    let out = child
        .stdout
        .take()
        .ok_or("the soak's child has no stdout")?;
    let mut child = Reaped(child);
    let mut lines = BufReader::new(out);
    let mut first = String::new();
    lines
        .read_line(&mut first)
        .map_err(|e| format!("soak child: {e}"))?;
    if first.trim() != "READY" {
        return Err(format!("the soak's director did not start: {first:?}"));
    }
    let (ok, failed, flaps) = traffic_and_flaps(&mut s, secs);
    let mut v = result(lines, &mut child.0, secs)?;
    v["traffic"] = serde_json::json!({ "ok": ok, "failed": failed });
    v["flaps"] = flaps.into();
    if ok == 0 {
        return Err("no request reached a real server during the soak".into());
    }
    Ok(v)
}

/// Waits (bounded) for the child's `SOAK` line and its exit: a child that
/// has not ended 120 s after the churn is killed.
fn result(
    mut lines: BufReader<ChildStdout>,
    child: &mut Child,
    secs: u64,
) -> Result<serde_json::Value, String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let pid = child.id() as libc::pid_t;
    let done = AtomicBool::new(false);
    let mut text = String::new();
    let read = std::thread::scope(|sc| {
        sc.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if Instant::now() >= deadline {
                    // SAFETY: kill(2) of our own child, not reaped yet (the
                    // wait below runs after this thread ended).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let r = lines.read_to_string(&mut text);
        done.store(true, Ordering::SeqCst);
        r
    });
    read.map_err(|e| format!("soak child: {e}"))?;
    let status = child.wait().map_err(|e| format!("soak child: {e}"))?;
    let line = text.lines().find_map(|l| l.strip_prefix("SOAK "));
    match (status.success(), line) {
        (true, Some(l)) => serde_json::from_str(l).map_err(|e| format!("soak child's JSON: {e}")),
        _ => Err(format!("the soak's director ({secs} s) failed: {status}")),
    }
}

/// Sends requests to the VIP all along while the real servers' service is
/// stopped and started in turn, for `secs` seconds; then every server runs
/// again. Returns (requests answered, failed, flaps).
fn traffic_and_flaps(s: &mut Scenario, secs: u64) -> (u64, u64, u64) {
    let (ok, failed, stop) = (AtomicU64::new(0), AtomicU64::new(0), AtomicBool::new(false));
    let (client, vip) = (&s.client, s.vip);
    let servers = &mut s.servers;
    let mut flaps = 0;
    std::thread::scope(|sc| {
        sc.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                match traffic::http_get(client, vip) {
                    Ok(_) => ok.fetch_add(1, Ordering::SeqCst),
                    Err(_) => failed.fetch_add(1, Ordering::SeqCst),
                };
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        flaps = flap(servers, secs);
        stop.store(true, Ordering::SeqCst);
    });
    (ok.into_inner(), failed.into_inner(), flaps)
}

/// Stops one real server's service for [`FLAP`], then the next one's after
/// a pause of [`FLAP`], until `secs` seconds have passed; all run at the end.
fn flap(servers: &mut [RealServer], secs: u64) -> u64 {
    let until = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    let idle =
        |d: Duration| std::thread::sleep(d.min(until.saturating_duration_since(Instant::now())));
    // the last flap ends at least FLAP before the soak does
    while Instant::now() + 2 * FLAP < until {
        let i = n as usize % servers.len().max(1);
        if let Some(rs) = servers.get_mut(i) {
            rs.stop();
            idle(FLAP);
            if let Err(e) = rs.start() {
                eprintln!("soak: restarting {}: {e}", rs.name);
            }
        }
        n += 1;
        idle(FLAP);
    }
    for rs in servers.iter_mut() {
        if let Err(e) = rs.start() {
            eprintln!("soak: restarting {}: {e}", rs.name);
        }
    }
    n
}

/// Where a series was after the first minute (a soak shorter than 90 s:
/// after its first third) and where it ended, each the lowest value of a
/// window of samples (a tenth of the soak, at most ten): the level the
/// process comes back to between checks, so that a sample that caught a
/// check in flight (its socket, its helper thread) does not decide, while
/// a leak, which raises that level, does: (the reference window's start
/// time, its lowest value, the lowest value of the last window).
pub fn drift(t: &[f64], v: &[f64]) -> Option<(f64, f64, f64)> {
    let end = *t.last()?;
    let at = if end >= 90.0 { 60.0 } else { end / 3.0 };
    let i = t.iter().position(|x| *x >= at)?;
    let n = (v.len() / 10).clamp(1, 10);
    let low = |w: &[f64]| w.iter().copied().min_by(f64::total_cmp);
    let reference = low(v.get(i..(i + n).min(v.len()))?)?;
    let last = low(v.get(v.len().saturating_sub(n)..)?)?;
    Some((t[i], reference, last))
}

fn numbers(v: &serde_json::Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default()
}

/// The soak's section of the report.
pub fn report(res: &[RowResult]) -> String {
    let mut m = String::new();
    for r in res.iter().filter(|r| r.workload == WORKLOAD) {
        let _ = writeln!(m, "\n{BEGIN}\n## Soak of the director loop\n");
        let date = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
        let kernel = sh("uname", &["-r"]).unwrap_or_default();
        let _ = writeln!(
            m,
            "- date: {}; kernel: Linux {} (the QEMU test VM, TCG, 2 vCPUs, on a shared machine)\n",
            date.trim(),
            kernel.trim()
        );
        let Some(v) = &r.soak else {
            let _ = writeln!(m, "The soak failed: {}", r.error.as_deref().unwrap_or("?"));
            continue;
        };
        let _ = writeln!(
            m,
            "`lvskit::director` in a process of its own for {} s, its desired state changed once a second ({} changes: services and real servers added and removed, weights changed), the real servers' service stopped and started in turn ({} flaps), and HTTP requests to the VIP all along ({} answered, {} failed while a stopped server was still being detected). RSS, open descriptors and threads sampled once a second, half-way between two changes (figures `bench-figures/soak-*.svg`; the process runs with transparent huge pages off, so that RSS moves by pages, not by 2 MiB blocks); each value below is the lowest of a window of a tenth of the soak (at most ten samples): the level the process comes back to between checks, which a leak raises and a check in flight at the sample does not. Target: RSS and descriptors end within 5% of where they were after the first minute.\n",
            v["seconds"], v["changes"], v["flaps"], v["traffic"]["ok"], v["traffic"]["failed"]
        );
        let _ = writeln!(m, "| series | after the first minute (a soak under 90 s: its first third), lowest of a window | at the end, lowest of the last window | change | target |\n|---|---|---|---|---|");
        let t = numbers(v, "t_s");
        for (key, name, target) in [
            ("rss_kib", "RSS (KiB)", true),
            ("fds", "open descriptors", true),
            ("threads", "threads", false),
        ] {
            if let Some((at, a, b)) = drift(&t, &numbers(v, key)) {
                let pct = if a > 0.0 { 100.0 * (b - a) / a } else { 0.0 };
                let verdict = match target {
                    true if pct.abs() <= 5.0 => "met (within 5%)",
                    true if pct < 0.0 => "no growth (ended lower)",
                    true => "MISSED (grew)",
                    false => "-",
                };
                let _ = writeln!(
                    m,
                    "| {name} | {a:.0} (at {at:.0} s) | {b:.0} | {pct:+.1}% | {verdict} |"
                );
            }
        }
        let counts = v["counts"].as_object().map(|c| {
            c.iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let _ = writeln!(
            m,
            "\nWhat the loop reported: {}.",
            counts.unwrap_or_default()
        );
        let _ = writeln!(
            m,
            "\nEnd checks (after the churn and the flapping): the kernel's table equals the effective desired state (given health, no drain left), and equals the initial table with every operation the loop reported applied (no event lost); the health it reported is the director's: {}.",
            match &r.error {
                None => "**passed**".to_string(),
                Some(e) => format!("**FAILED**: {e}"),
            }
        );
        for (f, what) in [
            ("rss", "RSS"),
            ("fds", "open descriptors"),
            ("threads", "threads"),
        ] {
            let _ = writeln!(m, "\n![soak: {what}](bench-figures/soak-{f}.svg)");
        }
        let _ = writeln!(m, "\n{END}");
    }
    m
}
