//! Host tests of every protocol path of the handle, against a scripted kernel
//! (`lvskit::testing`): replies from golden captures, acknowledgements, errors
//! at chosen positions of a pipelined batch, replies from another port, stale
//! sequence numbers, truncated datagrams, interrupted dumps, ENOBUFS and
//! silence. Each test goes through the public handle methods and asserts the
//! typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod golden;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use golden::*;
use lvskit::raw::ipvs::{cmd, cmd_attr, svc_attr};
use lvskit::raw::nla;
use lvskit::testing::{message, Replies, Request, ScriptedKernel, FAMILY_ID};
use lvskit::{
    BatchMode, Destination, Error, Forward, Ipvs, OpOutcome, Operation, Scheduler, Service,
    ServiceKey, SyncState,
};

fn key(i: u16) -> ServiceKey {
    ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), i)
}

fn open(kernel: &ScriptedKernel) -> Ipvs {
    Ipvs::with_kernel(kernel.clone()).unwrap()
}

// ---------------------------------------------------------------- opening

#[test]
fn a_handle_resolves_the_family_through_the_seam() {
    let kernel = ScriptedKernel::obedient();
    let ipvs = open(&kernel);
    assert_eq!(ipvs.family_id(), FAMILY_ID);
    assert_eq!(ipvs.port_id(), lvskit::testing::PORT_ID);
    // the lookup is not an IPVS request
    assert!(kernel.requests().is_empty());
    ipvs.set_timeout(Duration::from_millis(5)).unwrap();
    assert_eq!(kernel.timeout(), Duration::from_millis(5));
}

#[test]
fn a_kernel_without_ipvs_is_a_missing_module() {
    let Err(err) = Ipvs::with_kernel(ScriptedKernel::obedient().without_ipvs()) else {
        panic!("a handle opened without the IPVS family");
    };
    assert!(
        matches!(&err, Error::ModuleMissing { module, errno, .. } if module == "ip_vs" && *errno == libc::ENOENT),
        "{err:?}"
    );
}

// ---------------------------------------------------------------- single operations

#[test]
fn a_single_operation_asks_for_an_ack_and_succeeds_on_it() {
    let kernel = ScriptedKernel::obedient();
    let ipvs = open(&kernel);
    ipvs.add_service(&Service::new(key(80)).with_scheduler(Scheduler::RoundRobin))
        .unwrap();
    let reqs = kernel.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].command, cmd::NEW_SERVICE);
    assert!(reqs[0].wants_ack() && !reqs[0].is_dump());
    assert_eq!(reqs[0].seq, reqs[0].seq.max(1));
}

#[test]
fn a_single_operation_gets_its_typed_kernel_error() {
    let kernel = ScriptedKernel::new(|req, out| match req.command {
        cmd::NEW_SERVICE => out.refuse(req, libc::EEXIST),
        cmd::DEL_SERVICE => out.refuse(req, libc::ESRCH),
        cmd::NEW_DEST => out.refuse(req, libc::EPERM),
        _ => out.refuse(req, libc::EINVAL),
    });
    let ipvs = open(&kernel);
    let svc = Service::new(key(80));
    let err = ipvs.add_service(&svc).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Exists {
                errno: libc::EEXIST,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("10.0.0.1:80"), "{err}");
    let err = ipvs.delete_service(&key(80)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                what: "no such service",
                errno: libc::ESRCH,
                ..
            }
        ),
        "{err:?}"
    );
    let err = ipvs
        .add_destination(&key(80), &Destination::new(Ipv4Addr::new(10, 1, 0, 2), 80))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                errno: libc::EPERM,
                ..
            }
        ),
        "{err:?}"
    );
    let err = ipvs.stop_daemon(SyncState::Master).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                errno: libc::EINVAL,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn invalid_input_is_refused_before_sending() {
    let kernel = ScriptedKernel::obedient();
    let ipvs = open(&kernel);
    let bad = Destination::new(Ipv4Addr::new(224, 0, 0, 1), 80); // not unicast
    let err = ipvs.add_destination(&key(80), &bad).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(kernel.requests().is_empty());
}

