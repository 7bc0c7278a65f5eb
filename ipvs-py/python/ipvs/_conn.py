"""The connection table: ``/proc/net/ip_vs_conn`` and ``/proc/net/ip_vs_conn_sync``.

:class:`Connection` and :class:`ConnectionOrigin` are defined in Rust
(``ipvs-py/src/conn.rs``, ``enums.rs``); the compiled module builds each
entry straight from the core's parsed table.
"""

from __future__ import annotations

from typing import List

from . import _ipvs
from ._handle import NamespaceLike, _namespace_args
from ._ipvs import Connection as Connection
from ._ipvs import ConnectionOrigin as ConnectionOrigin

__all__ = ["Connection", "ConnectionOrigin", "parse_connections", "read_connections"]


def parse_connections(text: str) -> List[Connection]:
    """Parses the text of ``/proc/net/ip_vs_conn`` or ``ip_vs_conn_sync`` (the header line is skipped).

    Raises :class:`~ipvs.ConnectionParseError` (a :class:`ValueError`) naming the first bad line.
    """
    return _ipvs.conn_parse(text)


def read_connections(namespace: NamespaceLike = None, *, sync: bool = False) -> List[Connection]:
    """Reads the connection table of a network namespace (see :class:`~ipvs.Ipvs` for ``namespace``).

    ``sync=True`` reads ``ip_vs_conn_sync`` (each entry with its origin). No
    thread of the process but a short-lived helper changes namespace. Raises
    :class:`~ipvs.SystemCallError` when the namespace cannot be entered or
    the file read (IPVS not loaded).
    """
    name, path, fd = _namespace_args(namespace)
    return _ipvs.conn_read(name=name, path=path, fd=fd, sync=bool(sync))
