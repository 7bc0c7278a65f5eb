"""Pure tests of the value classes: no kernel needed (they also run on the host)."""

from __future__ import annotations

import copy
import ipaddress
import json
import pickle
from typing import Any, Dict

import pytest

import ipvs
from ipvs import _ipvs

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address


def core(kind: str, value: Any) -> Dict[str, Any]:
    """The core's canonical serde form of a value's dict (parsed and re-encoded by Rust).

    The native classes parse with the core's deserialiser; timeouts and sync
    daemons go through an operation (the core's serialiser); the kernel's
    reports (stats, entries, info) round-trip through their own class.
    """
    if kind == "timeouts":
        out: Dict[str, Any] = json.loads(ipvs.Operation.set_timeouts(value).to_json())["set_timeouts"]
    elif kind == "sync_daemon":
        out = json.loads(ipvs.Operation.start_daemon(value).to_json())["start_daemon"]
    else:
        out = json.loads(type(value).from_json(value.to_json()).to_json())
    return out


def serde(value: Any) -> Any:
    """A value's serde form: its JSON (``to_dict`` gives the constructor's arguments)."""
    return json.loads(value.to_json())


# ------------------------------------------------------------ keys


def test_keys_take_strings_or_address_objects_and_compare_by_value() -> None:
    a = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    b = ipvs.ServiceKey.tcp(V4("10.0.0.1"), 80)
    assert a == b and hash(a) == hash(b)
    assert isinstance(a.addr, V4) and a.addr == V4("10.0.0.1")
    assert a.protocol is ipvs.Protocol.TCP
    assert a != ipvs.ServiceKey.udp("10.0.0.1", 80)
    assert a != ipvs.ServiceKey.tcp("10.0.0.1", 81)
    assert len({a, b, ipvs.ServiceKey.fwmark(1)}) == 2
    assert ipvs.ServiceKey.sctp("2001:db8::1", 5060).family is ipvs.Family.IPV6
    assert ipvs.ServiceKey.fwmark(7).family is ipvs.Family.IPV4
    assert ipvs.ServiceKey.fwmark(7, "ipv6") == ipvs.FwmarkKey(7, ipvs.Family.IPV6)


def test_key_reprs_and_text() -> None:
    assert repr(ipvs.ServiceKey.tcp("10.0.0.1", 80)) == "ServiceKey.tcp('10.0.0.1', 80)"
    assert repr(ipvs.ServiceKey.fwmark(5)) == "ServiceKey.fwmark(5)"
    assert repr(ipvs.ServiceKey.fwmark(5, "ipv6")) == "ServiceKey.fwmark(5, Family.IPV6)"
    assert str(ipvs.ServiceKey.udp("2001:db8::1", 53)) == "UDP [2001:db8::1]:53"
    assert str(ipvs.ServiceKey.fwmark(5)) == "FWM 5"


def test_keys_are_frozen_and_copyable() -> None:
    k = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    with pytest.raises(AttributeError):
        k.port = 81  # type: ignore[misc]
    assert copy.deepcopy(k) == k
    assert pickle.loads(pickle.dumps(k)) == k


def test_key_serde_form_matches_the_core() -> None:
    k = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    assert serde(k) == {"inet": {"protocol": "tcp", "addr": "10.0.0.1", "port": 80}}
    assert core("service_key", k) == serde(k)
    f = ipvs.ServiceKey.fwmark(9, "ipv6")
    assert serde(f) == {"fwmark": {"family": "ipv6", "mark": 9}}
    assert core("service_key", f) == serde(f)
    assert ipvs.ServiceKey.from_dict(serde(k)) == k
    assert k.to_dict() == {"protocol": "tcp", "addr": "10.0.0.1", "port": 80}
    assert f.to_dict() == {"mark": 9, "family": "ipv6"}
    assert ipvs.ServiceKey.from_dict(k.to_dict()) == k and ipvs.FwmarkKey(**f.to_dict()) == f
    assert ipvs.ServiceKey.from_json(f.to_json()) == f


