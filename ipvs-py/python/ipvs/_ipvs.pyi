"""The compiled half of :mod:`ipvs` (hand-written stub).

``to_dict()`` of every value class gives its constructor's keyword arguments
in plain data, a nested value as its own dict (which the constructors take
too); ``from_dict`` reads that and the core's serde form of ``to_json``.

The value classes (service keys, persistence, services, destinations,
operations) are native classes wrapping the Rust core's values; every call
to the kernel takes and returns native values or Python objects, never JSON
text (``to_json``/``from_json`` are conveniences for users only).
"""

import dataclasses
import ipaddress
from typing import Any, Callable, ClassVar, Dict, Iterable, List, Optional, Tuple, TypeVar, Union, final

from typing_extensions import Self, disjoint_base

from ._enumbase import _FamilyEnum, _ReprEnum, _ReprFlag, _SchedulerEnum
from ._model import AddressLike, IPAddress, Netmask

_K = TypeVar("_K", bound="ServiceKey")

_S = TypeVar("_S")

__all__ = [
    "Protocol",
    "Family",
    "Scheduler",
    "Forwarding",
    "TunnelType",
    "ServiceFlags",
    "EncapFlags",
    "SyncState",
    "OperationKind",
    "Handle",
    "_sample_error",
    "Stats",
    "ServiceEntry",
    "DestinationEntry",
    "Info",
    "Timeouts",
    "SyncDaemon",
    "Connection",
    "ConnectionOrigin",
    "rules_parse",
    "rules_save",
    "handle_restore",
    "plan_rules",
    "conn_parse",
    "conn_read",
    "RtnlHandle",
    "FouHandle",
    "check_tunnel_config",
    "check_new_link",
    "check_fou_port",
    "check_real_server",
    "check_ifname",
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
    "handle_converge",
    "handle_plan",
    "table_diff",
    "table_simulate",
    "plan_display",
    "table_json",
    "Table",
    "TableService",
]

# ---------------------------------------------------------------- enums and flags (enums.rs)

class Protocol(_ReprEnum):
    """Transport protocol of a virtual service."""

    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"


class Family(_FamilyEnum):
    """Address family."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"

    @classmethod
    def of(cls, addr: AddressLike) -> Family:
        """The family of an address."""


class Scheduler(_SchedulerEnum):
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


class OperationKind(_ReprEnum):
    """What an :class:`Operation` does (its serde tag)."""

    ADD_SERVICE = "add_service"
    UPDATE_SERVICE = "update_service"
    DELETE_SERVICE = "delete_service"
    ADD_DESTINATION = "add_destination"
    UPDATE_DESTINATION = "update_destination"
    DELETE_DESTINATION = "delete_destination"
    SET_TIMEOUTS = "set_timeouts"
    START_DAEMON = "start_daemon"
    STOP_DAEMON = "stop_daemon"
    ZERO = "zero"
    FLUSH = "flush"


class ConnectionOrigin(_ReprEnum):
    """Where an entry of ``ip_vs_conn_sync`` came from: ``LOCAL`` (this director) or ``SYNC`` (a sync master)."""

    LOCAL = "local"
    SYNC = "sync"

__version__: str
MAX_TIMEOUT: int
MAX_SYNC_ID: int

@disjoint_base
class Handle:
    """A handle on the IPVS table of one namespace (the base of ``ipvs.Ipvs``); every method takes and returns native values."""

    def __new__(cls, name: Optional[str] = None, path: Optional[str] = None, fd: Optional[int] = None) -> Self: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def family_id(self) -> int:
        """The generic netlink family id of IPVS in this namespace."""
    @property
    def port_id(self) -> int:
        """The netlink port id of the handle's socket."""
    def set_receive_buffer(self, size: int) -> None: ...
    def set_timeout(self, seconds: float) -> None: ...
    def add_service(self, service: Service) -> None: ...
    def update_service(self, service: Service) -> None: ...
    def delete_service(self, key: ServiceKey) -> None: ...
    def service(self, key: ServiceKey) -> ServiceEntry: ...
    def services(self) -> List[ServiceEntry]: ...
    def add_destination(self, key: ServiceKey, destination: Destination) -> None: ...
    def update_destination(self, key: ServiceKey, destination: Destination) -> None: ...
    def delete_destination(self, key: ServiceKey, addr: AddressLike, port: int) -> None: ...
    def set_weight(self, key: ServiceKey, addr: AddressLike, port: int, weight: int) -> None: ...
    def set_scheduler(self, key: ServiceKey, scheduler: Union[Scheduler, str]) -> None: ...
    def destinations(self, key: ServiceKey) -> List[DestinationEntry]: ...
    def start_daemon(self, daemon: SyncDaemon) -> None: ...
    def stop_daemon(self, state: Union[SyncState, str, int]) -> None: ...
    def daemons(self) -> List[SyncDaemon]: ...
    def timeouts(self) -> Timeouts: ...
    def set_timeouts(self, timeouts: Timeouts) -> None: ...
    def info(self) -> Info: ...
    def zero(self, key: Optional[ServiceKey] = None) -> None: ...
    def flush(self) -> None: ...
    def table(self) -> Table:
        """Reads the whole table: services, their destinations, and the timeouts."""

