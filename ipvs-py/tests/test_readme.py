"""The README's Python block, executed.

The block is read from README.md at test time, so what readers see is what
runs. It names its network namespace ``lb0``; the kernel test makes a new
namespace by that name for it (never the initial one), runs the block there
and checks the result with ``ipvsadm -Sn`` inside it.
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import subprocess
from typing import Dict, Iterator, List

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def python_blocks(markdown: str) -> List[str]:
    """The ```python blocks of a markdown text."""
    blocks: List[str] = []
    current: List[str] | None = None
    for line in markdown.splitlines():
        if current is None:
            if line.startswith("```python"):
                current = []
        elif line.startswith("```"):
            blocks.append("\n".join(current) + "\n")
            current = None
        else:
            current.append(line)
    assert current is None, "an unterminated ```python block"
    return blocks


def the_block() -> str:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 1, f"README.md has {len(blocks)} Python blocks; this test runs one"
    return blocks[0]


def test_the_block_is_found_and_compiles() -> None:
    block = the_block()
    assert "ipvs.Ipvs(" in block
    compile(block, "README.md", "exec")


def test_a_second_block_would_not_go_unnoticed() -> None:
    text = "```python\nx = 1\n```\n\n```python\ny = 2\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = 2\n"]


def _run(*args: str) -> str:
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0, f"{' '.join(args)} failed:\n{out.stdout}{out.stderr}"
    return out.stdout


@contextlib.contextmanager
def _namespace(name: str) -> Iterator[None]:
    _run("ip", "netns", "add", name)
    try:
        _run("ip", "-n", name, "link", "set", "lo", "up")
        yield
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _saved(name: str) -> List[str]:
    """``ipvsadm -Sn`` in the namespace, sorted, read until two reads agree."""
    last = None
    for _ in range(10):
        now = sorted(_run("ip", "netns", "exec", name, "ipvsadm", "-Sn").splitlines())
        if now == last:
            return now
        last = now
    raise AssertionError(f"ipvsadm -Sn did not read the same twice in ten tries: {last}")


@pytest.mark.kernel
def test_the_block_runs_in_its_namespace() -> None:
    block = the_block()
    printed = io.StringIO()
    scope: Dict[str, object] = {"__name__": "readme"}
    with _namespace("lb0"):
        with contextlib.redirect_stdout(printed):
            exec(compile(block, "README.md", "exec"), scope)
        saved = _saved("lb0")
    assert saved == sorted(
        [
            "-A -t 10.0.0.100:80 -s rr -p 300",
            "-a -t 10.0.0.100:80 -r 192.168.10.11:80 -m -w 1",
            "-a -t 10.0.0.100:80 -r 192.168.20.11:80 -i -w 10 --tun-type gue --tun-port 6080 --tun-nocsum",
        ]
    )
    out = printed.getvalue()
    # what the block prints: the service, its real servers, and the refusal
    assert "10.0.0.100:80" in out
    assert "192.168.10.11" in out and "192.168.20.11" in out
    assert "exists" in out.lower(), out