// ---------------------------------------------------------------- listings from golden captures

#[test]
fn listings_decode_golden_replies() {
    let ipvs = open(&golden_kernel(DumpDatagrams::One));
    let services: Vec<Service> = ipvs
        .services()
        .unwrap()
        .into_iter()
        .map(|e| e.service)
        .collect();
    assert_eq!(services.len(), 3);
    assert_eq!(
        services[0],
        Service::new(key(80)).with_scheduler(Scheduler::RoundRobin)
    );
    assert_eq!(ipvs.service(&key(80)).unwrap().service, services[0]);
    let dests = ipvs.destinations(&key(80)).unwrap();
    assert_eq!(dests.len(), 2);
    assert_eq!(dests[0].destination.addr, Ipv4Addr::new(10, 1, 0, 2));
    assert_eq!(dests[0].destination.port, 8080);
    assert_eq!(dests[0].destination.forward, Forward::Masq);
    assert_eq!(dests[0].destination.weight, 3);
    assert_eq!(dests[1].destination.forward, Forward::DirectRoute);
    let daemons = ipvs.daemons().unwrap();
    assert_eq!(daemons.len(), 1);
    assert_eq!(daemons[0].state, SyncState::Master);
    assert_eq!(daemons[0].sync_id, 7);
    let t = ipvs.timeouts().unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (900, 120, 300));
    assert_eq!(ipvs.info().unwrap().conn_table_size, 4096);
}

#[test]
fn a_dump_error_in_done_is_the_typed_kernel_error() {
    let kernel = ScriptedKernel::new(|req, out| {
        let done = message(
            nla::NLMSG_DONE,
            nla::NLM_F_MULTI,
            req.seq,
            &(-libc::EPERM).to_ne_bytes(),
        );
        out.send(&[done]);
    });
    let err = open(&kernel).services().unwrap_err();
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                errno: libc::EPERM,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_reply_without_its_data_is_a_protocol_error() {
    // an acknowledged GET_SERVICE with no service in it
    let kernel = ScriptedKernel::obedient();
    let err = open(&kernel).service(&key(80)).unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
}

// ---------------------------------------------------------------- destinations of a missing service

#[test]
fn destinations_of_a_missing_service_are_not_found() {
    // the kernel's answer: an empty dump, and ESRCH to GET_SERVICE
    let kernel = ScriptedKernel::new(|req, out| match req.command {
        cmd::GET_SERVICE => out.refuse(req, libc::ESRCH),
        _ => out.obey(req),
    });
    let err = open(&kernel).destinations(&key(80)).unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { what: "no such service", errno: libc::ESRCH, context } if context.contains("listing destinations of service")),
        "{err:?}"
    );
    let cmds: Vec<u8> = kernel.requests().iter().map(|r| r.command).collect();
    assert_eq!(cmds, [cmd::GET_DEST, cmd::GET_SERVICE]);
}

#[test]
fn a_service_without_destinations_lists_empty() {
    let kernel = ScriptedKernel::new(|req, out| match req.command {
        cmd::GET_DEST => out.send(&[req.done()]),
        _ => out.send(&[req.reply(cmd::NEW_SERVICE, &unhex(SVC_TCP4)), req.ack()]),
    });
    assert!(open(&kernel).destinations(&key(80)).unwrap().is_empty());
}

#[test]
fn a_non_empty_destination_list_costs_one_request() {
    let kernel = golden_kernel(DumpDatagrams::One);
    assert_eq!(open(&kernel).destinations(&key(80)).unwrap().len(), 2);
    assert_eq!(kernel.requests().len(), 1);
}

// ---------------------------------------------------------------- replies that are not ours

