"""``to_dict()`` keys are the constructor's keyword arguments, on every value class.

Property style without a dependency: for each class, many values drawn by a
seeded generator (the seed is in the test id, so a failure replays) must
satisfy ``type(v)(**v.to_dict()) == v``, ``type(v).from_dict(v.to_dict()) ==
v``, survive ``json.dumps``/``json.loads`` of the dict unchanged (plain data)
and, where the class has one, round-trip through ``to_json``/``from_json``
(the core's serde form, unchanged).
"""

from __future__ import annotations

import ipaddress
import json
import random
from typing import Any, Callable, Dict, List, Union

import pytest

import ipvs
from ipvs import tunnel as t

SEEDS = range(12)


def v4(r: random.Random) -> str:
    return str(ipaddress.IPv4Address(r.randrange(0x0A000001, 0x0AFFFFFE)))


def v6(r: random.Random) -> str:
    return str(ipaddress.IPv6Address((0x20010DB8 << 96) | r.randrange(1, 2**64)))


def key(r: random.Random, family: int) -> ipvs.ServiceKey:
    addr = v4(r) if family == 4 else v6(r)
    kind = r.randrange(4)
    if kind == 3:
        return ipvs.ServiceKey.fwmark(r.randrange(1, 2**32), "ipv4" if family == 4 else "ipv6")
    return (ipvs.ServiceKey.tcp, ipvs.ServiceKey.udp, ipvs.ServiceKey.sctp)[kind](addr, r.randrange(1, 65536))


def persistence(r: random.Random, family: int) -> ipvs.Persistence:
    if family == 4:
        mask = str(ipaddress.IPv4Network(f"0.0.0.0/{r.randrange(1, 33)}").netmask)
        return ipvs.Persistence(r.randrange(1, 86400), r.choice([None, mask]))
    return ipvs.Persistence(r.randrange(1, 86400), r.choice([None, r.randrange(1, 129)]))


def service(r: random.Random) -> ipvs.Service:
    family = r.choice([4, 6])
    sched = r.choice(list(ipvs.Scheduler))
    flags = ipvs.ServiceFlags(r.choice([0, 0x4, 0x8, 0x10, 0x18, 0x3C]))
    p = r.choice([None, persistence(r, family)])
    pe = "sip" if p is not None and r.random() < 0.3 else None
    scheduler: Union[ipvs.Scheduler, str] = sched if r.random() < 0.7 else "mysched"
    return ipvs.Service(key(r, family), scheduler=scheduler, flags=flags, persistence=p, pe=pe)


def destination(r: random.Random, family: int = 0) -> ipvs.Destination:
    addr = v4(r) if (family or r.choice([4, 6])) == 4 else v6(r)
    upper = r.randrange(0, 1000)
    common: Dict[str, Any] = dict(weight=r.randrange(0, 100), upper_threshold=upper, lower_threshold=r.randrange(0, upper + 1))
    fwd = r.choice(list(ipvs.Forwarding))
    if fwd is not ipvs.Forwarding.TUNNEL:
        return ipvs.Destination(addr, r.randrange(0, 65536), forwarding=fwd, **common)
    tun = r.choice(list(ipvs.TunnelType))
    if tun is ipvs.TunnelType.GUE:
        extra: Dict[str, Any] = dict(tunnel_port=r.randrange(1, 65536), tunnel_flags=r.randrange(0, 4))
    elif tun is ipvs.TunnelType.GRE:
        extra = dict(tunnel_flags=r.randrange(0, 2))
    else:
        extra = {}
    return ipvs.Destination(addr, r.randrange(0, 65536), forwarding=fwd, tunnel=tun, **common, **extra)


def stats(r: random.Random) -> ipvs.Stats:
    return ipvs.Stats(**{f: r.randrange(0, 2**64) for f in ("conns", "in_packets", "out_bytes", "cps", "out_bps")})


def timeouts(r: random.Random) -> ipvs.Timeouts:
    return ipvs.Timeouts(r.randrange(0, 1000), r.randrange(0, 1000), r.randrange(0, 1000))


def daemon(r: random.Random) -> ipvs.SyncDaemon:
    state: Union[ipvs.SyncState, str] = "master" if r.random() < 0.5 else ipvs.SyncState.BACKUP
    return ipvs.SyncDaemon(
        state,
        r.choice(["eth0", "sync1"]),
        r.randrange(0, 256),
        max_len=r.choice([None, r.randrange(1024, 1500)]),  # a backup keeps 1024 and up
        group=r.choice([None, "239.1.2.3", "ff02::81"]) if r.random() < 0.5 else None,
        port=r.choice([None, r.randrange(1, 65536)]),
        ttl=r.choice([None, r.randrange(1, 256)]),
    )