def _sample_error(kind: str) -> Optional[BaseException]:
    """The exception raised for a core error of the kind named ``kind`` (for tests)."""

def rules_parse(text: str) -> Table:
    """Parses rules text into a table's parts; raises ``ipvs.RulesParseError``."""

def rules_save(table: Table, lossless: bool = False) -> str:
    """Writes a table as rules text."""

def handle_restore(
    handle: Handle, text: str, mode: str
) -> Tuple[List[Operation], List[int], List[Tuple[int, str, Optional[BaseException]]]]:
    """Applies rules text (``ipvsadm -R``): the operations, their line numbers and the outcomes not done."""

def plan_rules(ops: Iterable[Operation]) -> str:
    """A plan's operations as ``ipvsadm -R`` input."""

def conn_parse(text: str) -> List[Connection]:
    """Parses connection-table text; raises ``ipvs.ConnectionParseError``."""

def conn_read(
    name: Optional[str] = None, path: Optional[str] = None, fd: Optional[int] = None, sync: bool = False
) -> List[Connection]:
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
    def add_link(self, new: Dict[str, Any]) -> Dict[str, Any]: ...
    def link(self, dev: Union[int, str]) -> Optional[Dict[str, Any]]: ...
    def links(self, tunnels_only: bool = False) -> List[Dict[str, Any]]: ...
    def set_tunnel(self, dev: Union[int, str], config: Dict[str, Any]) -> None: ...
    def set_up(self, dev: Union[int, str], up: bool) -> None: ...
    def set_mtu(self, dev: Union[int, str], mtu: int) -> None: ...
    def del_link(self, dev: Union[int, str]) -> None: ...
    def add_address(self, dev: Union[int, str], net: str) -> None: ...
    def del_address(self, dev: Union[int, str], net: str) -> None: ...
    def addresses(self, dev: Union[int, str, None] = None) -> List[Dict[str, Any]]: ...

@final
class FouHandle:
    """A handle on the FOU receive ports of one namespace."""

    def __new__(cls, name: Optional[str] = None, path: Optional[str] = None, fd: Optional[int] = None) -> FouHandle: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def add(self, port: Dict[str, Any]) -> None: ...
    def delete(self, port: Dict[str, Any]) -> None: ...
    def list(self) -> List[Dict[str, Any]]: ...

def check_tunnel_config(config: Dict[str, Any]) -> None:
    """Checks tunnel parameters (their ``to_dict()``) with the core's validator."""

def check_new_link(new: Dict[str, Any]) -> None:
    """Checks a new link (its ``to_dict()``) with the core's validator."""

def check_fou_port(port: Dict[str, Any]) -> None:
    """Checks a FOU port (its ``to_dict()``) with the core's validator."""

def check_real_server(real_server: Dict[str, Any]) -> None:
    """Checks a real server (its ``to_dict()``) with the core's validator."""

def check_ifname(name: str) -> None:
    """Checks an interface name with the core's validator."""

def rs_wanted_sysctls(real_server: Dict[str, Any]) -> List[Tuple[str, str]]:
    """The sysctls ``prepare`` sets for a real server."""

def sysctl_read(path: str, name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None) -> str:
    """Reads a sysctl in a namespace."""

def sysctl_write(
    path: str, value: str, name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None
) -> None:
    """Writes a sysctl in a namespace."""

def rs_prepare(
    real_server: Dict[str, Any], name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None
) -> Dict[str, Any]:
    """Prepares a real server; returns what was changed (its dict)."""

