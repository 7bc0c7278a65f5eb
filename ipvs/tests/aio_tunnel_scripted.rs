//! Host tests of the async tunnel handles (`lvskit::aio::Rtnl` and
//! `lvskit::aio::Fou`) against a scripted kernel: many requests in flight
//! answered out of order with some errors, listings dropped midway, futures
//! dropped before their answer, silence (timeouts) and lost replies. Each
//! asserts the typed result every caller gets and that the socket stays in
//! step afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lvskit::aio;
use lvskit::raw::ipvs::find;
use lvskit::raw::nla;
use lvskit::raw::rtnl::{ifa, ifla, rtm, IFADDRMSG_LEN, IFINFOMSG_LEN};
use lvskit::testing::{Replies, Request, ScriptedKernel, FAMILY_ID};
use lvskit::tunnel::fou::cmd as fou_cmd;
use lvskit::tunnel::{Dev, FouPort, NewLink};
use lvskit::{Error, ErrorKind};

/// A kernel that holds every request until the test answers it.
fn holding() -> (ScriptedKernel, Arc<Mutex<Vec<Request>>>) {
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = Arc::clone(&held);
    let kernel = ScriptedKernel::new(move |req, _| h.lock().unwrap().push(req.clone()));
    (kernel, held)
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

/// Takes the held requests.
fn take(held: &Mutex<Vec<Request>>) -> Vec<Request> {
    std::mem::take(&mut *held.lock().unwrap())
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

// ------------------------------------------------------------- rtnetlink

/// Device `dN` has index 100 + N, for N in 1..=LINKS.
const LINKS: u32 = 100;

/// The payload of an `RTM_NEWLINK` describing device `index`.
fn link_payload(index: u32) -> Vec<u8> {
    let mut p = vec![0u8; IFINFOMSG_LEN];
    p[4..8].copy_from_slice(&index.to_ne_bytes());
    nla::put_str(&mut p, ifla::IFNAME, &format!("d{}", index - 100));
    nla::put_u32(&mut p, ifla::MTU, 1400 + index);
    p
}

/// The index of the device an rtnetlink link request names (by name or by
/// index), if it exists.
fn named_link(req: &Request) -> Option<u32> {
    let index = u32::from_ne_bytes(req.payload[4..8].try_into().unwrap());
    let index = match find(&req.payload[IFINFOMSG_LEN..], ifla::IFNAME).unwrap() {
        Some(name) => {
            let name = nla::get_str("name", name).unwrap();
            100 + name.strip_prefix('d')?.parse::<u32>().ok()?
        }
        None => index,
    };
    (101..=100 + LINKS).contains(&index).then_some(index)
}

/// The payload of an `RTM_NEWADDR` of 10.0.0.N/32 on device `index`.
fn addr_payload(index: u32, n: u8) -> Vec<u8> {
    let mut p = vec![libc::AF_INET as u8, 32, 0, 0];
    p.extend_from_slice(&index.to_ne_bytes());
    nla::put(&mut p, ifa::LOCAL, &[10, 0, 0, n]);
    p
}

/// How the rtnetlink kernel answers: devices d1..d100 exist; an address
/// whose last byte is a multiple of 5 is there already.
fn rt_answer(req: &Request, out: &mut Replies) {
    match req.ty {
        rtm::GETLINK if req.is_dump() => {
            // three datagrams of entries, then the end
            for part in (101..=106u32).collect::<Vec<_>>().chunks(2) {
                let msgs: Vec<_> = part
                    .iter()
                    .map(|&i| req.data(rtm::NEWLINK, &link_payload(i)))
                    .collect();
                out.send(&msgs);
            }
            out.send(&[req.done()]);
        }
        rtm::GETLINK => match named_link(req) {
            Some(i) => out.send(&[req.data(rtm::NEWLINK, &link_payload(i)), req.ack()]),
            None => out.refuse(req, libc::ENODEV),
        },
        rtm::NEWADDR if req.payload[IFADDRMSG_LEN + 4 + 3] % 5 == 0 => {
            out.refuse(req, libc::EEXIST)
        }
        rtm::GETADDR => {
            out.send(&[
                req.data(rtm::NEWADDR, &addr_payload(101, 1)),
                req.data(rtm::NEWADDR, &addr_payload(102, 2)),
            ]);
            out.send(&[req.done()]);
        }
        _ => out.obey(req),
    }
}

async fn rtnl(kernel: &ScriptedKernel) -> aio::Rtnl {
    aio::Rtnl::with_kernel(kernel.clone()).await.unwrap()
}

/// What one task of the in-flight test asks, and what it got.
#[derive(Debug, PartialEq)]
enum Got {
    Link(Option<(u32, String, u32)>),
    Added,
}

async fn ask(rtnl: &aio::Rtnl, i: u32) -> lvskit::Result<Got> {
    let link = |l: Option<lvskit::tunnel::Link>| Got::Link(l.map(|l| (l.index, l.name, l.mtu)));
    match i % 3 {
        0 => rtnl.link(format!("d{i}").as_str()).await.map(link),
        1 => rtnl.link(Dev::Index(100 + i)).await.map(link),
        _ => {
            let net = format!("10.0.0.{}/32", i % 250).parse().unwrap();
            rtnl.add_address(Dev::Index(100 + i), net)
                .await
                .map(|()| Got::Added)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rtnl_requests_in_flight_answered_out_of_order_each_get_their_own() {
    let (kernel, held) = holding();
    let rtnl = rtnl(&kernel).await;
    // 300 lookups and address additions from 300 tasks, all in flight
    let tasks: Vec<_> = (1..=300u32)
        .map(|i| {
            let rtnl = rtnl.clone();
            tokio::spawn(async move { ask(&rtnl, i).await })
        })
        .collect();
    until_held(&held, 300).await;
    let mut reqs = take(&held);
    shuffle(&mut reqs, 0x2545_f491_4f6c_dd1d);
    for group in reqs.chunks(7) {
        kernel.answer(|out| group.iter().for_each(|r| rt_answer(r, out)));
    }
    for (i, t) in (1..=300u32).zip(tasks) {
        let got = t.await.unwrap();
        let exists = i <= LINKS;
        match (i % 3, got) {
            (0 | 1, Ok(Got::Link(Some((index, name, mtu))))) if exists => {
                assert_eq!((index, name, mtu), (100 + i, format!("d{i}"), 1500 + i));
            }
            (0 | 1, Ok(Got::Link(None))) if !exists => {}
            (2, Ok(Got::Added)) if (i % 250) % 5 != 0 => {}
            (2, Err(e)) if (i % 250) % 5 == 0 => {
                assert_eq!(e.kind(), ErrorKind::Exists, "{e:?}");
                assert!(
                    e.to_string().contains(&format!("10.0.0.{}", i % 250)),
                    "{e}"
                );
            }
            (_, got) => panic!("request {i} got {got:?}"),
        }
    }
    // the socket is still in step
    let next = tokio::spawn({
        let rtnl = rtnl.clone();
        async move { ask(&rtnl, 4).await }
    });
    until_held(&held, 1).await;
    let req = take(&held).pop().unwrap();
    kernel.answer(|out| rt_answer(&req, out));
    assert_eq!(
        next.await.unwrap().unwrap(),
        Got::Link(Some((104, "d4".into(), 1504)))
    );
}

#[tokio::test]
async fn rtnl_listing_dropped_midway_leaves_the_socket_in_step() {
    let kernel = ScriptedKernel::new(rt_answer);
    let rtnl = rtnl(&kernel).await;
    let mut listing = rtnl.link_stream().await.unwrap();
    let first = listing.next_entry().await.unwrap().unwrap();
    assert_eq!(first.index, 101);
    drop(listing);
    // the rest of that dump is read and skipped; what follows is answered right
    let d7 = rtnl.link("d7").await.unwrap().unwrap();
    assert_eq!((d7.index, d7.mtu), (107, 1507));
    let all = rtnl.links().await.unwrap();
    let indexes: Vec<u32> = all.iter().map(|l| l.index).collect();
    assert_eq!(indexes, (101..=106).collect::<Vec<_>>());
    let addrs = rtnl.addresses(Some(Dev::Name("d2"))).await.unwrap();
    assert_eq!(addrs.len(), 1);
    assert_eq!(addrs[0].addr, Ipv4Addr::new(10, 0, 0, 2));
}

#[tokio::test]
async fn rtnl_silence_is_a_timeout_and_a_late_answer_is_skipped() {
    // the kernel never answers a lookup of d9
    let kernel = ScriptedKernel::new(|req, out| match named_link(req) {
        Some(109) => {}
        _ => rt_answer(req, out),
    });
    let rtnl = rtnl(&kernel).await;
    rtnl.set_timeout(Duration::from_millis(50));
    let err = rtnl.link("d9").await.unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { after, context } if *after == Duration::from_millis(50) && context.contains("d9")),
        "{err:?}"
    );
    // the late answer to d9 comes before the next request's: it is skipped
    let silent = kernel.requests()[0].clone();
    kernel.answer(|out| out.send(&[silent.data(rtm::NEWLINK, &link_payload(109)), silent.ack()]));
    let d3 = rtnl.link("d3").await.unwrap().unwrap();
    assert_eq!(d3.index, 103);
}

#[tokio::test]
async fn rtnl_a_dropped_future_does_not_take_a_later_answer() {
    let (kernel, held) = holding();
    let rtnl = rtnl(&kernel).await;
    let gave_up = tokio::time::timeout(Duration::from_millis(20), rtnl.link("d5")).await;
    assert!(gave_up.is_err());
    let stale = take(&held).pop().unwrap();
    let next = tokio::spawn({
        let rtnl = rtnl.clone();
        async move { rtnl.link("d6").await }
    });
    until_held(&held, 1).await;
    let req = take(&held).pop().unwrap();
    kernel.answer(|out| {
        rt_answer(&stale, out);
        rt_answer(&req, out);
    });
    assert_eq!(next.await.unwrap().unwrap().unwrap().index, 106);
}

#[tokio::test]
async fn rtnl_lost_replies_fail_every_request_waiting_then_the_socket_goes_on() {
    let (kernel, held) = holding();
    let rtnl = rtnl(&kernel).await;
    let waiting: Vec<_> = (1..=3u32)
        .map(|i| {
            let rtnl = rtnl.clone();
            tokio::spawn(async move { rtnl.link(Dev::Index(100 + i)).await })
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
    take(&held);
    let next = tokio::spawn({
        let rtnl = rtnl.clone();
        async move { rtnl.link(Dev::Index(104)).await }
    });
    until_held(&held, 1).await;
    let req = take(&held).pop().unwrap();
    kernel.answer(|out| rt_answer(&req, out));
    assert_eq!(next.await.unwrap().unwrap().unwrap().name, "d4");
}

#[tokio::test]
async fn rtnl_errors_are_typed_and_bad_input_is_never_sent() {
    // creating "taken" is refused; "ghost" is acknowledged but never there
    let kernel = ScriptedKernel::new(|req, out| match req.ty {
        rtm::NEWLINK
            if find(&req.payload[IFINFOMSG_LEN..], ifla::IFNAME).unwrap() == Some(b"taken\0") =>
        {
            out.refuse(req, libc::EEXIST)
        }
        _ => rt_answer(req, out),
    });
    let rtnl = rtnl(&kernel).await;
    let e = rtnl.add_link(&NewLink::dummy("taken")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Exists, "{e:?}");
    assert!(e.to_string().contains("taken"), "{e}");
    let e = rtnl.add_link(&NewLink::dummy("ghost")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
    // a device that is not there: only the lookup is sent
    let before = kernel.requests().len();
    let e = rtnl.del_link("nope").await.unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { errno, .. } if *errno == libc::ENODEV),
        "{e:?}"
    );
    assert_eq!(kernel.requests().len(), before + 1);
    // bad input: nothing is sent
    let before = kernel.requests().len();
    let e = rtnl.set_mtu("d1", 10).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    let e = rtnl.link("a name far too long").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert_eq!(kernel.requests().len(), before);
    // and the socket goes on
    assert_eq!(rtnl.link("d1").await.unwrap().unwrap().index, 101);
}

// ------------------------------------------------------------------- FOU

/// The FOU port a request names.
fn fou_port(req: &Request) -> u16 {
    let p = find(&req.attrs, lvskit::tunnel::fou::attr::PORT)
        .unwrap()
        .unwrap();
    nla::get_be16("port", p).unwrap()
}

/// How the FOU kernel answers: an add of a port that is a multiple of 7 is
/// a duplicate (`EADDRINUSE`, as Linux 6.1 answers), a delete of a multiple
/// of 11 names no port (`EINVAL`); a listing echoes every port added so far
/// as the scripted kernel received it, two per datagram.
fn fou_kernel(added: Arc<Mutex<BTreeMap<u16, Vec<u8>>>>) -> impl FnMut(&Request, &mut Replies) {
    move |req, out| match req.command {
        fou_cmd::ADD if fou_port(req) % 7 == 0 => out.refuse(req, libc::EADDRINUSE),
        fou_cmd::ADD => {
            added
                .lock()
                .unwrap()
                .insert(fou_port(req), req.attrs.clone());
            out.obey(req);
        }
        fou_cmd::DEL if fou_port(req) % 11 == 0 => out.refuse(req, libc::EINVAL),
        fou_cmd::GET => {
            let ports: Vec<Vec<u8>> = added.lock().unwrap().values().cloned().collect();
            for pair in ports.chunks(2) {
                let msgs: Vec<_> = pair.iter().map(|a| req.reply(fou_cmd::ADD, a)).collect();
                out.send(&msgs);
            }
            out.send(&[req.done()]);
        }
        _ => out.obey(req),
    }
}

async fn fou(kernel: &ScriptedKernel) -> aio::Fou {
    let fou = aio::Fou::with_kernel(kernel.clone()).await.unwrap();
    assert_eq!(fou.family_id(), FAMILY_ID);
    fou
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fou_requests_in_flight_answered_out_of_order_each_get_their_own() {
    let added = Arc::new(Mutex::new(BTreeMap::new()));
    let mut script = fou_kernel(Arc::clone(&added));
    let (kernel, held) = holding();
    let fou = fou(&kernel).await;
    // ports 1..=200: odd ones added, even ones deleted
    let tasks: Vec<_> = (1..=200u16)
        .map(|p| {
            let fou = fou.clone();
            tokio::spawn(async move {
                if p % 2 == 1 {
                    fou.add(&FouPort::gue(6000 + p)).await
                } else {
                    fou.del(&FouPort::gue(6000 + p)).await
                }
            })
        })
        .collect();
    until_held(&held, 200).await;
    let mut reqs = take(&held);
    assert!(reqs.iter().all(|r| r.ty == FAMILY_ID));
    shuffle(&mut reqs, 0x9e37_79b9_7f4a_7c15);
    for group in reqs.chunks(9) {
        kernel.answer(|out| group.iter().for_each(|r| script(r, out)));
    }
    for (p, t) in (1..=200u16).zip(tasks) {
        let port = 6000 + p;
        match (p % 2, t.await.unwrap()) {
            (1, Ok(())) if port % 7 != 0 => {}
            (1, Err(Error::Exists { context, errno })) if port % 7 == 0 => {
                assert_eq!(errno, libc::EADDRINUSE);
                assert!(context.contains(&port.to_string()), "{context}");
            }
            (0, Ok(())) if port % 11 != 0 => {}
            (0, Err(Error::NotFound { context, .. })) if port % 11 == 0 => {
                assert!(context.contains(&port.to_string()), "{context}");
            }
            (_, r) => panic!("port {port} got {r:?}"),
        }
    }
    let expected = (1..=200u16)
        .filter(|p| p % 2 == 1 && (6000 + p) % 7 != 0)
        .count();
    assert_eq!(added.lock().unwrap().len(), expected);
}

#[tokio::test]
async fn fou_listing_dropped_midway_leaves_the_socket_in_step() {
    let added = Arc::new(Mutex::new(BTreeMap::new()));
    let kernel = ScriptedKernel::new(fou_kernel(Arc::clone(&added)));
    let fou = fou(&kernel).await;
    for p in [6080u16, 6081, 6082, 6084, 6085] {
        fou.add(&FouPort::gue(p)).await.unwrap();
    }
    let mut listing = fou.list_stream().await.unwrap();
    assert_eq!(
        listing.next_entry().await.unwrap().unwrap(),
        FouPort::gue(6080)
    );
    drop(listing);
    // the rest of that dump is skipped; the next requests are answered right
    let e = fou.add(&FouPort::gue(6090)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Exists, "{e:?}");
    fou.add(&FouPort::gue(6086)).await.unwrap();
    let ports: Vec<u16> = fou.list().await.unwrap().iter().map(|p| p.port).collect();
    assert_eq!(ports, [6080, 6081, 6082, 6084, 6085, 6086]);
}

#[tokio::test]
async fn fou_silence_is_a_timeout_then_requests_are_answered() {
    // the kernel never answers port 6001's addition, nor ends a listing
    let kernel = ScriptedKernel::new(|req, out| match req.command {
        fou_cmd::ADD if fou_port(req) == 6001 => {}
        fou_cmd::GET => {}
        _ => out.obey(req),
    });
    let fou = fou(&kernel).await;
    fou.set_timeout(Duration::from_millis(50));
    let e = fou.add(&FouPort::gue(6001)).await.unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { context, .. } if context.contains("6001")),
        "{e:?}"
    );
    let e = fou.list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    // a late error for 6001 is skipped; the next request gets its own answer
    let silent = kernel.requests()[0].clone();
    kernel.answer(|out| out.refuse(&silent, libc::EADDRINUSE));
    fou.add(&FouPort::gue(6002)).await.unwrap();
    // bad input is refused before anything is sent
    let before = kernel.requests().len();
    let e = fou.add(&FouPort::gue(0)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert_eq!(kernel.requests().len(), before);
}

#[tokio::test]
async fn fou_without_the_family_is_the_missing_fou_module() {
    let kernel = ScriptedKernel::obedient().without_ipvs();
    let e = aio::Fou::with_kernel(kernel).await.unwrap_err();
    assert!(
        matches!(&e, Error::ModuleMissing { module, .. } if module == "fou"),
        "{e:?}"
    );
}

/// Polls a future once, outside any tokio runtime.
fn poll_once<F: std::future::Future>(f: F) -> std::task::Poll<F::Output> {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = std::task::Waker::from(Arc::new(Noop));
    let mut cx = std::task::Context::from_waker(&waker);
    std::pin::pin!(f).as_mut().poll(&mut cx)
}

/// The three async handles open the same way: outside a tokio runtime each
/// fails at once with an I/O error naming the cause, before anything is
/// sent (the generic netlink family is not even looked up).
#[test]
fn every_async_handle_refuses_to_open_outside_a_runtime_before_sending() {
    let kernel = ScriptedKernel::obedient();
    let results = [
        poll_once(aio::Ipvs::with_kernel(kernel.clone())).map(|r| r.map(drop)),
        poll_once(aio::Fou::with_kernel(kernel.clone())).map(|r| r.map(drop)),
        poll_once(aio::Rtnl::with_kernel(kernel.clone())).map(|r| r.map(drop)),
    ];
    for r in results {
        let std::task::Poll::Ready(Err(e)) = r else {
            panic!("opened or pending outside a runtime: {r:?}");
        };
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
        assert!(
            e.to_string().contains("opening an async netlink handle"),
            "{e}"
        );
    }
    assert_eq!(kernel.sends(), 0);
}
