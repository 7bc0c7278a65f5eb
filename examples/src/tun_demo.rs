//! The smallest real example: in a fresh network namespace, create an LVS/TUN
//! virtual service with two real servers through the library and print the
//! table as the kernel reports it, next to what `ipvsadm -Ln` shows.
//!
//! Needs root and a kernel with IPVS: run it in the test VM with `scripts/demo`.

use std::process::{Command, ExitCode};

use lvskit::tunnel::{NewLink, Rtnl};
use lvskit::{Destination, Forward, Ipvs, Namespace, Scheduler, Service, ServiceKey, Tunnel};

const NS: &str = "ipvs-demo";

fn ip(args: &[&str]) -> Result<(), String> {
    let st = Command::new("ip")
        .args(args)
        .status()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("ip {} failed", args.join(" ")))
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    if std::path::Path::new("/run/netns").join(NS).exists() {
        ip(&["netns", "del", NS])?;
    }
    // the library has no call that creates a namespace: `ip` makes it
    ip(&["netns", "add", NS])?;
    let rtnl = Rtnl::open(Namespace::Named(NS.into()))?;
    rtnl.set_up("lo", true)?;
    // a link towards the real servers, so the kernel has a route to them
    rtnl.add_link(&NewLink::dummy("dc0").with_up(true))?;
    rtnl.add_address("dc0", "192.168.10.1/24".parse()?)?;

    let ipvs = Ipvs::open(Namespace::Named(NS.into()))?;
    let info = ipvs.info()?;
    println!("{info}");
    let key = ServiceKey::tcp([10, 0, 0, 100], 80);
    ipvs.add_service(&Service::new(key).with_scheduler(Scheduler::RoundRobin))?;
    for rs in [[192, 168, 10, 11], [192, 168, 10, 12]] {
        let dest = Destination::new(rs, 80).with_forward(Forward::Tunnel(Tunnel::Ipip));
        ipvs.add_destination(&key, &dest)?;
        println!("added real server {dest} to {key} (tunnel, ipip)");
    }

    println!("\nThe table, read back through the library:");
    println!("Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn");
    for s in ipvs.services()? {
        println!("{}", s.service);
        for d in ipvs.destinations(&s.service.key)? {
            println!("{d}");
        }
    }
    println!("\nThe same table as ipvsadm -Ln sees it:");
    let out = Command::new("ip")
        .args(["netns", "exec", NS, "ipvsadm", "-Ln"])
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    ipvs.flush()?;
    drop(ipvs);
    ip(&["netns", "del", NS])?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tun-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
