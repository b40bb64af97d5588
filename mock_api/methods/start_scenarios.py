"""StartScenarios and StartConference: start a VoxEngine session running a rule's scenarios, with no call."""

from __future__ import annotations

import ipaddress

from mock_api.methods import Context, Reply, method, ok
from mock_api.params import Params
from mock_api.services import SessionStarter
from voxsim.errors import (
    CONFERENCE_NAME_TOO_LONG,
    INVALID_APPLICATION_ID,
    INVALID_CONFERENCE_NAME,
    INVALID_PARAMETER,
    INVALID_REFERENCE_IP,
    INVALID_RULE_ID,
    INVALID_USER_ID,
    VoxError,
)
from voxsim.model import Application, Rule

MAX_CONFERENCE_NAME = 50
MAX_CUSTOM_DATA_BYTES = 200  # the platform's limit of a session's custom data (VoxEngine.customData)


@method("StartScenarios", notes="""
    Starts a real session: `AppEvents.Started` fires (no CallAlerting), `VoxEngine.customData()` returns
    `script_custom_data` (alias `custom_data`), and HTTP requests to `media_session_access_url`
    (`http://<host>:<api port>/request/...`, the platform's path shape on voxsim's API port) fire
    `AppEvents.HttpRequest` with the handler's return value as the reply. `reference_ip` is validated and
    `server_location` accepted; both are otherwise ignored (there is one "media server": this machine).
    Unknown rule: 147 (156 by name); a rule without scenarios: 375; custom data longer than 200 bytes: 496.
""")
async def start_scenarios(ctx: Context, p: Params) -> Reply:
    p.one_of("rule_id", "rule_name", required=True)
    application, rule, user_id = _rule_and_user(ctx, p)
    custom_data = _custom_data(p)
    starter = _starter(ctx)
    session = await starter.start(ctx.account, application, rule, custom_data=custom_data, user_id=user_id,
                                  initiator_address=ctx.remote or "127.0.0.1")
    return _started(starter, session.session_id)


@method("StartConference", notes="""
    Starts the session of a conference: the rule's scenarios run with `conference_name` in
    `AppEvents.Started`, and a second StartConference (or a scenario's `VoxEngine.callConference`) with the
    same name while it runs joins that session (the same `call_session_history_id`). `conference_name` is
    required, shorter than 50 characters (270) and not blank (269); `rule_id` is required (147 when
    unknown); a rule without scenarios answers 375.
""")
async def start_conference(ctx: Context, p: Params) -> Reply:
    name = p.text("conference_name", required=True)
    if not name or not name.strip():
        raise VoxError(INVALID_CONFERENCE_NAME, "Invalid 'conference_name'")
    if len(name) >= MAX_CONFERENCE_NAME:
        raise VoxError(CONFERENCE_NAME_TOO_LONG, "conference_name length must be < 50")
    p.integer("rule_id", code=INVALID_RULE_ID, required=True)
    application, rule, user_id = _rule_and_user(ctx, p)
    custom_data = _custom_data(p)
    starter = _starter(ctx)
    session = await starter.conference(ctx.account, application, rule, name, custom_data=custom_data,
                                       user_id=user_id, initiator_address=ctx.remote or "127.0.0.1")
    return _started(starter, session.session_id)


def _custom_data(p: Params) -> str:
    """`script_custom_data` (alias `custom_data`): at most 200 bytes of UTF-8, as the session's custom data."""
    name = "script_custom_data" if "script_custom_data" in p else "custom_data"
    custom_data = p.text(name) or ""
    if len(custom_data.encode()) > MAX_CUSTOM_DATA_BYTES:
        raise VoxError(INVALID_PARAMETER, f"The '{name}' parameter is invalid: {len(custom_data.encode())} bytes; "
                                          f"the limit is {MAX_CUSTOM_DATA_BYTES}")
    return custom_data


def _rule_and_user(ctx: Context, p: Params) -> tuple[Application, Rule, int | None]:
    """The rule (by id or name, within the application when one is named), its application, and the user."""
    account_id = ctx.account.account_id
    p.one_of("user_id", "user_name")
    app_key = p.one_of("application_id", "application_name")
    application = None
    if app_key:
        application = ctx.store.get_application(
            account_id, application_id=p.integer("application_id", code=INVALID_APPLICATION_ID),
            application_name=p.text("application_name"))
    rule = ctx.store.get_rule(account_id, rule_id=p.integer("rule_id", code=INVALID_RULE_ID),
                              rule_name=p.text("rule_name"),
                              application_id=application.application_id if application else None)
    application = application or ctx.store.get_application(account_id, application_id=rule.application_id)
    user_id = None
    if "user_id" in p or "user_name" in p:
        user_id = ctx.store.get_user(account_id, user_id=p.integer("user_id", code=INVALID_USER_ID),
                                     user_name=p.text("user_name"),
                                     application_id=application.application_id).user_id
    reference_ip = p.text("reference_ip")
    if reference_ip is not None:
        try:
            ipaddress.ip_address(reference_ip)
        except ValueError as exc:
            raise VoxError(INVALID_REFERENCE_IP, "Invalid 'reference_ip'") from exc
    return application, rule, user_id


def _starter(ctx: Context) -> SessionStarter:
    if ctx.services is None:
        raise RuntimeError("starting sessions needs a running emulator")
    return ctx.services.session_starter


def _started(starter: SessionStarter, session_id: int) -> Reply:
    http_url, https_url = starter.access_urls(session_id)
    return ok(media_session_access_url=http_url, media_session_access_secure_url=https_url,
              call_session_history_id=session_id)
