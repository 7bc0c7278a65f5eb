"""Tolerant reader, strict writer (issue 16), against the kernel: tables other
clients wrote with values the library refuses to write list completely and
read back as the kernel holds them; values the kernel would store as others
are refused before sending. ``ipvsadm`` is the referee.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import ipvs
from conftest import Netns

pytestmark = pytest.mark.kernel

RAW_CLIENT = os.path.join(os.path.dirname(__file__), "raw_genl.py")
VIP = ipvs.ServiceKey.tcp("10.0.0.1", 80)


def test_a_table_other_clients_wrote_lists_completely(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.255.255.254/8")
    lb.add_service(ipvs.Service(ipvs.ServiceKey.udp("10.0.0.1", 53)))
    netns.exec(sys.executable, RAW_CLIENT)
    saved = sorted(netns.saved())
    assert "-A -t 10.0.0.1:80 -s wlc -p 0" in saved, saved

    services = sorted(lb.services(), key=lambda e: str(e.key))
    assert [str(e.key) for e in services] == ["TCP 10.0.0.1:80", "UDP 10.0.0.1:53"]
    zero = services[0].service
    assert zero.persistence is not None and zero.persistence.timeout == 0
    (entry,) = lb.destinations(VIP)
    assert str(entry.addr) == "10.1.0.2" and entry.destination.forwarding == 5
    assert len(lb.table().services) == 2

    # written back as listed, both are refused before sending
    with pytest.raises(ipvs.InvalidInputError, match="at least 1 second"):
        lb.update_service(zero)
    with pytest.raises(ipvs.InvalidInputError, match="forwarding method 5"):
        lb.update_destination(VIP, entry.destination)
    assert sorted(netns.saved()) == saved
    lb.update_service(ipvs.Service(VIP, persistence=60))
    assert "-A -t 10.0.0.1:80 -s wlc -p 60" in netns.saved()


def test_a_daemon_on_an_interface_that_is_not_utf8_round_trips(netns: Netns, lb: ipvs.Ipvs) -> None:
    name = b"s\xffnc"

    def run(*args: "str | bytes") -> bytes:
        out = subprocess.run(list(args), capture_output=True)
        assert out.returncode == 0, out.stderr
        return out.stdout

    run("ip", "-n", netns.name, "link", "add", name, "type", "dummy")
    run("ip", "-n", netns.name, "addr", "add", "192.0.2.1/24", "dev", name)
    run("ip", "-n", netns.name, "link", "set", name, "up")
    daemon_cmd = ("ip", "netns", "exec", netns.name, "ipvsadm")
    run(*daemon_cmd, "--start-daemon", "master", "--syncid", "9", "--mcast-interface", name)
    referee = run(*daemon_cmd, "-Ln", "--daemon")
    assert name in referee

    (d,) = lb.daemons()
    assert (d.state, d.interface, d.sync_id) == (ipvs.SyncState.MASTER, "s:ffnc", 9)
    lb.stop_daemon(d.state)
    lb.start_daemon(d)
    assert run(*daemon_cmd, "-Ln", "--daemon") == referee
    assert lb.daemons() == [d]


@pytest.mark.parametrize(
    "act",
    [
        lambda lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 81), persistence=2**31)),
        lambda lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 82), persistence=17_179_870)),
        lambda lb: lb.update_service(ipvs.Service(VIP, persistence=ipvs.Persistence.MAX_TIMEOUT + 1)),
        lambda lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 0))),
        lambda lb: lb.update_destination(VIP, ipvs.Destination("10.1.0.2", 80, weight=2**31)),
        lambda lb: lb.set_timeouts(ipvs.Timeouts(tcp=ipvs.Timeouts.MAX + 1)),
    ],
    ids=["persistence 2^31", "persistence 17179870", "persistence 31 days + 1", "port 0", "weight 2^31", "timeout"],
)
def test_values_the_kernel_would_store_differently_are_refused(netns: Netns, lb: ipvs.Ipvs, act: "object") -> None:
    netns.dummy("d0", "10.255.255.254/8")
    lb.add_service(ipvs.Service(VIP, persistence=60))
    lb.add_destination(VIP, ipvs.Destination("10.1.0.2", 80))
    saved, timeouts = netns.saved(), netns.ipvsadm("-Ln", "--timeout")
    with pytest.raises(ipvs.InvalidInputError):
        act(lb)  # type: ignore[operator]
    assert netns.saved() == saved
    assert netns.ipvsadm("-Ln", "--timeout") == timeouts
