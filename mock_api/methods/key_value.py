"""KeyValueStorage methods: SetKeyValueItem, GetKeyValueItem, GetKeyValueItems, GetKeyValueKeys, DelKeyValueItem.

The pairs are the application's, the same that scenarios read and write with `ApplicationStorage`
(voxsim/store/key_value.py has the limits, the expiry and the key patterns).
"""

from __future__ import annotations

from mock_api.methods import Context, Reply, method, ok
from mock_api.methods.applications import required_application
from mock_api.params import Params
from voxsim.errors import INVALID_APPLICATION_ID
from voxsim.model import Application

ITEMS_DEFAULT_COUNT, ITEMS_MAX_COUNT = 10, 50  # GetKeyValueItems and GetKeyValueKeys [DOC]

APPLICATION_NOTE = """
    `application_id` (or `application_name`, short or full) names the application whose pairs these are; an
    unknown id answers 116, an unknown name 558.
"""
PATTERN_NOTE = """
    `key` matches the keys that begin with it; a `*` in it matches any run of characters over the whole key.
    `count` is 10 by default and 50 at most (more answers 496), `offset` 0; the result is the list alone, in key
    order, without `total_count`, as the platform's example shows. Expired pairs are never listed.
"""


def _application(ctx: Context, p: Params) -> Application:
    """`application_id` wins when a client sends both: the official clients always send it."""
    if "application_id" in p and "application_name" in p:
        app_id = p.integer("application_id", code=INVALID_APPLICATION_ID)
        return ctx.store.get_application(ctx.account.account_id, application_id=app_id)
    return required_application(ctx, p)


def _window(p: Params) -> tuple[int, int]:
    return p.paging(default_count=ITEMS_DEFAULT_COUNT, max_count=ITEMS_MAX_COUNT)


@method("SetKeyValueItem", notes=APPLICATION_NOTE + """
    Creates the pair or replaces its value and expiry. `ttl` is 0..7,776,000 s (30 days when neither `ttl` nor
    `expires_at` is given; ttl 0 expires at once), `expires_at` a UNIX time within the next 90 days; both answer
    458. A key longer than 200 characters or a value longer than 2000 answers 499, a key outside the platform's
    alphabet 496. Returns `result: {key, value, expires_at}`.
""")
def set_item(ctx: Context, p: Params) -> Reply:
    app = _application(ctx, p)
    item = ctx.store.set_key_value_item(
        ctx.account.account_id, app.application_id, p.text("key", required=True), p.text("value", required=True),
        ttl=p.integer("ttl"), expires_at=p.integer("expires_at"))
    return {"result": item.api()}


@method("GetKeyValueItem", notes=APPLICATION_NOTE + """
    A key with no pair (or an expired one) answers `result: null`, as `ApplicationStorage.get` resolves null
    (the platform's answer is undocumented).
""")
def get_item(ctx: Context, p: Params) -> Reply:
    app = _application(ctx, p)
    item = ctx.store.get_key_value_item(ctx.account.account_id, app.application_id, p.text("key", required=True))
    return {"result": item.api() if item is not None else None}


@method("GetKeyValueItems", notes=APPLICATION_NOTE + PATTERN_NOTE + "Each item is `{key, value, expires_at}`.")
def get_items(ctx: Context, p: Params) -> Reply:
    app = _application(ctx, p)
    pattern = p.text("key", required=True)
    count, offset = _window(p)
    items = ctx.store.list_key_value_items(ctx.account.account_id, app.application_id, pattern)
    return {"result": [item.api() for item in items[offset : offset + count]]}


@method("GetKeyValueKeys", notes=APPLICATION_NOTE + PATTERN_NOTE + """
    `key` is optional (every key without it); each item is `{key, expires_at}`.
""")
def get_keys(ctx: Context, p: Params) -> Reply:
    app = _application(ctx, p)
    count, offset = _window(p)
    items = ctx.store.list_key_value_items(ctx.account.account_id, app.application_id, p.text("key"))
    return {"result": [{"key": item.key, "expires_at": item.expires_at} for item in items[offset : offset + count]]}


@method("DelKeyValueItem", notes=APPLICATION_NOTE + """
    Deleting a key that has no pair also answers `result: 1` (the platform's answer is undocumented).
""")
def del_item(ctx: Context, p: Params) -> Reply:
    app = _application(ctx, p)
    ctx.store.del_key_value_item(ctx.account.account_id, app.application_id, p.text("key", required=True))
    return ok()
