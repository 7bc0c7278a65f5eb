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
//! - `health`: a TCP health checker drains a crashed server and restores it;
//! - `failover`: a long-lived connection survives the move of the VIP from
//!   the master director to the backup, thanks to connection sync;
//! - `all`: every one of them in turn.
//!
//! Needs root and a kernel with IPVS: run it in the test VM with `scripts/demo`.
//! It sends no packet outside the namespaces it creates, and removes them.

use std::process::ExitCode;
use std::time::Duration;

use ipvs_examples::health::{Event, HealthChecker, Policy};
use ipvs_examples::lab::Result;
use ipvs_examples::scenario::{tally, Mode, Scenario};
use lvskit::Scheduler;

const PREFIX: &str = "lvs-";

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

fn two_dc() -> Result<()> {
    title("Two data centres, LVS/TUN");
    println!(
        "client 10.0.0.10 -- core router --+-- DC1 10.1.0.0/24: director ipvslb11 (.11), real server rproxy1 (.21)
                                  +-- DC2 10.2.0.0/24: director ipvslb21 (.11), real server rproxy2 (.21)

The VIP 10.100.0.100:80 is configured on both directors (through the library,
rr, both real servers as LVS/TUN destinations) and on each real server's tunl0.
The core routes the VIP to ipvslb11. A director wraps each client packet in
IPIP to the chosen real server, which unwraps it and answers the client
directly from the VIP; replies never cross the director.
"
    );
    let s = Scenario::two_dc(PREFIX, Scheduler::RoundRobin)?;
    let dc = |who: &str| match who {
        "rproxy1" => "  (DC1: same data centre as ipvslb11)",
        "rproxy2" => "  (DC2: tunnelled across the core)",
        _ => "",
    };
    println!("The client sends 10 HTTP requests to http://{}/ :", s.vip);
    show_requests(&s, 10, dc)?;
    print!("{}", table(&s, 0)?);

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
    title("Health checking: drain a failed real server, restore it on recovery");
    println!(
        "LVS/DR, rr over rproxy1 and rproxy2. Before each round of 3 requests the
health checker connects to each real server's port 80 from the director's
namespace; a server that refuses is drained (weight 0, through the library's
update_destination) and gets its weight back once it answers again.
"
    );
    let mut s = Scenario::one_director(PREFIX, Mode::DirectRoute, Scheduler::RoundRobin, &[1, 1])?;
    let mut checker = HealthChecker::new(s.directors[0].ns.name(), s.key, &s.dests, Policy::Drain)?
        .with_timeout(Duration::from_secs(1));
    for round in 1..=7 {
        if round == 3 {
            println!("  -- rproxy2's server crashes --");
            s.server("rproxy2")?.stop();
        }
        if round == 5 {
            println!("  -- rproxy2's server is back --");
            s.server("rproxy2")?.start()?;
        }
        for e in checker.check_once()? {
            match e {
                Event::Down(d) => println!(
                    "  health check: {} ({d}) refuses connections -> drained (weight 0)",
                    s.server_name(d.addr)
                ),
                Event::Up(d) => println!(
                    "  health check: {} ({d}) answers again -> weight {} restored",
                    s.server_name(d.addr),
                    d.weight
                ),
            }
        }
        println!("  round {round}:");
        show_requests(&s, 3, |_| "")?;
    }
    print!("{}", table(&s, 0)?);
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
