"""Issue 17, pure: enums defined once in Rust, field-naming errors, replace()."""

from __future__ import annotations

import dataclasses
import enum
import pickle
from typing import Any, Callable, Dict, List, Tuple, Type

import pytest

import ipvs
from ipvs import _ipvs

K = ipvs.ServiceKey.tcp("10.0.0.1", 80)

# every enum with its members, as they were when _model.py defined them
ENUMS: List[Tuple[Type[enum.Enum], Dict[str, Any]]] = [
    (ipvs.Protocol, {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}),
    (ipvs.Family, {"IPV4": "ipv4", "IPV6": "ipv6"}),
    (
        ipvs.Scheduler,
        {
            "RR": "rr",
            "WRR": "wrr",
            "LC": "lc",
            "WLC": "wlc",
            "LBLC": "lblc",
            "LBLCR": "lblcr",
            "DH": "dh",
            "SH": "sh",
            "SED": "sed",
            "NQ": "nq",
            "FO": "fo",
            "OVF": "ovf",
            "MH": "mh",
            "TWOS": "twos",
        },
    ),
    (ipvs.Forwarding, {"MASQ": "masq", "LOCAL": "local", "TUNNEL": "tunnel", "ROUTE": "directroute", "BYPASS": "bypass"}),
    (ipvs.TunnelType, {"IPIP": "ipip", "GUE": "gue", "GRE": "gre"}),
    (ipvs.SyncState, {"MASTER": "master", "BACKUP": "backup"}),
    (
        ipvs.OperationKind,
        {
            n.upper(): n
            for n in (
                "add_service",
                "update_service",
                "delete_service",
                "add_destination",
                "update_destination",
                "delete_destination",
                "set_timeouts",
                "start_daemon",
                "stop_daemon",
                "zero",
                "flush",
            )
        },
    ),
]


@pytest.mark.parametrize("cls,members", ENUMS, ids=lambda x: getattr(x, "__name__", ""))
def test_enums_are_defined_in_rust_with_todays_names_and_values(cls: Type[enum.Enum], members: Dict[str, Any]) -> None:
    assert issubclass(cls, enum.Enum) and cls.__module__ == "ipvs._ipvs"
    assert getattr(_ipvs, cls.__name__) is cls
    assert {m.name: m.value for m in cls} == members
    for name, value in members.items():
        member = cls[name]
        assert cls(value) is member and repr(member) == f"{cls.__name__}.{name}" and str(member) == value
        assert pickle.loads(pickle.dumps(member)) is member


def test_flags_are_defined_in_rust_with_todays_names_values_and_aliases() -> None:
    f = ipvs.ServiceFlags
    assert issubclass(f, enum.Flag) and f.__module__ == "ipvs._ipvs"
    assert (f.ONE_PACKET.value, f.SCHED_1.value, f.SCHED_2.value, f.SCHED_3.value) == (4, 8, 16, 32)
    aliases: List[Tuple[Any, Any]] = [(f.SH_FALLBACK, f.SCHED_1), (f.MH_FALLBACK, f.SCHED_1), (f.SH_PORT, f.SCHED_2), (f.MH_PORT, f.SCHED_2)]
    assert all(a is b for a, b in aliases)
    assert repr(f.ONE_PACKET | f.SCHED_3) == "ServiceFlags.ONE_PACKET|ServiceFlags.SCHED_3"
    e = ipvs.EncapFlags
    assert (e.CSUM.value, e.REMCSUM.value) == (1, 2) and repr(e(0)) == "EncapFlags(0)"
    assert ipvs.Family.of("2001:db8::1") is ipvs.Family.IPV6 and ipvs.Scheduler.RR.module == "ip_vs_rr"


def test_enum_values_match_what_the_constructors_accept() -> None:
    assert ipvs.Forwarding("route") is ipvs.Forwarding.ROUTE is ipvs.Forwarding("directroute")
    assert ipvs.Destination("10.0.0.2", 80, forwarding="route").forwarding is ipvs.Forwarding("route")
    assert ipvs.Scheduler("RR") is ipvs.Scheduler.RR and ipvs.TunnelType("Gue") is ipvs.TunnelType.GUE
    with pytest.raises(ValueError):
        ipvs.Forwarding("nat")


