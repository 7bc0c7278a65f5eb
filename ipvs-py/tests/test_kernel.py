"""Kernel tests: each runs in its own network namespace inside the test VM,
with ``ipvsadm`` as the independent referee."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

import pytest

import ipvs
from conftest import Netns

pytestmark = pytest.mark.kernel

TCP80 = ipvs.ServiceKey.tcp("10.0.0.1", 80)


def test_the_handle_resolves_the_family_and_reads_info(lb: ipvs.Ipvs) -> None:
    assert lb.family_id > 0
    assert lb.port_id > 0
    lb.set_receive_buffer(1 << 20)
    with pytest.raises(ValueError):
        lb.set_receive_buffer(0)
    info = lb.info()
    assert info.version_triple >= (1, 2, 0)
    assert info.conn_table_size > 0
    assert str(info).startswith("IP Virtual Server version")
    assert lb.services() == []


def test_a_service_we_add_reads_back_through_ipvsadm(netns: Netns, lb: ipvs.Ipvs) -> None:
    lb.add_service(ipvs.Service(TCP80, scheduler=ipvs.Scheduler.RR))
    lb.add_service(
        ipvs.Service(ipvs.ServiceKey.udp("10.0.0.1", 53), scheduler="sh", flags=ipvs.ServiceFlags.SH_PORT | ipvs.ServiceFlags.SH_FALLBACK)
    )
    lb.add_service(ipvs.Service(ipvs.ServiceKey.fwmark(7), persistence=ipvs.Persistence(120, "255.255.255.0")))
    lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("2001:db8::1", 443), scheduler="wrr", persistence=600))
    saved = netns.saved()
    assert "-A -t 10.0.0.1:80 -s rr" in saved
    assert "-A -u 10.0.0.1:53 -s sh -b sh-fallback,sh-port" in saved
    assert "-A -f 7 -s wlc -p 120 -M 255.255.255.0" in saved
    assert "-A -t [2001:db8::1]:443 -s wrr -p 600" in saved
    assert len(saved) == 4


def test_services_ipvsadm_wrote_read_back_as_values(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.ipvsadm("-A", "-t", "10.1.2.3:8080", "-s", "lc", "-p", "60", "-M", "255.255.0.0")
    netns.ipvsadm("-A", "-u", "10.1.2.3:5060", "-s", "rr", "-o")
    netns.ipvsadm("-A", "-f", "12", "-6", "-s", "mh", "-b", "mh-port")
    by_key = {e.key: e.service for e in lb.services()}
    assert by_key == {
        ipvs.ServiceKey.tcp("10.1.2.3", 8080): ipvs.Service(
            ipvs.ServiceKey.tcp("10.1.2.3", 8080), scheduler=ipvs.Scheduler.LC, persistence=ipvs.Persistence(60, "255.255.0.0")
        ),
        ipvs.ServiceKey.udp("10.1.2.3", 5060): ipvs.Service(
            ipvs.ServiceKey.udp("10.1.2.3", 5060), scheduler="rr", flags=ipvs.ServiceFlags.ONE_PACKET
        ),
        ipvs.ServiceKey.fwmark(12, "ipv6"): ipvs.Service(
            ipvs.ServiceKey.fwmark(12, "ipv6"), scheduler=ipvs.Scheduler.MH, flags=ipvs.ServiceFlags.MH_PORT
        ),
    }
    one = lb.service(ipvs.ServiceKey.tcp("10.1.2.3", 8080))
    assert one.service.scheduler is ipvs.Scheduler.LC
    assert one.stats == ipvs.Stats()


def test_update_and_delete_a_service(netns: Netns, lb: ipvs.Ipvs) -> None:
    lb.add_service(ipvs.Service(TCP80))
    lb.update_service(ipvs.Service(TCP80, scheduler="wrr", persistence=30))
    assert netns.saved() == ["-A -t 10.0.0.1:80 -s wrr -p 30"]
    assert lb.service(TCP80).service == ipvs.Service(TCP80, scheduler="wrr", persistence=30)
    lb.delete_service(TCP80)
    assert netns.saved() == []


def test_destinations_cross_checked_with_ipvsadm(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.0.0.254/24", "192.168.10.254/24")
    lb.add_service(ipvs.Service(TCP80, scheduler="wrr"))
    lb.add_destination(TCP80, ipvs.Destination("192.168.10.11", 8080, forwarding="masq", weight=3))
    lb.add_destination(TCP80, ipvs.Destination("192.168.10.12", 80))
    lb.add_destination(TCP80, ipvs.Destination("192.168.10.13", 80, forwarding=ipvs.Forwarding.TUNNEL))
    saved = netns.saved()
    assert "-a -t 10.0.0.1:80 -r 192.168.10.11:8080 -m -w 3" in saved
    assert "-a -t 10.0.0.1:80 -r 192.168.10.12:80 -g -w 1" in saved
    assert any(line.startswith("-a -t 10.0.0.1:80 -r 192.168.10.13:80 -i -w 1") for line in saved), saved
    entries = {e.destination.addr.exploded: e for e in lb.destinations(TCP80)}
    assert entries["192.168.10.11"].destination == ipvs.Destination("192.168.10.11", 8080, forwarding="masq", weight=3)
    assert entries["192.168.10.12"].destination == ipvs.Destination("192.168.10.12", 80)
    assert entries["192.168.10.13"].destination.forwarding is ipvs.Forwarding.TUNNEL
    assert entries["192.168.10.13"].active_conns == 0

    # drain, then remove
    lb.update_destination(TCP80, ipvs.Destination("192.168.10.12", 80, weight=0, upper_threshold=100, lower_threshold=50))
    assert "-a -t 10.0.0.1:80 -r 192.168.10.12:80 -g -w 0" in netns.saved()
    listed = [e.destination for e in lb.destinations(TCP80) if e.port == 80 and str(e.addr) == "192.168.10.12"]
    assert listed == [ipvs.Destination("192.168.10.12", 80, weight=0, upper_threshold=100, lower_threshold=50)]
    assert "192.168.10.12:80" in netns.ipvsadm("-Ln", "--exact", "--thresholds")
    lb.delete_destination(TCP80, "192.168.10.12", 80)
    assert len(lb.destinations(TCP80)) == 2
    assert not any("192.168.10.12" in line for line in netns.saved())


def test_gue_and_gre_tunnels_cross_checked_with_ipvsadm(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.0.0.254/24", "192.168.20.254/24")
    lb.add_service(ipvs.Service(TCP80))
    gue = ipvs.Destination(
        "192.168.20.1", 80, forwarding="tunnel", tunnel="gue", tunnel_port=6080, tunnel_flags=ipvs.EncapFlags.CSUM
    )
    gre = ipvs.Destination("192.168.20.2", 80, forwarding="tunnel", tunnel="gre")
    lb.add_destination(TCP80, gue)
    lb.add_destination(TCP80, gre)
    saved = " | ".join(netns.saved())
    assert "-r 192.168.20.1:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum" in saved
    assert "-r 192.168.20.2:80 -i -w 1 --tun-type gre" in saved
    assert {e.destination for e in lb.destinations(TCP80)} == {gue, gre}
    # and what ipvsadm writes reads back
    netns.ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "192.168.20.3", "-i", "--tun-type", "gue", "--tun-port", "7000", "--tun-remcsum")
    third = [e.destination for e in lb.destinations(TCP80) if str(e.addr) == "192.168.20.3"]
    assert third == [
        ipvs.Destination("192.168.20.3", 80, forwarding="tunnel", tunnel="gue", tunnel_port=7000, tunnel_flags=ipvs.EncapFlags.REMCSUM)
    ]


def test_kernel_errors_are_typed_oserrors(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.0.0.254/24")
    lb.add_service(ipvs.Service(TCP80))
    with pytest.raises(ipvs.ExistsError) as exists:
        lb.add_service(ipvs.Service(TCP80))
    assert exists.value.errno == errno.EEXIST
    assert isinstance(exists.value, FileExistsError)
    assert "10.0.0.1:80" in str(exists.value)

    missing = ipvs.ServiceKey.tcp("10.0.0.2", 80)
    with pytest.raises(ipvs.NotFoundError) as nf:
        lb.service(missing)
    assert nf.value.errno is not None and isinstance(nf.value, OSError)
    with pytest.raises(ipvs.NotFoundError):
        lb.delete_service(missing)
    with pytest.raises(ipvs.NotFoundError) as nd:
        lb.delete_destination(TCP80, "10.0.0.9", 80)
    assert nd.value.errno == errno.ENOENT

    with pytest.raises(ipvs.ModuleMissingError) as mm:
        lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.3", 80), scheduler="nosuchsched"))
    assert mm.value.module == "ip_vs_nosuchsched"
    assert isinstance(mm.value, OSError)

    # refused before sending: a ValueError, never an OSError
    with pytest.raises(ipvs.InvalidInputError) as ii:
        lb.add_destination(TCP80, ipvs.Destination("2001:db8::5", 80))
    assert not isinstance(ii.value, OSError)
    assert netns.saved() == ["-A -t 10.0.0.1:80 -s wlc"]


def test_destinations_of_a_missing_service_are_not_found(netns: Netns, lb: ipvs.Ipvs) -> None:
    # the kernel answers an empty dump; the core tells it apart from a service without real servers
    missing = ipvs.ServiceKey.tcp("10.0.0.7", 80)
    with pytest.raises(ipvs.NotFoundError) as nf:
        lb.destinations(missing)
    assert nf.value.errno == errno.ESRCH
    assert "listing destinations of service" in str(nf.value)
    lb.add_service(ipvs.Service(missing))
    assert lb.destinations(missing) == []
    assert netns.saved() == ["-A -t 10.0.0.7:80 -s wlc"]


def test_bad_arguments_to_handle_methods(lb: ipvs.Ipvs) -> None:
    with pytest.raises(TypeError):
        lb.add_service(TCP80)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        lb.destinations("10.0.0.1:80")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        lb.delete_destination(TCP80, "not-an-address", 80)
    with pytest.raises(ValueError):
        lb.delete_destination(TCP80, "10.0.0.2", -1)
    with pytest.raises(ValueError):
        lb.set_timeout(0)
    with pytest.raises(ValueError):
        lb.set_timeout(float("nan"))
    with pytest.raises(ValueError):
        lb.stop_daemon("primary")
    with pytest.raises(ValueError, match="at most"):
        lb.set_timeouts(ipvs.Timeouts(tcp=10**7))


def test_timeouts_cross_checked_with_ipvsadm(netns: Netns, lb: ipvs.Ipvs) -> None:
    lb.set_timeouts(ipvs.Timeouts(tcp=1000, tcp_fin=100, udp=200))
    assert lb.timeouts() == ipvs.Timeouts(1000, 100, 200)
    assert "1000 100 200" in netns.ipvsadm("-L", "--timeout")
    lb.set_timeouts(ipvs.Timeouts(udp=50))  # zeros keep the others
    assert lb.timeouts() == ipvs.Timeouts(1000, 100, 50)
    netns.ipvsadm("--set", "700", "70", "7")
    assert lb.timeouts() == ipvs.Timeouts(700, 70, 7)


def test_sync_daemons(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("sync0", "10.9.0.1/24")
    netns.ip("link", "set", "sync0", "multicast", "on")
    lb.start_daemon(ipvs.SyncDaemon("master", "sync0", 9))
    daemons = lb.daemons()
    assert [(d.state, d.interface, d.sync_id) for d in daemons] == [(ipvs.SyncState.MASTER, "sync0", 9)]
    out = netns.ipvsadm("-L", "--daemon")
    assert "master sync daemon" in out and "sync0" in out and "syncid=9" in out
    with pytest.raises(ipvs.ExistsError):
        lb.start_daemon(ipvs.SyncDaemon("master", "sync0", 9))
    lb.stop_daemon(ipvs.SyncState.MASTER)
    assert lb.daemons() == []
    with pytest.raises(ipvs.NotFoundError):
        lb.stop_daemon("master")
    with pytest.raises(ipvs.NotFoundError):
        lb.start_daemon(ipvs.SyncDaemon("backup", "nosuchif0"))


def test_zero_and_flush(netns: Netns, lb: ipvs.Ipvs) -> None:
    lb.add_service(ipvs.Service(TCP80))
    lb.add_service(ipvs.Service(ipvs.ServiceKey.udp("10.0.0.1", 53)))
    lb.zero(TCP80)
    lb.zero()
    with pytest.raises(ipvs.NotFoundError):
        lb.zero(ipvs.ServiceKey.tcp("10.0.0.77", 80))
    lb.flush()
    assert lb.services() == [] and netns.saved() == []


def test_namespace_by_path_and_fd_and_context_manager(netns: Netns) -> None:
    netns.ipvsadm("-A", "-t", "10.5.5.5:80")
    key = ipvs.ServiceKey.tcp("10.5.5.5", 80)
    with ipvs.Ipvs(namespace=f"/run/netns/{netns.name}") as by_path:
        assert [e.key for e in by_path.services()] == [key]
    assert by_path.closed
    with pytest.raises(ValueError, match="closed"):
        by_path.services()
    fd = os.open(f"/run/netns/{netns.name}", os.O_RDONLY)
    try:
        with ipvs.Ipvs(namespace=fd, timeout=5) as by_fd:
            assert [e.key for e in by_fd.services()] == [key]
            assert "closed" not in repr(by_fd)
    finally:
        os.close(fd)
    # a handle opened by name sees the same table
    with ipvs.Ipvs(namespace=netns.name) as again:
        again.delete_service(key)
    assert netns.saved() == []


def test_one_handle_shared_by_threads(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.0.0.254/24", "192.168.30.254/24")
    errors: List[BaseException] = []
    per_thread = 15

    def worker(t: int) -> None:
        try:
            for i in range(per_thread):
                key = ipvs.ServiceKey.tcp(f"10.0.{t + 1}.{i + 1}", 80)
                lb.add_service(ipvs.Service(key, scheduler="rr"))
                lb.add_destination(key, ipvs.Destination("192.168.30.1", 80, forwarding="masq"))
                assert len(lb.destinations(key)) == 1
        except BaseException as e:  # collected and re-raised by the test
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert not errors, errors
    assert len(lb.services()) == 6 * per_thread
    saved = netns.saved()
    assert len([s for s in saved if s.startswith("-A ")]) == 6 * per_thread
    assert len([s for s in saved if s.startswith("-a ")]) == 6 * per_thread


def test_the_gil_is_released_while_the_kernel_is_busy(netns: Netns, lb: ipvs.Ipvs) -> None:
    # With a huge switch interval a thread only gets the GIL when the holder
    # releases it: the counter can tick during the listing only if the
    # binding releases the GIL around the netlink exchange.
    for i in range(200):
        lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp(f"10.1.{i // 200}.{i % 200 + 1}", 80)))
    ticks = 0
    stop = threading.Event()

    def counter() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0)

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        c = threading.Thread(target=counter)
        c.start()
        before = ticks
        for _ in range(10):
            assert len(lb.services()) == 200
        during = ticks
        stop.set()
        c.join()
    finally:
        sys.setswitchinterval(old)
    assert during > before


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "director.py"


def test_the_director_example_converges_drains_and_tears_down(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.1.0.1/16", "10.2.0.1/16")

    def run(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, str(EXAMPLE), "--namespace", netns.name, *args], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    run()
    saved = netns.saved()
    assert "-A -t 203.0.113.10:80 -s wrr" in saved
    assert "-A -t 203.0.113.10:443 -s wlc -p 900 -M 255.255.255.0" in saved
    assert "-A -f 10 -s sh -b sh-fallback" in saved
    assert "-a -t 203.0.113.10:80 -r 10.1.0.11:80 -g -w 100" in saved
    assert any(
        s.startswith("-a -t 203.0.113.10:443 -r 10.2.0.12:443 -i -w 10 --tun-type gue --tun-port 6080") for s in saved
    ), saved
    assert len([s for s in saved if s.startswith("-a ")]) == 15
    assert len(lb.services()) == 3

    assert "nothing to do" in run("--dry-run")
    out = run("--drain", "west")
    assert out.count("ipvsadm -e ") == 9
    weights = {e.destination.weight for e in lb.destinations(ipvs.ServiceKey.tcp("203.0.113.10", 80)) if str(e.addr).startswith("10.1.")}
    assert weights == {0}
    assert "-a -t 203.0.113.10:80 -r 10.1.0.12:80 -g -w 0" in netns.saved()

    run("--teardown")
    assert netns.saved() == []


def test_the_director_example_prepares_and_restores_real_servers(netns: Netns, tmp_path: Path) -> None:
    def run(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, str(EXAMPLE), "--namespace", netns.name, *args], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    def sysctls() -> str:
        return netns.exec("sh", "-c", "grep -r . /proc/sys/net/ipv4/conf/all/arp_* /proc/sys/net/ipv4/conf/*/rp_filter")

    def addresses() -> List[str]:
        # every address but the kernel's own IPv6 link-local ones (a device brought up gets one)
        return sorted(
            f"{d['ifname']} {a['local']}/{a['prefixlen']}"
            for d in json.loads(netns.ip("-j", "addr"))
            for a in d.get("addr_info", [])
            if a.get("scope") != "link"
        )

    before, addrs, fou = sysctls(), addresses(), netns.ip("fou", "show")
    state = tmp_path / "east.json"
    out = run("--real-server", "east", "--state", str(state))
    assert "203.0.113.10/32 on tunl0" in out and "FOU port 6080" in out
    assert "203.0.113.10/32" in netns.ip("addr", "show", "dev", "tunl0")
    assert "port 6080 gue" in netns.ip("fou", "show")
    assert netns.exec("cat", "/proc/sys/net/ipv4/conf/all/arp_announce").strip() == "2"
    assert "restored" in run("--real-server", "east", "--state", str(state), "--teardown")
    assert (sysctls(), addresses(), netns.ip("fou", "show")) == (before, addrs, fou)
    # the west (direct routing) side puts the VIP on lo
    run("--real-server", "west", "--state", str(state))
    assert "203.0.113.10/32" in netns.ip("addr", "show", "dev", "lo")
    run("--real-server", "west", "--state", str(state), "--teardown")
    assert (sysctls(), addresses()) == (before, addrs)


def test_batch_continue_reports_each_outcome(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.0.0.254/24", "192.168.40.254/24")
    O = ipvs.Operation
    ops = [
        O.add_service(ipvs.Service(TCP80, scheduler="rr")),
        O.add_service(ipvs.Service(TCP80)),  # exists
        O.add_destination(TCP80, ipvs.Destination("192.168.40.1", 80, forwarding="masq")),
        O.delete_destination(TCP80, "192.168.40.99", 80),  # no such destination
        O.add_destination(TCP80, ipvs.Destination("192.168.40.2", 80, forwarding="masq")),
    ]
    report = lb.execute(ops)
    assert [o.status for o in report] == [
        ipvs.OutcomeStatus.DONE,
        ipvs.OutcomeStatus.FAILED,
        ipvs.OutcomeStatus.DONE,
        ipvs.OutcomeStatus.FAILED,
        ipvs.OutcomeStatus.DONE,
    ]
    assert not report.ok and report.done == 3
    assert [i for i, _ in report.failures()] == [1, 3]
    assert isinstance(report.outcomes[1].error, ipvs.ExistsError)
    assert report.outcomes[1].error.errno == errno.EEXIST
    assert isinstance(report.outcomes[3].error, ipvs.NotFoundError)
    assert report.outcomes[3].operation == ops[3]
    with pytest.raises(ipvs.ExistsError):
        report.raise_first()
    saved = netns.saved()
    assert saved[0] == "-A -t 10.0.0.1:80 -s rr"
    assert len([s for s in saved if s.startswith("-a ")]) == 2


def test_batch_stop_on_error_leaves_the_rest_unattempted(netns: Netns, lb: ipvs.Ipvs) -> None:
    O = ipvs.Operation
    udp = ipvs.ServiceKey.udp("10.0.0.1", 53)
    report = lb.execute(
        [O.add_service(ipvs.Service(TCP80)), O.delete_service(udp), O.add_service(ipvs.Service(udp))],
        ipvs.BatchMode.STOP_ON_ERROR,
    )
    assert [o.status.value for o in report] == ["done", "failed", "not_attempted"]
    assert isinstance(report.first_error, ipvs.NotFoundError)
    assert netns.saved() == ["-A -t 10.0.0.1:80 -s wlc"]
    lb.apply(O.add_service(ipvs.Service(udp)))
    with pytest.raises(ipvs.ExistsError):
        lb.apply(O.add_service(ipvs.Service(udp)))
    big = [O.add_service(ipvs.Service(ipvs.ServiceKey.tcp(f"10.2.{i // 200}.{i % 200 + 1}", 80))) for i in range(400)]
    assert lb.execute(big).ok
    assert len(lb.services()) == 402


def test_converge_reaches_the_desired_table_and_then_does_nothing(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.dummy("d0", "10.0.0.254/24", "192.168.50.254/24")
    netns.ipvsadm("-A", "-t", "10.0.0.9:22")  # not ours
    netns.ipvsadm("-A", "-t", "10.0.0.1:80", "-s", "wlc")
    netns.ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "192.168.50.9:80", "-m")
    desired = ipvs.Table(
        [
            ipvs.TableService(
                ipvs.Service(TCP80, scheduler="wrr"),
                [ipvs.Destination("192.168.50.1", 80, forwarding="masq", weight=3), ipvs.Destination("192.168.50.2", 80, forwarding="masq")],
            )
        ]
    )
    plan, report = lb.converge(desired, scope=[TCP80], drain_before_remove=True)
    assert report.ok, report.failures()
    assert "ipvsadm -e -t 10.0.0.1:80 -r 192.168.50.9:80 -m -w 0" in str(plan)
    saved = netns.saved()
    assert "-A -t 10.0.0.9:22 -s wlc" in saved  # out of scope: untouched
    assert "-A -t 10.0.0.1:80 -s wrr" in saved
    assert "-a -t 10.0.0.1:80 -r 192.168.50.1:80 -m -w 3" in saved
    assert "-a -t 10.0.0.1:80 -r 192.168.50.9:80 -m -w 0" in saved  # drained, not yet removed
    plan2, report2 = lb.converge(desired, scope=lambda k: k == TCP80)
    assert [str(o) for o in plan2] == ["ipvsadm -d -t 10.0.0.1:80 -r 192.168.50.9:80"] and report2.ok
    plan3, _ = lb.converge(desired, scope=[TCP80])
    assert not plan3
    current = lb.table()
    assert current.service(TCP80) == desired.services[0] or current.sorted().service(TCP80) == desired.sorted().services[0]
    assert current.timeouts is not None and current.timeouts.tcp > 0
    assert not ipvs.diff(current, desired, scope=[TCP80])


def test_converge_applies_nothing_when_the_scope_predicate_raises(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.ipvsadm("-A", "-t", "10.0.0.9:22")
    before = netns.saved()

    def broken(k: ipvs.ServiceKey) -> bool:
        if k == TCP80:
            raise RuntimeError("undecided")
        return True

    desired = ipvs.Table([ipvs.TableService(ipvs.Service(TCP80), [])])
    with pytest.raises(RuntimeError, match="undecided"):
        lb.converge(desired, scope=broken)
    assert netns.saved() == before
    # a predicate rejecting the other service leaves it alone while adding ours
    plan, report = lb.converge(desired, scope=lambda k: k == TCP80)
    assert report.ok and [str(o) for o in plan] == ["ipvsadm -A -t 10.0.0.1:80 -s wlc"]
    assert sorted(netns.saved()) == ["-A -t 10.0.0.1:80 -s wlc", "-A -t 10.0.0.9:22 -s wlc"]


def test_plan_of_a_large_table_equals_the_diff_of_its_listing_and_applies_nothing(netns: Netns, lb: ipvs.Ipvs) -> None:
    # 600 services: planned on a second thread while the table is read
    O = ipvs.Operation
    keys = [ipvs.ServiceKey.tcp(f"10.3.{i // 200}.{i % 200 + 1}", 80) for i in range(600)]
    assert lb.execute([O.add_service(ipvs.Service(k)) for k in keys]).ok
    before = netns.saved()
    desired = ipvs.Table([ipvs.TableService(ipvs.Service(k, scheduler="rr" if i % 7 == 0 else "wlc"), []) for i, k in enumerate(keys[50:])])
    plan = lb.plan(desired)
    assert plan == ipvs.diff(lb.table(), desired)
    assert len(plan) == 50 + len([i for i in range(550) if i % 7 == 0])  # deletions, scheduler updates
    kept = set(keys[:300])
    assert lb.plan(desired, scope=lambda k: k in kept) == ipvs.diff(lb.table(), desired, scope=kept)
    calls = 0

    def broken(k: ipvs.ServiceKey) -> bool:
        nonlocal calls
        calls += 1
        if calls == 400:
            raise RuntimeError("undecided")
        return True

    with pytest.raises(RuntimeError, match="undecided"):
        lb.plan(desired, scope=broken)
    with pytest.raises(RuntimeError, match="undecided"):
        calls = 0
        lb.converge(desired, scope=broken)
    assert netns.saved() == before


def test_rules_text_of_a_table_built_with_ipvsadm_equals_ipvsadm_sn(netns: Netns, lb: ipvs.Ipvs) -> None:
    netns.ipvsadm("-A", "-t", "192.168.1.1:80", "-s", "rr")
    netns.ipvsadm("-a", "-t", "192.168.1.1:80", "-r", "10.0.0.2:8080", "-m", "-w", "3", "-x", "100", "-y", "50")
    netns.ipvsadm("-a", "-t", "192.168.1.1:80", "-r", "10.0.0.1:80", "-g", "-w", "0")
    netns.ipvsadm("-a", "-t", "192.168.1.1:80", "-r", "172.16.0.3", "-i", "--tun-type", "gue", "--tun-port", "5555")
    netns.ipvsadm("-A", "-t", "10.0.0.100:0", "-s", "sh", "-b", "sh-fallback,sh-port", "-p", "600", "-M", "255.255.255.0")
    netns.ipvsadm("-A", "-u", "10.0.0.100:5060", "-s", "wlc", "-p", "30", "--pe", "sip")
    netns.ipvsadm("-A", "-t", "[fd00::100]:443", "-s", "sed", "-p", "30", "-M", "48")
    netns.ipvsadm("-a", "-t", "[fd00::100]:443", "-r", "[fd00::2]:8443", "-m", "-w", "7")
    netns.ipvsadm("-A", "-f", "8", "-6", "-s", "lc")
    netns.ipvsadm("-a", "-f", "8", "-6", "-r", "[fd00::5]:80", "-m")
    sn = netns.ipvsadm("-Sn")
    table = lb.table()
    assert ipvs.rules.save(table) == sn
    # lossless also keeps the thresholds, and -R of it rebuilds the same table
    lossless = ipvs.rules.save(table, lossless=True)
    assert "-r 10.0.0.2:8080 -m -w 3 -x 100 -y 50" in lossless
    assert ipvs.rules.parse(lossless).sorted().services == table.sorted().services
    assert ipvs.rules.parse(sn).sorted().services != table.sorted().services  # -Sn drops -x/-y
    netns.ipvsadm("-C")
    subprocess.run(["ip", "netns", "exec", netns.name, "ipvsadm", "-R"], input=lossless, text=True, check=True)
    assert lb.table().sorted().services == table.sorted().services


def test_read_connections_of_a_namespace_by_name_and_path(netns: Netns, lb: ipvs.Ipvs) -> None:
    lb.add_service(ipvs.Service(TCP80))
    assert ipvs.read_connections(netns.name) == []
    assert ipvs.read_connections(Path("/run/netns") / netns.name, sync=True) == []
    with pytest.raises(ipvs.SystemCallError):
        ipvs.read_connections("pyt-no-such-namespace")


def test_read_connections_lists_a_locally_sent_udp_connection(netns: Netns, lb: ipvs.Ipvs) -> None:
    # the director's own packet to the VIP is scheduled (LOCAL_OUT) and leaves through a dummy device
    netns.dummy("d0", "10.0.0.1/8")
    key = ipvs.ServiceKey.udp("10.0.3.1", 53)
    lb.add_service(ipvs.Service(key, scheduler="rr"))
    lb.add_destination(key, ipvs.Destination("10.0.2.2", 5353, forwarding=ipvs.Forwarding.MASQ))
    send = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.0.0.1', 40000)); s.sendto(b'x', ('10.0.3.1', 53))"
    netns.exec(sys.executable, "-c", send)
    conns = ipvs.read_connections(netns.name)
    assert len(conns) == 1, conns
    c = conns[0]
    assert c.protocol == "UDP" and c.state == "UDP" and not c.is_template
    assert (str(c.client_addr), c.client_port) == ("10.0.0.1", 40000)
    assert (str(c.virtual_addr), c.virtual_port) == ("10.0.3.1", 53)
    assert (str(c.destination_addr), c.destination_port) == ("10.0.2.2", 5353)
    assert 0 < c.expires <= 300
    # the same entry as the kernel's text read by `cat` in the namespace, parsed (the expiry may tick)
    parsed = ipvs.parse_connections(netns.exec("cat", "/proc/net/ip_vs_conn"))
    assert [dataclasses.replace(p, expires=0) for p in parsed] == [dataclasses.replace(c, expires=0)]
    sync = ipvs.read_connections(netns.name, sync=True)
    assert [(s.client_port, s.origin) for s in sync] == [(40000, ipvs.ConnectionOrigin.LOCAL)]
