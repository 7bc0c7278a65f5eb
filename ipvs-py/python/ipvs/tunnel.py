"""Tunnel devices, addresses, FOU/GUE ports, sysctls and real-server set-up.

The Python face of the core's ``lvskit::tunnel``. An LVS/TUN real server needs
a tunnel device holding the virtual IP (for GUE also a FOU receive port) and
sysctls that keep it from answering ARP for the VIP or dropping decapsulated
packets; an LVS/DR real server needs the VIP on ``lo`` or a dummy device. One
call does either and returns what it changed; the returned
:class:`Prepared` undoes exactly that::

    from ipvs import tunnel

    rs = tunnel.RealServer.tun(["203.0.113.10"])           # IP-in-IP on tunl0
    with tunnel.prepare(rs, namespace="rs1") as done:       # teardown on exit
        print(done.sysctls)                                 # what was changed
        ...

The building blocks are here too: :class:`Rtnl` (create, read, list, change
and delete ``ipip``, ``sit``, ``ip6tnl``, ``gre``, ``gretap``, ``ip6gre``,
``ip6gretap`` and dummy devices; up/down; MTU; addresses) and :class:`Fou`
(``ip fou add/del/show``). Values are frozen, hashable classes with
``to_dict``/``from_dict`` (``to_dict()`` keys are the constructor's keyword
arguments, a nested value its own dict, which the constructors also take:
``Cls(**value.to_dict())`` is an equal value); the core validates them when they are built
(:class:`ipvs.InvalidInputError`, a ``ValueError``, with the core's
message); kernel errors are :class:`ipvs.KernelError` subclasses (also
``OSError`` with ``errno``). Netlink I/O runs with the GIL released.
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Callable, Dict, Iterable, Iterator, List, Literal, Optional, Tuple, Type, Union

from . import _ipvs
from ._errors import InvalidInputError
from ._handle import NamespaceLike, _Closable, _namespace_args
from ._model import (
    AddressLike,
    IPAddress,
    _addr,
    _dict,
    _enum,
    _flags,
    _int,
    _ReprEnum,
    _ReprFlag,
    _set,
    _u16,
    _u32,
    _Value,
)

__all__ = [
    "IFNAME_MAX",
    "IFF_UP",
    "DeviceLike",
    "NetworkLike",
    "IPInterface",
    "TunnelKind",
    "InnerProto",
    "EncapType",
    "TunnelEncapFlags",
    "Encap",
    "TunnelConfig",
    "NewLink",
    "Link",
    "Address",
    "FouPort",
    "Rtnl",
    "Fou",
    "read_sysctl",
    "write_sysctl",
    "VipDeviceType",
    "RealServer",
    "SysctlChange",
    "Prepared",
    "prepare",
    "teardown",
]

IFNAME_MAX = 15
"""The longest interface name the kernel accepts (``IFNAMSIZ - 1``)."""

IFF_UP = 0x1
"""The ``IFF_UP`` bit of :attr:`Link.flags`."""

DeviceLike = Union[str, int]
"""A network device: its name or its interface index."""

IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
"""An address with its prefix length."""

NetworkLike = Union[str, ipaddress.IPv4Interface, ipaddress.IPv6Interface, ipaddress.IPv4Address, ipaddress.IPv6Address]
"""An address with a prefix (``"10.0.0.1/24"``, an ``ip_interface``); a bare address means ``/32`` or ``/128``."""


_trust = threading.local()


def _nested(cls: Any, value: Any) -> Any:
    """A nested value given as its dict (what ``to_dict()`` gives), built with ``from_dict``."""
    return cls.from_dict(value) if isinstance(value, dict) else value


def _tcheck(check: Callable[[Any], None], value: Any) -> None:
    """Runs one of the core's validators (not on what the kernel reported)."""
    if getattr(_trust, "depth", 0):
        return
    check(value)


@contextlib.contextmanager
def _kernel_values() -> Iterator[None]:
    """Builds values from the kernel's report: taken as they are, whatever a request would need."""
    _trust.depth = getattr(_trust, "depth", 0) + 1
    try:
        yield
    finally:
        _trust.depth -= 1


def _links(dicts: List[Dict[str, Any]]) -> List[Link]:
    with _kernel_values():
        return [Link.from_dict(d) for d in dicts]


def _opt_addr(value: object, what: str) -> Optional[IPAddress]:
    return None if value is None else _addr(value, what)


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {type(value).__name__}")
    return value


def _u8(value: object, what: str) -> int:
    return _int(value, what, 0, 255)


def _ifname(value: object, what: str = "interface name") -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _dev(dev: object) -> DeviceLike:
    if isinstance(dev, str):
        return dev
    if isinstance(dev, int) and not isinstance(dev, bool):
        return _int(dev, "interface index", 1, 0xFFFF_FFFF)
    raise TypeError(f"a device must be a name (str) or an interface index (int), not {type(dev).__name__}")


def _net(value: object) -> str:
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return str(value)
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return f"{value}/{value.max_prefixlen}"
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_interface(value))
        except ValueError:
            raise InvalidInputError(f"{value!r} is not an IP address with an optional prefix length", "checking the arguments") from None
    raise TypeError(f"an address must be a string, an ip_interface or an ip_address, not {type(value).__name__}")


def _repr(obj: object, positional: Tuple[str, ...], defaults: Dict[str, Any]) -> str:
    """``Class(pos..., name=value...)`` showing only the keyword fields that differ from their defaults."""

    def show(v: Any) -> str:
        if isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
            return repr(str(v))
        if isinstance(v, tuple):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return repr(v)

    parts = [show(getattr(obj, n)) for n in positional]
    for name, default in defaults.items():
        v = getattr(obj, name)
        if v != default:
            parts.append(f"{name}={show(v)}")
    return f"{type(obj).__name__}({', '.join(parts)})"


# ---------------------------------------------------------------- enums and flags