def rs_teardown(prepared: Dict[str, Any], name: Optional[str] = None, ns_path: Optional[str] = None, fd: Optional[int] = None) -> None:
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
    def replace(self: _K, **changes: Any) -> _K: ...
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
    def replace(self, *, timeout: int = ..., netmask: Union[ipaddress.IPv4Address, int, str, None] = ...) -> Persistence: ...
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
        key: Union[ServiceKey, Dict[str, Any]],
        *,
        scheduler: Union[Scheduler, str, None] = None,
        flags: Union[ServiceFlags, int, None] = None,
        persistence: Union[Persistence, int, Dict[str, Any], None] = None,
        pe: Optional[str] = None,
    ) -> Service:
        """``scheduler=None`` is the default, ``wlc`` (as ipvsadm); ``flags=None`` is no flags.

        ``key`` and ``persistence`` may be given as their ``to_dict()``."""
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
    def replace(
        self,
        *,
        key: ServiceKey = ...,
        scheduler: Union[Scheduler, str, None] = ...,
        flags: Union[ServiceFlags, int, None] = ...,
        persistence: Union[Persistence, int, None] = ...,
        pe: Optional[str] = ...,
    ) -> Service: ...
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
    def replace(
        self,
        *,
        addr: AddressLike = ...,
        port: int = ...,
        forwarding: Union[Forwarding, str] = ...,
        weight: int = ...,
        upper_threshold: int = ...,
        lower_threshold: int = ...,
        tunnel: Union[TunnelType, str] = ...,
        tunnel_port: int = ...,
        tunnel_flags: Union[EncapFlags, int] = ...,
    ) -> Destination: ...
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
        key: Union[ServiceKey, Dict[str, Any], None] = None,
        service: Union[Service, Dict[str, Any], None] = None,
        destination: Union[Destination, Dict[str, Any], None] = None,
        addr: Optional[AddressLike] = None,
        port: Optional[int] = None,
        timeouts: Union[Timeouts, Dict[str, Any], None] = None,
        daemon: Union[SyncDaemon, Dict[str, Any], None] = None,
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
    def replace(self, **changes: Any) -> Operation: ...
    def to_dict(self) -> Dict[str, Any]:
        """The constructor's keyword arguments (``kind`` and the fields it uses), nested values as their dicts."""
    def to_json(self) -> str: ...
    @classmethod
    def from_dict(cls, data: Any) -> Operation:
        """From ``to_dict()`` or the core's serde form (``to_json``'s)."""
    @classmethod
    def from_json(cls, text: str) -> Operation: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

def handle_apply(handle: Handle, op: Operation) -> None:
    """Applies one operation with the handle."""

def handle_execute(handle: Handle, ops: Iterable[Operation], mode: str) -> List[Tuple[int, str, Optional[BaseException]]]:
    """Applies operations; ``(index, status, exception or None)`` for each one not done."""

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

def table_simulate(current: Table, ops: Iterable[Operation]) -> Table:
    """The table ``current`` becomes when every operation succeeds."""

def plan_display(ops: Iterable[Operation]) -> str:
    """A plan in ipvsadm's words."""

def table_json(table: Table) -> str:
    """A table in the core's serde JSON form."""



# ---------------------------------------------------------------- reports, settings, connections (reply.rs, settings.rs, conn.rs)
# native classes that keep the API of the frozen dataclasses they were


