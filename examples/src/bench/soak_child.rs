//! The soak's child process (`ipvs-bench drive soak director NS VIP
//! RIP,RIP,RIP SECONDS SEED`): runs the director, churns its desired state
//! once a second, samples its own RSS, descriptors and threads once a
//! second, and checks the kernel's table at the end. Prints `READY` once the
//! director runs, and `SOAK {json}` at the end.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::collections::HashMap;

use lvskit::director::{
    effective, DestinationId, Director, DirectorOptions, Event, Health, HealthState,
};
use lvskit::table::Table;
use lvskit::{Ipvs, Namespace};

use super::{apart, desired, Churn, Lab, Ledger, Spec, DRAIN_DEADLINE, SETTLE};

/// Once-a-second samples of this process.
#[derive(Default)]
struct Series {
    t_s: Vec<f64>,
    rss_kib: Vec<u64>,
    fds: Vec<u64>,
    threads: Vec<u64>,
    /// Real servers checked at the time (one check thread each).
    checks: Vec<u64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn status_field(text: &str, field: &str) -> Option<u64> {
    let v = text
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    v.trim().trim_end_matches("kB").trim().parse().ok()
}

impl Series {
    fn with_capacity(n: usize) -> Self {
        Series {
            t_s: Vec::with_capacity(n),
            rss_kib: Vec::with_capacity(n),
            fds: Vec::with_capacity(n),
            threads: Vec::with_capacity(n),
            checks: Vec::with_capacity(n),
        }
    }

    /// RSS and threads from /proc/self/status, descriptors from /proc/self/fd.
    fn sample(&mut self, t0: Instant, spec: &Spec) -> Result<(), String> {
        let status =
            std::fs::read_to_string("/proc/self/status").map_err(|e| format!("status: {e}"))?;
        let field = |f: &str| status_field(&status, f).ok_or(format!("status has no {f}"));
        let (rss, threads) = (field("VmRSS")?, field("Threads")?);
        let dir = std::fs::read_dir("/proc/self/fd").map_err(|e| format!("fd: {e}"))?;
        // the directory being read is a descriptor of its own
        let fds = dir.count().saturating_sub(1) as u64;
        self.t_s.push(t0.elapsed().as_secs_f64());
        self.rss_kib.push(rss);
        self.fds.push(fds);
        self.threads.push(threads);
        self.checks
            .push(spec.values().map(|d| d.len() as u64).sum());
        Ok(())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "t_s": self.t_s, "rss_kib": self.rss_kib, "fds": self.fds, "threads": self.threads,
            "checks": self.checks,
        })
    }
}

fn parse(a: &[String]) -> Result<(Lab, u64, u64), String> {
    let arg = |i: usize| {
        a.get(i)
            .ok_or("usage: drive soak director NS VIP RIPS SECONDS SEED")
    };
    let ip = |s: &str| s.parse().map_err(|e| format!("bad address {s}: {e}"));
    let reals = arg(2)?.split(',').map(ip).collect::<Result<_, _>>()?;
    let lab = Lab {
        namespace: arg(0)?.clone(),
        vip: ip(arg(1)?)?,
        reals,
    };
    let num = |i: usize| -> Result<u64, String> {
        arg(i)?
            .parse()
            .map_err(|e| format!("argument {}: {e}", i + 1))
    };
    Ok((lab, num(3)?, num(4)?))
}

/// The child's entry point (`args` after `drive soak director`).
///
/// # Errors
/// The director could not start or run, or a sample could not be taken;
/// failed checks are reported in the JSON, not as an error.
pub fn drive(args: &[String]) -> Result<(), String> {
    let (lab, secs, seed) = parse(args)?;
    // RSS by pages: with transparent huge pages a heap grows and shrinks by
    // 2 MiB blocks, larger than the 5% the soak is judged on
    // SAFETY: prctl(2) with integer arguments only, on this process.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    let ipvs = Ipvs::open(Namespace::Named(lab.namespace.clone())).map_err(|e| e.to_string())?;
    let start = Table::read(&ipvs).map_err(|e| e.to_string())?;
    let ledger = Arc::new(Mutex::new(Ledger::new(start)));
    let l2 = ledger.clone();
    let opts = DirectorOptions {
        namespace: Namespace::Named(lab.namespace.clone()),
        period: Duration::from_secs(2),
        drain_deadline: DRAIN_DEADLINE,
        on_event: Some(Arc::new(move |e: &Event| {
            lock(&l2).on_event(e);
        })),
        ..DirectorOptions::default()
    };
    let mut spec = Churn::initial();
    let director = Director::start(desired(&lab, &spec), opts).map_err(|e| e.to_string())?;
    println!("READY");
    let _ = std::io::stdout().flush();
    let t0 = Instant::now();
    let mut series = Series::with_capacity((secs + SETTLE.as_secs() + 5) as usize);
    let changes = churn(
        &director,
        &ledger,
        &lab,
        &mut spec,
        secs,
        seed,
        t0,
        &mut series,
    )?;
    let mut errors = settle(&director, &ipvs, &lab, &spec, t0, &mut series)?;
    let health = director.health();
    director.stop();
    errors.extend(final_checks(&ipvs, &lab, &spec, &health, &ledger));
    let ledger = lock(&ledger);
    let mut out = series.json();
    out["seconds"] = secs.into();
    out["changes"] = changes.into();
    out["counts"] = serde_json::json!(ledger.counts);
    out["errors"] = errors.into();
    out["services_at_end"] = ledger.table.services.len().into();
    println!("SOAK {out}");
    Ok(())
}