class TunnelKind(_ReprEnum):
    """The tunnel device kinds (``ip link add ... type KIND``)."""

    IPIP = "ipip"
    """IPv4 in IPv4 (module ``ipip``; fallback device ``tunl0``)."""
    SIT = "sit"
    """IPv6 in IPv4 (module ``sit``; fallback device ``sit0``)."""
    IP6TNL = "ip6tnl"
    """IPv4 or IPv6 in IPv6 (module ``ip6_tunnel``; fallback device ``ip6tnl0``)."""
    GRE = "gre"
    """GRE over IPv4 (module ``ip_gre``; fallback device ``gre0``)."""
    GRETAP = "gretap"
    """Ethernet over GRE over IPv4 (module ``ip_gre``)."""
    IP6GRE = "ip6gre"
    """GRE over IPv6 (module ``ip6_gre``; fallback device ``ip6gre0``)."""
    IP6GRETAP = "ip6gretap"
    """Ethernet over GRE over IPv6 (module ``ip6_gre``)."""

    @property
    def outer_is_v6(self) -> bool:
        """Whether the outer (carrying) addresses are IPv6."""
        return self in (TunnelKind.IP6TNL, TunnelKind.IP6GRE, TunnelKind.IP6GRETAP)

    @property
    def is_gre(self) -> bool:
        """Whether this is a GRE kind (keys apply)."""
        return self in (TunnelKind.GRE, TunnelKind.GRETAP, TunnelKind.IP6GRE, TunnelKind.IP6GRETAP)

    @property
    def fallback_device(self) -> Optional[str]:
        """The device the kernel creates by itself in every namespace, if any."""
        return {
            TunnelKind.IPIP: "tunl0",
            TunnelKind.SIT: "sit0",
            TunnelKind.IP6TNL: "ip6tnl0",
            TunnelKind.GRE: "gre0",
            TunnelKind.GRETAP: "gretap0",
            TunnelKind.IP6GRE: "ip6gre0",
        }.get(self)


class InnerProto(_ReprEnum):
    """The inner protocol (mode) of ``ipip``, ``sit`` and ``ip6tnl`` tunnels; other numbers are plain ints."""

    ANY = 0
    """Any supported inner protocol."""
    IPV4 = 4
    """IPv4 inside (``ipip``; ``ip6tnl`` mode ``ipip6``)."""
    IPV6 = 41
    """IPv6 inside (``sit`` mode ``ip6ip``; ``ip6tnl`` mode ``ip6ip6``)."""
    MPLS = 137
    """MPLS inside."""

    def __str__(self) -> str:
        return self.name.lower()

    def __int__(self) -> int:
        return int(self.value)


class EncapType(_ReprEnum):
    """The UDP encapsulation of a tunnel's sent packets."""

    FOU = "fou"
    """Foo-over-UDP: the inner packet right after the UDP header."""
    GUE = "gue"
    """Generic UDP Encapsulation (what IPVS's ``--tun-type gue`` sends)."""


class TunnelEncapFlags(_ReprFlag):
    """Checksum options of a tunnel's UDP encapsulation (not :class:`ipvs.EncapFlags`)."""

    CSUM = 1
    """UDP checksum over IPv4 (``encap-csum``)."""
    CSUM6 = 2
    """UDP checksum over IPv6 (``encap-udp6-csum``)."""
    REMCSUM = 4
    """Remote checksum offload (``encap-remcsum``, GUE only)."""


def _proto(value: object) -> Union[InnerProto, int, None]:
    if value is None or isinstance(value, InnerProto):
        return value
    if isinstance(value, str):
        return _enum(InnerProto, value, "inner protocol")
    n = _u8(value, "inner protocol")
    try:
        return InnerProto(n)
    except ValueError:
        return n


