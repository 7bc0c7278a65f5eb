//! LVS with real traffic, inside network namespaces of one machine.
//!
//! `two-dc-demo [MODE]`, MODE one of:
//!
//! - `two-dc` (default): two data centres, a director in each (ipvslb11,
//!   ipvslb21), a real server in each (rproxy1, rproxy2) reached over IPIP
//!   tunnels; a client's requests to the VIP, which server answered each, the
//!   director's table with per-server counters; then the VIP is routed to the
//!   other data centre's director and traffic carries on;
//! - `nat`: LVS/NAT, the director is the real servers' gateway;
//! - `dr`: LVS/DR on one segment, weighted round robin 3:1;
//! - `health`: a `Director`'s TCP checks inhibit a crashed server and restore it;
//! - `failover`: a long-lived connection survives the move of the VIP from
//!   the master director to the backup, thanks to connection sync;
//! - `all`: every one of them in turn.
//!
//! Needs root and a kernel with IPVS: run it in the test VM with `scripts/demo`.
//! It sends no packet outside the namespaces it creates, and removes them.

use std::process::ExitCode;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use ipvs_examples::directing;
use ipvs_examples::lab::Result;
use ipvs_examples::scenario::{tally, Mode, Scenario};
use lvskit::director::{DestinationId, Director, Event, HealthState, OnFailure};
use lvskit::Scheduler;

const PREFIX: &str = "lvs-";

/// How often the directors check each real server (also the check's timeout).
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The director's table once the kernel has published its counters: it
/// folds its per-CPU counters into the ones it reports every 2 s.
fn table(s: &Scenario, director: usize) -> Result<String> {
    std::thread::sleep(Duration::from_millis(2200));
    s.table(director)
}

fn title(t: &str) {
    println!("\n=== {t} ===\n");
}

fn show_requests(s: &Scenario, n: usize, note: impl Fn(&str) -> &'static str) -> Result<()> {
    let mut answers = Vec::new();
    for i in 1..=n {
        match s.request() {
            Ok(who) => {
                println!("  request {i:>2}: answered by {who}{}", note(&who));
                answers.push(who);
            }
            Err(e) => println!("  request {i:>2}: FAILED: {e}"),
        }
    }
    let counts: Vec<String> = tally(&answers)
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("  => {}\n", counts.join(", "));
    Ok(())
}