#[test]
fn replies_from_another_port_are_ignored() {
    // a forged error with the right sequence number, from port 4242, comes first
    let kernel = ScriptedKernel::new(|req, out| {
        out.from_port(4242, &[req.error(libc::EPERM)]);
        out.obey(req);
    });
    open(&kernel).delete_service(&key(80)).unwrap();
    // and a forged acknowledgement alone is not one: the wait times out
    let kernel = ScriptedKernel::new(|req, out| out.from_port(7, &[req.ack()]));
    let ipvs = open(&kernel);
    ipvs.set_timeout(Duration::from_millis(20)).unwrap();
    let err = ipvs.delete_service(&key(80)).unwrap_err();
    assert!(
        matches!(err, Error::Timeout { after, .. } if after == Duration::from_millis(20)),
        "{err:?}"
    );
}

#[test]
fn forged_dump_data_from_another_port_is_not_listed() {
    let kernel = ScriptedKernel::new(|req, out| {
        out.from_port(99, &[req.reply(cmd::NEW_SERVICE, &unhex(SVC_UDP6))]);
        out.send(&[req.reply(cmd::NEW_SERVICE, &unhex(SVC_TCP4)), req.done()]);
    });
    let services = open(&kernel).services().unwrap();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0].service.key, key(80));
}

#[test]
fn stale_sequence_numbers_are_skipped() {
    let kernel = ScriptedKernel::new(|req, out| {
        let stale =
            |ty, flags, payload: &[u8]| message(ty, flags, req.seq.wrapping_sub(1), payload);
        let mut err = (-libc::EEXIST).to_ne_bytes().to_vec();
        err.extend_from_slice(&[0; 16]);
        let mut svc = vec![cmd::NEW_SERVICE, 1, 0, 0];
        svc.extend_from_slice(&unhex(SVC_UDP6));
        out.send(&[
            stale(nla::NLMSG_ERROR, 0, &err),
            stale(FAMILY_ID, nla::NLM_F_MULTI, &svc),
            stale(nla::NLMSG_DONE, nla::NLM_F_MULTI, &0i32.to_ne_bytes()),
        ]);
        match req.command {
            cmd::GET_SERVICE => {
                out.send(&[req.reply(cmd::NEW_SERVICE, &unhex(SVC_TCP4)), req.done()])
            }
            _ => out.obey(req),
        }
    });
    let ipvs = open(&kernel);
    ipvs.flush().unwrap();
    let services = ipvs.services().unwrap();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0].service.key, key(80));
}

// ---------------------------------------------------------------- broken exchanges

#[test]
fn a_truncated_reply_is_a_protocol_error() {
    let kernel = ScriptedKernel::new(|req, out| {
        out.truncated(&[req.reply(cmd::NEW_SERVICE, &unhex(SVC_TCP4))]);
        out.send(&[req.done()]);
    });
    let err = open(&kernel).services().unwrap_err();
    assert!(
        matches!(&err, Error::Protocol { detail, .. } if detail.contains("truncated")),
        "{err:?}"
    );
}

#[test]
fn a_message_cut_short_is_a_protocol_error() {
    let kernel = ScriptedKernel::new(|req, out| {
        let mut m = req.reply(cmd::NEW_SERVICE, &unhex(SVC_TCP4));
        m.truncate(40); // the header still claims the whole length
        out.send(&[m]);
    });
    let err = open(&kernel).services().unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
}

#[test]
fn an_interrupted_dump_is_a_protocol_error() {
    let kernel = ScriptedKernel::new(|req, out| {
        let mut svc = vec![cmd::NEW_SERVICE, 1, 0, 0];
        svc.extend_from_slice(&unhex(SVC_TCP4));
        let intr = message(
            FAMILY_ID,
            nla::NLM_F_MULTI | nla::NLM_F_DUMP_INTR,
            req.seq,
            &svc,
        );
        out.send(&[intr, req.done()]);
    });
    let err = open(&kernel).services().unwrap_err();
    assert!(
        matches!(&err, Error::Protocol { detail, .. } if detail.contains("NLM_F_DUMP_INTR")),
        "{err:?}"
    );
}

