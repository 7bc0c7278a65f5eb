"""The IPVS model as frozen, hashable value classes.

``to_dict()`` gives each class's constructor keyword arguments in plain
data (text, numbers, ``None``, lists, dicts; a nested value as its own
dict), so ``Cls(**value.to_dict())`` builds an equal value and every
constructor taking a nested value also takes its dict; ``from_dict`` is its
inverse and also reads the core's serde form, which ``to_json`` /
``from_json`` speak. The core validates every value when it is built:
invalid input raises :class:`ipvs.InvalidInputError` (a ``ValueError``)
with the core's message, a wrong type ``TypeError``.

The classes on the hot path of batches and tables (:class:`ServiceKey`,
:class:`Persistence`, :class:`Service`, :class:`Destination`) are native
classes of the compiled module wrapping the core's values; the enums and flags
they return, and the values the kernel reports, are defined here.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Optional, Tuple, Type, TypeVar, Union

from . import _ipvs
from ._errors import InvalidInputError

__all__ = [
    "IPAddress",
    "AddressLike",
    "Protocol",
    "Family",
    "Scheduler",
    "Forwarding",
    "TunnelType",
    "ServiceFlags",
    "EncapFlags",
    "SyncState",
    "ServiceKey",
    "InetKey",
    "FwmarkKey",
    "Netmask",
    "Persistence",
    "Service",
    "Destination",
    "Stats",
    "ServiceEntry",
    "DestinationEntry",
    "Timeouts",
    "Info",
    "SyncDaemon",
]

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
"""An IP address object."""

AddressLike = Union[ipaddress.IPv4Address, ipaddress.IPv6Address, str]
"""What address parameters accept: an address object or its text."""

_T = TypeVar("_T", bound="_Value")


# ---------------------------------------------------------------- helpers


def _addr(value: object, what: str) -> IPAddress:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if isinstance(value, str):
        try:
            return ipaddress.ip_address(value)
        except ValueError:
            raise InvalidInputError(f"{what}: {value!r} is not an IP address", "checking the arguments") from None
    raise TypeError(f"{what} must be an IP address or a string, not {type(value).__name__}")


def _int(value: object, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise InvalidInputError(f"{what} {value} is outside {lo}..={hi}", "checking the arguments")
    return int(value)


def _u16(value: object, what: str) -> int:
    return _int(value, what, 0, 0xFFFF)


def _u32(value: object, what: str) -> int:
    return _int(value, what, 0, 0xFFFF_FFFF)


def _u64(value: object, what: str) -> int:
    return _int(value, what, 0, 0xFFFF_FFFF_FFFF_FFFF)


_E = TypeVar("_E", bound=enum.Enum)


def _enum(cls: Type[_E], value: object, what: str) -> _E:
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        for member in cls:
            if value == member.value or value.upper() == member.name:
                return member
        names = ", ".join(repr(m.value) for m in cls)
        raise InvalidInputError(f"{what}: unknown value {value!r} (expected one of {names})", "checking the arguments")
    raise TypeError(f"{what} must be a {cls.__name__} or a string, not {type(value).__name__}")


_F = TypeVar("_F", bound=enum.Flag)


def _flags(cls: Type[_F], value: object, what: str) -> _F:
    if isinstance(value, cls):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be {cls.__name__} flags or an int, not {type(value).__name__}")
    known = 0
    for member in cls:
        known |= int(member.value)
    if value < 0 or value & ~known:
        raise InvalidInputError(f"{what}: unknown flag bits {value:#x}", "checking the arguments")
    return cls(value)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _dict(value: object, what: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a dict, not {type(value).__name__}")
    return value


def _serde_of(value: Any) -> Any:
    """The serde form of a nested native value (``to_json`` parsed)."""
    return json.loads(value.to_json())


def _listed_service(data: object) -> Service:
    """A listed service from a dict of either form (the serde form kept unvalidated)."""
    d = _dict(data, "service")
    key = d.get("key")
    if isinstance(key, dict) and len(key) == 1 and ("inet" in key or "fwmark" in key):
        return Service._from_kernel(d)
    return Service(**d)


def _listed_destination(data: object) -> Destination:
    """A listed destination from a dict of either form (the serde form kept unvalidated)."""
    d = _dict(data, "destination")
    return Destination._from_kernel(d) if "forward" in d else Destination(**d)


def _one(value: object, what: str) -> Tuple[str, Any]:
    """The single key and value of a serde externally tagged enum."""
    if isinstance(value, str):
        return value, None
    d = _dict(value, what)
    if len(d) != 1:
        raise InvalidInputError(f"{what}: expected a single variant, got {sorted(d)}", "checking the arguments")
    ((k, v),) = d.items()
    return str(k), v


class _Value:
    """Dict and JSON conversion shared by the value classes."""

    def to_dict(self) -> Dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls: Type[_T], data: Dict[str, Any]) -> _T:
        raise NotImplementedError

    def to_json(self) -> str:
        """The value in the core's serde JSON form."""
        return json.dumps(self._serde())

    def _serde(self) -> Any:
        """The core's serde form (the dict form unless a nested value differs)."""
        return self.to_dict()

    @classmethod
    def from_json(cls: Type[_T], text: str) -> _T:
        """Parses the core's serde JSON form."""
        return cls.from_dict(json.loads(text))

    def replace(self: _T, **changes: Any) -> _T:
        """A copy with some fields changed (the constructor's keyword arguments), checked as the constructor checks."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


# ---------------------------------------------------------------- enums and flags

# Defined once, in Rust (ipvs-py/src/enums.rs): the compiled module makes each
# of them, a real enum.Enum or enum.Flag, from its table when it is imported.
from ._enumbase import _ReprEnum as _ReprEnum  # noqa: E402
from ._enumbase import _ReprFlag as _ReprFlag  # noqa: E402
from ._ipvs import EncapFlags as EncapFlags  # noqa: E402
from ._ipvs import Family as Family  # noqa: E402
from ._ipvs import Forwarding as Forwarding  # noqa: E402
from ._ipvs import Protocol as Protocol  # noqa: E402
from ._ipvs import Scheduler as Scheduler  # noqa: E402
from ._ipvs import ServiceFlags as ServiceFlags  # noqa: E402
from ._ipvs import SyncState as SyncState  # noqa: E402
from ._ipvs import TunnelType as TunnelType  # noqa: E402


# ---------------------------------------------------------------- native value classes

Netmask = Union[ipaddress.IPv4Address, int]
"""A persistence netmask: an IPv4 netmask (IPv4 services) or a prefix length (IPv6)."""

# ServiceKey (InetKey, FwmarkKey), Persistence, Service and Destination are
# native classes of the compiled module (ipvs-py/src/model.rs): they wrap the
# core's Rust values, parse and validate their arguments in Rust, and make
# address objects and enum members only when an attribute is read.
from ._ipvs import Destination as Destination  # noqa: E402
from ._ipvs import FwmarkKey as FwmarkKey  # noqa: E402
from ._ipvs import InetKey as InetKey  # noqa: E402
from ._ipvs import Persistence as Persistence  # noqa: E402
from ._ipvs import Service as Service  # noqa: E402
from ._ipvs import ServiceKey as ServiceKey  # noqa: E402


# ---------------------------------------------------------------- what the kernel reports


_STATS_FIELDS = (
    "conns",
    "in_packets",
    "out_packets",
    "in_bytes",
    "out_bytes",
    "cps",
    "in_pps",
    "out_pps",
    "in_bps",
    "out_bps",
)


@dataclass(frozen=True)
class Stats(_Value):
    """Traffic counters and rates, as the kernel reports them."""

    conns: int = 0
    in_packets: int = 0
    out_packets: int = 0
    in_bytes: int = 0
    out_bytes: int = 0
    cps: int = 0
    in_pps: int = 0
    out_pps: int = 0
    in_bps: int = 0
    out_bps: int = 0

    def __post_init__(self) -> None:
        for name in _STATS_FIELDS:
            _u64(getattr(self, name), name)

    def to_dict(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in _STATS_FIELDS}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Stats:
        d = _dict(data, "stats")
        return cls(**{name: d.get(name, 0) for name in _STATS_FIELDS})


@dataclass(frozen=True)
class ServiceEntry(_Value):
    """A service as listed by the kernel: its configuration and counters."""

    service: Service
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        # the dict forms of the nested values, as to_dict() gives them
        if isinstance(self.service, dict):
            _set(self, "service", Service(**self.service))
        if isinstance(self.stats, dict):
            _set(self, "stats", Stats(**self.stats))

    @property
    def key(self) -> ServiceKey:
        """The service's key."""
        return self.service.key

    def to_dict(self) -> Dict[str, Any]:
        return {"service": self.service.to_dict(), "stats": self.stats.to_dict()}

    def _serde(self) -> Any:
        return {"service": _serde_of(self.service), "stats": self.stats.to_dict()}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> ServiceEntry:
        d = _dict(data, "service entry")
        # a listing in the serde form is kept as the kernel holds it: not
        # validated (a persistence timeout of 0 from another client, unknown
        # protocols are listed)
        return cls(_listed_service(d.get("service")), Stats.from_dict(d.get("stats", {})))


