"""The IPVS settings of a network namespace: typed ``net.ipv4.vs.*`` sysctls."""

from typing import Dict, List, Mapping, NamedTuple, Tuple, Union

from ._handle import NamespaceLike
from ._model import _ReprEnum

__all__ = ["Knob", "Value", "Change", "read", "read_all", "write", "apply"]

Value = Union[bool, int, Tuple[int, int], str]

class Knob(_ReprEnum):
    """One ``net.ipv4.vs.*`` sysctl; the value is its file name."""

    AM_DROPRATE = "am_droprate"
    AMEMTHRESH = "amemthresh"
    BACKUP_ONLY = "backup_only"
    CACHE_BYPASS = "cache_bypass"
    CONN_REUSE_MODE = "conn_reuse_mode"
    CONNTRACK = "conntrack"
    DROP_ENTRY = "drop_entry"
    DROP_PACKET = "drop_packet"
    EST_CPULIST = "est_cpulist"
    EST_NICE = "est_nice"
    EXPIRE_NODEST_CONN = "expire_nodest_conn"
    EXPIRE_QUIESCENT_TEMPLATE = "expire_quiescent_template"
    IGNORE_TUNNELED = "ignore_tunneled"
    LBLC_EXPIRATION = "lblc_expiration"
    LBLCR_EXPIRATION = "lblcr_expiration"
    NAT_ICMP_SEND = "nat_icmp_send"
    PMTU_DISC = "pmtu_disc"
    RUN_ESTIMATION = "run_estimation"
    SCHEDULE_ICMP = "schedule_icmp"
    SECURE_TCP = "secure_tcp"
    SLOPPY_SCTP = "sloppy_sctp"
    SLOPPY_TCP = "sloppy_tcp"
    SNAT_REROUTE = "snat_reroute"
    SYNC_PERSIST_MODE = "sync_persist_mode"
    SYNC_PORTS = "sync_ports"
    SYNC_QLEN_MAX = "sync_qlen_max"
    SYNC_REFRESH_PERIOD = "sync_refresh_period"
    SYNC_RETRIES = "sync_retries"
    SYNC_SOCK_SIZE = "sync_sock_size"
    SYNC_THRESHOLD = "sync_threshold"
    SYNC_VERSION = "sync_version"

class Change(NamedTuple):
    knob: Knob
    before: Value
    after: Value

def read(knob: Union[Knob, str], *, namespace: NamespaceLike = None) -> Value: ...
def read_all(*, namespace: NamespaceLike = None) -> Dict[Knob, Value]: ...
def write(knob: Union[Knob, str], value: Value, *, namespace: NamespaceLike = None) -> None: ...
def apply(settings: Mapping[Union[Knob, str], Value], *, namespace: NamespaceLike = None) -> List[Change]: ...
