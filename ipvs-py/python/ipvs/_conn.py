"""The connection table: ``/proc/net/ip_vs_conn`` and ``/proc/net/ip_vs_conn_sync``."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from . import _ipvs
from ._handle import NamespaceLike, _namespace_args
from ._model import IPAddress, _ReprEnum

__all__ = ["Connection", "ConnectionOrigin", "parse_connections", "read_connections"]


class ConnectionOrigin(_ReprEnum):
    """Where an entry of ``ip_vs_conn_sync`` came from."""

    LOCAL = "local"
    """Created by this director."""
    SYNC = "sync"
    """Received from a sync master."""


@dataclass(frozen=True)
class Connection:
    """One entry of the connection table (a connection or a persistence template).

    ``protocol`` and ``state`` are the kernel's words (``"TCP"``, ``"UDP"``,
    ``"SCTP"``, ``"IP"`` for firewall-mark templates, ...; ``"ESTABLISHED"``,
    ``"SYN_RECV"``, ``"NONE"``, ``"ASSURED"``, ...); ``expires`` is in
    seconds; ``pe_name``/``pe_data`` are the persistence engine's (e.g.
    ``"sip"`` and the Call-ID); ``origin`` is set for ``ip_vs_conn_sync``.
    """

    protocol: str
    client_addr: IPAddress
    client_port: int
    virtual_addr: IPAddress
    virtual_port: int
    destination_addr: IPAddress
    destination_port: int
    state: str
    expires: int
    pe_name: Optional[str] = None
    pe_data: Optional[str] = None
    origin: Optional[ConnectionOrigin] = None

    def __post_init__(self) -> None:
        # what to_dict() gives: addresses as text, the origin as its value
        for name in ("client_addr", "virtual_addr", "destination_addr"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, ipaddress.ip_address(value))
        if isinstance(self.origin, str):
            object.__setattr__(self, "origin", ConnectionOrigin(self.origin))

    def to_dict(self) -> Dict[str, Any]:
        """The constructor's keyword arguments, addresses as text and the origin as its value."""
        return {
            "protocol": self.protocol,
            "client_addr": str(self.client_addr),
            "client_port": self.client_port,
            "virtual_addr": str(self.virtual_addr),
            "virtual_port": self.virtual_port,
            "destination_addr": str(self.destination_addr),
            "destination_port": self.destination_port,
            "state": self.state,
            "expires": self.expires,
            "pe_name": self.pe_name,
            "pe_data": self.pe_data,
            "origin": None if self.origin is None else self.origin.value,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Connection:
        """The inverse of :meth:`to_dict`."""
        return cls(**data)

    @property
    def is_template(self) -> bool:
        """Whether this is a persistence template: protocol ``IP``, or client port 0 in state ``NONE``/``ASSURED``."""
        return self.protocol == "IP" or (self.client_port == 0 and self.state in ("NONE", "ASSURED"))


_Raw = Tuple[str, str, int, str, int, str, int, str, int, Optional[Tuple[str, str]], Optional[str]]


def _connection(raw: _Raw) -> Connection:
    proto, ca, cp, va, vp, da, dp, state, expires, pe, origin = raw
    return Connection(
        protocol=proto,
        client_addr=ipaddress.ip_address(ca),
        client_port=cp,
        virtual_addr=ipaddress.ip_address(va),
        virtual_port=vp,
        destination_addr=ipaddress.ip_address(da),
        destination_port=dp,
        state=state,
        expires=expires,
        pe_name=None if pe is None else pe[0],
        pe_data=None if pe is None else pe[1],
        origin=None if origin is None else ConnectionOrigin(origin),
    )


def parse_connections(text: str) -> List[Connection]:
    """Parses the text of ``/proc/net/ip_vs_conn`` or ``ip_vs_conn_sync`` (the header line is skipped).

    Raises :class:`~ipvs.ConnectionParseError` (a :class:`ValueError`) naming the first bad line.
    """
    if not isinstance(text, str):
        raise TypeError(f"connection table text must be a str, not {type(text).__name__}")
    return [_connection(r) for r in _ipvs.conn_parse(text)]


def read_connections(namespace: NamespaceLike = None, *, sync: bool = False) -> List[Connection]:
    """Reads the connection table of a network namespace (see :class:`~ipvs.Ipvs` for ``namespace``).

    ``sync=True`` reads ``ip_vs_conn_sync`` (each entry with its origin). No
    thread of the process but a short-lived helper changes namespace. Raises
    :class:`~ipvs.SystemCallError` when the namespace cannot be entered or
    the file read (IPVS not loaded).
    """
    name, path, fd = _namespace_args(namespace)
    return [_connection(r) for r in _ipvs.conn_read(name=name, path=path, fd=fd, sync=bool(sync))]