@dataclass(frozen=True)
class DestinationEntry(_Value):
    """A destination as listed by the kernel: configuration, connection counts, counters."""

    destination: Destination
    active_conns: int = 0
    inactive_conns: int = 0
    persistent_conns: int = 0
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        # the dict forms of the nested values, as to_dict() gives them
        if isinstance(self.destination, dict):
            _set(self, "destination", Destination(**self.destination))
        if isinstance(self.stats, dict):
            _set(self, "stats", Stats(**self.stats))

    @property
    def addr(self) -> IPAddress:
        """The real server's address."""
        return self.destination.addr

    @property
    def port(self) -> int:
        """The real server's port."""
        return self.destination.port

    def to_dict(self) -> Dict[str, Any]:
        return {
            "destination": self.destination.to_dict(),
            "active_conns": self.active_conns,
            "inactive_conns": self.inactive_conns,
            "persistent_conns": self.persistent_conns,
            "stats": self.stats.to_dict(),
        }

    def _serde(self) -> Any:
        return dict(self.to_dict(), destination=_serde_of(self.destination))

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> DestinationEntry:
        d = _dict(data, "destination entry")
        return cls(
            _listed_destination(d.get("destination")),
            _u32(d.get("active_conns", 0), "active_conns"),
            _u32(d.get("inactive_conns", 0), "inactive_conns"),
            _u32(d.get("persistent_conns", 0), "persistent_conns"),
            Stats.from_dict(d.get("stats", {})),
        )

    def __str__(self) -> str:
        """Reads like a destination line of ``ipvsadm -Ln``."""
        return _ipvs.destination_entry_text(self.destination, self.active_conns, self.inactive_conns)


