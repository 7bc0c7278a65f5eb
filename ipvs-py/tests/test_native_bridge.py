"""One native bridge (issue 17): no request or reply path takes JSON text.

The compiled module exports no JSON-taking handle method and no kind-string
dispatch (``normalize``, ``display``, ``tunnel_normalize``); the handles
refuse JSON text with a ``TypeError``; and a whole round of requests through
every handle runs with ``json.dumps``/``json.loads`` made to fail, so neither
half of the binding can be serialising behind the scenes.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest

import ipvs
from ipvs import _ipvs
from ipvs import tunnel as t
from conftest import Netns

KEY = ipvs.ServiceKey.tcp("10.0.0.1", 80)
SVC = ipvs.Service(KEY, scheduler="rr")
DEST = ipvs.Destination("10.0.1.1", 80, forwarding="masq")
# the JSON texts a former request path took, made before json is switched off
SVC_JSON, KEY_JSON, DEST_JSON = SVC.to_json(), KEY.to_json(), DEST.to_json()
TIMEOUTS_JSON = ipvs.Timeouts(1, 2, 3).to_json()


def test_the_native_module_has_no_json_dispatch() -> None:
    for gone in ("normalize", "display", "tunnel_normalize", "rules_parse_json"):
        assert not hasattr(_ipvs, gone), gone
    # what is left that speaks JSON is the users' convenience: Table.to_json / from_json
    json_functions = {n for n in dir(_ipvs) if "json" in n.lower()}
    assert json_functions == {"table_json"}
    for cls in (_ipvs.Handle, _ipvs.RtnlHandle, _ipvs.FouHandle):
        assert not [n for n in dir(cls) if "json" in n.lower()], cls


def test_the_python_half_of_the_handles_has_no_json() -> None:
    import ipvs._handle
    import ipvs.rules

    for module in (ipvs._handle, ipvs.rules, ipvs.tunnel, ipvs._batch):
        assert not hasattr(module, "json"), module.__name__


@pytest.fixture
def no_json(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("JSON on a request path")

    monkeypatch.setattr(json, "dumps", refuse)
    monkeypatch.setattr(json, "loads", refuse)
    yield


def refuses_text(call: Callable[[], object]) -> None:
    with pytest.raises(TypeError):
        call()


@pytest.mark.kernel
def test_every_ipvs_request_is_native(netns: Netns, no_json: None) -> None:
    netns.dummy("sync0", "10.9.0.1/24")
    netns.ip("link", "set", "sync0", "multicast", "on")
    svc, dest = SVC, DEST
    with ipvs.Ipvs(netns.name) as lb:
        h = lb._h
        refuses_text(lambda: h.add_service(SVC_JSON))  # type: ignore[arg-type]
        refuses_text(lambda: h.delete_service(KEY_JSON))  # type: ignore[arg-type]
        refuses_text(lambda: h.add_destination(KEY_JSON, DEST_JSON))  # type: ignore[arg-type]
        refuses_text(lambda: h.set_timeouts(TIMEOUTS_JSON))  # type: ignore[arg-type]
        lb.add_service(svc)
        lb.update_service(ipvs.Service(KEY, scheduler="wrr"))
        lb.add_destination(KEY, dest)
        lb.update_destination(KEY, ipvs.Destination("10.0.1.1", 80, forwarding="masq", weight=3))
        lb.set_weight(KEY, "10.0.1.1", 80, 0)
        lb.set_scheduler(KEY, ipvs.Scheduler.LC)
        (entry,) = lb.services()
        assert entry == lb.service(KEY)
        assert entry.service.scheduler is ipvs.Scheduler.LC
        (d,) = lb.destinations(KEY)
        assert d.destination.weight == 0 and str(d).startswith("  -> 10.0.1.1:80")
        lb.set_timeouts(ipvs.Timeouts(900, 120, 300))
        assert lb.timeouts() == ipvs.Timeouts(900, 120, 300)
        lb.start_daemon(ipvs.SyncDaemon("master", "sync0", 4))
        assert [x.sync_id for x in lb.daemons()] == [4]
        lb.stop_daemon(ipvs.SyncState.MASTER)
        assert str(lb.info()).startswith("IP Virtual Server version")
        lb.zero(KEY)
        lb.zero()
        table = lb.table()
        assert ipvs.rules.parse(ipvs.rules.save(table)).sorted().services == table.sorted().services
        report = lb.restore("-C\n-A -t 10.0.0.2:80 -s rr\n", ipvs.BatchMode.CONTINUE)
        assert report.ok
        assert [e.key for e in lb.services()] == [ipvs.ServiceKey.tcp("10.0.0.2", 80)]
        lb.add_service(svc)
        lb.add_destination(KEY, dest)
        lb.delete_destination(KEY, "10.0.1.1", 80)
        lb.delete_service(KEY)
        lb.flush()
    assert netns.saved() == []


@pytest.mark.kernel
def test_every_tunnel_request_is_native(netns: Netns, no_json: None) -> None:
    with t.Rtnl(netns.name) as r:
        link = r.add_link(t.NewLink("tun1", t.TunnelConfig("ipip", remote="198.51.100.1"), up=True))
        assert link.name == "tun1" and r.link("tun1") is not None
        r.set_tunnel("tun1", t.TunnelConfig("ipip", remote="198.51.100.2", ttl=9))
        r.add_address("tun1", "203.0.113.10")
        assert [str(a.addr) for a in r.addresses("tun1")] == ["203.0.113.10"]
        assert "tun1" in [x.name for x in r.tunnels()]
        r.del_link("tun1")
        refuses_text(lambda: r._h.add_link('{"name": "x"}'))
    with t.Fou(netns.name) as f:
        f.add(t.FouPort.gue(6080))
        assert [p.port for p in f.list()] == [6080]
        f.delete(t.FouPort.gue(6080))
    p = t.prepare(t.RealServer.dr(["203.0.113.20"]), namespace=netns.name)
    t.teardown(p)
