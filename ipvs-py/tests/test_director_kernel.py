"""The director through the Python binding, with real traffic inside the VM.

A client, a director (VIP on its eth0) and real servers (LVS/DR, the VIP on
their ``lo``) in namespaces of their own on one bridge, as the Rust kernel
tests (ipvs/tests/kernel/director.rs) build them. The real servers and the
client are sockets of this process made inside those namespaces (``setns``
on a short-lived thread: a socket stays in the namespace it was made in), so
no interpreter is started per connection. ``ipvsadm`` in the director's
namespace is the referee. Every wait is bounded in count and time; no test
asserts a time, only bounds in numbers of checks.
"""

from __future__ import annotations

import ctypes
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

import pytest

import ipvs
from conftest import Netns
from ipvs import Destination, OperationKind, Scheduler, Service, ServiceKey
from ipvs.director import (
    Check,
    DesiredState,
    DestinationId,
    DirectedService,
    Director,
    DrainEnd,
    Event,
    EventKind,
    HealthState,
    OnFailure,
)

pytestmark = pytest.mark.kernel

VIP = "10.20.0.100"
PORT = 8080
KEY = ServiceKey.tcp(VIP, PORT)
# short checks: a server is taken out after FALL failures, back after RISE passes
INTERVAL = 0.3
RISE, FALL = 2, 3

_T = TypeVar("_T")
_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def in_netns(ns: Netns, f: Callable[[], _T]) -> _T:
    """``f()`` run on a short-lived thread that entered ``ns`` (``setns``):
    a socket it makes stays in ``ns``, a /proc/sys/net file it opens is ``ns``'s."""
    out: Dict[str, object] = {}

    def run() -> None:
        try:
            fd = os.open(f"/run/netns/{ns.name}", os.O_RDONLY)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns.name}")
            finally:
                os.close(fd)
            out["value"] = f()
        except BaseException as e:  # handed to the caller
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    error = out.get("error")
    if isinstance(error, BaseException):
        raise error
    assert "value" in out, f"nothing came back from {ns.name}"
    return out["value"]  # type: ignore[return-value]


def socket_in(ns: Netns) -> socket.socket:
    """A TCP socket made inside ``ns``."""
    return in_netns(ns, socket.socket)


def write_proc(ns: Netns, path: str, value: str) -> None:
    def write() -> None:
        with open(path, "w") as f:
            f.write(value)

    in_netns(ns, write)


