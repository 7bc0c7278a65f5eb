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
"""

from __future__ import annotations

from . import _ipvs
from ._batch import Table
from ._errors import RulesParseError

__all__ = ["parse", "save", "RulesParseError"]


def parse(text: str) -> Table:
    """Parses rules text into a table: the rules applied in order to an empty table.

    The last ``--set`` gives the table's timeouts. Raises
    :class:`~ipvs.RulesParseError` (a :class:`ValueError`) for a line that
    does not parse or a rule that does not apply.
    """
    if not isinstance(text, str):
        raise TypeError(f"rules text must be a str, not {type(text).__name__}")
    return Table.from_json(_ipvs.rules_parse(text))


def save(table: Table, *, lossless: bool = False) -> str:
    """Writes a table as rules text (its timeouts are not written, as ``ipvsadm -S`` does not)."""
    if not isinstance(table, Table):
        raise TypeError(f"table must be a Table, not {type(table).__name__}")
    return _ipvs.rules_save(table.to_json(), bool(lossless))
