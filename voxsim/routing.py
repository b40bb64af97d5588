"""Request URI -> (account, application, destination) -> rule. No I/O of its own.

Addressing, as on the platform: `destination@application.account.voximplant.com`, or
`app_id#account_id#destination@sip.voximplant.com` with numeric ids. A call from the PSTN dials a phone number:
`sip:<number>@pstn.voximplant.com` (voxsim's carrier entry point), `tel:<number>` or the bare number (`+12125550100`)
reaches the account that attached that number (`number_route`): the number's rule, or, for a number bound to an
application alone, the application's rules matched against it; `destination` is the number (E.164 digits).
Rules: tried in order;
`rule_pattern` must match the whole destination; a match of `rule_pattern_exclude` (whole
string too) vetoes; the first rule left wins. A pattern that is not a valid regex never
raises: it simply matches nothing.

`resolve` and `match` read accounts, applications and rules through `RouteDirectory` (the
store implements it) and raise `Refusal`, the one error of routing: it carries the SIP
status that both doors answer with (the SIP edge on the wire, the simulated caller in its
HTTP reply).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import unquote

from voxsim.patterns import PatternTimeout, compile_pattern, full_match

if TYPE_CHECKING:
    from voxsim.model import Account, Application
    from voxsim.model import Rule as StoredRule

DEFAULT_DOMAIN = "voximplant.com"
PSTN_HOST = "pstn"
"""The carrier entry point: `sip:<number>@pstn.<domain>` is a call from the PSTN to that number."""
_PHONE = re.compile(r"\+?[0-9]{6,15}")

Rule = TypeVar("Rule")


class Refusal(Exception):
    """A call that is not routed to a session: `status` and `reason` are the SIP final response to
    answer with, `headers` extra header lines for it (a digest challenge, say)."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.headers = headers or []


@dataclass(frozen=True)
class Route:
    """Where a call goes: the rule of an application that matched `destination`."""

    account: Account
    application: Application
    rule: StoredRule
    destination: str
    phone_number: str = ""
    """The account's phone number the call dialed (E.164 digits), "" for a call to an application address."""

    @property
    def client_type(self) -> str:
        """`call.clientType()` of the inbound call: "pstn" for a call to a phone number, else "sip"."""
        return "pstn" if self.phone_number else "sip"


class NumberBinding(Protocol):
    """An attached phone number as routing reads it (`voxsim.store.phone_numbers.PhoneNumber`)."""

    account_id: int
    phone_number: str
    application_id: int | None
    rule_id: int | None


class RouteDirectory(Protocol):
    """What routing reads (implemented by `voxsim.store.Store`)."""

    def find_account(self, *, account_id: int | None = None, account_name: str | None = None) -> Account | None: ...

    def find_application(self, account_id: int, *, application_id: int | None = None,
                         application_name: str | None = None) -> Application | None: ...

    def rules_in_order(self, application_id: int) -> list[StoredRule]: ...

    def find_phone_number(self, phone_number: str) -> NumberBinding | None: ...


@dataclass(frozen=True)
class NamedTarget:
    """`destination@application.account.<domain>`"""

    account_name: str
    application_name: str
    destination: str


@dataclass(frozen=True)
class IdTarget:
    """`app_id#account_id#destination@sip.<domain>`"""

    application_id: int
    account_id: int
    destination: str


def split_uri(uri: str) -> tuple[str, str] | None:
    """(user, host) of a SIP URI or bare `user@host`; tolerates <>, scheme, port, params."""
    text = uri.strip()
    if text.startswith("<") and ">" in text:
        text = text[1 : text.index(">")]
    text = re.sub(r"^(sips?|tel):", "", text, flags=re.IGNORECASE)
    text = text.split("?", 1)[0]
    if "@" not in text:
        return None
    user, _, host = text.rpartition("@")
    # drop a password (user:pass@host) and user-part parameters (100;phone-context=x@host, RFC 3966)
    user = user.split(":", 1)[0].split(";", 1)[0]
    host = host.split(";", 1)[0].split(":", 1)[0].lower().rstrip(".")
    if not user or not host:
        return None
    return unquote(user), host


def parse_request_uri(uri: str, domain: str = DEFAULT_DOMAIN) -> NamedTarget | IdTarget | None:
    """The account, application and destination a request URI addresses, or None."""
    parts = split_uri(uri)
    if parts is None:
        return None
    user, host = parts
    suffix = "." + domain.lower()
    if not host.endswith(suffix):
        return None
    labels = host[: -len(suffix)].split(".")
    if labels == ["sip"]:
        return parse_id_destination(user)
    if len(labels) == 2 and all(labels):
        return NamedTarget(account_name=labels[1], application_name=labels[0], destination=user)
    return None


def parse_id_destination(user: str) -> IdTarget | None:
    """`app_id#account_id#destination` (the user part of the sip.<domain> form)."""
    pieces = user.split("#", 2)
    if len(pieces) != 3 or not pieces[0].isdigit() or not pieces[1].isdigit() or not pieces[2]:
        return None
    return IdTarget(application_id=int(pieces[0]), account_id=int(pieces[1]), destination=pieces[2])


def _field(rule: Any, name: str) -> str:
    value = rule.get(name) if isinstance(rule, Mapping) else getattr(rule, name, None)
    return "" if value is None else str(value)