def test_numbers_out_of_range_name_the_field() -> None:
    cases: List[Tuple[Callable[[], object], str]] = [
        (lambda: ipvs.ServiceKey.tcp("10.0.0.1", 70000), "port 70000"),
        (lambda: ipvs.ServiceKey.fwmark(2**32), "firewall mark"),
        (lambda: ipvs.Destination("10.0.0.2", 80, weight=2**32), "weight 4294967296"),
        (lambda: ipvs.Destination("10.0.0.2", 2**64), "port 18446744073709551616"),
        (lambda: ipvs.Timeouts(tcp=2**40), "tcp timeout"),
        (lambda: ipvs.Ipvs(2**40), "namespace file descriptor 1099511627776"),
        (lambda: ipvs.Ipvs(-1), "namespace file descriptor -1"),
        (lambda: ipvs.tunnel.Rtnl(2**40), "namespace file descriptor"),
        (lambda: ipvs.read_connections(2**40), "namespace file descriptor"),
    ]
    for make, field in cases:
        with pytest.raises(ipvs.InvalidInputError, match=field):
            make()


def test_wrong_types_name_the_field() -> None:
    cases: List[Tuple[Callable[[], object], str]] = [
        (lambda: ipvs.ServiceKey.tcp("10.0.0.1", "80"), "port must be an int"),  # type: ignore[arg-type]
        (lambda: ipvs.Destination("10.0.0.2", 80, weight=1.5), "weight must be an int"),  # type: ignore[arg-type]
        (lambda: ipvs.Destination(b"10.0.0.2", 80), "real server address must be"),  # type: ignore[arg-type]
        (lambda: ipvs.Service(K, scheduler=5), "scheduler must be"),  # type: ignore[arg-type]
        (lambda: ipvs.Operation.add_service(K.to_json()), "service must be a Service"),  # type: ignore[arg-type]
    ]
    for make, text in cases:
        with pytest.raises(TypeError, match=text):
            make()


def test_the_binding_s_own_refusals_are_ipvs_errors() -> None:
    makers: List[Callable[[], object]] = [
        lambda: ipvs.ServiceKey.tcp("not an address", 80),
        lambda: ipvs.Destination("10.0.0.2", 80, forwarding="nat"),
        lambda: ipvs.Service(K, flags=0x1000),
        lambda: ipvs.Ipvs("a\0b"),
    ]
    for make in makers:
        with pytest.raises(ipvs.IpvsError) as info:
            make()
        assert isinstance(info.value, ipvs.InvalidInputError) and isinstance(info.value, ValueError)


def test_scheduler_none_is_the_default() -> None:
    assert ipvs.Service(K, scheduler=None) == ipvs.Service(K) == ipvs.Service(K, scheduler="wlc")
    assert ipvs.Service(K, scheduler=None, flags=None).flags == ipvs.ServiceFlags(0)


def test_native_values_replace_fields_checked_as_the_constructor_checks() -> None:
    s = ipvs.Service(K, scheduler="sh", flags=ipvs.ServiceFlags.SH_PORT, persistence=60)
    t = s.replace(scheduler=ipvs.Scheduler.RR)
    assert t == ipvs.Service(K, scheduler="rr", flags=ipvs.ServiceFlags.SH_PORT, persistence=60) and s.scheduler is ipvs.Scheduler.SH
    assert s.replace() == s and s.replace(persistence=None).persistence is None
    d = ipvs.Destination("10.0.0.2", 80, forwarding="tunnel", tunnel="gue", tunnel_port=6080, weight=3)
    assert d.replace(weight=0) == ipvs.Destination("10.0.0.2", 80, forwarding="tunnel", tunnel="gue", tunnel_port=6080, weight=0)
    assert ipvs.Persistence(300).replace(timeout=60) == ipvs.Persistence(60)
    assert K.replace(port=443) == ipvs.ServiceKey.tcp("10.0.0.1", 443)
    assert ipvs.ServiceKey.fwmark(3).replace(mark=4) == ipvs.ServiceKey.fwmark(4)
    op = ipvs.Operation.delete_destination(K, "10.0.0.2", 80)
    assert op.replace(port=81) == ipvs.Operation.delete_destination(K, "10.0.0.2", 81)
    with pytest.raises(TypeError, match="unexpected keyword argument 'wieght'"):
        d.replace(wieght=1)  # type: ignore[call-arg]
    with pytest.raises(ipvs.InvalidInputError, match="weight"):
        d.replace(weight=2**32)


def test_dataclass_values_replace_too() -> None:
    t = ipvs.Timeouts(900, 120, 300)
    assert t.replace(udp=5) == ipvs.Timeouts(900, 120, 5) == dataclasses.replace(t, udp=5)
    sd = ipvs.SyncDaemon("master", "eth0", 3)
    assert sd.replace(sync_id=4) == ipvs.SyncDaemon("master", "eth0", 4)
    with pytest.raises(ipvs.InvalidInputError):
        sd.replace(ttl=0)
    table = ipvs.Table([ipvs.TableService(ipvs.Service(K))])
    assert table.replace(timeouts=t).timeouts == t
