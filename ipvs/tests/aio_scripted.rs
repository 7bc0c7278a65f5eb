//! Host tests of the async handle (`lvskit::aio`) against a scripted kernel:
//! a thousand requests in flight from many tasks answered out of order with
//! some errors, listings streamed while other requests are answered, a
//! listing dropped midway, futures dropped before their answer, silence,
//! lost replies and pipelined batches. Each asserts the typed result every
//! caller gets.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod golden;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use golden::*;
use lvskit::aio;
use lvskit::raw::ipvs::{cmd, cmd_attr, dest_attr, put_service_nest, svc_attr};
use lvskit::raw::nla;
use lvskit::testing::{Replies, Request, ScriptedKernel};
use lvskit::{BatchMode, Destination, Error, OpOutcome, Operation, Service, ServiceKey};

fn key(i: u16) -> ServiceKey {
    ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), i)
}

fn dest(port: u16) -> Destination {
    Destination::new(Ipv4Addr::new(10, 1, 0, 2), port)
}

async fn open(kernel: &ScriptedKernel) -> aio::Ipvs {
    aio::Ipvs::with_kernel(kernel.clone()).await.unwrap()
}

/// The port of the service a request names.
fn service_port(req: &Request) -> u16 {
    let svc = lvskit::raw::ipvs::find(&req.attrs, cmd_attr::SERVICE)
        .unwrap()
        .unwrap();
    let port = lvskit::raw::ipvs::find(svc, svc_attr::PORT)
        .unwrap()
        .unwrap();
    nla::get_be16("port", port).unwrap()
}

/// The port of the destination a request names.
fn dest_port(req: &Request) -> u16 {
    let d = lvskit::raw::ipvs::find(&req.attrs, cmd_attr::DEST)
        .unwrap()
        .unwrap();
    let port = lvskit::raw::ipvs::find(d, dest_attr::PORT)
        .unwrap()
        .unwrap();
    nla::get_be16("port", port).unwrap()
}

/// A kernel that holds every request until the test answers it.
fn holding() -> (ScriptedKernel, Arc<Mutex<Vec<Request>>>) {
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = Arc::clone(&held);
    let kernel = ScriptedKernel::new(move |req, _| h.lock().unwrap().push(req.clone()));
    (kernel, held)
}

/// A deterministic shuffle (xorshift), so a failure replays.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Waits (bounded) until `n` requests are held.
async fn until_held(held: &Mutex<Vec<Request>>, n: usize) {
    for _ in 0..2000 {
        if held.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("only {} of {n} requests came", held.lock().unwrap().len());
}

/// How the out-of-order kernel answers one request: destination ports that
/// are multiples of 7 exist already; a service lookup is answered with that
/// very service (so a mixed-up answer shows), multiples of 11 are missing.
fn answer(req: &Request, out: &mut Replies) {
    match req.command {
        cmd::NEW_DEST if dest_port(req) % 7 == 0 => out.refuse(req, libc::EEXIST),
        cmd::GET_SERVICE if service_port(req) % 11 == 0 => out.refuse(req, libc::ESRCH),
        cmd::GET_SERVICE => {
            let mut attrs = Vec::new();
            put_service_nest(&mut attrs, &Service::new(key(service_port(req)))).unwrap();
            out.send(&[req.reply(cmd::NEW_SERVICE, &attrs), req.ack()]);
        }
        _ => out.obey(req),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_requests_in_flight_each_get_their_own_result() {
    let (kernel, held) = holding();
    let ipvs = open(&kernel).await;
    // 500 adds and 500 lookups from 1,000 tasks, all in flight at once
    let tasks: Vec<_> = (1..=1000u16)
        .map(|i| {
            let ipvs = ipvs.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    ipvs.add_destination(&key(80), &dest(i)).await.map(|()| 0)
                } else {
                    ipvs.service(&key(i)).await.map(|e| match e.service.key {
                        ServiceKey::Inet { port, .. } => port,
                        _ => 0,
                    })
                }
            })
        })
        .collect();
    until_held(&held, 1000).await;
    let mut reqs = std::mem::take(&mut *held.lock().unwrap());
    assert_eq!(reqs.len(), 1000, "every request was sent before any answer");
    shuffle(&mut reqs, 0x9e37_79b9_7f4a_7c15);
    // writes sent together ask for one acknowledgement, the last one's (a
    // barrier): the kernel answers a send's requests in order, so each
    // barrier is answered after the other requests of its send
    let (barriers, mut reqs): (Vec<Request>, Vec<Request>) = reqs
        .into_iter()
        .partition(|r| r.command == cmd::NEW_DEST && r.wants_ack());
    let sends = barriers.len();
    reqs.extend(barriers);
    // answered out of order, several replies per datagram
    for group in reqs.chunks(13) {
        kernel.answer(|out| {
            for req in group {
                answer(req, out);
            }
        });
    }
    for (i, t) in (1..=1000u16).zip(tasks) {
        let r = t.await.unwrap();
        match (i % 2, r) {
            (0, Ok(0)) if i % 7 != 0 => {}
            (0, Err(Error::Exists { context, errno })) if i % 7 == 0 => {
                assert_eq!(errno, libc::EEXIST);
                assert!(context.contains(&format!(":{i}")), "{context}");
            }
            (1, Ok(port)) if i % 11 != 0 => assert_eq!(port, i),
            (1, Err(Error::NotFound { errno, .. })) if i % 11 == 0 => {
                assert_eq!(errno, libc::ESRCH)
            }
            (_, r) => panic!("request {i} got {r:?}"),
        }
    }
    assert!(sends < 500, "{sends} sends carried the 500 writes");
    // the socket is still in step
    kernel.answer(|_| {});
    let next = tokio::spawn({
        let ipvs = ipvs.clone();
        async move { ipvs.service(&key(5)).await }
    });
    until_held(&held, 1).await;
    let req = held.lock().unwrap().pop().unwrap();
    kernel.answer(|out| answer(&req, out));
    assert_eq!(next.await.unwrap().unwrap().service.key, key(5));
}