def rule_verdict(rule: Any, destination: str) -> str:
    """"match", "no match", "excluded", "invalid pattern" or "too slow" (a pattern that took longer than
    `voxsim.patterns.MATCH_TIMEOUT`: no match), for routing and `voxsim route explain`."""
    pattern = _field(rule, "rule_pattern")
    if compile_pattern(pattern) is None:
        return "invalid pattern"
    exclude = _field(rule, "rule_pattern_exclude")
    try:
        if not full_match(pattern, destination):
            return "no match"
        if exclude and full_match(exclude, destination):
            return "excluded"
    except PatternTimeout:
        return "too slow"
    return "match"


def match_rule(rules: Iterable[Rule], destination: str) -> Rule | None:
    """The first rule whose pattern matches the whole destination and is not excluded.

    Rules are objects or mappings with `rule_pattern` and `rule_pattern_exclude`.
    """
    for rule in rules:
        if rule_verdict(rule, destination) == "match":
            return rule
    return None


def explain(rules: Iterable[Rule], destination: str) -> list[tuple[Rule, str]]:
    """Every rule with its verdict, in order, up to and including the winner."""
    out: list[tuple[Rule, str]] = []
    for rule in rules:
        verdict = rule_verdict(rule, destination)
        out.append((rule, verdict))
        if verdict == "match":
            break
    return out


def resolve(directory: RouteDirectory, request_uri: str, domain: str = DEFAULT_DOMAIN, *,
            refusal_status: int = 404) -> tuple[Account, Application, str]:
    """Account, application and destination of `dest@app.account.<domain>` or the id form; raises
    Refusal (`refusal_status`) for anything else."""
    target = parse_request_uri(request_uri, domain)
    if target is None:
        raise Refusal(refusal_status, "Not Found - not a voxsim application address")
    if isinstance(target, IdTarget):
        account = directory.find_account(account_id=target.account_id)
        app = account and directory.find_application(account.account_id, application_id=target.application_id)
    else:
        account = directory.find_account(account_name=target.account_name)
        app = account and directory.find_application(account.account_id, application_name=target.application_name)
    if not account or not app:
        raise Refusal(refusal_status, "Not Found - no such application")
    return account, app, target.destination


def match(directory: RouteDirectory, account: Account, application: Application, destination: str, *,
          refusal_status: int = 404) -> Route:
    """The application's rule for `destination`; raises Refusal (`refusal_status`) when none matches."""
    rule = match_rule(directory.rules_in_order(application.application_id), destination)
    if rule is None:
        raise Refusal(refusal_status, f"Not Found - no rule of {application.application_name} matches '{destination}'")
    return Route(account, application, rule, destination)


def dialed_number(request_uri: str, domain: str = DEFAULT_DOMAIN) -> str | None:
    """The phone number a call from the PSTN dials (`sip:<n>@pstn.<domain>`, `tel:<n>`, `<n>`), else None."""
    text = request_uri.strip()
    parts = split_uri(text)
    if parts is not None:
        user, host = parts
        candidate = user if host == f"{PSTN_HOST}.{domain.lower()}" else ""
    else:
        candidate = re.sub(r"^tel:", "", text.strip("<>"), flags=re.IGNORECASE).split(";", 1)[0]
    candidate = re.sub(r"[\s().\-]", "", candidate)
    return candidate if _PHONE.fullmatch(candidate) else None


def caller_number(from_uri: str) -> str:
    """The callerid of a call from the PSTN: the From user (or a bare number), E.164 digits without `+`."""
    parts = split_uri(from_uri)
    user = parts[0] if parts is not None else re.sub(r"^tel:", "", from_uri.strip(), flags=re.IGNORECASE)
    return user[1:] if _PHONE.fullmatch(user) and user.startswith("+") else user


def number_route(directory: RouteDirectory, request_uri: str, domain: str = DEFAULT_DOMAIN, *,
                 refusal_status: int = 404) -> Route | None:
    """Where a call to a phone number goes (see the module docstring); None when `request_uri` dials no number.
    A number nobody attached, one bound to no application, or no rule for it: Refusal (`refusal_status`)."""
    dialed = dialed_number(request_uri, domain)
    if dialed is None:
        return None
    bound = directory.find_phone_number(dialed)
    if bound is None:
        raise Refusal(refusal_status, f"Not Found - {dialed} is not a phone number of any account")
    account = directory.find_account(account_id=bound.account_id)
    app = account and bound.application_id is not None and directory.find_application(
        account.account_id, application_id=bound.application_id)
    if not account or not app:
        raise Refusal(refusal_status, f"Not Found - the number {bound.phone_number} is not bound to an application")
    rules = directory.rules_in_order(app.application_id)
    if bound.rule_id is None:
        rule = match_rule(rules, bound.phone_number)
    else:
        rule = next((r for r in rules if r.rule_id == bound.rule_id), None)
    if rule is None:
        raise Refusal(refusal_status, f"Not Found - no rule of {app.application_name} takes '{bound.phone_number}'")
    return Route(account, app, rule, bound.phone_number, phone_number=bound.phone_number)


def route(directory: RouteDirectory, request_uri: str, domain: str = DEFAULT_DOMAIN) -> Route:
    """A call to a phone number (`number_route`), else `resolve`, then `match`."""
    by_number = number_route(directory, request_uri, domain)
    if by_number is not None:
        return by_number
    return match(directory, *resolve(directory, request_uri, domain))
