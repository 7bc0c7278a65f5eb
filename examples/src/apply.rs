//! `ipvs-apply`: converge the IPVS table to a desired state given as JSON.
//!
//! ```text
//! ipvs-apply [--netns NAME] [--dry-run] [--sequential] [--drain] TABLE.json
//! ```
//!
//! The JSON is the serde form of `lvskit::table::Table`. `--dry-run` prints the
//! plan in ipvsadm words and changes nothing; `--sequential` sends one
//! acknowledged request at a time (stop at the first error) instead of one
//! pipelined batch; `--drain` drains real servers (weight 0) before removing them.
//! Exit status: 0 when the table converged, 1 when an operation failed, 2 for usage errors.

use std::process::ExitCode;

use lvskit::table::{diff, DiffOptions, Table};
use lvskit::{BatchMode, Ipvs, Namespace, OpOutcome};

struct Args {
    netns: Option<String>,
    dry_run: bool,
    sequential: bool,
    drain: bool,
    file: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        netns: None,
        dry_run: false,
        sequential: false,
        drain: false,
        file: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--netns" => a.netns = Some(it.next().ok_or("--netns needs a name")?),
            "--dry-run" => a.dry_run = true,
            "--sequential" => a.sequential = true,
            "--drain" => a.drain = true,
            f if !f.starts_with('-') && a.file.is_empty() => a.file = f.to_string(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.file.is_empty() {
        return Err(
            "usage: ipvs-apply [--netns NAME] [--dry-run] [--sequential] [--drain] TABLE.json"
                .into(),
        );
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ipvs-apply: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ipvs-apply: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<bool, Box<dyn std::error::Error>> {
    let text =
        std::fs::read_to_string(&args.file).map_err(|e| format!("reading {}: {e}", args.file))?;
    let desired: Table = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", args.file))?;
    let ns = args.netns.clone().map(Namespace::Named).unwrap_or_default();
    let ipvs = Ipvs::open(ns)?;
    let current = Table::read(&ipvs)?;
    let opts = DiffOptions {
        drain_before_remove: args.drain,
        ..Default::default()
    };
    let plan = diff(&current, &desired, &opts);
    if args.dry_run {
        print!("{plan}");
        return Ok(true);
    }
    let mode = if args.sequential {
        BatchMode::StopOnError
    } else {
        BatchMode::Continue
    };
    let report = ipvs.execute(&plan.operations, mode);
    for (i, outcome) in report.failures() {
        match outcome {
            OpOutcome::NotAttempted => eprintln!("not attempted: {}", plan.operations[i]),
            other => eprintln!(
                "failed: {}: {}",
                plan.operations[i],
                other.error().map(|e| e.to_string()).unwrap_or_default()
            ),
        }
    }
    println!("{} of {} operations applied", report.done(), plan.len());
    Ok(report.is_ok())
}
