"""Pure tests of operations, tables and plans (no kernel needed)."""

from __future__ import annotations

import json
from typing import Any, List

import pytest

import ipvs
from ipvs import _ipvs

K80 = ipvs.ServiceKey.tcp("10.0.0.1", 80)
K53 = ipvs.ServiceKey.udp("10.0.0.1", 53)


def all_operations() -> List[ipvs.Operation]:
    O = ipvs.Operation
    return [
        O.add_service(ipvs.Service(K80, scheduler="rr")),
        O.update_service(ipvs.Service(K80, persistence=60)),
        O.delete_service(K53),
        O.add_destination(K80, ipvs.Destination("10.0.1.1", 80, forwarding="masq", weight=2)),
        O.update_destination(K80, ipvs.Destination("10.0.1.1", 80, weight=0)),
        O.delete_destination(K80, "10.0.1.1", 80),
        O.set_timeouts(ipvs.Timeouts(900, 120, 300)),
        O.start_daemon(ipvs.SyncDaemon("master", "eth0", 3)),
        O.stop_daemon("backup"),
        O.zero(),
        O.zero(K80),
        O.flush(),
    ]


@pytest.mark.parametrize("op", all_operations(), ids=repr)
def test_operation_serde_form_matches_the_core(op: ipvs.Operation) -> None:
    # the serde form is to_json's (to_dict gives the constructor's arguments)
    d = json.loads(op.to_json())
    assert json.loads(ipvs.Operation.from_json(json.dumps(d)).to_json()) == d
    back = ipvs.Operation.from_dict(d)
    assert back == op and hash(back) == hash(op)
    assert ipvs.Operation(**op.to_dict()) == op
    assert ipvs.Operation.from_json(op.to_json()) == op
    assert str(op).startswith("ipvsadm ")


def test_operation_forms_and_words() -> None:
    op = ipvs.Operation.delete_destination(K80, "10.0.1.1", 80)
    assert json.loads(op.to_json()) == {"delete_destination": [json.loads(K80.to_json()), "10.0.1.1", 80]}
    assert op.to_dict() == {"kind": "delete_destination", "key": K80.to_dict(), "addr": "10.0.1.1", "port": 80}
    assert repr(op) == "Operation.delete_destination(ServiceKey.tcp('10.0.0.1', 80), '10.0.1.1', 80)"
    assert str(op) == "ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.1:80"
    assert json.loads(ipvs.Operation.flush().to_json()) == "flush"
    assert json.loads(ipvs.Operation.zero().to_json()) == {"zero": None}
    assert ipvs.Operation.flush().to_dict() == {"kind": "flush"}
    add = ipvs.Operation.add_destination(K80, ipvs.Destination("10.0.1.2", 80))
    assert str(add) == "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1"
    assert add.key == K80 and add.kind is ipvs.OperationKind.ADD_DESTINATION
    assert ipvs.Operation.add_service(ipvs.Service(K80)).key == K80


def test_bad_operations() -> None:
    with pytest.raises(TypeError, match="needs service"):
        ipvs.Operation(ipvs.OperationKind.ADD_SERVICE)
    with pytest.raises(TypeError, match="takes no destination"):
        ipvs.Operation("flush", destination=ipvs.Destination("10.0.0.2", 80))
    with pytest.raises(TypeError):
        ipvs.Operation.add_service(K80)  # type: ignore[arg-type]
    # the core checks the destination against the service's family
    with pytest.raises(ValueError, match="needs tunnel forwarding"):
        ipvs.Operation.add_destination(K80, ipvs.Destination("2001:db8::1", 80))
    with pytest.raises(ValueError):
        ipvs.Operation.from_dict({"explode": None})


def table(*services: Any, timeouts: ipvs.Timeouts | None = None) -> ipvs.Table:
    return ipvs.Table([ipvs.TableService(s, ds) for s, ds in services], timeouts)