/// The health states alone (not the check counts).
fn states(h: &HashMap<DestinationId, Health>) -> HashMap<DestinationId, HealthState> {
    h.iter().map(|(id, h)| (*id, h.state)).collect()
}

/// Sleeps until `t0` + `secs` s + `ms` ms.
fn sleep_until(t0: Instant, secs: u64, ms: u64) {
    let at = t0 + Duration::from_secs(secs) + Duration::from_millis(ms);
    std::thread::sleep(at.saturating_duration_since(Instant::now()));
}

/// One change a second for `secs` seconds, a sample before each.
#[allow(clippy::too_many_arguments)]
fn churn(
    director: &Director,
    ledger: &Mutex<Ledger>,
    lab: &Lab,
    spec: &mut Spec,
    secs: u64,
    seed: u64,
    t0: Instant,
    series: &mut Series,
) -> Result<u64, String> {
    let mut gen = Churn::new(seed);
    for k in 0..secs {
        sleep_until(t0, k, 0);
        let what = gen.step(spec);
        if std::env::var_os("SOAK_TRACE").is_some() {
            eprintln!("soak {k:>4}s: {what}");
        }
        let next = desired(lab, spec);
        director
            .set_desired(next.clone())
            .map_err(|e| format!("second {k}: {what}: {e}"))?;
        lock(ledger).forget_health_except(&next);
        // half-way between two changes, when the checks that started with
        // the change are done: the sample shows what stays, not what is in flight
        sleep_until(t0, k, 500);
        series.sample(t0, spec)?;
    }
    Ok(secs)
}

/// With the churn over, waits (sampling on, once a second) until the kernel holds the
/// effective table with no drain left, at most [`SETTLE`]; the mismatch
/// that remains, if any.
fn settle(
    director: &Director,
    ipvs: &Ipvs,
    lab: &Lab,
    spec: &Spec,
    t0: Instant,
    series: &mut Series,
) -> Result<Vec<String>, String> {
    let want = desired(lab, spec);
    let from = t0.elapsed().as_secs() + 1;
    let mut last = String::new();
    let mut passes = 0;
    for k in from..from + SETTLE.as_secs() {
        sleep_until(t0, k, 0);
        director.reconcile_now();
        sleep_until(t0, k, 500);
        series.sample(t0, spec)?;
        let health = director.health();
        let eff = effective(&want, &|id| health.get(id).map(|h| h.state));
        let kernel = Table::read(ipvs).map_err(|e| e.to_string())?;
        let draining = director.draining();
        match (apart(&kernel, &eff.table), draining.is_empty()) {
            // twice in a row, with the same health: settled
            (None, true) if states(&director.health()) == states(&health) => {
                passes += 1;
                if passes == 2 {
                    return Ok(Vec::new());
                }
            }
            (gap, _) => {
                passes = 0;
                last = format!("after the churn the kernel is {gap:?} from the effective table; draining {draining:?}");
            }
        }
    }
    Ok(vec![last])
}

/// `ipvsadm -Sn` in the director's namespace, the outside referee: the
/// same number of services and real servers, and the same weights in all.
fn referee(lab: &Lab, kernel: &Table) -> Result<(), String> {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.namespace, "ipvsadm", "-Sn"])
        .output()
        .map_err(|e| format!("ipvsadm -Sn: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("-a ")).collect();
    let weight = |l: &&str| -> u64 {
        let w = l.split_whitespace().skip_while(|x| *x != "-w").nth(1);
        w.and_then(|w| w.parse().ok()).unwrap_or(0)
    };
    let seen = (
        text.lines().filter(|l| l.starts_with("-A ")).count(),
        rows.len(),
        rows.iter().map(weight).sum::<u64>(),
    );
    let dests = kernel.services.iter().flat_map(|s| s.destinations.iter());
    let want = (
        kernel.services.len(),
        dests.clone().count(),
        dests.map(|d| u64::from(d.weight)).sum::<u64>(),
    );
    if !out.status.success() || seen != want {
        return Err(format!(
            "ipvsadm -Sn shows (services, real servers, weights) {seen:?}, the library read {want:?}"
        ));
    }
    Ok(())
}

/// After the director stopped: the kernel equals the effective table for
/// the last health, and the table and health the events told.
fn final_checks(
    ipvs: &Ipvs,
    lab: &Lab,
    spec: &Spec,
    health: &HashMap<DestinationId, Health>,
    ledger: &Mutex<Ledger>,
) -> Vec<String> {
    let mut errors = Vec::new();
    let kernel = match Table::read(ipvs) {
        Ok(t) => t,
        Err(e) => return vec![format!("reading the table at the end: {e}")],
    };
    if let Err(e) = referee(lab, &kernel) {
        errors.push(e);
    }
    let eff = effective(&desired(lab, spec), &|id| health.get(id).map(|h| h.state));
    if let Some(gap) = apart(&kernel, &eff.table) {
        errors.push(format!("kernel vs effective desired state: {gap}"));
    }
    let ledger = lock(ledger);
    errors.extend(ledger.errors.iter().cloned());
    if let Some(gap) = apart(&kernel, &ledger.table) {
        errors.push(format!(
            "kernel vs the table the events tell (an event lost): {gap}"
        ));
    }
    for (id, h) in health {
        let told = ledger.health.get(id).copied();
        if told.unwrap_or(HealthState::Up) != h.state {
            errors.push(format!("{id} is {} but the events told {told:?}", h.state));
        }
    }
    errors
}