@final
class Stats:
    """Traffic counters and rates, as the kernel reports them."""

    __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]
    def __new__(
        cls,
        conns: int = 0,
        in_packets: int = 0,
        out_packets: int = 0,
        in_bytes: int = 0,
        out_bytes: int = 0,
        cps: int = 0,
        in_pps: int = 0,
        out_pps: int = 0,
        in_bps: int = 0,
        out_bps: int = 0,
    ) -> Stats: ...
    @property
    def conns(self) -> int: ...
    @property
    def in_packets(self) -> int: ...
    @property
    def out_packets(self) -> int: ...
    @property
    def in_bytes(self) -> int: ...
    @property
    def out_bytes(self) -> int: ...
    @property
    def cps(self) -> int: ...
    @property
    def in_pps(self) -> int: ...
    @property
    def out_pps(self) -> int: ...
    @property
    def in_bps(self) -> int: ...
    @property
    def out_bps(self) -> int: ...
    def replace(self, **changes: int) -> Stats: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Stats: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> Stats: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class ServiceEntry:
    """A service as listed by the kernel: its configuration and counters."""

    __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]
    def __new__(cls, service: Union[Service, Dict[str, Any]], stats: Union[Stats, Dict[str, Any], None] = ...) -> ServiceEntry: ...
    @property
    def service(self) -> Service: ...
    @property
    def stats(self) -> Stats: ...
    @property
    def key(self) -> ServiceKey:
        """The service's key."""
    def replace(self, *, service: Service = ..., stats: Stats = ...) -> ServiceEntry: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> ServiceEntry: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> ServiceEntry: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class DestinationEntry:
    """A destination as listed by the kernel: configuration, connection counts, counters."""

    __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]
    def __new__(
        cls,
        destination: Union[Destination, Dict[str, Any]],
        active_conns: int = 0,
        inactive_conns: int = 0,
        persistent_conns: int = 0,
        stats: Union[Stats, Dict[str, Any], None] = ...,
    ) -> DestinationEntry: ...
    @property
    def destination(self) -> Destination: ...
    @property
    def active_conns(self) -> int: ...
    @property
    def inactive_conns(self) -> int: ...
    @property
    def persistent_conns(self) -> int: ...
    @property
    def stats(self) -> Stats: ...
    @property
    def addr(self) -> IPAddress:
        """The real server's address."""
    @property
    def port(self) -> int:
        """The real server's port."""
    def replace(self, **changes: Any) -> DestinationEntry: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> DestinationEntry: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> DestinationEntry: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Info:
    """Global IPVS information: version code and connection table size."""

    __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]
    def __new__(cls, version: int, conn_table_size: int) -> Info: ...
    @property
    def version(self) -> int: ...
    @property
    def conn_table_size(self) -> int: ...
    @property
    def version_triple(self) -> Tuple[int, int, int]:
        """The version as (major, minor, patch)."""
    def replace(self, *, version: int = ..., conn_table_size: int = ...) -> Info: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Info: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> Info: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Timeouts:
    """Connection timeouts in seconds (``ipvsadm --set tcp tcpfin udp``); 0 keeps a value when setting."""

    MAX: ClassVar[int]
    """The longest timeout written, in seconds (the kernel refuses more than ``INT_MAX / HZ``)."""
    __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]
    def __new__(cls, tcp: int = 0, tcp_fin: int = 0, udp: int = 0) -> Timeouts: ...
    @property
    def tcp(self) -> int: ...
    @property
    def tcp_fin(self) -> int: ...
    @property
    def udp(self) -> int: ...
    def replace(self, *, tcp: int = ..., tcp_fin: int = ..., udp: int = ...) -> Timeouts: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Timeouts: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> Timeouts: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class SyncDaemon:
    """A connection synchronisation daemon (``ipvsadm --start-daemon``); ``None`` keeps the kernel's default."""

    MAX_SYNC_ID: ClassVar[int]
    """The largest sync id written (ipvsadm's limit)."""
    __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]
    def __new__(
        cls,
        state: Union[SyncState, str],
        interface: str,
        sync_id: int = 0,
        *,
        max_len: Optional[int] = None,
        group: Optional[AddressLike] = None,
        port: Optional[int] = None,
        ttl: Optional[int] = None,
    ) -> SyncDaemon: ...
    @property
    def state(self) -> Union[SyncState, int]:
        """Master or backup; a listing keeps a state this library does not know as its raw number."""
    @property
    def interface(self) -> str:
        """The interface, in the text form of kernel names (a byte that is not UTF-8 written ``:xx``)."""
    @property
    def sync_id(self) -> int: ...
    @property
    def max_len(self) -> Optional[int]: ...
    @property
    def group(self) -> Optional[IPAddress]: ...
    @property
    def port(self) -> Optional[int]: ...
    @property
    def ttl(self) -> Optional[int]: ...
    def replace(self, **changes: Any) -> SyncDaemon: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> SyncDaemon: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> SyncDaemon: ...
    @classmethod
    def _from_kernel(cls, data: Dict[str, Any]) -> SyncDaemon: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Connection:
    """One entry of the connection table (a connection or a persistence template)."""

    __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]
    def __new__(
        cls,
        protocol: str,
        client_addr: AddressLike,
        client_port: int,
        virtual_addr: AddressLike,
        virtual_port: int,
        destination_addr: AddressLike,
        destination_port: int,
        state: str,
        expires: int,
        pe_name: Optional[str] = None,
        pe_data: Optional[str] = None,
        origin: Union[ConnectionOrigin, str, None] = None,
    ) -> Connection: ...
    @property
    def protocol(self) -> str: ...
    @property
    def client_addr(self) -> IPAddress: ...
    @property
    def client_port(self) -> int: ...
    @property
    def virtual_addr(self) -> IPAddress: ...
    @property
    def virtual_port(self) -> int: ...
    @property
    def destination_addr(self) -> IPAddress: ...
    @property
    def destination_port(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def expires(self) -> int: ...
    @property
    def pe_name(self) -> Optional[str]: ...
    @property
    def pe_data(self) -> Optional[str]: ...
    @property
    def origin(self) -> Optional[ConnectionOrigin]: ...
    @property
    def is_template(self) -> bool:
        """Whether this is a persistence template: protocol ``IP``, or client port 0 in state ``NONE``/``ASSURED``."""
    def replace(self, **changes: Any) -> Connection: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Connection: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class TableService:
    """A virtual service with its real servers (order kept)."""

    __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]
    def __new__(
        cls,
        service: Union[Service, Dict[str, Any]],
        destinations: Iterable[Union[Destination, Dict[str, Any]]] = (),
    ) -> TableService: ...
    @property
    def service(self) -> Service: ...
    @property
    def destinations(self) -> Tuple[Destination, ...]: ...
    @property
    def key(self) -> ServiceKey:
        """The service's key."""
    def replace(self, *, service: Service = ..., destinations: Iterable[Destination] = ...) -> TableService: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> TableService: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> TableService: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Table:
    """A whole IPVS table: services with their destinations, and timeouts to enforce (``None``: leave them)."""

    __dataclass_fields__: ClassVar[Dict[str, dataclasses.Field[Any]]]
    def __new__(
        cls,
        services: Iterable[Union[TableService, Dict[str, Any]]] = (),
        timeouts: Union[Timeouts, Dict[str, Any], None] = None,
    ) -> Table: ...
    @property
    def services(self) -> Tuple[TableService, ...]: ...
    @property
    def timeouts(self) -> Optional[Timeouts]: ...
    def service(self, key: ServiceKey) -> Optional[TableService]:
        """Finds a service by key."""
    def sorted(self) -> Table:
        """The table in a canonical order (for comparisons)."""
    def replace(self, *, services: Iterable[TableService] = ..., timeouts: Optional[Timeouts] = ...) -> Table: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Table: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> Table: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