def _encap_kind(value: object) -> Union[EncapType, int]:
    """An encapsulation type; a number the library does not know stays an ``int``
    (so a device read from a newer kernel lists), and is refused when written."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        n = _u16(value, "encapsulation type")
        return {1: EncapType.FOU, 2: EncapType.GUE}.get(n, n)
    return _enum(EncapType, value, "encapsulation")


# ---------------------------------------------------------------- tunnel parameters


@dataclass(frozen=True, init=False, repr=False)
class Encap(_Value):
    """FOU/GUE encapsulation of a tunnel device (``encap gue encap-sport S encap-dport D``).

    ``sport`` ``None`` lets the kernel pick one per flow (``encap-sport auto``);
    ``dport`` is the receiver's FOU/GUE port.
    """

    kind: Union[EncapType, int]
    """The encapsulation; an ``int`` for a type the library does not know (read only)."""
    dport: int
    sport: Optional[int]
    flags: TunnelEncapFlags

    def __init__(
        self,
        kind: Union[EncapType, str, int],
        dport: int,
        *,
        sport: Optional[int] = None,
        flags: Union[TunnelEncapFlags, int] = TunnelEncapFlags(0),
    ) -> None:
        _set(self, "kind", _encap_kind(kind))
        _set(self, "dport", _u16(dport, "encapsulation destination port"))
        _set(self, "sport", None if sport is None else _u16(sport, "encapsulation source port"))
        _set(self, "flags", _flags(TunnelEncapFlags, flags, "encapsulation flags"))

    @classmethod
    def gue(cls, dport: int, *, sport: Optional[int] = None, flags: Union[TunnelEncapFlags, int] = TunnelEncapFlags(0)) -> Encap:
        """GUE to ``dport``."""
        return cls(EncapType.GUE, dport, sport=sport, flags=flags)

    @classmethod
    def fou(cls, dport: int, *, sport: Optional[int] = None, flags: Union[TunnelEncapFlags, int] = TunnelEncapFlags(0)) -> Encap:
        """FOU to ``dport``."""
        return cls(EncapType.FOU, dport, sport=sport, flags=flags)

    def to_dict(self) -> Dict[str, Any]:
        kind = self.kind.value if isinstance(self.kind, EncapType) else str(self.kind)
        return {"kind": kind, "sport": self.sport, "dport": self.dport, "flags": self.flags.value}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Encap:
        d = _dict(data, "encapsulation")
        return cls(d.get("kind"), d.get("dport"), sport=d.get("sport"), flags=d.get("flags", 0))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return _repr(self, ("kind", "dport"), {"sport": None, "flags": TunnelEncapFlags(0)})


_DEFAULT: Literal["default"] = "default"


@dataclass(frozen=True, init=False, repr=False)
class TunnelConfig(_Value):
    """The parameters of a tunnel device; the defaults are the kernel's.

    A value describes the device completely: :meth:`Rtnl.set_tunnel` replaces
    every parameter, so change a device by reading its config
    (``rtnl.link(name).tunnel``), changing it with :func:`dataclasses.replace`
    and setting it back. ``encap_limit`` ``"default"`` is 4 for IPv6 kinds
    (as ``ip`` sets it) and ``None`` for IPv4 kinds. Zero ``ttl`` inherits,
    zero ``link`` binds no underlying device.
    """

    kind: TunnelKind
    local: Optional[IPAddress]
    remote: Optional[IPAddress]
    ttl: int
    tos: int
    pmtudisc: bool
    link: int
    proto: Union[InnerProto, int, None]
    encap_limit: Optional[int]
    flowinfo: int
    ip6_flags: int
    ikey: Optional[int]
    okey: Optional[int]
    icsum: bool
    ocsum: bool
    iseq: bool
    oseq: bool
    encap: Optional[Encap]

    def __init__(
        self,
        kind: Union[TunnelKind, str],
        *,
        local: Optional[AddressLike] = None,
        remote: Optional[AddressLike] = None,
        ttl: int = 0,
        tos: int = 0,
        pmtudisc: bool = True,
        link: int = 0,
        proto: Union[InnerProto, int, str, None] = None,
        encap_limit: Union[int, None, Literal["default"]] = _DEFAULT,
        flowinfo: int = 0,
        ip6_flags: int = 0,
        ikey: Optional[int] = None,
        okey: Optional[int] = None,
        icsum: bool = False,
        ocsum: bool = False,
        iseq: bool = False,
        oseq: bool = False,
        encap: Union[Encap, Dict[str, Any], None] = None,
    ) -> None:
        k = _enum(TunnelKind, kind, "tunnel kind")
        _set(self, "kind", k)
        _set(self, "local", _opt_addr(local, "local address"))
        _set(self, "remote", _opt_addr(remote, "remote address"))
        _set(self, "ttl", _u8(ttl, "ttl"))
        _set(self, "tos", _u8(tos, "tos"))
        _set(self, "pmtudisc", _bool(pmtudisc, "pmtudisc"))
        _set(self, "link", _u32(link, "link"))
        _set(self, "proto", _proto(proto))
        if encap_limit == _DEFAULT:
            limit: Optional[int] = 4 if k.outer_is_v6 else None
        else:
            limit = None if encap_limit is None else _u8(encap_limit, "encap_limit")
        _set(self, "encap_limit", limit)
        _set(self, "flowinfo", _u32(flowinfo, "flowinfo"))
        _set(self, "ip6_flags", _u32(ip6_flags, "ip6_flags"))
        _set(self, "ikey", None if ikey is None else _u32(ikey, "ikey"))
        _set(self, "okey", None if okey is None else _u32(okey, "okey"))
        for flag, on in (("icsum", icsum), ("ocsum", ocsum), ("iseq", iseq), ("oseq", oseq)):
            _set(self, flag, _bool(on, flag))
        encap = _nested(Encap, encap)
        if encap is not None and not isinstance(encap, Encap):
            raise TypeError(f"encap must be an Encap or None, not {type(encap).__name__}")
        _set(self, "encap", encap)
        _tcheck(_ipvs.check_tunnel_config, self.to_dict())

    def to_dict(self) -> Dict[str, Any]:
        return {
            "kind": self.kind.value,
            "local": None if self.local is None else str(self.local),
            "remote": None if self.remote is None else str(self.remote),
            "ttl": self.ttl,
            "tos": self.tos,
            "pmtudisc": self.pmtudisc,
            "link": self.link,
            "proto": None if self.proto is None else int(self.proto),
            "encap_limit": self.encap_limit,
            "flowinfo": self.flowinfo,
            "ip6_flags": self.ip6_flags,
            "ikey": self.ikey,
            "okey": self.okey,
            "icsum": self.icsum,
            "ocsum": self.ocsum,
            "iseq": self.iseq,
            "oseq": self.oseq,
            "encap": None if self.encap is None else self.encap.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> TunnelConfig:
        d = _dict(data, "tunnel parameters")
        e = d.get("encap")
        return cls(
            d.get("kind"),  # type: ignore[arg-type]
            local=d.get("local"),
            remote=d.get("remote"),
            ttl=d.get("ttl", 0),
            tos=d.get("tos", 0),
            pmtudisc=d.get("pmtudisc", True),
            link=d.get("link", 0),
            proto=d.get("proto"),
            encap_limit=d.get("encap_limit", _DEFAULT),
            flowinfo=d.get("flowinfo", 0),
            ip6_flags=d.get("ip6_flags", 0),
            ikey=d.get("ikey"),
            okey=d.get("okey"),
            icsum=d.get("icsum", False),
            ocsum=d.get("ocsum", False),
            iseq=d.get("iseq", False),
            oseq=d.get("oseq", False),
            encap=None if e is None else Encap.from_dict(e),
        )

    def __repr__(self) -> str:
        return _repr(
            self,
            ("kind",),
            {
                "local": None,
                "remote": None,
                "ttl": 0,
                "tos": 0,
                "pmtudisc": True,
                "link": 0,
                "proto": None,
                "encap_limit": 4 if self.kind.outer_is_v6 else None,
                "flowinfo": 0,
                "ip6_flags": 0,
                "ikey": None,
                "okey": None,
                "icsum": False,
                "ocsum": False,
                "iseq": False,
                "oseq": False,
                "encap": None,
            },
        )


@dataclass(frozen=True, init=False, repr=False)
class NewLink(_Value):
    """A device to create: a tunnel (``tunnel`` set) or a dummy device (``tunnel`` ``None``)."""

    name: str
    tunnel: Optional[TunnelConfig]
    mtu: Optional[int]
    up: bool

    def __init__(self, name: str, tunnel: Union[TunnelConfig, Dict[str, Any], None] = None, *, mtu: Optional[int] = None, up: bool = False) -> None:
        _set(self, "name", _ifname(name))
        tunnel = _nested(TunnelConfig, tunnel)
        if tunnel is not None and not isinstance(tunnel, TunnelConfig):
            raise TypeError(f"tunnel must be a TunnelConfig or None, not {type(tunnel).__name__}")
        _set(self, "tunnel", tunnel)
        _set(self, "mtu", None if mtu is None else _u32(mtu, "MTU"))
        _set(self, "up", _bool(up, "up"))
        _tcheck(_ipvs.check_new_link, self.to_dict())

    @classmethod
    def tunnel_device(cls, name: str, config: TunnelConfig, *, mtu: Optional[int] = None, up: bool = False) -> NewLink:
        """A tunnel device."""
        return cls(name, config, mtu=mtu, up=up)

    @classmethod
    def dummy(cls, name: str, *, mtu: Optional[int] = None, up: bool = False) -> NewLink:
        """A dummy device (e.g. to hold an LVS/DR VIP)."""
        return cls(name, None, mtu=mtu, up=up)

    @property
    def kind(self) -> str:
        """The link kind string (``ipip``, ..., ``dummy``)."""
        return "dummy" if self.tunnel is None else self.tunnel.kind.value

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "mtu": self.mtu,
            "up": self.up,
            "tunnel": None if self.tunnel is None else self.tunnel.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> NewLink:
        d = _dict(data, "new link")
        t = d.get("tunnel")
        return cls(d.get("name"), None if t is None else TunnelConfig.from_dict(t), mtu=d.get("mtu"), up=d.get("up", False))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return _repr(self, ("name",), {"tunnel": None, "mtu": None, "up": False})


@dataclass(frozen=True, init=False, repr=False)
class Link(_Value):
    """A network device as the kernel reports it.

    ``name`` is for display: exact when the kernel's name is UTF-8, else
    lossy (U+FFFD); ``raw_name`` holds the exact bytes (address such a device
    by its index). ``kind_data`` is the raw parameters of a kind the library
    does not decode; ``unknown_attrs`` the tunnel attributes it does not know,
    as ``(type, payload)``.
    """

    index: int
    name: str
    kind: Optional[str]
    mtu: int
    flags: int
    link: Optional[int]
    tunnel: Optional[TunnelConfig]
    raw_name: bytes
    kind_data: Optional[bytes]
    unknown_attrs: Tuple[Tuple[int, bytes], ...]

    def __init__(
        self,
        index: int,
        name: str,
        *,
        kind: Optional[str] = None,
        mtu: int = 0,
        flags: int = 0,
        link: Optional[int] = None,
        tunnel: Union[TunnelConfig, Dict[str, Any], None] = None,
        raw_name: Optional[bytes] = None,
        kind_data: Optional[bytes] = None,
        unknown_attrs: Iterable[Tuple[int, bytes]] = (),
    ) -> None:
        _set(self, "index", _u32(index, "interface index"))
        _set(self, "name", _ifname(name))
        _set(self, "raw_name", name.encode() if raw_name is None else bytes(raw_name))
        _set(self, "kind_data", None if kind_data is None else bytes(kind_data))
        _set(self, "unknown_attrs", tuple((_u16(t, "attribute type"), bytes(p)) for t, p in unknown_attrs))
        if kind is not None and not isinstance(kind, str):
            raise TypeError(f"kind must be a string or None, not {type(kind).__name__}")
        _set(self, "kind", kind)
        _set(self, "mtu", _u32(mtu, "MTU"))
        _set(self, "flags", _u32(flags, "flags"))
        _set(self, "link", None if link is None else _u32(link, "link"))
        tunnel = _nested(TunnelConfig, tunnel)
        if tunnel is not None and not isinstance(tunnel, TunnelConfig):
            raise TypeError(f"tunnel must be a TunnelConfig or None, not {type(tunnel).__name__}")
        _set(self, "tunnel", tunnel)

    @property
    def is_up(self) -> bool:
        """Whether the device is administratively up."""
        return bool(self.flags & IFF_UP)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "kind": self.kind,
            "mtu": self.mtu,
            "flags": self.flags,
            "link": self.link,
            "tunnel": None if self.tunnel is None else self.tunnel.to_dict(),
            "raw_name": list(self.raw_name),
            "kind_data": None if self.kind_data is None else list(self.kind_data),
            "unknown_attrs": [[t, list(p)] for t, p in self.unknown_attrs],
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Link:
        d = _dict(data, "link")
        t = d.get("tunnel")
        return cls(
            d.get("index"),  # type: ignore[arg-type]
            d.get("name"),  # type: ignore[arg-type]
            kind=d.get("kind"),
            mtu=d.get("mtu", 0),
            flags=d.get("flags", 0),
            link=d.get("link"),
            tunnel=None if t is None else TunnelConfig.from_dict(t),
            raw_name=None if d.get("raw_name") is None else bytes(d["raw_name"]),
            kind_data=None if d.get("kind_data") is None else bytes(d["kind_data"]),
            unknown_attrs=[(int(t), bytes(p)) for t, p in d.get("unknown_attrs", [])],
        )

    def __repr__(self) -> str:
        return _repr(
            self,
            ("index", "name"),
            {"kind": None, "mtu": 0, "flags": 0, "link": None, "tunnel": None, "kind_data": None, "unknown_attrs": ()},
        )


@dataclass(frozen=True, init=False, repr=False)
class Address(_Value):
    """An interface address as the kernel reports it (``scope``: 0 global, 253 link, 254 host)."""

    index: int
    addr: IPAddress
    prefix_len: int
    scope: int
    flags: int
    label: Optional[str]

    def __init__(
        self,
        index: int,
        addr: AddressLike,
        prefix_len: int,
        *,
        scope: int = 0,
        flags: int = 0,
        label: Optional[str] = None,
    ) -> None:
        _set(self, "index", _u32(index, "interface index"))
        a = _addr(addr, "address")
        _set(self, "addr", a)
        _set(self, "prefix_len", _int(prefix_len, "prefix length", 0, a.max_prefixlen))
        _set(self, "scope", _u8(scope, "scope"))
        _set(self, "flags", _u32(flags, "flags"))
        if label is not None and not isinstance(label, str):
            raise TypeError(f"label must be a string or None, not {type(label).__name__}")
        _set(self, "label", label)

    @property
    def interface(self) -> IPInterface:
        """The address with its prefix, e.g. ``IPv4Interface('10.0.0.1/24')``."""
        return ipaddress.ip_interface(f"{self.addr}/{self.prefix_len}")

    def to_dict(self) -> Dict[str, Any]:
        return {
            "index": self.index,
            "addr": str(self.addr),
            "prefix_len": self.prefix_len,
            "scope": self.scope,
            "flags": self.flags,
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Address:
        d = _dict(data, "address")
        return cls(
            d.get("index"),  # type: ignore[arg-type]
            d.get("addr"),  # type: ignore[arg-type]
            d.get("prefix_len"),  # type: ignore[arg-type]
            scope=d.get("scope", 0),
            flags=d.get("flags", 0),
            label=d.get("label"),
        )

    def __repr__(self) -> str:
        return f"Address({self.index}, {str(self.interface)!r}" + (f", label={self.label!r})" if self.label else ")")


@dataclass(frozen=True, init=False, repr=False)
class FouPort(_Value):
    """A FOU/GUE receive port (``ip fou add port P gue`` or ``... ipproto N``).

    ``ipproto`` ``None`` is a GUE port; otherwise a direct FOU port carrying
    that IP protocol (4 for IP-in-IP). ``ipv6`` listens on IPv6 (module
    ``fou6``). ``local``, ``peer``, ``peer_port`` and ``ifindex`` narrow it.
    """

    port: int
    ipproto: Optional[int]
    ipv6: bool
    local: Optional[IPAddress]
    peer: Optional[IPAddress]
    peer_port: Optional[int]
    ifindex: Optional[int]

    def __init__(
        self,
        port: int,
        *,
        ipproto: Optional[int] = None,
        ipv6: bool = False,
        local: Optional[AddressLike] = None,
        peer: Optional[AddressLike] = None,
        peer_port: Optional[int] = None,
        ifindex: Optional[int] = None,
    ) -> None:
        _set(self, "port", _u16(port, "FOU port"))
        _set(self, "ipproto", None if ipproto is None else _u8(ipproto, "IP protocol"))
        _set(self, "ipv6", _bool(ipv6, "ipv6"))
        _set(self, "local", _opt_addr(local, "local address"))
        _set(self, "peer", _opt_addr(peer, "peer address"))
        _set(self, "peer_port", None if peer_port is None else _u16(peer_port, "peer port"))
        _set(self, "ifindex", None if ifindex is None else _int(ifindex, "ifindex", -(2**31), 2**31 - 1))
        _tcheck(_ipvs.check_fou_port, self.to_dict())

    @classmethod
    def gue(cls, port: int) -> FouPort:
        """A GUE receive port (IPv4)."""
        return cls(port)

    @classmethod
    def direct(cls, port: int, ipproto: int) -> FouPort:
        """A direct FOU receive port carrying ``ipproto`` (IPv4)."""
        return cls(port, ipproto=ipproto)

    def v6(self) -> FouPort:
        """The same port on IPv6."""
        return FouPort(
            self.port,
            ipproto=self.ipproto,
            ipv6=True,
            local=self.local,
            peer=self.peer,
            peer_port=self.peer_port,
            ifindex=self.ifindex,
        )

    @property
    def is_gue(self) -> bool:
        """Whether this is a GUE port (not a direct FOU one)."""
        return self.ipproto is None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "port": self.port,
            "ipv6": self.ipv6,
            "ipproto": self.ipproto,
            "local": None if self.local is None else str(self.local),
            "peer": None if self.peer is None else str(self.peer),
            "peer_port": self.peer_port,
            "ifindex": self.ifindex,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> FouPort:
        d = _dict(data, "FOU port")
        return cls(
            d.get("port"),  # type: ignore[arg-type]
            ipproto=d.get("ipproto"),
            ipv6=d.get("ipv6", False),
            local=d.get("local"),
            peer=d.get("peer"),
            peer_port=d.get("peer_port"),
            ifindex=d.get("ifindex"),
        )

    def __repr__(self) -> str:
        return _repr(
            self,
            ("port",),
            {"ipproto": None, "ipv6": False, "local": None, "peer": None, "peer_port": None, "ifindex": None},
        )


# ---------------------------------------------------------------- handles


class Rtnl(_Closable):
    """A handle on the links and addresses of one network namespace (rtnetlink).

    ``namespace`` is given as for :class:`ipvs.Ipvs` (``None``, an ``ip netns``
    name, a path, an open fd). A context manager; may be shared between
    threads (requests are serialised, the GIL is released meanwhile).
    Devices are named by name (``str``) or interface index (``int``).
    """

    _NAME = "ipvs.tunnel.Rtnl"

    def __init__(self, namespace: NamespaceLike = None, *, timeout: Optional[float] = None) -> None:
        name, path, fd = _namespace_args(namespace)
        self._h = _ipvs.RtnlHandle(name=name, path=path, fd=fd)
        self._namespace = namespace
        if timeout is not None:
            self.set_timeout(timeout)

    def set_timeout(self, seconds: float) -> None:
        """Bounds every wait for the kernel's reply (default 30 s)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"timeout must be a number of seconds, not {type(seconds).__name__}")
        self._h.set_timeout(float(seconds))

    def add_link(self, new: NewLink) -> Link:
        """Creates a device and returns it as the kernel reports it.

        Raises :class:`ipvs.ExistsError` if the name is taken,
        :class:`ipvs.ModuleMissingError` if the kind's module is missing.
        """
        if not isinstance(new, NewLink):
            raise TypeError(f"new must be a NewLink, not {type(new).__name__}")
        (link,) = _links([self._h.add_link(new.to_dict())])
        return link

    def link(self, dev: DeviceLike) -> Optional[Link]:
        """Reads one device; ``None`` when there is none of that name or index."""
        d = self._h.link(_dev(dev))
        return None if d is None else _links([d])[0]

    def links(self) -> List[Link]:
        """Lists every device."""
        return _links(self._h.links(False))

    def tunnels(self) -> List[Link]:
        """Lists the tunnel devices (every :class:`TunnelKind`)."""
        return _links(self._h.links(True))

    def set_tunnel(self, dev: DeviceLike, config: TunnelConfig) -> None:
        """Replaces every tunnel parameter of a tunnel device.

        Fallback devices (``tunl0``, ...) refuse: :class:`ipvs.InvalidArgumentError`.
        """
        if not isinstance(config, TunnelConfig):
            raise TypeError(f"config must be a TunnelConfig, not {type(config).__name__}")
        self._h.set_tunnel(_dev(dev), config.to_dict())

    def set_up(self, dev: DeviceLike, up: bool = True) -> None:
        """Brings a device up (or down with ``up=False``)."""
        self._h.set_up(_dev(dev), _bool(up, "up"))

    def set_mtu(self, dev: DeviceLike, mtu: int) -> None:
        """Sets a device's MTU (at least 68; the kernel may refuse more)."""
        self._h.set_mtu(_dev(dev), _u32(mtu, "MTU"))

    def del_link(self, dev: DeviceLike) -> None:
        """Deletes a device. Raises :class:`ipvs.NotFoundError` without it."""
        self._h.del_link(_dev(dev))

    def add_address(self, dev: DeviceLike, address: NetworkLike) -> None:
        """Adds an address (a bare address is ``/32`` or ``/128``, as a VIP)."""
        self._h.add_address(_dev(dev), _net(address))

    def del_address(self, dev: DeviceLike, address: NetworkLike) -> None:
        """Removes an address. Raises :class:`ipvs.NotFoundError` when it is not there."""
        self._h.del_address(_dev(dev), _net(address))

    def addresses(self, dev: Optional[DeviceLike] = None) -> List[Address]:
        """Lists the addresses of one device, or of all."""
        return [Address.from_dict(d) for d in self._h.addresses(None if dev is None else _dev(dev))]