def operation(r: random.Random) -> ipvs.Operation:
    s = service(r)
    O = ipvs.Operation
    fam = 4 if s.key.family is ipvs.Family.IPV4 else 6
    choices: List[Callable[[], ipvs.Operation]] = [
            lambda: O.add_service(s),
            lambda: O.update_service(s),
            lambda: O.delete_service(s.key),
            lambda: O.add_destination(s.key, destination(r, fam)),
            lambda: O.update_destination(s.key, destination(r, fam)),
            lambda: O.delete_destination(s.key, v4(r) if fam == 4 else v6(r), r.randrange(0, 65536)),
            lambda: O.set_timeouts(timeouts(r)),
            lambda: O.start_daemon(ipvs.SyncDaemon("master", "eth0", r.randrange(0, 256))),
            lambda: O.stop_daemon(r.choice(["master", "backup"])),
            lambda: O.zero(r.choice([None, s.key])),
            lambda: O.flush(),
    ]
    return r.choice(choices)()


def table_service(r: random.Random) -> ipvs.TableService:
    s = service(r)
    fam = 4 if s.key.family is ipvs.Family.IPV4 else 6
    return ipvs.TableService(s, [destination(r, fam) for _ in range(r.randrange(0, 4))])


def table(r: random.Random) -> ipvs.Table:
    return ipvs.Table([table_service(r) for _ in range(r.randrange(0, 4))], r.choice([None, timeouts(r)]))


def service_entry(r: random.Random) -> ipvs.ServiceEntry:
    return ipvs.ServiceEntry(service(r), stats(r))


def destination_entry(r: random.Random) -> ipvs.DestinationEntry:
    n = [r.randrange(0, 2**32) for _ in range(3)]
    return ipvs.DestinationEntry(destination(r), n[0], n[1], n[2], stats(r))


def info(r: random.Random) -> ipvs.Info:
    return ipvs.Info(r.randrange(0, 2**24), r.randrange(0, 2**32))


def connection(r: random.Random) -> ipvs.Connection:
    return ipvs.Connection(
        protocol=r.choice(["TCP", "UDP", "IP"]),
        client_addr=ipaddress.ip_address(v4(r)),
        client_port=r.randrange(0, 65536),
        virtual_addr=ipaddress.ip_address(v4(r)),
        virtual_port=r.randrange(0, 65536),
        destination_addr=ipaddress.ip_address(v4(r)),
        destination_port=r.randrange(0, 65536),
        state=r.choice(["ESTABLISHED", "NONE"]),
        expires=r.randrange(0, 1000),
        pe_name=r.choice([None, "sip"]),
        pe_data=None,
        origin=r.choice([None, ipvs.ConnectionOrigin.SYNC]),
    )


def encap(r: random.Random) -> t.Encap:
    return t.Encap(r.choice(["gue", "fou"]), r.randrange(1, 65536), sport=r.choice([None, 5555]), flags=r.randrange(0, 2))


def tunnel_config(r: random.Random) -> t.TunnelConfig:
    kind = r.choice([t.TunnelKind.IPIP, t.TunnelKind.GRE, t.TunnelKind.IP6TNL])
    if kind is t.TunnelKind.IP6TNL:
        return t.TunnelConfig(kind, local=v6(r), remote=r.choice([None, v6(r)]), ttl=r.randrange(0, 256))
    extra: Dict[str, Any] = {"encap": encap(r)} if kind is t.TunnelKind.IPIP and r.random() < 0.5 else {}
    if kind is t.TunnelKind.GRE:
        extra = {"ikey": r.choice([None, 7]), "okey": r.choice([None, 9])}
        extra.update({f: r.random() < 0.5 for f in ("icsum", "ocsum", "iseq", "oseq")})
    return t.TunnelConfig(kind, local=v4(r), remote=r.choice([None, v4(r)]), ttl=r.randrange(0, 256), **extra)


def fou_port(r: random.Random) -> t.FouPort:
    return t.FouPort(r.randrange(1, 65536), ipproto=r.choice([None, 4]), local=r.choice([None, v4(r)]))


def new_link(r: random.Random) -> t.NewLink:
    return t.NewLink(f"tun{r.randrange(100)}", r.choice([None, tunnel_config(r)]), mtu=r.choice([None, 1400]), up=r.random() < 0.5)