#[tokio::test]
async fn listings_decode_as_the_blocking_handle_does() {
    let kernel = golden_kernel(DumpDatagrams::Two);
    let ipvs = open(&kernel).await;
    let blocking = lvskit::Ipvs::with_kernel(kernel.clone()).unwrap();
    let keys = |v: Vec<lvskit::ServiceEntry>| v.into_iter().map(|e| e.service).collect::<Vec<_>>();
    assert_eq!(
        keys(ipvs.services().await.unwrap()),
        keys(blocking.services().unwrap())
    );
    let d = ipvs.destinations(&key(80)).await.unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(
        d[0].destination,
        blocking.destinations(&key(80)).unwrap()[0].destination
    );
    assert_eq!(ipvs.daemons().await.unwrap(), blocking.daemons().unwrap());
    assert_eq!(ipvs.timeouts().await.unwrap(), blocking.timeouts().unwrap());
    assert_eq!(ipvs.info().await.unwrap(), blocking.info().unwrap());
    let table = ipvs.read_table().await.unwrap();
    assert_eq!(table, lvskit::table::Table::read(&blocking).unwrap());
}

#[tokio::test]
async fn a_slow_listing_does_not_hold_up_other_answers() {
    let kernel = golden_kernel(DumpDatagrams::Two);
    let ipvs = open(&kernel).await;
    let mut listing = ipvs.service_stream().await.unwrap();
    // the listing's replies are queued first and nobody reads them yet
    ipvs.add_destination(&key(80), &dest(1)).await.unwrap();
    assert_eq!(ipvs.info().await.unwrap().conn_table_size, 4096);
    let mut n = 0;
    while let Some(e) = listing.next_entry().await {
        e.unwrap();
        n += 1;
    }
    assert_eq!(n, 3);
}

#[tokio::test]
async fn a_listing_dropped_midway_leaves_the_socket_in_step() {
    let kernel = golden_kernel(DumpDatagrams::Two);
    let ipvs = open(&kernel).await;
    let mut listing = ipvs.service_stream().await.unwrap();
    let first = listing.next_entry().await.unwrap().unwrap();
    assert_eq!(first.service.key, key(80));
    drop(listing);
    // the rest of that dump is read and dropped; what follows is answered right
    ipvs.add_destination(&key(80), &dest(1)).await.unwrap();
    assert_eq!(ipvs.service(&key(80)).await.unwrap().service.key, key(80));
    assert_eq!(ipvs.services().await.unwrap().len(), 3);
    let sends = kernel.requests();
    assert_eq!(sends.len(), 4);
}

