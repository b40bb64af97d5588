"""SmartQueue methods: SQ_AddQueue, SQ_GetQueues, SQ_SetQueueInfo, SQ_DelQueue, SQ_AddSkill, SQ_GetSkills,
SQ_SetSkillInfo, SQ_DelSkill, SQ_BindSkill, SQ_UnbindSkill, SQ_BindAgent, SQ_UnbindAgent, SQ_GetAgents,
SQ_SetAgentInfo (voxsim/store/smart_queue.py has the rules).

Every method names the application (`application_id` or `application_name`: 485 without, 458 with both); queues,
skills and agents are that application's. Stored only: no task is ever distributed in voxsim.
"""

from __future__ import annotations

import json
from typing import Any

from mock_api.methods import Context, Reply, method, ok, paged
from mock_api.methods.applications import required_application
from mock_api.methods.queues import application_users
from mock_api.params import Params
from voxsim.errors import invalid
from voxsim.model import User
from voxsim.store.smart_queue import SqQueue, SqSkill

STORED_ONLY = " Stored only: scenarios' SmartQueue tasks do not use it."
USERS_NOTE = ("Agents are `user_id` (a `;` list or `all`) or `user_name` (a `;` list), users of the application "
              "(117 unknown, 393 another application's).")
QUEUE_SETTINGS = ("call_agent_selection", "im_agent_selection", "call_task_selection", "im_task_selection",
                  "description")
QUEUE_NUMBERS = ("call_max_waiting_time", "im_max_waiting_time", "call_max_waiting_time_in_seconds",
                 "im_max_waiting_time_in_seconds", "call_max_queue_size", "im_max_queue_size", "priority")
SETTINGS_NOTE = """
    `call_agent_selection` / `im_agent_selection` are MOST_QUALIFIED, LEAST_QUALIFIED or MAX_WAITING_TIME,
    `call_task_selection` / `im_task_selection` MAX_PRIORITY or MAX_WAITING_TIME (the IM ones default to the call
    ones); `*_max_waiting_time` in minutes or `*_max_waiting_time_in_seconds` (not both: 496), `*_max_queue_size`,
    `priority` 1 to 100, `hold_calls_if_inactive_agents`, `hold_im_if_inactive_agents`, `description` up to 200.
"""


def _queue_settings(p: Params) -> dict[str, Any]:
    settings: dict[str, Any] = {key: p.text(key) for key in QUEUE_SETTINGS}
    settings.update({key: p.integer(key) for key in QUEUE_NUMBERS})
    for key in ("hold_calls_if_inactive_agents", "hold_im_if_inactive_agents"):
        settings[key] = p.flag(key)
    return settings


def _queues(ctx: Context, p: Params, application_id: int, *, required: bool = True) -> list[SqQueue] | None:
    """`sq_queue_id` (a `;` list or `all`) or `sq_queue_name` (a `;` list); None when optional and absent."""
    which = p.one_of("sq_queue_id", "sq_queue_name", required=required)
    if which is None:
        return None
    if which == "sq_queue_id":
        return ctx.store.sq_resolve_queues(application_id, ids=p.integers_or_all("sq_queue_id", required=True))
    return ctx.store.sq_resolve_queues(application_id, names=p.texts("sq_queue_name", required=True))


def _skills(ctx: Context, p: Params, application_id: int, *, required: bool = True) -> list[SqSkill] | None:
    which = p.one_of("sq_skill_id", "sq_skill_name", required=required)
    if which is None:
        return None
    if which == "sq_skill_id":
        return ctx.store.sq_resolve_skills(application_id, ids=p.integers_or_all("sq_skill_id", required=True))
    return ctx.store.sq_resolve_skills(application_id, names=p.texts("sq_skill_name", required=True))


def _one_user(ctx: Context, p: Params, application_id: int, prefix: str) -> int | None:
    """An optional single-user filter: `<prefix>user_id` or `<prefix>user_name`."""
    which = p.one_of(f"{prefix}user_id", f"{prefix}user_name")
    if which is None:
        return None
    account_id = ctx.account.account_id
    if which.endswith("_id"):
        return ctx.store.get_user(account_id, user_id=p.integer(which, required=True, code=117),
                                  application_id=application_id).user_id
    return ctx.store.get_user(account_id, user_name=p.text(which, required=True),
                              application_id=application_id).user_id


def _json_list(p: Params, name: str, *, required: bool = False) -> list[dict[str, Any]] | None:
    text = p.text(name, required=required)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise invalid(name) from exc
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise invalid(name)
    return value


