"""``Ipvs.restore`` (``ipvsadm -R`` semantics, one outcome per rule line) and
``Plan.to_rules`` (a plan as ``ipvsadm -R`` input); kernel tests are
cross-checked with ``ipvsadm -Sn``."""

from __future__ import annotations

import subprocess

import pytest

import ipvs
from conftest import Netns

# a failing rule on line 5 (a server for a service that does not exist)
WITH_A_FAILING_LINE = """\
# restored by the library
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2

-a -t 10.0.0.9:80 -r 10.1.0.2:80 -m
ipvsadm -A -u 10.0.0.1:53 -s wlc
-a -u 10.0.0.1:53 -r 10.1.0.3:53 -m
"""

FIRST_TWO = ["-A -t 10.0.0.1:80 -s rr", "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2"]
LAST_TWO = ["-A -u 10.0.0.1:53 -s wlc", "-a -u 10.0.0.1:53 -r 10.1.0.3:53 -m -w 1"]


def _routable(netns: Netns) -> None:
    netns.dummy("d0", "10.255.255.254/8")


@pytest.mark.kernel
def test_stop_on_error_attributes_the_failure_to_its_line(netns: Netns, lb: ipvs.Ipvs) -> None:
    _routable(netns)
    report = lb.restore(WITH_A_FAILING_LINE, ipvs.BatchMode.STOP_ON_ERROR)
    assert report.lines == (2, 3, 5, 6, 7)
    assert not report.ok
    failed = report.outcome_of_line(5)
    assert failed is not None and failed.status is ipvs.OutcomeStatus.FAILED
    assert isinstance(failed.error, ipvs.NotFoundError)
    assert failed.operation == ipvs.Operation.add_destination(
        ipvs.ServiceKey.tcp("10.0.0.9", 80),
        ipvs.Destination("10.1.0.2", 80, forwarding=ipvs.Forwarding.MASQ),
    )
    for line in (6, 7):
        later = report.outcome_of_line(line)
        assert later is not None and later.status is ipvs.OutcomeStatus.NOT_ATTEMPTED
    assert [line for line, _ in report.failures()] == [5, 6, 7]
    assert sorted(netns.saved()) == sorted(FIRST_TWO)


@pytest.mark.kernel
def test_continue_attributes_the_failure_to_its_line_and_does_the_rest(netns: Netns, lb: ipvs.Ipvs) -> None:
    _routable(netns)
    report = lb.restore(WITH_A_FAILING_LINE, "continue")
    assert [line for line, _ in report.failures()] == [5]
    assert [(line, o.ok) for line, o in report.outcomes()] == [(2, True), (3, True), (5, False), (6, True), (7, True)]
    assert sorted(netns.saved()) == sorted(FIRST_TWO + LAST_TWO)


@pytest.mark.kernel
def test_a_bad_line_raises_with_its_position_and_sends_nothing(netns: Netns, lb: ipvs.Ipvs) -> None:
    _routable(netns)
    text = "-A -t 10.0.0.1:80 -s rr\n\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -x 5 -y 10\n"
    with pytest.raises(ipvs.RulesParseError) as e:
        lb.restore(text)
    assert (e.value.line, e.value.column) == (3, 45)
    assert "lower threshold" in e.value.reason
    assert netns.saved() == []


@pytest.mark.kernel
def test_a_plans_rules_text_fed_to_ipvsadm_gives_the_desired_table(netns: Netns, lb: ipvs.Ipvs) -> None:
    _routable(netns)
    lb.restore("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m\n-A -f 5 -s wlc\n")
    desired = ipvs.rules.parse(
        "-A -t 10.0.0.1:80 -s wrr -p 60\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 4 -x 10 -y 2\n"
        "-A -u 10.0.0.2:53 -s mh -o -b mh-port\n"
        "-a -u 10.0.0.2:53 -r 10.1.0.2:53 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum\n"
    )
    plan = lb.plan(desired)
    text = plan.to_rules()
    assert str(plan) == "".join(f"ipvsadm {line}\n" for line in text.splitlines())
    subprocess.run(["ip", "netns", "exec", netns.name, "ipvsadm", "-R"], input=text, text=True, check=True)
    assert sorted(netns.saved()) == sorted(ipvs.rules.save(desired).splitlines())
    # thresholds, which -Sn drops, arrived too
    got = ipvs.rules.save(ipvs.Table(lb.table().services), lossless=True)
    assert sorted(got.splitlines()) == sorted(ipvs.rules.save(desired, lossless=True).splitlines())


def test_to_rules_is_the_dry_run_without_the_command_name() -> None:
    key = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    plan = ipvs.diff(
        ipvs.Table(),
        ipvs.Table(services=(ipvs.TableService(ipvs.Service(key), (ipvs.Destination("10.0.1.1", 80),)),)),
    )
    assert plan.to_rules() == "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n"
    assert str(plan) == "ipvsadm -A -t 10.0.0.1:80 -s wlc\nipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n"


def test_bypass_has_no_ipvsadm_words() -> None:
    key = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    op = ipvs.Operation.add_destination(key, ipvs.Destination("10.0.1.1", 80, forwarding=ipvs.Forwarding.BYPASS))
    with pytest.raises(ipvs.InvalidInputError):
        ipvs.Plan((op,)).to_rules()
    assert str(op).startswith("# ipvsadm has no switch for bypass forwarding")


def test_a_restore_report_maps_lines_to_outcomes() -> None:
    key = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    done = ipvs.OpOutcome(ipvs.Operation.delete_service(key), ipvs.OutcomeStatus.DONE)
    skipped = ipvs.OpOutcome(ipvs.Operation.flush(), ipvs.OutcomeStatus.NOT_ATTEMPTED)
    report = ipvs.RestoreReport((3, 7), ipvs.BatchReport((done, skipped)))
    assert report.outcome_of_line(3) == done and report.outcome_of_line(7) == skipped
    assert report.outcome_of_line(4) is None and not report.ok
    assert report.failures() == [(7, skipped)]
    with pytest.raises(TypeError):
        ipvs.Ipvs.restore(None, b"-C")  # type: ignore[arg-type]