def test_bad_keys_are_refused_with_the_cores_message() -> None:
    with pytest.raises(ValueError, match="firewall mark must be non-zero"):
        ipvs.ServiceKey.fwmark(0)
    with pytest.raises(ipvs.InvalidInputError, match="cannot be multicast"):
        ipvs.ServiceKey.tcp("224.0.0.1", 80)
    with pytest.raises(ValueError, match="not an IP address"):
        ipvs.ServiceKey.tcp("10.0.0", 80)
    with pytest.raises(ValueError, match="port 70000 is outside"):
        ipvs.ServiceKey.tcp("10.0.0.1", 70000)
    with pytest.raises(TypeError):
        ipvs.ServiceKey.tcp(167772161, 80)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ipvs.ServiceKey.tcp("10.0.0.1", "80")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown value 'icmp'"):
        ipvs.InetKey("icmp", "10.0.0.1", 80)
    with pytest.raises(TypeError):
        ipvs.ServiceKey()
    with pytest.raises(ValueError):
        ipvs.ServiceKey.from_dict({"inet": {}, "fwmark": {}})


# ------------------------------------------------------------ services


def test_service_defaults_match_ipvsadm() -> None:
    s = ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 80))
    assert s.scheduler is ipvs.Scheduler.WLC
    assert s.flags == ipvs.ServiceFlags(0)
    assert s.persistence is None and s.pe is None
    assert repr(s) == "Service(ServiceKey.tcp('10.0.0.1', 80))"
    assert str(s) == "TCP  10.0.0.1:80 wlc"


def test_service_persistence_resolves_the_full_netmask() -> None:
    k4 = ipvs.ServiceKey.tcp("10.0.0.1", 0)
    s = ipvs.Service(k4, persistence=600)
    assert s.persistence == ipvs.Persistence(600, "255.255.255.255")
    assert s == ipvs.Service(k4, persistence=ipvs.Persistence(600))
    k6 = ipvs.ServiceKey.tcp("2001:db8::1", 443)
    assert ipvs.Service(k6, persistence=ipvs.Persistence()).persistence == ipvs.Persistence(300, 128)
    s = ipvs.Service(k4, scheduler="sh", flags=ipvs.ServiceFlags.SH_PORT, persistence=ipvs.Persistence(60, "255.255.255.0"))
    assert str(s) == "TCP  10.0.0.1:0 sh (sh-port) persistent 60 mask 255.255.255.0"
    assert repr(s) == (
        "Service(ServiceKey.tcp('10.0.0.1', 0), scheduler=Scheduler.SH, flags=ServiceFlags.SH_PORT, "
        "persistence=Persistence(60, '255.255.255.0'))"
    )


def test_service_flags_display_by_their_schedulers_names() -> None:
    k = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    both = ipvs.ServiceFlags.SCHED_1 | ipvs.ServiceFlags.SCHED_2
    assert "flags=ServiceFlags.MH_FALLBACK|ServiceFlags.MH_PORT" in repr(ipvs.Service(k, scheduler="mh", flags=both))
    assert "flags=ServiceFlags.SCHED_1|ServiceFlags.SCHED_2" in repr(ipvs.Service(k, scheduler="rr", flags=both))
    one = ipvs.Service(ipvs.ServiceKey.udp("10.0.0.1", 53), scheduler="sh", flags=ipvs.ServiceFlags.ONE_PACKET | ipvs.ServiceFlags.SH_FALLBACK)
    assert "flags=ServiceFlags.ONE_PACKET|ServiceFlags.SH_FALLBACK" in repr(one)
    assert eval(repr(one), {"Service": ipvs.Service, "ServiceKey": ipvs.ServiceKey, "Scheduler": ipvs.Scheduler, "ServiceFlags": ipvs.ServiceFlags}) == one


