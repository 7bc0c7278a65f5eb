"""Pure tests of :mod:`ipvs.aio` (no kernel): its surface mirrors the
blocking handle's, and bad input is refused before any socket is used."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable, Optional, TypeVar

import pytest

import ipvs
import ipvs.aio

TCP80 = ipvs.ServiceKey.tcp("10.0.0.1", 80)

_T = TypeVar("_T")


def run(coro: Callable[[], Awaitable[_T]]) -> _T:
    async def main() -> _T:
        return await coro()

    return asyncio.run(main())


def test_every_method_of_the_blocking_handle_has_an_awaitable_twin() -> None:
    sync_only = {"close", "set_receive_buffer", "set_timeout"}
    # the blocking handle's own methods and those it inherits from the compiled handle
    blocking = {n for n in dir(ipvs.Ipvs) if not n.startswith("_") and callable(getattr(ipvs.Ipvs, n))}
    for name in sorted(blocking):
        twin = getattr(ipvs.aio.Ipvs, name, None)
        assert twin is not None, f"ipvs.aio.Ipvs has no {name}"
        if name not in sync_only:
            assert inspect.iscoroutinefunction(twin), f"ipvs.aio.Ipvs.{name} is not awaitable"
            # the same parameters, in the same order
            want = list(inspect.signature(getattr(ipvs.Ipvs, name)).parameters)
            assert list(inspect.signature(twin).parameters) == want, name
    for prop in ("closed", "namespace", "family_id", "port_id"):
        assert isinstance(vars(ipvs.aio.Ipvs)[prop], property)
    assert inspect.iscoroutinefunction(ipvs.aio.Ipvs.open)


def test_a_handle_not_yet_open_refuses_calls_without_touching_a_socket() -> None:
    lb = ipvs.aio.Ipvs("blue")
    assert lb.closed and lb.namespace == "blue"
    assert repr(lb) == "<ipvs.aio.Ipvs namespace='blue' closed>"
    with pytest.raises(ipvs.InvalidInputError, match="not open"):
        run(lambda: lb.add_service(ipvs.Service(TCP80)))
    with pytest.raises(ipvs.InvalidInputError, match="not open"):
        run(lb.services)
    with pytest.raises(ipvs.InvalidInputError, match="not open"):
        lb.port_id


def test_bad_input_is_refused_before_the_handle_is_used() -> None:
    # the handle is not open: any error other than "not open" was raised
    # by the argument checks, which therefore come before any request
    lb = ipvs.aio.Ipvs()
    cases: list[tuple[Callable[[], Awaitable[Any]], type[BaseException], Optional[str]]] = [
        (lambda: lb.add_service(TCP80), TypeError, "Service"),  # type: ignore[arg-type]
        (lambda: lb.destinations("10.0.0.1:80"), TypeError, None),  # type: ignore[arg-type]
        (lambda: lb.delete_destination(TCP80, "not-an-address", 80), ipvs.InvalidInputError, "address"),
        (lambda: lb.delete_destination(TCP80, "10.0.0.2", -1), ipvs.InvalidInputError, "port"),
        (lambda: lb.set_weight(TCP80, "10.0.0.2", 80, -1), ipvs.InvalidInputError, "weight"),
        (lambda: lb.stop_daemon("primary"), ipvs.InvalidInputError, None),
        (lambda: lb.set_timeouts(ipvs.Timeouts(tcp=10**7)), ipvs.InvalidInputError, "at most"),
        (lambda: lb.add_destination(TCP80, ipvs.Destination("2001:db8::5", 80)), ipvs.InvalidInputError, None),
        (lambda: lb.execute([TCP80]), TypeError, "Operation"),  # type: ignore[list-item]
        (lambda: lb.execute([], "sometimes"), ipvs.InvalidInputError, None),
        (lambda: lb.restore("-A -t 10.0.0.1:80 -s rr\n-Q\n"), ipvs.RulesParseError, None),
        (lambda: lb.plan("table"), TypeError, "Table"),  # type: ignore[arg-type]
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match) as raised:
            run(call)
        assert "not open" not in str(raised.value), call
        assert not isinstance(raised.value, OSError)
    with pytest.raises(ValueError):
        lb.set_timeout(0)


def test_opening_a_missing_namespace_raises_namespace_not_found() -> None:
    with pytest.raises(ipvs.NamespaceNotFoundError):
        run(lambda: ipvs.aio.Ipvs.open("no-such-namespace-h4"))

    async def ctx() -> None:
        async with ipvs.aio.Ipvs("no-such-namespace-h4"):
            pass  # pragma: no cover

    with pytest.raises(ipvs.NamespaceNotFoundError):
        run(ctx)
