"""Manage Linux Virtual Server (IPVS) load balancers over netlink.

A Python binding of the Rust ``ipvs`` crate::

    import ipvs

    with ipvs.Ipvs() as lb:                       # or Ipvs(namespace="blue")
        key = ipvs.ServiceKey.tcp("10.0.0.100", 80)
        lb.add_service(ipvs.Service(key, scheduler=ipvs.Scheduler.RR))
        lb.add_destination(key, ipvs.Destination("192.168.10.11", 80,
                                                 forwarding=ipvs.Forwarding.MASQ))
        for entry in lb.services():
            print(entry.service, lb.destinations(entry.key))

Values are frozen, hashable classes that convert to and from the core's serde
form (``to_dict``/``from_dict``, ``to_json``/``from_json``). Tunnel devices,
addresses, FOU ports and real-server set-up are in :mod:`ipvs.tunnel`. Errors are
:class:`IpvsError`; kernel errors are also :class:`OSError` with ``errno``.
"""

from ._batch import (
    BatchMode,
    BatchReport,
    Operation,
    OperationKind,
    OpOutcome,
    OutcomeStatus,
    Plan,
    Scope,
    Table,
    TableService,
    diff,
    simulate,
)
from . import rules, sysctl, tunnel
from . import director as director
from .rules import RestoreReport
from ._conn import Connection, ConnectionOrigin, parse_connections, read_connections
from ._errors import (
    ConnectionParseError,
    ExistsError,
    InvalidArgumentError,
    InvalidInputError,
    IpvsError,
    IpvsTimeoutError,
    KernelError,
    ModuleMissingError,
    NamespaceNotFoundError,
    NotAttemptedError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RulesParseError,
    SystemCallError,
)
from ._handle import Ipvs, NamespaceLike
from ._ipvs import __version__
from ._model import (
    AddressLike,
    Destination,
    DestinationEntry,
    EncapFlags,
    Family,
    Forwarding,
    FwmarkKey,
    InetKey,
    Info,
    IPAddress,
    Netmask,
    Persistence,
    Protocol,
    Scheduler,
    Service,
    ServiceEntry,
    ServiceFlags,
    ServiceKey,
    Stats,
    SyncDaemon,
    SyncState,
    Timeouts,
    TunnelType,
)

__all__ = [
    "__version__",
    # handle
    "Ipvs",
    "NamespaceLike",
    # model
    "AddressLike",
    "IPAddress",
    "Netmask",
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
    "Persistence",
    "Service",
    "Destination",
    "Stats",
    "ServiceEntry",
    "DestinationEntry",
    "Timeouts",
    "Info",
    "SyncDaemon",
    # batches, tables, plans
    "Operation",
    "OperationKind",
    "BatchMode",
    "OutcomeStatus",
    "OpOutcome",
    "BatchReport",
    "TableService",
    "Table",
    "Plan",
    "Scope",
    "diff",
    "simulate",
    # rules text (ipvsadm -S / -R)
    "rules",
    "RestoreReport",
    "sysctl",
    # tunnels, addresses, FOU ports, real-server set-up
    "tunnel",
    # connection table
    "Connection",
    "ConnectionOrigin",
    "parse_connections",
    "read_connections",
    # errors
    "IpvsError",
    "KernelError",
    "ExistsError",
    "NotFoundError",
    "InvalidArgumentError",
    "PermissionDeniedError",
    "ModuleMissingError",
    "SystemCallError",
    "NamespaceNotFoundError",
    "InvalidInputError",
    "ProtocolError",
    "IpvsTimeoutError",
    "NotAttemptedError",
    "RulesParseError",
    "ConnectionParseError",
]
