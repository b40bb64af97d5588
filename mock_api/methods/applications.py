"""Application methods: AddApplication, GetApplications, SetApplicationInfo, DelApplication.

Also `application_from`, the `application_id | application_name` alternative every family reads.
"""

from __future__ import annotations

from typing import Any

from mock_api.methods import Context, Reply, Selection, method, ok, paged
from mock_api.params import Params
from voxsim.errors import INVALID_APPLICATION_ID, specify
from voxsim.model import Application


def application_from(ctx: Context, p: Params, *, required: bool = True,
                     names: tuple[str, str] = ("application_id", "application_name")) -> Application | None:
    """The application named by `application_id` (116 if unknown) or `application_name`, short or full
    (558 if unknown); None when neither is given and it is optional."""
    given = p.one_of(*names, required=required)
    if given is None:
        return None
    if given == names[0]:
        return ctx.store.get_application(ctx.account.account_id,
                                         application_id=p.integer(names[0], code=INVALID_APPLICATION_ID))
    return ctx.store.get_application(ctx.account.account_id, application_name=p.text(names[1]))


def required_application(ctx: Context, p: Params) -> Application:
    """`application_from` for methods where the application is required (485 when neither is given)."""
    app = application_from(ctx, p)
    if app is None:  # one_of(required=True) has already answered 485
        raise specify("application_id")
    return app


def application_info(ctx: Context, app: Application, *, with_rules: bool, with_scenarios: bool) -> dict[str, Any]:
    info = app.api()
    if with_rules or with_scenarios:
        rules = ctx.store.rules_in_order(app.application_id)
        info["rules"] = [rule.api(ctx.store.rule_scenarios(rule.rule_id) if with_scenarios else None)
                         for rule in rules]
    return info


@method("AddApplication", notes="""
    Accepts the short or the full name; the result names the full one, `<app>.<account>.voximplant.com`.
    There is no application count limit (108 is never answered).
""")
def add_application(ctx: Context, p: Params) -> Reply:
    app = ctx.store.add_application(ctx.account.account_id, p.text("application_name", required=True),
                                    p.flag("secure_record_storage", False))
    return ok(application_id=app.application_id, application_name=app.application_name,
              secure_record_storage=app.secure_record_storage)


@method("GetApplications", notes="""
    `with_rules` adds `rules` (in routing order) to each application, and `with_scenarios` adds them with
    their `scenarios` (the published ApplicationInfoType has no field for either).
""")
def get_applications(ctx: Context, p: Params) -> Reply:
    apps = ctx.store.list_applications(ctx.account.account_id,
                                       application_id=p.integer("application_id", code=INVALID_APPLICATION_ID),
                                       name_part=p.text("application_name"))
    with_rules, with_scenarios = p.flag("with_rules", False), p.flag("with_scenarios", False)
    return paged(apps, p, lambda app: application_info(ctx, app, with_rules=with_rules,
                                                       with_scenarios=with_scenarios))


@method("SetApplicationInfo", notes="""
    An unknown `application_id` answers 116, an unknown `required_application_name` 558.
""")
def set_application_info(ctx: Context, p: Params) -> Reply:
    given = p.one_of("application_id", "required_application_name", required=True)
    app = ctx.store.set_application_info(
        ctx.account.account_id,
        application_id=p.integer("application_id", code=INVALID_APPLICATION_ID) if given == "application_id" else None,
        required_application_name=p.text("required_application_name"),
        new_name=p.text("application_name"),
        secure_record_storage=p.flag("secure_record_storage"),
    )
    return ok(application_name=app.application_name, secure_record_storage=app.secure_record_storage)


@method("DelApplication", notes="""
    Deletes the applications' rules, users and application-level scenarios with them. Nothing is deleted
    when one of the ids (116) or names (558) is unknown.
""")
def del_application(ctx: Context, p: Params) -> Reply:
    chosen = Selection(p, "application", code=INVALID_APPLICATION_ID)
    ctx.store.del_applications(ctx.account.account_id, application_ids=chosen.ids(),
                               application_names=chosen.names())
    return ok()
