"""Pure tests of the rules text (``ipvs.rules``) and the connection table parser."""

from __future__ import annotations

import ipaddress

import pytest

import ipvs

# `ipvsadm -Sn` captured in the VM (the golden table of ipvs/tests/rules_text.rs,
# without the `-b ` line ipvsadm writes for flag-3, which it cannot read back)
GOLDEN_SN = """\
-A -t 192.168.1.1:80 -s rr
-a -t 192.168.1.1:80 -r 172.16.0.1:80 -i -w 1 --tun-type gre --tun-csum
-a -t 192.168.1.1:80 -r 172.16.0.2:80 -i -w 1 --tun-type ipip
-a -t 192.168.1.1:80 -r 172.16.0.3:80 -i -w 1 --tun-type gue --tun-port 5555 --tun-nocsum
-a -t 192.168.1.1:80 -r 192.168.2.5:80 -g -w 0
-a -t 192.168.1.1:80 -r [fd00::9]:80 -i -w 1 --tun-type ipip
-a -t 192.168.1.1:80 -r 10.0.0.2:8080 -m -w 3
-a -t 192.168.1.1:80 -r 10.0.0.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-A -t 10.0.0.100:0 -s sh -p 600 -M 255.255.255.0 -b sh-fallback,sh-port
-A -t 10.0.0.100:5060 -s wlc -p 360 --pe sip
-A -u 10.0.0.100:53 -s mh -o -b mh-port
-A -u 10.0.0.101:5060 -s wlc -p 30 --pe sip
-A -t [fd00::100]:443 -s sed -p 30 -M 48
-a -t [fd00::100]:443 -r [fd00::2]:8443 -m -w 7
-a -t [fd00::100]:443 -r [::1.2.3.4]:8443 -m -w 7
-a -t [fd00::100]:443 -r 10.0.0.7:443 -i -w 1 --tun-type ipip
-A -f 7 -s wrr -b flag-3
-a -f 7 -r 10.0.0.5:0 -m -w 1
-A -f 8 -6 -s lc -p 100 -M 64
-a -f 8 -6 -r [fd00::5]:80 -m -w 1
"""

# captured in the VM (see ipvs/tests/conn_table.rs)
CAPTURED_CONN = """\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000102 CA5A 0A000101 0050 0A000202 1F40 ESTABLISHED     896
TCP 0A000102 86C2 0A000101 0051 0A000202 1F40 ESTABLISHED     896
TCP 0A000102 0000 0A000101 0051 0A000202 1F40 ASSURED          56
TCP fd01:0000:0000:0000:0000:0000:0000:0002 B086 fd01:0000:0000:0000:0000:0000:0000:0001 0050 fd02:0000:0000:0000:0000:0000:0000:0002 1F40 ESTABLISHED     896
"""

CAPTURED_SYNC = """\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
TCP 0A000102 CA5A 0A000101 0050 0A000202 1F40 ESTABLISHED LOCAL      896
TCP 0A000102 0000 0A000101 0051 0A000202 1F40 ASSURED     LOCAL       56
"""


def test_rules_text_round_trips_byte_for_byte() -> None:
    table = ipvs.rules.parse(GOLDEN_SN)
    assert len(table.services) == 8
    assert ipvs.rules.save(table) == GOLDEN_SN
    # the values are the package's own classes
    svc = table.service(ipvs.ServiceKey.tcp("192.168.1.1", 80))
    assert svc is not None
    assert svc.service.scheduler == ipvs.Scheduler.RR
    masq = [d for d in svc.destinations if d.port == 8080]
    assert len(masq) == 1
    assert masq[0].addr == ipaddress.ip_address("10.0.0.2")
    assert masq[0].forwarding == ipvs.Forwarding.MASQ
    assert masq[0].weight == 3
    # a table survives save -> parse unchanged (as a value)
    assert ipvs.rules.parse(ipvs.rules.save(table)).sorted() == table.sorted()


def test_lossless_keeps_thresholds_ipvsadm_drops() -> None:
    text = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3 -x 100 -y 50\n"
    table = ipvs.rules.parse(text)
    d = table.services[0].destinations[0]
    assert (d.upper_threshold, d.lower_threshold) == (100, 50)
    assert ipvs.rules.save(table, lossless=True) == text
    assert ipvs.rules.save(table) == "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3\n"


