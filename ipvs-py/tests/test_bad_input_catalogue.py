"""The catalogue of bad input (issue #10), from Python: one clear list.

Each case names what is wrong, the exception it must raise (and the errno
when the kernel refused it), and leaves everything as it was: the IPVS table
(``ipvsadm -Sn``), the sync daemons (``ipvsadm -Ln --daemon``), the
timeouts, the devices (``ip -j link``), the addresses and the FOU ports are
compared before and after. Each case runs in its own namespace in the VM;
some first build what they need (a service to add twice, a daemon to start
twice), before the "before" picture is taken.
"""

from __future__ import annotations

import errno as E
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import pytest

import ipvs
from conftest import Netns
from ipvs import tunnel as t

pytestmark = pytest.mark.kernel

VIP = ipvs.ServiceKey.tcp("10.0.0.1", 80)
VIP6 = ipvs.ServiceKey.tcp("2001:db8::1", 80)

Step = Callable[[Netns, ipvs.Ipvs], object]

# values as a kernel listing holds them (another client wrote them, or a newer
# kernel defines them): they list, and writing them back is refused
UNKNOWN_PROTOCOL = ipvs.Service._from_kernel({"key": {"inet": {"protocol": {"unknown": 33}, "addr": "10.0.0.1", "port": 80}}})
PERSISTENT_ZERO = ipvs.Service._from_kernel(
    {"key": {"inet": {"protocol": "tcp", "addr": "10.0.0.1", "port": 80}}, "persistence": {"timeout": 0, "netmask": {"v4": "255.255.255.255"}}}
)
UNKNOWN_FORWARDING = ipvs.Destination._from_kernel({"addr": "10.0.1.2", "port": 80, "forward": {"unknown": 5}})
UNKNOWN_TUNNEL = ipvs.Destination._from_kernel({"addr": "10.0.1.1", "port": 80, "forward": {"tunnel": {"unknown": 9}}})
UNKNOWN_STATE = ipvs.SyncDaemon._from_kernel({"state": {"unknown": 3}, "interface": "sync0", "sync_id": 1})


@dataclass(frozen=True)
class Case:
    id: str
    act: Step
    exc: type
    errno: Optional[int] = None
    setup: Optional[Step] = None


def service(ns: Netns, lb: ipvs.Ipvs) -> None:
    lb.add_service(ipvs.Service(VIP))


def service_and_server(ns: Netns, lb: ipvs.Ipvs) -> None:
    service(ns, lb)
    lb.add_destination(VIP, ipvs.Destination("10.0.1.1", 80, forwarding="masq"))


def sync_if(ns: Netns, lb: ipvs.Ipvs) -> None:
    ns.dummy("sync0", "10.9.0.1/24")
    ns.ip("link", "set", "sync0", "multicast", "on")


def master_daemon(ns: Netns, lb: ipvs.Ipvs) -> None:
    sync_if(ns, lb)
    lb.start_daemon(ipvs.SyncDaemon("master", "sync0", 1))


def tunnel_dev(ns: Netns, lb: ipvs.Ipvs) -> None:
    with t.Rtnl(ns.name) as r:
        r.add_link(t.NewLink("tun1", t.TunnelConfig("ipip", remote="198.51.100.1"), up=True))
        r.add_address("tun1", "203.0.113.10")


def fou_port(ns: Netns, lb: ipvs.Ipvs) -> None:
    with t.Fou(ns.name) as f:
        f.add(t.FouPort.gue(6080))


def rtnl(ns: Netns) -> t.Rtnl:
    return t.Rtnl(ns.name)


def closed(ns: Netns) -> ipvs.Ipvs:
    h = ipvs.Ipvs(ns.name)
    h.close()
    return h


def closed_rtnl(ns: Netns) -> t.Rtnl:
    r = t.Rtnl(ns.name)
    r.close()
    return r