class Fou(_Closable):
    """A handle on the FOU/GUE receive ports of one namespace (``ip fou``).

    Raises :class:`ipvs.ModuleMissingError` when the ``fou`` module is not loaded.
    """

    _NAME = "ipvs.tunnel.Fou"

    def __init__(self, namespace: NamespaceLike = None) -> None:
        name, path, fd = _namespace_args(namespace)
        self._h = _ipvs.FouHandle(name=name, path=path, fd=fd)
        self._namespace = namespace

    def add(self, port: FouPort) -> None:
        """Adds a receive port (``ip fou add``); :class:`ipvs.ExistsError` if taken."""
        if not isinstance(port, FouPort):
            raise TypeError(f"port must be a FouPort, not {type(port).__name__}")
        self._h.add(port.to_dict())

    def delete(self, port: FouPort) -> None:
        """Removes a receive port (``ip fou del``); :class:`ipvs.NotFoundError` without it."""
        if not isinstance(port, FouPort):
            raise TypeError(f"port must be a FouPort, not {type(port).__name__}")
        self._h.delete(port.to_dict())

    def list(self) -> List[FouPort]:
        """Lists the receive ports (``ip fou show``)."""
        with _kernel_values():
            return [FouPort.from_dict(d) for d in self._h.list()]


# ---------------------------------------------------------------- sysctls