def test_set_gives_the_table_timeouts_and_ipvsadm_word_is_skipped() -> None:
    table = ipvs.rules.parse("ipvsadm --set 900 120 300\n# a comment\n\n-A -u 10.0.0.1:53 -s rr\n")
    assert table.timeouts is not None
    assert table.timeouts.to_dict() == ipvs.Timeouts(900, 120, 300).to_dict()
    assert ipvs.rules.save(table) == "-A -u 10.0.0.1:53 -s rr\n"


def test_a_parse_error_carries_line_and_column() -> None:
    text = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -w lots\n"
    with pytest.raises(ipvs.RulesParseError) as info:
        ipvs.rules.parse(text)
    e = info.value
    assert isinstance(e, ValueError) and isinstance(e, ipvs.IpvsError)
    assert e.line == 2
    assert e.column == text.splitlines()[1].index("lots") + 1
    assert "lots" in e.reason
    assert str(e).startswith("line 2, column ")


def test_a_rule_that_does_not_apply_is_a_parse_error() -> None:
    # a destination of a service that does not exist
    with pytest.raises(ipvs.RulesParseError) as info:
        ipvs.rules.parse("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.9:80 -r 10.0.0.2:80 -m\n")
    assert info.value.line == 2


def test_rules_arguments_are_type_checked() -> None:
    with pytest.raises(TypeError):
        ipvs.rules.parse(b"-C")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ipvs.rules.save("-A -t 10.0.0.1:80")  # type: ignore[arg-type]


def test_captured_connections_parse_to_values() -> None:
    c = ipvs.parse_connections(CAPTURED_CONN)
    assert len(c) == 4
    assert c[0] == ipvs.Connection(
        protocol="TCP",
        client_addr=ipaddress.IPv4Address("10.0.1.2"),
        client_port=0xCA5A,
        virtual_addr=ipaddress.IPv4Address("10.0.1.1"),
        virtual_port=80,
        destination_addr=ipaddress.IPv4Address("10.0.2.2"),
        destination_port=8000,
        state="ESTABLISHED",
        expires=896,
    )
    assert not c[0].is_template
    assert c[2].state == "ASSURED" and c[2].client_port == 0 and c[2].is_template
    assert c[2].virtual_port == 81 and c[2].expires == 56
    assert c[3].client_addr == ipaddress.IPv6Address("fd01::2")
    assert c[3].virtual_addr == ipaddress.IPv6Address("fd01::1")
    assert c[3].destination_addr == ipaddress.IPv6Address("fd02::2")
    assert all(x.origin is None and x.pe_name is None for x in c)
    # frozen and hashable
    assert len(set(c)) == 4
    with pytest.raises(AttributeError):
        c[0].expires = 1  # type: ignore[misc]


def test_sync_table_has_origins_and_pe_data_is_kept() -> None:
    c = ipvs.parse_connections(CAPTURED_SYNC)
    assert [x.origin for x in c] == [ipvs.ConnectionOrigin.LOCAL] * 2
    assert c[1].expires == 56
    sip = ipvs.parse_connections("UDP 0A000102 13C4 0A000101 13C4 0A000202 13C4 UDP 299 sip abc@host\n")
    assert (sip[0].protocol, sip[0].pe_name, sip[0].pe_data) == ("UDP", "sip", "abc@host")
    assert ipvs.parse_connections("") == []


def test_a_bad_connection_line_raises_with_its_line() -> None:
    with pytest.raises(ipvs.ConnectionParseError) as info:
        ipvs.parse_connections(CAPTURED_CONN + "TCP 0A00010Z A0C2 0A000101 0050 0A000202 1F40 NONE 1\n")
    assert isinstance(info.value, ValueError) and isinstance(info.value, ipvs.IpvsError)
    assert info.value.line == 6
    assert "client" in info.value.reason


def test_read_connections_refuses_bad_namespaces() -> None:
    with pytest.raises(TypeError):
        ipvs.read_connections(True)
    with pytest.raises(ValueError):
        ipvs.read_connections(-1)
