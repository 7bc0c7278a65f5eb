"""Kernel tests of :mod:`ipvs.aio`: each runs in its own network namespace
inside the test VM, with ``ipvsadm`` (and the blocking handle) as referees.

No pytest plugin is needed: each test runs its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import errno
import random
from typing import Awaitable, Callable, Dict, List, Optional, Set, Tuple, TypeVar

import pytest

import ipvs
import ipvs.aio
from conftest import Netns

pytestmark = pytest.mark.kernel

TCP80 = ipvs.ServiceKey.tcp("10.0.0.1", 80)
O = ipvs.Operation
_T = TypeVar("_T")


def run(netns: Netns, body: Callable[[ipvs.aio.Ipvs], Awaitable[_T]]) -> _T:
    """Runs ``body`` with an async handle on the test's namespace, bounded in time."""

    async def main() -> _T:
        async with ipvs.aio.Ipvs(netns.name) as lb:
            return await asyncio.wait_for(body(lb), 240)

    return asyncio.run(main())


def svc_addr(i: int) -> str:
    return f"10.1.{i // 250}.{i % 250 + 1}"


def svc_key(i: int) -> ipvs.ServiceKey:
    return ipvs.ServiceKey.tcp(svc_addr(i), 80)


def masq(addr: str, weight: int = 1, port: int = 80) -> ipvs.Destination:
    return ipvs.Destination(addr, port, forwarding="masq", weight=weight)


# ---------------------------------------------------------------- the same as the blocking handle


