"""Rule patterns: Python syntax, and a time limit so that a backtracking pattern cannot freeze the emulator."""

from __future__ import annotations

import time

import pytest

from voxsim import routing
from voxsim.model import Rule
from voxsim.patterns import PatternTimeout, full_match, pattern_error

CATASTROPHIC = r"(a|aa)+$"  # exponential backtracking in a backtracking engine
SLOW_INPUT = "a" * 40 + "b"


def rule(pattern: str, exclude: str = "") -> dict[str, str]:
    return {"rule_pattern": pattern, "rule_pattern_exclude": exclude}


def test_python_syntax_matches_the_whole_destination() -> None:
    assert full_match(r"\d{3}", "100") and not full_match(r"\d{3}", "1000")
    assert full_match(r"(?P<n>\d)(?P=n)", "11")  # backreferences, as Python's re has them
    assert pattern_error(r"(") is not None and pattern_error(r"\d+") is None
    assert not full_match(r"(", "x")  # a pattern that does not compile matches nothing


def test_a_catastrophic_pattern_times_out_instead_of_blocking() -> None:
    started = time.monotonic()
    with pytest.raises(PatternTimeout):
        full_match(CATASTROPHIC, SLOW_INPUT)
    assert time.monotonic() - started < 2  # the time limit is 50 ms; a loose bound, not a timing test


def test_routing_skips_a_too_slow_rule_and_goes_on() -> None:
    rules = [rule(CATASTROPHIC), rule(r"a+b")]
    assert routing.rule_verdict(rules[0], SLOW_INPUT) == "too slow"
    assert routing.match_rule(rules, SLOW_INPUT) is rules[1]
    assert routing.rule_verdict(rule(r"a+b", exclude=CATASTROPHIC), SLOW_INPUT) == "too slow"


def test_a_stored_rule_with_a_slow_pattern_matches_nothing() -> None:
    stored = Rule(rule_id=1, application_id=1, rule_name="r", rule_pattern=CATASTROPHIC, modified="")
    assert not stored.matches(SLOW_INPUT)
    assert stored.matches("aaaa")


async def test_the_emulator_keeps_routing_beside_a_catastrophic_rule(voxsim_emulator, voxsim_api) -> None:
    app_id = (await voxsim_api("add_application", application_name="slow"))["application_id"]
    sid = (await voxsim_api("add_scenario", scenario_name="s", scenario_script="Logger.write('ok');",
                            application_id=app_id))["scenario_id"]
    await voxsim_api("add_rule", application_id=app_id, rule_name="evil", rule_pattern=CATASTROPHIC, scenario_id=sid)
    await voxsim_api("add_rule", application_id=app_id, rule_name="good", rule_pattern=r"a+b", scenario_id=sid)
    found = await voxsim_api("get_rules", application_id=app_id, template=SLOW_INPUT)
    assert [r["rule_name"] for r in found["result"]] == ["good"]
    domain = f"slow.{voxsim_emulator.account.account_name}.voximplant.com"
    route = voxsim_emulator.session_starter.route(f"sip:{SLOW_INPUT}@{domain}")
    assert route.rule.rule_name == "good"
