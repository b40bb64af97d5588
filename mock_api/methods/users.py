"""User methods: AddUser, GetUsers, SetUserInfo, DelUser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_api.methods import Context, Reply, Selection, method, ok, paged
from mock_api.methods.applications import application_from, required_application
from mock_api.params import Params
from voxsim.errors import INVALID_USER_ID
from voxsim.model import User

PASSWORD_NOTE = """
    Password rules: a blank password answers 463, one with whitespace 524, fewer than 8 characters 523
    ("too weak"), no upper-case letter, lower-case letter or digit 464; special characters are not
    required. An empty `user_password` counts as absent (485), as every empty parameter does.
"""


def user_from(ctx: Context, p: Params) -> User:
    """The user named by `user_id`, or by `user_name` within the (then required) application."""
    given = p.one_of("user_id", "user_name", required=True)
    app = application_from(ctx, p, required=given == "user_name")
    app_id = app.application_id if app else None
    if given == "user_id":
        return ctx.store.get_user(ctx.account.account_id, user_id=p.integer("user_id", code=INVALID_USER_ID),
                                  application_id=app_id)
    return ctx.store.get_user(ctx.account.account_id, user_name=p.text("user_name"), application_id=app_id)


@method("AddUser", notes=PASSWORD_NOTE + """
    A user belongs to one application; its name is unique within it (118). The password is kept for
    SIP digest authentication and never returned. `parent_accounting` is stored and has no effect.
""")
def add_user(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    user = ctx.store.add_user(
        ctx.account.account_id, app.application_id,
        p.text("user_name", required=True), p.text("user_display_name", required=True),
        p.text("user_password", required=True),
        user_active=p.flag("user_active", True), parent_accounting=p.flag("parent_accounting", False),
        user_custom_data=p.text("user_custom_data") or "",
    )
    return ok(user_id=user.user_id)


@method("GetUsers", notes="""
    Filters: `user_id`, `user_name` and `user_display_name` (case-insensitive parts), `user_active`;
    `skill_id` / `excluded_skill_id` (users with / without that skill, BindSkill) and `acd_queue_id` /
    `excluded_acd_queue_id` (users in / not in that ACD queue, BindUserToQueue); each also takes a `;` list (any
    of them / none of them), and an unknown id matches no user. `order_by` is `user_id` (default), `user_name` or
    `user_display_name`. `with_skills` adds each user's `skills` (SkillInfoType; `showing_skill_id` keeps that
    one skill, and adds the field by itself), `with_queues` its `acd_queues` (ACDQueueOperatorInfoType:
    `acd_queue_id`, `acd_queue_name`, `auto_link` false, as BindUserToQueue binds by hand). `acd_status` is
    accepted and ignored (no operator ever changes status). Each user lists its one application in
    `applications`.
""")
def get_users(ctx: Context, p: Params) -> Reply:
    app = required_application(ctx, p)
    users = ctx.store.list_users(
        ctx.account.account_id, app.application_id,
        user_id=p.integer("user_id", code=INVALID_USER_ID), name_part=p.text("user_name"),
        display_name_part=p.text("user_display_name"), user_active=p.flag("user_active"),
        order_by=p.text("order_by") or "user_id",
    )
    users = [u for u in users if _acd_filter(ctx, p)(u.user_id)]
    with_skills, with_queues = bool(p.flag("with_skills", default=False)), bool(p.flag("with_queues", default=False))
    showing = p.integer("showing_skill_id")

    def render(user: User) -> dict[str, Any]:
        info = user.api([app])
        if with_skills or showing is not None:
            info["skills"] = [s.api() for s in ctx.store.user_skills(user.user_id)
                              if showing is None or s.skill_id == showing]
        if with_queues:
            info["acd_queues"] = [{"acd_queue_id": q.acd_queue_id, "acd_queue_name": q.acd_queue_name,
                                   "auto_link": False} for q in ctx.store.user_acd_queues(user.user_id)]
        return info

    return paged(users, p, render)


def _acd_filter(ctx: Context, p: Params) -> Callable[[int], bool]:
    """Whether a user id passes `skill_id`, `excluded_skill_id`, `acd_queue_id` and `excluded_acd_queue_id`."""
    def members(name: str, of: Callable[[int], list[int]]) -> set[int] | None:
        ids = p.integers(name)
        return None if ids is None else {user_id for i in ids for user_id in of(i)}

    with_skill, without_skill = (members(n, ctx.store.skill_users) for n in ("skill_id", "excluded_skill_id"))
    in_queue, not_in_queue = (members(n, ctx.store.acd_queue_users)
                              for n in ("acd_queue_id", "excluded_acd_queue_id"))

    def admits(user_id: int) -> bool:
        return ((with_skill is None or user_id in with_skill) and (in_queue is None or user_id in in_queue)
                and not (without_skill and user_id in without_skill)
                and not (not_in_queue and user_id in not_in_queue))

    return admits


@method("SetUserInfo", notes=PASSWORD_NOTE + """
    With `user_id`, an application given too must be the user's own (393).
""")
def set_user_info(ctx: Context, p: Params) -> Reply:
    user = user_from(ctx, p)
    ctx.store.set_user_info(ctx.account.account_id, user, {
        "new_user_name": p.text("new_user_name"),
        "user_display_name": p.text("user_display_name"),
        "user_password": p.text("user_password"),
        "user_custom_data": p.text("user_custom_data"),
        "user_active": p.flag("user_active"),
        "parent_accounting": p.flag("parent_accounting"),
    })
    return ok()


@method("DelUser", notes="""
    `user_id=all` deletes every user of the given application, or of the account without one. Nothing is
    deleted when one of the users is unknown (117).
""")
def del_user(ctx: Context, p: Params) -> Reply:
    chosen = Selection(p, "user", code=INVALID_USER_ID)
    app = application_from(ctx, p, required=chosen.by_name)  # user names are unique per application only
    ctx.store.del_users(ctx.account.account_id, user_ids=chosen.ids(), user_names=chosen.names(),
                        application_id=app.application_id if app else None)
    return ok()
