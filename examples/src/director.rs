//! `ipvs-director`: a director on lvskit's `director` module. It keeps the
//! IPVS table of a namespace equal to a desired-state file (JSON with
//! checks, failure policy and quorum, or `ipvsadm -S` rules), reloaded when
//! it changes; prints every event on stderr; and serves the metrics in the
//! Prometheus text format over HTTP (`GET /metrics`).
//!
//! ```text
//! ipvs-director --config director.json [--listen 127.0.0.1:9100] [--netns NAME]
//!               [--period-ms 2000] [--drain-deadline-s 300] [--run-for-s N]
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvskit::director::{metrics, Director, DirectorOptions, Event, FileFormat};
use lvskit::Namespace;

struct Args {
    config: String,
    listen: String,
    namespace: Namespace,
    period: Duration,
    drain_deadline: Duration,
    run_for: Option<Duration>,
}

fn usage() -> ! {
    eprintln!(
        "usage: ipvs-director --config FILE [--listen ADDR] [--netns NAME] [--period-ms MS] \
         [--drain-deadline-s S] [--run-for-s S]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        config: String::new(),
        listen: "127.0.0.1:9100".into(),
        namespace: Namespace::Current,
        period: Duration::from_secs(2),
        drain_deadline: Duration::from_secs(300),
        run_for: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        let num = || value.parse::<u64>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--config" => a.config = value.clone(),
            "--listen" => a.listen = value.clone(),
            "--netns" => a.namespace = Namespace::Named(value.clone()),
            "--period-ms" => a.period = Duration::from_millis(num()),
            "--drain-deadline-s" => a.drain_deadline = Duration::from_secs(num()),
            "--run-for-s" => a.run_for = Some(Duration::from_secs(num())),
            _ => usage(),
        }
    }
    if a.config.is_empty() {
        usage()
    }
    a
}

/// Answers one HTTP request: the metrics on `GET /metrics`, 404 otherwise.
fn answer(director: &Director, mut s: TcpStream) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    let mut r = BufReader::new(s.try_clone()?);
    r.read_line(&mut line)?;
    // the rest of the request head is read and ignored (bounded)
    let mut header = String::new();
    for _ in 0..100 {
        header.clear();
        if r.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let (status, ctype, body) = if line.starts_with("GET /metrics ") {
        match director.metrics_text() {
            Ok(text) => ("200 OK", metrics::CONTENT_TYPE, text),
            Err(e) => ("500 Internal Server Error", "text/plain", format!("{e}\n")),
        }
    } else {
        ("404 Not Found", "text/plain", "try /metrics\n".to_owned())
    };
    write!(
        s,
        "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn main() {
    let args = parse_args();
    let format = if args.config.ends_with(".json") {
        FileFormat::Json
    } else {
        FileFormat::Rules
    };
    let opts = DirectorOptions {
        namespace: args.namespace.clone(),
        period: args.period,
        drain_deadline: args.drain_deadline,
        on_event: Some(Arc::new(|e: &Event| eprintln!("event: {e:?}"))),
        ..DirectorOptions::default()
    };
    let director = match Director::watch(&args.config, format, opts) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("ipvs-director: {e}");
            std::process::exit(1);
        }
    };
    let listener = match TcpListener::bind(&args.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ipvs-director: listening on {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    println!("serving metrics on http://{}/metrics", args.listen);
    let until = args.run_for.map(|d| Instant::now() + d);
    // with --run-for-s the accept loop polls, so that it ends in time
    let _ = listener.set_nonblocking(until.is_some());
    loop {
        if until.is_some_and(|u| Instant::now() >= u) {
            break;
        }
        match listener.accept() {
            Ok((s, _)) => {
                let _ = s.set_nonblocking(false);
                if let Err(e) = answer(&director, s) {
                    eprintln!("ipvs-director: answering: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => eprintln!("ipvs-director: accept: {e}"),
        }
    }
    director.stop();
}
