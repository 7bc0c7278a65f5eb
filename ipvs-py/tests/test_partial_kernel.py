"""Partial changes (``Ipvs.set_weight``, ``Ipvs.set_scheduler``) keep what they
do not name; cross-checked with ``ipvsadm -Ln --exact``/``--thresholds`` and ``-Sn``."""

from __future__ import annotations

from typing import List

import pytest

import ipvs
from conftest import Netns

pytestmark = pytest.mark.kernel

TCP80 = ipvs.ServiceKey.tcp("10.0.0.1", 80)
UDP = ipvs.ServiceKey.udp("10.0.0.3", 5060)
GUE = ipvs.Destination(
    "10.1.0.2",
    80,
    forwarding="tunnel",
    tunnel="gue",
    tunnel_port=6080,
    tunnel_flags=ipvs.EncapFlags.CSUM,
    weight=5,
    upper_threshold=100,
    lower_threshold=10,
)


def _line(netns: Netns, needle: str, *args: str) -> str:
    out = netns.ipvsadm(*args)
    for line in out.splitlines():
        if needle in line:
            return " ".join(line.split())
    raise AssertionError(f"no line with {needle!r} in:\n{out}")


def _dest(netns: Netns) -> List[str]:
    return [_line(netns, "10.1.0.2:80", "-Ln", "--exact"), _line(netns, "10.1.0.2:80", "-Ln", "--thresholds")]


def _gue_line(weight: int) -> str:
    return f"-a -t 10.0.0.1:80 -r 10.1.0.2:80 -i -w {weight} --tun-type gue --tun-port 6080 --tun-csum"


def test_set_weight_drains_and_restores_a_gue_destination(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.255.255.254/8")
    lb.add_service(ipvs.Service(TCP80, scheduler="wrr"))
    lb.add_destination(TCP80, GUE)
    assert _gue_line(5) in netns.saved()
    assert _dest(netns) == ["-> 10.1.0.2:80 Tunnel 5 0 0", "-> 10.1.0.2:80 100 10 0 0"]

    lb.set_weight(TCP80, "10.1.0.2", 80, 0)
    assert _gue_line(0) in netns.saved()
    assert _dest(netns) == ["-> 10.1.0.2:80 Tunnel 0 0 0", "-> 10.1.0.2:80 100 10 0 0"]
    assert [e.destination for e in lb.destinations(TCP80)] == [
        ipvs.Destination(
            "10.1.0.2",
            80,
            forwarding="tunnel",
            tunnel="gue",
            tunnel_port=6080,
            tunnel_flags=ipvs.EncapFlags.CSUM,
            weight=0,
            upper_threshold=100,
            lower_threshold=10,
        )
    ]

    lb.set_weight(TCP80, "10.1.0.2", 80, 5)
    assert _gue_line(5) in netns.saved()
    assert [e.destination for e in lb.destinations(TCP80)] == [GUE]

    # the trap it avoids: update_destination restates everything
    lb.update_destination(TCP80, ipvs.Destination("10.1.0.2", 80, weight=3))
    assert "-a -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 3" in netns.saved()


def test_set_scheduler_keeps_persistence_flags_and_engine(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.255.255.254/8")
    svc = ipvs.Service(
        UDP,
        scheduler="sh",
        flags=ipvs.ServiceFlags.ONE_PACKET | ipvs.ServiceFlags.SH_PORT,
        persistence=ipvs.Persistence(120, "255.255.255.0"),
        pe="sip",
    )
    lb.add_service(svc)
    lb.add_destination(UDP, ipvs.Destination("10.1.0.9", 5060, weight=2))
    before = netns.saved()
    assert before[0] == "-A -u 10.0.0.3:5060 -s sh -p 120 -M 255.255.255.0 --pe sip -o -b sh-port"

    lb.set_scheduler(UDP, ipvs.Scheduler.MH)
    after = netns.saved()
    assert after[0] == "-A -u 10.0.0.3:5060 -s mh -p 120 -M 255.255.255.0 --pe sip -o -b mh-port"
    assert after[1:] == before[1:]
    assert (
        _line(netns, "UDP", "-Ln", "--exact")
        == "UDP 10.0.0.3:5060 mh (mh-port) persistent 120 mask 255.255.255.0 pe sip ops"
    )
    got = lb.service(UDP).service
    assert got.scheduler is ipvs.Scheduler.MH
    assert (got.flags, got.persistence, got.pe) == (svc.flags, svc.persistence, svc.pe)

    lb.set_scheduler(UDP, "rr")
    assert lb.service(UDP).service.scheduler is ipvs.Scheduler.RR

    # the trap it avoids: update_service restates everything
    lb.update_service(ipvs.Service(UDP))
    assert netns.saved()[0] == "-A -u 10.0.0.3:5060 -s wlc"


def test_partial_changes_of_what_is_missing_raise_not_found(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.255.255.254/8")
    lb.add_service(ipvs.Service(TCP80))
    lb.add_destination(TCP80, ipvs.Destination("10.1.0.2", 80))
    before = netns.saved()
    missing = ipvs.ServiceKey.tcp("10.0.0.2", 80)
    with pytest.raises(ipvs.NotFoundError):
        lb.set_weight(missing, "10.1.0.2", 80, 0)
    with pytest.raises(ipvs.NotFoundError):
        lb.set_weight(TCP80, "10.1.0.3", 80, 0)
    with pytest.raises(ipvs.NotFoundError):
        lb.set_scheduler(missing, "rr")
    with pytest.raises(TypeError):
        lb.set_scheduler(TCP80, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        lb.set_weight(TCP80, "10.1.0.2", 80, 2**31)
    assert netns.saved() == before
