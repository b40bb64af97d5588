"""SIP white list methods: AddSipWhiteListItem, GetSipWhiteList, SetSipWhiteListItem, DelSipWhiteListItem."""

from __future__ import annotations

from mock_api.methods import Context, Reply, method, ok, paged
from mock_api.params import Params
from voxsim.errors import INVALID_SIP_WHITELIST_ID


@method("AddSipWhiteListItem")
def add_item(ctx: Context, p: Params) -> Reply:
    item = ctx.store.add_whitelist_item(ctx.account.account_id, p.text("sip_whitelist_network", required=True),
                                        p.text("description") or "")
    return ok(sip_whitelist_id=item.sip_whitelist_id)


@method("GetSipWhiteList")
def get_list(ctx: Context, p: Params) -> Reply:
    item_id = p.integer("sip_whitelist_id", code=INVALID_SIP_WHITELIST_ID)
    items = ctx.store.list_whitelist(ctx.account.account_id, item_id)
    return paged(items, p, lambda item: item.api())


@method("SetSipWhiteListItem")
def set_item(ctx: Context, p: Params) -> Reply:
    ctx.store.set_whitelist_item(
        ctx.account.account_id,
        p.integer("sip_whitelist_id", required=True, code=INVALID_SIP_WHITELIST_ID),
        p.text("sip_whitelist_network", required=True),
        p.text("description"),
    )
    return ok()


@method("DelSipWhiteListItem")
def del_item(ctx: Context, p: Params) -> Reply:
    ctx.store.del_whitelist_item(ctx.account.account_id,
                                 p.integer("sip_whitelist_id", required=True, code=INVALID_SIP_WHITELIST_ID))
    return ok()
