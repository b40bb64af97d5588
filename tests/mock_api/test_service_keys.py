"""Service-account keys and roles through the official client: a created key authenticates the API at once."""

from __future__ import annotations

import asyncio
import json

import pytest
from voximplant.apiclient import VoximplantAPI, VoximplantException

from voxsim.testing import expect_api_error, raw_api_call

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


def client_of(emulator, credentials: dict, tmp_path) -> VoximplantAPI:
    path = tmp_path / f"{credentials['key_id']}.json"
    path.write_text(json.dumps(credentials))
    return VoximplantAPI(str(path), endpoint=f"127.0.0.1:{emulator.listeners['api_https']['port']}")


async def test_a_created_key_authenticates_until_deleted(api, emulator, tmp_path):
    reply = await api("create_key", key_name="ci", description="for CI", role_name=["Developer", "Support"])
    [credentials] = reply["result"]
    assert credentials["account_id"] == emulator.account.account_id
    assert credentials["account_email"] == emulator.account.account_email
    assert "PRIVATE KEY" in credentials["private_key"]
    client = client_of(emulator, credentials, tmp_path)
    info = await asyncio.to_thread(client.get_account_info)
    assert info["result"]["account_id"] == emulator.account.account_id

    await api("delete_key", key_id=credentials["key_id"])
    with pytest.raises(VoximplantException) as err:
        await asyncio.to_thread(client.get_account_info)
    assert err.value.code == 100


async def test_get_update_keys_and_roles(api):
    [created] = (await api("create_key", key_name="ops", role_id=[4]))["result"]
    key_id = created["key_id"]
    keys = (await api("get_keys"))["result"]
    assert key_id in [k["key_id"] for k in keys] and "roles" not in keys[0]
    assert len(keys) >= 2  # the key of credentials.json is one of them

    await api("update_key", key_id=key_id, description="the ops key", key_name="ops2")
    [view] = (await api("get_keys", key_id=key_id, with_roles=True))["result"]
    assert (view["key_name"], view["description"]) == ("ops2", "the ops key")
    assert [r["role_name"] for r in view["roles"]] == ["Developer"]

    await api("set_key_roles", key_id=key_id, role_name=["Admin", "Supervisor"])
    roles = (await api("get_key_roles", key_id=key_id))["result"]
    assert [(r["role_id"], r["role_name"]) for r in roles] == [(2, "Admin"), (5, "Supervisor")]
    await api("remove_key_roles", key_id=key_id, role_id=[2, 6])
    roles = (await api("get_key_roles", key_id=key_id, with_expanded_roles=True))["result"]
    assert [r["role_name"] for r in roles] == ["Supervisor"]
    assert roles[0]["parent_role_id"] == [1, 2] and roles[0]["inherited"] is False
    await api("delete_key", key_id=key_id)


async def test_roles_and_groups(api):
    roles = (await api("get_roles"))["result"]
    assert {"Owner", "Admin", "Developer", "Supervisor", "Accountant", "Support"} <= {r["role_name"] for r in roles}
    groups = (await api("get_role_groups"))["result"]
    assert [g["name"] for g in groups] == ["Administration", "Development", "Operations"]
    dev = (await api("get_roles", group_name="Development"))["result"]
    assert [r["role_name"] for r in dev] == ["Developer"]


async def test_keys_survive_a_reset(api, emulator):
    [created] = (await api("create_key", role_name="Owner"))["result"]
    await emulator.reset()
    [view] = (await api("get_keys", key_id=created["key_id"], with_roles=True))["result"]
    assert view["key_name"] == created["key_id"] and [r["role_name"] for r in view["roles"]] == ["Owner"]
    await api("delete_key", key_id=created["key_id"])


@pytest.mark.parametrize(("method", "kwargs", "code"), [
    ("delete_key", {"key_id": "no-such-key"}, 433),
    ("update_key", {"key_id": "no-such-key", "description": "d"}, 433),
    ("get_keys", {"key_id": "no-such-key"}, 433),
    ("get_key_roles", {"key_id": "no-such-key"}, 433),
    ("set_key_roles", {"key_id": "no-such-key", "role_id": 1}, 433),
    ("create_key", {"role_id": 99}, 440),
    ("create_key", {"role_name": "Janitor"}, 441),
    ("create_key", {"key_name": "k" * 51}, 499),
])
async def test_errors(api, method, kwargs, code):
    await expect_api_error(api, code, method, **kwargs)


async def test_role_id_and_role_name_together(api, emulator):
    """The official client refuses to send both; a raw request gets 458."""
    reply = await raw_api_call(emulator, "CreateKey", role_id="1", role_name="Owner")
    assert reply["error"]["code"] == 458
    reply = await raw_api_call(emulator, "SetKeyRoles", key_id="k")
    assert reply["error"]["code"] == 485
