"""Fixtures: every kernel test gets its own network namespace.

Kernel tests (marked ``kernel``) run inside the test VM (``scripts/vm``), as
root, with IPVS available; the pure tests run anywhere. Nothing here touches
the initial namespace's IPVS table.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from typing import Iterator, List

import pytest

import ipvs

_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kernel: needs a kernel with IPVS (run in the test VM)")


def _run(*args: str) -> str:
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    return out.stdout


class Netns:
    """A network namespace owned by one test, with helpers running tools inside it."""

    def __init__(self) -> None:
        self.name = f"pyt-{os.getpid()}-{next(_counter)}"
        _run("ip", "netns", "add", self.name)
        self.ip("link", "set", "lo", "up")

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def exec(self, *args: str) -> str:
        return _run("ip", "netns", "exec", self.name, *args)

    def ip(self, *args: str) -> str:
        return _run("ip", "-n", self.name, *args)

    def ipvsadm(self, *args: str) -> str:
        return self.exec("ipvsadm", *args)

    def saved(self) -> List[str]:
        """``ipvsadm -Sn`` as lines."""
        return [line for line in self.ipvsadm("-Sn").splitlines() if line]

    def dummy(self, name: str, *cidrs: str) -> None:
        self.ip("link", "add", name, "type", "dummy")
        for c in cidrs:
            self.ip("addr", "add", c, "dev", name)
        self.ip("link", "set", name, "up")


@pytest.fixture
def netns() -> Iterator[Netns]:
    ns = Netns()
    try:
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def lb(netns: Netns) -> Iterator[ipvs.Ipvs]:
    with ipvs.Ipvs(namespace=netns.name) as handle:
        yield handle
