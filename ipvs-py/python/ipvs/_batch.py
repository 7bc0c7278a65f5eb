"""Operations, batches with per-operation outcomes, desired-state tables and plans."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from . import _ipvs
from ._errors import IpvsError
from ._model import (
    AddressLike,
    Destination,
    IPAddress,
    Service,
    ServiceKey,
    SyncDaemon,
    SyncState,
    Timeouts,
    _addr,
    _dict,
    _enum,
    _one,
    _ReprEnum,
    _set,
    _u16,
    _Value,
)

__all__ = [
    "OperationKind",
    "Operation",
    "BatchMode",
    "OutcomeStatus",
    "OpOutcome",
    "BatchReport",
    "TableService",
    "Table",
    "Plan",
    "Scope",
    "diff",
    "simulate",
]


class OperationKind(_ReprEnum):
    """What an :class:`Operation` does (its serde tag)."""

    ADD_SERVICE = "add_service"
    UPDATE_SERVICE = "update_service"
    DELETE_SERVICE = "delete_service"
    ADD_DESTINATION = "add_destination"
    UPDATE_DESTINATION = "update_destination"
    DELETE_DESTINATION = "delete_destination"
    SET_TIMEOUTS = "set_timeouts"
    START_DAEMON = "start_daemon"
    STOP_DAEMON = "stop_daemon"
    ZERO = "zero"
    FLUSH = "flush"


def _check(value: object, cls: type, what: str) -> None:
    if not isinstance(value, cls) or (cls is ServiceKey and type(value) is ServiceKey):
        raise TypeError(f"{what} must be a {cls.__name__}, not {type(value).__name__}")


@dataclass(frozen=True, init=False, repr=False)
class Operation(_Value):
    """One change to the IPVS table, for :meth:`Ipvs.apply`, :meth:`Ipvs.execute` and plans.

    Build one with the static methods (``Operation.add_service(svc)``, ...);
    only the fields its kind uses are set, the others are ``None``.
    ``str(op)`` is the operation in ipvsadm's words.
    """

    kind: OperationKind
    key: Optional[ServiceKey]
    service: Optional[Service]
    destination: Optional[Destination]
    addr: Optional[IPAddress]
    port: Optional[int]
    timeouts: Optional[Timeouts]
    daemon: Optional[SyncDaemon]
    state: Optional[SyncState]

    def __init__(
        self,
        kind: Union[OperationKind, str],
        *,
        key: Optional[ServiceKey] = None,
        service: Optional[Service] = None,
        destination: Optional[Destination] = None,
        addr: Optional[AddressLike] = None,
        port: Optional[int] = None,
        timeouts: Optional[Timeouts] = None,
        daemon: Optional[SyncDaemon] = None,
        state: Union[SyncState, str, None] = None,
    ) -> None:
        k = _enum(OperationKind, kind, "operation kind")
        K = OperationKind
        need = {
            K.ADD_SERVICE: ("service",),
            K.UPDATE_SERVICE: ("service",),
            K.DELETE_SERVICE: ("key",),
            K.ADD_DESTINATION: ("key", "destination"),
            K.UPDATE_DESTINATION: ("key", "destination"),
            K.DELETE_DESTINATION: ("key", "addr", "port"),
            K.SET_TIMEOUTS: ("timeouts",),
            K.START_DAEMON: ("daemon",),
            K.STOP_DAEMON: ("state",),
            K.ZERO: (),
            K.FLUSH: (),
        }[k]
        given = {
            "key": key,
            "service": service,
            "destination": destination,
            "addr": addr,
            "port": port,
            "timeouts": timeouts,
            "daemon": daemon,
            "state": state,
        }
        for name, value in given.items():
            if value is None and name in need:
                raise TypeError(f"{k.value} needs {name}")
            if value is not None and name not in need and not (k is K.ZERO and name == "key"):
                raise TypeError(f"{k.value} takes no {name}")
        if key is not None:
            _check(key, ServiceKey, "key")
        if service is not None:
            _check(service, Service, "service")
        if destination is not None:
            _check(destination, Destination, "destination")
        if timeouts is not None:
            _check(timeouts, Timeouts, "timeouts")
        if daemon is not None:
            _check(daemon, SyncDaemon, "daemon")
        _set(self, "kind", k)
        _set(self, "key", key if key is not None else (service.key if service is not None else None))
        _set(self, "service", service)
        _set(self, "destination", destination)
        _set(self, "addr", None if addr is None else _addr(addr, "real server address"))
        _set(self, "port", None if port is None else _u16(port, "port"))
        _set(self, "timeouts", timeouts)
        _set(self, "daemon", daemon)
        _set(self, "state", None if state is None else _enum(SyncState, state, "sync state"))
        _ipvs.normalize("operation", self.to_json())

    # -------------------------------------------------------- constructors

    @staticmethod
    def add_service(service: Service) -> Operation:
        """``ipvsadm -A``."""
        return Operation(OperationKind.ADD_SERVICE, service=service)

    @staticmethod
    def update_service(service: Service) -> Operation:
        """``ipvsadm -E``."""
        return Operation(OperationKind.UPDATE_SERVICE, service=service)

    @staticmethod
    def delete_service(key: ServiceKey) -> Operation:
        """``ipvsadm -D``."""
        return Operation(OperationKind.DELETE_SERVICE, key=key)

    @staticmethod
    def add_destination(key: ServiceKey, destination: Destination) -> Operation:
        """``ipvsadm -a``."""
        return Operation(OperationKind.ADD_DESTINATION, key=key, destination=destination)

    @staticmethod
    def update_destination(key: ServiceKey, destination: Destination) -> Operation:
        """``ipvsadm -e``."""
        return Operation(OperationKind.UPDATE_DESTINATION, key=key, destination=destination)

    @staticmethod
    def delete_destination(key: ServiceKey, addr: AddressLike, port: int) -> Operation:
        """``ipvsadm -d``."""
        return Operation(OperationKind.DELETE_DESTINATION, key=key, addr=addr, port=port)

    @staticmethod
    def set_timeouts(timeouts: Timeouts) -> Operation:
        """``ipvsadm --set``."""
        return Operation(OperationKind.SET_TIMEOUTS, timeouts=timeouts)

    @staticmethod
    def start_daemon(daemon: SyncDaemon) -> Operation:
        """``ipvsadm --start-daemon``."""
        return Operation(OperationKind.START_DAEMON, daemon=daemon)

    @staticmethod
    def stop_daemon(state: Union[SyncState, str]) -> Operation:
        """``ipvsadm --stop-daemon``."""
        return Operation(OperationKind.STOP_DAEMON, state=state)

    @staticmethod
    def zero(key: Optional[ServiceKey] = None) -> Operation:
        """``ipvsadm -Z``, for one service or all."""
        return Operation(OperationKind.ZERO, key=key)

    @staticmethod
    def flush() -> Operation:
        """``ipvsadm -C``."""
        return Operation(OperationKind.FLUSH)

    # -------------------------------------------------------- conversions

    def to_dict(self) -> Any:
        """The serde form: ``{"add_service": {...}}``, ``"flush"``, ..."""
        K = OperationKind
        k = self.kind
        if k is K.FLUSH:
            return "flush"
        body: Any
        if k in (K.ADD_SERVICE, K.UPDATE_SERVICE):
            assert self.service is not None
            body = self.service.to_dict()
        elif k is K.DELETE_SERVICE:
            assert self.key is not None
            body = self.key.to_dict()
        elif k in (K.ADD_DESTINATION, K.UPDATE_DESTINATION):
            assert self.key is not None and self.destination is not None
            body = [self.key.to_dict(), self.destination.to_dict()]
        elif k is K.DELETE_DESTINATION:
            assert self.key is not None
            body = [self.key.to_dict(), str(self.addr), self.port]
        elif k is K.SET_TIMEOUTS:
            assert self.timeouts is not None
            body = self.timeouts.to_dict()
        elif k is K.START_DAEMON:
            assert self.daemon is not None
            body = self.daemon.to_dict()
        elif k is K.STOP_DAEMON:
            assert self.state is not None
            body = self.state.value
        else:
            body = None if self.key is None else self.key.to_dict()
        return {k.value: body}

    @classmethod
    def from_dict(cls, data: Any) -> Operation:
        """Parses the serde form: ``{"add_service": {...}}``, ``"flush"``, ..."""
        tag, body = _one(data, "operation")
        k = _enum(OperationKind, tag, "operation")
        K = OperationKind
        if k in (K.ADD_SERVICE, K.UPDATE_SERVICE):
            return cls(k, service=Service.from_dict(body))
        if k is K.DELETE_SERVICE:
            return cls(k, key=ServiceKey.from_dict(body))
        if k in (K.ADD_DESTINATION, K.UPDATE_DESTINATION, K.DELETE_DESTINATION):
            if not isinstance(body, list):
                raise TypeError(f"{tag} needs a list")
            if k is K.DELETE_DESTINATION:
                if len(body) != 3:
                    raise ValueError(f"{tag} needs [key, addr, port]")
                return cls(k, key=ServiceKey.from_dict(body[0]), addr=body[1], port=body[2])
            if len(body) != 2:
                raise ValueError(f"{tag} needs [key, destination]")
            return cls(k, key=ServiceKey.from_dict(body[0]), destination=Destination.from_dict(body[1]))
        if k is K.SET_TIMEOUTS:
            return cls(k, timeouts=Timeouts.from_dict(body))
        if k is K.START_DAEMON:
            return cls(k, daemon=SyncDaemon.from_dict(body))
        if k is K.STOP_DAEMON:
            return cls(k, state=body)
        if k is K.ZERO:
            return cls(k, key=None if body is None else ServiceKey.from_dict(body))
        return cls(k)

    def __repr__(self) -> str:
        K = OperationKind
        k = self.kind
        if k in (K.ADD_SERVICE, K.UPDATE_SERVICE):
            args = repr(self.service)
        elif k is K.DELETE_SERVICE:
            args = repr(self.key)
        elif k in (K.ADD_DESTINATION, K.UPDATE_DESTINATION):
            args = f"{self.key!r}, {self.destination!r}"
        elif k is K.DELETE_DESTINATION:
            args = f"{self.key!r}, {str(self.addr)!r}, {self.port}"
        elif k is K.SET_TIMEOUTS:
            args = repr(self.timeouts)
        elif k is K.START_DAEMON:
            args = repr(self.daemon)
        elif k is K.STOP_DAEMON:
            args = repr(self.state)
        elif k is K.ZERO:
            args = "" if self.key is None else repr(self.key)
        else:
            args = ""
        return f"Operation.{k.value}({args})"

    def __str__(self) -> str:
        """The operation in ipvsadm's words, e.g. ``ipvsadm -A -t 10.0.0.1:80 -s wlc``."""
        return _ipvs.display("operation", self.to_json())


