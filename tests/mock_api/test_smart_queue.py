"""SmartQueue methods through the official client: queues, skills, agents and their bindings."""

from __future__ import annotations

import json

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
    app = await application(api, "sq")
    queue_id = (await api("sq__add_queue", application_id=app, sq_queue_name="sales",
                          call_agent_selection="MOST_QUALIFIED", call_task_selection="MAX_PRIORITY",
                          call_max_waiting_time_in_seconds=90, priority=5))["result"]["sq_queue_id"]
    [info] = (await api("sq__get_queues", application_id=app))["result"]
    assert (info["sq_queue_id"], info["sq_queue_name"], info["priority"]) == (queue_id, "sales", 5)
    assert (info["im_agent_selection"], info["im_task_selection"]) == ("MOST_QUALIFIED", "MAX_PRIORITY")
    assert (info["call_max_waiting_time"], info["call_max_waiting_time_in_seconds"]) == (2, 90)
    assert isinstance(info["created"], str)  # the client parses a dict result only; this is the list

    await api("sq__set_queue_info", application_name="sq", sq_queue_name="sales", new_sq_queue_name="support",
              call_agent_selection="MAX_WAITING_TIME", im_max_waiting_time=3, description="tier 1")
    [info] = (await api("sq__get_queues", application_id=app, sq_queue_name_template="PORT"))["result"]
    assert (info["sq_queue_name"], info["agent_selection"], info["description"]) == (
        "support", "MAX_WAITING_TIME", "tier 1")
    assert info["im_max_waiting_time_in_seconds"] == 180
    await expect_api_error(api, 493, "sq__add_queue", application_id=app, sq_queue_name="support",
                           call_agent_selection="MOST_QUALIFIED", call_task_selection="MAX_PRIORITY")
    await api("sq__del_queue", application_id=app, sq_queue_id="all")
    assert (await api("sq__get_queues", application_id=app))["total_count"] == 0


async def test_skills_and_agents(api):
    app = await application(api, "desk")
    ann, ben = await user(api, app, "ann"), await user(api, app, "ben")
    english = (await api("sq__add_skill", application_id=app, sq_skill_name="english",
                         description="EN"))["result"]["sq_skill_id"]
    await api("sq__add_skill", application_id=app, sq_skill_name="french")
    await api("sq__set_skill_info", application_id=app, sq_skill_name="french", new_sq_skill_name="francais")
    skills = await api("sq__get_skills", application_id=app, sq_skill_name_template="ANC")
    assert [s["sq_skill_name"] for s in skills["result"]] == ["francais"]
    assert isinstance((await api("sq__get_skills", application_id=app))["result"][0]["created"], str)

    await api("sq__bind_skill", application_id=app, user_id="all",
              sq_skills=json.dumps([{"sq_skill_id": english, "sq_skill_level": 3}]))
    await api("sq__bind_skill", application_id=app, user_name="ben", bind_mode="replace_skills",
              sq_skills=json.dumps([{"sq_skill_name": "francais", "sq_skill_level": 5}]))
    held = await api("sq__get_skills", application_id=app, user_id=ben)
    assert [s["sq_skill_name"] for s in held["result"]] == ["francais"]

    queue_id = (await api("sq__add_queue", application_id=app, sq_queue_name="line",
                          call_agent_selection="LEAST_QUALIFIED",
                          call_task_selection="MAX_WAITING_TIME"))["result"]["sq_queue_id"]
    await api("sq__bind_agent", application_id=app, sq_queue_id=str(queue_id), user_id="all")
    await api("sq__unbind_agent", application_id=app, sq_queue_name="line", user_name="ben")
    [counted] = (await api("sq__get_queues", application_id=app, with_agentcount=True))["result"]
    assert counted["agentcount"] == 1
    await api("sq__set_agent_info", application_id=app, user_id=ann, handle_calls=False,
              max_simultaneous_conversations=2)

    agents = await api("sq__get_agents", application_id=app, sq_queue_id=str(queue_id), with_sq_skills=True,
                       with_sq_queues=True, with_sq_statuses=True)
    [agent] = agents["result"]
    assert (agent["user_id"], agent["handle_calls"], agent["max_simultaneous_conversations"]) == (ann, False, 2)
    assert agent["sq_skills"] == [{"sq_skill_id": english, "sq_skill_name": "english", "sq_skill_level": 3}]
    assert agent["sq_queues"] == [{"sq_queue_id": queue_id, "sq_queue_name": "line"}]
    assert agent["sq_statuses"][0]["CALL"]["sq_status_name"] == "OFFLINE"
    skilled = await api("sq__get_agents", application_id=app,
                        sq_skills=json.dumps([{"sq_skill_name": "francais", "min_sq_skill_level": 4}]))
    assert [a["user_name"] for a in skilled["result"]] == ["ben"]
    assert (await api("sq__get_agents", application_id=app, excluded_sq_queue_id=queue_id))["total_count"] == 1

    await api("sq__unbind_skill", application_id=app, user_id="all", sq_skill_id="all")
    assert (await api("sq__get_skills", application_id=app, user_id=ann))["total_count"] == 0
    await api("sq__del_skill", application_id=app, sq_skill_name="english;francais")
    assert (await api("sq__get_skills", application_id=app))["total_count"] == 0


