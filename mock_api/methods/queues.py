"""ACD queue and skill methods: AddQueue, GetQueues, SetQueueInfo, DelQueue, BindUserToQueue; AddSkill,
GetSkills, SetSkillInfo, DelSkill, BindSkill (voxsim/store/acd.py has the rules).

Stored only: no ACD dispatches calls in voxsim, so queues, skills and their operators are what the API
shows back.
"""

from __future__ import annotations

from typing import Any

from mock_api.methods import Context, Reply, method, ok, paged
from mock_api.methods.applications import application_from, required_application
from mock_api.params import Params
from voxsim.errors import invalid, specify
from voxsim.store.acd import AcdQueue

STORED_ONLY = " Stored only: scenarios' ACD requests do not use it."
QUEUE_NOTE = "The queue is `acd_queue_id` or `acd_queue_name` (one of them: 485 / 458; unknown: 496)."
SETTINGS_NOTE = """
    `acd_queue_priority` (100 by default, 0 the highest), `auto_binding` (true), `service_probability` (1.0, within
    0.5 and 1.0), `max_queue_size`, `max_waiting_time`, `average_service_time` (not negative; 496 otherwise).
"""


def _float(p: Params, name: str) -> float | None:
    value = p.text(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise invalid(name) from exc


def _settings(p: Params) -> dict[str, Any]:
    return {"acd_queue_priority": p.integer("acd_queue_priority"), "auto_binding": p.flag("auto_binding"),
            "service_probability": _float(p, "service_probability"), "max_queue_size": p.integer("max_queue_size"),
            "max_waiting_time": p.integer("max_waiting_time"),
            "average_service_time": p.integer("average_service_time")}


def _one_queue(ctx: Context, p: Params) -> AcdQueue:
    account_id = ctx.account.account_id
    if p.one_of("acd_queue_id", "acd_queue_name", required=True) == "acd_queue_id":
        return ctx.store.get_acd_queue(account_id, queue_id=p.integer("acd_queue_id", required=True))
    return ctx.store.get_acd_queue(account_id, name=p.text("acd_queue_name", required=True))


def _queues(ctx: Context, p: Params, *, application_id: int | None = None,
            required: bool = True) -> list[AcdQueue]:
    """The queues of `acd_queue_id` (a `;` list or `all`) or `acd_queue_name` (a `;` list)."""
    which = p.one_of("acd_queue_id", "acd_queue_name", required=required)
    if which is None:
        return []
    if which == "acd_queue_id":
        return ctx.store.resolve_acd_queues(ctx.account.account_id, application_id=application_id,
                                            ids=p.integers_or_all("acd_queue_id", required=True))
    return ctx.store.resolve_acd_queues(ctx.account.account_id, application_id=application_id,
                                        names=p.texts("acd_queue_name", required=True))


def application_users(ctx: Context, p: Params, application_id: int | None, *, required: bool = True) -> list[int]:
    """The user ids of `user_id` (a `;` list, or `all`: the application's) or `user_name` (a `;` list, in the
    application: 485 for `application_id` without one); each must exist (117) and be the application's (393)."""
    which = p.one_of("user_id", "user_name", required=required)
    account_id = ctx.account.account_id
    if which is None:
        return []
    if which == "user_name":
        if application_id is None:
            raise specify("application_id")
        return [ctx.store.get_user(account_id, user_name=n, application_id=application_id).user_id
                for n in p.texts("user_name", required=True)]
    ids = p.integers_or_all("user_id", required=True, code=117)
    if ids == "all":
        if application_id is None:
            raise specify("application_id")
        return [u.user_id for u in ctx.store.list_users(account_id, application_id)]
    return [ctx.store.get_user(account_id, user_id=i, application_id=application_id).user_id for i in ids]


def queue_info(ctx: Context, queue: AcdQueue, p: Params) -> dict[str, Any]:
    info = queue.api()
    info["users"] = [{"user_id": user_id} for user_id in ctx.store.acd_queue_users(queue.acd_queue_id)]
    if p.flag("with_skills", False):
        shown = p.integer("showing_skill_id")
        info["skills"] = [s.api() for s in ctx.store.acd_queue_skills(queue.acd_queue_id)
                          if shown is None or s.skill_id == shown]
    if p.flag("with_operatorcount", False):
        info["operatorcount"] = len(info["users"])
    return info


@method("AddQueue", notes="The application is `application_id` or `application_name`. `acd_queue_name` under 100 "
        "characters, unique in the account (493). " + SETTINGS_NOTE + "Returns `acd_queue_id`." + STORED_ONLY)
def add_queue(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    queue = ctx.store.add_acd_queue(ctx.account.account_id, app.application_id,
                                    p.text("acd_queue_name", required=True), _settings(p))
    return ok(acd_queue_id=queue.acd_queue_id)


@method("GetQueues", notes="""
    Filters: `acd_queue_id`, `acd_queue_name` (a case-insensitive part), the application, `skill_id` /
    `skill_name` and `excluded_skill_id` / `excluded_skill_name` (queues bound or not to that skill). Items are
    QueueInfoType with `users` ({user_id}); `with_skills` adds `skills` (only `showing_skill_id` when given),
    `with_operatorcount` adds `operatorcount`. Deleted queues are gone (`show_deleted` shows none). `count` 20,
    `offset`.
""")
def get_queues(ctx: Context, p: Params) -> Reply:
    app = application_from(ctx, p, required=False)
    queues = ctx.store.list_acd_queues(ctx.account.account_id, application_id=app.application_id if app else None,
                                       queue_id=p.integer("acd_queue_id"), name_part=p.text("acd_queue_name"))
    with_skill, without_skill = _skill_filter(ctx, p, "skill"), _skill_filter(ctx, p, "excluded_skill")
    if with_skill is not None or without_skill is not None:
        def skills_of(queue: AcdQueue) -> set[int]:
            return {s.skill_id for s in ctx.store.acd_queue_skills(queue.acd_queue_id)}
        queues = [q for q in queues if (with_skill is None or with_skill in skills_of(q))
                  and (without_skill is None or without_skill not in skills_of(q))]
    return paged(queues, p, lambda queue: queue_info(ctx, queue, p))


def _skill_filter(ctx: Context, p: Params, prefix: str) -> int | None:
    which = p.one_of(f"{prefix}_id", f"{prefix}_name")
    if which is None:
        return None
    if which.endswith("_id"):
        return p.integer(which, required=True)
    return ctx.store.get_skill(ctx.account.account_id, name=p.text(which, required=True)).skill_id


@method("SetQueueInfo", notes=QUEUE_NOTE + " Changes what is given of `new_acd_queue_name` (493 when taken), "
        "the settings, and the application (`application_id` / `application_name`: its operators are unbound)."
        + STORED_ONLY)
def set_queue_info(ctx: Context, p: Params) -> Reply:
    queue = _one_queue(ctx, p)
    app = application_from(ctx, p, required=False)
    ctx.store.set_acd_queue_info(queue, new_name=p.text("new_acd_queue_name"), settings=_settings(p),
                                 application_id=app.application_id if app else None)
    return ok()


@method("DelQueue", notes="`acd_queue_id` (a `;` list, or `all`) or `acd_queue_name` (a `;` list); every one must "
        "exist (496, and nothing is deleted). Their operator and skill bindings go with them.")
def del_queue(ctx: Context, p: Params) -> Reply:
    ctx.store.del_acd_queues(_queues(ctx, p))
    return ok()


@method("BindUserToQueue", notes="""
    The application is `application_id` or `application_name`; `user_id` (a `;` list or `all`) or `user_name`,
    and `acd_queue_id` (a `;` list or `all`) or `acd_queue_name`, all of that application (393 for a user,
    496 for a queue). `bind` true (the default here) binds, false unbinds.
""" + STORED_ONLY)
def bind_user_to_queue(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    users = application_users(ctx, p, app.application_id)
    queues = _queues(ctx, p, application_id=app.application_id)
    ctx.store.bind_users_to_queues(users, queues, p.flag("bind", True))
    return ok()


@method("AddSkill", notes="`skill_name` under 512 characters, unique in the account (493). Returns `skill_id`."
        + STORED_ONLY)
def add_skill(ctx: Context, p: Params) -> Reply:
    return ok(skill_id=ctx.store.add_skill(ctx.account.account_id, p.text("skill_name", required=True)).skill_id)


@method("GetSkills", notes="`skill_id`, `skill_name` (a case-insensitive part); items {skill_id, skill_name}; "
        "`count` 20, `offset`.")
def get_skills(ctx: Context, p: Params) -> Reply:
    skills = ctx.store.list_skills(ctx.account.account_id, skill_id=p.integer("skill_id"),
                                   name_part=p.text("skill_name"))
    return paged(skills, p, lambda skill: skill.api())


def _one_skill(ctx: Context, p: Params) -> Any:
    if p.one_of("skill_id", "skill_name", required=True) == "skill_id":
        return ctx.store.get_skill(ctx.account.account_id, skill_id=p.integer("skill_id", required=True))
    return ctx.store.get_skill(ctx.account.account_id, name=p.text("skill_name", required=True))


@method("SetSkillInfo", notes="The skill is `skill_id` or `skill_name` (unknown: 496); `new_skill_name` (493 when "
        "taken).")
def set_skill_info(ctx: Context, p: Params) -> Reply:
    ctx.store.set_skill_name(_one_skill(ctx, p), p.text("new_skill_name", required=True))
    return ok()


@method("DelSkill", notes="The skill is `skill_id` or `skill_name` (unknown: 496); its bindings go with it.")
def del_skill(ctx: Context, p: Params) -> Reply:
    ctx.store.del_skill(_one_skill(ctx, p))
    return ok()


@method("BindSkill", notes="""
    `skill_id` (a `;` list or `all`) or `skill_name`, to `user_id` (a `;` list; `all` and `user_name` need the
    application) and/or `acd_queue_id` (a `;` list or `all`) or `acd_queue_name`: one of the two is required (485).
    `bind` true by default, false unbinds. GetQueues shows a queue's skills; GetUsers a user's (`with_skills`,
    `skill_id`).
""")
def bind_skill(ctx: Context, p: Params) -> Reply:
    app = application_from(ctx, p, required=False)
    account_id = ctx.account.account_id
    if p.one_of("skill_id", "skill_name", required=True) == "skill_id":
        skills = ctx.store.resolve_skills(account_id, ids=p.integers_or_all("skill_id", required=True))
    else:
        skills = ctx.store.resolve_skills(account_id, names=p.texts("skill_name", required=True))
    application_id = app.application_id if app else None
    users = application_users(ctx, p, application_id, required=False)
    queues = _queues(ctx, p, application_id=application_id, required=False)
    ctx.store.bind_skills(skills, user_ids=users, queues=queues, bind=p.flag("bind", True))
    return ok()
