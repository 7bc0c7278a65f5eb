//! A pipelined (or stop-on-error) batch against a scripted kernel whose
//! replies the input chooses: per operation, success or an errno, noise
//! (forged errors from another port, stale sequence numbers, forged acks),
//! and where the exchange breaks (ENOBUFS, silence, a truncated datagram).
//!
//! Input: a mode byte (bit 0: stop on error), then one control byte per
//! operation (1 to 16 operations): bits 0-2 the errno (0 success), bit 3
//! noise, bits 4-5 a break after this operation's replies (1 ENOBUFS,
//! 2 silence from here on, 3 this operation's replies truncated).
//!
//! Never panics, and every outcome is the one the protocol allows: Failed
//! with its own errno, Done, Unknown once the exchange broke, NotAttempted
//! after that (or after a failure when stopping on error).
#![no_main]

use lvskit::testing::{Replies, Request, ScriptedKernel};
use lvskit::{BatchMode, Ipvs, OpOutcome, Operation, ServiceKey};
use libfuzzer_sys::fuzz_target;

const ERRNOS: [i32; 8] = [
    0,
    libc::ESRCH,
    libc::EEXIST,
    libc::EPERM,
    libc::EINVAL,
    libc::ENOENT,
    libc::ERANGE,
    libc::EBUSY,
];

fn errno(c: u8) -> i32 {
    ERRNOS[(c & 7) as usize]
}

fn brk(c: u8) -> u8 {
    (c >> 4) & 3
}

/// The kernel's replies to one request as the control byte says.
fn answer(c: u8, req: &Request, out: &mut Replies) {
    if c & 8 != 0 {
        out.from_port(31337, &[req.error(libc::EPERM)]);
        let mut stale = req.error(libc::EEXIST);
        stale[8..12].copy_from_slice(&req.seq.wrapping_sub(1000).to_ne_bytes());
        out.send(&[stale]);
        out.from_port(7, &[req.ack()]);
    }
    let reply = match errno(c) {
        0 if req.wants_ack() => Some(req.ack()),
        0 => None,
        e => Some(req.error(e)),
    };
    match (brk(c), reply) {
        (3, r) => out.truncated(&[r.unwrap_or_else(|| req.error(libc::EINVAL))]),
        (_, Some(r)) => out.send(&[r]),
        (_, None) => {}
    }
    if brk(c) == 1 {
        out.fail(libc::ENOBUFS);
    }
}

/// The outcomes the protocol allows: D done, F failed, U unknown, N not attempted.
fn expected(stop: bool, ctl: &[u8]) -> String {
    if stop {
        expected_one_at_a_time(ctl)
    } else {
        expected_pipelined(ctl)
    }
}

/// One chunk, all sent at once: errors are attributed until the exchange
/// breaks; then what was not reported failed is unknown. A break after the
/// barrier's own reply changes nothing.
fn expected_pipelined(ctl: &[u8]) -> String {
    let last = ctl.len() - 1;
    let broken_at = ctl
        .iter()
        .enumerate()
        .position(|(i, &c)| brk(c) == 3 || (brk(c) != 0 && i < last));
    ctl.iter()
        .enumerate()
        .map(|(i, &c)| match broken_at {
            None if errno(c) != 0 => 'F',
            None => 'D',
            Some(b) if i < b || (i == b && brk(c) != 3) => {
                if errno(c) != 0 {
                    'F'
                } else {
                    'U'
                }
            }
            Some(_) => 'U',
        })
        .collect()
}

/// One acknowledged request at a time: a failure or a lost reply stops the batch.
fn expected_one_at_a_time(ctl: &[u8]) -> String {
    let mut s = String::new();
    let mut pending_break = false;
    for &c in ctl {
        let o = if pending_break || brk(c) == 3 {
            'U'
        } else if errno(c) != 0 {
            'F'
        } else {
            'D'
        };
        s.push(o);
        if o != 'D' {
            break;
        }
        pending_break = brk(c) == 1 || brk(c) == 2;
    }
    let n = ctl.len() - s.len();
    s.extend(std::iter::repeat('N').take(n));
    s
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, ctl)) = data.split_first() else {
        return;
    };
    if ctl.is_empty() {
        return;
    }
    let ctl: Vec<u8> = ctl.iter().take(16).copied().collect();
    let stop = mode & 1 != 0;
    let script = ctl.clone();
    let mut silent = false;
    let kernel = ScriptedKernel::new(move |req, out| {
        let Some(&c) = script.get(req.index) else {
            return;
        };
        if silent {
            return;
        }
        answer(c, req, out);
        silent = brk(c) == 2;
    });
    let Ok(ipvs) = Ipvs::with_kernel(kernel.clone()) else {
        return;
    };
    let ops: Vec<Operation> = (1..=ctl.len() as u16)
        .map(|p| Operation::DeleteService(ServiceKey::tcp([10, 0, 0, 1], p)))
        .collect();
    let mode = if stop {
        BatchMode::StopOnError
    } else {
        BatchMode::Continue
    };
    let report = ipvs.execute(&ops, mode);
    assert_eq!(report.outcomes.len(), ops.len());
    let got: String = report
        .outcomes
        .iter()
        .map(|o| match o {
            OpOutcome::Done => 'D',
            OpOutcome::Failed(_) => 'F',
            OpOutcome::Unknown(_) => 'U',
            _ => 'N',
        })
        .collect();
    assert_eq!(got, expected(stop, &ctl), "controls {ctl:?}, stop {stop}");
    for (o, &c) in report.outcomes.iter().zip(&ctl) {
        if let OpOutcome::Failed(e) = o {
            assert_eq!(e.errno(), Some(errno(c)), "{e}");
        }
    }
    // each operation was sent at most once
    assert!(kernel.requests().len() <= ops.len());
});
