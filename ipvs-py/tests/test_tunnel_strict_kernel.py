"""Kernel tests of ``ipvs.tunnel``'s tolerant reading and strict writing, and
of a real server for an IPv6 VIP; ``ip`` is the referee."""

from __future__ import annotations

import json
import subprocess
from typing import Any, Iterator

import pytest

import ipvs
from conftest import Netns
from ipvs import tunnel as t

pytestmark = pytest.mark.kernel

RAW = b"lvs\xff\xfe"


@pytest.fixture
def rtnl(netns: Netns) -> Iterator[t.Rtnl]:
    with t.Rtnl(netns.name, timeout=10) as h:
        yield h


def test_a_device_name_that_is_not_utf8_lists_with_its_exact_bytes(netns: Netns, rtnl: t.Rtnl) -> None:
    subprocess.run([b"ip", b"-n", netns.name.encode(), b"link", b"add", RAW, b"type", b"dummy"], check=True)
    netns.ip("link", "add", "br7", "type", "bridge")
    links = rtnl.links()
    listed = subprocess.run(["ip", "-n", netns.name, "-o", "link", "show"], capture_output=True, check=True).stdout
    assert len(links) == len(listed.splitlines())
    assert b": " + RAW + b":" in listed
    (odd,) = [link for link in links if link.raw_name == RAW]
    assert odd.name == "lvs\ufffd\ufffd" and odd.kind == "dummy"
    assert rtnl.link(odd.index) == odd
    (br,) = [link for link in links if link.name == "br7"]
    assert br.kind == "bridge" and br.tunnel is None and br.kind_data
    assert t.Link.from_dict(odd.to_dict()) == odd


def test_tunnel_mtus_the_kernel_would_change_are_refused(netns: Netns, rtnl: t.Rtnl) -> None:
    cfg = t.TunnelConfig(t.TunnelKind.IPIP, local="192.0.2.1")
    with pytest.raises(ipvs.InvalidInputError, match="65515"):
        rtnl.add_link(t.NewLink("m0", cfg, mtu=70000))
    assert subprocess.run(["ip", "-n", netns.name, "link", "show", "m0"], capture_output=True).returncode != 0
    v6 = t.TunnelConfig(t.TunnelKind.IP6TNL, local="2001:db8::1")
    with pytest.raises(ipvs.InvalidInputError):
        rtnl.add_link(t.NewLink("m1", v6, mtu=65536))
    assert subprocess.run(["ip", "-n", netns.name, "link", "show", "m1"], capture_output=True).returncode != 0
    link = rtnl.add_link(t.NewLink("m0", cfg, mtu=65515))
    assert link.mtu == 65515 and '"mtu":65515' in netns.ip("-j", "link", "show", "m0")
    with pytest.raises(ipvs.InvalidArgumentError):  # refused by the kernel: a change is checked
        rtnl.set_mtu("m0", 65516)
    assert '"mtu":65515' in netns.ip("-j", "link", "show", "m0")


def test_tun_with_an_ipv6_vip_uses_ip6tnl0(netns: Netns) -> None:
    rs = t.RealServer.tun("2001:db8:77::10")
    with t.prepare(rs, namespace=netns.name):
        show: Any = json.loads(netns.ip("-j", "-d", "addr", "show", "dev", "ip6tnl0"))[0]
        assert show["linkinfo"]["info_kind"] == "ip6tnl"
        assert "2001:db8:77::10" in [a["local"] for a in show["addr_info"]]
    assert "2001:db8:77::10" not in netns.ip("addr", "show")
    with pytest.raises(ipvs.InvalidInputError, match="receive nothing"):
        t.prepare(t.RealServer.tun(["198.51.100.1", "2001:db8:77::10"]), namespace=netns.name)
