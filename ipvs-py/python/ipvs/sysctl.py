"""The IPVS settings of a network namespace: typed ``net.ipv4.vs.*`` sysctls.

Every knob the kernel has under ``/proc/sys/net/ipv4/vs`` is a member of
:class:`Knob` (its value is the file name, e.g. ``Knob.CONN_REUSE_MODE.value ==
"conn_reuse_mode"``); the list and the ranges come from the Rust core. Values
are native: ``bool`` for on/off knobs, ``int`` for numbers, a ``(threshold,
period)`` tuple for ``sync_threshold`` and ``str`` for ``est_cpulist``::

    from ipvs import sysctl

    sysctl.write(sysctl.Knob.EXPIRE_NODEST_CONN, True, namespace="lb")
    sysctl.read(sysctl.Knob.CONN_REUSE_MODE, namespace="lb")      # 1
    sysctl.apply({sysctl.Knob.CONN_REUSE_MODE: 0}, namespace="lb")  # [Change(...)]

Writes are checked against the kernel's documented range before anything is
written (:class:`ipvs.InvalidInputError`; a value of the wrong type is a
``TypeError``); reads return what the kernel holds. A knob this kernel lacks
raises :class:`ipvs.NotFoundError`.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, NamedTuple, Tuple, Union

from . import _ipvs
from ._handle import NamespaceLike, _namespace_args
from ._model import _ReprEnum

__all__ = ["Knob", "Value", "Change", "read", "read_all", "write", "apply"]

Value = Union[bool, int, Tuple[int, int], str]

Knob = _ReprEnum(  # type: ignore[misc]
    "Knob", [(name.upper(), name) for name in _ipvs.vs_sysctl_knobs()], module=__name__
)
Knob.__doc__ = "One ``net.ipv4.vs.*`` sysctl; the value is its file name."


class Change(NamedTuple):
    """A knob :func:`apply` changed: its value before and the value written."""

    knob: "Knob"
    before: Value
    after: Value


def _name(knob: object) -> str:
    if isinstance(knob, Knob):
        return str(knob.value)
    if isinstance(knob, str):
        return knob
    raise TypeError(f"a sysctl knob must be a Knob or its name, not {type(knob).__name__}")


def read(knob: Union["Knob", str], *, namespace: NamespaceLike = None) -> Value:
    """Reads one knob of a namespace."""
    name, path, fd = _namespace_args(namespace)
    value: Value = _ipvs.vs_sysctl_read(_name(knob), name=name, ns_path=path, fd=fd)
    return value


def read_all(*, namespace: NamespaceLike = None) -> Dict["Knob", Value]:
    """Reads every knob this kernel has."""
    name, path, fd = _namespace_args(namespace)
    return {Knob(k): v for k, v in _ipvs.vs_sysctl_read_all(name=name, ns_path=path, fd=fd)}


def write(knob: Union["Knob", str], value: Value, *, namespace: NamespaceLike = None) -> None:
    """Checks ``value`` against the knob's range, then writes it."""
    name, path, fd = _namespace_args(namespace)
    _ipvs.vs_sysctl_write(_name(knob), value, name=name, ns_path=path, fd=fd)


def apply(settings: Mapping[Union["Knob", str], Value], *, namespace: NamespaceLike = None) -> List[Change]:
    """Checks every value, then writes those that differ, all or nothing.

    When a write fails, the knobs already written are set back before the
    error is raised. Returns what changed.
    """
    if not isinstance(settings, Mapping):
        raise TypeError(f"settings must be a mapping of knobs to values, not {type(settings).__name__}")
    pairs = [(_name(k), v) for k, v in settings.items()]
    name, path, fd = _namespace_args(namespace)
    done = _ipvs.vs_sysctl_apply(pairs, name=name, ns_path=path, fd=fd)
    return [Change(Knob(k), before, after) for k, before, after in done]


