"""The director's Python surface without a kernel: bad input refused (as
``InvalidInputError`` naming what is wrong) before anything starts, the
values, and checks run once against local servers (``probe_once``)."""

from __future__ import annotations

import http.server
import ipaddress
import pathlib
import socket
import ssl
import subprocess
import threading
from typing import Iterator, List, Tuple

import pytest

import ipvs
from ipvs import Destination, Scheduler, Service, ServiceKey
from ipvs.director import (
    Check,
    CheckKind,
    DesiredState,
    DestinationId,
    DirectedService,
    Director,
    FileFormat,
    OnFailure,
    parse_file,
    probe_once,
)

KEY = ServiceKey.tcp("10.0.0.1", 80)


def service(*dests: Destination, **kw: object) -> DirectedService:
    return DirectedService(Service(KEY, scheduler=Scheduler.RR), list(dests), **kw)  # type: ignore[arg-type]


def rs(i: int) -> Destination:
    return Destination(f"10.0.1.{i}", 80)


@pytest.mark.parametrize(
    "check, field",
    [
        (Check.tcp(interval=0), "interval"),
        (Check.tcp(timeout=0), "timeout"),
        (Check.tcp(rise=0), "rise"),
        (Check.tcp(fall=0), "fall"),
        (Check.tcp(interval=1, timeout=2), "timeout"),
        (Check.http("no-slash"), "path"),
        (Check.http("/", 99), "status"),
        (Check.dns(""), "DNS name"),
        (Check.tcp(port=0), "port 0"),
    ],
)
def test_a_bad_check_is_refused_when_its_service_is_made(check: Check, field: str) -> None:
    with pytest.raises(ipvs.InvalidInputError, match=field):
        service(rs(1), check=check)


def test_a_check_at_nothing_is_refused_when_made() -> None:
    with pytest.raises(ipvs.InvalidInputError, match="0.0.0.0"):
        Check.tcp(target=("0.0.0.0", 0))
    with pytest.raises(ipvs.InvalidInputError, match="port 0"):
        Check.tcp(target=("10.0.0.9", 0))
    with pytest.raises(ipvs.InvalidInputError, match="interval"):
        Check.tcp(target=("10.0.0.9", 80), interval=0)
    # a real server at 0.0.0.0 checked on its own address
    with pytest.raises(ipvs.InvalidInputError, match="points at nothing"):
        probe_once(Check.tcp(), "0.0.0.0", 0)


