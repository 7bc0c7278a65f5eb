"""The base classes of the package's enums and flags.

The members are defined once, in Rust (``ipvs-py/src/enums.rs``): the
compiled module makes each enum from these bases with the functional API
when it is imported. This module holds only what the members share (repr,
``str``, accepting a member's name) and the helpers of two of them.
"""

from __future__ import annotations

import enum
import ipaddress
from typing import Any, Union

__all__ = ["_ReprEnum", "_ReprFlag", "_FamilyEnum", "_SchedulerEnum"]


class _ReprEnum(enum.Enum):
    @classmethod
    def _missing_(cls, value: object) -> Any:
        # what the constructors accept: the value or the member's name, any case
        # (Forwarding("route") is Forwarding.ROUTE, as forwarding="route" is)
        if isinstance(value, str):
            for member in cls:
                if value.upper() == member.name or value.lower() == str(member.value):
                    return member
        return None

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


class _FamilyEnum(_ReprEnum):
    @classmethod
    def of(cls, addr: Union[ipaddress.IPv4Address, ipaddress.IPv6Address, str]) -> Any:
        """The family of an address."""
        if isinstance(addr, str):
            try:
                addr = ipaddress.ip_address(addr)
            except ValueError:
                from ._errors import InvalidInputError

                raise InvalidInputError(f"address: {addr!r} is not an IP address", "checking the arguments") from None
        if not isinstance(addr, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            raise TypeError(f"address must be an IP address or a string, not {type(addr).__name__}")
        return cls("ipv4" if addr.version == 4 else "ipv6")


class _SchedulerEnum(_ReprEnum):
    @property
    def module(self) -> str:
        """The kernel module providing it, e.g. ``ip_vs_rr``."""
        return f"ip_vs_{self.value}"
