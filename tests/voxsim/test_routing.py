from dataclasses import dataclass

import pytest

from voxsim.routing import (
    IdTarget,
    NamedTarget,
    explain,
    match_rule,
    parse_id_destination,
    parse_request_uri,
    split_uri,
)


@dataclass
class R:
    name: str
    rule_pattern: str
    rule_pattern_exclude: str = ""


@pytest.mark.parametrize(
    "uri",
    [
        "sip:100@myapp.acme.voximplant.com",
        "sips:100@myapp.acme.voximplant.com:5061;transport=tls",
        "<sip:100@MyApp.Acme.Voximplant.com>",
        "100@myapp.acme.voximplant.com",
        "sip:100:secret@myapp.acme.voximplant.com?subject=x",
    ],
)
def test_named_form(uri):
    target = parse_request_uri(uri)
    assert target == NamedTarget(account_name="acme", application_name="myapp", destination="100")


def test_id_form_and_escaped_hash():
    assert parse_request_uri("sip:12#34#5551234@sip.voximplant.com") == IdTarget(12, 34, "5551234")
    assert parse_request_uri("sip:12%2334%23555@sip.voximplant.com") == IdTarget(12, 34, "555")


def test_custom_domain():
    target = parse_request_uri("sip:a@app.acc.voxsim.local", domain="voxsim.local")
    assert target == NamedTarget("acc", "app", "a")
    assert parse_request_uri("sip:a@app.acc.voximplant.com", domain="voxsim.local") is None


@pytest.mark.parametrize(
    "uri",
    [
        "sip:100@example.org",
        "sip:100@acme.voximplant.com",
        "sip:100@a.b.c.voximplant.com",
        "sip:myapp.acme.voximplant.com",
        "sip:x#34#5@sip.voximplant.com",
        "sip:12#34@sip.voximplant.com",
        "",
    ],
)
def test_not_ours(uri):
    assert parse_request_uri(uri) is None


def test_split_uri():
    assert split_uri("sip:alice@Example.ORG:5060;transport=tcp") == ("alice", "example.org")
    assert split_uri("tel:+123") is None
    # user-part parameters (RFC 3966 phone-context, RFC 4694 npdi) do not belong to the destination
    assert split_uri("sip:100;phone-context=x@demo.acc.voximplant.com") == ("100", "demo.acc.voximplant.com")
    assert split_uri("sip:1#2#100;isup-oli=0@sip.voximplant.com;transport=udp") == ("1#2#100", "sip.voximplant.com")
    assert parse_id_destination("1#2#3#4") == IdTarget(1, 2, "3#4")


def test_first_match_wins_in_order():
    rules = [R("a", r"1\d\d"), R("b", r".*"), R("c", r"100")]
    assert match_rule(rules, "100").name == "a"
    assert match_rule(rules, "200").name == "b"


def test_pattern_must_match_whole_destination():
    rules = [R("a", r"10")]
    assert match_rule(rules, "100") is None
    assert match_rule(rules, "10").name == "a"


def test_exclude_vetoes_whole_string_only():
    rules = [R("a", r"\d+", r"9\d*"), R("b", r".*")]
    assert match_rule(rules, "900").name == "b"
    assert match_rule(rules, "190").name == "a"  # "9" occurs, but the exclude must match all of it


def test_invalid_regex_never_raises():
    rules = [R("bad", r"([a-"), R("bad-exclude", r"\d+", r"(unclosed"), R("all", ".*")]
    assert match_rule(rules, "abc").name == "all"
    assert match_rule(rules, "123").name == "bad-exclude"


def test_mapping_rules_and_explain():
    rules = [
        {"rule_pattern": "x", "rule_pattern_exclude": None},
        {"rule_pattern": ".*", "rule_pattern_exclude": "y"},
    ]
    assert match_rule(rules, "y") is None
    verdicts = [v for _, v in explain(rules, "z")]
    assert verdicts == ["no match", "match"]
    assert [v for _, v in explain([R("a", "(")], "z")] == ["invalid pattern"]