def test_numbers_out_of_range_are_refused_naming_the_field() -> None:
    with pytest.raises(ipvs.InvalidInputError, match="interval"):
        Check.tcp(interval=-1)
    with pytest.raises(ipvs.InvalidInputError, match="timeout"):
        Check.tcp(timeout=float("nan"))
    with pytest.raises(ipvs.InvalidInputError, match="rise"):
        Check.tcp(rise=-1)
    with pytest.raises(ipvs.InvalidInputError, match="status"):
        Check.http("/", 70000)
    with pytest.raises(ipvs.InvalidInputError, match="quorum"):
        service(rs(1), quorum=-1)
    with pytest.raises(TypeError, match='no argument "intervall"'):
        Check.tcp(intervall=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="no argument"):
        Director.start(DesiredState(), periodd=None)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="callable"):
        Check.custom(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bool"):
        Check.tcp(interval=True)


def test_the_sorry_server_may_not_be_a_real_server() -> None:
    with pytest.raises(ipvs.InvalidInputError, match="sorry server"):
        service(rs(1), rs(2), quorum=1, sorry_server=rs(2))
    with pytest.raises(ipvs.InvalidInputError, match="quorum 3"):
        service(rs(1), rs(2), quorum=3)
    with pytest.raises(ipvs.InvalidInputError, match="twice"):
        service(rs(1), rs(1))
    ok = service(rs(1), rs(2), quorum=1, sorry_server=rs(3), on_failure="remove")
    assert ok.sorry_server == rs(3)
    assert ok.on_failure is OnFailure.REMOVE
    assert ok.quorum == 1
    assert ok.destinations == [rs(1), rs(2)]


def test_desired_state_is_validated_and_keeps_its_services() -> None:
    one = service(rs(1), check=Check.http("/h", 200, body="ok", interval=0.2, timeout=0.1, rise=2, fall=3))
    with pytest.raises(ipvs.InvalidInputError, match="listed twice"):
        DesiredState([one, one])
    state = DesiredState([one])
    assert len(state) == 1
    check = state.services[0].check
    assert check is not None
    assert check.kind is CheckKind.HTTP
    assert (check.interval, check.timeout, check.rise, check.fall) == (0.2, 0.1, 2, 3)
    assert check.http_request == ("/h", 200, "ok", None)
    assert state.services[0].on_failure is OnFailure.INHIBIT
    with pytest.raises(TypeError):
        DesiredState([3])  # type: ignore[list-item]


def test_a_director_with_bad_options_starts_nothing() -> None:
    # refused before a handle is opened (no IPVS needed)
    with pytest.raises(ipvs.InvalidInputError, match="period"):
        Director.start(DesiredState(), period=0, namespace="no-such-ns")
    with pytest.raises(ipvs.InvalidInputError, match="backoff_max"):
        Director.start(DesiredState(), backoff_min=2, backoff_max=1, namespace="no-such-ns")
    with pytest.raises(ipvs.InvalidInputError, match="drain_deadline"):
        Director.start(DesiredState(), drain_deadline=-1)
    with pytest.raises(TypeError, match="on_event"):
        Director.start(DesiredState(), on_event=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bool"):
        Director.start(DesiredState(), period=True)


def test_watch_refuses_a_file_it_cannot_read_or_parse(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ipvs.SystemCallError, match="no-such-file"):
        Director.watch(tmp_path / "no-such-file", FileFormat.JSON, namespace="no-such-ns")
    bad = tmp_path / "bad.json"
    bad.write_text('{"services": [}')
    with pytest.raises(ipvs.InvalidInputError, match="JSON"):
        Director.watch(bad, "json", namespace="no-such-ns")
    rules = tmp_path / "rules"
    rules.write_text("-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w -3\n")
    with pytest.raises(ipvs.InvalidInputError):
        Director.watch(str(rules), FileFormat.RULES, namespace="no-such-ns")


def test_parse_file_reads_rules_and_json() -> None:
    rules = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 3\n"
    state = parse_file(rules, FileFormat.RULES)
    assert state.services[0].destinations[0].weight == 3
    text = (
        '{"services": [{"service": {"key": {"inet": {"protocol": "tcp", "addr": "10.0.0.1", "port": 80}},'
        ' "scheduler": "rr"}, "destinations": [{"addr": "10.0.1.1", "port": 80}],'
        ' "check": {"kind": "tcp", "interval_ms": 0}}]}'
    )
    with pytest.raises(ipvs.InvalidInputError, match="interval"):
        parse_file(text, "json")
    with pytest.raises(ipvs.InvalidInputError, match="format"):
        parse_file(text, "yaml")


def test_destination_ids_are_values() -> None:
    a = DestinationId(KEY, "10.0.1.1", 80)
    b = DestinationId(KEY, ipaddress.ip_address("10.0.1.1"), 80)
    assert a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1
    assert a.addr == ipaddress.ip_address("10.0.1.1") and a.port == 80 and a.service == KEY
    assert "10.0.1.1:80" in repr(a)


# ---------------------------------------------------------------- checks run once, against local servers


def test_a_custom_check_that_raises_counts_as_failing() -> None:
    seen: List[Tuple[object, int, float]] = []

    def ok(addr: ipvs.IPAddress, port: int, timeout: float) -> None:
        seen.append((addr, port, timeout))

    def boom(addr: ipvs.IPAddress, port: int, timeout: float) -> None:
        raise RuntimeError("boom")

    assert probe_once(Check.custom(ok, timeout=0.5, interval=1), "192.0.2.1", 80) is None
    assert seen == [(ipaddress.ip_address("192.0.2.1"), 80, 0.5)]
    reason = probe_once(Check.custom(boom), "192.0.2.1", 80)
    assert reason == "the check raised RuntimeError: boom"
    assert probe_once(Check.custom(lambda a, p, t: False), "192.0.2.1", 80) == "the check returned False"
    assert probe_once(Check.custom(lambda a, p, t: "disk full"), "192.0.2.1", 80) == "disk full"
    assert probe_once(Check.custom(lambda a, p, t: True), "192.0.2.1", 80) is None
    assert "int" in (probe_once(Check.custom(lambda a, p, t: 3), "192.0.2.1", 80) or "")


@pytest.fixture
def listener() -> Iterator[int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        yield int(s.getsockname()[1])
    finally:
        s.close()


def test_tcp_probe_tells_a_listener_from_a_closed_port(listener: int) -> None:
    assert probe_once(Check.tcp(timeout=1, interval=1), "127.0.0.1", listener) is None
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = int(free.getsockname()[1])
    free.close()
    assert probe_once(Check.tcp(timeout=1, interval=1), "127.0.0.1", port) is not None


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status = 500 if self.path == "/broken" else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"hello from the test\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_http_probe_tells_500_from_200_and_matches_the_body(web: int) -> None:
    fast = {"interval": 2, "timeout": 2}
    assert probe_once(Check.http("/", 200, **fast), "127.0.0.1", web) is None  # type: ignore[arg-type]
    assert probe_once(Check.http("/broken", 200, **fast), "127.0.0.1", web) == "HTTP status 500 (expected 200)"  # type: ignore[arg-type]
    assert probe_once(Check.http("/", 200, body="from the test", **fast), "127.0.0.1", web) is None  # type: ignore[arg-type]
    assert probe_once(Check.http("/", 200, body="absent", **fast), "127.0.0.1", web) is not None  # type: ignore[arg-type]
    # the check's own port wins over the real server's
    assert probe_once(Check.http("/", 200, port=web, **fast), "127.0.0.1", 1) is None  # type: ignore[arg-type]
def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _ca(tmp: pathlib.Path, name: str) -> Tuple[pathlib.Path, pathlib.Path]:
    """A self-signed CA certificate (openssl) and its key."""
    cert, key = tmp / f"{name}.pem", tmp / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert))
    return cert, key


def _leaf(tmp: pathlib.Path, ca: Tuple[pathlib.Path, pathlib.Path], name: str) -> Tuple[pathlib.Path, pathlib.Path]:
    """A server certificate for ``name`` and 127.0.0.1 signed by ``ca``, and its key."""
    cert, key, csr, ext = (tmp / f"{name}{x}" for x in (".pem", ".key", ".csr", ".ext"))
    ext.write_text(f"subjectAltName=DNS:{name},IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(csr))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
             "-days", "2", "-extfile", str(ext), "-out", str(cert))
    return cert, key


@pytest.fixture
def tls_web(tmp_path: pathlib.Path) -> Iterator[Tuple[int, pathlib.Path, pathlib.Path]]:
    """An HTTPS server on loopback (the handler of ``web``), the CA that signed
    its certificate, and another CA that did not."""
    ca = _ca(tmp_path, "test-ca")
    cert, key = _leaf(tmp_path, ca, "backend.test")
    stranger, _ = _ca(tmp_path, "stranger-ca")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield int(server.server_address[1]), ca[0], stranger
    finally:
        server.shutdown()
        server.server_close()


def test_https_probe_tells_500_from_200_and_verifies_only_when_given_a_ca(
    tls_web: Tuple[int, pathlib.Path, pathlib.Path],
) -> None:
    port, ca, stranger = tls_web
    fast = {"interval": 2, "timeout": 2}
    ok = Check.https("/", 200, **fast)  # type: ignore[arg-type]
    assert ok.kind is CheckKind.HTTPS
    assert ok.http_request == ("/", 200, None, None)
    assert probe_once(ok, "127.0.0.1", port) is None
    assert probe_once(Check.https("/broken", 200, **fast), "127.0.0.1", port) == "HTTP status 500 (expected 200)"  # type: ignore[arg-type]
    # verified against the CA that signed it, given as text and as a file, under its name
    pem = ca.read_text()
    for check in (
        Check.https("/", server_name="backend.test", ca=pem, **fast),  # type: ignore[arg-type]
        Check.https("/", server_name="backend.test", ca_file=ca, **fast),  # type: ignore[arg-type]
    ):
        assert probe_once(check, "127.0.0.1", port) is None
    # verified against a CA that did not sign it, or under another name: fails
    assert probe_once(Check.https("/", server_name="backend.test", ca=stranger.read_bytes(), **fast), "127.0.0.1", port) is not None  # type: ignore[arg-type]
    assert probe_once(Check.https("/", server_name="other.test", ca=pem, **fast), "127.0.0.1", port) is not None  # type: ignore[arg-type]
    # plain HTTP against a TLS server is no answer
    assert probe_once(Check.http("/", 200, **fast), "127.0.0.1", port) is not None  # type: ignore[arg-type]


def test_https_takes_its_ca_one_way() -> None:
    with pytest.raises(ipvs.InvalidInputError):
        Check.https("/", ca="-----BEGIN CERTIFICATE-----", ca_file="/nonexistent")
    with pytest.raises(TypeError):
        Check.https("/", ca=3)  # type: ignore[arg-type]


