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

# TableService and Table are native classes of the compiled module
# (ipvs-py/src/tables.rs): a table read from the kernel, parsed from rules text
# or simulated is built there in one pass, one native object per service.
from ._ipvs import Table as Table  # noqa: E402
from ._ipvs import TableService as TableService  # noqa: E402


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
    return _ipvs.table_simulate(current, ops)
