"""The value classes that were Python dataclasses are native (issue 17 item 1).

Each is a class of the compiled module, built from the core's value, and
keeps the API of the frozen dataclass it was: keyword construction, equality
and hashing by value, the dataclass repr, frozen attributes, pickling,
``dataclasses.replace``/``fields``/``asdict``.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import pickle
from typing import Any, List

import pytest

import ipvs
from ipvs import _ipvs

STATS = ipvs.Stats(conns=1, in_bytes=2**63)
SVC = ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 80), scheduler="rr")
DEST = ipvs.Destination("10.0.1.1", 80, forwarding="masq", weight=3)

VALUES: List[Any] = [
    STATS,
    ipvs.ServiceEntry(SVC, STATS),
    ipvs.DestinationEntry(DEST, 4, 5, 6, STATS),
    ipvs.Timeouts(900, 120, 300),
    ipvs.Info(0x010201, 4096),
    ipvs.SyncDaemon("backup", "eth0", 7, group="239.1.1.1", ttl=2),
    ipvs.Connection("TCP", "10.0.0.9", 4000, "10.0.0.1", 80, "10.0.1.1", 80, "ESTABLISHED", 60, origin="sync"),
    ipvs.TableService(SVC, [DEST]),
    ipvs.Table([ipvs.TableService(SVC, [DEST])], ipvs.Timeouts(1, 2, 3)),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_native_and_dataclass_like(value: Any) -> None:
    cls = type(value)
    assert getattr(_ipvs, cls.__name__) is cls and getattr(ipvs, cls.__name__) is cls
    assert not hasattr(value, "__dict__")  # a native object, no per-instance dict
    names = [f.name for f in dataclasses.fields(value)]
    assert names == list(value.to_dict())
    again = dataclasses.replace(value)
    assert again == value and hash(again) == hash(value) and again is not value
    assert pickle.loads(pickle.dumps(value)) == value and copy.deepcopy(value) == value
    assert dataclasses.asdict(value).keys() == value.to_dict().keys()
    with pytest.raises(AttributeError):
        setattr(value, names[0], None)
    assert value != object() and value != None  # noqa: E711


def test_reprs_are_the_dataclass_ones() -> None:
    assert repr(ipvs.Timeouts(900, 120, 300)) == "Timeouts(tcp=900, tcp_fin=120, udp=300)"
    assert repr(ipvs.Info(1, 2)) == "Info(version=1, conn_table_size=2)"
    assert repr(ipvs.Stats(cps=3)).startswith("Stats(conns=0, in_packets=0, out_packets=0, in_bytes=0, out_bytes=0, cps=3,")
    assert repr(ipvs.ServiceEntry(SVC)) == f"ServiceEntry(service={SVC!r}, stats={ipvs.Stats()!r})"
    c = VALUES[6]
    assert repr(c).startswith("Connection(protocol='TCP', client_addr=IPv4Address('10.0.0.9'), client_port=4000,")
    assert repr(c).endswith("origin=ConnectionOrigin.SYNC)")


def test_replace_changes_and_checks() -> None:
    t = ipvs.Timeouts(900, 120, 300)
    assert dataclasses.replace(t, udp=5) == t.replace(udp=5) == ipvs.Timeouts(900, 120, 5)
    with pytest.raises(ipvs.InvalidInputError, match="udp timeout -1 is outside"):
        t.replace(udp=-1)
    d = VALUES[5]
    assert d.replace(ttl=9).ttl == 9
    with pytest.raises(ValueError, match="TTL must be 1 to 255"):
        d.replace(ttl=0)
    e = VALUES[2]
    assert e.replace(active_conns=0).active_conns == 0 and e.replace(active_conns=0).stats == STATS
    with pytest.raises(TypeError):
        e.replace(colour="red")


def test_entries_are_built_from_the_core_values() -> None:
    e = VALUES[1]
    assert e.service == SVC and e.key == SVC.key and e.stats.in_bytes == 2**63
    de = VALUES[2]
    assert de.addr == ipaddress.IPv4Address("10.0.1.1") and de.port == 80 and de.destination == DEST
    assert str(de).split() == ["->", "10.0.1.1:80", "Masq", "3", "4", "5"]
    c = VALUES[6]
    assert c.origin is ipvs.ConnectionOrigin.SYNC and not c.is_template
    assert c.client_addr == ipaddress.IPv4Address("10.0.0.9")
    # wrong types are TypeErrors naming the field, out-of-range numbers InvalidInputErrors
    with pytest.raises(TypeError, match="stats must be a Stats"):
        ipvs.ServiceEntry(SVC, 3)  # type: ignore[arg-type]
    with pytest.raises(ipvs.InvalidInputError, match="client port 70000"):
        ipvs.Connection("TCP", "10.0.0.9", 70000, "10.0.0.1", 80, "10.0.1.1", 80, "NONE", 0)
    with pytest.raises(ipvs.InvalidInputError, match="active_conns"):
        ipvs.DestinationEntry(DEST, -1)


def test_tables_are_native_and_keep_their_services() -> None:
    t = VALUES[-1]
    assert t.services is t.services  # a tuple kept, not rebuilt per access
    assert t.services[0].key == SVC.key and t.services[0].destinations == (DEST,)
    assert t.service(SVC.key) == VALUES[-2] and t.service(ipvs.ServiceKey.fwmark(1)) is None
    assert repr(VALUES[-2]) == f"TableService({SVC!r}, [{DEST!r}])"
    assert repr(t) == f"Table([{VALUES[-2]!r}], timeouts=Timeouts(tcp=1, tcp_fin=2, udp=3))"
    with pytest.raises(TypeError, match="table service must be a TableService"):
        ipvs.Table([SVC])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="destination must be a Destination"):
        ipvs.TableService(SVC, ["10.0.0.1"])  # type: ignore[list-item]


def test_single_operations_are_the_compiled_methods() -> None:
    """No Python layer between a single operation and the kernel: ``Ipvs``
    inherits the compiled handle's methods as they are."""
    for name in (
        "add_service",
        "update_service",
        "delete_service",
        "service",
        "services",
        "add_destination",
        "update_destination",
        "delete_destination",
        "set_weight",
        "set_scheduler",
        "destinations",
        "start_daemon",
        "stop_daemon",
        "daemons",
        "timeouts",
        "set_timeouts",
        "info",
        "zero",
        "flush",
        "table",
        "close",
    ):
        assert getattr(ipvs.Ipvs, name) is getattr(_ipvs.Handle, name), name
    assert issubclass(ipvs.Ipvs, _ipvs.Handle)