/// One line for an event of director `who`, for those worth showing.
fn describe(s: &Scenario, who: &str, e: &Event) -> Option<String> {
    let name = |id: &DestinationId| s.server_name(id.addr);
    let text = match e {
        Event::Health { id, state, reason } => format!(
            "health check: {} is {state}{}",
            name(id),
            reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        Event::Planned { operations } => {
            let ops: Vec<String> = operations.iter().map(|o| format!("`{o}`")).collect();
            format!("planned: {}", ops.join(", "))
        }
        Event::Applied { done, failed } if failed.is_empty() => {
            format!("applied {done} operation(s) in one batch")
        }
        Event::Applied { failed, .. } => format!("FAILED to apply: {failed:?}"),
        Event::Failed { error, .. } => format!("reconcile failed: {error}"),
        _ => return None,
    };
    Some(format!("  [{who}] {text}"))
}

/// Prints the events `rx` holds now.
fn show_events(s: &Scenario, who: &str, rx: &Receiver<Event>) {
    for e in rx.try_iter() {
        if let Some(line) = describe(s, who, &e) {
            println!("{line}");
        }
    }
}

/// Starts a director (lvskit::director) on each of the scenario's
/// directors, checking every real server over TCP once a second.
fn start_directors(
    s: &Scenario,
    on_failure: OnFailure,
) -> Result<Vec<(Director, Receiver<Event>)>> {
    let mut out = Vec::new();
    for i in 0..s.directors.len() {
        let check = directing::tcp_check(s, i, CHECK_INTERVAL)?;
        let desired = directing::desired(s, i, check, on_failure)?;
        out.push(directing::start(s, i, desired, Duration::from_secs(1))?);
    }
    Ok(out)
}

/// Stops `server`'s service, shows the directors taking it out and the
/// traffic going elsewhere, starts it again and shows it restored.
fn fail_and_recover(
    s: &mut Scenario,
    directors: &[(Director, Receiver<Event>)],
    server: &str,
    rounds: usize,
) -> Result<()> {
    let dest = s.dest(server)?;
    let id = directing::id_of(s, &dest);
    let bound = CHECK_INTERVAL * 6;
    println!("  -- {server}'s service stops --");
    s.server(server)?.stop();
    for (i, (_, rx)) in directors.iter().enumerate() {
        let who = s.directors[i].name.clone();
        let shown = |e: &Event| {
            if let Some(l) = describe(s, &who, e) {
                println!("{l}");
            }
        };
        if !directing::wait_health(rx, &id, HealthState::Down, bound, shown) {
            println!("  [{who}] did NOT see {server} fail in time");
        }
        directing::wait_until(bound, || {
            Ok(directing::kernel_weight(s, i, &dest)?.map_or(true, |w| w == 0))
        })?;
        show_events(s, &who, rx);
    }
    println!("\n  {rounds} requests while {server} is down:");
    show_requests(s, rounds, |_| "")?;
    println!("  -- {server}'s service is back --");
    s.server(server)?.start()?;
    for (i, (_, rx)) in directors.iter().enumerate() {
        let who = s.directors[i].name.clone();
        let shown = |e: &Event| {
            if let Some(l) = describe(s, &who, e) {
                println!("{l}");
            }
        };
        if !directing::wait_health(rx, &id, HealthState::Up, bound, shown) {
            println!("  [{who}] did NOT see {server} come back in time");
        }
        directing::wait_until(bound, || {
            Ok(directing::kernel_weight(s, i, &dest)? == Some(dest.weight))
        })?;
        show_events(s, &who, rx);
    }
    println!("\n  {rounds} requests after {server} came back:");
    show_requests(s, rounds, |_| "")
}

fn two_dc() -> Result<()> {
    title("Two data centres, LVS/TUN, each director run by lvskit::director");
    println!(
        "client 10.0.0.10 -- core router --+-- DC1 10.1.0.0/24: director ipvslb11 (.11), real server rproxy1 (.21)
                                  +-- DC2 10.2.0.0/24: director ipvslb21 (.11), real server rproxy2 (.21)

The VIP 10.100.0.100:80 is configured on both directors (through the library,
rr, both real servers as LVS/TUN destinations) and on each real server's tunl0.
The core routes the VIP to ipvslb11. A director wraps each client packet in
IPIP to the chosen real server, which unwraps it and answers the client
directly from the VIP; replies never cross the director.

Each director runs a lvskit::director::Director for the service: it checks
both real servers from its own namespace (TCP connect, every second) and keeps
the kernel's table equal to the desired state given their health (a failed
server is inhibited: weight 0), printing what it does.
"
    );
    let mut s = Scenario::two_dc(PREFIX, Scheduler::RoundRobin)?;
    let directors = start_directors(&s, OnFailure::Inhibit)?;
    let dc = |who: &str| match who {
        "rproxy1" => "  (DC1: same data centre as ipvslb11)",
        "rproxy2" => "  (DC2: tunnelled across the core)",
        _ => "",
    };
    println!("The client sends 10 HTTP requests to http://{}/ :", s.vip);
    show_requests(&s, 10, dc)?;
    print!("{}", table(&s, 0)?);

    println!("\nHealth-checked failover: rproxy1's web server stops, then starts again.\n");
    fail_and_recover(&mut s, &directors, "rproxy1", 6)?;

    println!(
        "\nDC1's director is taken out of service: the core now routes the VIP to
ipvslb21 in DC2, which has the same service and reaches both real servers.\n"
    );
    s.route_vip_to(1)?;
    show_requests(&s, 6, |who| match who {
        "rproxy1" => "  (DC1: tunnelled across the core from ipvslb21)",
        "rproxy2" => "  (DC2: same data centre as ipvslb21)",
        _ => "",
    })?;
    print!("{}", table(&s, 1)?);
    println!("\n(ipvslb11 saw none of those:)\n{}", table(&s, 0)?);
    for (d, _) in directors {
        d.stop();
    }
    Ok(())
}

