//! Host tests of `director::AsyncDirector` on an async handle over a
//! scripted kernel that keeps a table (services and real servers, as the
//! requests it obeys leave them): the loop converges a desired state with
//! the requests it sends, follows a custom health check (no network), reports
//! a kernel error on one operation while the others are applied, and stops
//! cleanly (its checks joined, nothing sent after, the handle still usable).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lvskit::aio;
use lvskit::director::{
    AsyncDirector, Check, DesiredState, DirectedService, DirectorOptions, Event,
};
use lvskit::raw::ipvs::{
    cmd, cmd_attr, decode_dest_config, decode_service_config, find, put_dest_nest, put_service_key,
    put_service_nest,
};
use lvskit::testing::{Replies, Request, ScriptedKernel};
use lvskit::{Destination, Operation, Service, ServiceKey};

fn key() -> ServiceKey {
    ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80)
}

fn rs(h: u8) -> Destination {
    Destination::new(Ipv4Addr::new(10, 1, 0, h), 80)
}

/// The table the scripted kernel keeps.
#[derive(Default)]
struct Model {
    services: Vec<(Service, Vec<Destination>)>,
}

impl Model {
    fn service(&mut self, req: &Request) -> Option<&mut (Service, Vec<Destination>)> {
        // a request naming a service carries its key's attributes only
        let nest = find(&req.attrs, cmd_attr::SERVICE).ok()??;
        self.services.iter_mut().find(|(s, _)| {
            let mut key = Vec::new();
            put_service_key(&mut key, &s.key);
            key == nest
        })
    }

    fn dest(req: &Request, svc: &Service) -> Option<Destination> {
        let nest = find(&req.attrs, cmd_attr::DEST).ok()??;
        decode_dest_config(nest, svc.key.family()).ok()
    }

    /// Obeys one request, as the kernel would; `false` for a request it
    /// does not know (then the script obeys it blindly).
    fn obey(&mut self, req: &Request, out: &mut Replies) -> bool {
        match req.command {
            cmd::GET_SERVICE if req.is_dump() => {
                let mut msgs = Vec::new();
                for (s, _) in &self.services {
                    let mut attrs = Vec::new();
                    put_service_nest(&mut attrs, s).unwrap();
                    msgs.push(req.reply(cmd::NEW_SERVICE, &attrs));
                }
                msgs.push(req.done());
                out.send(&msgs);
            }
            cmd::GET_DEST => {
                let mut msgs = Vec::new();
                if let Some((_, ds)) = self.service(req) {
                    for d in ds.iter() {
                        let mut attrs = Vec::new();
                        put_dest_nest(&mut attrs, d, true).unwrap();
                        msgs.push(req.reply(cmd::NEW_DEST, &attrs));
                    }
                }
                msgs.push(req.done());
                out.send(&msgs);
            }
            cmd::NEW_SERVICE => {
                let nest = find(&req.attrs, cmd_attr::SERVICE).unwrap().unwrap();
                let svc = decode_service_config(nest).unwrap();
                self.services.push((svc, Vec::new()));
                out.obey(req);
            }
            cmd::NEW_DEST | cmd::SET_DEST | cmd::DEL_DEST => {
                let Some((svc, ds)) = self.service(req) else {
                    out.refuse(req, libc::ESRCH);
                    return true;
                };
                let d = Self::dest(req, svc).unwrap();
                ds.retain(|x| (x.addr, x.port) != (d.addr, d.port));
                if req.command != cmd::DEL_DEST {
                    ds.push(d);
                }
                out.obey(req);
            }
            _ => return false,
        }
        true
    }

    fn weights(&self) -> Vec<(IpAddr, u32)> {
        let mut w: Vec<_> = self
            .services
            .iter()
            .flat_map(|(_, ds)| ds.iter().map(|d| (d.addr, d.weight)))
            .collect();
        w.sort();
        w
    }
}

