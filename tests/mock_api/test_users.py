"""User methods through the official client (one emulator per module, reset before each test)."""

from datetime import datetime

import pytest

from voxsim.testing import expect_api_error as expect_error
from voxsim.testing import raw_api_call as raw

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def add_user(api, app_id, name, display=None, **kwargs) -> int:
    reply = await api("add_user", application_id=app_id, user_name=name, user_display_name=display or name.title(),
                      user_password="Passw0rd", **kwargs)
    assert reply["result"] == 1 and isinstance(reply["user_id"], int)
    return reply["user_id"]


async def test_add_get_set_delete(api, emulator):
    app = await api("add_application", application_name="phones")
    user_id = await add_user(api, app["application_id"], "alice", "Alice A.", user_custom_data='{"ext": 101}')
    got = await api("get_users", application_name=app["application_name"])
    assert (got["total_count"], got["count"]) == (1, 1)
    info = got["result"][0]
    assert {k: info[k] for k in ("user_id", "user_name", "user_display_name", "user_active", "parent_accounting",
                                 "user_custom_data")} == {
        "user_id": user_id, "user_name": "alice", "user_display_name": "Alice A.", "user_active": True,
        "parent_accounting": False, "user_custom_data": '{"ext": 101}'}
    assert isinstance(info["created"], datetime) and isinstance(info["modified"], datetime)
    assert [a["application_id"] for a in info["applications"]] == [app["application_id"]]
    assert not any("password" in key for key in info) and "Passw0rd" not in repr(got)

    await api("set_user_info", user_name="alice", application_name="phones", new_user_name="alicia",
              user_display_name="Alicia", user_password="N3wSecret", user_active=False, user_custom_data="x")
    kept = emulator.store.find_user(app["application_id"], "alicia")
    assert (kept.user_password, kept.user_active, kept.user_custom_data) == ("N3wSecret", False, "x")
    await api("set_user_info", user_id=user_id, application_id=app["application_id"], user_active=True)
    assert emulator.store.find_user(app["application_id"], "alicia").user_active is True

    await api("del_user", user_name="alicia", application_id=app["application_id"])
    assert (await api("get_users", application_id=app["application_id"]))["total_count"] == 0


async def test_filters_order_and_paging(api):
    app_id = (await api("add_application", application_name="crowd"))["application_id"]
    ids = {name: await add_user(api, app_id, name, display, user_active=name != "dave")
           for name, display in (("carol", "Zoe"), ("alice", "Yara"), ("bob", "Xena"), ("dave", "Walt"))}
    names = lambda reply: [u["user_name"] for u in reply["result"]]  # noqa: E731
    assert names(await api("get_users", application_id=app_id)) == ["carol", "alice", "bob", "dave"]
    page = await api("get_users", application_id=app_id, order_by="user_name", count=2, offset=1)
    assert (page["total_count"], page["count"], names(page)) == (4, 2, ["bob", "carol"])
    assert names(await api("get_users", application_id=app_id, order_by="user_display_name")) == [
        "dave", "bob", "alice", "carol"]
    assert names(await api("get_users", application_id=app_id, user_name="A")) == ["carol", "alice", "dave"]
    assert names(await api("get_users", application_id=app_id, user_display_name="ar")) == ["alice"]
    assert names(await api("get_users", application_id=app_id, user_active=False)) == ["dave"]
    assert names(await api("get_users", application_id=app_id, user_id=ids["bob"])) == ["bob"]


async def test_delete_by_ids_and_all(api):
    one = (await api("add_application", application_name="one"))["application_id"]
    two = (await api("add_application", application_name="two"))["application_id"]
    a, b = await add_user(api, one, "alice"), await add_user(api, one, "bob")
    await add_user(api, one, "carol")
    await add_user(api, two, "alice")
    await api("del_user", user_id=[a, b])
    assert [u["user_name"] for u in (await api("get_users", application_id=one))["result"]] == ["carol"]
    await api("del_user", user_id="all", application_id=two)
    assert (await api("get_users", application_id=two))["total_count"] == 0
    assert (await api("get_users", application_id=one))["total_count"] == 1
    await api("del_user", user_id="all")
    assert (await api("get_users", application_id=one))["total_count"] == 0


