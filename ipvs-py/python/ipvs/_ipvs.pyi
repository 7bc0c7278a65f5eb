"""The compiled half of :mod:`ipvs` (hand-written stub).

The hot value classes (service keys, persistence, services, destinations,
operations) are native classes wrapping the Rust core's values, handed to the
core as they are by the batch, table and plan functions. The other values
cross as JSON text in the core's serde form; the Python classes of
:mod:`ipvs` build and parse it.
"""

import ipaddress
from typing import Any, Callable, ClassVar, Dict, Iterable, List, Optional, Tuple, Union, final

from typing_extensions import disjoint_base

from ._batch import OperationKind, Table
from ._model import (
    AddressLike,
    EncapFlags,
    Family,
    Forwarding,
    IPAddress,
    Netmask,
    Protocol,
    Scheduler,
    ServiceFlags,
    SyncDaemon,
    SyncState,
    Timeouts,
    TunnelType,
)

_Connection = Tuple[str, str, int, str, int, str, int, str, int, Optional[Tuple[str, str]], Optional[str]]

__all__ = [
    "Handle",
    "display",
    "normalize",
    "rules_parse",
    "rules_save",
    "handle_restore",
    "plan_rules",
    "conn_parse",
    "conn_read",
    "RtnlHandle",
    "FouHandle",
    "tunnel_normalize",
    "rs_wanted_sysctls",
    "sysctl_read",
    "sysctl_write",
    "rs_prepare",
    "rs_teardown",
    "vs_sysctl_knobs",
    "vs_sysctl_read",
    "vs_sysctl_read_all",
    "vs_sysctl_write",
    "vs_sysctl_apply",
    "__version__",
    "MAX_TIMEOUT",
    "MAX_SYNC_ID",
    "ServiceKey",
    "InetKey",
    "FwmarkKey",
    "Persistence",
    "Service",
    "Destination",
    "Operation",
    "handle_apply",
    "handle_execute",
    "handle_table",
    "handle_converge",
    "handle_plan",
    "table_diff",
    "table_simulate",
    "plan_display",
    "table_json",
    "table_parse",
]

__version__: str
MAX_TIMEOUT: int
MAX_SYNC_ID: int

@final
class Handle:
    """A handle on the IPVS table of one network namespace."""

    def __new__(cls, name: Optional[str] = None, path: Optional[str] = None, fd: Optional[int] = None) -> Handle: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def family_id(self) -> int: ...
    def namespace(self) -> str: ...
    def port_id(self) -> int: ...
    def set_receive_buffer(self, bytes: int) -> None: ...
    def set_timeout(self, seconds: float) -> None: ...
    def add_service(self, service: str) -> None: ...
    def update_service(self, service: str) -> None: ...
    def delete_service(self, key: str) -> None: ...
    def service(self, key: str) -> str: ...
    def services(self) -> str: ...
    def add_destination(self, key: str, dest: str) -> None: ...
    def update_destination(self, key: str, dest: str) -> None: ...
    def delete_destination(self, key: str, addr: str, port: int) -> None: ...
    def set_weight(self, key: str, addr: str, port: int, weight: int) -> None: ...
    def set_scheduler(self, key: str, scheduler: str) -> None: ...
    def destinations(self, key: str) -> str: ...
    def start_daemon(self, daemon: str) -> None: ...
    def stop_daemon(self, state: str) -> None: ...
    def daemons(self) -> str: ...
    def timeouts(self) -> str: ...
    def set_timeouts(self, timeouts: str) -> None: ...
    def info(self) -> str: ...
    def zero(self, key: Optional[str] = None) -> None: ...
    def flush(self) -> None: ...

def normalize(kind: str, json: str, family: Optional[str] = None) -> str:
    """Parses, validates and re-encodes a value of the core type ``kind``."""

def display(kind: str, json: str) -> str:
    """The core's text for a value."""

def rules_parse(text: str) -> str:
    """Parses rules text into a table (JSON); raises ``ipvs.RulesParseError``."""

def rules_save(table: str, lossless: bool = False) -> str:
    """Writes a table (JSON) as rules text."""