def link(r: random.Random) -> t.Link:
    return t.Link(
        r.randrange(1, 1000),
        f"dev{r.randrange(100)}",
        kind=r.choice([None, "ipip"]),
        mtu=r.randrange(0, 9000),
        tunnel=r.choice([None, tunnel_config(r)]),
        kind_data=r.choice([None, b"\x01\x02"]),
        unknown_attrs=r.choice([(), ((40, b"\x00"),)]),
    )


def address(r: random.Random) -> t.Address:
    return t.Address(r.randrange(1, 100), v4(r), r.randrange(0, 33), scope=r.choice([0, 253]), label=r.choice([None, "lo:1"]))


def real_server(r: random.Random) -> t.RealServer:
    vips = [v4(r) for _ in range(r.randrange(1, 3))]
    return r.choice([t.RealServer.tun(vips, fou=r.choice([None, fou_port(r)])), t.RealServer.dr(vips)])


def prepared(r: random.Random) -> t.Prepared:
    return t.Prepared(
        "tunl0",
        namespace=r.choice([None, "rs1"]),
        created_device=r.random() < 0.5,
        addresses=[f"{v4(r)}/32"],
        sysctls=[t.SysctlChange("net/ipv4/conf/all/arp_ignore", "0", "1")],
        fou=r.choice([None, fou_port(r)]),
    )


def sysctl_change(r: random.Random) -> t.SysctlChange:
    return t.SysctlChange(f"net/ipv4/conf/eth{r.randrange(9)}/rp_filter", str(r.randrange(3)), "0")


MAKERS: List[Callable[[random.Random], Any]] = [
    lambda r: key(r, r.choice([4, 6])),
    lambda r: persistence(r, r.choice([4, 6])),
    service,
    destination,
    operation,
    stats,
    timeouts,
    info,
    daemon,
    service_entry,
    destination_entry,
    table_service,
    table,
    connection,
    encap,
    tunnel_config,
    fou_port,
    new_link,
    link,
    address,
    real_server,
    prepared,
    sysctl_change,
]


@pytest.mark.parametrize("make", MAKERS, ids=lambda m: getattr(m, "__name__", "key_or_persistence"))
@pytest.mark.parametrize("seed", SEEDS)
def test_to_dict_is_the_constructors_keyword_arguments(make: Callable[[random.Random], Any], seed: int) -> None:
    r = random.Random(seed)
    for _ in range(8):
        v = make(r)
        d = v.to_dict()
        assert isinstance(d, dict) and all(isinstance(k, str) for k in d)
        assert type(v)(**d) == v, d
        assert type(v).from_dict(d) == v, d
        # plain data: JSON takes it as it is and gives the same dict back
        assert json.loads(json.dumps(d)) == d
        assert type(v)(**json.loads(json.dumps(d))) == v
        # (a persistence outside a service has no serde form until its netmask is resolved)
        if hasattr(v, "to_json") and not (isinstance(v, ipvs.Persistence) and v.netmask is None):
            assert type(v).from_json(v.to_json()) == v


def test_nested_values_are_their_own_dicts() -> None:
    k = ipvs.ServiceKey.udp("10.0.0.1", 53)
    s = ipvs.Service(k, scheduler="rr", persistence=ipvs.Persistence(60))
    d = s.to_dict()
    assert d == {
        "key": {"protocol": "udp", "addr": "10.0.0.1", "port": 53},
        "scheduler": "rr",
        "flags": 0,
        "persistence": {"timeout": 60, "netmask": "255.255.255.255"},
        "pe": None,
    }
    assert ipvs.Destination("10.0.0.2", 53).to_dict() == {
        "addr": "10.0.0.2",
        "port": 53,
        "forwarding": "directroute",
        "weight": 1,
        "upper_threshold": 0,
        "lower_threshold": 0,
        "tunnel": "ipip",
        "tunnel_port": 0,
        "tunnel_flags": 0,
    }
    # the constructors take the nested dicts, and check them as they check values
    assert ipvs.Service(**dict(d, key={"mark": 5, "family": "ipv4"}, persistence=None)).key == ipvs.ServiceKey.fwmark(5)
    with pytest.raises(ipvs.InvalidInputError, match="port 70000"):
        ipvs.Service(**dict(d, key={"protocol": "udp", "addr": "10.0.0.1", "port": 70000}))
    with pytest.raises(TypeError):
        ipvs.Service(**dict(d, key={"protocol": "udp", "addr": "10.0.0.1", "port": 53, "colour": "red"}))
    # the serde form (to_json's) is still read by from_dict
    assert ipvs.Service.from_dict(json.loads(s.to_json())) == s
    assert ipvs.ServiceEntry.from_dict(json.loads(ipvs.ServiceEntry(s).to_json())) == ipvs.ServiceEntry(s)