def read_sysctl(path: str, *, namespace: NamespaceLike = None) -> str:
    """Reads a sysctl of a namespace, e.g. ``net/ipv4/conf/all/arp_ignore`` (a path under ``/proc/sys``)."""
    if not isinstance(path, str):
        raise TypeError(f"sysctl path must be a string, not {type(path).__name__}")
    name, ns_path, fd = _namespace_args(namespace)
    return _ipvs.sysctl_read(path, name=name, ns_path=ns_path, fd=fd)


def write_sysctl(path: str, value: Union[str, int], *, namespace: NamespaceLike = None) -> None:
    """Writes a sysctl of a namespace; :class:`ipvs.SystemCallError` when the kernel refuses."""
    if not isinstance(path, str):
        raise TypeError(f"sysctl path must be a string, not {type(path).__name__}")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"sysctl value must be a string or an int, not {type(value).__name__}")
    name, ns_path, fd = _namespace_args(namespace)
    _ipvs.sysctl_write(path, str(value), name=name, ns_path=ns_path, fd=fd)


# ---------------------------------------------------------------- real servers


class VipDeviceType(_ReprEnum):
    """Where a real server's VIPs go."""

    TUNNEL = "tunnel"
    """A tunnel device (LVS/TUN), created if missing."""
    LOOPBACK = "loopback"
    """``lo`` (LVS/DR)."""
    DUMMY = "dummy"
    """A dummy device (LVS/DR), created if missing."""