def _skill_of(ctx: Context, application_id: int, item: dict[str, Any]) -> SqSkill:
    """The skill a `sq_skills` item names by `sq_skill_id` or `sq_skill_name` (496 otherwise)."""
    if isinstance(item.get("sq_skill_id"), int):
        return ctx.store.sq_get_skill(application_id, skill_id=item["sq_skill_id"])
    if isinstance(item.get("sq_skill_name"), str):
        return ctx.store.sq_get_skill(application_id, name=item["sq_skill_name"])
    raise invalid("sq_skills")


def _level(item: dict[str, Any]) -> int:
    level = item.get("sq_skill_level")
    if not isinstance(level, int) or isinstance(level, bool):
        raise invalid("sq_skills")
    return level


# -- queues ---------------------------------------------------------------------------------------
@method("SQ_AddQueue", notes="`sq_queue_name` up to 100 characters, unique in the application (493); "
        "`call_agent_selection` and `call_task_selection` required (485)." + SETTINGS_NOTE
        + "Returns `result: {sq_queue_id}`." + STORED_ONLY)
def sq_add_queue(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    settings = _queue_settings(p)
    settings["call_agent_selection"] = p.text("call_agent_selection", required=True)
    settings["call_task_selection"] = p.text("call_task_selection", required=True)
    queue = ctx.store.sq_add_queue(app.application_id, p.text("sq_queue_name", required=True), settings)
    return {"result": {"sq_queue_id": queue.sq_queue_id}}


@method("SQ_GetQueues", notes="""
    Filters: `sq_queue_id` / `sq_queue_name` (`;` lists), `sq_queue_name_template` (a case-insensitive part),
    `user_id` / `user_name` (queues the agent is bound to), `excluded_user_id` / `excluded_user_name`;
    `with_agentcount` adds `agentcount`. Items also carry `agent_selection` / `task_selection` (the call ones,
    as the typings name them). `result` is a list of them. `count` 20, `offset`.
""")
def sq_get_queues(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    chosen = _queues(ctx, p, app.application_id, required=False)
    queues = chosen if chosen is not None else ctx.store.sq_list_queues(app.application_id)
    template = p.text("sq_queue_name_template")
    queues = [q for q in queues if not template or template.lower() in q.sq_queue_name.lower()]
    for prefix, keep in (("", True), ("excluded_", False)):
        user_id = _one_user(ctx, p, app.application_id, prefix)
        if user_id is not None:
            bound = {q.sq_queue_id for q in ctx.store.sq_agent_queues(user_id)}
            queues = [q for q in queues if (q.sq_queue_id in bound) == keep]
    with_count = p.flag("with_agentcount", False)

    def render(queue: SqQueue) -> dict[str, Any]:
        info = queue.api()
        if with_count:
            info["agentcount"] = ctx.store.sq_queue_agent_count(queue.sq_queue_id)
        return info

    return paged(queues, p, render)


@method("SQ_SetQueueInfo", notes="The queue is `sq_queue_id` or `sq_queue_name` (496 unknown); changes what is "
        "given of `new_sq_queue_name` (493 when taken) and the settings." + SETTINGS_NOTE)
def sq_set_queue_info(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    which = p.one_of("sq_queue_id", "sq_queue_name", required=True)
    if which == "sq_queue_id":
        queue = ctx.store.sq_get_queue(app.application_id, queue_id=p.integer("sq_queue_id", required=True))
    else:
        queue = ctx.store.sq_get_queue(app.application_id, name=p.text("sq_queue_name", required=True))
    ctx.store.sq_set_queue_info(queue, new_name=p.text("new_sq_queue_name"), settings=_queue_settings(p))
    return ok()


@method("SQ_DelQueue", notes="`sq_queue_id` (a `;` list or `all`) or `sq_queue_name`: every one must exist (496, "
        "and nothing is deleted); their agent bindings go with them.")
def sq_del_queue(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    ctx.store.sq_del_queues(_queues(ctx, p, app.application_id) or [])
    return ok()


# -- skills ---------------------------------------------------------------------------------------
@method("SQ_AddSkill", notes="`sq_skill_name` up to 100 characters, unique in the application (493); "
        "`description` up to 200 (496). Returns `result: {sq_skill_id}`." + STORED_ONLY)
def sq_add_skill(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    skill = ctx.store.sq_add_skill(app.application_id, p.text("sq_skill_name", required=True),
                                   p.text("description") or "")
    return {"result": {"sq_skill_id": skill.sq_skill_id}}


@method("SQ_GetSkills", notes="""
    Filters: `sq_skill_id` / `sq_skill_name` (`;` lists), `sq_skill_name_template` (a case-insensitive part),
    `user_id` / `user_name` (`;` lists: skills any of them has), `excluded_user_id` / `excluded_user_name`.
    Items {sq_skill_id, sq_skill_name, description, created, modified}; `count` 20, `offset`.
""")
def sq_get_skills(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    chosen = _skills(ctx, p, app.application_id, required=False)
    skills = chosen if chosen is not None else ctx.store.sq_list_skills(app.application_id)
    template = p.text("sq_skill_name_template")
    skills = [s for s in skills if not template or template.lower() in s.sq_skill_name.lower()]
    users = application_users(ctx, p, app.application_id, required=False)
    if users:
        held = {a.sq_skill_id for u in users for a in ctx.store.sq_agent_skills(u)}
        skills = [s for s in skills if s.sq_skill_id in held]
    excluded = _one_user(ctx, p, app.application_id, "excluded_")
    if excluded is not None:
        held = {a.sq_skill_id for a in ctx.store.sq_agent_skills(excluded)}
        skills = [s for s in skills if s.sq_skill_id not in held]
    return paged(skills, p, lambda skill: skill.api())


@method("SQ_SetSkillInfo", notes="The skill is `sq_skill_id` or `sq_skill_name` (496 unknown); changes what is "
        "given of `new_sq_skill_name` (493 when taken) and `description`.")
def sq_set_skill_info(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    which = p.one_of("sq_skill_id", "sq_skill_name", required=True)
    if which == "sq_skill_id":
        skill = ctx.store.sq_get_skill(app.application_id, skill_id=p.integer("sq_skill_id", required=True))
    else:
        skill = ctx.store.sq_get_skill(app.application_id, name=p.text("sq_skill_name", required=True))
    ctx.store.sq_set_skill_info(skill, new_name=p.text("new_sq_skill_name"), description=p.text("description"))
    return ok()


@method("SQ_DelSkill", notes="`sq_skill_id` (a `;` list or `all`) or `sq_skill_name`: every one must exist (496, "
        "and nothing is deleted); agents lose them.")
def sq_del_skill(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    ctx.store.sq_del_skills(_skills(ctx, p, app.application_id) or [])
    return ok()


@method("SQ_BindSkill", notes=USERS_NOTE + """
    `sq_skills` is a JSON array of {sq_skill_id or sq_skill_name, sq_skill_level 1 to 5} (496 otherwise);
    `bind_mode` add (the default: sets these levels), replace_skills (the agents keep only these) or
    replace_agents (only these agents keep these skills).
""" + STORED_ONLY)
def sq_bind_skill(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    users = application_users(ctx, p, app.application_id)
    levels = [(_skill_of(ctx, app.application_id, item), _level(item))
              for item in _json_list(p, "sq_skills", required=True) or []]
    ctx.store.sq_bind_skills(users, levels, p.text("bind_mode") or "add")
    return ok()


@method("SQ_UnbindSkill", notes=USERS_NOTE + " Skills are `sq_skill_id` (a `;` list or `all`) or `sq_skill_name`.")
def sq_unbind_skill(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    users = application_users(ctx, p, app.application_id)
    ctx.store.sq_unbind_skills(users, _skills(ctx, p, app.application_id) or [])
    return ok()


# -- agents ---------------------------------------------------------------------------------------
@method("SQ_BindAgent", notes=USERS_NOTE + " Queues are `sq_queue_id` (a `;` list or `all`) or `sq_queue_name`; "
        "`bind_mode` add (the default) or replace (they become the queues' only agents)." + STORED_ONLY)
def sq_bind_agent(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    users = application_users(ctx, p, app.application_id)
    ctx.store.sq_bind_agents(users, _queues(ctx, p, app.application_id) or [], p.text("bind_mode") or "add")
    return ok()


@method("SQ_UnbindAgent", notes=USERS_NOTE + " Queues are `sq_queue_id` (a `;` list or `all`) or `sq_queue_name`.")
def sq_unbind_agent(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    users = application_users(ctx, p, app.application_id)
    ctx.store.sq_unbind_agents(users, _queues(ctx, p, app.application_id) or [])
    return ok()


def _agent_info(ctx: Context, user: User, p: Params) -> dict[str, Any]:
    handle_calls, max_chats = ctx.store.sq_agent_settings(user.user_id)
    info: dict[str, Any] = {"user_id": user.user_id, "user_name": user.user_name,
                            "user_display_name": user.user_display_name, "handle_calls": handle_calls}
    if max_chats is not None:
        info["max_simultaneous_conversations"] = max_chats
    if p.flag("with_sq_skills", False):
        info["sq_skills"] = [{"sq_skill_id": s.sq_skill_id, "sq_skill_name": s.sq_skill_name,
                              "sq_skill_level": s.sq_skill_level} for s in ctx.store.sq_agent_skills(user.user_id)]
    if p.flag("with_sq_queues", False):
        info["sq_queues"] = [{"sq_queue_id": q.sq_queue_id, "sq_queue_name": q.sq_queue_name}
                             for q in ctx.store.sq_agent_queues(user.user_id)]
    if p.flag("with_sq_statuses", False):
        offline = {"sq_status_name": "OFFLINE", "from_date": user.created}
        info["sq_statuses"] = [{"CALL": dict(offline), "IM": dict(offline)}]
    return info


def _has_skills(ctx: Context, application_id: int, user_id: int, wanted: list[dict[str, Any]]) -> bool:
    """Whether the agent has every skill of the `sq_skills` filter within its level bounds (1 to 5 if unset)."""
    levels = {a.sq_skill_id: a.sq_skill_level for a in ctx.store.sq_agent_skills(user_id)}
    for item in wanted:
        low, high = item.get("min_sq_skill_level", 1), item.get("max_sq_skill_level", 5)
        if not isinstance(low, int) or not isinstance(high, int):
            raise invalid("sq_skills")
        level = levels.get(_skill_of(ctx, application_id, item).sq_skill_id)
        if level is None or not low <= level <= high:
            return False
    return True


@method("SQ_GetAgents", notes="""
    The application's users: `user_id` / `user_name` (`;` lists), `user_name_template` (a case-insensitive part),
    `sq_queue_id` / `sq_queue_name` (bound to any of them), `excluded_sq_queue_id` / `excluded_sq_queue_name`,
    `sq_skills` (JSON [{sq_skill_id or sq_skill_name, min_sq_skill_level, max_sq_skill_level}]), `sq_statuses`
    (every agent is OFFLINE: no agent logs in to voxsim). Items {user_id, user_name, user_display_name,
    handle_calls, max_simultaneous_conversations}, `with_sq_skills`, `with_sq_queues`, `with_sq_statuses` add those.
""")
def sq_get_agents(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    account_id, application_id = ctx.account.account_id, app.application_id
    chosen = application_users(ctx, p, application_id, required=False)
    users = [u for u in ctx.store.list_users(account_id, application_id, name_part=p.text("user_name_template"))
             if not chosen or u.user_id in chosen]
    queues = _queues(ctx, p, application_id, required=False)
    if queues is not None:
        members = {q.sq_queue_id for q in queues}
        users = [u for u in users if members & {q.sq_queue_id for q in ctx.store.sq_agent_queues(u.user_id)}]
    excluded = _excluded_queue(ctx, p, application_id)
    if excluded is not None:
        users = [u for u in users if excluded not in {q.sq_queue_id for q in ctx.store.sq_agent_queues(u.user_id)}]
    wanted = _json_list(p, "sq_skills")
    if wanted:
        users = [u for u in users if _has_skills(ctx, application_id, u.user_id, wanted)]
    statuses = _json_list(p, "sq_statuses")
    if statuses and not any(item.get("sq_status_name") == "OFFLINE" for item in statuses):
        users = []
    return paged(users, p, lambda user: _agent_info(ctx, user, p))


def _excluded_queue(ctx: Context, p: Params, application_id: int) -> int | None:
    which = p.one_of("excluded_sq_queue_id", "excluded_sq_queue_name")
    if which is None:
        return None
    if which.endswith("_id"):
        return ctx.store.sq_get_queue(application_id, queue_id=p.integer(which, required=True)).sq_queue_id
    return ctx.store.sq_get_queue(application_id, name=p.text(which, required=True)).sq_queue_id


@method("SQ_SetAgentInfo", notes=USERS_NOTE + " Sets what is given of `handle_calls` (true until set) and "
        "`max_simultaneous_conversations` (not negative)." + STORED_ONLY)
def sq_set_agent_info(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    users = application_users(ctx, p, app.application_id)
    ctx.store.sq_set_agent_info(users, handle_calls=p.flag("handle_calls"),
                                max_simultaneous_conversations=p.integer("max_simultaneous_conversations"))
    return ok()

