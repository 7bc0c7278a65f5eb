"""The :class:`Ipvs` handle."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Iterable, List, Optional, Tuple, Type, TypeVar, Union

from . import _ipvs
from ._batch import BatchMode, BatchReport, Operation, Plan, Scope, Table, _report, _scope_arg
from .rules import RestoreReport
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
    _addr,
    _enum,
    _int,
    _u16,
)

__all__ = ["Ipvs", "NamespaceLike"]

NamespaceLike = Union[str, "os.PathLike[str]", int, None]
"""A network namespace: an ``ip netns`` name, a namespace file path, an open fd, or ``None`` for the current one."""

_C = TypeVar("_C")


def _check(value: object, cls: Type[_C], what: str) -> _C:
    if not isinstance(value, cls):
        raise TypeError(f"{what} must be a {cls.__name__}, not {type(value).__name__}")
    return value


def _namespace_args(namespace: object) -> Tuple[Optional[str], Optional[str], Optional[int]]:
    """``(name, path, fd)`` for the compiled module, at most one of them set."""
    if namespace is None:
        return (None, None, None)
    if isinstance(namespace, bool):
        raise TypeError("namespace must be a name, a path, a file descriptor or None")
    if isinstance(namespace, int):
        return (None, None, namespace)
    if isinstance(namespace, str) and "/" not in namespace:
        return (namespace, None, None)
    if isinstance(namespace, (str, os.PathLike)):
        p = os.fspath(namespace)
        if not isinstance(p, str):
            raise TypeError("a namespace path must be a str path, not bytes")
        return (None, p, None)
    raise TypeError(f"namespace must be a name, a path, a file descriptor or None, not {type(namespace).__name__}")


_Self = TypeVar("_Self", bound="_Closable")


class _Closable:
    """What every handle shares: its lifetime (close, context manager) and namespace."""

    _h: Any
    _namespace: NamespaceLike
    _NAME = "ipvs.Ipvs"

    def close(self) -> None:
        """Closes the handle's socket; calls still running on other threads finish first."""
        self._h.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return bool(self._h.closed)

    @property
    def namespace(self) -> NamespaceLike:
        """The namespace the handle was opened in, as given."""
        return self._namespace

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<{self._NAME} namespace={self._namespace!r}{state}>"


