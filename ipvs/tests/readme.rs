//! The Rust blocks of README.md (and of the crate's own ipvs/README.md),
//! compiled and run.
//!
//! Each block is the body of a `readme_block_N` function below, verbatim
//! (lines hidden from readers with `# ` included). On the host,
//! `the_readme_blocks_are_the_functions_here` checks that the README's blocks
//! and these bodies are the same text, so the front page cannot drift from
//! what compiles here. The blocks need a kernel with IPVS: the `runs_*`
//! tests are ignored on the host and run in the test VM with `--ignored`
//! (scripts/test), each in a fresh network namespace of its own, with
//! `ipvsadm` and `ip` as referees.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test; block 3 unwraps a literal

use std::process::Command;

const README: &str = include_str!("../../README.md");
const CRATE_README: &str = include_str!("../README.md");
const THIS_FILE: &str = include_str!("readme.rs");

// ---------------------------------------------------------------- the blocks

#[rustfmt::skip]
fn readme_block_1() -> Result<(), lvskit::Error> {
    use lvskit::{Destination, Forward, Ipvs, Scheduler, Service, ServiceKey, Tunnel};

    let ipvs = Ipvs::new()?;
    let key = ServiceKey::tcp([10, 0, 0, 100], 80);
    ipvs.add_service(&Service::new(key).with_scheduler(Scheduler::RoundRobin))?;
    ipvs.add_destination(&key, &Destination::new([192, 168, 10, 11], 80)
        .with_forward(Forward::Tunnel(Tunnel::Ipip)))?;
    Ok::<(), lvskit::Error>(())
}

