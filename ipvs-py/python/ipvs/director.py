"""The director: keep a namespace's IPVS table right while real servers fail,
come back and are taken out of service.

A binding of the Rust core's ``lvskit::director``: the checks, the decisions
(health, quorum, drains) and the loop all run in the core, on threads of
their own; this module only hands them Python values::

    from ipvs import Destination, Scheduler, Service, ServiceKey
    from ipvs.director import Check, DesiredState, DirectedService, Director, OnFailure

    svc = DirectedService(
        Service(ServiceKey.tcp("10.0.0.1", 80), scheduler=Scheduler.RR),
        [Destination("10.0.1.1", 80), Destination("10.0.1.2", 80)],
        check=Check.http("/healthz", 200, interval=1.0, timeout=0.5, rise=2, fall=3),
        on_failure=OnFailure.INHIBIT,
        quorum=1,
        sorry_server=Destination("10.0.2.1", 80),
    )
    with Director.start(DesiredState([svc]), namespace="lb", on_event=print) as d:
        ...
        print(d.metrics_text())          # Prometheus text

- :class:`Check`: ``Check.tcp()``, ``Check.http(path, status, body=...)``,
  ``Check.dns(name)`` or ``Check.custom(func)``, each with ``interval``,
  ``timeout`` (seconds), ``rise``, ``fall``, ``port``, ``target``,
  ``source``, ``namespace`` and ``initially_up``. A custom check's
  ``func(address, port, timeout)`` is called on the check's thread (with the
  GIL): ``None`` or ``True`` pass; ``False``, a reason (``str``), an
  exception or overrunning the timeout fail.
- :class:`DirectedService` and :class:`DesiredState` are validated when made
  (:class:`ipvs.InvalidInputError` naming what is wrong: a zero interval, a
  rise or fall of 0, a sorry server that is also a real server, a check
  pointing at nothing), before anything reaches the kernel.
- :class:`Director`: ``start``/``watch``, ``stop`` (or a ``with`` block),
  ``set_desired``, ``health``, ``draining``, ``metrics``/``metrics_text``;
  events to an ``on_event`` callable (on the director's threads) and to any
  number of :meth:`Director.subscribe` iterators. Directors still running when
  the interpreter exits are stopped then.
- :func:`probe_once` runs a check once; :func:`render` writes metrics as
  Prometheus text; :func:`parse_file` reads desired state from rules or JSON.
"""

from __future__ import annotations

import atexit

from . import _ipvs
from ._ipvs import (
    METRICS_CONTENT_TYPE,
    Check,
    CheckKind,
    DesiredState,
    DestinationId,
    DestinationMetrics,
    DirectedService,
    Director,
    DrainEnd,
    Event,
    EventKind,
    FileFormat,
    Health,
    HealthState,
    OnFailure,
    ServiceMetrics,
    Subscription,
    parse_file,
    probe_once,
)
from ._ipvs import metrics_render as render

__all__ = [
    "Check",
    "CheckKind",
    "DirectedService",
    "DesiredState",
    "OnFailure",
    "Director",
    "Event",
    "EventKind",
    "Subscription",
    "DestinationId",
    "Health",
    "HealthState",
    "DrainEnd",
    "FileFormat",
    "ServiceMetrics",
    "DestinationMetrics",
    "METRICS_CONTENT_TYPE",
    "render",
    "probe_once",
    "parse_file",
]

atexit.register(_ipvs.director_stop_all)