fn one(mode: Mode, sched: Scheduler, weights: &[u32], text: &str) -> Result<()> {
    title(text);
    let s = Scenario::one_director(PREFIX, mode, sched.clone(), weights)?;
    match mode {
        Mode::Nat => println!(
            "client 10.0.0.10 -- director (VIP 10.0.0.100 on eth0; 10.10.0.1 on eth1) -- rproxy1 10.10.0.11, rproxy2 10.10.0.12

The director rewrites the destination to a real server and, being their
gateway, rewrites the replies' source back to the VIP.
"
        ),
        _ => println!(
            "client 10.0.0.10, director 10.0.0.1 (VIP 10.0.0.100 on eth0), rproxy1 10.0.0.11, rproxy2 10.0.0.12: one segment

Each real server has the VIP on lo but never answers ARP for it; the director
only rewrites the destination MAC, and the server answers the client directly.
"
        ),
    }
    println!(
        "Scheduler {sched}, weights {:?}; 12 requests:",
        s.dests.iter().map(|d| d.weight).collect::<Vec<_>>()
    );
    show_requests(&s, 12, |_| "")?;
    print!("{}", table(&s, 0)?);
    Ok(())
}

fn health() -> Result<()> {
    title("Health checking with lvskit::director: inhibit a failed real server, restore it");
    println!(
        "LVS/DR, rr over rproxy1 and rproxy2. A lvskit::director::Director checks each
real server's port 80 from the director's namespace every second; a server
that refuses is inhibited (weight 0: no new connections, established ones go
on) and gets its weight back once it answers again.
"
    );
    let mut s = Scenario::one_director(PREFIX, Mode::DirectRoute, Scheduler::RoundRobin, &[1, 1])?;
    let directors = start_directors(&s, OnFailure::Inhibit)?;
    println!("  3 requests, all healthy:");
    show_requests(&s, 3, |_| "")?;
    fail_and_recover(&mut s, &directors, "rproxy2", 4)?;
    print!("{}", table(&s, 0)?);
    for (d, _) in directors {
        d.stop();
    }
    Ok(())
}

fn failover() -> Result<()> {
    title("Director failover without losing connections");
    println!(
        "Two directors on one segment with LVS/DR real servers rproxy1 and rproxy2:
ipvslb11 holds the VIP 10.0.0.100 and runs the master sync daemon, ipvslb12
runs the backup daemon (both started through the library's start_daemon);
the master multicasts its connections to the backup.
"
    );
    let s = Scenario::failover(PREFIX)?;
    let mut session = s.session()?;
    let first = session.ask()?;
    let from = session.local_addr()?;
    println!("A long-lived connection from {from} is served by {first}.");
    match s.wait_for_conn(1, from, Duration::from_secs(10))? {
        Some(l) => println!("The backup ipvslb12 already knows it (/proc/net/ip_vs_conn):\n  {l}"),
        None => println!("The backup ipvslb12 has NOT received it (yet)."),
    }
    println!("\nipvslb11 fails: its link goes down and ipvslb12 takes the VIP.");
    s.move_vip_to_backup()?;
    match session.ask() {
        Ok(who) => println!("The same connection asks again: answered by {who}, through ipvslb12."),
        Err(e) => println!("The same connection broke: {e}"),
    }
    println!("New connections are scheduled by ipvslb12:");
    show_requests(&s, 4, |_| "")?;
    print!("{}", table(&s, 1)?);
    Ok(())
}

fn run(mode: &str) -> Result<()> {
    match mode {
        "two-dc" => two_dc(),
        "nat" => one(Mode::Nat, Scheduler::RoundRobin, &[1, 1], "LVS/NAT"),
        "dr" => one(
            Mode::DirectRoute,
            Scheduler::WeightedRoundRobin,
            &[3, 1],
            "LVS/DR with weighted round robin",
        ),
        "health" => health(),
        "failover" => failover(),
        "all" => {
            for m in ["two-dc", "nat", "dr", "health", "failover"] {
                run(m)?;
            }
            Ok(())
        }
        other => Err(format!(
            "unknown mode {other:?}: two-dc (default), nat, dr, health, failover or all"
        )
        .into()),
    }
}

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "two-dc".into());
    match run(&mode) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("two-dc-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