#[tokio::test]
async fn a_dropped_future_does_not_take_a_later_answer() {
    let (kernel, held) = holding();
    let ipvs = open(&kernel).await;
    ipvs.set_timeout(Duration::from_secs(30));
    // a caller gives up before the answer (e.g. a select! or its own timeout)
    let gave_up = tokio::time::timeout(
        Duration::from_millis(20),
        ipvs.add_destination(&key(80), &dest(7)),
    )
    .await;
    assert!(gave_up.is_err());
    let stale = held.lock().unwrap().pop().unwrap();
    // the next request is answered after the stale error of the first
    let next = tokio::spawn({
        let ipvs = ipvs.clone();
        async move { ipvs.add_destination(&key(80), &dest(8)).await }
    });
    until_held(&held, 1).await;
    let req = held.lock().unwrap().pop().unwrap();
    kernel.answer(|out| {
        out.refuse(&stale, libc::EEXIST);
        out.obey(&req);
    });
    next.await.unwrap().unwrap();
}

#[tokio::test]
async fn silence_is_a_timeout_then_requests_are_answered() {
    // the kernel never answers port 1, and never ends a destination listing
    let kernel = ScriptedKernel::new(|req, out| match req.command {
        cmd::NEW_DEST if dest_port(req) == 1 => {}
        cmd::GET_DEST => {}
        _ => out.obey(req),
    });
    let ipvs = open(&kernel).await;
    ipvs.set_timeout(Duration::from_millis(50));
    let err = ipvs.add_destination(&key(80), &dest(1)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { after, context } if *after == Duration::from_millis(50) && context.contains("adding destination")),
        "{err:?}"
    );
    ipvs.add_destination(&key(80), &dest(2)).await.unwrap();
    let err = ipvs.destinations(&key(80)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    // the socket's one dump is free again after a timed-out listing
    assert!(ipvs.services().await.unwrap().is_empty());
    // a late answer to the silent request is skipped
    let silent = kernel.requests()[0].clone();
    kernel.answer(|out| out.refuse(&silent, libc::EEXIST));
    ipvs.add_destination(&key(80), &dest(3)).await.unwrap();
}

#[tokio::test]
async fn lost_replies_fail_every_request_waiting_then_the_socket_goes_on() {
    let (kernel, held) = holding();
    let ipvs = open(&kernel).await;
    let waiting: Vec<_> = (1..=3u16)
        .map(|i| {
            let ipvs = ipvs.clone();
            tokio::spawn(async move { ipvs.add_destination(&key(80), &dest(i)).await })
        })
        .collect();
    until_held(&held, 3).await;
    kernel.answer(|out| out.fail(libc::ENOBUFS));
    for t in waiting {
        let err = t.await.unwrap().unwrap_err();
        assert!(
            matches!(&err, Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOBUFS)),
            "{err:?}"
        );
    }
    held.lock().unwrap().clear();
    let next = tokio::spawn({
        let ipvs = ipvs.clone();
        async move { ipvs.add_destination(&key(80), &dest(4)).await }
    });
    until_held(&held, 1).await;
    let req = held.lock().unwrap().pop().unwrap();
    kernel.answer(|out| out.obey(&req));
    next.await.unwrap().unwrap();
}