# ---------------------------------------------------------------- batches


class BatchMode(_ReprEnum):
    """How :meth:`Ipvs.execute` sends a batch."""

    CONTINUE = "continue"
    """Pipelined; every operation is sent and gets its own outcome."""
    STOP_ON_ERROR = "stop_on_error"
    """One at a time; after the first failure the rest are not attempted."""


class OutcomeStatus(_ReprEnum):
    """What happened to one operation of a batch."""

    DONE = "done"
    FAILED = "failed"
    NOT_ATTEMPTED = "not_attempted"
    UNKNOWN = "unknown"
    """Sent, but the exchange broke before its outcome was known."""


@dataclass(frozen=True)
class OpOutcome:
    """The outcome of one operation: its status and, for failures, the exception."""

    operation: Operation
    status: OutcomeStatus
    error: Optional[IpvsError] = None

    @property
    def ok(self) -> bool:
        """True when the kernel applied the operation."""
        return self.status is OutcomeStatus.DONE


@dataclass(frozen=True)
class BatchReport:
    """One :class:`OpOutcome` per operation, in the order given."""

    outcomes: Tuple[OpOutcome, ...]

    @property
    def ok(self) -> bool:
        """True when every operation was applied."""
        return all(o.ok for o in self.outcomes)

    @property
    def done(self) -> int:
        """How many operations were applied."""
        return sum(1 for o in self.outcomes if o.ok)

    def failures(self) -> List[Tuple[int, OpOutcome]]:
        """The operations that were not applied, with their index."""
        return [(i, o) for i, o in enumerate(self.outcomes) if not o.ok]

    @property
    def first_error(self) -> Optional[IpvsError]:
        """The first failure's exception, if any."""
        return next((o.error for o in self.outcomes if o.error is not None), None)

    def raise_first(self) -> None:
        """Raises the first failure's exception, if any operation failed."""
        err = self.first_error
        if err is not None:
            raise err
        if not self.ok:
            raise IpvsError("an operation of the batch was not applied")

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[OpOutcome]:
        return iter(self.outcomes)

    def __repr__(self) -> str:
        return f"<BatchReport {self.done}/{len(self.outcomes)} done>"


