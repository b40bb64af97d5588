"""PSTN black list methods: AddPstnBlackListItem, SetPstnBlackListItem, DelPstnBlackListItem, GetPstnBlackList.

The account's barred destinations: callPSTN to a number an item matches fails with 403 (voxsim/pstn/blacklist.py;
how items match is in voxsim/store/pstn_blacklist.py).
"""

from __future__ import annotations

from mock_api.methods import Context, Reply, method, ok, paged
from mock_api.params import Params
from voxsim.store.phone_numbers import normalize_number
from voxsim.store.pstn_blacklist import INVALID_PSTN_BLACKLIST_ID

PHONE_NOTE = """
    `pstn_blacklist_phone` is an E.164 number (with or without `+`) or a regular expression over it (fewer than 100
    characters; a pattern that does not compile answers 425). From then on callPSTN to a matching number fails
    at once with `CallEvents.Failed` code 403 (the platform's code is unpublished), whether it would reach the
    PSTN simulator or a configured gateway.
"""
ID_NOTE = "An unknown `pstn_blacklist_id` answers 400."


def _item_id(p: Params) -> int:
    return p.integer("pstn_blacklist_id", required=True, code=INVALID_PSTN_BLACKLIST_ID)


@method("AddPstnBlackListItem", notes=PHONE_NOTE + """
    Returns `result: 1, pstn_blacklist_id`. At most 1000 items per account (373 beyond).
""")
def add_item(ctx: Context, p: Params) -> Reply:
    item = ctx.store.add_pstn_blacklist_item(ctx.account.account_id, p.text("pstn_blacklist_phone", required=True))
    return ok(pstn_blacklist_id=item.pstn_blacklist_id)


@method("SetPstnBlackListItem", notes=ID_NOTE + " The item's number or pattern becomes `pstn_blacklist_phone`.")
def set_item(ctx: Context, p: Params) -> Reply:
    ctx.store.set_pstn_blacklist_item(ctx.account.account_id, _item_id(p),
                                      p.text("pstn_blacklist_phone", required=True))
    return ok()


@method("DelPstnBlackListItem", notes=ID_NOTE)
def del_item(ctx: Context, p: Params) -> Reply:
    ctx.store.del_pstn_blacklist_item(ctx.account.account_id, _item_id(p))
    return ok()


@method("GetPstnBlackList", notes="""
    Items `{pstn_blacklist_id, pstn_blacklist_phone}` in the order they were added; `pstn_blacklist_id` and
    `pstn_blacklist_phone` filter (the phone as written, or a number's E.164 digits); `count` 20 by default,
    `offset`; `total_count` and `count` as usual.
""")
def get_items(ctx: Context, p: Params) -> Reply:
    items = ctx.store.list_pstn_blacklist(ctx.account.account_id)
    wanted_id = p.integer("pstn_blacklist_id", code=INVALID_PSTN_BLACKLIST_ID)
    if wanted_id is not None:
        items = [item for item in items if item.pstn_blacklist_id == wanted_id]
    phone = p.text("pstn_blacklist_phone")
    if phone is not None:
        digits = normalize_number(phone)
        items = [item for item in items if item.pstn_blacklist_phone == phone
                 or (digits is not None and normalize_number(item.pstn_blacklist_phone) == digits)]
    return paged(items, p, lambda item: item.api())