CASES: List[Case] = [
    # ---------------------------------------------------------------- services
    Case("service: double add", lambda ns, lb: lb.add_service(ipvs.Service(VIP)), ipvs.ExistsError, E.EEXIST, service),
    Case("service: delete of a missing one", lambda ns, lb: lb.delete_service(VIP), ipvs.NotFoundError, E.ESRCH),
    Case("service: update of a missing one", lambda ns, lb: lb.update_service(ipvs.Service(VIP, scheduler="rr")), ipvs.NotFoundError, E.ESRCH),
    Case("service: unknown scheduler", lambda ns, lb: lb.add_service(ipvs.Service(VIP, scheduler="nosuchsched")), ipvs.ModuleMissingError, E.ENOENT),
    Case("service: scheduler name too long", lambda ns, lb: lb.add_service(ipvs.Service(VIP, scheduler="s" * 16)), ValueError),
    Case("service: scheduler name with NUL", lambda ns, lb: lb.add_service(ipvs.Service(VIP, scheduler="r\0r")), ValueError),
    Case("service: port out of range", lambda ns, lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 65536))), ValueError),
    Case("service: fwmark 0", lambda ns, lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.fwmark(0))), ipvs.InvalidInputError),
    Case("service: non-contiguous netmask", lambda ns, lb: lb.add_service(ipvs.Service(VIP, persistence=ipvs.Persistence(300, "255.0.255.0"))), ipvs.InvalidInputError),
    Case("service: IPv6 prefix length 129", lambda ns, lb: lb.add_service(ipvs.Service(VIP6, persistence=ipvs.Persistence(300, 129))), ipvs.InvalidInputError),
    Case("service: netmask of the other family", lambda ns, lb: lb.add_service(ipvs.Service(VIP6, persistence=ipvs.Persistence(300, "255.255.255.0"))), ipvs.InvalidInputError),
    Case("service: persistence engine without persistence", lambda ns, lb: lb.add_service(ipvs.Service(VIP, pe="sip")), ipvs.InvalidInputError),
    Case("service: persistence timeout 0", lambda ns, lb: lb.add_service(ipvs.Service(VIP, persistence=ipvs.Persistence(0))), ipvs.InvalidInputError),
    Case("service: multicast virtual address", lambda ns, lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("224.0.0.1", 80))), ipvs.InvalidInputError),
    Case("service: persistence timeout 2^31 (the kernel would keep 0)", lambda ns, lb: lb.add_service(ipvs.Service(VIP, persistence=2**31)), ipvs.InvalidInputError),
    Case("service: persistence timeout 17179870 (the kernel would keep 0)", lambda ns, lb: lb.add_service(ipvs.Service(VIP, persistence=17_179_870)), ipvs.InvalidInputError),
    Case("service: persistence timeout raised past 31 days", lambda ns, lb: lb.update_service(ipvs.Service(VIP, persistence=ipvs.Persistence.MAX_TIMEOUT + 1)), ipvs.InvalidInputError, None, service),
    Case("service: port 0 without persistence", lambda ns, lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 0))), ipvs.InvalidInputError),
    Case("service: UDP port 0 without persistence", lambda ns, lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.udp("10.0.0.1", 0))), ipvs.InvalidInputError),
    Case("service: unknown protocol read back", lambda ns, lb: lb.add_service(UNKNOWN_PROTOCOL), ipvs.InvalidInputError),
    Case("service: -p 0 read back", lambda ns, lb: lb.add_service(PERSISTENT_ZERO), ipvs.InvalidInputError),
    # ---------------------------------------------------------------- destinations
    Case("destination: double add", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("10.0.1.1", 80, forwarding="masq")), ipvs.ExistsError, E.EEXIST, service_and_server),
    Case("destination: to a missing service", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("10.0.1.1", 80)), ipvs.NotFoundError, E.ESRCH),
    Case("destination: delete of a missing one", lambda ns, lb: lb.delete_destination(VIP, "10.0.1.9", 80), ipvs.NotFoundError, E.ENOENT, service),
    Case("destination: update of a missing one", lambda ns, lb: lb.update_destination(VIP, ipvs.Destination("10.0.1.9", 80)), ipvs.NotFoundError, E.ENOENT, service),
    Case("destination: weight above 2^31-1", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("10.0.1.2", 80, weight=2**31)), ipvs.InvalidInputError, None, service),
    Case("destination: negative weight", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("10.0.1.2", 80, weight=-1)), ValueError, None, service),
    Case("destination: lower threshold above upper", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("10.0.1.2", 80, upper_threshold=5, lower_threshold=9)), ipvs.InvalidInputError, None, service),
    Case("destination: threshold above 2^31-1", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("10.0.1.2", 80, upper_threshold=2**31)), ipvs.InvalidInputError, None, service),
    Case("destination: family mismatch without tunnel", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("2001:db8::5", 80)), ipvs.InvalidInputError, None, service),
    Case("destination: port out of range", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("10.0.1.2", 70000)), ValueError, None, service),
    Case("destination: GUE without a port", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("10.0.1.2", 80, forwarding="tunnel", tunnel="gue")), ipvs.InvalidInputError, None, service),
    Case("destination: broadcast address", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("255.255.255.255", 80)), ipvs.InvalidInputError, None, service),
    Case("destination: unknown forwarding method read back", lambda ns, lb: lb.add_destination(VIP, UNKNOWN_FORWARDING), ipvs.InvalidInputError, None, service),
    Case("destination: unknown tunnel type read back", lambda ns, lb: lb.update_destination(VIP, UNKNOWN_TUNNEL), ipvs.InvalidInputError, None, service_and_server),
    # ---------------------------------------------------------------- daemons
    Case("daemon: second master", lambda ns, lb: lb.start_daemon(ipvs.SyncDaemon("master", "sync0", 2)), ipvs.ExistsError, E.EEXIST, master_daemon),
    Case("daemon: missing interface", lambda ns, lb: lb.start_daemon(ipvs.SyncDaemon("backup", "nosuchif0")), ipvs.NotFoundError, E.ENODEV),
    Case("daemon: interface name too long", lambda ns, lb: lb.start_daemon(ipvs.SyncDaemon("master", "i" * 16)), ipvs.InvalidInputError, None, sync_if),
    Case("daemon: interface name with NUL", lambda ns, lb: lb.start_daemon(ipvs.SyncDaemon("master", "sync\0")), ipvs.InvalidInputError, None, sync_if),
    Case("daemon: group not multicast", lambda ns, lb: lb.start_daemon(ipvs.SyncDaemon("master", "sync0", group="10.0.0.1")), ipvs.InvalidInputError, None, sync_if),
    Case("daemon: TTL 0", lambda ns, lb: lb.start_daemon(ipvs.SyncDaemon("master", "sync0", ttl=0)), ipvs.InvalidInputError, None, sync_if),
    Case("daemon: sync id 256", lambda ns, lb: lb.start_daemon(ipvs.SyncDaemon("master", "sync0", 256)), ipvs.InvalidInputError, None, sync_if),
    Case("daemon: backup max_len the kernel would raise", lambda ns, lb: lb.start_daemon(ipvs.SyncDaemon("backup", "sync0", max_len=1000)), ipvs.InvalidInputError, None, sync_if),
    Case("daemon: max_len 0", lambda ns, lb: lb.start_daemon(ipvs.SyncDaemon("master", "sync0", max_len=0)), ipvs.InvalidInputError, None, sync_if),
    Case("daemon: unknown state read back", lambda ns, lb: lb.start_daemon(UNKNOWN_STATE), ipvs.InvalidInputError, None, sync_if),
    Case("daemon: stop of an unknown state", lambda ns, lb: lb.stop_daemon(UNKNOWN_STATE.state), ipvs.InvalidInputError, None, master_daemon),
    Case("daemon: stop of one not running", lambda ns, lb: lb.stop_daemon("backup"), ipvs.NotFoundError, None, master_daemon),
    # ---------------------------------------------------------------- timeouts
    Case("timeouts: above the kernel's maximum", lambda ns, lb: lb.set_timeouts(ipvs.Timeouts(tcp=10**7)), ValueError),
    Case("timeouts: negative", lambda ns, lb: lb.set_timeouts(ipvs.Timeouts(udp=-1)), ValueError),
    Case("timeouts: one above the maximum", lambda ns, lb: lb.set_timeouts(ipvs.Timeouts(tcp_fin=ipvs.Timeouts.MAX + 1)), ipvs.InvalidInputError),
    # ---------------------------------------------------------------- namespaces
    Case("namespace: missing", lambda ns, lb: ipvs.Ipvs("no-such-netns-here"), ipvs.SystemCallError, E.ENOENT),
    Case("namespace: name with a NUL", lambda ns, lb: ipvs.Ipvs("a\0b"), ValueError),
    Case("namespace: missing for tunnels", lambda ns, lb: t.Rtnl("no-such-netns-here"), ipvs.SystemCallError, E.ENOENT),
    Case("namespace: missing is not found", lambda ns, lb: ipvs.Ipvs("no-such-netns-here"), ipvs.NotFoundError, E.ENOENT),
    Case("namespace: missing for FOU is not found", lambda ns, lb: t.Fou("no-such-netns-here"), ipvs.NotFoundError, E.ENOENT),
    Case("namespace: missing for the connection table", lambda ns, lb: ipvs.read_connections("no-such-netns-here"), ipvs.NotFoundError, E.ENOENT),
    Case("namespace: fd 2**40", lambda ns, lb: ipvs.Ipvs(2**40), ipvs.InvalidInputError),
    Case("namespace: negative fd", lambda ns, lb: ipvs.Ipvs(-1), ipvs.InvalidInputError),
    Case("namespace: fd of the wrong type", lambda ns, lb: ipvs.Ipvs(1.5), TypeError),  # type: ignore[arg-type]
    # ---------------------------------------------------------------- numbers and types (issue 17)
    Case("service: port 70000", lambda ns, lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 70000))), ipvs.InvalidInputError),
    Case("service: fwmark 2**32", lambda ns, lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.fwmark(2**32))), ipvs.InvalidInputError),
    Case("service: port of the wrong type", lambda ns, lb: lb.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", "80"))), TypeError),  # type: ignore[arg-type]
    Case("service: JSON text instead of a Service", lambda ns, lb: lb.add_service(ipvs.Service(VIP).to_json()), TypeError),  # type: ignore[arg-type]
    Case("destination: weight 2**32", lambda ns, lb: lb.add_destination(VIP, ipvs.Destination("10.0.1.2", 80, weight=2**32)), ipvs.InvalidInputError, None, service),
    Case("destination: weight 2**64", lambda ns, lb: lb.set_weight(VIP, "10.0.1.1", 80, 2**64), ipvs.InvalidInputError, None, service_and_server),
    Case("destination: delete with port 70000", lambda ns, lb: lb.delete_destination(VIP, "10.0.1.1", 70000), ipvs.InvalidInputError, None, service_and_server),
    Case("timeouts: 2**40", lambda ns, lb: lb.set_timeouts(ipvs.Timeouts(tcp=2**40)), ipvs.InvalidInputError),
    Case("handle: receive buffer 2**40", lambda ns, lb: lb.set_receive_buffer(2**40), ipvs.InvalidInputError),
    Case("handle: call on a closed handle", lambda ns, lb: closed(ns).add_service(ipvs.Service(VIP)), ipvs.InvalidInputError),
    Case("handle: call on a closed tunnel handle", lambda ns, lb: closed_rtnl(ns).set_up("lo"), ipvs.InvalidInputError),
    # ---------------------------------------------------------------- tunnels
    Case("tunnel: name too long", lambda ns, lb: rtnl(ns).add_link(t.NewLink("t" * 16, t.TunnelConfig("ipip"))), ipvs.InvalidInputError),
    Case("tunnel: name with NUL", lambda ns, lb: rtnl(ns).add_link(t.NewLink("tun\0", t.TunnelConfig("ipip"))), ipvs.InvalidInputError),
    Case("tunnel: MTU below 68", lambda ns, lb: rtnl(ns).add_link(t.NewLink("tun2", t.TunnelConfig("ipip"), mtu=60)), ipvs.InvalidInputError),
    Case("tunnel: MTU the kernel refuses", lambda ns, lb: rtnl(ns).set_mtu("tun1", 70000), ipvs.InvalidArgumentError, E.EINVAL, tunnel_dev),
    Case("tunnel: v4 address on a v6 kind", lambda ns, lb: rtnl(ns).add_link(t.NewLink("tun2", t.TunnelConfig("ip6tnl", remote="192.0.2.1"))), ipvs.InvalidInputError),
    Case("tunnel: keys on ipip", lambda ns, lb: rtnl(ns).add_link(t.NewLink("tun2", t.TunnelConfig("ipip", ikey=3))), ipvs.InvalidInputError),
    Case("tunnel: missing device", lambda ns, lb: rtnl(ns).set_up("nosuch0"), ipvs.NotFoundError, E.ENODEV),
    Case("tunnel: address on a missing device", lambda ns, lb: rtnl(ns).add_address("nosuch0", "203.0.113.1"), ipvs.NotFoundError, E.ENODEV),
    Case("tunnel: double add", lambda ns, lb: rtnl(ns).add_link(t.NewLink("tun1", t.TunnelConfig("ipip"))), ipvs.ExistsError, E.EEXIST, tunnel_dev),
    Case("tunnel: address added twice", lambda ns, lb: rtnl(ns).add_address("tun1", "203.0.113.10/32"), ipvs.ExistsError, E.EEXIST, tunnel_dev),
    Case("tunnel: delete of a missing address", lambda ns, lb: rtnl(ns).del_address("tun1", "203.0.113.99"), ipvs.NotFoundError, E.EADDRNOTAVAIL, tunnel_dev),
    Case("tunnel: change of a fallback device", lambda ns, lb: rtnl(ns).set_tunnel("tunl0", t.TunnelConfig("ipip", ttl=9)), ipvs.InvalidArgumentError, E.EINVAL),
    Case("tunnel: FOU port added twice", lambda ns, lb: t.Fou(ns.name).add(t.FouPort.gue(6080)), ipvs.ExistsError, None, fou_port),
    Case("tunnel: delete of a missing FOU port", lambda ns, lb: t.Fou(ns.name).delete(t.FouPort.gue(6099)), ipvs.NotFoundError),
    Case("tunnel: real server on a device of another kind", lambda ns, lb: t.prepare(t.RealServer.dr_dummy("tun1", "203.0.113.20"), namespace=ns.name), ipvs.InvalidInputError, None, tunnel_dev),
    Case("tunnel: real server without a VIP", lambda ns, lb: t.prepare(t.RealServer.dr([]), namespace=ns.name), ipvs.InvalidInputError),
]


