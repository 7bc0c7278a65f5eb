"""The rules text of ``ipvsadm -S`` / ``ipvsadm -R``: parsing and writing.

::

    table = ipvs.rules.parse(open("rules.txt").read())   # -> ipvs.Table
    text = ipvs.rules.save(lb.table())                   # == `ipvsadm -Sn`

:func:`parse` accepts every command and option ``ipvsadm -R`` accepts (only
numeric addresses and ports); a line it refuses raises
:class:`~ipvs.RulesParseError` with ``line`` and ``column``. :func:`save`
writes what ``ipvsadm -Sn`` prints, byte for byte; with ``lossless=True`` it
also writes the thresholds and scheduler flags ``ipvsadm -Sn`` leaves out,
so the text rebuilds the same table.

:meth:`ipvs.Ipvs.restore` applies rules text to a kernel as ``ipvsadm -R``
does and returns a :class:`RestoreReport`: one outcome per rule line, with
its line number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from . import _ipvs
from ._batch import BatchReport, OpOutcome, Table
from ._errors import RulesParseError

__all__ = ["parse", "save", "RestoreReport", "RulesParseError"]


@dataclass(frozen=True)
class RestoreReport:
    """What :meth:`ipvs.Ipvs.restore` did: one outcome per rule line.

    ``lines[i]`` is the 1-based line number of the rule whose outcome is
    ``report.outcomes[i]`` (blank and comment lines hold no rule).
    """

    lines: Tuple[int, ...]
    report: BatchReport

    @property
    def ok(self) -> bool:
        """True when every rule was applied."""
        return self.report.ok

    def outcomes(self) -> Iterator[Tuple[int, OpOutcome]]:
        """Each rule's line number with its outcome, in order."""
        return zip(self.lines, self.report.outcomes)

    def outcome_of_line(self, line: int) -> Optional[OpOutcome]:
        """The outcome of the rule on ``line``, or ``None`` if that line holds no rule."""
        outcomes = self.report.outcomes
        at = next((i for i, n in enumerate(self.lines) if n == line), len(outcomes))
        return outcomes[at] if at < len(outcomes) else None

    def failures(self) -> List[Tuple[int, OpOutcome]]:
        """The rules that were not applied: ``(line number, outcome)``."""
        return [(self.lines[i], o) for i, o in self.report.failures()]


def parse(text: str) -> Table:
    """Parses rules text into a table: the rules applied in order to an empty table.

    The last ``--set`` gives the table's timeouts. Raises
    :class:`~ipvs.RulesParseError` (a :class:`ValueError`) for a line that
    does not parse or a rule that does not apply.
    """
    if not isinstance(text, str):
        raise TypeError(f"rules text must be a str, not {type(text).__name__}")
    return _ipvs.rules_parse(text)


def save(table: Table, *, lossless: bool = False) -> str:
    """Writes a table as rules text (its timeouts are not written, as ``ipvsadm -S`` does not)."""
    if not isinstance(table, Table):
        raise TypeError(f"table must be a Table, not {type(table).__name__}")
    return _ipvs.rules_save(table, bool(lossless))