# ---------------------------------------------------------------- the director (director/)

from os import PathLike as _PathLike

__all__ += [
    "OnFailure",
    "HealthState",
    "DrainEnd",
    "FileFormat",
    "EventKind",
    "CheckKind",
    "Check",
    "probe_once",
    "DirectedService",
    "DesiredState",
    "parse_file",
    "DestinationId",
    "Health",
    "Event",
    "Subscription",
    "Director",
    "ServiceMetrics",
    "DestinationMetrics",
    "metrics_render",
    "director_stop_all",
    "METRICS_CONTENT_TYPE",
]

class OnFailure(_ReprEnum):
    """What happens to a real server whose checks fail: kept at weight 0 (inhibit) or deleted."""

    INHIBIT = "inhibit"
    REMOVE = "remove"

class HealthState(_ReprEnum):
    """Whether a real server passes its checks."""

    UP = "up"
    DOWN = "down"

class DrainEnd(_ReprEnum):
    """Why a drain ended."""

    IDLE = "idle"
    DEADLINE = "deadline"
    RETURNED = "returned"
    GONE = "gone"

class FileFormat(_ReprEnum):
    """The format of a desired-state file: ipvsadm rules or JSON."""

    RULES = "rules"
    JSON = "json"

class EventKind(_ReprEnum):
    """What an :class:`Event` reports."""

    HEALTH = "health"
    PLANNED = "planned"
    APPLIED = "applied"
    DRAIN_STARTED = "drain_started"
    DRAIN_FINISHED = "drain_finished"
    FAILED = "failed"
    DESIRED_CHANGED = "desired_changed"
    RELOAD_FAILED = "reload_failed"
    STOPPED = "stopped"

class CheckKind(_ReprEnum):
    """What a :class:`Check` does."""

    TCP = "tcp"
    HTTP = "http"
    HTTPS = "https"
    DNS = "dns"
    CUSTOM = "custom"