def test_service_scheduler_names() -> None:
    k = ipvs.ServiceKey.udp("10.0.0.1", 53)
    assert ipvs.Service(k, scheduler="rr") == ipvs.Service(k, scheduler=ipvs.Scheduler.RR)
    other = ipvs.Service(k, scheduler="myown")
    assert other.scheduler == "myown" and other.scheduler_name == "myown"
    assert ipvs.Scheduler.MH.module == "ip_vs_mh"
    with pytest.raises(ValueError, match="at most 15"):
        ipvs.Service(k, scheduler="a-very-long-scheduler-name")


def test_service_serde_form_matches_the_core() -> None:
    s = ipvs.Service(
        ipvs.ServiceKey.udp("10.0.0.1", 5060),
        scheduler=ipvs.Scheduler.MH,
        flags=ipvs.ServiceFlags.MH_FALLBACK | ipvs.ServiceFlags.ONE_PACKET,
        persistence=ipvs.Persistence(30, "255.255.0.0"),
        pe="sip",
    )
    d = serde(s)
    assert d == {
        "key": {"inet": {"protocol": "udp", "addr": "10.0.0.1", "port": 5060}},
        "scheduler": "mh",
        "flags": 0x0C,
        "persistence": {"timeout": 30, "netmask": {"v4": "255.255.0.0"}},
        "pe": "sip",
    }
    assert core("service", s) == d
    assert ipvs.Service.from_dict(d) == s
    s6 = ipvs.Service(ipvs.ServiceKey.fwmark(3, "ipv6"), persistence=ipvs.Persistence(10, 64))
    assert core("service", s6) == serde(s6)
    assert serde(s6)["persistence"]["netmask"] == {"v6": 64}
    assert s6.to_dict()["persistence"] == {"timeout": 10, "netmask": 64}
    assert ipvs.Service(**s.to_dict()) == s
    # serde defaults: only the key is required
    assert ipvs.Service.from_dict({"key": {"fwmark": {"family": "ipv4", "mark": 1}}}) == ipvs.Service(
        ipvs.ServiceKey.fwmark(1)
    )


def test_bad_services_are_refused() -> None:
    k = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    with pytest.raises(ValueError, match="not contiguous"):
        ipvs.Service(k, persistence=ipvs.Persistence(300, "255.0.255.0"))
    with pytest.raises(ValueError, match="at least 1 second"):
        ipvs.Service(k, persistence=0)
    with pytest.raises(ValueError, match="needs persistence"):
        ipvs.Service(k, pe="sip")
    with pytest.raises(ValueError, match="IPv4 service needs an IPv4 netmask"):
        ipvs.Service(k, persistence=ipvs.Persistence(300, 64))
    with pytest.raises(ValueError, match="outside 1..=128"):
        ipvs.Service(ipvs.ServiceKey.tcp("::1", 80), persistence=ipvs.Persistence(300, 129))
    with pytest.raises(ValueError, match="unknown flag bits"):
        ipvs.Service(k, flags=0x1)
    with pytest.raises(TypeError):
        ipvs.Service("10.0.0.1:80")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ipvs.Service(k, scheduler=3)  # type: ignore[arg-type]


# ------------------------------------------------------------ destinations


def test_destination_defaults_match_ipvsadm() -> None:
    d = ipvs.Destination("192.168.1.2", 80)
    assert d.forwarding is ipvs.Forwarding.ROUTE
    assert d.weight == 1 and d.upper_threshold == 0 and d.lower_threshold == 0
    assert repr(d) == "Destination('192.168.1.2', 80)"
    assert str(d) == "192.168.1.2:80"
    assert serde(d) == {
        "addr": "192.168.1.2",
        "port": 80,
        "forward": "directroute",
        "weight": 1,
        "upper_threshold": 0,
        "lower_threshold": 0,
    }
    assert ipvs.Destination.from_dict({"addr": "192.168.1.2", "port": 80}) == d


