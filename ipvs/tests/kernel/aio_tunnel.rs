//! The async rtnetlink and FOU handles (`lvskit::aio::{Rtnl, Fou}`) against
//! the real kernel, each test in its own namespace, cross-checked with `ip`
//! (`ip -d link show`, `ip addr show`, `ip fou show`): every tunnel kind
//! created, changed, listed and deleted; FOU ports added, listed and
//! removed; many requests in flight on one socket of each, with a listing
//! streamed meanwhile.

use lvskit::tunnel::{FouEncap, FouPort, Link, NewLink};
use lvskit::{aio, Error};

use crate::support::TestNs;
use crate::tunnel::{
    assert_ip_agrees, assert_same_params, ip_fou, json, library_specs, ns_of, ns_out_has_link,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn rtnl(ns: &TestNs) -> aio::Rtnl {
    aio::Rtnl::open(ns_of(ns)).await.unwrap()
}

/// True when `ip addr show dev DEV` lists `addr/prefix`.
fn ip_has_addr(ns: &TestNs, dev: &str, net: ipnetwork::IpNetwork) -> bool {
    let v = json(&ns.ip(&["-j", "addr", "show", "dev", dev]));
    v[0]["addr_info"].as_array().unwrap().iter().any(|a| {
        a["local"].as_str() == Some(net.ip().to_string().as_str())
            && a["prefixlen"].as_u64() == Some(u64::from(net.prefix()))
    })
}

#[test]
fn every_tunnel_kind_through_the_async_handle_reads_back_the_same_in_ip() {
    let ns = TestNs::new();
    ns.dummy("d0", &[]);
    runtime().block_on(async {
        let r = rtnl(&ns).await;
        let d0 = r.link("d0").await.unwrap().unwrap().index;
        for (name, cfg) in library_specs(d0) {
            let link = r
                .add_link(&NewLink::tunnel(name, cfg.clone()).with_mtu(1400))
                .await
                .unwrap_or_else(|e| panic!("creating {name}: {e}"));
            assert_eq!(link.name, name);
            assert_eq!(link.mtu, 1400);
            assert_same_params(&cfg, link.tunnel.as_ref().unwrap());
            assert_ip_agrees(&ns, &link);
            r.set_up(name, true).await.unwrap();
            r.set_mtu(link.index, 1300).await.unwrap();
            let vip: ipnetwork::IpNetwork = if cfg.kind.outer_is_v6() {
                "2001:db8:99::7/128".parse().unwrap()
            } else {
                "192.0.2.7/32".parse().unwrap()
            };
            r.add_address(name, vip).await.unwrap();
            assert!(ip_has_addr(&ns, name, vip), "{name}: {vip} not in ip addr");
            let link = r.link(name).await.unwrap().unwrap();
            assert!(link.is_up());
            assert_eq!(link.mtu, 1300);
            assert_ip_agrees(&ns, &link);
            let addrs = r.addresses(Some(name.into())).await.unwrap();
            assert!(
                addrs
                    .iter()
                    .any(|a| a.addr == vip.ip() && a.prefix_len == vip.prefix()),
                "{name}: {addrs:?}"
            );
            r.del_address(name, vip).await.unwrap();
            assert!(!ip_has_addr(&ns, name, vip));
            assert!(matches!(
                r.del_address(name, vip).await,
                Err(Error::NotFound { .. })
            ));
        }
        // the streamed list holds them all, as single reads give them
        let all = r.tunnels().await.unwrap();
        for (name, _) in library_specs(d0) {
            let l = all.iter().find(|l| l.name == name).unwrap();
            assert_eq!(Some(l), r.link(name).await.unwrap().as_ref());
        }
        let (name, cfg) = library_specs(d0).remove(0);
        assert!(matches!(
            r.add_link(&NewLink::tunnel(name, cfg)).await,
            Err(Error::Exists { .. })
        ));
        for (name, _) in library_specs(d0) {
            r.del_link(name).await.unwrap();
            assert!(r.link(name).await.unwrap().is_none());
            assert!(!ns_out_has_link(&ns, name));
        }
        assert!(matches!(
            r.del_link("lt-ipip").await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            r.set_mtu("d0", 10).await,
            Err(Error::InvalidInput { .. })
        ));
    });
}

/// The library's FOU ports in `ip fou show`'s terms.
async fn lib_fou(f: &aio::Fou) -> Vec<(u64, String, bool)> {
    let mut out: Vec<_> = f
        .list()
        .await
        .unwrap()
        .iter()
        .map(|p| {
            let what = match p.encap {
                FouEncap::Gue => "gue".to_string(),
                FouEncap::Direct { ipproto } => format!("ipproto {ipproto}"),
            };
            (u64::from(p.port), what, p.ipv6)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn fou_ports_through_the_async_handle_cross_checked_with_ip() {
    let ns = TestNs::new();
    runtime().block_on(async {
        let f = aio::Fou::open(ns_of(&ns)).await.unwrap();
        assert!(f.list().await.unwrap().is_empty());
        f.add(&FouPort::gue(6080)).await.unwrap();
        f.add(&FouPort::direct(6081, 4)).await.unwrap();
        f.add(&FouPort::gue(6082).v6()).await.unwrap();
        ns.ip(&["fou", "add", "port", "6083", "ipproto", "47"]);
        let want = vec![
            (6080, "gue".to_string(), false),
            (6081, "ipproto 4".to_string(), false),
            (6082, "gue".to_string(), true),
            (6083, "ipproto 47".to_string(), false),
        ];
        assert_eq!(ip_fou(&ns), want);
        assert_eq!(lib_fou(&f).await, want);
        assert!(matches!(
            f.add(&FouPort::gue(6080)).await,
            Err(Error::Exists { .. })
        ));
        f.del(&FouPort::gue(6080)).await.unwrap();
        f.del(&FouPort::direct(6083, 47)).await.unwrap();
        ns.ip(&["fou", "del", "port", "6082", "-6"]);
        assert_eq!(ip_fou(&ns), vec![(6081, "ipproto 4".to_string(), false)]);
        assert_eq!(lib_fou(&f).await, ip_fou(&ns));
        assert!(matches!(
            f.del(&FouPort::gue(6080)).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            f.add(&FouPort::direct(6090, 0)).await,
            Err(Error::InvalidInput { .. })
        ));
    });
}

/// Devices made at once.
const N: u16 = 32;

fn dummy(i: u16) -> String {
    format!("ad{i}")
}

fn addr_of(i: u16) -> ipnetwork::IpNetwork {
    format!("10.77.{}.{}/32", i / 200, 1 + i % 200)
        .parse()
        .unwrap()
}

#[test]
fn many_requests_in_flight_on_one_rtnetlink_and_one_fou_socket() {
    let ns = TestNs::new();
    runtime().block_on(async {
        let r = rtnl(&ns).await;
        let f = aio::Fou::open(ns_of(&ns)).await.unwrap();
        // N tasks create a device each, give it an address and a FOU port,
        // on the two shared sockets, while a listing of links is streamed
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let (r, f) = (r.clone(), f.clone());
                tokio::spawn(async move {
                    let link = r.add_link(&NewLink::dummy(dummy(i)).with_up(true)).await?;
                    r.add_address(link.index, addr_of(i)).await?;
                    f.add(&FouPort::gue(7000 + i)).await?;
                    Ok::<Link, Error>(link)
                })
            })
            .collect();
        // a link listing taken while devices change may be interrupted
        // (NLM_F_DUMP_INTR: Linux 6.12 walks the links without the RTNL
        // lock): then the stream ends with that error, and the socket's next
        // listing is not refused
        let mut stream = r.link_stream().await.unwrap();
        let (mut streamed, mut interrupted) = (0, false);
        while let Some(l) = stream.next_entry().await {
            match l {
                Ok(l) => {
                    assert!(l.index > 0);
                    streamed += 1;
                }
                Err(Error::Protocol { detail, .. }) if detail.contains("NLM_F_DUMP_INTR") => {
                    interrupted = true;
                }
                Err(e) => panic!("listing links while others write: {e}"),
            }
        }
        assert!(streamed >= 1 || interrupted, "the listing has at least lo");
        let mut made = Vec::new();
        for t in tasks {
            made.push(t.await.unwrap().unwrap());
        }
        // each task got its own device back, and ip sees them all
        for (i, link) in (0..N).zip(&made) {
            assert_eq!(link.name, dummy(i));
            assert!(ip_has_addr(&ns, &dummy(i), addr_of(i)));
        }
        let fou = ip_fou(&ns);
        assert_eq!(fou.len(), usize::from(N));
        assert!((0..N).all(|i| fou.contains(&(u64::from(7000 + i), "gue".into(), false))));
        let all = r.addresses(None).await.unwrap();
        for (i, link) in (0..N).zip(&made) {
            assert!(all
                .iter()
                .any(|a| a.index == link.index && a.addr == addr_of(i).ip()));
        }
        // and N tasks take it all down again at once
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let (r, f) = (r.clone(), f.clone());
                tokio::spawn(async move {
                    f.del(&FouPort::gue(7000 + i)).await?;
                    r.del_link(dummy(i).as_str()).await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(ip_fou(&ns).is_empty());
        assert!((0..N).all(|i| !ns_out_has_link(&ns, &dummy(i))));
        assert!(r
            .links()
            .await
            .unwrap()
            .iter()
            .all(|l| !l.name.starts_with("ad")));
    });
}