def test_diff_plans_and_simulate_converges() -> None:
    web = ipvs.Service(K80, scheduler="wrr")
    dns = ipvs.Service(K53)
    old = ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.9", 22))
    current = table(
        (ipvs.Service(K80), [ipvs.Destination("10.0.1.1", 80), ipvs.Destination("10.0.1.2", 80)]),
        (old, [ipvs.Destination("10.0.9.1", 22)]),
    )
    desired = table(
        (web, [ipvs.Destination("10.0.1.1", 80, weight=5), ipvs.Destination("10.0.1.3", 80)]),
        (dns, [ipvs.Destination("10.0.2.1", 53)]),
        timeouts=ipvs.Timeouts(100, 10, 30),
    )
    plan = ipvs.diff(current, desired)
    assert str(plan).splitlines() == [
        "ipvsadm -E -t 10.0.0.1:80 -s wrr",
        "ipvsadm -A -u 10.0.0.1:53 -s wlc",
        "ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.2:80",
        "ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 5",
        "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.3:80 -g -w 1",
        "ipvsadm -a -u 10.0.0.1:53 -r 10.0.2.1:53 -g -w 1",
        "ipvsadm -d -t 10.0.0.9:22 -r 10.0.9.1:22",
        "ipvsadm -D -t 10.0.0.9:22",
        "ipvsadm --set 100 10 30",
    ]
    assert len(plan) == 9 and plan
    after = ipvs.simulate(current, plan)
    assert after.sorted() == desired.sorted()
    assert not ipvs.diff(after, desired)
    assert ipvs.Table.from_dict(desired.to_dict()) == desired
    assert json.loads(ipvs.Table.from_json(desired.to_json()).to_json()) == json.loads(desired.to_json())


def test_diff_scope_and_drain() -> None:
    other = ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.9", 22))
    current = table(
        (ipvs.Service(K80), [ipvs.Destination("10.0.1.1", 80), ipvs.Destination("10.0.1.2", 80)]),
        (other, []),
    )
    desired = table((ipvs.Service(K80), [ipvs.Destination("10.0.1.1", 80)]))
    only_web = ipvs.diff(current, desired, scope=[K80])
    assert [str(o) for o in only_web] == ["ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.2:80"]
    by_predicate = ipvs.diff(current, desired, scope=lambda k: k == K80)
    assert by_predicate == only_web
    drained = ipvs.diff(current, desired, scope=[K80], drain_before_remove=True)
    assert [str(o) for o in drained] == ["ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 0"]
    everything = ipvs.diff(current, desired)
    assert "ipvsadm -D -t 10.0.0.9:22" in str(everything)


def test_a_scope_predicate_is_the_cores_and_sees_every_key_of_both_tables() -> None:
    # the predicate is handed to the core's Scope::Predicate: it sees each
    # service key of both tables as a ServiceKey and its verdict decides
    keys = [ipvs.ServiceKey.tcp("10.0.0.1", p) for p in range(80, 86)] + [ipvs.ServiceKey.fwmark(3)]
    current = table(*((ipvs.Service(k), [ipvs.Destination("10.0.1.1", 80)]) for k in keys[:4]))
    desired = table(*((ipvs.Service(k, scheduler="rr"), []) for k in keys[2:]))
    seen: List[ipvs.ServiceKey] = []

    def pred(k: ipvs.ServiceKey) -> bool:
        seen.append(k)
        return k == keys[0] or k.family is ipvs.Family.IPV4 and isinstance(k, ipvs.InetKey) and k.port % 2 == 1

    by_predicate = ipvs.diff(current, desired, scope=pred)
    assert set(seen) == set(keys)
    accepted = [k for k in keys if pred(k)]
    assert by_predicate == ipvs.diff(current, desired, scope=accepted)
    touched = {o.key if o.key is not None else o.service.key for o in by_predicate if o.service or o.key}  # type: ignore[union-attr]
    assert touched == {keys[0], keys[1], keys[3], keys[5]}