@pytest.mark.parametrize(
    "dest, forward",
    [
        (ipvs.Destination("10.1.1.1", 80, forwarding="masq", weight=5), "masq"),
        (ipvs.Destination("10.1.1.1", 80, forwarding=ipvs.Forwarding.LOCAL), "local"),
        (ipvs.Destination("10.1.1.1", 80, forwarding=ipvs.Forwarding.BYPASS), "bypass"),
        (ipvs.Destination("10.1.1.1", 80, forwarding=ipvs.Forwarding.TUNNEL), {"tunnel": "ipip"}),
        (
            ipvs.Destination(
                "10.1.1.1",
                80,
                forwarding=ipvs.Forwarding.TUNNEL,
                tunnel=ipvs.TunnelType.GUE,
                tunnel_port=6080,
                tunnel_flags=ipvs.EncapFlags.CSUM | ipvs.EncapFlags.REMCSUM,
            ),
            {"tunnel": {"gue": {"port": 6080, "flags": 3}}},
        ),
        (
            ipvs.Destination("10.1.1.1", 80, forwarding="tunnel", tunnel="gre", tunnel_flags=ipvs.EncapFlags.CSUM),
            {"tunnel": {"gre": {"flags": 1}}},
        ),
    ],
)
def test_destination_forwarding_serde_form(dest: ipvs.Destination, forward: Any) -> None:
    d = serde(dest)
    assert d["forward"] == forward
    assert core("destination", dest) == d
    back = ipvs.Destination.from_dict(d)
    assert back == dest and hash(back) == hash(dest)
    assert ipvs.Destination(**dest.to_dict()) == dest


def test_destination_repr_shows_what_differs_from_the_defaults() -> None:
    d = ipvs.Destination(
        "2001:db8::5",
        443,
        forwarding=ipvs.Forwarding.TUNNEL,
        tunnel=ipvs.TunnelType.GUE,
        tunnel_port=5555,
        weight=0,
        upper_threshold=10,
        lower_threshold=5,
    )
    assert repr(d) == (
        "Destination('2001:db8::5', 443, forwarding=Forwarding.TUNNEL, weight=0, upper_threshold=10, "
        "lower_threshold=5, tunnel=TunnelType.GUE, tunnel_port=5555)"
    )
    assert str(d) == "[2001:db8::5]:443"


def test_bad_destinations_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a unicast address"):
        ipvs.Destination("0.0.0.0", 80)
    with pytest.raises(ValueError, match="needs a unicast address"):
        ipvs.Destination("255.255.255.255", 80)
    with pytest.raises(ValueError, match="above the maximum"):
        ipvs.Destination("10.0.0.2", 80, weight=2**31)
    with pytest.raises(ValueError, match="lower threshold 9 is above upper threshold 5"):
        ipvs.Destination("10.0.0.2", 80, upper_threshold=5, lower_threshold=9)
    with pytest.raises(ValueError, match="non-zero port"):
        ipvs.Destination("10.0.0.2", 80, forwarding="tunnel", tunnel="gue")
    with pytest.raises(ValueError, match="GUE only"):
        ipvs.Destination("10.0.0.2", 80, forwarding="tunnel", tunnel="gre", tunnel_flags=ipvs.EncapFlags.REMCSUM)
    with pytest.raises(ValueError, match="need forwarding=Forwarding.TUNNEL"):
        ipvs.Destination("10.0.0.2", 80, tunnel="gue", tunnel_port=1)
    # the kernel's range, not u32's (issue 16)
    with pytest.raises(ValueError, match="weight -1 is outside 0..=2147483647"):
        ipvs.Destination("10.0.0.2", 80, weight=-1)
    with pytest.raises(TypeError):
        ipvs.Destination("10.0.0.2", 80, weight=1.5)  # type: ignore[arg-type]
    # another family than the service's needs tunnelling: checked by the core against the service
    with pytest.raises(ValueError, match="needs tunnel forwarding"):
        ipvs.Operation.add_destination(ipvs.ServiceKey.tcp("10.0.0.1", 80), ipvs.Destination("2001:db8::2", 80))


