"""The IPVS handle for asyncio: :class:`Ipvs`, every method awaitable.

The same calls, values and exceptions as the blocking :class:`ipvs.Ipvs`,
awaited, with many requests in flight on one netlink socket::

    import asyncio
    import ipvs
    import ipvs.aio

    async def main() -> None:
        async with ipvs.aio.Ipvs("blue") as lb:     # or: lb = await ipvs.aio.Ipvs.open("blue")
            key = ipvs.ServiceKey.tcp("10.0.0.100", 80)
            await lb.add_service(ipvs.Service(key))
            await asyncio.gather(*(
                lb.add_destination(key, ipvs.Destination(f"192.168.10.{i}", 80))
                for i in range(1, 65)
            ))
            async for entry in await lb.destination_stream(key):
                print(entry)

    asyncio.run(main())

The work is done in Rust (the core's tokio handle, ``lvskit::aio::Ipvs``) on
one tokio runtime the module shares: a call converts and checks its
arguments at once (bad input raises :class:`ipvs.InvalidInputError` before
anything is sent), then returns to the event loop, which never waits for the
kernel; no thread is started per call. A single request is driven on the
event loop's own thread: the requests of every call made in one turn of the
loop go to the kernel together, and a burst of answers is handed out in one
wakeup of the loop. Replies are matched to their requests by sequence number,
so concurrent tasks each get their own answer or error.

Cancelling a task that awaits a call is safe: the Rust future is dropped and
later calls are answered correctly. A write that was already sent is still
applied (cancelling abandons the answer, not the change). Listings taken
while other tasks write are not snapshots, as with ``ipvsadm``.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, AsyncIterator, Generic, Iterable, List, Optional, Tuple, Type, TypeVar, Union

from . import _ipvs
from ._batch import BatchMode, BatchReport, Operation, Plan, Scope, Table, _report, _scope_arg
from ._handle import NamespaceLike, _check, _namespace_args
from ._model import (
    AddressLike,
    Destination,
    DestinationEntry,
    Info,
    Scheduler,
    Service,
    ServiceEntry,
    ServiceKey,
    SyncDaemon,
    SyncState,
    Timeouts,
    _enum,
)
from .rules import RestoreReport

__all__ = ["Ipvs", "Listing"]

_native: Any = getattr(_ipvs, "_aio")

_T = TypeVar("_T")


class Listing(Generic[_T]):
    """A listing read as it is consumed: ``async for entry in listing``.

    Entries arrive as the kernel sends them (back-pressure: a consumer that
    falls behind holds the kernel's listing back). Only one listing runs at a
    time on a handle's socket (the kernel allows no more); other requests go
    on meanwhile. Leaving the loop early, cancelling the task that reads it,
    or :meth:`close` discards the rest; a new listing starts once it is
    discarded.
    """

    def __init__(self, native: Any) -> None:
        self._l = native

    def __aiter__(self) -> AsyncIterator[_T]:
        return self

    async def __anext__(self) -> _T:
        try:
            entry: _T = await self._l.__anext__()
        except asyncio.CancelledError:
            # a cancelled consumer ends the listing at once: the socket's
            # one dump is freed for the next listing without waiting for
            # this object to be collected
            self._l.close()
            raise
        return entry

    def close(self) -> None:
        """Ends the listing early; the rest of the kernel's listing is discarded."""
        self._l.close()

    async def aclose(self) -> None:
        """As :meth:`close` (the async iterator protocol's name)."""
        self._l.close()


class Ipvs:
    """An asyncio handle on the IPVS table of one network namespace.

    ``namespace`` is as for :class:`ipvs.Ipvs` (``None``, an ``ip netns``
    name, a namespace file path, an open namespace fd). The handle opens its
    socket when awaited: ``lb = await Ipvs.open(namespace)``, or ``async
    with Ipvs(namespace) as lb:`` (closing it on exit). ``timeout`` bounds
    each wait for the kernel (default 30 s).

    Any number of tasks may share one handle, with their requests in flight
    at once on its socket.
    """

    def __init__(self, namespace: NamespaceLike = None, *, timeout: Optional[float] = None) -> None:
        self._args = _namespace_args(namespace)
        self._namespace = namespace
        self._timeout = timeout
        self._h = _native.Handle()

    @classmethod
    async def open(cls, namespace: NamespaceLike = None, *, timeout: Optional[float] = None) -> Ipvs:
        """Opens a handle in ``namespace``."""
        self = cls(namespace, timeout=timeout)
        await self._open()
        return self

    async def _open(self) -> None:
        name, path, fd = self._args
        await self._h.open(name=name, path=path, fd=fd)
        if self._timeout is not None:
            self.set_timeout(self._timeout)

    async def __aenter__(self) -> Ipvs:
        if self._h.closed:
            await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes the handle's socket once the calls in flight are done."""
        self._h.close()

    @property
    def closed(self) -> bool:
        """Whether the handle is not open (not opened yet, or closed)."""
        return bool(self._h.closed)

    @property
    def namespace(self) -> NamespaceLike:
        """The namespace the handle was opened in, as given."""
        return self._namespace

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<ipvs.aio.Ipvs namespace={self._namespace!r}{state}>"

    @property
    def family_id(self) -> int:
        """The generic netlink family id of IPVS in this namespace."""
        return int(self._h.family_id())

    @property
    def port_id(self) -> int:
        """The netlink port id of the handle's socket."""
        return int(self._h.port_id())

    def set_receive_buffer(self, size: int) -> None:
        """Sets the socket's receive buffer in bytes."""
        self._h.set_receive_buffer(size)

    def set_timeout(self, seconds: float) -> None:
        """Bounds every wait for the kernel's reply (a request, each next entry of a listing)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"timeout must be a number of seconds, not {type(seconds).__name__}")
        self._h.set_timeout(float(seconds))

    # ------------------------------------------------------------ services

    async def add_service(self, service: Service) -> None:
        """Adds a virtual service (``ipvsadm -A``)."""
        await self._h.add_service(service)

    async def update_service(self, service: Service) -> None:
        """Restates a virtual service's whole configuration (``ipvsadm -E``)."""
        await self._h.update_service(service)

    async def delete_service(self, key: ServiceKey) -> None:
        """Deletes a virtual service and its real servers (``ipvsadm -D``)."""
        await self._h.delete_service(key)

    async def service(self, key: ServiceKey) -> ServiceEntry:
        """Reads one virtual service; :class:`ipvs.NotFoundError` if it does not exist."""
        entry: ServiceEntry = await self._h.service(key)
        return entry

    async def services(self) -> List[ServiceEntry]:
        """Lists every virtual service with its counters (``ipvsadm -Ln``)."""
        entries: List[ServiceEntry] = await self._h.services()
        return entries

    async def service_stream(self) -> Listing[ServiceEntry]:
        """Starts a listing of every virtual service, read as it is consumed."""
        return Listing(await self._h.service_stream())

    async def set_scheduler(self, key: ServiceKey, scheduler: Union[Scheduler, str]) -> None:
        """Sets a virtual service's scheduler and keeps everything else it has (two requests, not atomic)."""
        await self._h.set_scheduler(key, scheduler)

    # ------------------------------------------------------------ destinations

    async def add_destination(self, key: ServiceKey, destination: Destination) -> None:
        """Adds a real server to a virtual service (``ipvsadm -a``)."""
        await self._h.add_destination(key, destination)

    async def update_destination(self, key: ServiceKey, destination: Destination) -> None:
        """Restates a real server's whole configuration (``ipvsadm -e``)."""
        await self._h.update_destination(key, destination)

    async def delete_destination(self, key: ServiceKey, addr: AddressLike, port: int) -> None:
        """Removes a real server from a virtual service (``ipvsadm -d``)."""
        await self._h.delete_destination(key, addr, port)

    async def set_weight(self, key: ServiceKey, addr: AddressLike, port: int, weight: int) -> None:
        """Sets one real server's weight and keeps everything else it has (two requests, not atomic)."""
        await self._h.set_weight(key, addr, port, weight)

    async def destinations(self, key: ServiceKey) -> List[DestinationEntry]:
        """Lists a virtual service's real servers; :class:`ipvs.NotFoundError` if the service does not exist."""
        entries: List[DestinationEntry] = await self._h.destinations(key)
        return entries

    async def destination_stream(self, key: ServiceKey) -> Listing[DestinationEntry]:
        """Starts a listing of a virtual service's real servers (empty if the service does not exist)."""
        return Listing(await self._h.destination_stream(key))

    # ------------------------------------------------------------ daemons

    async def start_daemon(self, daemon: SyncDaemon) -> None:
        """Starts a connection synchronisation daemon (``ipvsadm --start-daemon``)."""
        await self._h.start_daemon(daemon)

    async def stop_daemon(self, state: Union[SyncState, str, int]) -> None:
        """Stops the sync daemon of that state (``ipvsadm --stop-daemon``)."""
        await self._h.stop_daemon(state)

    async def daemons(self) -> List[SyncDaemon]:
        """Lists the running sync daemons (``ipvsadm -L --daemon``)."""
        daemons: List[SyncDaemon] = await self._h.daemons()
        return daemons

    # ------------------------------------------------------------ global

    async def timeouts(self) -> Timeouts:
        """Reads the connection timeouts (``ipvsadm -L --timeout``)."""
        t: Timeouts = await self._h.timeouts()
        return t

    async def set_timeouts(self, timeouts: Timeouts) -> None:
        """Sets the connection timeouts (``ipvsadm --set``); a 0 keeps that timeout."""
        await self._h.set_timeouts(timeouts)

    async def info(self) -> Info:
        """Reads the IPVS version and connection table size."""
        info: Info = await self._h.info()
        return info

    async def zero(self, key: Optional[ServiceKey] = None) -> None:
        """Zeroes the counters of one service, or of all (``ipvsadm -Z``)."""
        await self._h.zero(key)

    async def flush(self) -> None:
        """Deletes every virtual service (``ipvsadm -C``)."""
        await self._h.flush()

    # ------------------------------------------------------------ batches, tables, plans

    async def apply(self, operation: Operation) -> None:
        """Applies one operation; raises its typed error."""
        await self._h.apply(_check(operation, Operation, "operation"))

    async def execute(
        self, operations: Iterable[Operation], mode: Union[BatchMode, str] = BatchMode.CONTINUE
    ) -> BatchReport:
        """Applies many operations and reports each one's outcome, as :meth:`ipvs.Ipvs.execute`."""
        ops = tuple(operations)
        m = mode if mode is BatchMode.CONTINUE else _enum(BatchMode, mode, "batch mode")
        raw = await self._h.execute(ops, m.value)
        return _report(ops, raw)

    async def restore(self, text: str, mode: Union[BatchMode, str] = BatchMode.CONTINUE) -> RestoreReport:
        """Applies rules text as ``ipvsadm -R`` does, as :meth:`ipvs.Ipvs.restore`."""
        if not isinstance(text, str):
            raise TypeError(f"rules text must be a str, not {type(text).__name__}")
        m = mode if mode is BatchMode.CONTINUE else _enum(BatchMode, mode, "batch mode")
        ops, lines, raw = await self._h.restore(text, m.value)
        return RestoreReport(tuple(lines), _report(tuple(ops), raw))

    async def table(self) -> Table:
        """Reads the whole table: services, their destinations, and the timeouts."""
        table: Table = await self._h.table()
        return table

    async def apply_plan(self, plan: Plan) -> BatchReport:
        """Applies a plan as one pipelined batch."""
        return await self.execute(_check(plan, Plan, "plan").operations, BatchMode.CONTINUE)

    async def plan(self, desired: Table, *, scope: Scope = None, drain_before_remove: bool = False) -> Plan:
        """Reads the current table and plans the way to ``desired`` without applying it."""
        _check(desired, Table, "desired")
        ops = await self._h.plan(desired, _scope_arg(scope), drain_before_remove)
        return Plan(tuple(ops))

    async def converge(
        self, desired: Table, *, scope: Scope = None, drain_before_remove: bool = False
    ) -> Tuple[Plan, BatchReport]:
        """Reads the current table, plans the way to ``desired`` and applies it; returns the plan and its report."""
        _check(desired, Table, "desired")
        ops_list, raw = await self._h.converge(desired, _scope_arg(scope), drain_before_remove)
        ops = tuple(ops_list)
        return Plan(ops), _report(ops, raw)
