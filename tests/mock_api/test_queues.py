"""ACD queue and skill methods through the official client: queues, operators, skills and their bindings."""

from __future__ import annotations

import datetime as dt

import pytest

from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


async def application(api, name: str) -> int:
    return int((await api("add_application", application_name=name))["application_id"])


async def user(api, app: int, name: str) -> int:
    reply = await api("add_user", application_id=app, user_name=name, user_display_name=name.title(),
                      user_password="Secr3t-pass")
    return int(reply["user_id"])


async def test_queue_lifecycle(api):
    app = await application(api, "acd")
    queue_id = (await api("add_queue", acd_queue_name="sales", application_id=app, max_queue_size=10,
                          service_probability=0.8))["acd_queue_id"]
    [info] = (await api("get_queues", acd_queue_id=queue_id))["result"]
    assert (info["acd_queue_name"], info["application_id"], info["acd_queue_priority"]) == ("sales", app, 100)
    assert (info["auto_binding"], info["service_probability"], info["max_queue_size"]) == (True, 0.8, 10)
    assert isinstance(info["created"], dt.datetime) and info["users"] == []

    await api("set_queue_info", acd_queue_name="sales", new_acd_queue_name="support", acd_queue_priority=1,
              auto_binding=False)
    [info] = (await api("get_queues", acd_queue_name="SUPP", application_name="acd"))["result"]
    assert (info["acd_queue_name"], info["acd_queue_priority"], info["auto_binding"]) == ("support", 1, False)
    await expect_api_error(api, 493, "add_queue", acd_queue_name="support", application_id=app)
    await api("del_queue", acd_queue_id=queue_id)
    assert (await api("get_queues", application_id=app))["total_count"] == 0


async def test_operators_and_skills(api):
    app = await application(api, "contact")
    alice, bob = await user(api, app, "alice"), await user(api, app, "bob")
    queue_id = (await api("add_queue", acd_queue_name="line1", application_id=app))["acd_queue_id"]
    await api("bind_user_to_queue", application_id=app, user_id="all", acd_queue_id=queue_id, bind=True)
    await api("bind_user_to_queue", application_id=app, user_name="bob", acd_queue_name="line1", bind=False)
    [info] = (await api("get_queues", acd_queue_id=queue_id, with_operatorcount=True))["result"]
    assert info["users"] == [{"user_id": alice}] and info["operatorcount"] == 1

    english = (await api("add_skill", skill_name="english"))["skill_id"]
    await api("add_skill", skill_name="german")
    await api("set_skill_info", skill_name="german", new_skill_name="deutsch")
    assert [s["skill_name"] for s in (await api("get_skills", skill_name="EUT"))["result"]] == ["deutsch"]
    await api("bind_skill", skill_id=english, acd_queue_id=queue_id, user_id=bob, bind=True)
    [info] = (await api("get_queues", skill_id=english, with_skills=True))["result"]
    assert info["skills"] == [{"skill_id": english, "skill_name": "english"}]
    assert (await api("get_queues", application_id=app, excluded_skill_name="english"))["total_count"] == 0
    await api("del_skill", skill_id=english)
    [info] = (await api("get_queues", acd_queue_id=queue_id, with_skills=True))["result"]
    assert info["skills"] == []


async def test_queues_are_their_applications(api):
    one, two = await application(api, "first"), await application(api, "second")
    stranger = await user(api, two, "carol")
    queue_id = (await api("add_queue", acd_queue_name="q1", application_id=one))["acd_queue_id"]
    await expect_api_error(api, 393, "bind_user_to_queue", application_id=one, user_id=stranger,
                           acd_queue_id=queue_id, bind=True)
    await expect_api_error(api, 496, "bind_user_to_queue", application_id=two, user_id=stranger,
                           acd_queue_id=queue_id, bind=True)
    await api("del_application", application_id=one)
    assert (await api("get_queues", acd_queue_id=queue_id))["total_count"] == 0


@pytest.mark.parametrize(("method", "kwargs", "code"), [
    ("add_queue", {"acd_queue_name": "q"}, 485),
    ("add_queue", {"acd_queue_name": "q" * 100, "application_name": "errors"}, 496),
    ("add_queue", {"acd_queue_name": "q", "application_name": "errors", "service_probability": 2}, 496),
    ("set_queue_info", {"acd_queue_id": 999999, "acd_queue_priority": 1}, 496),
    ("del_queue", {"acd_queue_name": "missing"}, 496),
    ("del_queue", {}, 485),
    ("set_skill_info", {"skill_id": 999999, "new_skill_name": "x"}, 496),
    ("del_skill", {"skill_name": "missing"}, 496),
    ("bind_skill", {"skill_id": "all"}, 485),
    ("bind_skill", {"skill_id": "all", "user_name": "nobody"}, 485),
])
async def test_errors(api, method, kwargs, code):
    if not (await api("get_applications", application_name="errors"))["total_count"]:
        await application(api, "errors")
    await expect_api_error(api, code, method, **kwargs)
