//! The order `ipvsadm -S` writes a table in: libipvs's comparisons (32-bit
//! differences stored in an `int`, so `10.0.0.1` sorts after
//! `192.168.1.1`) run through glibc's merge sort.

use std::net::IpAddr;

use crate::model::{Destination, ServiceKey};
use crate::table::{Table, TableService};

/// The address as libipvs holds it: four big-endian words (IPv4 in the first).
fn words(a: &IpAddr) -> [u32; 4] {
    match a {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let o = a.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// libipvs compares 32-bit unsigned values by subtracting them into an `int`.
fn wrap_cmp(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn addr_cmp(a: &IpAddr, b: &IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    if a.is_ipv6() {
        for i in 0..4 {
            let r = wrap_cmp(wa[i], wb[i]);
            if r != 0 {
                return r;
            }
        }
        0
    } else {
        wrap_cmp(wa[0], wb[0])
    }
}

/// libipvs's service comparison (`ipvs_cmp_services`), quirks included.
fn service_cmp(a: &ServiceKey, b: &ServiceKey) -> i32 {
    let fw = |k: &ServiceKey| match k {
        ServiceKey::Fwmark { mark, .. } => *mark,
        ServiceKey::Inet { .. } => 0,
    };
    let r = wrap_cmp(fw(a), fw(b));
    if r != 0 {
        return r;
    }
    let r = i32::from(a.family().af()) - i32::from(b.family().af());
    if r != 0 {
        return r;
    }
    match (a, b) {
        (
            ServiceKey::Inet {
                protocol: pa,
                addr: aa,
                port: qa,
            },
            ServiceKey::Inet {
                protocol: pb,
                addr: ab,
                port: qb,
            },
        ) => {
            let r = i32::from(pa.number()) - i32::from(pb.number());
            if r != 0 {
                return r;
            }
            let r = addr_cmp(aa, ab);
            if r != 0 {
                return r;
            }
            i32::from(*qa) - i32::from(*qb)
        }
        _ => 0,
    }
}

/// libipvs's destination comparison (`ipvs_cmp_dests`): the first one's family decides.
fn dest_cmp(a: &Destination, b: &Destination) -> i32 {
    let r = addr_cmp(&a.addr, &b.addr);
    if r != 0 {
        return r;
    }
    i32::from(a.port) - i32::from(b.port)
}

/// glibc's `qsort` (a top-down merge sort, ties to the left), so that even
/// libipvs's non-transitive comparisons order things as ipvsadm does.
fn msort<T: Clone>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    msort(&mut v[..n1], cmp);
    msort(&mut v[n1..], cmp);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            merged.push(v[i].clone());
            i += 1;
        } else {
            merged.push(v[j].clone());
            j += 1;
        }
    }
    merged.extend_from_slice(&v[i..n1]);
    merged.extend_from_slice(&v[j..n]);
    v.clone_from_slice(&merged);
}

/// Sorts a table's services and their destinations as `ipvsadm -S` does
/// (the table's order, as the kernel listed it, is the input order, as it
/// is for ipvsadm).
pub fn ipvsadm_order(table: &mut Table) {
    msort(
        &mut table.services,
        &|a: &TableService, b: &TableService| service_cmp(&a.service.key, &b.service.key),
    );
    for s in table.services.iter_mut() {
        msort(&mut s.destinations, &dest_cmp);
    }
}