def handle_restore(
    handle: Handle, text: str, mode: str
) -> Tuple[List[Operation], List[int], List[Tuple[int, str, Optional[BaseException]]]]:
    """Applies rules text (``ipvsadm -R``): the operations, their line numbers and the outcomes not done."""

def plan_rules(ops: Iterable[Operation]) -> str:
    """A plan's operations as ``ipvsadm -R`` input."""

def conn_parse(text: str) -> List[_Connection]:
    """Parses connection-table text; raises ``ipvs.ConnectionParseError``."""

def conn_read(
    name: Optional[str] = None, path: Optional[str] = None, fd: Optional[int] = None, sync: bool = False
) -> List[_Connection]:
    """Reads the connection table of a namespace."""

# ---------------------------------------------------------------- ipvs.tunnel

@final
class RtnlHandle:
    """A handle on the links and addresses of one namespace."""

    def __new__(cls, name: Optional[str] = None, path: Optional[str] = None, fd: Optional[int] = None) -> RtnlHandle: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def set_timeout(self, seconds: float) -> None: ...
    def add_link(self, new: str) -> str: ...
    def link(self, dev: Union[int, str]) -> Optional[str]: ...
    def links(self, tunnels_only: bool = False) -> str: ...
    def set_tunnel(self, dev: Union[int, str], config: str) -> None: ...
    def set_up(self, dev: Union[int, str], up: bool) -> None: ...
    def set_mtu(self, dev: Union[int, str], mtu: int) -> None: ...
    def del_link(self, dev: Union[int, str]) -> None: ...
    def add_address(self, dev: Union[int, str], net: str) -> None: ...
    def del_address(self, dev: Union[int, str], net: str) -> None: ...
    def addresses(self, dev: Union[int, str, None] = None) -> str: ...

@final
class FouHandle:
    """A handle on the FOU receive ports of one namespace."""

    def __new__(cls, name: Optional[str] = None, path: Optional[str] = None, fd: Optional[int] = None) -> FouHandle: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def add(self, port: str) -> None: ...
    def delete(self, port: str) -> None: ...
    def list(self) -> str: ...

def tunnel_normalize(kind: str, json: str) -> str:
    """Parses, validates and re-encodes a tunnel value of ``kind``."""

def rs_wanted_sysctls(json: str) -> List[Tuple[str, str]]:
    """The sysctls ``prepare`` sets for a real server."""

def sysctl_read(path: str, name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None) -> str:
    """Reads a sysctl in a namespace."""

def sysctl_write(
    path: str, value: str, name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None
) -> None:
    """Writes a sysctl in a namespace."""

def rs_prepare(real_server: str, name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None) -> str:
    """Prepares a real server; returns what was changed (JSON)."""

def rs_teardown(prepared: str, name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None) -> None:
    """Undoes what ``rs_prepare`` recorded."""

_SysctlValue = Union[bool, int, Tuple[int, int], str]

def vs_sysctl_knobs() -> List[str]:
    """Every ``net.ipv4.vs.*`` knob's name."""

def vs_sysctl_read(knob: str, name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None) -> _SysctlValue:
    """Reads one IPVS knob."""

def vs_sysctl_read_all(
    name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None
) -> List[Tuple[str, _SysctlValue]]:
    """Reads every IPVS knob the kernel has."""

def vs_sysctl_write(
    knob: str, value: object, name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None
) -> None:
    """Validates and writes one IPVS knob."""

def vs_sysctl_apply(
    settings: List[Tuple[str, object]], name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None
) -> List[Tuple[str, _SysctlValue, _SysctlValue]]:
    """Validates every knob, then writes what differs, all or nothing."""

# ---------------------------------------------------------------- native value classes (model.rs)