class Server:
    """A real server on port 8080: ``GET`` gets an HTTP/1.0 answer with its
    status and name; other lines are echoed back after its name."""

    def __init__(self, ns: Netns, name: str, status: int = 200) -> None:
        self.ns, self.name, self.status = ns, name, status
        self._listener: Optional[socket.socket] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.start()

    def start(self) -> None:
        s = socket_in(self.ns)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", PORT))
        s.listen(64)
        s.settimeout(0.2)
        self._listener, self._stop = s, threading.Event()
        self._thread = threading.Thread(target=self._accept, args=(s, self._stop), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops listening (new connections are refused); open ones go on."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _accept(self, s: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                c, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        c.settimeout(60)
        try:
            f = c.makefile("rb")
            line = f.readline()
            if line.startswith(b"GET"):
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                body = self.name.encode()
                c.sendall(b"HTTP/1.0 %d X\r\nContent-Type: text/plain\r\n\r\n%s\n" % (self.status, body))
                return
            while line:
                c.sendall(self.name.encode() + b" " + line)
                line = f.readline()
        except OSError:
            pass
        finally:
            c.close()


def batch(ns: Netns, commands: List[str]) -> None:
    """Runs ``ip`` commands in ``ns`` as one ``ip -batch``."""
    out = subprocess.run(["ip", "-n", ns.name, "-batch", "-"], input="\n".join(commands) + "\n", capture_output=True, text=True)
    assert out.returncode == 0, f"ip -batch in {ns.name} failed:\n{out.stderr}"


class Lab:
    """Client, director and ``n`` real servers on one bridge."""

    def __init__(self, n: int) -> None:
        self.spaces: List[Netns] = []
        self.client, self.director = self._ns(), self._ns()
        self.reals = [self._ns() for _ in range(n)]
        nodes = [(self.client, "10.20.0.2/24")] + [(r, f"{self.addr(i)}/24") for i, r in enumerate(self.reals)]
        # one `ip -batch` per namespace (starting programs is slow in the emulated
        # VM); the bridge is the director's, with its address and the VIP
        lan = ["link add br0 type bridge", "link set br0 up", "addr add 10.20.0.1/24 dev br0", f"addr add {VIP}/32 dev br0"]
        for i, (ns, _) in enumerate(nodes):
            lan += [f"link add p{i} type veth peer name eth0 netns {ns.name}", f"link set p{i} master br0 up"]
        batch(self.director, lan)
        for ns, cidr in nodes:
            vip = [] if ns is self.client else [f"addr add {VIP}/32 dev lo"]
            batch(ns, [f"addr add {cidr} dev eth0", "link set eth0 up"] + vip)
        for r in self.reals:
            for k in ("all", "eth0"):
                write_proc(r, f"/proc/sys/net/ipv4/conf/{k}/arp_ignore", "1")
                write_proc(r, f"/proc/sys/net/ipv4/conf/{k}/arp_announce", "2")
        # a closed connection leaves the table 2 s after its FIN, so drains end idle
        with ipvs.Ipvs(namespace=self.director.name) as h:
            h.set_timeouts(ipvs.Timeouts(900, 2, 300))
        self.servers: List[Server] = []

    def _ns(self) -> Netns:
        ns = Netns()
        self.spaces.append(ns)
        return ns

    def close(self) -> None:
        for s in self.servers:
            s.stop()
        for ns in reversed(self.spaces):
            ns.delete()

    @staticmethod
    def addr(i: int) -> str:
        return f"10.20.0.{11 + i}"

    def serve(self, i: int, status: int = 200) -> Server:
        s = Server(self.reals[i], f"rs{i + 1}", status)
        self.servers.append(s)
        return s

    def dest(self, i: int, weight: int = 1) -> Destination:
        return Destination(self.addr(i), PORT, weight=weight)

    def id(self, i: int) -> DestinationId:
        return DestinationId(KEY, self.addr(i), PORT)

    def connect(self) -> str:
        """The name of the server one new connection reaches."""
        s = socket_in(self.client)
        try:
            s.settimeout(5)
            s.connect((VIP, PORT))
            s.sendall(b"hello\n")
            return s.makefile("rb").readline().decode().split(" ")[0]
        except OSError as e:
            return f"failed: {e}"
        finally:
            s.close()

    def weight(self, i: int) -> Optional[int]:
        """``ipvsadm -Ln`` weight of real server ``i``; ``None`` when not listed."""
        needle = f"-> {self.addr(i)}:{PORT}"
        for line in self.director.ipvsadm("-Ln").splitlines():
            if needle in line:
                return int(line.split()[3])
        return None

    def diag(self) -> str:
        return self.director.ipvsadm("-Ln", "--stats") + self.director.ipvsadm("-Lnc")

    def check(self) -> Check:
        return Check.tcp(interval=INTERVAL, timeout=INTERVAL, rise=RISE, fall=FALL, namespace=self.director.name)

    def service(self, n: int, **kw: object) -> DirectedService:
        svc = Service(KEY, scheduler=Scheduler.RR)
        return DirectedService(svc, [self.dest(i) for i in range(n)], **kw)  # type: ignore[arg-type]


@pytest.fixture
def lab2() -> Iterator[Lab]:
    lab = Lab(2)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def lab3() -> Iterator[Lab]:
    lab = Lab(3)
    try:
        yield lab
    finally:
        lab.close()


class Events:
    """The events handed to ``on_event``, waited for with a bound."""

    def __init__(self) -> None:
        self.q: "queue.Queue[Event]" = queue.Queue()

    def __call__(self, e: Event) -> None:
        self.q.put(e)

    def wait(self, what: str, f: Callable[[Event], bool], seconds: float = 60) -> Event:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            try:
                e = self.q.get(timeout=0.1)
            except queue.Empty:
                continue
            if f(e):
                return e
        raise AssertionError(f"no event: {what}")


def wait_for(what: str, lab: Lab, f: Callable[[], bool]) -> None:
    """Polls ``f`` every 100 ms, at most 400 times."""
    for _ in range(400):
        if f():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: never happened\n{lab.diag()}")


def start(lab: Lab, desired: DesiredState, events: Events) -> Director:
    return Director.start(desired, namespace=lab.director.name, period=0.3, drain_deadline=120, on_event=events)


def plans_weight(e: Event, dest: Destination) -> bool:
    return e.kind is EventKind.PLANNED and any(
        op.kind is OperationKind.UPDATE_DESTINATION and op.destination == dest for op in e.operations
    )


def checks_of(d: Director, id: DestinationId) -> int:
    h = d.health().get(id)
    return h.checks if h is not None else 0


def test_a_stopped_server_is_drained_takes_no_new_connections_and_is_restored(lab2: Lab) -> None:
    lab2.serve(0)
    rs2 = lab2.serve(1)
    events = Events()
    with start(lab2, DesiredState([lab2.service(2, check=lab2.check())]), events) as d:
        wait_for("both at weight 1", lab2, lambda: lab2.weight(0) == 1 and lab2.weight(1) == 1)
        assert "rs2" in [lab2.connect() for _ in range(4)], lab2.diag()

        before = checks_of(d, lab2.id(1))
        rs2.stop()
        events.wait("rs2 drained", lambda e: plans_weight(e, lab2.dest(1, 0)))
        ran = checks_of(d, lab2.id(1)) - before
        assert ran <= FALL + 2, f"{ran} checks ran before the drain"
        assert d.health()[lab2.id(1)].state is HealthState.DOWN
        wait_for("rs2 at weight 0", lab2, lambda: lab2.weight(1) == 0)
        assert [lab2.connect() for _ in range(6)] == ["rs1"] * 6, lab2.diag()

        rs2.start()
        before = checks_of(d, lab2.id(1))
        events.wait("rs2 restored", lambda e: plans_weight(e, lab2.dest(1, 1)))
        ran = checks_of(d, lab2.id(1)) - before
        assert ran <= RISE + 2, f"{ran} checks ran before the restore"
        wait_for("rs2 at weight 1", lab2, lambda: lab2.weight(1) == 1)
        assert "rs2" in [lab2.connect() for _ in range(4)], lab2.diag()
    assert not d.running


def test_http_checks_tell_a_server_answering_500_from_one_answering_200(lab2: Lab) -> None:
    lab2.serve(0, 200)
    lab2.serve(1, 500)
    http = Check.http("/health", 200, interval=INTERVAL, timeout=INTERVAL, rise=RISE, fall=FALL, namespace=lab2.director.name)
    events = Events()
    with start(lab2, DesiredState([lab2.service(2, check=http)]), events) as d:
        e = events.wait("rs2 down", lambda e: e.kind is EventKind.HEALTH and e.state is HealthState.DOWN)
        assert e.destination == lab2.id(1)
        assert e.reason == "HTTP status 500 (expected 200)"
        wait_for("rs2 at weight 0", lab2, lambda: lab2.weight(1) == 0)
        wait_for("rs1 checked", lab2, lambda: checks_of(d, lab2.id(0)) >= 4)
        assert d.health()[lab2.id(0)].state is HealthState.UP
        assert lab2.weight(0) == 1
        assert [lab2.connect() for _ in range(4)] == ["rs1"] * 4, lab2.diag()


def test_below_quorum_the_sorry_server_takes_over_and_leaves_when_one_recovers(lab3: Lab) -> None:
    rs1, rs2 = lab3.serve(0), lab3.serve(1)
    lab3.serve(2)
    svc = lab3.service(2, check=lab3.check(), on_failure=OnFailure.REMOVE, quorum=1, sorry_server=lab3.dest(2))
    events = Events()
    with start(lab3, DesiredState([svc]), events):
        wait_for("real servers in", lab3, lambda: lab3.weight(0) == 1 and lab3.weight(1) == 1)
        assert lab3.weight(2) is None, "no sorry server while in quorum"
        rs1.stop()
        rs2.stop()
        wait_for("sorry server in", lab3, lambda: lab3.weight(2) == 1)
        assert [lab3.connect() for _ in range(4)] == ["rs3"] * 4, lab3.diag()

        rs1.start()
        wait_for("rs1 back", lab3, lambda: lab3.weight(0) == 1)
        # the sorry server leaves: drained (no new connections), then deleted
        assert lab3.weight(2) in (None, 0), lab3.diag()
        assert [lab3.connect() for _ in range(4)] == ["rs1"] * 4, lab3.diag()
        sorry = lab3.id(2)
        events.wait(
            "sorry server drained",
            lambda e: e.kind is EventKind.DRAIN_FINISHED and e.destination == sorry and e.drain_end is DrainEnd.IDLE,
        )
        wait_for("sorry server gone", lab3, lambda: lab3.weight(2) is None)


class LongClient:
    """One long-lived connection to the VIP."""

    def __init__(self, lab: Lab) -> None:
        self.s = socket_in(lab.client)
        self.s.settimeout(30)
        self.s.connect((VIP, PORT))
        self.f = self.s.makefile("rb")

    def ask(self, line: str) -> str:
        try:
            self.s.sendall(line.encode() + b"\n")
            return self.f.readline().decode().strip() or "closed"
        except OSError as e:
            return f"failed: {e}"

    def close(self) -> None:
        self.f.close()
        self.s.close()


def test_a_removed_server_keeps_its_connection_until_it_closes_across_a_restart(lab2: Lab) -> None:
    lab2.serve(0)
    lab2.serve(1)
    d = start(lab2, DesiredState([lab2.service(2, check=lab2.check())]), Events())
    try:
        wait_for("both in", lab2, lambda: lab2.weight(0) == 1 and lab2.weight(1) == 1)
        long = LongClient(lab2)
        first = long.ask("one")
        assert first in ("rs1 one", "rs2 one"), f"{first}\n{lab2.diag()}"
        leaving = 0 if first == "rs1 one" else 1
        name, staying = f"rs{leaving + 1}", 1 - leaving
        svc = Service(KEY, scheduler=Scheduler.RR)
        rest = DesiredState([DirectedService(svc, [lab2.dest(staying)], check=lab2.check())])
        d.set_desired(rest)
        wait_for("drained", lab2, lambda: lab2.weight(leaving) == 0)
        assert long.ask("two") == f"{name} two", lab2.diag()
        assert [lab2.connect() for _ in range(4)] == [f"rs{staying + 1}"] * 4, lab2.diag()
        assert lab2.id(leaving) in d.draining()

        # a restart: a new director with the same desired state resumes the drain
        d.stop()
        events = Events()
        d = start(lab2, rest, events)
        gone = lab2.id(leaving)
        events.wait("drain resumed", lambda e: e.kind is EventKind.DRAIN_STARTED and e.destination == gone)
        # some periods later it is still draining: neither deleted nor restored
        for _ in range(5):
            d.reconcile_now()
            time.sleep(0.2)
        assert lab2.weight(leaving) == 0, f"neither deleted nor restored\n{lab2.diag()}"
        assert long.ask("three") == f"{name} three", lab2.diag()
        assert lab2.connect() == f"rs{staying + 1}", lab2.diag()

        long.close()
        events.wait(
            "drain finished",
            lambda e: e.kind is EventKind.DRAIN_FINISHED and e.destination == gone and e.drain_end is DrainEnd.IDLE,
        )
        wait_for("deleted", lab2, lambda: lab2.weight(leaving) is None)
    finally:
        d.stop()


def ipvsadm_counters(lab: Lab) -> List[Tuple[str, List[int]]]:
    """``ipvsadm -Ln --stats --exact``: (address of the service or real server, 5 counters)."""
    out = []
    for line in lab.director.ipvsadm("-Ln", "--stats", "--exact").splitlines():
        w = line.split()
        if len(w) == 7 and (w[0] == "TCP" or w[0] == "->"):
            out.append((w[1], [int(x) for x in w[2:]]))
    return out


COUNTERS = ["connections", "in_packets", "out_packets", "in_bytes", "out_bytes"]


def test_the_prometheus_text_parses_and_its_counters_equal_ipvsadm_stats(lab2: Lab) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    lab2.serve(0)
    lab2.serve(1)
    with start(lab2, DesiredState([lab2.service(2, check=lab2.check())]), Events()) as d:
        wait_for("both in", lab2, lambda: lab2.weight(1) == 1)
        for _ in range(5):
            assert not lab2.connect().startswith("failed"), lab2.diag()
        # the kernel folds its per-CPU counters every two seconds: wait until the
        # five connections are counted and the counters stand still around the read
        pair = None
        for _ in range(40):
            time.sleep(0.3)
            a = ipvsadm_counters(lab2)
            if not a or a[0][1][0] < 5:
                continue
            text = d.metrics_text()
            if ipvsadm_counters(lab2) == a:
                pair = (a, text)
                break
        assert pair is not None, "the counters never stood still"
        counters, text = pair
        assert len(counters) == 3, counters

        samples: Dict[Tuple[str, str, str], float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                samples[(s.name, s.labels.get("service", ""), s.labels.get("destination", ""))] = s.value
        assert len(samples) == sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        service = f"TCP {VIP}:{PORT}"
        for i, (addr, values) in enumerate(counters):
            scope, dest = ("lvskit_service_", "") if i == 0 else ("lvskit_destination_", addr)
            for name, v in zip(COUNTERS, values):
                got = samples.get((f"{scope}{name}_total", service, dest))
                assert got == v, f"{scope}{name}_total of {addr}: {got} != {v}\n{text}"
        assert counters[0][1][0] >= 5
        assert samples[("lvskit_destination_up", service, counters[1][0])] == 1
        # the same text from the metrics values
        assert ipvs.director.render(d.metrics()).splitlines()[:2] == text.splitlines()[:2]
        m = d.metrics()[0]
        assert m.entry.service.key == KEY and {x.health for x in m.destinations} == {HealthState.UP}


def test_a_custom_check_that_raises_counts_as_failing(lab2: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    lab2.serve(0)
    lab2.serve(1)
    broken = {lab2.addr(1)}

    def check(addr: ipvs.IPAddress, port: int, timeout: float) -> None:
        if str(addr) in broken:
            raise ConnectionError(f"{addr} is on fire")

    # the event callback may use the director, but not stop it (that would wait
    # for itself): what it raises is reported as unraisable, the director goes on
    unraisable: List[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(u.exc_value) if u.exc_value else None)
    holder: List[Director] = []
    checked: List[int] = []

    def on_event(e: Event) -> None:
        if holder:
            checked.append(len(holder[0].health()))
            holder[0].stop()

    custom = Check.custom(check, interval=INTERVAL, timeout=INTERVAL, rise=RISE, fall=FALL)
    d = Director.start(DesiredState([lab2.service(2, check=custom)]), namespace=lab2.director.name, period=0.3, on_event=on_event)
    holder.append(d)
    with d:
        sub = d.subscribe()
        e = None
        for _ in range(600):
            e = sub.get(timeout=0.1)
            if e is not None and e.kind is EventKind.HEALTH:
                break
        assert e is not None and e.kind is EventKind.HEALTH, "no health event"
        assert e.destination == lab2.id(1) and e.state is HealthState.DOWN
        assert e.reason == f"the check raised ConnectionError: {lab2.addr(1)} is on fire"
        wait_for("rs2 at weight 0", lab2, lambda: lab2.weight(1) == 0)
        assert d.health()[lab2.id(0)].state is HealthState.UP
        assert [lab2.connect() for _ in range(4)] == ["rs1"] * 4, lab2.diag()

        broken.clear()
        wait_for("rs2 restored", lab2, lambda: lab2.weight(1) == 1)
        assert d.running
    assert not d.running
    # the subscription ends with the director
    kinds = [ev.kind for ev in sub]
    assert kinds and kinds[-1] is EventKind.STOPPED
    assert checked and set(checked) == {2}, checked
    refused = [x for x in unraisable if "would wait for itself" in str(x)]
    assert refused and all(isinstance(x, ipvs.InvalidInputError) for x in refused), unraisable