PICTURE = [
    ("rules", "ipvsadm -Sn"),
    ("daemons", "ipvsadm -Ln --daemon"),
    ("timeouts", "ipvsadm -Ln --timeout"),
    ("links", "ip -j link show"),
    ("addresses", "ip -j addr show"),
    ("fou", "ip fou show"),
]


def picture(ns: Netns) -> Dict[str, str]:
    """Everything a bad request must leave alone (one process in the namespace: the VM is slow to start them)."""
    script = "; ".join(f"echo '=== {name}'; {cmd} 2>&1" for name, cmd in PICTURE)
    out = ns.exec("sh", "-c", script)
    parts = {}
    for chunk in out.split("=== ")[1:]:
        name, _, body = chunk.partition("\n")
        parts[name] = body
    assert set(parts) == {name for name, _ in PICTURE}, out
    assert parts["links"].lstrip().startswith("["), parts["links"]
    return parts


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_a_typed_error_and_changes_nothing(case: Case, netns: Netns, lb: ipvs.Ipvs) -> None:
    if case.setup is not None:
        case.setup(netns, lb)
    before = picture(netns)
    with pytest.raises(case.exc) as raised:
        case.act(netns, lb)
    if case.errno is not None:
        assert isinstance(raised.value, OSError), raised.value
        assert raised.value.errno == case.errno, raised.value
    if isinstance(raised.value, ipvs.InvalidInputError):
        # refused before anything was sent: never an OSError
        assert not isinstance(raised.value, OSError)
    assert picture(netns) == before


def test_the_catalogue_is_broad() -> None:
    areas = {c.id.split(":")[0] for c in CASES}
    assert {"service", "destination", "daemon", "timeouts", "namespace", "tunnel", "handle"} <= areas
    assert len(CASES) >= 15