def test_a_scope_predicate_that_raises_gives_no_plan() -> None:
    current = table((ipvs.Service(K80), []))

    def broken(k: ipvs.ServiceKey) -> bool:
        raise KeyError("no verdict")

    with pytest.raises(KeyError, match="no verdict"):
        ipvs.diff(current, ipvs.Table(), scope=broken)
    with pytest.raises(TypeError, match="scope key"):
        ipvs.diff(current, ipvs.Table(), scope=["10.0.0.1:80"])  # type: ignore[list-item]


def test_tables_cross_to_the_core_and_back() -> None:
    t = table(
        (ipvs.Service(K80, scheduler="rr"), [ipvs.Destination("10.0.1.1", 80, weight=3)]),
        (ipvs.Service(K53), []),
        timeouts=ipvs.Timeouts(1, 2, 3),
    )
    back = ipvs.Table.from_json(t.to_json())
    assert back == t and back.services[0].destinations == (ipvs.Destination("10.0.1.1", 80, weight=3),)
    assert ipvs.Table.from_dict(json.loads(t.to_json())) == t and ipvs.Table(**t.to_dict()) == t
    assert ipvs.simulate(ipvs.Table(), ipvs.diff(ipvs.Table(), t)).sorted() == t.sorted()
    with pytest.raises(TypeError, match="operation must be a Operation, not str"):
        ipvs.simulate(t, ["flush"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="scope key must be a ServiceKey"):
        ipvs.diff(t, t, scope=["10.0.0.1:80"])  # type: ignore[list-item]
    assert str(ipvs.Plan((ipvs.Operation.flush(), ipvs.Operation.zero(K80)))).splitlines() == [
        "ipvsadm -C",
        "ipvsadm -Z -t 10.0.0.1:80",
    ]


def test_batch_report_built_from_the_outcomes_not_done() -> None:
    from ipvs._batch import _report

    ops = tuple(ipvs.Operation.add_service(ipvs.Service(ipvs.ServiceKey.tcp(f"10.0.0.{i}", 80))) for i in range(1, 6))
    exists = ipvs.ExistsError("service tcp 10.0.0.2:80 exists")
    # the compiled module's form: (index, status, exception) for each operation not done
    lazy = _report(ops, [(1, "failed", exists), (4, "not_attempted", None)])
    assert not lazy.ok
    assert lazy.done == 3
    assert len(lazy) == 5
    assert lazy.first_error is exists
    assert [(i, o.status) for i, o in lazy.failures()] == [
        (1, ipvs.OutcomeStatus.FAILED),
        (4, ipvs.OutcomeStatus.NOT_ATTEMPTED),
    ]
    S = ipvs.OutcomeStatus
    want = [S.DONE, S.FAILED, S.DONE, S.DONE, S.NOT_ATTEMPTED]
    assert [o.status for o in lazy.outcomes] == want
    assert [o.operation for o in lazy] == list(ops)
    assert lazy.outcomes[1].error is exists and lazy.outcomes[0].error is None
    # the same report built from its outcomes compares equal, hashes equal
    eager = ipvs.BatchReport(lazy.outcomes)
    assert eager == lazy and hash(eager) == hash(lazy)
    assert repr(eager) == "<BatchReport 3/5 done>"
    with pytest.raises(ipvs.ExistsError):
        lazy.raise_first()
    with pytest.raises(AttributeError):
        lazy.outcomes = ()  # type: ignore[misc]

    ok = _report(ops, [])
    assert ok.ok and ok.done == 5 and ok.first_error is None and ok.failures() == []
    assert all(o.ok for o in ok.outcomes)
    ok.raise_first()
    # a not-attempted operation without an exception still makes raise_first raise
    with pytest.raises(ipvs.IpvsError):
        _report(ops, [(0, "not_attempted", None)]).raise_first()
