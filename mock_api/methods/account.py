"""Account methods: GetAccountInfo, SetAccountInfo."""

from __future__ import annotations

from mock_api.methods import Context, Reply, method, ok
from mock_api.params import Params
from voxsim.store.accounts import SETTABLE_BOOL, SETTABLE_TEXT


@method("GetAccountInfo", notes="""
    Balance is always 0 USD; `api_key` is shown under api_key auth only, as on the platform.
""")
def get_account_info(ctx: Context, p: Params) -> Reply:
    account = ctx.store.get_account(ctx.account.account_id)
    return ok(result=account.api(with_api_key=ctx.auth == "api_key"), api_address="127.0.0.1")


@method("SetAccountInfo", notes="""
    Keeps `callback_url`, `callback_salt`, `send_js_error`, `account_custom_data`, `language_code`,
    `location`, names and notification flags; billing and e-mail/password changes are accepted and ignored.
""")
def set_account_info(ctx: Context, p: Params) -> Reply:
    changes: dict[str, object] = {}
    for name in SETTABLE_TEXT:
        # An explicitly empty callback_url is absent by the platform's convention; keep it unchanged.
        value = p.text(name)
        if value is not None:
            changes[name] = value
    for name in SETTABLE_BOOL:
        flag = p.flag(name)
        if flag is not None:
            changes[name] = flag
    ctx.store.set_account_info(ctx.account.account_id, changes)
    return ok()
