//! Prints the kernel's raw IPVS replies as hex, for golden test vectors.
//!
//! `capture services|dests <ipvsadm-style service: -t|-u ADDR:PORT | -f MARK>|daemons|config|info`
//! Run it inside a namespace holding the table to capture (`ip netns exec NS capture ...`).

use std::process::ExitCode;

use lvskit::raw::ipvs::cmd;
use lvskit::{Ipvs, ServiceKey};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let ipvs = Ipvs::new()?;
    let (command, dump, attrs) = match args.first().map(String::as_str) {
        Some("services") => (cmd::GET_SERVICE, true, vec![]),
        Some("dests") => {
            let key = match (args.get(1).map(String::as_str), args.get(2)) {
                (Some("-t"), Some(a)) => ServiceKey::tcp(
                    a.parse::<std::net::SocketAddr>()?.ip(),
                    a.parse::<std::net::SocketAddr>()?.port(),
                ),
                (Some("-u"), Some(a)) => ServiceKey::udp(
                    a.parse::<std::net::SocketAddr>()?.ip(),
                    a.parse::<std::net::SocketAddr>()?.port(),
                ),
                (Some("-f"), Some(m)) => ServiceKey::fwmark(lvskit::Family::Ipv4, m.parse()?),
                _ => return Err("dests needs -t|-u ADDR:PORT or -f MARK".into()),
            };
            let mut b = Vec::new();
            lvskit::raw::ipvs::put_service_key_nest(&mut b, &key)?;
            (cmd::GET_DEST, true, b)
        }
        Some("daemons") => (cmd::GET_DAEMON, true, vec![]),
        Some("config") => (cmd::GET_CONFIG, false, vec![]),
        Some("info") => (cmd::GET_INFO, false, vec![]),
        _ => return Err("usage: capture services|dests ...|daemons|config|info".into()),
    };
    for msg in ipvs.raw_request(command, dump, &attrs)? {
        println!("{}", hex(&msg));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("capture: {e}");
            ExitCode::FAILURE
        }
    }
}