async def test_errors(api, emulator):
    one = (await api("add_application", application_name="one"))["application_id"]
    two = (await api("add_application", application_name="two"))["application_id"]
    alice = await add_user(api, one, "alice")
    base = {"application_id": one, "user_name": "bob", "user_display_name": "Bob", "user_password": "Passw0rd"}
    cases = [
        (122, {"user_name": "Bo"}), (122, {"user_name": "-bob"}), (118, {"user_name": "alice"}),
        (157, {"user_display_name": "x" * 256}), (463, {"user_password": "   "}), (524, {"user_password": "Pass w0rd"}),
        (523, {"user_password": "Pa55"}), (464, {"user_password": "password1"}), (464, {"user_password": "Password"}),
        (499, {"user_custom_data": "x" * 8192}), (116, {"application_id": 999999}),
    ]
    for code, change in cases:
        await expect_error(api, code, "add_user", **{**base, **change})
    await expect_error(api, 485, "add_user", user_name="bob", user_display_name="Bob", user_password="Passw0rd")
    await expect_error(api, 485, "add_user", **{**base, "user_display_name": ""})
    await expect_error(api, 558, "add_user", **{**base, "application_id": None, "application_name": "nope"})
    await add_user(api, one, "bob")
    await expect_error(api, 462, "set_user_info", user_id=alice, new_user_name="A!")
    await expect_error(api, 118, "set_user_info", user_id=alice, new_user_name="bob")
    await expect_error(api, 464, "set_user_info", user_id=alice, user_password="lowercase1")
    await expect_error(api, 117, "set_user_info", user_id=999999, user_active=False)
    await expect_error(api, 117, "set_user_info", user_name="nobody", application_id=one, user_active=False)
    await expect_error(api, 393, "set_user_info", user_id=alice, application_id=two, user_active=False)
    await expect_error(api, 485, "set_user_info", user_name="alice", user_active=False)
    await expect_error(api, 496, "get_users", application_id=one, order_by="user_password")
    await expect_error(api, 117, "del_user", user_id=[alice, 999999])
    await expect_error(api, 485, "del_user", user_name="alice")
    assert (await api("get_users", application_id=one))["total_count"] == 2  # nothing deleted
    both = await raw(emulator, "DelUser", user_id="1", user_name="alice", application_id=str(one))
    assert both["error"]["code"] == 458


async def test_user_count_limit(api, emulator):
    app_id = (await api("add_application", application_name="big"))["application_id"]
    with emulator.store.db.tx():
        emulator.store.db.conn.executemany(
            "INSERT INTO users (account_id, application_id, user_name, user_display_name, user_password, created, "
            "modified) VALUES (?, ?, ?, 'U', 'Passw0rd', '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
            [(emulator.account.account_id, app_id, f"user{n}") for n in range(1000)])
    await expect_error(api, 109, "add_user", application_id=app_id, user_name="onemore", user_display_name="One",
                       user_password="Passw0rd")
    page = await api("get_users", application_id=app_id)
    assert (page["total_count"], page["count"]) == (1000, 20)


async def test_acd_filters_skills_and_queues(api):
    app = (await api("add_application", application_name="desk"))["application_id"]
    alice, bob, carol = [await add_user(api, app, name) for name in ("alice", "bob", "carol")]
    queue = (await api("add_queue", acd_queue_name="sales", application_id=app))["acd_queue_id"]
    other = (await api("add_queue", acd_queue_name="support", application_id=app))["acd_queue_id"]
    await api("bind_user_to_queue", application_id=app, user_id=[alice, bob], acd_queue_id=queue)
    await api("bind_user_to_queue", application_id=app, user_id=[carol], acd_queue_id=other)
    english = (await api("add_skill", skill_name="english"))["skill_id"]
    german = (await api("add_skill", skill_name="german"))["skill_id"]
    await api("bind_skill", skill_id=[english, german], user_id=[alice])
    await api("bind_skill", skill_id=english, user_id=[carol])

    async def names(**filters) -> list[str]:
        return [u["user_name"] for u in (await api("get_users", application_id=app, **filters))["result"]]

    assert await names(skill_id=english) == ["alice", "carol"]
    assert await names(excluded_skill_id=german) == ["bob", "carol"]
    assert await names(acd_queue_id=queue) == ["alice", "bob"]
    assert await names(excluded_acd_queue_id=queue) == ["carol"]
    assert await names(acd_queue_id=queue, skill_id=english) == ["alice"]
    assert await names(skill_id=999999) == []

    plain = (await api("get_users", application_id=app, user_id=alice))["result"][0]
    assert "skills" not in plain and "acd_queues" not in plain
    full = (await api("get_users", application_id=app, user_id=alice, with_skills=True, with_queues=True))["result"][0]
    assert full["skills"] == [{"skill_id": english, "skill_name": "english"},
                              {"skill_id": german, "skill_name": "german"}]
    assert full["acd_queues"] == [{"acd_queue_id": queue, "acd_queue_name": "sales", "auto_link": False}]
    shown = (await api("get_users", application_id=app, user_id=alice, showing_skill_id=german))["result"][0]
    assert shown["skills"] == [{"skill_id": german, "skill_name": "german"}]
    assert (await api("get_users", application_id=app, user_id=bob, with_skills=True))["result"][0]["skills"] == []
    await expect_error(api, 496, "get_users", application_id=app, skill_id="x")