#[rustfmt::skip]
fn readme_block_2() -> Result<(), Box<dyn std::error::Error>> {
    use lvskit::table::{DiffOptions, Table};
    use lvskit::{BatchMode, Destination, Forward, Ipvs, Namespace, Operation, Scheduler, Service, ServiceKey};

    // a handle on this network namespace, or on another one without switching threads
    let ipvs = Ipvs::open(Namespace::Named("director".into()))?;

    // one typed method per kernel command
    let key = ServiceKey::tcp([10, 0, 0, 100], 80);
    ipvs.add_service(&Service::new(key).with_scheduler(Scheduler::WeightedRoundRobin).with_persistence(300))?;
    ipvs.add_destination(&key, &Destination::new([192, 168, 1, 2], 80).with_forward(Forward::Masq).with_weight(3))?;

    // many operations pipelined in a few system calls, an outcome per operation
    let report = ipvs.execute(&[Operation::Zero(None), Operation::Flush], BatchMode::Continue);
    assert!(report.is_ok());

    // desired state: read, diff, apply; the plan prints in ipvsadm's words
    let desired: Table = serde_json::from_str(r#"{"services": []}"#)?;
    let (plan, report) = ipvs.converge(&desired, &DiffOptions::default())?;
    print!("{plan}");
    assert!(report.is_ok());
    Ok::<(), Box<dyn std::error::Error>>(())
}

#[rustfmt::skip]
fn readme_block_3() -> Result<(), lvskit::Error> {
    use lvskit::Namespace;
    use lvskit::tunnel::{realserver::{self, RealServer}, FouPort};

    let rs = RealServer::tun(["10.0.0.100".parse().unwrap()]).with_fou(FouPort::gue(6080));
    let done = realserver::prepare(&Namespace::Current, &rs)?;   // tunl0 up, VIP, sysctls, fou port
    // ... serve ...
    realserver::teardown(&done)?;                                // back to exactly what was there
    Ok::<(), lvskit::Error>(())
}

// ---------------------------------------------------------------- the text check

/// The ```rust blocks of a markdown text, `# ` (hidden lines) removed.
fn rust_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.starts_with("```rust") => current = Some(String::new()),
            Some(b) if line.starts_with("```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            Some(b) => {
                let shown = line.strip_prefix("# ").unwrap_or(line);
                b.push_str(if line == "#" { "" } else { shown });
                b.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unterminated ```rust block");
    blocks
}

/// The body of `fn NAME` in this file, dedented by four spaces.
fn body_of(name: &str) -> String {
    let start = THIS_FILE
        .find(&format!("fn {name}()"))
        .unwrap_or_else(|| panic!("no fn {name} in readme.rs"));
    let mut body = String::new();
    for line in THIS_FILE[start..].lines().skip(1) {
        if line == "}" {
            return body;
        }
        body.push_str(line.strip_prefix("    ").unwrap_or(line));
        body.push('\n');
    }
    panic!("fn {name} has no closing brace at column 0");
}

#[test]
fn the_readme_blocks_are_the_functions_here() {
    let blocks = rust_blocks(README);
    assert_eq!(
        blocks.len(),
        3,
        "README.md's Rust blocks: add a readme_block_N for a new one"
    );
    for (i, block) in blocks.iter().enumerate() {
        let name = format!("readme_block_{}", i + 1);
        assert_eq!(
            block,
            &body_of(&name),
            "README.md's Rust block {} differs from {name}",
            i + 1
        );
    }
    let own = rust_blocks(CRATE_README);
    assert_eq!(own.len(), 1, "ipvs/README.md's Rust blocks");
    assert_eq!(
        own[0],
        body_of("readme_block_1"),
        "ipvs/README.md's block differs from block 1"
    );
}

#[test]
fn the_text_check_sees_a_changed_block() {
    let changed = README.replacen("Scheduler::RoundRobin", "Scheduler::WeightedRoundRobin", 1);
    assert_ne!(rust_blocks(&changed)[0], body_of("readme_block_1"));
}

// ---------------------------------------------------------------- running them

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A listing read until two reads in a row agree (at most ten times): a
/// dump can repeat an entry while other namespaces change their tables (see
/// ipvs/tests/kernel/support.rs, `settled`).
fn settled(read: impl Fn() -> String) -> String {
    let mut last = read();
    for _ in 0..10 {
        let next = read();
        if next == last {
            return next;
        }
        last = next;
    }
    panic!("a listing did not read the same twice in a row in ten tries; last:\n{last}");
}

/// Runs `f` on a thread of its own in a fresh network namespace (with `lo`
/// up); commands it starts run there too. The initial namespace is never
/// touched.
fn in_fresh_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare(2) of this thread's network namespace only.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
            run("ip", &["link", "set", "lo", "up"]);
            f()
        })
        .join()
        .expect("the test thread panicked")
    })
}

#[test]
#[ignore = "needs a kernel with IPVS: runs in the test VM (scripts/test) with --ignored"]
fn runs_block_1_the_first_service() {
    in_fresh_netns(|| {
        readme_block_1().expect("README block 1");
        let saved = settled(|| run("ipvsadm", &["-Sn"]));
        assert_eq!(
            saved,
            "-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 192.168.10.11:80 -i -w 1 --tun-type ipip\n"
        );
    });
}

#[test]
#[ignore = "needs a kernel with IPVS: runs in the test VM (scripts/test) with --ignored"]
fn runs_block_2_in_the_director_namespace() {
    in_fresh_netns(|| {
        // the block names its namespace "director": `ip netns add` makes a
        // new one by that name for it, removed afterwards
        run("ip", &["netns", "add", "director"]);
        // set up as a director is: its real servers' subnet is routable (the
        // kernel refuses a NAT destination it cannot route)
        for cmd in [
            "link set lo up",
            "link add rs0 type dummy",
            "addr add 192.168.1.1/24 dev rs0",
            "link set rs0 up",
        ] {
            let mut args = vec!["-n", "director"];
            args.extend(cmd.split(' '));
            run("ip", &args);
        }
        let outcome = readme_block_2().map_err(|e| e.to_string());
        let saved = settled(|| run("ip", &["netns", "exec", "director", "ipvsadm", "-Sn"]));
        run("ip", &["netns", "del", "director"]);
        outcome.expect("README block 2");
        // added, then flushed by the batch, then converged to the empty table
        assert_eq!(saved, "");
    });
}

#[test]
#[ignore = "needs a kernel with IPVS: runs in the test VM (scripts/test) with --ignored"]
fn runs_block_3_real_server_set_up_and_teardown() {
    in_fresh_netns(|| {
        let state = || {
            let addrs = run("ip", &["-o", "addr"]);
            let fou = run("ip", &["fou", "show"]);
            let sysctls = ["all/arp_ignore", "all/arp_announce", "all/rp_filter"]
                .map(|k| std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{k}")))
                .map(|r| r.expect("reading a sysctl"));
            (addrs, fou, sysctls)
        };
        let before = state();
        readme_block_3().expect("README block 3");
        let after = state();
        assert!(!after.0.contains("10.0.0.100"), "{}", after.0);
        assert_eq!(after.1, "");
        assert_eq!(before.2, after.2, "the sysctls are back");
    });
}