# ------------------------------------------------------------ the rest of the model


def test_stats_entries_timeouts_info_round_trip() -> None:
    st = ipvs.Stats(conns=3, in_packets=10, out_bytes=2**63)
    assert core("stats", st) == st.to_dict()
    se = ipvs.ServiceEntry(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 80)), st)
    assert core("service_entry", se) == serde(se)
    assert ipvs.ServiceEntry.from_dict(se.to_dict()) == se
    assert se.key == ipvs.ServiceKey.tcp("10.0.0.1", 80)
    de = ipvs.DestinationEntry(ipvs.Destination("10.0.0.2", 80, forwarding="masq", weight=3), 4, 5, 6, st)
    assert core("destination_entry", de) == serde(de)
    assert ipvs.DestinationEntry.from_json(de.to_json()) == de
    assert str(de).split() == ["->", "10.0.0.2:80", "Masq", "3", "4", "5"]
    t = ipvs.Timeouts(900, 120, 300)
    assert core("timeouts", t) == {"tcp": 900, "tcp_fin": 120, "udp": 300}
    assert ipvs.Timeouts.from_dict(t.to_dict()) == t
    i = ipvs.Info(0x010201, 4096)
    assert core("info", i) == i.to_dict()
    assert i.version_triple == (1, 2, 1)
    assert str(i) == "IP Virtual Server version 1.2.1 (size=4096)"
    with pytest.raises(ValueError):
        ipvs.Stats(conns=-1)


def test_sync_daemon_values() -> None:
    d = ipvs.SyncDaemon("master", "eth0", 7, group="239.1.1.1", port=8849, ttl=2)
    assert d.state is ipvs.SyncState.MASTER and d.group == V4("239.1.1.1")
    assert core("sync_daemon", d) == d.to_dict()
    assert ipvs.SyncDaemon.from_dict(d.to_dict()) == d
    assert repr(d) == "SyncDaemon(SyncState.MASTER, 'eth0', 7, port=8849, ttl=2, group='239.1.1.1')"
    with pytest.raises(ValueError, match="not a multicast address"):
        ipvs.SyncDaemon("backup", "eth0", group="10.0.0.1")
    with pytest.raises(ValueError, match="1 to 15 bytes"):
        ipvs.SyncDaemon("backup", "")
    with pytest.raises(ValueError, match="TTL must be 1 to 255"):
        ipvs.SyncDaemon("backup", "eth0", ttl=0)


def test_enums_and_flags() -> None:
    assert [p.value for p in ipvs.Protocol] == ["tcp", "udp", "sctp"]
    assert repr(ipvs.Forwarding.MASQ) == "Forwarding.MASQ"
    assert str(ipvs.Scheduler.WRR) == "wrr"
    assert ipvs.ServiceFlags.SH_FALLBACK.value == ipvs.ServiceFlags.SCHED_1.value
    assert ipvs.ServiceFlags.MH_PORT.value == ipvs.ServiceFlags.SCHED_2.value
    assert ipvs.ServiceFlags(0x8) is ipvs.ServiceFlags.SH_FALLBACK
    assert repr(ipvs.ServiceFlags(0)) == "ServiceFlags(0)"
    assert repr(ipvs.EncapFlags.CSUM | ipvs.EncapFlags.REMCSUM) == "EncapFlags.CSUM|EncapFlags.REMCSUM"
    assert ipvs.Family.of("::1") is ipvs.Family.IPV6