_NamespaceLike = Union[str, "_PathLike[str]", int, None]
_CustomCheck = Callable[[IPAddress, int, float], object]

@final
class Check:
    """A health check of a real server, with its timing (seconds) and where it runs from."""

    @staticmethod
    def tcp(
        *,
        interval: float = ...,
        timeout: float = ...,
        rise: int = ...,
        fall: int = ...,
        port: Optional[int] = ...,
        target: Optional[Tuple[AddressLike, int]] = ...,
        source: Optional[AddressLike] = ...,
        namespace: _NamespaceLike = ...,
        initially_up: bool = ...,
    ) -> Check: ...
    @staticmethod
    def http(
        path: str = "/",
        status: int = 200,
        *,
        body: Optional[str] = None,
        host: Optional[str] = None,
        interval: float = ...,
        timeout: float = ...,
        rise: int = ...,
        fall: int = ...,
        port: Optional[int] = ...,
        target: Optional[Tuple[AddressLike, int]] = ...,
        source: Optional[AddressLike] = ...,
        namespace: _NamespaceLike = ...,
        initially_up: bool = ...,
    ) -> Check: ...
    @staticmethod
    def https(
        path: str = "/",
        status: int = 200,
        *,
        body: Optional[str] = None,
        host: Optional[str] = None,
        server_name: Optional[str] = None,
        ca: Union[str, bytes, None] = None,
        ca_file: Union[str, "_PathLike[str]", None] = None,
        interval: float = ...,
        timeout: float = ...,
        rise: int = ...,
        fall: int = ...,
        port: Optional[int] = ...,
        target: Optional[Tuple[AddressLike, int]] = ...,
        source: Optional[AddressLike] = ...,
        namespace: _NamespaceLike = ...,
        initially_up: bool = ...,
    ) -> Check: ...
    @staticmethod
    def dns(
        name: str,
        *,
        interval: float = ...,
        timeout: float = ...,
        rise: int = ...,
        fall: int = ...,
        port: Optional[int] = ...,
        target: Optional[Tuple[AddressLike, int]] = ...,
        source: Optional[AddressLike] = ...,
        namespace: _NamespaceLike = ...,
        initially_up: bool = ...,
    ) -> Check: ...
    @staticmethod
    def custom(
        func: _CustomCheck,
        *,
        interval: float = ...,
        timeout: float = ...,
        rise: int = ...,
        fall: int = ...,
        port: Optional[int] = ...,
        target: Optional[Tuple[AddressLike, int]] = ...,
        source: Optional[AddressLike] = ...,
        namespace: _NamespaceLike = ...,
        initially_up: bool = ...,
    ) -> Check: ...
    @property
    def kind(self) -> CheckKind: ...
    @property
    def interval(self) -> float: ...
    @property
    def timeout(self) -> float: ...
    @property
    def rise(self) -> int: ...
    @property
    def fall(self) -> int: ...
    @property
    def port(self) -> Optional[int]: ...
    @property
    def target(self) -> Optional[Tuple[IPAddress, int]]: ...
    @property
    def source(self) -> Optional[IPAddress]: ...
    @property
    def initially_up(self) -> bool: ...
    @property
    def http_request(self) -> Optional[Tuple[str, int, Optional[str], Optional[str]]]:
        """The HTTP check's path, status, body text and Host header (``None`` for other kinds)."""
    @property
    def dns_name(self) -> Optional[str]:
        """The DNS check's name (``None`` for other kinds)."""

def probe_once(check: Check, addr: AddressLike, port: int) -> Optional[str]:
    """Runs ``check`` once against a real server: ``None`` when it passes, else why not."""

@final
class DirectedService:
    """One virtual service as the director keeps it; validated when made."""

    def __new__(
        cls,
        service: Service,
        destinations: Optional[Iterable[Destination]] = None,
        *,
        check: Optional[Check] = None,
        on_failure: Union[OnFailure, str, None] = None,
        quorum: int = 0,
        sorry_server: Optional[Destination] = None,
    ) -> DirectedService: ...
    @property
    def service(self) -> Service: ...
    @property
    def destinations(self) -> List[Destination]: ...
    @property
    def check(self) -> Optional[Check]: ...
    @property
    def on_failure(self) -> OnFailure: ...
    @property
    def quorum(self) -> int: ...
    @property
    def sorry_server(self) -> Optional[Destination]: ...