#[tokio::test]
async fn typed_errors_are_the_blocking_handles() {
    let kernel = ScriptedKernel::new(|req, out| match req.command {
        cmd::NEW_SERVICE => out.refuse(req, libc::ENOENT),
        cmd::GET_DEST => out.send(&[req.done()]),
        cmd::GET_SERVICE => out.refuse(req, libc::ESRCH),
        _ => out.obey(req),
    });
    let ipvs = open(&kernel).await;
    let blocking = lvskit::Ipvs::with_kernel(kernel.clone()).unwrap();
    let svc = Service::new(key(80)).with_scheduler(lvskit::Scheduler::WeightedRoundRobin);
    let a = ipvs.add_service(&svc).await.unwrap_err();
    let b = blocking.add_service(&svc).unwrap_err();
    assert!(
        matches!(&a, Error::ModuleMissing { module, .. } if module == "ip_vs_wrr"),
        "{a:?}"
    );
    assert_eq!(a.to_string(), b.to_string());
    let a = ipvs.destinations(&key(80)).await.unwrap_err();
    let b = blocking.destinations(&key(80)).unwrap_err();
    assert!(matches!(&a, Error::NotFound { .. }), "{a:?}");
    assert_eq!(a.to_string(), b.to_string());
    // bad input never reaches the kernel
    let before = kernel.requests().len();
    let bad = Destination::new(IpAddr::from([10, 1, 0, 2]), 80).with_weight(u32::MAX);
    let a = ipvs.add_destination(&key(80), &bad).await.unwrap_err();
    assert!(matches!(a, Error::InvalidInput { .. }), "{a:?}");
    assert_eq!(kernel.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_batch_beside_single_requests_attributes_each_error() {
    let kernel = ScriptedKernel::new(|req, out| {
        let refused =
            req.command == cmd::DEL_SERVICE && [3, 500, 2999].contains(&service_port(req));
        if refused {
            out.refuse(req, libc::ESRCH);
        } else {
            out.obey(req);
        }
    });
    let ipvs = open(&kernel).await;
    let ops: Vec<Operation> = (1..=3000)
        .map(|i| Operation::DeleteService(key(i)))
        .collect();
    let singles: Vec<_> = (0..50u16)
        .map(|i| {
            let ipvs = ipvs.clone();
            tokio::spawn(async move { ipvs.add_destination(&key(80), &dest(i)).await })
        })
        .collect();
    let report = ipvs.execute(&ops, BatchMode::Continue).await;
    for t in singles {
        t.await.unwrap().unwrap();
    }
    let failed: Vec<usize> = report.failures().map(|(i, _)| i).collect();
    assert_eq!(failed, vec![2, 499, 2998]);
    assert!(matches!(
        report.outcomes[499],
        OpOutcome::Failed(Error::NotFound { .. })
    ));
    assert!(kernel.sends() < 60, "pipelined: {} sends", kernel.sends());
    // stop on error: the rest is not attempted
    let report = ipvs.execute(&ops[..10], BatchMode::StopOnError).await;
    assert_eq!(report.done(), 2);
    assert!(matches!(report.outcomes[3], OpOutcome::NotAttempted));
}

#[tokio::test]
async fn a_restore_and_a_converge_run_as_on_the_blocking_handle() {
    let kernel = golden_kernel(DumpDatagrams::Two);
    let ipvs = open(&kernel).await;
    let report = ipvs
        .restore(
            "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.2:80 -m\n",
            BatchMode::StopOnError,
        )
        .await
        .unwrap();
    assert!(report.report.is_ok());
    let blocking = lvskit::Ipvs::with_kernel(kernel.clone()).unwrap();
    let desired = lvskit::table::Table::default();
    let opts = lvskit::table::DiffOptions::default();
    let a = ipvs.plan(&desired, &opts).await.unwrap();
    let b = blocking.plan(&desired, &opts).unwrap();
    assert_eq!(a.operations, b.operations);
    assert!(!a.operations.is_empty());
    let (_, report) = ipvs.converge(&desired, &opts).await.unwrap();
    assert!(report.is_ok());
    // set_weight reads the destination and writes it back whole
    ipvs.set_weight(&key(80), IpAddr::from([10, 1, 0, 2]), 8080, 0)
        .await
        .unwrap();
    let last = kernel.requests().pop().unwrap();
    assert_eq!(last.command, cmd::SET_DEST);
    ipvs.set_scheduler(&key(80), lvskit::Scheduler::LeastConnection)
        .await
        .unwrap();
    assert_eq!(kernel.requests().pop().unwrap().command, cmd::SET_SERVICE);
}

#[tokio::test]
async fn lost_replies_leave_a_batchs_outcomes_unknown() {
    let (kernel, held) = holding();
    let ipvs = open(&kernel).await;
    let ops: Vec<Operation> = (1..=5).map(|i| Operation::DeleteService(key(i))).collect();
    let batch = tokio::spawn({
        let ipvs = ipvs.clone();
        async move { ipvs.execute(&ops, BatchMode::Continue).await }
    });
    until_held(&held, 5).await;
    kernel.answer(|out| out.fail(libc::ENOBUFS));
    let report = batch.await.unwrap();
    assert_eq!(report.outcomes.len(), 5);
    for o in &report.outcomes {
        assert!(
            matches!(o, OpOutcome::Unknown(e) if e.to_string().contains("overflowed")),
            "{o:?}"
        );
    }
}

/// A kernel whose service dump is 40 datagrams of 100 services each.
fn long_listing() -> ScriptedKernel {
    ScriptedKernel::new(|req, out| {
        if req.command == cmd::GET_SERVICE && req.is_dump() {
            for part in 0..40u16 {
                let msgs: Vec<Vec<u8>> = (0..100u16)
                    .map(|i| {
                        let mut attrs = Vec::new();
                        put_service_nest(&mut attrs, &Service::new(key(part * 100 + i + 1)))
                            .unwrap();
                        req.reply(cmd::NEW_SERVICE, &attrs)
                    })
                    .collect();
                out.send(&msgs);
            }
            out.send(&[req.done()]);
        } else {
            out.obey(req);
        }
    })
}

#[tokio::test]
async fn a_listing_not_consumed_is_not_read_ahead_while_nothing_else_waits() {
    let kernel = long_listing();
    let ipvs = open(&kernel).await;
    let mut listing = ipvs.service_stream().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // back-pressure: the reader stopped after a few hundred entries
    let left = kernel.queued();
    assert!(left > 30, "read ahead: only {left} of 41 datagrams left");
    // another request is answered all the same (the listing is buffered meanwhile)
    ipvs.add_destination(&key(80), &dest(1)).await.unwrap();
    let mut n = 0u16;
    while let Some(e) = listing.next_entry().await {
        n += 1;
        assert_eq!(e.unwrap().service.key, key(n));
    }
    assert_eq!(n, 4000);
    assert_eq!(kernel.queued(), 0);
}

#[tokio::test]
async fn requests_in_flight_go_out_together_and_a_failed_send_fails_each() {
    let kernel = ScriptedKernel::obedient().fail_send(0, libc::EAGAIN);
    let ipvs = open(&kernel).await;
    let spawn = |n: u16| -> Vec<_> {
        (0..n)
            .map(|i| {
                let ipvs = ipvs.clone();
                tokio::spawn(async move { ipvs.add_destination(&key(80), &dest(i)).await })
            })
            .collect()
    };
    // on this one-thread runtime every task queues its request before the
    // reader task runs: one send carries them all, and it fails
    for t in spawn(10) {
        let err = t.await.unwrap().unwrap_err();
        assert!(
            matches!(&err, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EAGAIN)),
            "{err:?}"
        );
    }
    assert_eq!(kernel.sends(), 1);
    for t in spawn(100) {
        t.await.unwrap().unwrap();
    }
    assert_eq!(kernel.requests().len(), 100);
    assert!(kernel.sends() <= 3, "{} sends", kernel.sends());
}

#[tokio::test]
async fn a_round_of_requests_in_flight_costs_one_send_and_one_receive() {
    let kernel = ScriptedKernel::obedient();
    let ipvs = open(&kernel).await;
    let (sends, (receives, empty)) = (kernel.sends(), kernel.receives());
    // on this one-thread runtime the 64 tasks queue their requests before
    // the reader task runs: one send, and the kernel answered it within the
    // send, so one receive takes the answer and nothing waits for readiness
    // or reads an empty socket
    let tasks: Vec<_> = (1..=64u16)
        .map(|i| {
            let ipvs = ipvs.clone();
            tokio::spawn(async move { ipvs.add_destination(&key(80), &dest(i)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let (r, e) = kernel.receives();
    assert_eq!(kernel.sends() - sends, 1);
    assert_eq!((r - receives, e - empty), (1, 0));
    // a request answered later still gets its answer (the reader waits for
    // readiness only while someone waits)
    let (kernel, held) = holding();
    let ipvs = open(&kernel).await;
    let next = tokio::spawn(async move { ipvs.add_destination(&key(80), &dest(1)).await });
    until_held(&held, 1).await;
    let req = held.lock().unwrap().pop().unwrap();
    kernel.answer(|out| out.refuse(&req, libc::EEXIST));
    assert!(matches!(next.await.unwrap(), Err(Error::Exists { .. })));
}

#[tokio::test]
async fn a_stop_daemon_left_unanswered_is_proved_done_by_the_sentinel_after_it() {
    // the kernel answers nothing for a sync daemon stopped before its thread
    // ran (the handler's -EINTR): the sentinel after it is answered
    let kernel = ScriptedKernel::new(|req, out| {
        if req.command != cmd::DEL_DAEMON {
            out.obey(req);
        }
    });
    let ipvs = open(&kernel).await;
    ipvs.set_timeout(Duration::from_secs(2));
    // without the sentinel this times out
    ipvs.stop_daemon(lvskit::SyncState::Master).await.unwrap();
    let ops = [
        Operation::StopDaemon(lvskit::SyncState::Backup),
        Operation::DeleteService(key(1)),
        Operation::StopDaemon(lvskit::SyncState::Master),
    ];
    let report = ipvs.execute(&ops, BatchMode::Continue).await;
    assert!(report.is_ok(), "{report:?}");
    let cmds: Vec<u8> = kernel.requests().iter().map(|r| r.command).collect();
    assert_eq!(
        cmds,
        [
            cmd::DEL_DAEMON,
            cmd::GET_INFO,
            cmd::DEL_DAEMON,
            cmd::DEL_SERVICE,
            cmd::DEL_DAEMON,
            cmd::GET_INFO
        ]
    );
    ipvs.add_service(&Service::new(key(80))).await.unwrap();
}

#[tokio::test]
async fn a_stop_daemon_the_kernel_never_answers_is_a_timeout_naming_it() {
    let kernel = ScriptedKernel::new(|_, _| {});
    let ipvs = open(&kernel).await;
    ipvs.set_timeout(Duration::from_millis(20));
    let err = ipvs
        .stop_daemon(lvskit::SyncState::Master)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(
        err.to_string().contains("stopping the Master sync daemon"),
        "{err}"
    );
}

#[tokio::test]
async fn a_request_held_while_thousands_pass_still_gets_its_own_answer() {
    // requests are found by their sequence number in a slab; one that waits
    // while more than the slab's places of others come and go (and a dump
    // left open meanwhile) must still be found, and answered, as its own
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = Arc::clone(&held);
    let kernel = ScriptedKernel::new(move |req, out| {
        let slow = (req.command == cmd::NEW_DEST && dest_port(req) == 1) || req.is_dump();
        if slow {
            h.lock().unwrap().push(req.clone());
        } else {
            out.obey(req);
        }
    });
    let ipvs = open(&kernel).await;
    let first = tokio::spawn({
        let ipvs = ipvs.clone();
        async move { ipvs.add_destination(&key(80), &dest(1)).await }
    });
    until_held(&held, 1).await;
    let listed = tokio::spawn({
        let ipvs = ipvs.clone();
        async move { ipvs.services().await.map(|s| s.len()) }
    });
    until_held(&held, 2).await;
    let calls: Vec<_> = (0..64u16)
        .map(|t| {
            let ipvs = ipvs.clone();
            tokio::spawn(async move {
                for i in 0..80u16 {
                    ipvs.add_destination(&key(81 + t), &dest(2 + i))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for c in calls {
        c.await.unwrap();
    }
    assert!(!first.is_finished() && !listed.is_finished());
    let reqs = std::mem::take(&mut *held.lock().unwrap());
    kernel.answer(|out| {
        out.refuse(&reqs[0], libc::EEXIST);
        out.send(&[reqs[1].done()]);
    });
    match first.await.unwrap() {
        Err(Error::Exists { context, .. }) => assert!(context.contains(":1"), "{context}"),
        r => panic!("the held request got {r:?}"),
    }
    assert_eq!(listed.await.unwrap().unwrap(), 0);
    // the socket is still in step
    ipvs.add_destination(&key(80), &dest(2)).await.unwrap();
}