#[test]
fn enobufs_on_receive_is_an_io_error() {
    let kernel = ScriptedKernel::new(|req, out| {
        out.send(&[req.reply(cmd::NEW_SERVICE, &unhex(SVC_TCP4))]);
        out.fail(libc::ENOBUFS);
    });
    let err = open(&kernel).services().unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOBUFS)),
        "{err:?}"
    );
    assert_eq!(err.errno(), Some(libc::ENOBUFS));
}

#[test]
fn silence_is_a_timeout() {
    let kernel = ScriptedKernel::new(|_, _| {});
    let ipvs = open(&kernel);
    ipvs.set_timeout(Duration::from_millis(30)).unwrap();
    let err = ipvs.flush().unwrap_err();
    assert!(
        matches!(err, Error::Timeout { after, .. } if after == Duration::from_millis(30)),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("flush") || err.to_string().contains("-C"),
        "{err}"
    );
    let err = ipvs.services().unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

// ---------------------------------------------------------------- pipelined batches

fn deletes(n: u16) -> Vec<Operation> {
    (1..=n).map(|i| Operation::DeleteService(key(i))).collect()
}

/// Which operation (by its service port) a request deletes.
fn port_of(req: &Request) -> u16 {
    let svc = lvskit::raw::ipvs::find(&req.attrs, cmd_attr::SERVICE)
        .unwrap()
        .unwrap();
    let port = lvskit::raw::ipvs::find(svc, svc_attr::PORT)
        .unwrap()
        .unwrap();
    nla::get_be16("port", port).unwrap()
}

/// A kernel that refuses the deletes of the given ports with ESRCH.
fn refusing(ports: &'static [u16]) -> ScriptedKernel {
    ScriptedKernel::new(move |req, out| {
        if req.command == cmd::DEL_SERVICE && ports.contains(&port_of(req)) {
            out.refuse(req, libc::ESRCH);
        } else {
            out.obey(req);
        }
    })
}

fn is_esrch_not_found(err: &Error) -> bool {
    matches!(
        err,
        Error::NotFound {
            errno: libc::ESRCH,
            ..
        }
    )
}

fn summary(outcomes: &[OpOutcome]) -> String {
    outcomes
        .iter()
        .map(|o| match o {
            OpOutcome::Done => 'D',
            OpOutcome::Failed(_) => 'F',
            OpOutcome::NotAttempted => 'N',
            OpOutcome::Unknown(_) => 'U',
            _ => '?',
        })
        .collect()
}

#[test]
fn a_pipelined_batch_attributes_each_error_to_its_operation() {
    let kernel = refusing(&[2, 5]);
    let ipvs = open(&kernel);
    let report = ipvs.execute(&deletes(6), BatchMode::Continue);
    assert_eq!(summary(&report.outcomes), "DFDDFD");
    for i in [1, 4] {
        let err = report.outcomes[i].error().unwrap();
        assert!(is_esrch_not_found(err), "{err:?}");
        assert!(
            err.to_string().contains(&format!("10.0.0.1:{}", i + 1)),
            "{err}"
        );
    }
    // one send; only the last request (the barrier) asks for an ack
    let reqs = kernel.requests();
    assert_eq!(kernel.sends(), 1);
    assert_eq!(reqs.iter().filter(|r| r.wants_ack()).count(), 1);
    assert!(reqs[5].wants_ack());
    let seqs: Vec<u32> = reqs.iter().map(|r| r.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "{seqs:?}"
    );
}

#[test]
fn an_error_on_the_barrier_ends_the_chunk() {
    let report = open(&refusing(&[1, 3])).execute(&deletes(3), BatchMode::Continue);
    assert_eq!(summary(&report.outcomes), "FDF");
}

#[test]
fn a_batch_refuses_invalid_operations_before_sending_the_rest() {
    let kernel = ScriptedKernel::obedient();
    let bad = Destination::new(Ipv4Addr::new(224, 0, 0, 1), 80); // not unicast
    let mut ops = deletes(3);
    ops.insert(1, Operation::AddDestination(key(1), bad));
    let report = open(&kernel).execute(&ops, BatchMode::Continue);
    assert_eq!(summary(&report.outcomes), "DFDD");
    assert!(matches!(
        report.outcomes[1].error(),
        Some(Error::InvalidInput { .. })
    ));
    assert_eq!(kernel.requests().len(), 3);
}

#[test]
fn forged_and_stale_errors_do_not_touch_a_batch() {
    let kernel = ScriptedKernel::new(|req, out| {
        out.from_port(31337, &[req.error(libc::EPERM)]);
        let mut stale = req.error(libc::EEXIST);
        stale[8..12].copy_from_slice(&req.seq.wrapping_sub(1000).to_ne_bytes());
        out.send(&[stale]);
        if port_of(req) == 2 {
            out.refuse(req, libc::ESRCH);
        } else {
            out.obey(req);
        }
    });
    let report = open(&kernel).execute(&deletes(3), BatchMode::Continue);
    assert_eq!(summary(&report.outcomes), "DFD");
    assert!(matches!(
        report.outcomes[1].error(),
        Some(Error::NotFound { .. })
    ));
}

#[test]
fn lost_replies_leave_outcomes_unknown_and_the_rest_not_attempted() {
    // enough operations for more than one chunk
    let n = 6000u16;
    let ops = deletes(n);
    let kernel = ScriptedKernel::new(|req, out| {
        if req.send == 0 && port_of(req) == 2 {
            out.refuse(req, libc::ESRCH);
            out.fail(libc::ENOBUFS);
        } else {
            out.obey(req);
        }
    });
    let report = open(&kernel).execute(&ops, BatchMode::Continue);
    let first_chunk = kernel.requests().len();
    assert!(first_chunk > 2 && first_chunk < n as usize, "{first_chunk}");
    assert_eq!(kernel.sends(), 1);
    let s = summary(&report.outcomes);
    assert_eq!(&s[..2], "UF");
    assert!(s[2..first_chunk].chars().all(|c| c == 'U'), "{s}");
    assert!(s[first_chunk..].chars().all(|c| c == 'N'), "{s}");
    let err = report.outcomes[0].error().unwrap();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
    assert!(
        err.to_string().contains("ENOBUFS") || err.to_string().contains("overflowed"),
        "{err}"
    );
}

#[test]
fn chunks_after_the_first_are_attributed_too() {
    let ops = deletes(6000);
    let kernel = ScriptedKernel::new(|req, out| {
        if req.send == 1 && req.index % 1000 == 7 {
            out.refuse(req, libc::ESRCH);
        } else {
            out.obey(req);
        }
    });
    let report = open(&kernel).execute(&ops, BatchMode::Continue);
    let reqs = kernel.requests();
    assert!(kernel.sends() >= 2);
    assert_eq!(reqs.len(), ops.len());
    for (i, o) in report.outcomes.iter().enumerate() {
        let refused = reqs[i].send == 1 && i % 1000 == 7;
        assert_eq!(
            matches!(o, OpOutcome::Failed(_)),
            refused,
            "operation {i}: {o:?}"
        );
        assert_eq!(o.is_done(), !refused, "operation {i}: {o:?}");
    }
}

#[test]
fn a_silent_barrier_leaves_the_chunk_unknown() {
    let kernel = ScriptedKernel::new(|req, out| {
        if port_of(req) == 1 {
            out.refuse(req, libc::ESRCH);
        } // the barrier's ack never comes
    });
    let ipvs = open(&kernel);
    ipvs.set_timeout(Duration::from_millis(20)).unwrap();
    let report = ipvs.execute(&deletes(3), BatchMode::Continue);
    assert_eq!(summary(&report.outcomes), "FUU");
    let err = report.outcomes[2].error().unwrap();
    assert!(
        err.to_string().contains("timed out") || err.to_string().contains("20ms"),
        "{err}"
    );
}

#[test]
fn a_truncated_datagram_in_a_batch_leaves_it_unknown() {
    let kernel = ScriptedKernel::new(|req, out| {
        if port_of(req) == 3 {
            out.truncated(&[req.error(libc::EEXIST)]);
        } else {
            out.obey(req);
        }
    });
    let report = open(&kernel).execute(&deletes(3), BatchMode::Continue);
    assert_eq!(summary(&report.outcomes), "UUU");
}

#[test]
fn a_failed_send_fails_its_first_operation_and_attempts_nothing_more() {
    let kernel = ScriptedKernel::obedient().fail_send(0, libc::EMSGSIZE);
    let report = open(&kernel).execute(&deletes(4), BatchMode::Continue);
    assert_eq!(summary(&report.outcomes), "FNNN");
    let err = report.outcomes[0].error().unwrap();
    assert!(
        matches!(err, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EMSGSIZE)),
        "{err:?}"
    );
    assert!(kernel.requests().is_empty());
}