/// A scripted kernel keeping a [`Model`]; `refuse` picks the requests it
/// refuses, with their errno.
fn modelled(
    refuse: impl Fn(&Request) -> Option<i32> + Send + 'static,
) -> (ScriptedKernel, Arc<Mutex<Model>>) {
    let model = Arc::new(Mutex::new(Model::default()));
    let m = Arc::clone(&model);
    let kernel = ScriptedKernel::new(move |req, out| {
        if let Some(errno) = refuse(req) {
            out.refuse(req, errno);
        } else if !m.lock().unwrap().obey(req, out) {
            out.obey(req);
        }
    });
    (kernel, model)
}

/// Options whose events go to the returned receiver.
fn options() -> (DirectorOptions, Receiver<Event>) {
    let (tx, rx) = channel();
    let tx = Mutex::new(tx);
    let opts = DirectorOptions {
        period: Duration::from_secs(60),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        on_event: Some(Arc::new(move |e: &Event| {
            let _ = tx.lock().unwrap().send(e.clone());
        })),
        ..DirectorOptions::default()
    };
    (opts, rx)
}

/// Waits (bounded: 1,000 looks, 10 ms apart) for the first event `pick`
/// takes, skipping the others.
async fn until<T>(rx: &Receiver<Event>, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    for _ in 0..1000 {
        while let Ok(e) = rx.try_recv() {
            if let Some(t) = pick(&e) {
                return t;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no such event came");
}

/// Waits (bounded) until `model` holds `weights`.
async fn until_weights(model: &Mutex<Model>, weights: &[(IpAddr, u32)]) {
    for _ in 0..1000 {
        if model.lock().unwrap().weights() == weights {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(model.lock().unwrap().weights(), weights);
}

fn writes(kernel: &ScriptedKernel) -> Vec<u8> {
    kernel
        .requests()
        .iter()
        .map(|r| r.command)
        .filter(|c| {
            [
                cmd::NEW_SERVICE,
                cmd::NEW_DEST,
                cmd::SET_DEST,
                cmd::DEL_DEST,
            ]
            .contains(c)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_converges_through_the_handle_it_is_given_and_follows_a_custom_check() {
    let (kernel, model) = modelled(|_| None);
    let ipvs = aio::Ipvs::with_kernel(kernel.clone()).await.unwrap();
    // the second real server fails its check: it is inhibited (weight 0)
    let check = Check::custom(|target, _| match target.ip() {
        IpAddr::V4(a) if a.octets()[3] == 2 => Err("refused".into()),
        _ => Ok(()),
    })
    // a timeout a loaded machine cannot miss: the check answers at once, and
    // one timed-out pass (rise and fall 1) is a write this test does not expect
    .with_interval(Duration::from_millis(200))
    .with_timeout(Duration::from_millis(200))
    .with_rise_fall(1, 1)
    .with_initially_up(true);
    let svc = DirectedService::new(Service::new(key()), vec![rs(1), rs(2)]).with_check(check);
    let (opts, events) = options();
    let director = AsyncDirector::with_handle(
        ipvs.clone(),
        DesiredState {
            services: vec![svc],
        },
        opts,
    )
    .unwrap();
    until_weights(&model, &[(rs(1).addr, 1), (rs(2).addr, 0)]).await;
    let w = writes(&kernel);
    assert_eq!(w[..3], [cmd::NEW_SERVICE, cmd::NEW_DEST, cmd::NEW_DEST]);
    assert!(w[3..].iter().all(|&c| c == cmd::SET_DEST), "{w:?}");
    // converged: another pass reads the table and writes nothing
    let reads = kernel.requests().len();
    director.reconcile_now();
    for _ in 0..1000 {
        let dumps = kernel.requests()[reads..]
            .iter()
            .filter(|r| r.command == cmd::GET_DEST)
            .count();
        if dumps > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    director.stop().await;
    assert_eq!(writes(&kernel), w);
    until(&events, |e| matches!(e, Event::Stopped).then_some(())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kernel_error_on_one_operation_is_an_event_and_the_others_are_applied() {
    // the kernel refuses the second real server (as for an unknown
    // forwarding method or a full table)
    let (kernel, model) = modelled(|req| {
        let refused = req.command == cmd::NEW_DEST
            && find(&req.attrs, cmd_attr::DEST)
                .ok()
                .flatten()
                .and_then(|n| decode_dest_config(n, lvskit::Family::Ipv4).ok())
                .is_some_and(|d| d.addr == rs(2).addr);
        refused.then_some(libc::ENOMEM)
    });
    let ipvs = aio::Ipvs::with_kernel(kernel.clone()).await.unwrap();
    let svc = DirectedService::new(Service::new(key()), vec![rs(1), rs(2), rs(3)]);
    let (opts, events) = options();
    let director = AsyncDirector::with_handle(
        ipvs,
        DesiredState {
            services: vec![svc],
        },
        opts,
    )
    .unwrap();
    let (done, failed) = until(&events, |e| match e {
        Event::Applied { done, failed } => Some((*done, failed.clone())),
        _ => None,
    })
    .await;
    // the service and the two other real servers
    assert_eq!(done, 3, "{failed:?}");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, Operation::AddDestination(key(), rs(2)));
    assert!(failed[0].1.contains("ENOMEM"), "{}", failed[0].1);
    let error = until(&events, |e| match e {
        Event::Failed { error, .. } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert!(error.contains("10.1.0.2"), "{error}");
    assert_eq!(
        model.lock().unwrap().weights(),
        [(rs(1).addr, 1), (rs(3).addr, 1)]
    );
    // the loop backs off and tries the refused one again, and only that one
    let retried = until(&events, |e| match e {
        Event::Planned { operations } => Some(operations.clone()),
        _ => None,
    })
    .await;
    assert_eq!(retried, [Operation::AddDestination(key(), rs(2))]);
    director.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_joins_the_checks_sends_nothing_more_and_leaves_the_handle_usable() {
    let (kernel, model) = modelled(|_| None);
    let ipvs = aio::Ipvs::with_kernel(kernel.clone()).await.unwrap();
    let probes = Arc::new(AtomicUsize::new(0));
    let p = Arc::clone(&probes);
    let check = Check::custom(move |_, _| {
        p.fetch_add(1, Ordering::SeqCst);
        Ok(())
    })
    .with_interval(Duration::from_millis(10))
    .with_timeout(Duration::from_millis(10));
    let svc = DirectedService::new(Service::new(key()), vec![rs(1)]).with_check(check);
    let (opts, events) = options();
    let director = AsyncDirector::with_handle(
        ipvs.clone(),
        DesiredState {
            services: vec![svc],
        },
        opts,
    )
    .unwrap();
    until_weights(&model, &[(rs(1).addr, 1)]).await;
    director.stop().await;
    until(&events, |e| matches!(e, Event::Stopped).then_some(())).await;
    let (sent, probed) = (kernel.requests().len(), probes.load(Ordering::SeqCst));
    assert!(probed > 0);
    // the loop and the check threads are gone: a later reconcile cannot
    // happen, and no probe runs (the checks were joined)
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(kernel.requests().len(), sent);
    assert_eq!(probes.load(Ordering::SeqCst), probed);
    // the table is left as it was, and the caller's handle still works
    let services = ipvs.services().await.unwrap();
    assert_eq!(services.len(), 1);
    assert_eq!(ipvs.destinations(&key()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_desired_state_is_refused_before_anything_is_sent() {
    let (kernel, _) = modelled(|_| None);
    let ipvs = aio::Ipvs::with_kernel(kernel.clone()).await.unwrap();
    let before = kernel.requests().len();
    let svc = DirectedService::new(Service::new(key()), vec![rs(1), rs(1)]);
    let r = AsyncDirector::with_handle(
        ipvs,
        DesiredState {
            services: vec![svc],
        },
        options().0,
    );
    assert!(
        matches!(r, Err(lvskit::Error::InvalidInput { .. })),
        "{r:?}"
    );
    assert_eq!(kernel.requests().len(), before);
}
