//! The reply walker under the handle, fed arbitrary replies through the
//! scripted kernel: for a dump (`services`), an acknowledged request
//! (`delete_service`) and a do-request with a reply (`timeouts`).
//!
//! Input: a mode byte, then datagrams, each `[control, len_lo, len_hi, bytes]`.
//! Control bits: 1 from another port, 2 truncated, 4 a receive that fails
//! with ENOBUFS instead, 8 every message's seq set to the request's, 16 every
//! message's port id set to the handle's.
//!
//! Never panics, and never accepts a reply that is not ours: success needs an
//! end message (ack or done) with the request's seq in a whole datagram from
//! the kernel, before any failed receive, and a listing has at most as many
//! entries as such datagrams hold data messages with the request's seq.
#![no_main]

use lvskit::raw::nla::{self, Messages};
use lvskit::testing::{Incoming, ScriptedKernel, PORT_ID};
use lvskit::{Ipvs, ServiceKey};
use libfuzzer_sys::fuzz_target;

struct Datagram {
    control: u8,
    bytes: Vec<u8>,
}

fn datagrams(mut data: &[u8]) -> Vec<Datagram> {
    let mut out = Vec::new();
    while data.len() >= 3 && out.len() < 16 {
        let len = u16::from_le_bytes([data[1], data[2]]) as usize;
        let end = (3 + len).min(data.len());
        out.push(Datagram {
            control: data[0],
            bytes: data[3..end].to_vec(),
        });
        data = &data[end..];
    }
    out
}

/// Rewrites the seq (bit 8) and port id (bit 16) of every whole message.
fn patch(bytes: &mut [u8], control: u8, seq: u32) {
    let mut off = 0;
    while off + nla::NLMSG_HDRLEN <= bytes.len() {
        let len = u32::from_ne_bytes([bytes[off], bytes[off + 1], bytes[off + 2], bytes[off + 3]])
            as usize;
        if control & 8 != 0 {
            bytes[off + 8..off + 12].copy_from_slice(&seq.to_ne_bytes());
        }
        if control & 16 != 0 {
            bytes[off + 12..off + 16].copy_from_slice(&PORT_ID.to_ne_bytes());
        }
        if len < nla::NLMSG_HDRLEN {
            break;
        }
        off += nla::align(len);
    }
}

/// What the handle may accept from what was delivered: (an end message of
/// ours was delivered whole, data messages of ours delivered whole).
fn ours(delivered: &[Incoming], seq: u32) -> (bool, usize) {
    let (mut end, mut data) = (false, 0);
    for d in delivered {
        let Incoming::Datagram {
            sender: 0,
            bytes,
            truncated: false,
        } = d
        else {
            if matches!(d, Incoming::Fail(_)) {
                break;
            }
            continue;
        };
        for m in Messages::new(bytes) {
            let Ok((h, payload)) = m else { break };
            if h.seq != seq {
                continue;
            }
            match h.ty {
                nla::NLMSG_ERROR | nla::NLMSG_DONE => {
                    let code = payload
                        .get(..4)
                        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    end |= h.ty == nla::NLMSG_DONE || code == Some(0);
                }
                _ => data += 1,
            }
        }
    }
    (end, data)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let script = datagrams(rest);
    let delivered = std::sync::Arc::new(std::sync::Mutex::new((0u32, Vec::new())));
    let log = delivered.clone();
    let kernel = ScriptedKernel::new(move |req, out| {
        let mut log = log.lock().unwrap();
        log.0 = req.seq;
        for d in &script {
            let incoming = if d.control & 4 != 0 {
                Incoming::Fail(libc::ENOBUFS)
            } else {
                let mut bytes = d.bytes.clone();
                patch(&mut bytes, d.control, req.seq);
                Incoming::Datagram {
                    sender: if d.control & 1 != 0 { 4242 } else { 0 },
                    bytes,
                    truncated: d.control & 2 != 0,
                }
            };
            log.1.push(incoming.clone());
            out.push(incoming);
        }
    });
    let Ok(ipvs) = Ipvs::with_kernel(kernel) else {
        return;
    };
    let key = ServiceKey::tcp([10, 0, 0, 1], 80);
    let (ok, entries) = match mode % 3 {
        0 => match ipvs.services() {
            Ok(v) => (true, v.len()),
            Err(_) => (false, 0),
        },
        1 => (ipvs.delete_service(&key).is_ok(), 0),
        _ => (ipvs.timeouts().is_ok(), 0),
    };
    let log = delivered.lock().unwrap();
    let (end, data_msgs) = ours(&log.1, log.0);
    if ok {
        assert!(
            end,
            "a reply accepted without an end message of ours from the kernel"
        );
        assert!(
            entries <= data_msgs,
            "{entries} entries from {data_msgs} data messages of ours"
        );
    }
});
