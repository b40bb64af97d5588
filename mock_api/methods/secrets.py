"""Secrets methods: AddSecret, GetSecrets, GetSecretValue, SetSecretInfo, DelSecret.

An application's named secrets (voxsim/store/secrets.py has the rules). Every method names the application
by `application_id` or `application_name` (one of them: 485 without, 458 with both; unknown: 116 / 558).
"""

from __future__ import annotations

from mock_api.methods import Context, Reply, Selection, method, ok, paged
from mock_api.methods.applications import required_application
from mock_api.params import Params
from voxsim.store.secrets import Secret

APPLICATION_NOTE = "The application is `application_id` or `application_name` (116 / 558 when unknown)."
ONE_SECRET_NOTE = """
    The secret is `secret_id` or `secret_name` (one of them: 485 without, 458 with both); one the application does
    not have answers 496.
"""


def _one_secret(ctx: Context, p: Params, application_id: int) -> Secret:
    which = p.one_of("secret_id", "secret_name", required=True)
    if which == "secret_id":
        return ctx.store.get_secret(application_id, secret_id=p.integer("secret_id", required=True))
    return ctx.store.get_secret(application_id, secret_name=p.text("secret_name", required=True))


@method("AddSecret", notes=APPLICATION_NOTE + """
    `secret_name` is a Latin letter then up to 63 Latin letters, digits and underscores (496 otherwise), unique in
    the application (493); `secret_value` up to 8192 characters (499); `description` is cut to 200 characters.
    Returns `result: [{secret_id}]`. Scenarios cannot read secrets (the typings give them no way), so they are
    stored only.
""")
def add_secret(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    secret = ctx.store.add_secret(app.application_id, p.text("secret_name", required=True),
                                  p.text("secret_value", required=True), p.text("description") or "")
    return {"result": [{"secret_id": secret.secret_id}]}


@method("GetSecrets", notes=APPLICATION_NOTE + """
    `secret_name_part` filters by a case-insensitive part of the name; `count` 20 by default, `offset`. Items are
    `{secret_id, secret_name, description, created, modified}`, in the order they were added, without values.
""")
def get_secrets(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    secrets = ctx.store.list_secrets(app.application_id, p.text("secret_name_part"))
    return paged(secrets, p, lambda secret: secret.api())


@method("GetSecretValue", notes=APPLICATION_NOTE + ONE_SECRET_NOTE + """
    Returns `result: [{secret_id, secret_name, secret_value, description, created, modified}]`.
""")
def get_secret_value(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    return {"result": [_one_secret(ctx, p, app.application_id).api(with_value=True)]}


@method("SetSecretInfo", notes=APPLICATION_NOTE + ONE_SECRET_NOTE + """
    Changes what is given of `new_secret_name` (the name rules, 493 when another secret has it), `secret_value` and
    `description`; `modified` moves.
""")
def set_secret_info(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    secret = _one_secret(ctx, p, app.application_id)
    ctx.store.set_secret_info(secret, new_name=p.text("new_secret_name"), value=p.text("secret_value"),
                              description=p.text("description"))
    return ok()


@method("DelSecret", notes=APPLICATION_NOTE + """
    `secret_id` (a `;` list, or `all`) or `secret_name` (a `;` list): every one must be the application's (496,
    and nothing is deleted).
""")
def del_secret(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    selection = Selection(p, "secret", code=496)
    ctx.store.del_secrets(app.application_id, ids=selection.ids(), names=selection.names())
    return ok()
