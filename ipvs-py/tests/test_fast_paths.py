"""The binding's fast paths (issue 17, speed) behave as the general ones.

Address text is read by a one-pass dotted-quad reader before the general
parser (ipvs-py/src/addr_text.rs); value objects are recognised and made
against kept type objects (ipvs-py/src/types.rs). Pure: no kernel.
"""

from __future__ import annotations

import gc
import ipaddress
import sys
import tracemalloc
from typing import Callable, List, Optional

import pytest

import ipvs

ADDRESS_TEXTS = [
    "10.0.0.1",
    "0.0.0.0",
    "1.0.0.0",
    "255.255.255.255",
    "172.16.0.1",
    "01.2.3.4",
    "1.2.3.04",
    "0.0.0.00",
    "00.1.1.1",
    "1.2.3.0255",
    "256.0.0.1",
    "999.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.4.",
    ".1.2.3",
    "1..2.3",
    "1.2.3.-1",
    "+1.2.3.4",
    "1.2.3.4 ",
    " 1.2.3.4",
    "1.2.3.4\n",
    "\u0661.2.3.4",
    "",
    ".",
    "...",
    "::1",
    "fe80::1",
    "::ffff:1.2.3.4",
    "1:2:3:4:5:6:7:8",
    "1.2.3.4::",
]


def _ours(text: str) -> Optional[str]:
    try:
        return str(ipvs.ServiceKey.tcp(text, 80).addr)
    except ipvs.InvalidInputError:
        return None


def _python(text: str) -> Optional[str]:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@pytest.mark.parametrize("text", ADDRESS_TEXTS)
def test_address_text_read_as_ipaddress_reads_it(text: str) -> None:
    assert _ours(text) == _python(text)


@pytest.mark.parametrize("text", ["1.2.3.04", "256.0.0.1", "1.2.3"])
def test_refused_address_text_names_the_field(text: str) -> None:
    with pytest.raises(ipvs.InvalidInputError, match=r"real server address: .* is not an IP address"):
        ipvs.Destination(text, 80)


def _made(n: int) -> None:
    for i in range(n):
        k = ipvs.ServiceKey.tcp(f"10.0.{i // 256}.{i % 256}", 80)
        f = ipvs.ServiceKey.fwmark(i + 1)
        d = ipvs.Destination("172.16.0.1", 8080, forwarding=ipvs.Forwarding.MASQ, weight=1)
        ops = [
            ipvs.Operation.add_service(ipvs.Service(k)),
            ipvs.Operation.add_destination(k, d),
            ipvs.Operation.delete_destination(f, "172.16.0.1", 8080),
            ipvs.Operation.zero(k),
        ]
        assert ipvs.Plan(tuple(ops)).operations == tuple(ops)


def test_values_made_against_kept_types_are_what_they_say() -> None:
    k = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    f = ipvs.ServiceKey.fwmark(7)
    s = ipvs.Service(k)
    d = ipvs.Destination("172.16.0.1", 8080)
    assert type(k) is ipvs.InetKey and isinstance(k, ipvs.ServiceKey)
    assert type(f) is ipvs.FwmarkKey and isinstance(f, ipvs.ServiceKey)
    flush = ipvs.Operation.flush()  # made by pyo3's own path
    makers: List[Callable[[], object]] = [
        lambda: ipvs.Operation.add_service(s),
        lambda: ipvs.Operation.update_service(s),
        lambda: ipvs.Operation.delete_service(f),
        lambda: ipvs.Operation.add_destination(k, d),
        lambda: ipvs.Operation.update_destination(f, d),
        lambda: ipvs.Operation.delete_destination(k, "172.16.0.1", 8080),
        lambda: ipvs.Operation.zero(),
        lambda: ipvs.ServiceKey.udp("10.0.0.2", 53),
    ]
    for make in makers:
        op = make()
        assert type(op) in (ipvs.Operation, ipvs.InetKey)
        assert sys.getrefcount(op) == sys.getrefcount(flush)  # no reference left over
    assert ipvs.Operation.add_destination(k, d).key == k
    assert ipvs.Operation.add_destination(f, d).destination == d
    assert ipvs.Operation.add_service(s).service == s


def test_made_values_are_freed() -> None:
    # (the classes' own reference counts cannot tell: pyo3 0.25 does not
    # release an object's reference to its heap type when freeing it)
    _made(10)
    gc.collect()
    tracemalloc.start()
    try:
        _made(10)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        _made(2000)  # 12 000 objects: over 600 KB if they stayed
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024


@pytest.mark.parametrize("bad", [object(), "10.0.0.1", ipvs.Destination("172.16.0.1", 80), 3])
def test_other_objects_are_still_refused_as_keys(bad: object) -> None:
    with pytest.raises(TypeError, match=r"^key must be a ServiceKey, not "):
        ipvs.Operation.add_destination(bad, ipvs.Destination("172.16.0.1", 80))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^key must be a ServiceKey, not "):
        ipvs.Operation.delete_service(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [object(), "10.0.0.1", ipvs.ServiceKey.tcp("10.0.0.1", 80), 3])
def test_other_objects_are_still_refused_as_values(bad: object) -> None:
    k = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    with pytest.raises(TypeError, match=r"^destination must be a Destination, not "):
        ipvs.Operation.add_destination(k, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^service must be a Service, not "):
        ipvs.Operation.add_service(bad)  # type: ignore[arg-type]
