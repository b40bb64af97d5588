"""Rule methods: AddRule, GetRules, SetRuleInfo, DelRule, ReorderRules.

Also `rule_from`, the `rule_id | rule_name` alternative the scenario methods read.
"""

from __future__ import annotations

from mock_api.methods import Context, Reply, Selection, method, ok, paged
from mock_api.methods.applications import required_application
from mock_api.params import Params
from voxsim.errors import INVALID_APPLICATION_ID, INVALID_RULE_ID, INVALID_SCENARIO_ID, specify
from voxsim.model import Rule

PATTERN_NOTE = """
    Patterns are Python regular expressions matched against the whole destination (`re.fullmatch`);
    one that does not compile answers 148 (`rule_pattern`) or 149 (`rule_pattern_exclude`). An empty
    `rule_pattern_exclude` counts as absent, so SetRuleInfo cannot clear an exclude pattern.
"""


def rule_from(ctx: Context, p: Params, application_id: int | None, *, required: bool = True) -> Rule | None:
    """The rule named by `rule_id` (147 if unknown or not in the application) or `rule_name` (156 if unknown;
    without an application the name must be unique in the account)."""
    given = p.one_of("rule_id", "rule_name", required=required)
    if given is None:
        return None
    if given == "rule_id":
        return ctx.store.get_rule(ctx.account.account_id, rule_id=p.integer("rule_id", code=INVALID_RULE_ID),
                                  application_id=application_id)
    return ctx.store.get_rule(ctx.account.account_id, rule_name=p.text("rule_name"), application_id=application_id)


def required_rule(ctx: Context, p: Params, application_id: int | None) -> Rule:
    rule = rule_from(ctx, p, application_id)
    if rule is None:  # one_of(required=True) has already answered 485
        raise specify("rule_id")
    return rule


def scenario_ids_from(ctx: Context, p: Params, application_id: int) -> list[int]:
    """The `scenario_id | scenario_name` list to bind, in order (names looked up in the application and the
    shared folder)."""
    given = p.one_of("scenario_id", "scenario_name")
    if given == "scenario_id":
        return p.integers("scenario_id", code=INVALID_SCENARIO_ID) or []
    if given == "scenario_name":
        return ctx.store.resolve_scenario_ids(ctx.account.account_id, application_id,
                                              scenario_names=p.texts("scenario_name") or [])
    return []


@method("AddRule", notes=PATTERN_NOTE + """
    Scenarios given by `scenario_id | scenario_name` are bound in that order; a rule without scenarios is
    allowed. The new rule goes last in the routing order. `bind_key_id` is stored, not checked.
""")
def add_rule(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    rule = ctx.store.add_rule(
        ctx.account.account_id, app.application_id, p.text("rule_name", required=True),
        p.text("rule_pattern", required=True),
        rule_pattern_exclude=p.text("rule_pattern_exclude") or "",
        video_conference=p.flag("video_conference", False), bind_key_id=p.text("bind_key_id") or "",
        scenario_ids=scenario_ids_from(ctx, p, app.application_id),
    )
    return ok(rule_id=rule.rule_id)


@method("GetRules", notes="""
    Rules come in routing order. `template` keeps the rules whose pattern full-matches that destination
    and whose exclude pattern does not; `attached_key_id` matches the rule's `bind_key_id`.
""")
def get_rules(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    rules = ctx.store.list_rules(
        ctx.account.account_id, app.application_id, rule_id=p.integer("rule_id", code=INVALID_RULE_ID),
        name_part=p.text("rule_name"), video_conference=p.flag("video_conference"),
        attached_key_id=p.text("attached_key_id"), template=p.text("template"),
    )
    with_scenarios = p.flag("with_scenarios", False)
    return paged(rules, p, lambda rule: rule.api(ctx.store.rule_scenarios(rule.rule_id) if with_scenarios else None))


@method("SetRuleInfo", notes=PATTERN_NOTE)
def set_rule_info(ctx: Context, p: Params) -> Reply:
    ctx.store.set_rule_info(ctx.account.account_id, p.integer("rule_id", required=True, code=INVALID_RULE_ID), {
        "rule_name": p.text("rule_name"),
        "rule_pattern": p.text("rule_pattern"),
        "rule_pattern_exclude": p.text("rule_pattern_exclude"),
        "video_conference": p.flag("video_conference"),
        "bind_key_id": p.text("bind_key_id"),
    })
    return ok()


def application_ids_from(ctx: Context, p: Params) -> list[int] | None:
    """DelRule's `application_id` (ids or `all`) | `application_name` (names) as ids; None if absent."""
    given = p.one_of("application_id", "application_name")
    account_id = ctx.account.account_id
    if given == "application_id":
        ids = p.integers_or_all("application_id", code=INVALID_APPLICATION_ID)
        if ids == "all":
            return [app.application_id for app in ctx.store.list_applications(account_id)]
        return [ctx.store.get_application(account_id, application_id=i).application_id for i in ids or ()]
    if given == "application_name":
        return [ctx.store.get_application(account_id, application_name=n).application_id
                for n in p.texts("application_name") or ()]
    return None


@method("DelRule", notes="""
    `rule_id=all` deletes every rule of the given applications, or of the account without them. Rule names
    need the application(s) (485). Nothing is deleted when one of the rules is unknown (147 / 156).
""")
def del_rule(ctx: Context, p: Params) -> Reply:
    chosen = Selection(p, "rule", code=INVALID_RULE_ID)
    app_ids = application_ids_from(ctx, p)
    if chosen.by_name and app_ids is None:
        raise specify("application_id")
    ctx.store.del_rules(ctx.account.account_id, rule_ids=chosen.ids(), rule_names=chosen.names(),
                        application_ids=app_ids)
    return ok()


@method("ReorderRules", notes="""
    The listed rules move to the front of their application's routing order in the given order; any others
    keep their relative order after them. All must belong to one application (101); unknown ids answer 147.
""")
def reorder_rules(ctx: Context, p: Params) -> Reply:
    ctx.store.reorder_rules(ctx.account.account_id, p.integers("rule_id", required=True, code=INVALID_RULE_ID))
    return ok()