async def test_everything_is_the_applications(api):
    one, two = await application(api, "alpha"), await application(api, "beta")
    stranger = await user(api, two, "zed")
    queue_id = (await api("sq__add_queue", application_id=one, sq_queue_name="q",
                          call_agent_selection="MOST_QUALIFIED",
                          call_task_selection="MAX_PRIORITY"))["result"]["sq_queue_id"]
    await expect_api_error(api, 393, "sq__bind_agent", application_id=one, sq_queue_id=str(queue_id),
                           user_id=stranger)
    await expect_api_error(api, 496, "sq__bind_agent", application_id=two, sq_queue_id=str(queue_id),
                           user_id=stranger)
    await api("del_application", application_id=one)
    assert (await api("sq__get_queues", application_id=two))["total_count"] == 0


@pytest.mark.parametrize(("method", "kwargs", "code"), [
    ("sq__add_queue", {"sq_queue_name": "q", "call_agent_selection": "FASTEST",
                       "call_task_selection": "MAX_PRIORITY"}, 496),
    ("sq__add_queue", {"sq_queue_name": "q", "call_agent_selection": "MOST_QUALIFIED",
                       "call_task_selection": "MAX_PRIORITY", "priority": 101}, 496),
    ("sq__add_queue", {"sq_queue_name": "q", "call_agent_selection": "MOST_QUALIFIED",
                       "call_task_selection": "MAX_PRIORITY", "call_max_waiting_time": 1,
                       "call_max_waiting_time_in_seconds": 60}, 496),
    ("sq__set_queue_info", {"sq_queue_id": 999999}, 496),
    ("sq__del_queue", {"sq_queue_name": "missing"}, 496),
    ("sq__add_skill", {"sq_skill_name": "s", "description": "d" * 201}, 496),
    ("sq__bind_skill", {"user_id": "all", "sq_skills": "not json"}, 496),
    ("sq__bind_skill", {"user_id": "all", "sq_skills": '[{"sq_skill_name": "missing", "sq_skill_level": 1}]'}, 496),
    ("sq__bind_agent", {"user_id": "all", "sq_queue_id": "all", "bind_mode": "sideways"}, 496),
    ("sq__set_agent_info", {"user_id": 999999, "handle_calls": True}, 117),
    ("sq__get_skills", {}, 485),
])
async def test_errors(api, method, kwargs, code):
    if method != "sq__get_skills":
        if not (await api("get_applications", application_name="errors"))["total_count"]:
            await application(api, "errors")
        kwargs = {"application_name": "errors", **kwargs}
    await expect_api_error(api, code, method, **kwargs)