def _report(ops: Tuple[Operation, ...], raw: List[Tuple[str, Optional[BaseException]]]) -> BatchReport:
    out = []
    for op, (status, err) in zip(ops, raw):
        e = err if isinstance(err, IpvsError) else None
        out.append(OpOutcome(op, _enum(OutcomeStatus, status, "outcome"), e))
    return BatchReport(tuple(out))


# ---------------------------------------------------------------- tables and plans


@dataclass(frozen=True, init=False, repr=False)
class TableService(_Value):
    """A virtual service with its real servers (order kept)."""

    service: Service
    destinations: Tuple[Destination, ...]

    def __init__(self, service: Service, destinations: Iterable[Destination] = ()) -> None:
        _check(service, Service, "service")
        ds = tuple(destinations)
        for d in ds:
            _check(d, Destination, "destination")
        _set(self, "service", service)
        _set(self, "destinations", ds)

    @property
    def key(self) -> ServiceKey:
        """The service's key."""
        return self.service.key

    def to_dict(self) -> Dict[str, Any]:
        return {"service": self.service.to_dict(), "destinations": [d.to_dict() for d in self.destinations]}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> TableService:
        d = _dict(data, "table service")
        return cls(Service.from_dict(d.get("service")), [Destination.from_dict(x) for x in d.get("destinations", [])])  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"TableService({self.service!r}, {list(self.destinations)!r})"