// ---------------------------------------------------------------- stop on error

#[test]
fn stop_on_error_sends_one_at_a_time_and_stops_at_the_failure() {
    let kernel = refusing(&[3]);
    let report = open(&kernel).execute(&deletes(5), BatchMode::StopOnError);
    assert_eq!(summary(&report.outcomes), "DDFNN");
    assert!(matches!(
        report.outcomes[2].error(),
        Some(Error::NotFound {
            errno: libc::ESRCH,
            ..
        })
    ));
    assert_eq!(kernel.sends(), 3);
    assert!(kernel.requests().iter().all(Request::wants_ack));
}

#[test]
fn stop_on_error_reports_a_lost_reply_as_unknown() {
    let kernel = ScriptedKernel::new(|req, out| {
        if port_of(req) == 2 {
            out.fail(libc::ENOBUFS);
        } else {
            out.obey(req);
        }
    });
    let report = open(&kernel).execute(&deletes(4), BatchMode::StopOnError);
    assert_eq!(summary(&report.outcomes), "DUNN");
    assert!(matches!(report.outcomes[1].error(), Some(Error::Io { .. })));
}

#[test]
fn stop_on_error_refuses_invalid_input_without_sending_it() {
    let kernel = ScriptedKernel::obedient();
    let bad = Destination::new(Ipv4Addr::new(224, 0, 0, 1), 80); // not unicast
    let ops = vec![
        Operation::DeleteService(key(1)),
        Operation::AddDestination(key(1), bad),
        Operation::DeleteService(key(2)),
    ];
    let report = open(&kernel).execute(&ops, BatchMode::StopOnError);
    assert_eq!(summary(&report.outcomes), "DFN");
    assert!(matches!(
        report.outcomes[1].error(),
        Some(Error::InvalidInput { .. })
    ));
    assert_eq!(kernel.requests().len(), 1);
}

