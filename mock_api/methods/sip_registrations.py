"""SIP registration methods: CreateSipRegistration, GetSipRegistrations, UpdateSipRegistration,
DeleteSipRegistration, BindSipRegistration.

After every change the emulator's SIP registration client (when there is one) is told through
`services.sip_registrations_changed()`, so it can register, re-register or let go.
"""

from __future__ import annotations

from mock_api.methods import Context, Reply, method, ok, paged
from mock_api.params import Params
from voxsim.errors import (
    INVALID_APPLICATION_ID,
    INVALID_RULE_ID,
    INVALID_SIP_REGISTRATION_ID,
    INVALID_USER_ID,
)
from voxsim.store.sip_registrations import (
    NOT_RUNNING,
    SIP_REGISTRATION_LIMIT_PER_ACCOUNT,
    BindRequest,
    RegistrationFilter,
    parse_status_codes,
)

STATUS_NOTE = f"""
    Persistent registrations really REGISTER to their proxy (see docs/sip-registrations.md); the record
    shows the last attempt: `in_progress` while one is pending, then `successful`, `status_code` and
    `error_message`. Before the first attempt it says "{NOT_RUNNING}". Non-persistent ones are never
    registered (SDK login is not emulated) and say they wait for their user to log in.
"""


def bind_request(p: Params) -> BindRequest:
    for pair in (("application_id", "application_name"), ("rule_id", "rule_name"), ("user_id", "user_name")):
        p.one_of(*pair)
    return BindRequest(
        application_id=p.integer("application_id", code=INVALID_APPLICATION_ID),
        application_name=p.text("application_name"),
        rule_id=p.integer("rule_id", code=INVALID_RULE_ID),
        rule_name=p.text("rule_name"),
        user_id=p.integer("user_id", code=INVALID_USER_ID),
        user_name=p.text("user_name"),
    )


def registration_id(p: Params) -> int:
    return p.integer("sip_registration_id", required=True, code=INVALID_SIP_REGISTRATION_ID)


def optional_registration_id(p: Params) -> int | None:
    return p.integer("sip_registration_id", code=INVALID_SIP_REGISTRATION_ID)


async def changed(ctx: Context) -> None:
    if ctx.services is not None:
        await ctx.services.sip_registrations_changed()


@method("CreateSipRegistration", notes=f"""
    At most {SIP_REGISTRATION_LIMIT_PER_ACCOUNT} registrations per account (code 272). `proxy` and
    `outbound_proxy` take `host[:port]`, optionally with `sip:`/`sips:` and `;transport=`; `sip_username` takes
    the characters of a SIP URI's user part. No subscription is charged: `subscription_price` is "0.0000",
    `account_info` shows a zero balance. {STATUS_NOTE}
""")
async def create(ctx: Context, p: Params) -> Reply:
    binding = bind_request(p)
    reg = ctx.store.create_sip_registration(
        ctx.account.account_id,
        p.text("sip_username", required=True),
        p.text("proxy", required=True),
        auth_user=p.text("auth_user") or "",
        outbound_proxy=p.text("outbound_proxy") or "",
        password=p.text("password") or "",
        is_persistent=p.flag("is_persistent", default=True),
        bind=binding,
    )
    await changed(ctx)
    account_info = {"account_id": ctx.account.account_id, "frozen": ctx.account.frozen,
                    "balance": ctx.account.balance, "currency": ctx.account.currency}
    return ok(sip_registration_id=reg.sip_registration_id, account_info=account_info)


@method("GetSipRegistrations", notes=f"""
    Every filter of the platform. `sip_username` is a case-insensitive part match, `proxy` an exact one;
    `application_name` takes the short or the full name. Adds `total_count` beside `count`. {STATUS_NOTE}
""")
def get_registrations(ctx: Context, p: Params) -> Reply:
    for pair in (("application_id", "application_name"), ("rule_id", "rule_name")):
        p.one_of(*pair)
    status = p.text("status_code")
    where = RegistrationFilter(
        sip_registration_id=optional_registration_id(p),
        sip_username=p.text("sip_username"),
        deactivated=p.flag("deactivated"),
        successful=p.flag("successful"),
        is_persistent=p.flag("is_persistent"),
        application_ids=p.integers("application_id", code=INVALID_APPLICATION_ID),
        is_bound_to_application=p.flag("is_bound_to_application"),
        rule_ids=p.integers("rule_id", code=INVALID_RULE_ID),
        rule_names=p.texts("rule_name"),
        user_ids=p.integers("user_id", code=INVALID_USER_ID),
        proxies=p.texts("proxy"),
        in_progress=p.flag("in_progress"),
        status_codes=parse_status_codes(status) if status is not None else None,
    )
    regs = ctx.store.list_sip_registrations(ctx.account.account_id, where, p.texts("application_name"))
    return paged(regs, p, lambda reg: reg.api())


@method("UpdateSipRegistration", notes="""
    Changing `sip_username`, `proxy`, `auth_user`, `outbound_proxy` or `password` resets the registration's
    status. Any of `application_*`, `rule_*`, `user_*` replaces the whole binding; a rule or user without an
    application falls back to the registration's current application (or, for `rule_id`, the rule's own).
""")
async def update(ctx: Context, p: Params) -> Reply:
    ctx.store.update_sip_registration(
        ctx.account.account_id, registration_id(p),
        sip_username=p.text("sip_username"),
        proxy=p.text("proxy"),
        auth_user=p.text("auth_user"),
        outbound_proxy=p.text("outbound_proxy"),
        password=p.text("password"),
        bind=bind_request(p),
    )
    await changed(ctx)
    return ok()


@method("DeleteSipRegistration")
async def delete(ctx: Context, p: Params) -> Reply:
    ctx.store.delete_sip_registration(ctx.account.account_id, registration_id(p))
    await changed(ctx)
    return ok()


@method("BindSipRegistration", notes="""
    `bind=true` (the default) binds to an application and, optionally, a rule and/or a user; one registration
    per user, so binding a user takes it from its previous registration. `bind=false` with
    `sip_registration_id` unbinds that registration entirely; with only `user_id`/`user_name` it unbinds that
    user from every registration.
""")
async def bind(ctx: Context, p: Params) -> Reply:
    ctx.store.bind_sip_registration(ctx.account.account_id, optional_registration_id(p), bind_request(p),
                                    unbind=not p.flag("bind", default=True))
    await changed(ctx)
    return ok()