class Ipvs(_Closable):
    """A handle on the IPVS table of one network namespace.

    ``namespace`` is ``None`` (the caller's namespace), an ``ip netns`` name
    (``"blue"``), a namespace file (a path containing ``/``, or a
    ``pathlib.Path``, e.g. ``/proc/1234/ns/net``), or an open namespace file
    descriptor (an ``int``, borrowed). No thread of the process changes
    namespace. ``timeout`` bounds each wait for the kernel (default 30 s).

    The handle is a context manager (closing it on exit) and may be shared
    between threads: the GIL is released while the kernel answers, and
    requests on one handle are serialised. Open one handle per thread for
    parallel requests.
    """

    _h: _ipvs.Handle

    def __init__(self, namespace: NamespaceLike = None, *, timeout: Optional[float] = None) -> None:
        name, path, fd = _namespace_args(namespace)
        h = _ipvs.Handle(name=name, path=path, fd=fd)
        self._h = h
        self._namespace = namespace
        if timeout is not None:
            self.set_timeout(timeout)

    @property
    def family_id(self) -> int:
        """The generic netlink family id of IPVS in this namespace."""
        return self._h.family_id()

    @property
    def port_id(self) -> int:
        """The netlink port id of the handle's socket."""
        return self._h.port_id()

    def set_receive_buffer(self, size: int) -> None:
        """Sets the socket's receive buffer in bytes (default 8 MiB where allowed).

        Replies that do not fit are dropped by the kernel and reported as a
        :class:`SystemCallError` with ``errno`` ``ENOBUFS``, never waited for.
        """
        self._h.set_receive_buffer(size)

    def set_timeout(self, seconds: float) -> None:
        """Bounds every wait for the kernel's reply."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"timeout must be a number of seconds, not {type(seconds).__name__}")
        self._h.set_timeout(float(seconds))

    # ------------------------------------------------------------ services

    def add_service(self, service: Service) -> None:
        """Adds a virtual service (``ipvsadm -A``). Raises :class:`ExistsError` if it exists."""
        self._h.add_service(service)

    def update_service(self, service: Service) -> None:
        """Changes a virtual service's configuration (``ipvsadm -E``).

        Restates the whole configuration, as ``ipvsadm -E`` does: what
        ``service`` leaves at its default (scheduler ``wlc``, no persistence)
        is reset. To change only the scheduler, use :meth:`set_scheduler`.
        """
        self._h.update_service(service)

    def delete_service(self, key: ServiceKey) -> None:
        """Deletes a virtual service and its real servers (``ipvsadm -D``)."""
        self._h.delete_service(key)

    def service(self, key: ServiceKey) -> ServiceEntry:
        """Reads one virtual service. Raises :class:`NotFoundError` if it does not exist."""
        return self._h.service(key)

    def services(self) -> List[ServiceEntry]:
        """Lists every virtual service with its counters (``ipvsadm -Ln``)."""
        return self._h.services()

    # ------------------------------------------------------------ destinations

    def add_destination(self, key: ServiceKey, destination: Destination) -> None:
        """Adds a real server to a virtual service (``ipvsadm -a``)."""
        self._h.add_destination(key, destination)

    def update_destination(self, key: ServiceKey, destination: Destination) -> None:
        """Changes a real server's forwarding, weight or thresholds (``ipvsadm -e``).

        Restates the whole destination, as ``ipvsadm -e`` does: what
        ``destination`` leaves at its default (direct routing, no tunnel
        options, no thresholds) is reset. To change only the weight (drain
        and restore), use :meth:`set_weight`.
        """
        self._h.update_destination(key, destination)

    def delete_destination(self, key: ServiceKey, addr: AddressLike, port: int) -> None:
        """Removes a real server from a virtual service (``ipvsadm -d``)."""
        self._h.delete_destination(key, addr, port)

    def set_weight(self, key: ServiceKey, addr: AddressLike, port: int, weight: int) -> None:
        """Sets one real server's weight and keeps everything else it has.

        Forwarding method, tunnel type, port and flags and thresholds are read
        from the kernel and written back unchanged: weight 0 drains the server
        (no new connections), a positive weight restores it. Unlike
        :meth:`update_destination`, which restates the whole destination
        (like ``ipvsadm -e``). Two requests, not atomic. Raises
        :class:`NotFoundError` when the service or the real server does not exist.
        """
        self._h.set_weight(key, addr, port, weight)

    def set_scheduler(self, key: ServiceKey, scheduler: Union[Scheduler, str]) -> None:
        """Sets a virtual service's scheduler and keeps everything else it has.

        Flags, persistence (timeout and netmask) and persistence engine are
        read from the kernel and written back unchanged. Unlike
        :meth:`update_service`, which restates the whole service (like
        ``ipvsadm -E``). Two requests, not atomic. Raises
        :class:`NotFoundError` when the service does not exist.
        """
        self._h.set_scheduler(key, scheduler)

    def destinations(self, key: ServiceKey) -> List[DestinationEntry]:
        """Lists a virtual service's real servers; raises ``NotFoundError`` if the service does not exist."""
        return self._h.destinations(key)

    # ------------------------------------------------------------ daemons

    def start_daemon(self, daemon: SyncDaemon) -> None:
        """Starts a connection synchronisation daemon (``ipvsadm --start-daemon``)."""
        self._h.start_daemon(daemon)

    def stop_daemon(self, state: Union[SyncState, str, int]) -> None:
        """Stops the sync daemon of that state (``ipvsadm --stop-daemon``).

        A state listed as a raw number (unknown to this library) is refused
        with :class:`InvalidInputError`, as every unknown value written back.
        """
        self._h.stop_daemon(state)

    def daemons(self) -> List[SyncDaemon]:
        """Lists the running sync daemons (``ipvsadm -L --daemon``)."""
        return self._h.daemons()

    # ------------------------------------------------------------ global

    def timeouts(self) -> Timeouts:
        """Reads the connection timeouts (``ipvsadm -L --timeout``)."""
        return self._h.timeouts()

    def set_timeouts(self, timeouts: Timeouts) -> None:
        """Sets the connection timeouts (``ipvsadm --set``); a 0 keeps that timeout."""
        self._h.set_timeouts(timeouts)

    def info(self) -> Info:
        """Reads the IPVS version and connection table size."""
        return self._h.info()

    def zero(self, key: Optional[ServiceKey] = None) -> None:
        """Zeroes the counters of one service, or of all (``ipvsadm -Z``)."""
        self._h.zero(key)

    def flush(self) -> None:
        """Deletes every virtual service (``ipvsadm -C``)."""
        self._h.flush()

    # ------------------------------------------------------------ batches, tables, plans

    def apply(self, operation: Operation) -> None:
        """Applies one operation; raises its typed error."""
        _ipvs.handle_apply(self._h, _check(operation, Operation, "operation"))

    def execute(self, operations: Iterable[Operation], mode: Union[BatchMode, str] = BatchMode.CONTINUE) -> BatchReport:
        """Applies many operations and reports each one's outcome (never raises for a failed operation).

        ``BatchMode.CONTINUE`` pipelines them (few system calls, every
        operation attempted); ``BatchMode.STOP_ON_ERROR`` sends them one at a
        time and leaves the rest unattempted after the first failure.
        """
        ops = tuple(operations)
        m = mode if mode is BatchMode.CONTINUE else _enum(BatchMode, mode, "batch mode")
        # the compiled module checks that every item is an Operation
        raw = _ipvs.handle_execute(self._h, ops, m.value)
        return _report(ops, raw)

    def restore(self, text: str, mode: Union[BatchMode, str] = BatchMode.CONTINUE) -> RestoreReport:
        """Applies rules text as ``ipvsadm -R`` does; one outcome per rule line.

        Each rule line (``-A -E -D -a -e -d -C -Z --set --start-daemon
        --stop-daemon``; blank lines, ``#`` comments and a leading ``ipvsadm``
        are skipped) is one operation, executed in order as one batch (as
        :meth:`execute` with ``mode``). The whole text is parsed first: a line
        that does not parse, or holds a value the kernel would refuse, raises
        :class:`~ipvs.RulesParseError` with its ``line`` and ``column`` and
        nothing is sent. With ``BatchMode.STOP_ON_ERROR`` the rules after a
        failing one are not attempted; with ``BatchMode.CONTINUE`` they all
        are, as ``ipvsadm -R`` does.
        """
        if not isinstance(text, str):
            raise TypeError(f"rules text must be a str, not {type(text).__name__}")
        m = mode if mode is BatchMode.CONTINUE else _enum(BatchMode, mode, "batch mode")
        ops, lines, raw = _ipvs.handle_restore(self._h, text, m.value)
        return RestoreReport(tuple(lines), _report(tuple(ops), raw))

    def table(self) -> Table:
        """Reads the whole table: services, their destinations, and the timeouts."""
        return Table._of(_ipvs.handle_table(self._h))

    def apply_plan(self, plan: Plan) -> BatchReport:
        """Applies a plan as one pipelined batch."""
        return self.execute(_check(plan, Plan, "plan").operations, BatchMode.CONTINUE)

    def plan(self, desired: Table, *, scope: Scope = None, drain_before_remove: bool = False) -> Plan:
        """Reads the current table and plans the way to ``desired`` without applying it.

        The plan ``diff(self.table(), desired, ...)`` gives, sooner: for a large
        table the planning runs on a second thread while the table is read.
        """
        _check(desired, Table, "desired")
        return Plan(tuple(_ipvs.handle_plan(self._h, desired, _scope_arg(scope), drain_before_remove)))

    def converge(
        self, desired: Table, *, scope: Scope = None, drain_before_remove: bool = False
    ) -> Tuple[Plan, BatchReport]:
        """Reads the current table, plans the way to ``desired`` and applies it; returns the plan and its report."""
        _check(desired, Table, "desired")
        ops_list, raw = _ipvs.handle_converge(self._h, desired, _scope_arg(scope), drain_before_remove)
        ops = tuple(ops_list)
        return Plan(ops), _report(ops, raw)