// ---------------------------------------------------------------- the handle is shared

#[test]
fn requests_from_several_threads_each_get_their_own_reply() {
    let seen = Arc::new(Mutex::new(0usize));
    let s = seen.clone();
    let kernel = ScriptedKernel::new(move |req, out: &mut Replies| {
        *s.lock().unwrap() += 1;
        out.obey(req);
    });
    let ipvs = Arc::new(open(&kernel));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let ipvs = ipvs.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    ipvs.delete_service(&key(t * 100 + i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), 200);
}

#[test]
fn a_failed_second_send_keeps_the_first_chunk_and_attempts_nothing_after() {
    let ops = deletes(6000);
    let kernel = ScriptedKernel::obedient().fail_send(1, libc::ENOBUFS);
    let report = open(&kernel).execute(&ops, BatchMode::Continue);
    let first_chunk = kernel.requests().len();
    assert!(first_chunk > 0 && first_chunk < ops.len());
    let s = summary(&report.outcomes);
    assert!(s[..first_chunk].chars().all(|c| c == 'D'), "{s}");
    assert_eq!(&s[first_chunk..first_chunk + 1], "F");
    assert!(s[first_chunk + 1..].chars().all(|c| c == 'N'), "{s}");
}

// ---------------------------------------------------------------- requests left unanswered

