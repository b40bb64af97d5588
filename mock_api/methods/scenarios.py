"""Scenario methods: AddScenario, GetScenarios, SetScenarioInfo, DelScenario, BindScenario, ReorderScenarios."""

from __future__ import annotations

from typing import Any

from mock_api.methods import Context, Reply, Selection, method, ok, paged
from mock_api.methods.applications import application_from
from mock_api.methods.rules import required_rule, rule_from
from mock_api.params import Params
from voxsim.errors import INVALID_SCENARIO_ID, specify
from voxsim.model import Scenario

UNIQUE_NOTE = """
    A scenario name is unique among the scenarios visible together: an application's own plus the
    shared ones (so a shared name is unique in the whole account); a clash answers 133.
"""


def scenario_from(ctx: Context, p: Params, names: tuple[str, str] = ("scenario_id", "scenario_name")) -> Scenario:
    given = p.one_of(*names, required=True)
    if given == names[0]:
        return ctx.store.get_scenario(ctx.account.account_id, scenario_id=p.integer(names[0], code=INVALID_SCENARIO_ID))
    return ctx.store.get_scenario(ctx.account.account_id, scenario_name=p.text(names[1]))


@method("AddScenario", notes=UNIQUE_NOTE + """
    Without an application the scenario goes to the shared folder. `rule_id | rule_name` binds it at once
    (a rule name without an application must be unique in the account). `rewrite=true` overwrites the
    same-named scenario of the same place and keeps its id. The script must be under 128 KB of UTF-8 (130).
""")
def add_scenario(ctx: Context, p: Params) -> Reply:
    app = application_from(ctx, p, required=False)
    app_id = app.application_id if app else None
    rule = rule_from(ctx, p, app_id, required=False)
    scenario = ctx.store.add_scenario(
        ctx.account.account_id, p.text("scenario_name", required=True), p.text("scenario_script"),
        application_id=app_id, rewrite=p.flag("rewrite", False),
        rule_id=rule.rule_id if rule else None,
    )
    return ok(scenario_id=scenario.scenario_id)


@method("GetScenarios", notes="""
    Without an application: every scenario of the account. With one: its own scenarios plus the shared
    ones, and the reply carries `application_id`, `application_name` and `extended_application_name`
    (the same full name: voxsim has no node labels). `parent` is always false. `with_script` works with
    any filter.
""")
def get_scenarios(ctx: Context, p: Params) -> Reply:
    app = application_from(ctx, p, required=False)
    scenarios = ctx.store.list_scenarios(
        ctx.account.account_id, scenario_id=p.integer("scenario_id", code=INVALID_SCENARIO_ID),
        name_part=p.text("scenario_name"), application_id=app.application_id if app else None)
    with_script = p.flag("with_script", False)
    extra: dict[str, Any] = {} if app is None else {
        "application_id": app.application_id, "application_name": app.application_name,
        "extended_application_name": app.application_name}
    return paged(scenarios, p, lambda s: s.api(with_script=with_script), **extra)


@method("SetScenarioInfo", notes=UNIQUE_NOTE + """
    `required_scenario_name` must name one scenario of the account (168 otherwise).
""")
def set_scenario_info(ctx: Context, p: Params) -> Reply:
    scenario = scenario_from(ctx, p, ("scenario_id", "required_scenario_name"))
    ctx.store.set_scenario_info(ctx.account.account_id, scenario, new_name=p.text("scenario_name"),
                                scenario_script=p.text("scenario_script"))
    return ok()


@method("DelScenario", notes="""
    `scenario_id=all` deletes every scenario of the account. Deleted scenarios are unbound from their rules.
    Nothing is deleted when one of them is unknown (132 / 168).
""")
def del_scenario(ctx: Context, p: Params) -> Reply:
    chosen = Selection(p, "scenario", code=INVALID_SCENARIO_ID)
    ctx.store.del_scenarios(ctx.account.account_id, scenario_ids=chosen.ids(), scenario_names=chosen.names())
    return ok()


@method("BindScenario", notes="""
    `bind` defaults to true; `bind=false` unbinds. New bindings go to the end of the rule's list in the
    given order (already bound scenarios keep their place). A scenario must be shared or in the rule's
    application (132). `rule_name` needs the application (485).
""")
def bind_scenario(ctx: Context, p: Params) -> Reply:
    app = application_from(ctx, p, required=False)
    if app is None and "rule_name" in p:
        raise specify("application_id")
    rule = required_rule(ctx, p, app.application_id if app else None)
    given = p.one_of("scenario_id", "scenario_name", required=True)
    if given == "scenario_id":
        ids = p.integers("scenario_id", required=True, code=INVALID_SCENARIO_ID) or []
    else:
        names = p.texts("scenario_name", required=True) or []
        ids = ctx.store.resolve_scenario_ids(ctx.account.account_id, rule.application_id, scenario_names=names)
    ctx.store.bind_scenarios(ctx.account.account_id, rule.rule_id, ids, p.flag("bind", True))
    return ok()


@method("ReorderScenarios", notes="""
    The listed scenarios (each must be bound to the rule: 132) move to the front in the given order; any
    others keep their relative order after them. A `rule_name` must be unique in the account unless an
    application is given.
""")
def reorder_scenarios(ctx: Context, p: Params) -> Reply:
    app = application_from(ctx, p, required=False)
    rule = required_rule(ctx, p, app.application_id if app else None)
    ids = p.integers("scenario_id", required=True, code=INVALID_SCENARIO_ID) or []
    ctx.store.reorder_scenarios(ctx.account.account_id, rule.rule_id, ids)
    return ok()
