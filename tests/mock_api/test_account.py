"""GetAccountInfo / SetAccountInfo through the official client."""

import pytest
from voximplant.apiclient import VoximplantException


async def test_get_account_info_parses_in_the_official_client(voxsim_api, voxsim_emulator):
    reply = await voxsim_api("get_account_info")
    info = reply["result"]
    assert info["account_id"] == voxsim_emulator.account.account_id
    assert info["account_name"] == "voxsim"
    assert info["created"].year >= 2024  # the client strptimes it
    assert "api_key" not in info  # JWT auth does not reveal the legacy key


async def test_set_account_info_keeps_callback_settings(voxsim_api):
    await voxsim_api("set_account_info", callback_url="http://127.0.0.1:9/hook", callback_salt="pepper")
    info = (await voxsim_api("get_account_info"))["result"]
    assert info["callback_url"] == "http://127.0.0.1:9/hook"
    assert info["callback_salt"] == "pepper"


async def test_callback_salt_must_be_short(voxsim_api):
    with pytest.raises(VoximplantException) as err:
        await voxsim_api("set_account_info", callback_salt="x" * 40)
    assert err.value.code == 399
