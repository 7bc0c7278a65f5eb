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
from typing import Any, Dict, Tuple, Type, TypeVar, Union

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

# Stats, ServiceEntry, DestinationEntry, Info (what the kernel reports) and
# Timeouts, SyncDaemon (global settings) are native classes too
# (ipvs-py/src/reply.rs, settings.rs), built straight from the core's values;
# they keep the API of the frozen dataclasses they were (keyword arguments,
# dataclass reprs, dataclasses.replace).
from ._ipvs import DestinationEntry as DestinationEntry  # noqa: E402
from ._ipvs import Info as Info  # noqa: E402
from ._ipvs import ServiceEntry as ServiceEntry  # noqa: E402
from ._ipvs import Stats as Stats  # noqa: E402
from ._ipvs import SyncDaemon as SyncDaemon  # noqa: E402
from ._ipvs import Timeouts as Timeouts  # noqa: E402