def test_every_value_is_hashable_and_usable_in_sets() -> None:
    values = [
        ipvs.ServiceKey.tcp("10.0.0.1", 80),
        ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 80)),
        ipvs.Destination("10.0.0.2", 80),
        ipvs.Persistence(),
        ipvs.Stats(),
        ipvs.Timeouts(),
        ipvs.Info(1, 2),
        ipvs.SyncDaemon("master", "eth0"),
    ]
    assert len(set(values)) == len(values)
    assert len(set(values + [copy.copy(v) for v in values])) == len(values)


# ------------------------------------------------------------ errors


def test_error_hierarchy() -> None:
    e = ipvs.ExistsError("adding service TCP 10.0.0.1:80: already exists", "adding service TCP 10.0.0.1:80", 17)
    assert isinstance(e, ipvs.ExistsError) and isinstance(e, FileExistsError) and isinstance(e, OSError)
    assert isinstance(e, ipvs.KernelError) and isinstance(e, ipvs.IpvsError)
    assert e.errno == 17 and e.context == "adding service TCP 10.0.0.1:80"
    assert str(e) == "adding service TCP 10.0.0.1:80: already exists"
    # the class of each core error kind is chosen in Rust (lvskit::ErrorKind)

    def made(kind: str) -> Any:
        return _ipvs._sample_error(kind)

    ex = made("exists")
    assert type(ex) is ipvs.ExistsError and isinstance(ex, FileExistsError) and ex.errno == 17 and ex.context == "c"
    assert str(ex) == "c: already exists (EEXIST)" or str(ex).startswith("c: already exists")
    nf = made("not_found")
    assert isinstance(nf, ipvs.NotFoundError) and isinstance(nf, LookupError) and nf.errno == 3
    mm = made("module_missing")
    assert isinstance(mm, ipvs.ModuleMissingError) and mm.module == "ip_vs_foo"
    inv = made("invalid")
    assert isinstance(inv, ipvs.InvalidArgumentError) and isinstance(inv, ValueError) and inv.hint == "a hint"
    pd = made("permission_denied")
    assert isinstance(pd, PermissionError)
    ii = made("invalid_input")
    assert isinstance(ii, ipvs.InvalidInputError) and isinstance(ii, ValueError)
    assert not isinstance(ii, OSError) and ii.errno is None
    to = made("timeout")
    assert isinstance(to, TimeoutError) and isinstance(to, ipvs.IpvsTimeoutError)
    assert type(made("protocol")) is ipvs.ProtocolError
    assert type(made("kernel")) is ipvs.KernelError and made("kernel").errno == 5
    assert type(made("io")) is ipvs.SystemCallError and made("io").errno == 2
    assert type(made("not_attempted")) is ipvs.NotAttemptedError
    assert made("brand-new") is None


def test_opening_a_missing_namespace_is_a_system_call_error() -> None:
    with pytest.raises(ipvs.SystemCallError) as info:
        ipvs.Ipvs(namespace="no-such-namespace-here")
    assert info.value.errno == 2
    # and a NotFoundError (issue 17): what is missing is the namespace
    err: BaseException = info.value
    assert isinstance(err, ipvs.NotFoundError) and isinstance(err, ipvs.NamespaceNotFoundError)
    assert "no-such-namespace-here" in str(info.value)
    with pytest.raises(ValueError):
        ipvs.Ipvs(namespace="")
    with pytest.raises(TypeError):
        ipvs.Ipvs(namespace=1.5)  # type: ignore[arg-type]


# ------------------------------------------------------------ native classes