@disjoint_base
class ServiceKey:
    """What identifies a virtual service: :class:`InetKey` or :class:`FwmarkKey`."""

    def __new__(cls, *_args: object, **_kwargs: object) -> ServiceKey: ...
    @staticmethod
    def tcp(addr: AddressLike, port: int) -> InetKey: ...
    @staticmethod
    def udp(addr: AddressLike, port: int) -> InetKey: ...
    @staticmethod
    def sctp(addr: AddressLike, port: int) -> InetKey: ...
    @staticmethod
    def fwmark(mark: int, family: Union[Family, str] = ...) -> FwmarkKey: ...
    @property
    def family(self) -> Family: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> ServiceKey: ...
    @classmethod
    def from_json(cls, text: str) -> ServiceKey: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class InetKey(ServiceKey):
    """A service identified by protocol, virtual address and port."""

    def __new__(cls, protocol: Union[Protocol, str], addr: AddressLike, port: int) -> InetKey: ...
    @property
    def protocol(self) -> Union[Protocol, int]:
        """The protocol; one this library does not know (listed, never written) as its number."""
    @property
    def addr(self) -> IPAddress: ...
    @property
    def port(self) -> int: ...

@final
class FwmarkKey(ServiceKey):
    """A service identified by a firewall mark (non-zero) and an address family."""

    def __new__(cls, mark: int, family: Union[Family, str] = ...) -> FwmarkKey: ...
    @property
    def mark(self) -> int: ...

