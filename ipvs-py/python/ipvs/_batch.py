"""Operations, batches with per-operation outcomes, desired-state tables and plans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from . import _ipvs
from ._errors import IpvsError
from ._model import (
    Destination,
    Service,
    ServiceKey,
    Timeouts,
    _dict,
    _ReprEnum,
    _serde_of,
    _set,
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


# defined in Rust with the other enums (ipvs-py/src/enums.rs)
from ._ipvs import OperationKind as OperationKind  # noqa: E402


def _check(value: object, cls: type, what: str) -> None:
    if not isinstance(value, cls) or (cls is ServiceKey and type(value) is ServiceKey):
        raise TypeError(f"{what} must be a {cls.__name__}, not {type(value).__name__}")


# Operation is a native class of the compiled module (ipvs-py/src/model.rs)
# wrapping the core's operation: its static constructors check their
# arguments in Rust, and batches hand it to the core as it is.
from ._ipvs import Operation as Operation  # noqa: E402


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


class BatchReport:
    """One :class:`OpOutcome` per operation, in the order given.

    Immutable. A report of the binding's own batches keeps only the outcomes
    that are not done and builds :attr:`outcomes` when first asked, so that
    checking a large successful batch (``report.ok``) costs nothing per
    operation.
    """

    __slots__ = ("_ops", "_not_done", "_outcomes")
    _ops: Tuple[Operation, ...]
    _not_done: Dict[int, Tuple[OutcomeStatus, Optional[IpvsError]]]
    _outcomes: Optional[Tuple[OpOutcome, ...]]

    def __init__(self, outcomes: Iterable[OpOutcome]) -> None:
        outs = tuple(outcomes)
        for o in outs:
            _check(o, OpOutcome, "outcome")
        object.__setattr__(self, "_ops", tuple(o.operation for o in outs))
        object.__setattr__(
            self, "_not_done", {i: (o.status, o.error) for i, o in enumerate(outs) if not o.ok}
        )
        object.__setattr__(self, "_outcomes", outs)

    @classmethod
    def _of(
        cls, ops: Tuple[Operation, ...], not_done: Dict[int, Tuple[OutcomeStatus, Optional[IpvsError]]]
    ) -> BatchReport:
        r = cls.__new__(cls)
        object.__setattr__(r, "_ops", ops)
        object.__setattr__(r, "_not_done", not_done)
        object.__setattr__(r, "_outcomes", None)
        return r

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"BatchReport is immutable; cannot set {name!r}")

    @property
    def outcomes(self) -> Tuple[OpOutcome, ...]:
        """Every operation's outcome, in order."""
        outs = self._outcomes
        if outs is None:
            done, nd = OutcomeStatus.DONE, self._not_done
            outs = tuple(
                OpOutcome(op, *nd[i]) if i in nd else OpOutcome(op, done) for i, op in enumerate(self._ops)
            )
            object.__setattr__(self, "_outcomes", outs)
        return outs

    @property
    def ok(self) -> bool:
        """True when every operation was applied."""
        return not self._not_done

    @property
    def done(self) -> int:
        """How many operations were applied."""
        return len(self._ops) - len(self._not_done)

    def failures(self) -> List[Tuple[int, OpOutcome]]:
        """The operations that were not applied, with their index."""
        return [(i, OpOutcome(self._ops[i], st, err)) for i, (st, err) in sorted(self._not_done.items())]

    @property
    def first_error(self) -> Optional[IpvsError]:
        """The first failure's exception, if any."""
        return next((err for _, (_, err) in sorted(self._not_done.items()) if err is not None), None)

    def raise_first(self) -> None:
        """Raises the first failure's exception, if any operation failed."""
        err = self.first_error
        if err is not None:
            raise err
        if not self.ok:
            raise IpvsError("an operation of the batch was not applied")

    def __len__(self) -> int:
        return len(self._ops)

    def __iter__(self) -> Iterator[OpOutcome]:
        return iter(self.outcomes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BatchReport):
            return NotImplemented
        return self._ops == other._ops and self._not_done == other._not_done

    def __hash__(self) -> int:
        return hash((self._ops, tuple(sorted(self._not_done.items(), key=lambda kv: kv[0]))))

    def __repr__(self) -> str:
        return f"<BatchReport {self.done}/{len(self._ops)} done>"


_STATUS = {s.value: s for s in OutcomeStatus}


def _report(ops: Tuple[Operation, ...], raw: List[Tuple[int, str, Optional[BaseException]]]) -> BatchReport:
    status = _STATUS
    return BatchReport._of(
        ops, {i: (status[st], err if isinstance(err, IpvsError) else None) for i, st, err in raw}
    )


# ---------------------------------------------------------------- tables and plans

_TableParts = Tuple[List[Tuple[Service, Tuple[Destination, ...]]], Optional[Timeouts]]
"""A table as the compiled module hands it over: its services with their destinations, and its timeouts."""


