"""Authorized account IPs through the official client: add, list, check, delete."""

from __future__ import annotations

import datetime as dt

import pytest

from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


async def test_add_list_check_delete(api):
    assert (await api("add_authorized_account_ip", authorized_ip="92.255.220.0/24",
                      description="office"))["result"] == 1
    await api("add_authorized_account_ip", authorized_ip="92.255.220.66", allowed=False)
    await api("add_authorized_account_ip", authorized_ip="10.0.0.0/8")

    listed = await api("get_authorized_account_ips")
    assert (listed["total_count"], listed["count"]) == (3, 3)
    first = listed["result"][0]
    assert (first["authorized_ip"], first["allowed"], first["description"]) == ("92.255.220.0/24", True, "office")
    assert isinstance(first["created"], dt.datetime)
    black = await api("get_authorized_account_ips", allowed=False)
    assert [i["authorized_ip"] for i in black["result"]] == ["92.255.220.66"]
    holding = await api("get_authorized_account_ips", contains_ip="92.255.220.66")
    assert [i["authorized_ip"] for i in holding["result"]] == ["92.255.220.0/24", "92.255.220.66"]
    assert (await api("get_authorized_account_ips", description="OFF"))["count"] == 1

    checked = await api("check_authorized_account_ip", authorized_ip="92.255.220.66")
    assert (checked["result"], checked["authorized_ip"]) == (False, "92.255.220.66")
    assert (await api("check_authorized_account_ip", authorized_ip="10.1.1.1"))["result"] is True
    assert "authorized_ip" not in await api("check_authorized_account_ip", authorized_ip="8.8.8.8")

    assert (await api("del_authorized_account_ip", contains_ip="92.255.220.66", allowed=True))["result"] == 1
    assert (await api("del_authorized_account_ip", authorized_ip="all"))["result"] == 2
    assert (await api("get_authorized_account_ips"))["result"] == []


async def test_errors(api):
    await expect_api_error(api, 496, "add_authorized_account_ip", authorized_ip="not-an-ip")
    await expect_api_error(api, 496, "check_authorized_account_ip", authorized_ip="10.0.0.0/8")
    await expect_api_error(api, 485, "del_authorized_account_ip")
    await api("add_authorized_account_ip", authorized_ip="1.2.3.4")
    await expect_api_error(api, 493, "add_authorized_account_ip", authorized_ip="1.2.3.4")


async def test_enforced_only_with_the_setting(api, emulator):
    from mock_api.methods import Context
    from mock_api.methods.authorized_ips import enforce
    from voxsim.errors import VoxError

    await api("add_authorized_account_ip", authorized_ip="192.0.2.0/24")

    def ctx(remote: str, auth: str = "api_key") -> Context:
        return Context(store=emulator.store, account=emulator.account, remote=remote, services=emulator, auth=auth)

    enforce(ctx("203.0.113.5"))  # off by default: everyone is let in
    emulator.settings.enforce_authorized_ips = True
    try:
        with pytest.raises(VoxError) as refused:
            enforce(ctx("203.0.113.5"))
        assert refused.value.code == 100
        enforce(ctx("192.0.2.7"))
        enforce(ctx("127.0.0.1"))  # loopback always
        enforce(ctx("203.0.113.5", auth="scenario"))  # a scenario's own calls
        assert (await api("get_authorized_account_ips"))["count"] == 1  # this test's client is on loopback
    finally:
        emulator.settings.enforce_authorized_ips = False