@final
class Persistence:
    """Client affinity (``-p timeout -M netmask``)."""

    DEFAULT_TIMEOUT: ClassVar[int]
    MAX_TIMEOUT: ClassVar[int]
    def __new__(cls, timeout: int = 300, netmask: Union[ipaddress.IPv4Address, int, str, None] = None) -> Persistence: ...
    @property
    def timeout(self) -> int: ...
    @property
    def netmask(self) -> Optional[Netmask]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Persistence: ...
    @classmethod
    def from_json(cls, text: str) -> Persistence: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Service:
    """A virtual service: its key and configuration (ipvsadm's defaults: ``wlc``, no persistence)."""

    def __new__(
        cls,
        key: ServiceKey,
        *,
        scheduler: Union[Scheduler, str] = ...,
        flags: Union[ServiceFlags, int] = ...,
        persistence: Union[Persistence, int, None] = None,
        pe: Optional[str] = None,
    ) -> Service: ...
    @property
    def key(self) -> ServiceKey: ...
    @property
    def scheduler(self) -> Union[Scheduler, str]: ...
    @property
    def scheduler_name(self) -> str: ...
    @property
    def flags(self) -> ServiceFlags: ...
    @property
    def persistence(self) -> Optional[Persistence]: ...
    @property
    def pe(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Service: ...
    @classmethod
    def from_json(cls, text: str) -> Service: ...
    @classmethod
    def _from_kernel(cls, data: Dict[str, Any]) -> Service: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Destination:
    """A real server (ipvsadm's defaults: weight 1, direct routing, no thresholds)."""

    MAX_WEIGHT: ClassVar[int]
    MAX_THRESHOLD: ClassVar[int]
    def __new__(
        cls,
        addr: AddressLike,
        port: int,
        *,
        forwarding: Union[Forwarding, str] = ...,
        weight: int = 1,
        upper_threshold: int = 0,
        lower_threshold: int = 0,
        tunnel: Union[TunnelType, str] = ...,
        tunnel_port: int = 0,
        tunnel_flags: Union[EncapFlags, int] = ...,
    ) -> Destination: ...
    @property
    def addr(self) -> IPAddress: ...
    @property
    def port(self) -> int: ...
    @property
    def forwarding(self) -> Union[Forwarding, int]:
        """How packets reach it; a method this library does not know (listed, never written) as its number."""
    @property
    def weight(self) -> int: ...
    @property
    def upper_threshold(self) -> int: ...
    @property
    def lower_threshold(self) -> int: ...
    @property
    def tunnel(self) -> Union[TunnelType, int]:
        """The encapsulation; a tunnel type this library does not know (listed, never written) as its number."""
    @property
    def tunnel_port(self) -> int: ...
    @property
    def tunnel_flags(self) -> EncapFlags: ...
    @property
    def family(self) -> Family: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Destination: ...
    @classmethod
    def from_json(cls, text: str) -> Destination: ...
    @classmethod
    def _from_kernel(cls, data: Dict[str, Any]) -> Destination: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Operation:
    """One change to the IPVS table, for :meth:`Ipvs.apply`, :meth:`Ipvs.execute` and plans."""

    def __new__(
        cls,
        kind: Union[OperationKind, str],
        *,
        key: Optional[ServiceKey] = None,
        service: Optional[Service] = None,
        destination: Optional[Destination] = None,
        addr: Optional[AddressLike] = None,
        port: Optional[int] = None,
        timeouts: Optional[Timeouts] = None,
        daemon: Optional[SyncDaemon] = None,
        state: Union[SyncState, str, None] = None,
    ) -> Operation: ...
    @staticmethod
    def add_service(service: Service) -> Operation: ...
    @staticmethod
    def update_service(service: Service) -> Operation: ...
    @staticmethod
    def delete_service(key: ServiceKey) -> Operation: ...
    @staticmethod
    def add_destination(key: ServiceKey, destination: Destination) -> Operation: ...
    @staticmethod
    def update_destination(key: ServiceKey, destination: Destination) -> Operation: ...
    @staticmethod
    def delete_destination(key: ServiceKey, addr: AddressLike, port: int) -> Operation: ...
    @staticmethod
    def set_timeouts(timeouts: Timeouts) -> Operation: ...
    @staticmethod
    def start_daemon(daemon: SyncDaemon) -> Operation: ...
    @staticmethod
    def stop_daemon(state: Union[SyncState, str]) -> Operation: ...
    @staticmethod
    def zero(key: Optional[ServiceKey] = None) -> Operation: ...
    @staticmethod
    def flush() -> Operation: ...
    @property
    def kind(self) -> OperationKind: ...
    @property
    def key(self) -> Optional[ServiceKey]: ...
    @property
    def service(self) -> Optional[Service]: ...
    @property
    def destination(self) -> Optional[Destination]: ...
    @property
    def addr(self) -> Optional[IPAddress]: ...
    @property
    def port(self) -> Optional[int]: ...
    @property
    def timeouts(self) -> Optional[Timeouts]: ...
    @property
    def daemon(self) -> Optional[SyncDaemon]: ...
    @property
    def state(self) -> Optional[Union[SyncState, int]]: ...
    def to_dict(self) -> Any: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_dict(cls, data: Any) -> Operation: ...
    @classmethod
    def from_json(cls, text: str) -> Operation: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

_TableParts = Tuple[List[Tuple[Service, Tuple[Destination, ...]]], Optional[Timeouts]]

def handle_apply(handle: Handle, op: Operation) -> None:
    """Applies one operation with the handle."""

def handle_execute(handle: Handle, ops: Iterable[Operation], mode: str) -> List[Tuple[int, str, Optional[BaseException]]]:
    """Applies operations; ``(index, status, exception or None)`` for each one not done."""

def handle_table(handle: Handle) -> _TableParts:
    """Reads the whole table."""

def handle_converge(
    handle: Handle, desired: Table, scope: Union[Iterable[ServiceKey], Callable[[ServiceKey], bool], None] = None, drain_before_remove: bool = False
) -> Tuple[List[Operation], List[Tuple[int, str, Optional[BaseException]]]]:
    """Reads, plans and applies; the plan and the outcomes not done, as ``handle_execute``."""

def handle_plan(
    handle: Handle, desired: Table, scope: Union[Iterable[ServiceKey], Callable[[ServiceKey], bool], None] = None, drain_before_remove: bool = False
) -> List[Operation]:
    """Reads the current table and plans the way to ``desired``."""

def table_diff(
    current: Table, desired: Table, scope: Union[Iterable[ServiceKey], Callable[[ServiceKey], bool], None] = None, drain_before_remove: bool = False
) -> List[Operation]:
    """Plans the operations turning one table into another."""

def table_simulate(current: Table, ops: Iterable[Operation]) -> _TableParts:
    """The table ``current`` becomes when every operation succeeds."""

def plan_display(ops: Iterable[Operation]) -> str:
    """A plan in ipvsadm's words."""

def table_json(table: Table) -> str:
    """A table in the core's serde JSON form."""

def table_parse(text: str) -> _TableParts:
    """Parses a table from the core's serde JSON form."""