def test_services_and_destinations_as_the_blocking_handle_does(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/24", "192.168.10.254/24")
    udp = ipvs.ServiceKey.udp("10.0.0.1", 53)
    fw = ipvs.ServiceKey.fwmark(7)

    async def body(lb: ipvs.aio.Ipvs) -> None:
        assert lb.family_id > 0 and lb.port_id > 0 and not lb.closed
        assert (await lb.info()).conn_table_size > 0
        assert await lb.services() == []
        await lb.add_service(ipvs.Service(TCP80, scheduler=ipvs.Scheduler.RR))
        await lb.add_service(ipvs.Service(udp, scheduler="sh", flags=ipvs.ServiceFlags.SH_PORT))
        await lb.add_service(ipvs.Service(fw, persistence=ipvs.Persistence(120, "255.255.255.0")))
        await lb.add_destination(TCP80, masq("192.168.10.11", 3, 8080))
        await lb.add_destination(TCP80, ipvs.Destination("192.168.10.12", 80))
        gue = ipvs.Destination("192.168.10.13", 80, forwarding="tunnel", tunnel="gue", tunnel_port=6080)
        await lb.add_destination(TCP80, gue)
        assert sorted(netns.saved()) == sorted(
            [
                "-A -t 10.0.0.1:80 -s rr",
                "-a -t 10.0.0.1:80 -r 192.168.10.11:8080 -m -w 3",
                "-a -t 10.0.0.1:80 -r 192.168.10.12:80 -g -w 1",
                "-a -t 10.0.0.1:80 -r 192.168.10.13:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum",
                "-A -u 10.0.0.1:53 -s sh -b sh-port",
                "-A -f 7 -s wlc -p 120 -M 255.255.255.0",
            ]
        )
        # every read equals the blocking handle's
        with ipvs.Ipvs(netns.name) as blocking:
            assert await lb.services() == blocking.services()
            assert await lb.service(udp) == blocking.service(udp)
            assert await lb.destinations(TCP80) == blocking.destinations(TCP80)
            assert await lb.table() == blocking.table()
            assert await lb.timeouts() == blocking.timeouts()
            assert await lb.info() == blocking.info()
            assert [e async for e in await lb.service_stream()] == blocking.services()
            assert [e async for e in await lb.destination_stream(TCP80)] == blocking.destinations(TCP80)

        await lb.update_service(ipvs.Service(udp, scheduler="wrr", persistence=30))
        await lb.set_scheduler(TCP80, "wlc")
        await lb.update_destination(TCP80, masq("192.168.10.11", 5, 8080))
        await lb.set_weight(TCP80, "192.168.10.13", 80, 0)  # drains, keeps the tunnel
        await lb.delete_destination(TCP80, "192.168.10.12", 80)
        await lb.delete_service(fw)
        assert sorted(netns.saved()) == sorted(
            [
                "-A -t 10.0.0.1:80 -s wlc",
                "-a -t 10.0.0.1:80 -r 192.168.10.11:8080 -m -w 5",
                "-a -t 10.0.0.1:80 -r 192.168.10.13:80 -i -w 0 --tun-type gue --tun-port 6080 --tun-nocsum",
                "-A -u 10.0.0.1:53 -s wrr -p 30",
            ]
        )
        await lb.zero(TCP80)
        await lb.zero()
        await lb.flush()
        assert netns.saved() == [] and await lb.services() == []

    run(netns, body)


def test_errors_are_the_blocking_handles(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/24")
    missing = ipvs.ServiceKey.tcp("10.0.0.2", 80)

    async def body(lb: ipvs.aio.Ipvs) -> None:
        await lb.add_service(ipvs.Service(TCP80))
        with pytest.raises(ipvs.ExistsError) as exists:
            await lb.add_service(ipvs.Service(TCP80))
        assert exists.value.errno == errno.EEXIST and "10.0.0.1:80" in str(exists.value)
        with pytest.raises(ipvs.NotFoundError):
            await lb.service(missing)
        with pytest.raises(ipvs.NotFoundError) as nf:
            await lb.destinations(missing)
        assert nf.value.errno == errno.ESRCH
        assert [e async for e in await lb.destination_stream(missing)] == []
        with pytest.raises(ipvs.NotFoundError) as nd:
            await lb.delete_destination(TCP80, "10.0.0.9", 80)
        assert nd.value.errno == errno.ENOENT
        with pytest.raises(ipvs.NotFoundError):
            await lb.set_weight(TCP80, "10.0.0.9", 80, 2)
        with pytest.raises(ipvs.ModuleMissingError) as mm:
            await lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.3", 80), scheduler="nosuchsched"))
        assert mm.value.module == "ip_vs_nosuchsched"
        assert netns.saved() == ["-A -t 10.0.0.1:80 -s wlc"]

    run(netns, body)


def test_timeouts_daemons_batches_and_rules_text(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/24", "192.168.40.254/24")
    netns.dummy("sync0", "10.9.0.1/24")
    netns.ip("link", "set", "sync0", "multicast", "on")

    async def body(lb: ipvs.aio.Ipvs) -> None:
        await lb.set_timeouts(ipvs.Timeouts(tcp=1000, tcp_fin=100, udp=200))
        assert await lb.timeouts() == ipvs.Timeouts(1000, 100, 200)
        assert "1000 100 200" in netns.ipvsadm("-L", "--timeout")

        await lb.start_daemon(ipvs.SyncDaemon("master", "sync0", 9))
        assert [(d.state, d.interface, d.sync_id) for d in await lb.daemons()] == [(ipvs.SyncState.MASTER, "sync0", 9)]
        assert "syncid=9" in netns.ipvsadm("-L", "--daemon")
        await lb.stop_daemon(ipvs.SyncState.MASTER)
        assert await lb.daemons() == []
        with pytest.raises(ipvs.NotFoundError):
            await lb.stop_daemon("master")

        report = await lb.execute(
            [
                O.add_service(ipvs.Service(TCP80, scheduler="rr")),
                O.add_service(ipvs.Service(TCP80)),  # exists
                O.add_destination(TCP80, masq("192.168.40.1")),
                O.delete_destination(TCP80, "192.168.40.99", 80),  # no such destination
            ]
        )
        assert [o.status.value for o in report] == ["done", "failed", "done", "failed"]
        assert isinstance(report.outcomes[1].error, ipvs.ExistsError)
        assert isinstance(report.outcomes[3].error, ipvs.NotFoundError)
        stop = await lb.execute(
            [O.delete_service(ipvs.ServiceKey.udp("10.0.0.1", 53)), O.flush()], ipvs.BatchMode.STOP_ON_ERROR
        )
        assert [o.status.value for o in stop] == ["failed", "not_attempted"]
        await lb.apply(O.add_destination(TCP80, masq("192.168.40.2")))
        with pytest.raises(ipvs.ExistsError):
            await lb.apply(O.add_destination(TCP80, masq("192.168.40.2")))

        text = "-A -u 10.0.0.1:53 -s rr\n-a -u 10.0.0.1:53 -r 192.168.40.3:53 -m -w 2\n-A -t 10.0.0.1:80\n"
        restored = await lb.restore(text)
        assert [(line, o.status.value) for line, o in restored.outcomes()] == [(1, "done"), (2, "done"), (3, "failed")]
        with pytest.raises(ipvs.RulesParseError):
            await lb.restore("-A -t 10.0.0.1:81\n-Q\n")
        assert ipvs.rules.save(await lb.table()).splitlines() == netns.saved()

    run(netns, body)


def test_plan_and_converge_as_the_blocking_handle_does(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/24", "192.168.50.254/24")
    netns.ipvsadm("-A", "-t", "10.0.0.9:22")  # not ours
    netns.ipvsadm("-A", "-t", "10.0.0.1:80", "-s", "wlc")
    netns.ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "192.168.50.9:80", "-m")
    desired = ipvs.Table(
        [ipvs.TableService(ipvs.Service(TCP80, scheduler="wrr"), [masq("192.168.50.1", 3), masq("192.168.50.2")])]
    )

    async def body(lb: ipvs.aio.Ipvs) -> None:
        with ipvs.Ipvs(netns.name) as blocking:
            assert await lb.plan(desired, scope=[TCP80], drain_before_remove=True) == blocking.plan(
                desired, scope=[TCP80], drain_before_remove=True
            )

        def broken(k: ipvs.ServiceKey) -> bool:
            raise RuntimeError("undecided")

        before = netns.saved()
        with pytest.raises(RuntimeError, match="undecided"):
            await lb.converge(desired, scope=broken)
        assert netns.saved() == before

        plan, report = await lb.converge(desired, scope=[TCP80], drain_before_remove=True)
        assert report.ok and "ipvsadm -e -t 10.0.0.1:80 -r 192.168.50.9:80 -m -w 0" in str(plan)
        plan2, report2 = await lb.converge(desired, scope=lambda k: k == TCP80)
        assert [str(o) for o in plan2] == ["ipvsadm -d -t 10.0.0.1:80 -r 192.168.50.9:80"] and report2.ok
        assert not await lb.plan(desired, scope=[TCP80])
        assert sorted(netns.saved()) == sorted(
            [
                "-A -t 10.0.0.9:22 -s wlc",
                "-A -t 10.0.0.1:80 -s wrr",
                "-a -t 10.0.0.1:80 -r 192.168.50.1:80 -m -w 3",
                "-a -t 10.0.0.1:80 -r 192.168.50.2:80 -m -w 1",
            ]
        )
        assert (await lb.apply_plan(ipvs.Plan((O.delete_service(TCP80),)))).ok
        assert netns.saved() == ["-A -t 10.0.0.9:22 -s wlc"]

    run(netns, body)


def test_bad_input_raises_invalid_input_before_sending(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/24")
    netns.ipvsadm("-A", "-t", "10.0.0.1:80")

    async def body(lb: ipvs.aio.Ipvs) -> None:
        bad: List[Callable[[], Awaitable[None]]] = [
            lambda: lb.add_destination(TCP80, ipvs.Destination("2001:db8::5", 80)),  # mixed family
            lambda: lb.set_timeouts(ipvs.Timeouts(tcp=10**7)),
            lambda: lb.delete_destination(TCP80, "10.0.0.2", 70000),
            lambda: lb.set_weight(TCP80, "10.0.0.2", 80, -1),
            lambda: lb.stop_daemon(99),
        ]
        for call in bad:
            with pytest.raises(ipvs.InvalidInputError) as ii:
                await call()
            assert ii.value.errno is None and not isinstance(ii.value, OSError)
        # nothing reached the kernel, and the handle answers on
        assert netns.saved() == ["-A -t 10.0.0.1:80 -s wlc"]
        assert [e.key for e in await lb.services()] == [TCP80]

    run(netns, body)


# ---------------------------------------------------------------- many tasks in flight on one socket


def test_64_concurrent_tasks_add_update_and_delete_against_a_model(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/8", "192.168.0.254/16")
    services = [svc_key(i) for i in range(4)]
    model: Dict[ipvs.ServiceKey, Dict[str, int]] = {k: {} for k in services}

    async def task(lb: ipvs.aio.Ipvs, t: int) -> int:
        """Task ``t`` owns the real servers 192.168.t.1-6 of every service: the model stays exact."""
        rng = random.Random(t)
        calls = 0
        for step in range(12):
            key = services[rng.randrange(len(services))]
            addr = f"192.168.{t}.{rng.randrange(1, 7)}"
            have = model[key].get(addr)
            what = rng.choice(["add", "update", "delete"])
            try:
                if what == "add":
                    w = rng.randrange(0, 10)
                    await lb.add_destination(key, masq(addr, w))
                    assert have is None, f"added {addr} twice"
                    model[key][addr] = w
                elif what == "update":
                    w = rng.randrange(0, 10)
                    await lb.update_destination(key, masq(addr, w))
                    assert have is not None
                    model[key][addr] = w
                else:
                    await lb.delete_destination(key, addr, 80)
                    assert have is not None
                    del model[key][addr]
            except ipvs.ExistsError:
                assert what == "add" and have is not None
            except ipvs.NotFoundError:
                assert what != "add" and have is None
            calls += 1
            if step % 4 == 0:  # and reads in between
                listed = {str(e.addr): e.destination.weight for e in await lb.destinations(key)}
                mine = {a: w for a, w in listed.items() if a.startswith(f"192.168.{t}.")}
                assert mine == {a: w for a, w in model[key].items() if a.startswith(f"192.168.{t}.")}
        return calls

    async def body(lb: ipvs.aio.Ipvs) -> None:
        await asyncio.gather(*(lb.add_service(ipvs.Service(k, scheduler="wrr")) for k in services))
        done = await asyncio.gather(*(task(lb, t) for t in range(64)))
        assert sum(done) == 64 * 12
        table = await lb.table()
        assert {ts.key: {str(d.addr): d.weight for d in ts.destinations} for ts in table.services} == model

    run(netns, body)
    expected = []
    for i, k in enumerate(services):
        expected.append(f"-A -t {svc_addr(i)}:80 -s wrr")
        expected += [f"-a -t {svc_addr(i)}:80 -r {a}:80 -m -w {w}" for a, w in model[k].items()]
    assert sorted(netns.saved()) == sorted(expected)
    assert sum(len(d) for d in model.values()) > 20  # the model is not trivially empty


def test_a_table_listing_while_other_tasks_write(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/8", "192.168.0.254/16")
    stable = [svc_key(i) for i in range(250)]
    churn = [svc_key(1000 + i) for i in range(64)]

    async def writer(lb: ipvs.aio.Ipvs, t: int) -> None:
        for round_ in range(4):
            await lb.add_service(ipvs.Service(churn[t]))
            await lb.add_destination(churn[t], masq(f"192.168.{t}.{round_ + 1}"))
            await lb.add_destination(stable[t], masq(f"192.168.{t}.{round_ + 1}"))
            await lb.delete_service(churn[t])

    async def body(lb: ipvs.aio.Ipvs) -> None:
        assert (await lb.execute([O.add_service(ipvs.Service(k)) for k in stable])).ok
        writers = [asyncio.ensure_future(writer(lb, t)) for t in range(64)]
        seen: List[ipvs.ServiceKey] = []
        async for entry in await lb.service_stream():
            seen.append(entry.key)
            if len(seen) % 50 == 0:
                await asyncio.sleep(0)  # let the writers run mid-listing
        tables = [await lb.table()]  # and a whole table read while they write
        await asyncio.gather(*writers)
        # not a snapshot, but every service that stayed is listed exactly once
        assert len(seen) == len(set(seen))
        assert set(stable) <= set(seen) <= set(stable) | set(churn)
        for table in tables:
            keys = [ts.key for ts in table.services]
            assert len(keys) == len(set(keys)) and set(stable) <= set(keys)
        final = await lb.table()
        assert [ts.key for ts in final.services if ts.key in churn] == []
        by_key = {ts.key: ts for ts in final.services}
        for t in range(64):
            assert {str(d.addr) for d in by_key[stable[t]].destinations} == {f"192.168.{t}.{r}" for r in range(1, 5)}

    run(netns, body)
    assert len(netns.saved()) == 250 + 64 * 4


# ---------------------------------------------------------------- cancellation


def test_cancelling_a_listing_of_a_big_table_then_answers_are_right(netns: Netns) -> None:
    keys = [svc_key(i) for i in range(2000)]

    async def body(lb: ipvs.aio.Ipvs) -> None:
        assert (await lb.execute([O.add_service(ipvs.Service(k)) for k in keys])).ok
        # the event loop runs other tasks while a listing is awaited
        spins = 0
        listed = asyncio.ensure_future(lb.services())
        while not listed.done() and spins < 1_000_000:
            await asyncio.sleep(0)
            spins += 1
        assert len(await listed) == len(keys) and spins >= 2
        # a listing awaited whole, cancelled while the kernel is dumping
        ticks = 0
        listing = asyncio.ensure_future(lb.services())
        while not listing.done() and ticks < 3:
            await asyncio.sleep(0)  # the event loop runs on while the kernel answers
            ticks += 1
        listing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await listing
        # a streamed listing, cancelled while its consumer waits for the next entry
        got: List[ipvs.ServiceEntry] = []
        gate = asyncio.Event()

        async def consume() -> None:
            async for e in await lb.service_stream():
                got.append(e)
                if len(got) == 100:
                    gate.set()

        streaming = asyncio.ensure_future(consume())
        await asyncio.wait_for(gate.wait(), 60)
        streaming.cancel()
        with pytest.raises(asyncio.CancelledError):
            await streaming
        assert 100 <= len(got) < len(keys)
        # later requests get their own, whole answers
        assert (await lb.service(keys[7])).key == keys[7]
        assert len(await lb.services()) == len(keys)
        await lb.add_service(ipvs.Service(ipvs.ServiceKey.udp("10.0.0.1", 53)))
        assert len(await lb.services()) == len(keys) + 1

    run(netns, body)
    assert len(netns.saved()) == 2001


def test_cancelled_requests_leave_later_answers_matched_to_their_requests(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/8", "192.168.0.254/16")
    keys = [svc_key(i) for i in range(64)]

    async def body(lb: ipvs.aio.Ipvs) -> None:
        assert (await lb.execute([O.add_service(ipvs.Service(k, scheduler="rr" if i % 2 else "wlc")) for i, k in enumerate(keys)])).ok
        # reads whose replies are awaited, then abandoned
        reads = [asyncio.ensure_future(lb.service(k)) for k in keys]
        await asyncio.sleep(0)
        for read in reads[::2]:
            read.cancel()
        results = await asyncio.gather(*reads, return_exceptions=True)
        for i, (k, r) in enumerate(zip(keys, results)):
            if i % 2 == 0 and isinstance(r, asyncio.CancelledError):
                continue
            assert isinstance(r, ipvs.ServiceEntry) and r.key == k, (i, r)
        # each next answer belongs to its own request
        for i, k in enumerate(keys):
            entry = await lb.service(k)
            assert entry.key == k and entry.service.scheduler == (ipvs.Scheduler.RR if i % 2 else ipvs.Scheduler.WLC)

        # writes whose acknowledgements are abandoned: each is applied or not,
        # and a second try of each tells which, as the kernel's table does
        key = keys[0]
        adds = [asyncio.ensure_future(lb.add_destination(key, masq(f"192.168.1.{j + 1}"))) for j in range(64)]
        await asyncio.sleep(0)
        for a in adds[::3]:
            a.cancel()
        outcomes = await asyncio.gather(*adds, return_exceptions=True)
        for j, o in enumerate(outcomes):
            assert o is None or (j % 3 == 0 and isinstance(o, asyncio.CancelledError)), (j, o)
        listed = {str(e.addr) for e in await lb.destinations(key)}
        for j in range(64):
            addr = f"192.168.1.{j + 1}"
            if j % 3:
                assert addr in listed
            try:
                await lb.add_destination(key, masq(addr))
                assert addr not in listed, f"{addr} was listed but added again"
            except ipvs.ExistsError:
                assert addr in listed, f"{addr} was not listed but exists"
        assert {str(e.addr) for e in await lb.destinations(key)} == {f"192.168.1.{j + 1}" for j in range(64)}

    run(netns, body)
    assert len([line for line in netns.saved() if line.startswith("-a ")]) == 64