@dataclass(frozen=True, init=False, repr=False)
class Table(_Value):
    """A whole IPVS table: services with their destinations, and timeouts to enforce (``None``: leave them)."""

    services: Tuple[TableService, ...]
    timeouts: Optional[Timeouts]

    def __init__(self, services: Iterable[TableService] = (), timeouts: Optional[Timeouts] = None) -> None:
        ss = tuple(services)
        for s in ss:
            _check(s, TableService, "table service")
        if timeouts is not None:
            _check(timeouts, Timeouts, "timeouts")
        _set(self, "services", ss)
        _set(self, "timeouts", timeouts)

    def service(self, key: ServiceKey) -> Optional[TableService]:
        """Finds a service by key."""
        return next((s for s in self.services if s.key == key), None)

    def sorted(self) -> Table:
        """The table in a canonical order (for comparisons)."""

        def dkey(d: Destination) -> Tuple[int, int, int]:
            return (d.addr.version, int(d.addr), d.port)

        svcs = [TableService(s.service, sorted(s.destinations, key=dkey)) for s in self.services]
        return Table(sorted(svcs, key=lambda s: s.key.to_json()), self.timeouts)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "services": [s.to_dict() for s in self.services],
            "timeouts": None if self.timeouts is None else self.timeouts.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Table:
        d = _dict(data, "table")
        t = d.get("timeouts")
        return cls([TableService.from_dict(s) for s in d.get("services", [])], None if t is None else Timeouts.from_dict(t))

    def __repr__(self) -> str:
        return f"Table({list(self.services)!r}, timeouts={self.timeouts!r})"


@dataclass(frozen=True)
class Plan:
    """An ordered list of operations turning one table into another; ``str(plan)`` is a dry run in ipvsadm's words."""

    operations: Tuple[Operation, ...] = ()

    def __len__(self) -> int:
        return len(self.operations)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __bool__(self) -> bool:
        return bool(self.operations)

    def __str__(self) -> str:
        return _ipvs.display("plan", json.dumps([o.to_dict() for o in self.operations]))

    def __repr__(self) -> str:
        return f"<Plan of {len(self.operations)} operations>"


Scope = Union[None, Iterable[ServiceKey], Callable[[ServiceKey], bool]]
"""Which services a plan may touch: all (``None``), those keys, or those a predicate accepts."""


def _scope_json(scope: Scope) -> Union[str, Callable[[str], bool], None]:
    """The scope for the compiled module: ``None``, a JSON list of keys, or a
    predicate on a key's JSON (the core's ``Scope::Predicate``, which the
    core's planner calls for each key of both tables)."""
    if scope is None:
        return None
    if callable(scope):
        pred = scope

        def on_json(text: str) -> bool:
            return bool(pred(ServiceKey.from_json(text)))

        return on_json
    keys = set(scope)
    for k in keys:
        _check(k, ServiceKey, "scope key")
    return json.dumps([k.to_dict() for k in keys])


def _ops(text: str) -> Tuple[Operation, ...]:
    return tuple(Operation.from_dict(o) for o in json.loads(text))


def diff(current: Table, desired: Table, *, scope: Scope = None, drain_before_remove: bool = False) -> Plan:
    """Plans the operations that turn ``current`` into ``desired``.

    With ``drain_before_remove`` a real server that is to go and still has a
    weight is only drained (weight 0) by this plan; a later plan removes it.
    """
    _check(current, Table, "current")
    _check(desired, Table, "desired")
    return Plan(_ops(_ipvs.diff(current.to_json(), desired.to_json(), _scope_json(scope), drain_before_remove)))


def simulate(current: Table, plan: Union[Plan, Iterable[Operation]]) -> Table:
    """The table ``current`` becomes if every operation of ``plan`` succeeds (no kernel involved)."""
    _check(current, Table, "current")
    ops = plan.operations if isinstance(plan, Plan) else tuple(plan)
    return Table.from_json(_ipvs.simulate(current.to_json(), json.dumps([o.to_dict() for o in ops])))
