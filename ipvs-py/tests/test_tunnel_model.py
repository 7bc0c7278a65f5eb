"""Pure tests of the ``ipvs.tunnel`` value classes (no kernel needed)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from typing import Any, Callable

import pytest

import ipvs
from ipvs import tunnel as t


def test_tunnel_config_defaults_follow_the_kernel_and_ip() -> None:
    v4 = t.TunnelConfig("ipip")
    assert v4.kind is t.TunnelKind.IPIP and v4.encap_limit is None and v4.pmtudisc and v4.ttl == 0
    v6 = t.TunnelConfig(t.TunnelKind.IP6TNL)
    assert v6.encap_limit == 4  # what `ip link add ... type ip6tnl` sets
    assert t.TunnelConfig("ip6gre", encap_limit=None).encap_limit is None
    assert t.TunnelKind.IP6GRE.outer_is_v6 and not t.TunnelKind.GRE.outer_is_v6
    assert t.TunnelKind.GRETAP.is_gre and not t.TunnelKind.SIT.is_gre
    assert t.TunnelKind.IPIP.fallback_device == "tunl0" and t.TunnelKind.IP6GRETAP.fallback_device is None


def test_values_accept_strings_and_give_ipaddress_objects() -> None:
    c = t.TunnelConfig("gre", local="192.0.2.1", remote=ipaddress.ip_address("192.0.2.2"), ikey=5)
    assert c.local == ipaddress.IPv4Address("192.0.2.1") and c.remote == ipaddress.IPv4Address("192.0.2.2")
    assert t.TunnelConfig("sit", proto="ipv6").proto is t.InnerProto.IPV6
    assert t.TunnelConfig("ipip", proto=4).proto is t.InnerProto.IPV4
    p = t.FouPort(6080, local="192.0.2.1")
    assert p.local == ipaddress.IPv4Address("192.0.2.1") and p.is_gue
    rs = t.RealServer.dr("203.0.113.10")
    assert rs.vips == (ipaddress.IPv4Address("203.0.113.10"),)
    a = t.Address(3, "10.0.0.1", 24)
    assert a.interface == ipaddress.IPv4Interface("10.0.0.1/24")


def test_reprs_are_readable_and_show_what_differs_from_the_defaults() -> None:
    assert repr(t.TunnelConfig("ipip")) == "TunnelConfig(TunnelKind.IPIP)"
    assert repr(t.TunnelConfig("ip6tnl", remote="2001:db8::2")) == "TunnelConfig(TunnelKind.IP6TNL, remote='2001:db8::2')"
    assert repr(t.Encap.gue(6080)) == "Encap(EncapType.GUE, 6080)"
    assert repr(t.FouPort.direct(5555, 4)) == "FouPort(5555, ipproto=4)"
    assert repr(t.NewLink.dummy("vip0", up=True)) == "NewLink('vip0', up=True)"
    assert repr(t.RealServer.dr("203.0.113.10")) == "RealServer(VipDeviceType.LOOPBACK, 'lo', ['203.0.113.10'])"
    assert repr(t.Address(3, "10.0.0.1", 24)) == "Address(3, '10.0.0.1/24')"
    assert repr(t.TunnelEncapFlags.CSUM | t.TunnelEncapFlags.REMCSUM) == "TunnelEncapFlags.CSUM|TunnelEncapFlags.REMCSUM"


VALUES = [
    t.TunnelConfig("ipip", local="192.0.2.1", encap=t.Encap.gue(6080, sport=1000, flags=t.TunnelEncapFlags.CSUM)),
    t.TunnelConfig("ip6tnl", local="2001:db8::1", proto=t.InnerProto.IPV6, flowinfo=5),
    t.TunnelConfig("gre", ikey=1, okey=2, ttl=9, tos=1, pmtudisc=False),
    t.Encap.fou(5555),
    t.NewLink("tun1", t.TunnelConfig("ipip"), mtu=1400, up=True),
    t.NewLink.dummy("vip0"),
    t.Link(4, "tun1", kind="ipip", mtu=1480, flags=t.IFF_UP, link=2, tunnel=t.TunnelConfig("ipip")),
    t.Address(1, "2001:db8::1", 64, scope=0, flags=0x80, label=None),
    t.FouPort(6080, ipv6=True, local="2001:db8::1", peer="2001:db8::2", peer_port=7000, ifindex=3),
    t.RealServer.tun("203.0.113.10", fou=t.FouPort.gue(6080)),
    t.RealServer.tun_device("lvs0", t.TunnelConfig("ip6tnl"), ["2001:db8::10"]),
    t.RealServer.dr_dummy("vip0", ["203.0.113.10", "203.0.113.11"]),
    t.Prepared("tunl0", namespace="blue", created_device=True, addresses=["203.0.113.10/32"], sysctls=[t.SysctlChange("net/ipv4/conf/all/arp_ignore", "0", "1")]),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_dict_and_json_round_trips_equality_and_hash(value: Any) -> None:
    again = type(value).from_dict(value.to_dict())
    assert again == value and hash(again) == hash(value)
    assert type(value).from_json(value.to_json()) == value
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.foo = 1


def test_values_the_kernel_reports_are_taken_as_they_are() -> None:
    odd = t.TunnelConfig("sit").to_dict() | {"proto": 200}
    with pytest.raises(ipvs.InvalidInputError, match="not supported"):
        t.TunnelConfig.from_dict(odd)
    (link,) = t._links([{"index": 5, "name": "sit1", "kind": "sit", "mtu": 1480, "flags": 0, "link": None, "tunnel": odd}])
    assert link.tunnel is not None and link.tunnel.proto == 200
    assert t.TunnelConfig("sit", proto="any").proto is t.InnerProto.ANY  # and validation is back on
    with pytest.raises(ipvs.InvalidInputError):
        t.TunnelConfig.from_dict(odd)


def test_dataclasses_replace_edits_a_config() -> None:
    c = t.TunnelConfig("ipip", remote="192.0.2.2")
    d = dataclasses.replace(c, ttl=64)
    assert d.ttl == 64 and d.remote == c.remote and c.ttl == 0
    with pytest.raises(ipvs.InvalidInputError):
        dataclasses.replace(c, remote=ipaddress.ip_address("2001:db8::1"))


def test_real_server_wanted_sysctls_are_the_cores() -> None:
    assert t.RealServer.tun("203.0.113.10").wanted_sysctls() == [
        ("net/ipv4/conf/tunl0/rp_filter", "0"),
        ("net/ipv4/conf/all/rp_filter", "0"),
        ("net/ipv4/conf/all/arp_ignore", "1"),
        ("net/ipv4/conf/all/arp_announce", "2"),
        ("net/ipv4/conf/tunl0/arp_ignore", "1"),
        ("net/ipv4/conf/tunl0/arp_announce", "2"),
    ]
    # IPv6 VIPs need neither ARP nor reverse-path settings
    assert t.RealServer.dr("2001:db8::10").wanted_sysctls() == []
    assert t.RealServer.tun("203.0.113.10").with_fou(t.FouPort.gue(1)).fou == t.FouPort.gue(1)


BAD: list[tuple[str, Callable[[], object], type, str]] = [
    ("name too long", lambda: t.NewLink.dummy("x" * 16), ipvs.InvalidInputError, "at most 15"),
    ("name with NUL", lambda: t.NewLink.dummy("a\0b"), ipvs.InvalidInputError, "NUL"),
    ("name with slash", lambda: t.NewLink.dummy("a/b"), ipvs.InvalidInputError, "'/'"),
    ("empty name", lambda: t.NewLink.dummy(""), ipvs.InvalidInputError, "empty"),
    ("MTU below 68", lambda: t.NewLink.dummy("d0", mtu=67), ipvs.InvalidInputError, "minimum of 68"),
    ("v4 address on v6 kind", lambda: t.TunnelConfig("ip6tnl", local="192.0.2.1"), ipvs.InvalidInputError, "IPv6"),
    ("v6 address on v4 kind", lambda: t.TunnelConfig("gre", remote="2001:db8::1"), ipvs.InvalidInputError, "IPv4"),
    ("multicast local", lambda: t.TunnelConfig("ipip", local="224.0.0.1"), ipvs.InvalidInputError, "multicast"),
    ("keys on ipip", lambda: t.TunnelConfig("ipip", ikey=1), ipvs.InvalidInputError, "GRE"),
    ("checksums on ipip", lambda: t.TunnelConfig("ipip", ocsum=True), ipvs.InvalidInputError, "GRE"),
    ("sequence numbers on ip6tnl", lambda: t.TunnelConfig("ip6tnl", iseq=True), ipvs.InvalidInputError, "GRE"),
    ("checksum flag not a bool", lambda: t.TunnelConfig("gre", icsum=1), TypeError, "icsum must be a bool"),  # type: ignore[arg-type]
    ("proto on gre", lambda: t.TunnelConfig("gre", proto="ipv4"), ipvs.InvalidInputError, "not supported"),
    ("tos on ip6tnl", lambda: t.TunnelConfig("ip6tnl", tos=4), ipvs.InvalidInputError, "flowinfo"),
    ("encap_limit on ipip", lambda: t.TunnelConfig("ipip", encap_limit=4), ipvs.InvalidInputError, "IPv6 tunnels only"),
    ("encap dport 0", lambda: t.TunnelConfig("ipip", encap=t.Encap.gue(0)), ipvs.InvalidInputError, "destination port"),
    ("remcsum on fou", lambda: t.TunnelConfig("ipip", encap=t.Encap.fou(1, flags=t.TunnelEncapFlags.REMCSUM)), ipvs.InvalidInputError, "GUE"),
    ("encap on gretap", lambda: t.TunnelConfig("gretap", encap=t.Encap.gue(1)), ipvs.InvalidInputError, "gretap"),
    ("FOU port 0", lambda: t.FouPort.gue(0), ipvs.InvalidInputError, "must not be 0"),
    ("direct FOU proto 0", lambda: t.FouPort.direct(1, 0), ipvs.InvalidInputError, "non-zero IP protocol"),
    ("FOU v6 local on v4 port", lambda: t.FouPort(1, local="2001:db8::1"), ipvs.InvalidInputError, "family"),
    ("no VIP", lambda: t.RealServer.dr([]), ipvs.InvalidInputError, "no VIP"),
    ("multicast VIP", lambda: t.RealServer.dr("224.0.0.1"), ipvs.InvalidInputError, "unicast"),
    ("port out of range", lambda: t.FouPort.gue(70000), ValueError, "outside"),
    ("ttl out of range", lambda: t.TunnelConfig("ipip", ttl=256), ValueError, "outside"),
    ("unknown kind", lambda: t.TunnelConfig("vxlan"), ValueError, "unknown value"),
    ("not an address", lambda: t.TunnelConfig("ipip", local="nope"), ValueError, "not an IP address"),
    ("address of a wrong type", lambda: t.TunnelConfig("ipip", local=1), TypeError, "IP address"),  # type: ignore[arg-type]
    ("name of a wrong type", lambda: t.NewLink(5), TypeError, "string"),  # type: ignore[arg-type]
    ("pmtudisc not a bool", lambda: t.TunnelConfig("ipip", pmtudisc=1), TypeError, "bool"),  # type: ignore[arg-type]
    ("bad sysctl path", lambda: t.read_sysctl("/proc/sys/net"), ipvs.InvalidInputError, "relative path"),
]


@pytest.mark.parametrize("case,build,exc,message", BAD, ids=[b[0] for b in BAD])
def test_bad_tunnel_values_raise_typed_errors_with_the_cores_message(
    case: str, build: Callable[[], object], exc: type, message: str
) -> None:
    with pytest.raises(exc, match=message):
        build()
