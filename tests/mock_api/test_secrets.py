"""Secrets methods through the official client: add, list, read the value, change, delete."""

from __future__ import annotations

import datetime as dt

import pytest

from voxsim.testing import expect_api_error, raw_api_call

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


async def application(api, name: str = "vault") -> int:
    return int((await api("add_application", application_name=name))["application_id"])


async def test_add_list_value_set_del(api):
    app = await application(api)
    [added] = (await api("add_secret", secret_name="OPENAI_KEY", secret_value="sk-1", application_id=app,
                         description="d" * 250))["result"]
    await api("add_secret", secret_name="other_token", secret_value="t", application_name="vault")

    listed = await api("get_secrets", application_id=app)
    assert (listed["total_count"], listed["count"]) == (2, 2)
    first = listed["result"][0]
    assert first["secret_id"] == added["secret_id"] and first["secret_name"] == "OPENAI_KEY"
    assert len(first["description"]) == 200 and "secret_value" not in first
    assert isinstance(first["created"], dt.datetime)  # the client parses the platform's timestamps
    part = await api("get_secrets", application_id=app, secret_name_part="token")
    assert [s["secret_name"] for s in part["result"]] == ["other_token"]

    [value] = (await api("get_secret_value", application_id=app, secret_name="OPENAI_KEY"))["result"]
    assert value["secret_value"] == "sk-1"
    await api("set_secret_info", application_id=app, secret_id=added["secret_id"], new_secret_name="OPENAI",
              secret_value="sk-2", description="rotated")
    [value] = (await api("get_secret_value", application_id=app, secret_id=added["secret_id"]))["result"]
    assert (value["secret_name"], value["secret_value"], value["description"]) == ("OPENAI", "sk-2", "rotated")

    await api("del_secret", application_id=app, secret_name="OPENAI")
    assert [s["secret_name"] for s in (await api("get_secrets", application_id=app))["result"]] == ["other_token"]
    await api("del_secret", application_id=app, secret_id="all")
    assert (await api("get_secrets", application_id=app))["total_count"] == 0


async def test_secrets_are_the_applications(api):
    one, two = await application(api, "one"), await application(api, "two")
    [added] = (await api("add_secret", secret_name="S", secret_value="v", application_id=one))["result"]
    await api("add_secret", secret_name="S", secret_value="w", application_id=two)  # same name elsewhere is fine
    await expect_api_error(api, 496, "get_secret_value", application_id=two, secret_id=added["secret_id"])
    await api("del_application", application_id=one)
    assert (await api("get_secrets", application_id=two))["total_count"] == 1


@pytest.mark.parametrize(("method", "kwargs", "code"), [
    ("add_secret", {"secret_name": "1abc", "secret_value": "v"}, 496),
    ("add_secret", {"secret_name": "a" * 65, "secret_value": "v"}, 496),
    ("add_secret", {"secret_name": "ok", "secret_value": "v" * 8193}, 499),
    ("get_secret_value", {"secret_name": "missing"}, 496),
    ("set_secret_info", {"secret_id": 999999, "secret_value": "v"}, 496),
    ("del_secret", {"secret_name": "missing"}, 496),
    ("get_secrets", {"application_id": 999999}, 116),
])
async def test_errors(api, method, kwargs, code):
    if "application_id" not in kwargs:
        kwargs["application_id"] = await application(api)
    await expect_api_error(api, code, method, **kwargs)


async def test_duplicate_names_and_missing_selectors(api, emulator):
    app = await application(api)
    await api("add_secret", secret_name="A", secret_value="v", application_id=app)
    await api("add_secret", secret_name="B", secret_value="v", application_id=app)
    await expect_api_error(api, 493, "add_secret", secret_name="A", secret_value="v", application_id=app)
    await expect_api_error(api, 493, "set_secret_info", secret_name="B", new_secret_name="A", application_id=app)
    reply = await raw_api_call(emulator, "GetSecretValue", application_id=str(app))
    assert reply["error"]["code"] == 485
    reply = await raw_api_call(emulator, "DelSecret", application_id=str(app), secret_id="1", secret_name="A")
    assert reply["error"]["code"] == 458
