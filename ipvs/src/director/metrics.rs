//! Metrics: per service and real server, the kernel's counters plus health,
//! rendered in the Prometheus text exposition format (version 0.0.4).

use std::fmt::Write;

use super::health::HealthState;
use crate::model::{DestinationEntry, ServiceEntry, Stats};

/// The content type of [`render`]'s text, for an HTTP `Content-Type` header.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One real server's metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationMetrics {
    /// The kernel's listing: configuration, connection counts, counters.
    pub entry: DestinationEntry,
    /// Its health; `None` when it is not checked.
    pub health: Option<HealthState>,
    /// Whether it is draining.
    pub draining: bool,
}

/// One service's metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceMetrics {
    /// The kernel's listing of the service with its counters.
    pub entry: ServiceEntry,
    /// Its real servers.
    pub destinations: Vec<DestinationMetrics>,
}

/// The counters rendered, per service and per real server: name, help, field.
type Counter = (&'static str, &'static str, fn(&Stats) -> u64);
const COUNTERS: [Counter; 5] = [
    ("connections_total", "Connections scheduled", |s| s.conns),
    ("in_packets_total", "Packets in", |s| s.in_packets),
    ("out_packets_total", "Packets out", |s| s.out_packets),
    ("in_bytes_total", "Bytes in", |s| s.in_bytes),
    ("out_bytes_total", "Bytes out", |s| s.out_bytes),
];

/// Gauges of a real server: name, help, value.
type Gauge = (
    &'static str,
    &'static str,
    fn(&DestinationMetrics) -> Option<u64>,
);
const GAUGES: [Gauge; 5] = [
    ("destination_weight", "Weight in the kernel", |d| {
        Some(u64::from(d.entry.destination.weight))
    }),
    (
        "destination_active_connections",
        "Active connections",
        |d| Some(u64::from(d.entry.active_conns)),
    ),
    (
        "destination_inactive_connections",
        "Inactive connections",
        |d| Some(u64::from(d.entry.inactive_conns)),
    ),
    (
        "destination_up",
        "1 when the health check passes, 0 when it fails (checked servers only)",
        |d| d.health.map(|h| u64::from(h == HealthState::Up)),
    ),
    (
        "destination_draining",
        "1 while the real server drains",
        |d| Some(u64::from(d.draining)),
    ),
];

/// Escapes a label value: backslash, double quote and newline.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The metrics as Prometheus text: `lvskit_service_*_total{service="TCP
/// 10.0.0.1:80"}` and `lvskit_destination_*_total{service=..,destination="10.0.1.1:80"}`
/// counters (connections, packets and bytes in and out, as `ipvsadm -Ln
/// --stats --exact`), and gauges of each real server's weight, active and
/// inactive connections, health and drain. Each family has its `# HELP` and
/// `# TYPE` lines once, its samples together.
///
/// ```
/// use lvskit::director::metrics::{render, ServiceMetrics};
/// use lvskit::{Service, ServiceEntry, ServiceKey, Stats};
///
/// let entry = ServiceEntry {
///     service: Service::new(ServiceKey::tcp([10, 0, 0, 1], 80)),
///     stats: Stats { conns: 3, ..Stats::default() },
/// };
/// let text = render(&[ServiceMetrics { entry, destinations: vec![] }]);
/// assert!(text.contains("lvskit_service_connections_total{service=\"TCP 10.0.0.1:80\"} 3\n"));
/// ```
pub fn render(services: &[ServiceMetrics]) -> String {
    let mut out = String::new();
    for (name, help, field) in COUNTERS {
        family(&mut out, &format!("lvskit_service_{name}"), help, "counter");
        for s in services {
            let labels = format!(
                "service=\"{}\"",
                escape_label(&s.entry.service.key.to_string())
            );
            sample(
                &mut out,
                &format!("lvskit_service_{name}"),
                &labels,
                field(&s.entry.stats),
            );
        }
    }
    for (name, help, field) in COUNTERS {
        let full = format!("lvskit_destination_{name}");
        family(&mut out, &full, help, "counter");
        for (s, d) in destinations(services) {
            sample(&mut out, &full, &dest_labels(s, d), field(&d.entry.stats));
        }
    }
    for (name, help, value) in GAUGES {
        let full = format!("lvskit_{name}");
        family(&mut out, &full, help, "gauge");
        for (s, d) in destinations(services) {
            if let Some(v) = value(d) {
                sample(&mut out, &full, &dest_labels(s, d), v);
            }
        }
    }
    out
}

fn destinations(
    services: &[ServiceMetrics],
) -> impl Iterator<Item = (&ServiceMetrics, &DestinationMetrics)> {
    services
        .iter()
        .flat_map(|s| s.destinations.iter().map(move |d| (s, d)))
}

fn dest_labels(s: &ServiceMetrics, d: &DestinationMetrics) -> String {
    format!(
        "service=\"{}\",destination=\"{}\"",
        escape_label(&s.entry.service.key.to_string()),
        escape_label(&d.entry.destination.to_string())
    )
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: u64) {
    let _ = writeln!(out, "{name}{{{labels}}} {value}");
}
