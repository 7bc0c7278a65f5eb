"""Typed IPVS sysctls (``ipvs.sysctl``): pure checks, and each knob written and
read back through /proc in the test's namespace."""

from __future__ import annotations

from typing import Dict

import pytest

import ipvs
from ipvs import sysctl
from ipvs.sysctl import Knob

from conftest import Netns


def proc(netns: Netns, knob: Knob) -> str:
    return " ".join(netns.exec("cat", f"/proc/sys/net/ipv4/vs/{knob.value}").split())


def test_knobs_come_from_the_core() -> None:
    assert Knob("conn_reuse_mode") is Knob.CONN_REUSE_MODE
    assert len(list(Knob)) >= 31
    assert repr(Knob.SYNC_PORTS) == "Knob.SYNC_PORTS"


def test_bad_values_are_refused_before_anything_is_written() -> None:
    # a namespace that does not exist: the value is checked first
    with pytest.raises(ipvs.InvalidInputError, match="conn_reuse_mode"):
        sysctl.write(Knob.CONN_REUSE_MODE, 4, namespace="no-such-ns")
    with pytest.raises(ipvs.InvalidInputError, match="sync_ports"):
        sysctl.write(Knob.SYNC_PORTS, 3, namespace="no-such-ns")
    with pytest.raises(ipvs.InvalidInputError, match="sync_threshold"):
        sysctl.write(Knob.SYNC_THRESHOLD, (60, 50), namespace="no-such-ns")
    with pytest.raises(ipvs.InvalidInputError, match="am_droprate"):
        sysctl.write(Knob.AM_DROPRATE, 2**70, namespace="no-such-ns")
    with pytest.raises(ipvs.InvalidInputError, match="no_such_knob"):
        sysctl.write("no_such_knob", 1, namespace="no-such-ns")
    with pytest.raises(TypeError, match="bool"):
        sysctl.write(Knob.EXPIRE_NODEST_CONN, 1, namespace="no-such-ns")
    with pytest.raises(TypeError, match="int"):
        sysctl.write(Knob.CONN_REUSE_MODE, True, namespace="no-such-ns")
    with pytest.raises(TypeError):
        sysctl.write(3, 1, namespace="no-such-ns")  # type: ignore[arg-type]


def another(knob: Knob, value: sysctl.Value) -> sysctl.Value:
    if isinstance(value, bool):
        return not value
    if knob is Knob.SYNC_THRESHOLD:
        return (5, 60)
    if knob is Knob.EST_CPULIST:
        return "0"
    if knob is Knob.SYNC_PORTS:
        return 8 if value == 4 else 4
    if knob is Knob.EST_NICE:
        return 5 if value == 0 else 0
    assert isinstance(value, int), (knob, value)
    return 1 if value == 0 else 0


@pytest.mark.kernel
def test_every_knob_is_written_and_read_back_through_proc(netns: Netns, lb: ipvs.Ipvs) -> None:
    all_values = sysctl.read_all(namespace=netns.name)
    assert Knob.CONN_REUSE_MODE in all_values
    for knob, value in all_values.items():
        shown = value if not isinstance(value, bool) else int(value)
        assert proc(netns, knob) == (" ".join(map(str, shown)) if isinstance(shown, tuple) else str(shown))
        wanted = another(knob, value)
        sysctl.write(knob, wanted, namespace=netns.name)
        assert sysctl.read(knob, namespace=netns.name) == wanted, knob
        written = " ".join(map(str, wanted)) if isinstance(wanted, tuple) else str(int(wanted) if isinstance(wanted, bool) else wanted)
        assert proc(netns, knob) == written, knob


@pytest.mark.kernel
def test_apply_writes_what_differs_all_or_nothing(netns: Netns, lb: ipvs.Ipvs) -> None:
    wanted: Dict[Knob | str, sysctl.Value] = {Knob.EXPIRE_NODEST_CONN: True, "conn_reuse_mode": 0, Knob.SNAT_REROUTE: True}
    changes = sysctl.apply(wanted, namespace=netns.name)
    assert [c.knob for c in changes] == [Knob.CONN_REUSE_MODE, Knob.EXPIRE_NODEST_CONN]
    assert changes[0].before == 1 and changes[0].after == 0
    assert proc(netns, Knob.EXPIRE_NODEST_CONN) == "1"
    assert sysctl.apply(wanted, namespace=netns.name) == []
    with pytest.raises(ipvs.InvalidInputError):
        sysctl.apply({Knob.CONN_REUSE_MODE: 2, Knob.SYNC_RETRIES: 9}, namespace=netns.name)
    assert proc(netns, Knob.CONN_REUSE_MODE) == "0"