/// A kernel that stops a sync daemon whose thread had not run yet: the
/// handler returns -EINTR, and netlink answers nothing at all for it. The
/// sentinel after it (GET_INFO) is answered as usual.
fn swallowing_stop() -> ScriptedKernel {
    ScriptedKernel::new(|req, out| {
        if req.command != cmd::DEL_DAEMON {
            out.obey(req);
        }
    })
}

#[test]
fn a_stop_daemon_left_unanswered_is_proved_done_by_the_sentinel_after_it() {
    let kernel = swallowing_stop();
    let ipvs = open(&kernel);
    ipvs.set_timeout(Duration::from_secs(2)).unwrap();
    // without the sentinel this times out
    ipvs.stop_daemon(SyncState::Master).unwrap();
    let reqs = kernel.requests();
    let cmds: Vec<u8> = reqs.iter().map(|r| r.command).collect();
    assert_eq!(cmds, [cmd::DEL_DAEMON, cmd::GET_INFO]);
    assert_eq!(reqs[0].send, reqs[1].send, "one send carries both");
    assert!(reqs[1].wants_ack() && reqs[1].seq == reqs[0].seq.wrapping_add(1));
    // and the handle stays in step
    ipvs.add_service(&Service::new(key(80))).unwrap();
}

#[test]
fn a_refused_stop_daemon_keeps_its_typed_error() {
    let kernel = ScriptedKernel::new(|req, out| match req.command {
        cmd::DEL_DAEMON => out.refuse(req, libc::ESRCH),
        _ => out.obey(req),
    });
    let err = open(&kernel).stop_daemon(SyncState::Backup).unwrap_err();
    assert!(is_esrch_not_found(&err), "{err:?}");
    assert!(err.to_string().contains("Backup sync daemon"), "{err}");
}

#[test]
fn a_batch_ending_in_a_stop_left_unanswered_finishes_on_the_sentinel() {
    let kernel = swallowing_stop();
    let ipvs = open(&kernel);
    ipvs.set_timeout(Duration::from_secs(2)).unwrap();
    let ops = [
        Operation::DeleteService(key(1)),
        Operation::StopDaemon(SyncState::Master),
        Operation::DeleteService(key(2)),
        Operation::StopDaemon(SyncState::Backup),
    ];
    for mode in [BatchMode::Continue, BatchMode::StopOnError] {
        let report = ipvs.execute(&ops, mode);
        assert_eq!(summary(&report.outcomes), "DDDD", "{mode:?}");
    }
    // pipelined: one send, the sentinel last; a stop in the middle needs none
    let cmds: Vec<u8> = kernel.requests()[..5].iter().map(|r| r.command).collect();
    assert_eq!(
        cmds,
        [
            cmd::DEL_SERVICE,
            cmd::DEL_DAEMON,
            cmd::DEL_SERVICE,
            cmd::DEL_DAEMON,
            cmd::GET_INFO
        ]
    );
}

#[test]
fn a_stop_daemon_the_kernel_never_answers_is_a_timeout_naming_it() {
    // neither the stop nor its sentinel is answered: the single operation's
    // typed timeout, as for any other operation
    let kernel = ScriptedKernel::new(|_, _| {});
    let ipvs = open(&kernel);
    ipvs.set_timeout(Duration::from_millis(20)).unwrap();
    let err = ipvs.stop_daemon(SyncState::Master).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(
        err.to_string().contains("stopping the Master sync daemon"),
        "{err}"
    );
}