def test_values_take_address_objects_and_return_them_lazily() -> None:
    k = ipvs.ServiceKey.udp(V6("2001:db8::1"), 53)
    assert k == ipvs.ServiceKey.udp("2001:db8::1", 53)
    assert isinstance(k.addr, V6) and k.addr == V6("2001:db8::1")
    d = ipvs.Destination(V4("10.0.0.2"), 80)
    assert d == ipvs.Destination("10.0.0.2", 80) and d.addr == V4("10.0.0.2")
    assert d.family is ipvs.Family.IPV4 and d.tunnel is ipvs.TunnelType.IPIP
    assert d.tunnel_flags == ipvs.EncapFlags(0) and d.tunnel_port == 0
    p = ipvs.Persistence(60, V4("255.255.255.0"))
    assert p == ipvs.Persistence(60, "255.255.255.0") and p.netmask == V4("255.255.255.0")
    assert ipvs.Persistence().timeout == ipvs.Persistence.DEFAULT_TIMEOUT == 300
    assert ipvs.Persistence().netmask is None
    assert ipvs.Destination.MAX_WEIGHT == 2**31 - 1
    with pytest.raises(TypeError, match="must be an IP address or a string, not bytes"):
        ipvs.Destination(b"10.0.0.2", 80)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'10.0.0.300' is not an IP address"):
        ipvs.Destination("10.0.0.300", 80)
    with pytest.raises(ValueError, match="netmask '1.2.3' is not an IPv4 netmask"):
        ipvs.Persistence(60, "1.2.3")
    with pytest.raises(TypeError, match="forwarding must be a Forwarding or a string, not int"):
        ipvs.Destination("10.0.0.2", 80, forwarding=1)  # type: ignore[arg-type]


def test_values_are_frozen_picklable_and_keep_their_class() -> None:
    k6 = ipvs.ServiceKey.fwmark(3, "ipv6")
    values: list[Any] = [
        ipvs.ServiceKey.tcp("10.0.0.1", 80),
        k6,
        ipvs.Persistence(60),
        ipvs.Persistence(60, 64),
        ipvs.Service(k6, scheduler="myown", persistence=ipvs.Persistence(10, 64)),
        ipvs.Destination("10.0.0.2", 80, forwarding="tunnel", tunnel="gre", tunnel_flags=1),
        ipvs.Operation.delete_destination(ipvs.ServiceKey.tcp("10.0.0.1", 80), V4("10.0.0.2"), 80),
        ipvs.Operation.stop_daemon(ipvs.SyncState.MASTER),
    ]
    for v in values:
        back = pickle.loads(pickle.dumps(v))
        assert back == v and hash(back) == hash(v) and type(back) is type(v)
        assert copy.copy(v) == v and copy.deepcopy(v) == v
        assert v != object() and not (v == "x")
    assert type(ipvs.ServiceKey.from_json(k6.to_json())) is ipvs.FwmarkKey
    assert isinstance(k6, ipvs.ServiceKey) and k6.mark == 3 and k6.family is ipvs.Family.IPV6
    d = ipvs.Destination("10.0.0.2", 80)
    with pytest.raises(AttributeError):
        d.weight = 3  # type: ignore[misc]


def test_operation_attributes_return_the_model_types() -> None:
    k = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    op = ipvs.Operation.delete_destination(k, "2001:db8::2", 8080)
    assert op.kind is ipvs.OperationKind.DELETE_DESTINATION
    assert op.key == k and op.addr == V6("2001:db8::2") and op.port == 8080
    assert op.service is None and op.destination is None and op.timeouts is None
    t = ipvs.Operation.set_timeouts(ipvs.Timeouts(1, 2, 3))
    assert t.timeouts == ipvs.Timeouts(1, 2, 3) and t.key is None
    sd = ipvs.SyncDaemon("backup", "eth1", 4, group="239.0.0.9")
    assert ipvs.Operation.start_daemon(sd).daemon == sd
    assert ipvs.Operation("stop_daemon", state="master").state is ipvs.SyncState.MASTER
    svc = ipvs.Service(k, persistence=30)
    assert ipvs.Operation("add_service", service=svc).service == svc
    with pytest.raises(TypeError, match="add_service takes no key"):
        ipvs.Operation("add_service", service=svc, key=k)
    with pytest.raises(TypeError, match="key must be a ServiceKey, not str"):
        ipvs.Operation.delete_service("10.0.0.1:80")  # type: ignore[arg-type]
