"""The methods every value class shares are written once (ipvs-py/src/value.rs)
and behave the same for every class that takes them: equality and hashing by
value, ``NotImplemented`` against other types, ``replace`` refusing unknown
fields, the JSON round trip and pickling through it, ``from_json`` naming the
value it could not parse, and every shared method keeping its docstring.
"""

from __future__ import annotations

import pickle
from typing import Any, List, Tuple

import pytest

import ipvs
from ipvs import _ipvs

KEY = ipvs.ServiceKey.tcp("10.0.0.1", 80)
SVC = ipvs.Service(KEY, scheduler="rr")
DEST = ipvs.Destination("10.0.1.1", 80, weight=3)
STATS = ipvs.Stats(conns=1)

# (a value, another value of the same class, the name its from_json errors use)
PAIRS: List[Tuple[Any, Any, str]] = [
    (KEY, ipvs.ServiceKey.fwmark(5), "service key"),
    (SVC, SVC.replace(scheduler="wlc"), "service"),
    (DEST, DEST.replace(weight=4), "destination"),
    (ipvs.Operation.add_service(SVC), ipvs.Operation.flush(), "operation"),
    (ipvs.Timeouts(1, 2, 3), ipvs.Timeouts(1, 2, 4), "timeouts"),
    (ipvs.SyncDaemon("master", "eth0", 1), ipvs.SyncDaemon("master", "eth0", 2), "sync daemon"),
    (STATS, ipvs.Stats(conns=2), "stats"),
    (ipvs.Info(1, 2), ipvs.Info(1, 3), "info"),
    (ipvs.ServiceEntry(SVC, STATS), ipvs.ServiceEntry(SVC), "service entry"),
    (ipvs.DestinationEntry(DEST, 1), ipvs.DestinationEntry(DEST, 2), "destination entry"),
    (ipvs.TableService(SVC, [DEST]), ipvs.TableService(SVC), "table service"),
    (ipvs.Table([ipvs.TableService(SVC)]), ipvs.Table(), "table"),
]


@pytest.mark.parametrize("value,other,what", PAIRS, ids=[type(p[0]).__name__ for p in PAIRS])
def test_equality_hash_json_and_pickle_by_value(value: Any, other: Any, what: str) -> None:
    cls = type(value)
    again = cls.from_json(value.to_json())
    assert again == value and not again != value and hash(again) == hash(value)
    assert value != other and not value == other
    assert value.__eq__(1) is NotImplemented and value.__ne__("x") is NotImplemented
    assert pickle.loads(pickle.dumps(value)) == value
    with pytest.raises(ipvs.InvalidInputError, match=f"invalid {what}: "):
        cls.from_json("{")


def test_connections_compare_and_hash_by_every_field() -> None:
    c = ipvs.Connection("TCP", "10.0.0.9", 4000, "10.0.0.1", 80, "10.0.1.1", 80, "NONE", 60)
    assert c.replace(expires=60) == c and hash(c.replace(expires=60)) == hash(c)
    assert c.replace(expires=59) != c and c.replace(state="CLOSE") != c
    assert c.__eq__(c.to_dict()) is NotImplemented


@pytest.mark.parametrize(
    "value",
    [p[0] for p in PAIRS[1:]] + [ipvs.Persistence(300)],
    ids=lambda v: type(v).__name__,
)
def test_replace_refuses_a_field_the_class_does_not_have(value: Any) -> None:
    name = type(value).__name__
    with pytest.raises(TypeError, match=rf"^{name}\.replace\(\) got an unexpected keyword argument 'colour'$"):
        value.replace(colour="red")


SHARED = ("replace", "to_json", "from_json", "from_dict")


@pytest.mark.parametrize("value", [p[0] for p in PAIRS], ids=lambda v: type(v).__name__)
def test_shared_methods_keep_their_docstrings(value: Any) -> None:
    for name in SHARED:
        if hasattr(value, name):
            doc = getattr(type(value), name).__doc__
            assert doc and doc.strip().endswith("."), (type(value).__name__, name, doc)
    for cls in (_ipvs.Handle, _ipvs.RtnlHandle, _ipvs.FouHandle):
        assert cls.close.__doc__ and cls.closed.__doc__, cls


OPERATIONS = [
    ipvs.Operation.add_service(SVC),
    ipvs.Operation.update_service(SVC),
    ipvs.Operation.delete_service(KEY),
    ipvs.Operation.add_destination(KEY, DEST),
    ipvs.Operation.update_destination(KEY, DEST),
    ipvs.Operation.delete_destination(KEY, "10.0.1.1", 80),
    ipvs.Operation.set_timeouts(ipvs.Timeouts(1, 2, 3)),
    ipvs.Operation.start_daemon(ipvs.SyncDaemon("master", "eth0", 1)),
    ipvs.Operation.stop_daemon("master"),
    ipvs.Operation.zero(KEY),
    ipvs.Operation.zero(),
    ipvs.Operation.flush(),
]


@pytest.mark.parametrize("op", OPERATIONS, ids=[str(o.kind) for o in OPERATIONS])
def test_every_operation_kind_replaces_into_itself(op: ipvs.Operation) -> None:
    # an operation is rebuilt from what its kind takes (the keys of its
    # to_dict()), not from every field it can be read by: an add_service has
    # a key to read but takes none
    assert op.replace() == op
    assert type(op)(**{k: getattr(op, k) for k in op.to_dict()}) == op


def test_replacing_an_operation_changes_what_its_kind_takes() -> None:
    op = ipvs.Operation.add_destination(KEY, DEST)
    changed = op.replace(destination=DEST.replace(weight=9)).destination
    assert changed is not None and changed.weight == 9
    with pytest.raises(TypeError, match="takes no key"):
        ipvs.Operation.add_service(SVC).replace(key=KEY)