@dataclass(frozen=True)
class Timeouts(_Value):
    """Connection timeouts in seconds (``ipvsadm --set tcp tcpfin udp``); 0 keeps a value when setting."""

    MAX: ClassVar[int] = _ipvs.MAX_TIMEOUT
    """The longest timeout written, in seconds (the kernel refuses more than ``INT_MAX / HZ``)."""

    tcp: int = 0
    tcp_fin: int = 0
    udp: int = 0

    def __post_init__(self) -> None:
        for name in ("tcp", "tcp_fin", "udp"):
            _u32(getattr(self, name), f"{name} timeout")

    def to_dict(self) -> Dict[str, Any]:
        return {"tcp": self.tcp, "tcp_fin": self.tcp_fin, "udp": self.udp}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Timeouts:
        d = _dict(data, "timeouts")
        return cls(d.get("tcp", 0), d.get("tcp_fin", 0), d.get("udp", 0))


@dataclass(frozen=True)
class Info(_Value):
    """Global IPVS information: version code and connection table size."""

    version: int
    conn_table_size: int

    def __post_init__(self) -> None:
        _u32(self.version, "version")
        _u32(self.conn_table_size, "conn_table_size")

    @property
    def version_triple(self) -> Tuple[int, int, int]:
        """The version as (major, minor, patch)."""
        v = self.version
        return ((v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF)

    def to_dict(self) -> Dict[str, Any]:
        return {"version": self.version, "conn_table_size": self.conn_table_size}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Info:
        d = _dict(data, "info")
        return cls(d.get("version"), d.get("conn_table_size"))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return _ipvs.info_text(self.version, self.conn_table_size)


@dataclass(frozen=True, init=False, repr=False)
class SyncDaemon(_Value):
    """A connection synchronisation daemon (``ipvsadm --start-daemon``); ``None`` keeps the kernel's default."""

    MAX_SYNC_ID: ClassVar[int] = _ipvs.MAX_SYNC_ID
    """The largest sync id written (ipvsadm's limit)."""

    state: Union[SyncState, int]
    """Master or backup; a listing keeps a state this library does not know as its raw number."""
    interface: str
    """The interface, in the text form of kernel names: a byte of a name that is
    not UTF-8 is written ``:xx`` (``eth:ff``) and sent back as that byte."""
    sync_id: int
    max_len: Optional[int]
    group: Optional[IPAddress]
    port: Optional[int]
    ttl: Optional[int]

    def __init__(
        self,
        state: Union[SyncState, str],
        interface: str,
        sync_id: int = 0,
        *,
        max_len: Optional[int] = None,
        group: Optional[AddressLike] = None,
        port: Optional[int] = None,
        ttl: Optional[int] = None,
    ) -> None:
        _set(self, "state", _enum(SyncState, state, "sync state"))
        if not isinstance(interface, str):
            raise TypeError(f"interface must be a string, not {type(interface).__name__}")
        _set(self, "interface", interface)
        _set(self, "sync_id", _u32(sync_id, "sync id"))
        _set(self, "max_len", None if max_len is None else _u16(max_len, "max_len"))
        _set(self, "group", None if group is None else _addr(group, "multicast group"))
        _set(self, "port", None if port is None else _u16(port, "port"))
        _set(self, "ttl", None if ttl is None else _int(ttl, "ttl", 0, 255))
        _ipvs.check_daemon(self)

    @classmethod
    def _of(
        cls,
        state: Union[SyncState, int],
        interface: str,
        sync_id: int,
        max_len: Optional[int],
        group: Optional[IPAddress],
        port: Optional[int],
        ttl: Optional[int],
    ) -> SyncDaemon:
        """A daemon as a listing holds it, from the compiled module's values: not validated."""
        daemon = cls.__new__(cls)
        for name, value in (
            ("state", state),
            ("interface", interface),
            ("sync_id", sync_id),
            ("max_len", max_len),
            ("group", group),
            ("port", port),
            ("ttl", ttl),
        ):
            _set(daemon, name, value)
        return daemon

    @classmethod
    def _from_kernel(cls, data: Dict[str, Any]) -> SyncDaemon:
        """A daemon as a listing holds it: not validated, an unknown state kept as its number."""
        d = _dict(data, "sync daemon")
        state = d.get("state")
        daemon = cls.__new__(cls)
        if isinstance(state, dict) and isinstance(state.get("unknown"), int):
            _set(daemon, "state", state["unknown"])
        else:
            _set(daemon, "state", _enum(SyncState, state, "sync state"))
        for name in ("interface", "sync_id", "max_len", "port", "ttl"):
            _set(daemon, name, d.get(name))
        g = d.get("group")
        _set(daemon, "group", None if g is None else _addr(g, "multicast group"))
        return daemon

    def to_dict(self) -> Dict[str, Any]:
        return {
            "state": {"unknown": self.state} if isinstance(self.state, int) else self.state.value,
            "interface": self.interface,
            "sync_id": self.sync_id,
            "max_len": self.max_len,
            "group": None if self.group is None else str(self.group),
            "port": self.port,
            "ttl": self.ttl,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> SyncDaemon:
        d = _dict(data, "sync daemon")
        return cls(
            d.get("state"),  # type: ignore[arg-type]
            d.get("interface"),  # type: ignore[arg-type]
            d.get("sync_id", 0),
            max_len=d.get("max_len"),
            group=d.get("group"),
            port=d.get("port"),
            ttl=d.get("ttl"),
        )

    def __repr__(self) -> str:
        parts = [repr(self.state), repr(self.interface), str(self.sync_id)]
        for name in ("max_len", "port", "ttl"):
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{name}={v}")
        if self.group is not None:
            parts.append(f"group={str(self.group)!r}")
        return f"SyncDaemon({', '.join(parts)})"
