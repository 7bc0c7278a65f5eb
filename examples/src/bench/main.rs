//! `ipvs-bench`: how IPVS control-plane libraries scale, side by side.
//!
//! ```text
//! ipvs-bench run [--runs N] [--smoke] [--no-strace] [--only WORKLOAD,...]
//!                [--moby PATH] [--python PYTHON] [--py-driver PATH]
//!                [--host-load TEXT] [--out FILE.md] [--json FILE.json]
//!                [--scale] [--scale-sizes SxD,...] [--soak-secs N]
//! ipvs-bench drive CONTENDER WORKLOAD ARGS...      (a child, see driver.rs)
//! ipvs-bench drive soak director NS VIP RIPS SECONDS SEED   (the soak's director, soak_child.rs)
//! ```
//!
//! `run` must be root on a kernel with IPVS (scripts/bench runs it in the
//! test VM). Each workload runs in a fresh network namespace; each contender
//! is a child process started with `ip netns exec`, timed N times, then once
//! more under `strace -c -f` to count netlink system calls. The harness only
//! prints figures and writes a markdown report: nothing here asserts a time.

mod aio;
mod driver;
mod raw;
mod run;

use std::time::Instant;

/// Set in a driver's environment for the extra run under `strace -c`.
pub const STRACE_ENV: &str = "IPVS_BENCH_STRACE";

/// A driver's own measurement of one workload.
#[derive(Default)]
pub struct Res {
    t0: Option<Instant>,
    cpu0: (u64, u64),
    flt0: u64,
    /// Wall time of the workload.
    pub wall_ns: u64,
    ops: usize,
    utime_ns: u64,
    stime_ns: u64,
    minflt: u64,
    extra: Vec<(String, u64)>,
}

/// User and system CPU time (ns) and minor page faults (first touches of
/// fresh memory) of this process so far, from one `getrusage`.
fn usage_now() -> (u64, u64, u64) {
    // SAFETY: getrusage fills the zeroed struct we pass.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    (ns(ru.ru_utime), ns(ru.ru_stime), ru.ru_minflt as u64)
}

impl Res {
    fn start(&mut self) {
        let (u, s, f) = usage_now();
        (self.cpu0, self.flt0) = ((u, s), f);
        self.t0 = Some(Instant::now());
    }
    fn elapsed_ns(&self) -> u64 {
        self.t0.map(|t| t.elapsed().as_nanos() as u64).unwrap_or(0)
    }
    fn stop(&mut self, ops: usize) {
        self.wall_ns = self.elapsed_ns();
        let (u, s, f) = usage_now();
        self.utime_ns = u.saturating_sub(self.cpu0.0);
        self.stime_ns = s.saturating_sub(self.cpu0.1);
        self.minflt = f.saturating_sub(self.flt0);
        self.ops = ops;
    }
    fn extra(&mut self, k: &str, v: u64) {
        self.extra.push((k.to_string(), v));
    }
    fn json(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("wall_ns".into(), self.wall_ns.into());
        m.insert("ops".into(), self.ops.into());
        m.insert("utime_ns".into(), self.utime_ns.into());
        m.insert("stime_ns".into(), self.stime_ns.into());
        m.insert("minflt".into(), self.minflt.into());
        for (k, v) in &self.extra {
            m.insert(k.clone(), (*v).into());
        }
        serde_json::Value::Object(m).to_string()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("drive") => driver::drive(&args[1..]),
        Some("run") => run::run(&args[1..]),
        _ => Err(
            "usage: ipvs-bench run [OPTIONS] | ipvs-bench drive CONTENDER WORKLOAD ARGS...".into(),
        ),
    };
    if let Err(e) = r {
        eprintln!("ipvs-bench: {e}");
        std::process::exit(1);
    }
}
