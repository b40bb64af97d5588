"""The /_voxsim/ developer controls."""

from __future__ import annotations

from unittest import mock

import aiohttp
from aiohttp.test_utils import make_mocked_request

from mock_api.control import is_loopback, loopback_only


async def get_json(url: str, method: str = "GET") -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s, s.request(method, url) as resp:
        return resp.status, await resp.json()


async def test_health_lists_every_listener(voxsim_emulator):
    base = voxsim_emulator.listeners["api_http"]["url"]
    status, body = await get_json(f"{base}/_voxsim/health")
    assert status == 200 and body["status"] == "ok"
    assert body["listeners"]["api_https"]["port"] == voxsim_emulator.listeners["api_https"]["port"]


async def test_account_reveals_the_key_to_loopback(voxsim_emulator):
    base = voxsim_emulator.listeners["api_http"]["url"]
    _, body = await get_json(f"{base}/_voxsim/account")
    acc = voxsim_emulator.account
    assert body == {"account_id": acc.account_id, "account_name": acc.account_name,
                    "account_email": acc.account_email, "api_key": acc.api_key}


async def test_reset_returns_to_first_start_keeping_keys(voxsim_emulator, voxsim_api):
    await voxsim_api("add_sip_white_list_item", sip_whitelist_network="192.0.2.0/24")
    await voxsim_api("set_account_info", callback_url="http://127.0.0.1:1/cb")
    base = voxsim_emulator.listeners["api_http"]["url"]
    status, _ = await get_json(f"{base}/_voxsim/reset", "POST")
    assert status == 200
    # The same credentials still work after the reset.
    networks = [i["sip_whitelist_network"] for i in (await voxsim_api("get_sip_white_list"))["result"]]
    assert networks == ["127.0.0.0/8"]
    assert "callback_url" not in (await voxsim_api("get_account_info"))["result"]


def remote_request(path: str, peer: str, allow: bool):
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (peer, 5555) if name == "peername" else default
    services = mock.Mock(allow_remote_control=allow)
    from mock_api.app import SERVICES
    return make_mocked_request("GET", path, transport=transport, app={SERVICES: services})


async def test_controls_refuse_remote_clients_unless_allowed():
    async def handler(request):
        from aiohttp import web
        return web.Response(text="ok")

    refused = await loopback_only(remote_request("/_voxsim/account", "192.0.2.9", False), handler)
    assert refused.status == 403
    allowed = await loopback_only(remote_request("/_voxsim/account", "192.0.2.9", True), handler)
    assert allowed.status == 200
    api = await loopback_only(remote_request("/platform_api/GetAccountInfo", "192.0.2.9", False), handler)
    assert api.status == 200  # the Management API itself is guarded by its credentials


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.8.9.10")
    assert not is_loopback("10.0.0.1") and not is_loopback("") and not is_loopback(None)
    assert is_loopback("::ffff:127.0.0.1") and not is_loopback("::ffff:10.0.0.1")  # IPv4-mapped, dual stack