@final
class DesiredState:
    """Everything a director keeps in the kernel; validated when made."""

    def __new__(cls, services: Optional[Iterable[DirectedService]] = None) -> DesiredState: ...
    @staticmethod
    def from_table(table: Table) -> DesiredState: ...
    @property
    def services(self) -> List[DirectedService]: ...
    def __len__(self) -> int: ...

def parse_file(text: str, format: Union[FileFormat, str]) -> DesiredState:
    """Parses desired state from ipvsadm rules or the JSON form; validated."""

@final
class DestinationId:
    """One real server of one service."""

    def __new__(cls, service: ServiceKey, addr: AddressLike, port: int) -> DestinationId: ...
    @property
    def service(self) -> ServiceKey: ...
    @property
    def addr(self) -> IPAddress: ...
    @property
    def port(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Health:
    """The health of one checked real server."""

    @property
    def state(self) -> HealthState: ...
    @property
    def streak(self) -> int: ...
    @property
    def checks(self) -> int: ...
    @property
    def last_error(self) -> Optional[str]: ...

@final
class Event:
    """Something the director did or saw; fields that do not apply to its kind are ``None`` or empty."""

    @property
    def kind(self) -> EventKind: ...
    @property
    def destination(self) -> Optional[DestinationId]: ...
    @property
    def state(self) -> Optional[HealthState]: ...
    @property
    def reason(self) -> Optional[str]: ...
    @property
    def operations(self) -> List[Operation]: ...
    @property
    def done(self) -> int: ...
    @property
    def failed(self) -> List[Tuple[Operation, str]]: ...
    @property
    def drain_end(self) -> Optional[DrainEnd]: ...
    @property
    def error(self) -> Optional[str]: ...
    @property
    def retry_in(self) -> Optional[float]: ...
    @property
    def source(self) -> Optional[str]: ...
    @property
    def path(self) -> Optional[str]: ...

@final
class Subscription:
    """A director's events from when subscribed; iteration ends after the ``STOPPED`` event."""

    def get(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event within ``timeout`` seconds (``None``: no limit), or ``None``."""
    def __iter__(self) -> Subscription: ...
    def __next__(self) -> Event: ...

@final
class Director:
    """Keeps a namespace's IPVS table equal to desired state x health x quorum x drains."""

    @staticmethod
    def start(
        desired: DesiredState,
        *,
        namespace: _NamespaceLike = ...,
        period: float = ...,
        drain_deadline: float = ...,
        backoff_min: float = ...,
        backoff_max: float = ...,
        on_event: Optional[Callable[[Event], object]] = ...,
    ) -> Director: ...
    @staticmethod
    def watch(
        path: Union[str, "_PathLike[str]"],
        format: Union[FileFormat, str],
        *,
        namespace: _NamespaceLike = ...,
        period: float = ...,
        drain_deadline: float = ...,
        backoff_min: float = ...,
        backoff_max: float = ...,
        on_event: Optional[Callable[[Event], object]] = ...,
    ) -> Director: ...
    def set_desired(self, desired: DesiredState) -> None: ...
    def reconcile_now(self) -> None: ...
    def subscribe(self) -> Subscription: ...
    def health(self) -> Dict[DestinationId, Health]: ...
    def draining(self) -> List[DestinationId]: ...
    def metrics(self) -> List[ServiceMetrics]: ...
    def metrics_text(self) -> str: ...
    @property
    def running(self) -> bool: ...
    def stop(self) -> None: ...
    def __enter__(self) -> Director: ...
    def __exit__(self, *_exc: object) -> bool: ...

@final
class ServiceMetrics:
    """One service's metrics: the kernel's listing with counters, and its real servers."""

    @property
    def entry(self) -> ServiceEntry: ...
    @property
    def destinations(self) -> List[DestinationMetrics]: ...

@final
class DestinationMetrics:
    """One real server's metrics: the kernel's listing, health and drain."""

    @property
    def entry(self) -> DestinationEntry: ...
    @property
    def health(self) -> Optional[HealthState]: ...
    @property
    def draining(self) -> bool: ...

def metrics_render(services: Iterable[ServiceMetrics]) -> str:
    """Metrics in the Prometheus text format."""

def director_stop_all() -> None:
    """Stops every director still running (registered with ``atexit``)."""

METRICS_CONTENT_TYPE: str
