"""Kernel tests of :mod:`ipvs.aio` under bursts: many calls in flight at
once whose answers come back together and are handed out by one wakeup of
the event loop. Every call must get its own result or its own typed error,
also when some of the burst is cancelled midway. Each test runs in its own
network namespace inside the test VM, with ``ipvsadm`` as the referee.
"""

from __future__ import annotations

import asyncio
import errno
from typing import Awaitable, Callable, List, Optional, Set, Tuple, TypeVar, Union

import pytest

import ipvs
import ipvs.aio
from conftest import Netns

pytestmark = pytest.mark.kernel

_T = TypeVar("_T")

SERVICES = 20
MISSING = ipvs.ServiceKey.tcp("10.9.9.9", 80)


def run(netns: Netns, body: Callable[[ipvs.aio.Ipvs], Awaitable[_T]]) -> _T:
    """Runs ``body`` with an async handle on the test's namespace, bounded in time."""

    async def main() -> _T:
        async with ipvs.aio.Ipvs(netns.name) as lb:
            return await asyncio.wait_for(body(lb), 240)

    return asyncio.run(main())


def key(i: int) -> ipvs.ServiceKey:
    return ipvs.ServiceKey.tcp(f"10.1.0.{i + 1}", 80)


def scheduler(i: int) -> ipvs.Scheduler:
    return ipvs.Scheduler.RR if i % 2 else ipvs.Scheduler.WLC


def dest_addr(n: int) -> str:
    return f"192.168.{n // 250}.{n % 250 + 1}"


def masq(addr: str) -> ipvs.Destination:
    return ipvs.Destination(addr, 80, forwarding="masq")


Outcome = Union[None, ipvs.ServiceEntry, BaseException]


def call(lb: ipvs.aio.Ipvs, n: int) -> Awaitable[Optional[ipvs.ServiceEntry]]:
    """Call ``n`` of a burst: five kinds, each with an answer that names its request."""
    s = n % SERVICES
    kind = n % 5
    if kind == 0:  # a new real server: applied
        return lb.add_destination(key(s), masq(dest_addr(n)))
    if kind == 1:  # a read: the entry of its own key
        return lb.service(key(s))
    if kind == 2:  # a service that exists: EEXIST
        return lb.add_service(ipvs.Service(key(s)))
    if kind == 3:  # a real server of a missing service: ESRCH
        return lb.add_destination(MISSING, masq(dest_addr(n)))
    return lb.service(MISSING)  # a read of a missing service: NotFoundError


def check(n: int, got: Outcome) -> None:
    """Asserts that ``got`` is call ``n``'s own answer."""
    s = n % SERVICES
    kind = n % 5
    if kind == 0:
        assert got is None, (n, got)
    elif kind == 1:
        assert isinstance(got, ipvs.ServiceEntry), (n, got)
        assert got.key == key(s) and got.service.scheduler == scheduler(s), (n, got)
    elif kind == 2:
        assert isinstance(got, ipvs.ExistsError) and got.errno == errno.EEXIST, (n, got)
    elif kind == 3:
        assert isinstance(got, ipvs.NotFoundError) and got.errno == errno.ESRCH, (n, got)
    else:
        assert isinstance(got, ipvs.NotFoundError), (n, got)


async def services(lb: ipvs.aio.Ipvs) -> None:
    await asyncio.gather(*(lb.add_service(ipvs.Service(key(s), scheduler=scheduler(s))) for s in range(SERVICES)))


def pair(n: int) -> Tuple[str, str]:
    """(service, real server) of the real server call ``n`` adds, as ``ipvsadm -Sn`` writes them."""
    return f"10.1.0.{n % SERVICES + 1}:80", dest_addr(n)


def added(netns: Netns) -> Set[Tuple[str, str]]:
    """(service, real server) of every ``-a`` line of ``ipvsadm -Sn``."""
    out = set()
    for line in netns.saved():
        words = line.split()
        if words[0] == "-a":
            out.add((words[2], words[4].rsplit(":", 1)[0]))
    return out


def test_a_thousand_calls_in_flight_each_get_their_own_answer_or_error(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/8", "192.168.0.254/16")
    calls = 1000

    async def body(lb: ipvs.aio.Ipvs) -> List[Outcome]:
        await services(lb)
        # every call is made before the first answer is handed out: the
        # answers come back in bursts, many per wakeup of the event loop
        futures = [asyncio.ensure_future(call(lb, n)) for n in range(calls)]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    outcomes = run(netns, body)
    for n, got in enumerate(outcomes):
        check(n, got)
    assert added(netns) == {pair(n) for n in range(0, calls, 5)}


def test_many_tasks_each_with_its_own_calls_in_flight(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/8", "192.168.0.254/16")
    tasks, per_task = 100, 10

    async def task(lb: ipvs.aio.Ipvs, t: int) -> List[Outcome]:
        out: List[Outcome] = []
        for i in range(per_task):
            try:
                out.append(await call(lb, t * per_task + i))
            except ipvs.IpvsError as e:
                out.append(e)
        return out

    async def body(lb: ipvs.aio.Ipvs) -> List[List[Outcome]]:
        await services(lb)
        return list(await asyncio.gather(*(task(lb, t) for t in range(tasks))))

    per = run(netns, body)
    assert len(per) == tasks
    for t, outcomes in enumerate(per):
        assert len(outcomes) == per_task
        for i, got in enumerate(outcomes):
            check(t * per_task + i, got)


def test_cancelling_part_of_a_burst_leaves_later_calls_answered_right(netns: Netns) -> None:
    netns.dummy("d0", "10.0.0.254/8", "192.168.0.254/16")
    calls = 600

    async def body(lb: ipvs.aio.Ipvs) -> Tuple[List[Outcome], List[Outcome]]:
        await services(lb)
        futures = [asyncio.ensure_future(call(lb, n)) for n in range(calls)]
        # every sixth call is cancelled before its task first runs (it sends
        # nothing); then one turn of the loop starts the others, which sends
        # their requests together, and every sixth from the third on is
        # cancelled unless already answered (its answer is abandoned; the
        # whole burst may well be answered in one wake-up, so those may be
        # done already)
        cancelled = [f.cancel() for f in futures[::6]]
        await asyncio.sleep(0)
        cancelled += [f.cancel() for f in futures[3::6] if not f.done()]
        first = list(await asyncio.gather(*futures, return_exceptions=True))
        assert any(cancelled), "nothing was left to cancel"
        # a second burst on the same socket: every answer is its own
        later = [asyncio.ensure_future(call(lb, calls + n)) for n in range(calls)]
        return first, list(await asyncio.gather(*later, return_exceptions=True))

    first, later = run(netns, body)
    cancelled = {n for n, got in enumerate(first) if isinstance(got, asyncio.CancelledError)}
    assert cancelled and all(n % 3 == 0 for n in cancelled)
    for n, got in enumerate(first):
        if n not in cancelled:
            check(n, got)
    for n, got in enumerate(later):
        check(calls + n, got)
    # a cancelled write is applied or not (the answer is abandoned, not the
    # change); every write answered is applied
    have = added(netns)
    want = {pair(n) for n in range(0, 2 * calls, 5)}
    maybe = {pair(n) for n in cancelled if n % 5 == 0}
    assert want - maybe <= have <= want