@dataclass(frozen=True, init=False, repr=False)
class TableService(_Value):
    """A virtual service with its real servers (order kept)."""

    service: Service
    destinations: Tuple[Destination, ...]

    def __init__(
        self, service: Union[Service, Dict[str, Any]], destinations: Iterable[Union[Destination, Dict[str, Any]]] = ()
    ) -> None:
        # a nested value may be given as its dict (what to_dict() gives)
        if isinstance(service, dict):
            service = Service(**service)
        _check(service, Service, "service")
        ds = tuple(Destination(**d) if isinstance(d, dict) else d for d in destinations)
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

    def _serde(self) -> Any:
        return {
            "service": _serde_of(self.service),
            "destinations": [_serde_of(d) for d in self.destinations],
        }

    @classmethod
    def _of(cls, service: Service, destinations: Tuple[Destination, ...]) -> TableService:
        """Builds one from values the core made (already checked)."""
        ts = object.__new__(cls)
        _set(ts, "service", service)
        _set(ts, "destinations", destinations)
        return ts

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> TableService:
        """From its ``to_dict()`` or the core's serde form."""
        d = _dict(data, "table service")
        return cls(Service.from_dict(d.get("service")), [Destination.from_dict(x) for x in d.get("destinations", [])])  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"TableService({self.service!r}, {list(self.destinations)!r})"


@dataclass(frozen=True, init=False, repr=False)
class Table(_Value):
    """A whole IPVS table: services with their destinations, and timeouts to enforce (``None``: leave them)."""

    services: Tuple[TableService, ...]
    timeouts: Optional[Timeouts]

    def __init__(
        self,
        services: Iterable[Union[TableService, Dict[str, Any]]] = (),
        timeouts: Union[Timeouts, Dict[str, Any], None] = None,
    ) -> None:
        # a nested value may be given as its dict (what to_dict() gives)
        ss = tuple(TableService(**s) if isinstance(s, dict) else s for s in services)
        for s in ss:
            _check(s, TableService, "table service")
        if isinstance(timeouts, dict):
            timeouts = Timeouts(**timeouts)
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

        svcs: List[TableService] = []
        for s in self.services:
            dests: List[Destination] = sorted(s.destinations, key=dkey)
            svcs.append(TableService(s.service, dests))
        ordered: List[TableService] = sorted(svcs, key=lambda s: s.key.to_json())
        return Table(ordered, self.timeouts)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "services": [s.to_dict() for s in self.services],
            "timeouts": None if self.timeouts is None else self.timeouts.to_dict(),
        }

    def to_json(self) -> str:
        """The table in the core's serde JSON form."""
        return _ipvs.table_json(self)

    @classmethod
    def from_json(cls, text: str) -> Table:
        """Parses the core's serde JSON form."""
        return cls._of(_ipvs.table_parse(text))

    @classmethod
    def _of(cls, parts: _TableParts) -> Table:
        """Builds one from the core's table, as the compiled module hands it over."""
        services, timeouts = parts
        of = TableService._of
        t = object.__new__(cls)
        _set(t, "services", tuple([of(s, ds) for s, ds in services]))
        _set(t, "timeouts", timeouts)
        return t

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
        return _ipvs.plan_display(self.operations)

    def to_rules(self) -> str:
        """The plan as ``ipvsadm -R`` input: ``str(plan)`` without the leading ``ipvsadm`` of each line.

        Raises :class:`~ipvs.InvalidInputError` for an operation ipvsadm has
        no words for (a bypass real server).
        """
        return _ipvs.plan_rules(self.operations)

    def __repr__(self) -> str:
        return f"<Plan of {len(self.operations)} operations>"


Scope = Union[None, Iterable[ServiceKey], Callable[[ServiceKey], bool]]
"""Which services a plan may touch: all (``None``), those keys, or those a predicate accepts."""


def _scope_arg(scope: Scope) -> Union[None, List[ServiceKey], Callable[[ServiceKey], bool]]:
    """The scope for the compiled module: ``None``, the keys, or the predicate
    itself (the core's ``Scope::Predicate``, which the planner calls for each
    key of both tables)."""
    if scope is None:
        return None
    if callable(scope):
        return scope
    keys = set(scope)
    for k in keys:
        _check(k, ServiceKey, "scope key")
    return list(keys)


def diff(current: Table, desired: Table, *, scope: Scope = None, drain_before_remove: bool = False) -> Plan:
    """Plans the operations that turn ``current`` into ``desired``.

    With ``drain_before_remove`` a real server that is to go and still has a
    weight is only drained (weight 0) by this plan; a later plan removes it.
    """
    _check(current, Table, "current")
    _check(desired, Table, "desired")
    return Plan(tuple(_ipvs.table_diff(current, desired, _scope_arg(scope), drain_before_remove)))


def simulate(current: Table, plan: Union[Plan, Iterable[Operation]]) -> Table:
    """The table ``current`` becomes if every operation of ``plan`` succeeds (no kernel involved)."""
    _check(current, Table, "current")
    ops = plan.operations if isinstance(plan, Plan) else tuple(plan)
    return Table._of(_ipvs.table_simulate(current, ops))
