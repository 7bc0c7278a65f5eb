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


class Ipvs(_ipvs.Handle):
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

    The single operations (:meth:`add_service`, :meth:`services`,
    :meth:`add_destination`, ..., :meth:`table`) are the compiled handle's
    own methods, inherited as they are: no Python code runs between the
    call and the kernel.
    """

    _namespace: NamespaceLike

    def __new__(cls, namespace: NamespaceLike = None, *, timeout: Optional[float] = None) -> Ipvs:
        name, path, fd = _namespace_args(namespace)
        return super().__new__(cls, name=name, path=path, fd=fd)

    def __init__(self, namespace: NamespaceLike = None, *, timeout: Optional[float] = None) -> None:
        self._namespace = namespace
        if timeout is not None:
            self.set_timeout(timeout)

    @property
    def _h(self) -> _ipvs.Handle:
        """The compiled handle: the handle itself."""
        return self

    @property
    def namespace(self) -> NamespaceLike:
        """The namespace the handle was opened in, as given."""
        return self._namespace

    def __enter__(self) -> Ipvs:
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
        return f"<ipvs.Ipvs namespace={self._namespace!r}{state}>"

    # ------------------------------------------------------------ batches, tables, plans

    def apply(self, operation: Operation) -> None:
        """Applies one operation; raises its typed error."""
        _ipvs.handle_apply(self, _check(operation, Operation, "operation"))

    def execute(self, operations: Iterable[Operation], mode: Union[BatchMode, str] = BatchMode.CONTINUE) -> BatchReport:
        """Applies many operations and reports each one's outcome (never raises for a failed operation).

        ``BatchMode.CONTINUE`` pipelines them (few system calls, every
        operation attempted); ``BatchMode.STOP_ON_ERROR`` sends them one at a
        time and leaves the rest unattempted after the first failure.
        """
        ops = tuple(operations)
        m = mode if mode is BatchMode.CONTINUE else _enum(BatchMode, mode, "batch mode")
        # the compiled module checks that every item is an Operation
        raw = _ipvs.handle_execute(self, ops, m.value)
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
        ops, lines, raw = _ipvs.handle_restore(self, text, m.value)
        return RestoreReport(tuple(lines), _report(tuple(ops), raw))

    def apply_plan(self, plan: Plan) -> BatchReport:
        """Applies a plan as one pipelined batch."""
        return self.execute(_check(plan, Plan, "plan").operations, BatchMode.CONTINUE)

    def plan(self, desired: Table, *, scope: Scope = None, drain_before_remove: bool = False) -> Plan:
        """Reads the current table and plans the way to ``desired`` without applying it.

        The plan ``diff(self.table(), desired, ...)`` gives, sooner: for a large
        table the planning runs on a second thread while the table is read.
        """
        _check(desired, Table, "desired")
        return Plan(tuple(_ipvs.handle_plan(self, desired, _scope_arg(scope), drain_before_remove)))

    def converge(
        self, desired: Table, *, scope: Scope = None, drain_before_remove: bool = False
    ) -> Tuple[Plan, BatchReport]:
        """Reads the current table, plans the way to ``desired`` and applies it; returns the plan and its report."""
        _check(desired, Table, "desired")
        ops_list, raw = _ipvs.handle_converge(self, desired, _scope_arg(scope), drain_before_remove)
        ops = tuple(ops_list)
        return Plan(ops), _report(ops, raw)

