"""The IPVS model as frozen, hashable value classes.

Each class converts to and from the Rust core's serde form (``to_dict`` /
``from_dict``, ``to_json`` / ``from_json``), and the core validates every
value when it is built: invalid input raises :class:`ipvs.InvalidInputError`
(a ``ValueError``) with the core's message, a wrong type ``TypeError``.
"""

from __future__ import annotations

import enum
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Optional, Tuple, Type, TypeVar, Union

from . import _ipvs

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
            raise ValueError(f"{what}: {value!r} is not an IP address") from None
    raise TypeError(f"{what} must be an IP address or a string, not {type(value).__name__}")


def _int(value: object, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{what} {value} is outside {lo}..={hi}")
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
        raise ValueError(f"{what}: unknown value {value!r} (expected one of {names})")
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
        raise ValueError(f"{what}: unknown flag bits {value:#x}")
    return cls(value)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _dict(value: object, what: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a dict, not {type(value).__name__}")
    return value


def _one(value: object, what: str) -> Tuple[str, Any]:
    """The single key and value of a serde externally tagged enum."""
    if isinstance(value, str):
        return value, None
    d = _dict(value, what)
    if len(d) != 1:
        raise ValueError(f"{what}: expected a single variant, got {sorted(d)}")
    ((k, v),) = d.items()
    return str(k), v


def _norm(kind: str, data: Dict[str, Any], family: Optional[str] = None) -> None:
    """Runs the core's deserialiser and validator on a value's dict."""
    _ipvs.normalize(kind, json.dumps(data), family)


class _Value:
    """Dict and JSON conversion shared by the value classes."""

    def to_dict(self) -> Dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls: Type[_T], data: Dict[str, Any]) -> _T:
        raise NotImplementedError

    def to_json(self) -> str:
        """The value in the core's serde JSON form."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls: Type[_T], text: str) -> _T:
        """Parses the core's serde JSON form."""
        return cls.from_dict(json.loads(text))


class _ReprEnum(enum.Enum):
    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    def __str__(self) -> str:
        return str(self.value)


class _ReprFlag(enum.Flag):
    def __repr__(self) -> str:
        cls = type(self).__name__
        names = [m.name for m in type(self) if m.name and m in self and m.value & self.value == m.value]
        if not names:
            return f"{cls}(0)"
        return "|".join(f"{cls}.{n}" for n in names)


# ---------------------------------------------------------------- enums and flags


class Protocol(_ReprEnum):
    """Transport protocol of a virtual service."""

    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"


class Family(_ReprEnum):
    """Address family."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"

    @classmethod
    def of(cls, addr: AddressLike) -> Family:
        """The family of an address."""
        return cls.IPV4 if _addr(addr, "address").version == 4 else cls.IPV6


class Scheduler(_ReprEnum):
    """The schedulers the kernel ships (``ipvsadm -s``); others are given by name as ``str``."""

    RR = "rr"
    """Round robin."""
    WRR = "wrr"
    """Weighted round robin."""
    LC = "lc"
    """Least connections."""
    WLC = "wlc"
    """Weighted least connections (the default)."""
    LBLC = "lblc"
    """Locality-based least connections."""
    LBLCR = "lblcr"
    """Locality-based least connections with replication."""
    DH = "dh"
    """Destination hashing."""
    SH = "sh"
    """Source hashing."""
    SED = "sed"
    """Shortest expected delay."""
    NQ = "nq"
    """Never queue."""
    FO = "fo"
    """Weighted failover."""
    OVF = "ovf"
    """Weighted overflow."""
    MH = "mh"
    """Maglev hashing."""
    TWOS = "twos"
    """Weighted random twos choice (kernel 6.7 and later)."""

    @property
    def module(self) -> str:
        """The kernel module providing it, e.g. ``ip_vs_rr``."""
        return f"ip_vs_{self.value}"


class Forwarding(_ReprEnum):
    """How packets reach a real server (``-m``, ``-i``, ``-g``)."""

    MASQ = "masq"
    """NAT (``-m``)."""
    LOCAL = "local"
    """The director itself serves."""
    TUNNEL = "tunnel"
    """Tunnelling (``-i``); see :class:`TunnelType`."""
    ROUTE = "directroute"
    """Direct routing (``-g``, ipvsadm's default)."""
    BYPASS = "bypass"
    """Bypass."""


class TunnelType(_ReprEnum):
    """The encapsulation of tunnel forwarding (``--tun-type``)."""

    IPIP = "ipip"
    GUE = "gue"
    GRE = "gre"


class ServiceFlags(_ReprFlag):
    """Service flags a user may set (``-o``, ``-b``); persistence is :class:`Persistence`."""

    ONE_PACKET = 0x0004
    """``-o``: one-packet scheduling (UDP)."""
    SCHED_1 = 0x0008
    """Scheduler flag 1 (``-b flag-1``)."""
    SCHED_2 = 0x0010
    """Scheduler flag 2 (``-b flag-2``)."""
    SCHED_3 = 0x0020
    """Scheduler flag 3 (``-b flag-3``)."""
    SH_FALLBACK = 0x0008
    """``sh-fallback`` (alias of SCHED_1)."""
    SH_PORT = 0x0010
    """``sh-port`` (alias of SCHED_2)."""
    MH_FALLBACK = 0x0008
    """``mh-fallback`` (alias of SCHED_1)."""
    MH_PORT = 0x0010
    """``mh-port`` (alias of SCHED_2)."""


class EncapFlags(_ReprFlag):
    """Checksum options of GUE and GRE tunnels."""

    CSUM = 1
    """``--tun-csum``."""
    REMCSUM = 2
    """``--tun-remcsum`` (GUE only)."""


class SyncState(_ReprEnum):
    """Role of a connection synchronisation daemon."""

    MASTER = "master"
    BACKUP = "backup"


# ---------------------------------------------------------------- service keys


@dataclass(frozen=True, init=False)
class ServiceKey(_Value):
    """What identifies a virtual service: :class:`InetKey` or :class:`FwmarkKey`.

    Build one with :meth:`tcp`, :meth:`udp`, :meth:`sctp` or :meth:`fwmark`.
    """

    @staticmethod
    def tcp(addr: AddressLike, port: int) -> InetKey:
        """A TCP service key (``-t addr:port``)."""
        return InetKey(Protocol.TCP, addr, port)

    @staticmethod
    def udp(addr: AddressLike, port: int) -> InetKey:
        """A UDP service key (``-u addr:port``)."""
        return InetKey(Protocol.UDP, addr, port)

    @staticmethod
    def sctp(addr: AddressLike, port: int) -> InetKey:
        """An SCTP service key (``--sctp-service addr:port``)."""
        return InetKey(Protocol.SCTP, addr, port)

    @staticmethod
    def fwmark(mark: int, family: Union[Family, str] = Family.IPV4) -> FwmarkKey:
        """A firewall-mark service key (``-f mark``)."""
        return FwmarkKey(mark, family)

    def __init__(self) -> None:
        raise TypeError("build a key with ServiceKey.tcp(), .udp(), .sctp() or .fwmark()")

    @property
    def family(self) -> Family:
        """The service's address family."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> ServiceKey:
        """Parses the serde form: ``{"inet": {...}}`` or ``{"fwmark": {...}}``."""
        tag, v = _one(data, "service key")
        body = _dict(v, f"service key {tag!r}")
        if tag == "inet":
            return InetKey(_enum(Protocol, body.get("protocol"), "protocol"), body.get("addr"), body.get("port"))  # type: ignore[arg-type]
        if tag == "fwmark":
            return FwmarkKey(body.get("mark"), _enum(Family, body.get("family"), "family"))  # type: ignore[arg-type]
        raise ValueError(f"service key: unknown variant {tag!r}")

    def __str__(self) -> str:
        return _ipvs.display("service_key", self.to_json())


@dataclass(frozen=True, init=False, repr=False)
class InetKey(ServiceKey):
    """A service identified by protocol, virtual address and port."""

    protocol: Protocol
    addr: IPAddress
    port: int

    def __init__(self, protocol: Union[Protocol, str], addr: AddressLike, port: int) -> None:
        _set(self, "protocol", _enum(Protocol, protocol, "protocol"))
        _set(self, "addr", _addr(addr, "virtual address"))
        _set(self, "port", _u16(port, "port"))
        _norm("service_key", self.to_dict())

    @property
    def family(self) -> Family:
        return Family.IPV4 if self.addr.version == 4 else Family.IPV6

    def to_dict(self) -> Dict[str, Any]:
        return {"inet": {"protocol": self.protocol.value, "addr": str(self.addr), "port": self.port}}

    def __repr__(self) -> str:
        return f"ServiceKey.{self.protocol.value}({str(self.addr)!r}, {self.port})"


@dataclass(frozen=True, init=False, repr=False)
class FwmarkKey(ServiceKey):
    """A service identified by a firewall mark (non-zero) and an address family."""

    mark: int
    family: Family = Family.IPV4

    def __init__(self, mark: int, family: Union[Family, str] = Family.IPV4) -> None:
        _set(self, "mark", _u32(mark, "firewall mark"))
        _set(self, "family", _enum(Family, family, "family"))
        _norm("service_key", self.to_dict())

    def to_dict(self) -> Dict[str, Any]:
        return {"fwmark": {"family": self.family.value, "mark": self.mark}}

    def __repr__(self) -> str:
        fam = "" if self.family is Family.IPV4 else ", Family.IPV6"
        return f"ServiceKey.fwmark({self.mark}{fam})"


# ---------------------------------------------------------------- services


Netmask = Union[ipaddress.IPv4Address, int]


@dataclass(frozen=True, init=False, repr=False)
class Persistence(_Value):
    """Client affinity (``-p timeout -M netmask``).

    ``netmask`` is an IPv4 netmask for IPv4 services, a prefix length for
    IPv6 ones; ``None`` (the default) means per client address and is
    resolved when the :class:`Service` is built.
    """

    DEFAULT_TIMEOUT: ClassVar[int] = 300

    timeout: int
    netmask: Optional[Netmask]

    def __init__(
        self,
        timeout: int = 300,
        netmask: Union[ipaddress.IPv4Address, int, str, None] = None,
    ) -> None:
        _set(self, "timeout", _u32(timeout, "persistence timeout"))
        nm: Optional[Netmask]
        if netmask is None or isinstance(netmask, ipaddress.IPv4Address):
            nm = netmask
        elif isinstance(netmask, str):
            try:
                nm = ipaddress.IPv4Address(netmask)
            except ValueError:
                raise ValueError(f"netmask {netmask!r} is not an IPv4 netmask") from None
        else:
            nm = _int(netmask, "IPv6 prefix length", 0, 255)
        _set(self, "netmask", nm)

    def to_dict(self) -> Dict[str, Any]:
        if self.netmask is None:
            raise ValueError("the netmask of a persistence outside a Service is not resolved")
        nm: Dict[str, Any] = (
            {"v4": str(self.netmask)} if isinstance(self.netmask, ipaddress.IPv4Address) else {"v6": self.netmask}
        )
        return {"timeout": self.timeout, "netmask": nm}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Persistence:
        d = _dict(data, "persistence")
        tag, v = _one(d.get("netmask"), "netmask")
        if tag not in ("v4", "v6"):
            raise ValueError(f"netmask: unknown variant {tag!r}")
        return cls(d.get("timeout"), v)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        nm = "" if self.netmask is None else f", {str(self.netmask)!r}" if isinstance(self.netmask, ipaddress.IPv4Address) else f", {self.netmask}"
        return f"Persistence({self.timeout}{nm})"


def _full_netmask(family: Family) -> Netmask:
    return ipaddress.IPv4Address("255.255.255.255") if family is Family.IPV4 else 128


def _scheduler(value: object) -> Union[Scheduler, str]:
    if isinstance(value, Scheduler):
        return value
    if isinstance(value, str):
        for s in Scheduler:
            if s.value == value:
                return s
        return value  # another scheduler module; the core checks the name
    raise TypeError(f"scheduler must be a Scheduler or a string, not {type(value).__name__}")


@dataclass(frozen=True, init=False, repr=False)
class Service(_Value):
    """A virtual service: its key and configuration (ipvsadm's defaults: ``wlc``, no persistence)."""

    key: ServiceKey
    scheduler: Union[Scheduler, str]
    flags: ServiceFlags
    persistence: Optional[Persistence]
    pe: Optional[str]

    def __init__(
        self,
        key: ServiceKey,
        *,
        scheduler: Union[Scheduler, str] = Scheduler.WLC,
        flags: Union[ServiceFlags, int] = ServiceFlags(0),
        persistence: Union[Persistence, int, None] = None,
        pe: Optional[str] = None,
    ) -> None:
        if not isinstance(key, ServiceKey) or type(key) is ServiceKey:
            raise TypeError(f"key must be a ServiceKey, not {type(key).__name__}")
        _set(self, "key", key)
        _set(self, "scheduler", _scheduler(scheduler))
        _set(self, "flags", _flags(ServiceFlags, flags, "service flags"))
        if isinstance(persistence, int) and not isinstance(persistence, bool):
            persistence = Persistence(persistence)
        if persistence is not None:
            if not isinstance(persistence, Persistence):
                raise TypeError(f"persistence must be a Persistence, an int or None, not {type(persistence).__name__}")
            if persistence.netmask is None:
                persistence = Persistence(persistence.timeout, _full_netmask(key.family))
        _set(self, "persistence", persistence)
        if pe is not None and not isinstance(pe, str):
            raise TypeError(f"pe must be a string or None, not {type(pe).__name__}")
        _set(self, "pe", pe)
        _norm("service", self.to_dict())

    @property
    def scheduler_name(self) -> str:
        """The kernel's name of the scheduler."""
        return self.scheduler.value if isinstance(self.scheduler, Scheduler) else self.scheduler

    def to_dict(self) -> Dict[str, Any]:
        return {
            "key": self.key.to_dict(),
            "scheduler": self.scheduler_name,
            "flags": self.flags.value,
            "persistence": None if self.persistence is None else self.persistence.to_dict(),
            "pe": self.pe,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Service:
        d = _dict(data, "service")
        p = d.get("persistence")
        return cls(
            ServiceKey.from_dict(d.get("key")),  # type: ignore[arg-type]
            scheduler=d.get("scheduler", "wlc"),
            flags=d.get("flags", 0),
            persistence=None if p is None else Persistence.from_dict(p),
            pe=d.get("pe"),
        )

    def __repr__(self) -> str:
        parts = [repr(self.key)]
        if self.scheduler != Scheduler.WLC:
            parts.append(f"scheduler={self.scheduler!r}")
        if self.flags:
            parts.append(f"flags={self.flags!r}")
        if self.persistence is not None:
            parts.append(f"persistence={self.persistence!r}")
        if self.pe is not None:
            parts.append(f"pe={self.pe!r}")
        return f"Service({', '.join(parts)})"

    def __str__(self) -> str:
        """Reads like a service line of ``ipvsadm -Ln``."""
        return _ipvs.display("service", self.to_json())


# ---------------------------------------------------------------- destinations


@dataclass(frozen=True, init=False, repr=False)
class Destination(_Value):
    """A real server (ipvsadm's defaults: weight 1, direct routing, no thresholds).

    With ``forwarding=Forwarding.TUNNEL``, ``tunnel`` picks the encapsulation
    (``--tun-type``), ``tunnel_port`` the GUE port (``--tun-port``) and
    ``tunnel_flags`` the checksum options.
    """

    MAX_WEIGHT: ClassVar[int] = 2**31 - 1

    addr: IPAddress
    port: int
    forwarding: Forwarding
    weight: int
    upper_threshold: int
    lower_threshold: int
    tunnel: TunnelType
    tunnel_port: int
    tunnel_flags: EncapFlags

    def __init__(
        self,
        addr: AddressLike,
        port: int,
        *,
        forwarding: Union[Forwarding, str] = Forwarding.ROUTE,
        weight: int = 1,
        upper_threshold: int = 0,
        lower_threshold: int = 0,
        tunnel: Union[TunnelType, str] = TunnelType.IPIP,
        tunnel_port: int = 0,
        tunnel_flags: Union[EncapFlags, int] = EncapFlags(0),
    ) -> None:
        _set(self, "addr", _addr(addr, "real server address"))
        _set(self, "port", _u16(port, "port"))
        fwd = _enum(Forwarding, forwarding, "forwarding")
        _set(self, "forwarding", fwd)
        _set(self, "weight", _u32(weight, "weight"))
        _set(self, "upper_threshold", _u32(upper_threshold, "upper threshold"))
        _set(self, "lower_threshold", _u32(lower_threshold, "lower threshold"))
        tun = _enum(TunnelType, tunnel, "tunnel type")
        tport = _u16(tunnel_port, "tunnel port")
        tflags = _flags(EncapFlags, tunnel_flags, "tunnel flags")
        if fwd is not Forwarding.TUNNEL and (tun is not TunnelType.IPIP or tport or tflags):
            raise ValueError("tunnel options need forwarding=Forwarding.TUNNEL")
        if tun is not TunnelType.GUE and tport:
            raise ValueError("a tunnel port applies to GUE tunnels only")
        if tun is TunnelType.IPIP and tflags:
            raise ValueError("checksum options apply to GUE and GRE tunnels only")
        _set(self, "tunnel", tun)
        _set(self, "tunnel_port", tport)
        _set(self, "tunnel_flags", tflags)
        _norm("destination", self.to_dict())

    @property
    def family(self) -> Family:
        """The real server's address family."""
        return Family.IPV4 if self.addr.version == 4 else Family.IPV6

    def _forward_dict(self) -> Any:
        if self.forwarding is not Forwarding.TUNNEL:
            return self.forwarding.value
        if self.tunnel is TunnelType.IPIP:
            return {"tunnel": "ipip"}
        if self.tunnel is TunnelType.GUE:
            return {"tunnel": {"gue": {"port": self.tunnel_port, "flags": self.tunnel_flags.value}}}
        return {"tunnel": {"gre": {"flags": self.tunnel_flags.value}}}

    def to_dict(self) -> Dict[str, Any]:
        return {
            "addr": str(self.addr),
            "port": self.port,
            "forward": self._forward_dict(),
            "weight": self.weight,
            "upper_threshold": self.upper_threshold,
            "lower_threshold": self.lower_threshold,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Destination:
        d = _dict(data, "destination")
        tag, v = _one(d.get("forward", "directroute"), "forward")
        kw: Dict[str, Any] = {}
        if tag == "tunnel":
            ttag, tv = _one(v, "tunnel")
            kw["tunnel"] = _enum(TunnelType, ttag, "tunnel type")
            if tv is not None:
                body = _dict(tv, "tunnel")
                kw["tunnel_flags"] = body.get("flags", 0)
                if ttag == "gue":
                    kw["tunnel_port"] = body.get("port", 0)
        elif v is not None:
            raise ValueError(f"forward: variant {tag!r} takes no value")
        return cls(
            d.get("addr"),  # type: ignore[arg-type]
            d.get("port"),  # type: ignore[arg-type]
            forwarding=_enum(Forwarding, tag, "forward"),
            weight=d.get("weight", 1),
            upper_threshold=d.get("upper_threshold", 0),
            lower_threshold=d.get("lower_threshold", 0),
            **kw,
        )

    def __repr__(self) -> str:
        parts = [repr(str(self.addr)), str(self.port)]
        if self.forwarding is not Forwarding.ROUTE:
            parts.append(f"forwarding={self.forwarding!r}")
        if self.weight != 1:
            parts.append(f"weight={self.weight}")
        if self.upper_threshold:
            parts.append(f"upper_threshold={self.upper_threshold}")
        if self.lower_threshold:
            parts.append(f"lower_threshold={self.lower_threshold}")
        if self.tunnel is not TunnelType.IPIP:
            parts.append(f"tunnel={self.tunnel!r}")
        if self.tunnel_port:
            parts.append(f"tunnel_port={self.tunnel_port}")
        if self.tunnel_flags:
            parts.append(f"tunnel_flags={self.tunnel_flags!r}")
        return f"Destination({', '.join(parts)})"

    def __str__(self) -> str:
        return _ipvs.display("destination", self.to_json())


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

    @property
    def key(self) -> ServiceKey:
        """The service's key."""
        return self.service.key

    def to_dict(self) -> Dict[str, Any]:
        return {"service": self.service.to_dict(), "stats": self.stats.to_dict()}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> ServiceEntry:
        d = _dict(data, "service entry")
        return cls(Service.from_dict(d.get("service")), Stats.from_dict(d.get("stats", {})))  # type: ignore[arg-type]


@dataclass(frozen=True)
class DestinationEntry(_Value):
    """A destination as listed by the kernel: configuration, connection counts, counters."""

    destination: Destination
    active_conns: int = 0
    inactive_conns: int = 0
    persistent_conns: int = 0
    stats: Stats = field(default_factory=Stats)

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

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> DestinationEntry:
        d = _dict(data, "destination entry")
        return cls(
            Destination.from_dict(d.get("destination")),  # type: ignore[arg-type]
            _u32(d.get("active_conns", 0), "active_conns"),
            _u32(d.get("inactive_conns", 0), "inactive_conns"),
            _u32(d.get("persistent_conns", 0), "persistent_conns"),
            Stats.from_dict(d.get("stats", {})),
        )

    def __str__(self) -> str:
        """Reads like a destination line of ``ipvsadm -Ln``."""
        return _ipvs.display("destination_entry", self.to_json())


@dataclass(frozen=True)
class Timeouts(_Value):
    """Connection timeouts in seconds (``ipvsadm --set tcp tcpfin udp``); 0 keeps a value when setting."""

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
        return _ipvs.display("info", self.to_json())


@dataclass(frozen=True, init=False, repr=False)
class SyncDaemon(_Value):
    """A connection synchronisation daemon (``ipvsadm --start-daemon``); ``None`` keeps the kernel's default."""

    state: SyncState
    interface: str
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
        _norm("sync_daemon", self.to_dict())

    def to_dict(self) -> Dict[str, Any]:
        return {
            "state": self.state.value,
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