def _vips(vips: Union[AddressLike, Iterable[AddressLike]]) -> Tuple[IPAddress, ...]:
    if isinstance(vips, (str, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return (_addr(vips, "VIP"),)
    return tuple(_addr(v, "VIP") for v in vips)


@dataclass(frozen=True, init=False, repr=False)
class RealServer(_Value):
    """What an LVS/TUN or LVS/DR real server needs; build one with :meth:`tun`,
    :meth:`tun_device`, :meth:`dr` or :meth:`dr_dummy`, then :func:`prepare` it.

    ``arp`` sets ``arp_ignore=1`` and ``arp_announce=2`` (on ``conf/all`` and
    the device; only with an IPv4 VIP); ``rp_filter_off`` sets ``rp_filter=0``
    on the device and ``conf/all`` (default for tunnels).
    """

    device_type: VipDeviceType
    device: str
    tunnel: Optional[TunnelConfig]
    vips: Tuple[IPAddress, ...]
    fou: Optional[FouPort]
    arp: bool
    rp_filter_off: bool

    def __init__(
        self,
        device_type: Union[VipDeviceType, str],
        device: str,
        vips: Union[AddressLike, Iterable[AddressLike]],
        *,
        tunnel: Union[TunnelConfig, Dict[str, Any], None] = None,
        fou: Union[FouPort, Dict[str, Any], None] = None,
        arp: bool = True,
        rp_filter_off: Optional[bool] = None,
    ) -> None:
        t = _enum(VipDeviceType, device_type, "device type")
        _set(self, "device_type", t)
        _set(self, "device", _ifname(device, "device"))
        if t is VipDeviceType.TUNNEL and tunnel is None:
            tunnel = TunnelConfig(TunnelKind.IPIP)
        tunnel = _nested(TunnelConfig, tunnel)
        if tunnel is not None and not isinstance(tunnel, TunnelConfig):
            raise TypeError(f"tunnel must be a TunnelConfig or None, not {type(tunnel).__name__}")
        _set(self, "tunnel", tunnel)
        _set(self, "vips", _vips(vips))
        fou = _nested(FouPort, fou)
        if fou is not None and not isinstance(fou, FouPort):
            raise TypeError(f"fou must be a FouPort or None, not {type(fou).__name__}")
        _set(self, "fou", fou)
        _set(self, "arp", _bool(arp, "arp"))
        rp = t is VipDeviceType.TUNNEL if rp_filter_off is None else _bool(rp_filter_off, "rp_filter_off")
        _set(self, "rp_filter_off", rp)
        _tcheck(_ipvs.check_real_server, self.to_dict())

    @classmethod
    def tun(cls, vips: Union[AddressLike, Iterable[AddressLike]], *, fou: Optional[FouPort] = None) -> RealServer:
        """LVS/TUN on the kernel's fallback tunnel device for the VIPs' family.

        IPv4 VIPs go on ``tunl0`` (IPv4-in-IPv4), IPv6 VIPs on ``ip6tnl0``
        (``ip6tnl`` mode ``ip6ip6``: IPv6-in-IPv6, what IPVS sends for an IPv6
        service). IPv4 and IPv6 VIPs together are refused
        (:class:`ipvs.InvalidInputError`): prepare one real server per family.
        """
        addrs = _vips(vips)
        if addrs and all(a.version == 6 for a in addrs):
            cfg = TunnelConfig(TunnelKind.IP6TNL, proto=InnerProto.IPV6)
            return cls(VipDeviceType.TUNNEL, "ip6tnl0", addrs, tunnel=cfg, fou=fou)
        return cls(VipDeviceType.TUNNEL, "tunl0", addrs, tunnel=TunnelConfig(TunnelKind.IPIP), fou=fou)

    @classmethod
    def tun_device(
        cls,
        name: str,
        config: TunnelConfig,
        vips: Union[AddressLike, Iterable[AddressLike]],
        *,
        fou: Optional[FouPort] = None,
    ) -> RealServer:
        """LVS/TUN on the tunnel device ``name``, created with ``config`` if missing."""
        return cls(VipDeviceType.TUNNEL, name, vips, tunnel=config, fou=fou)

    @classmethod
    def dr(cls, vips: Union[AddressLike, Iterable[AddressLike]]) -> RealServer:
        """LVS/DR with the VIPs on ``lo``."""
        return cls(VipDeviceType.LOOPBACK, "lo", vips)

    @classmethod
    def dr_dummy(cls, name: str, vips: Union[AddressLike, Iterable[AddressLike]]) -> RealServer:
        """LVS/DR with the VIPs on the dummy device ``name`` (created if missing)."""
        return cls(VipDeviceType.DUMMY, name, vips)

    def with_fou(self, port: FouPort) -> RealServer:
        """The same, also adding the FOU/GUE receive port ``port``."""
        return RealServer(
            self.device_type,
            self.device,
            self.vips,
            tunnel=self.tunnel,
            fou=port,
            arp=self.arp,
            rp_filter_off=self.rp_filter_off,
        )

    def wanted_sysctls(self) -> List[Tuple[str, str]]:
        """The ``(path, value)`` sysctls :func:`prepare` sets, in order."""
        return list(_ipvs.rs_wanted_sysctls(self.to_dict()))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "device_type": self.device_type.value,
            "device": self.device,
            "tunnel": None if self.tunnel is None else self.tunnel.to_dict(),
            "vips": [str(v) for v in self.vips],
            "fou": None if self.fou is None else self.fou.to_dict(),
            "arp": self.arp,
            "rp_filter_off": self.rp_filter_off,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> RealServer:
        d = _dict(data, "real server")
        t, f = d.get("tunnel"), d.get("fou")
        return cls(
            d.get("device_type"),  # type: ignore[arg-type]
            d.get("device"),  # type: ignore[arg-type]
            d.get("vips", []),
            tunnel=None if t is None else TunnelConfig.from_dict(t),
            fou=None if f is None else FouPort.from_dict(f),
            arp=d.get("arp", True),
            rp_filter_off=d.get("rp_filter_off"),
        )

    def __repr__(self) -> str:
        return _repr(
            self,
            ("device_type", "device", "vips"),
            {"tunnel": None, "fou": None, "arp": True, "rp_filter_off": self.device_type is VipDeviceType.TUNNEL},
        )


@dataclass(frozen=True)
class SysctlChange:
    """One sysctl :func:`prepare` changed: its path under ``/proc/sys``, the value before and the value written."""

    path: str
    before: str
    after: str

    def to_dict(self) -> Dict[str, str]:
        """The constructor's keyword arguments."""
        return {"path": self.path, "before": self.before, "after": self.after}

    @classmethod
    def from_dict(cls, data: Dict[str, str]) -> SysctlChange:
        """The inverse of :meth:`to_dict`."""
        return cls(**_dict(data, "sysctl change"))


@dataclass(frozen=True, init=False, repr=False)
class Prepared(_Value):
    """What :func:`prepare` changed, and the way back: :meth:`teardown` undoes exactly that.

    Also a context manager: ``with prepare(rs) as done:`` tears down on exit.
    """

    namespace: NamespaceLike
    device: str
    created_device: bool
    brought_up: bool
    addresses: Tuple[IPInterface, ...]
    sysctls: Tuple[SysctlChange, ...]
    fou: Optional[FouPort]

    def __init__(
        self,
        device: str,
        *,
        namespace: NamespaceLike = None,
        created_device: bool = False,
        brought_up: bool = False,
        addresses: Iterable[NetworkLike] = (),
        sysctls: Iterable[Union[SysctlChange, Dict[str, str]]] = (),
        fou: Union[FouPort, Dict[str, Any], None] = None,
    ) -> None:
        _namespace_args(namespace)  # type check
        _set(self, "namespace", namespace)
        _set(self, "device", _ifname(device, "device"))
        _set(self, "created_device", _bool(created_device, "created_device"))
        _set(self, "brought_up", _bool(brought_up, "brought_up"))
        _set(self, "addresses", tuple(ipaddress.ip_interface(_net(a)) for a in addresses))
        changes = tuple(SysctlChange(**c) if isinstance(c, dict) else c for c in sysctls)
        for c in changes:
            if not isinstance(c, SysctlChange):
                raise TypeError(f"sysctls must be SysctlChange values, not {type(c).__name__}")
        _set(self, "sysctls", changes)
        fou = _nested(FouPort, fou)
        if fou is not None and not isinstance(fou, FouPort):
            raise TypeError(f"fou must be a FouPort or None, not {type(fou).__name__}")
        _set(self, "fou", fou)

    @property
    def is_empty(self) -> bool:
        """Whether nothing was changed."""
        return not (self.created_device or self.brought_up or self.addresses or self.sysctls or self.fou)

    def teardown(self) -> None:
        """Undoes what was recorded (see :func:`teardown`)."""
        teardown(self)

    def __enter__(self) -> Prepared:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.teardown()

    def to_dict(self) -> Dict[str, Any]:
        """The record; ``namespace`` is kept only when it is a name, a path or an fd."""
        ns: Any = self.namespace
        if ns is not None and not isinstance(ns, (str, int)):
            ns = str(ns)
        return {
            "namespace": ns,
            "device": self.device,
            "created_device": self.created_device,
            "brought_up": self.brought_up,
            "addresses": [str(a) for a in self.addresses],
            "sysctls": [{"path": c.path, "before": c.before, "after": c.after} for c in self.sysctls],
            "fou": None if self.fou is None else self.fou.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Prepared:
        d = _dict(data, "prepared real server")
        f = d.get("fou")
        return cls(
            d.get("device"),  # type: ignore[arg-type]
            namespace=d.get("namespace"),
            created_device=d.get("created_device", False),
            brought_up=d.get("brought_up", False),
            addresses=d.get("addresses", []),
            sysctls=[SysctlChange(**_dict(c, "sysctl change")) for c in d.get("sysctls", [])],
            fou=None if f is None else FouPort.from_dict(f),
        )

    def __repr__(self) -> str:
        return _repr(
            self,
            ("device",),
            {"namespace": None, "created_device": False, "brought_up": False, "addresses": (), "sysctls": (), "fou": None},
        )


def prepare(real_server: RealServer, *, namespace: NamespaceLike = None) -> Prepared:
    """Prepares a real server in ``namespace`` and returns what was changed.

    What is already in place is left alone and not recorded. On a failure
    what was changed so far is undone before the error is raised. An
    existing device of another kind raises :class:`ipvs.InvalidInputError`
    before any change.
    """
    if not isinstance(real_server, RealServer):
        raise TypeError(f"real_server must be a RealServer, not {type(real_server).__name__}")
    name, ns_path, fd = _namespace_args(namespace)
    d = _ipvs.rs_prepare(real_server.to_dict(), name=name, ns_path=ns_path, fd=fd)
    d["namespace"] = None
    with _kernel_values():
        p = Prepared.from_dict(d)
    _set(p, "namespace", namespace)
    return p


def teardown(prepared: Prepared) -> None:
    """Undoes what :func:`prepare` recorded: removes the added addresses,
    restores the sysctls (last first), brings the device down if it was
    brought up, deletes it if it was created, removes the FOU port. Things
    already gone are skipped, so teardown can be repeated; every step is
    attempted and the first error raised.
    """
    if not isinstance(prepared, Prepared):
        raise TypeError(f"prepared must be a Prepared, not {type(prepared).__name__}")
    d = prepared.to_dict()
    del d["namespace"]
    name, ns_path, fd = _namespace_args(prepared.namespace)
    _ipvs.rs_teardown(d, name=name, ns_path=ns_path, fd=fd)
