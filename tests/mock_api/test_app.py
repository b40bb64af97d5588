"""Raw HTTP against the Management API: request shapes, parameter merging, auth failures."""

from __future__ import annotations

import json
import time

import aiohttp
import jwt
import pytest

from voxsim.keys import new_service_account


@pytest.fixture
def base(voxsim_emulator):
    return voxsim_emulator.listeners["api_http"]["url"]


@pytest.fixture
def key(voxsim_emulator):
    acc = voxsim_emulator.account
    return {"account_id": str(acc.account_id), "api_key": acc.api_key}


@pytest.fixture
def credentials(voxsim_emulator):
    return json.loads(voxsim_emulator.files.credentials.read_text())


async def call(method: str, url: str, **kwargs) -> dict:
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        return await resp.json()


async def test_get_with_method_in_path_and_api_key(base, key):
    reply = await call("GET", f"{base}/platform_api/GetSipWhiteList/", params=key)
    assert reply["total_count"] == 1


async def test_path_shape_without_trailing_slash_and_post_form(base, key):
    reply = await call("POST", f"{base}/platform_api/AddSipWhiteListItem", data={
        **key, "sip_whitelist_network": "203.0.113.0/24"})
    assert reply["result"] == 1 and isinstance(reply["sip_whitelist_id"], int)


async def test_account_name_instead_of_id(base, voxsim_emulator):
    acc = voxsim_emulator.account
    reply = await call("GET", f"{base}/platform_api/GetAccountInfo",
                       params={"account_name": acc.account_name, "api_key": acc.api_key})
    assert reply["result"]["api_key"] == acc.api_key  # shown under api_key auth


async def test_cmd_field_with_multipart_body(base, key):
    form = aiohttp.FormData()
    for name, value in {**key, "cmd": "AddSipWhiteListItem", "sip_whitelist_network": "198.51.100.7/32",
                        "description": "multipart"}.items():
        form.add_field(name, value)
    reply = await call("POST", f"{base}/platform_api", data=form)
    assert reply["result"] == 1
    listed = await call("GET", f"{base}/platform_api/GetSipWhiteList", params={**key, "count": "10"})
    assert any(i.get("description") == "multipart" for i in listed["result"])


async def test_query_and_body_are_merged_and_empty_strings_are_absent(base, key):
    reply = await call("POST", f"{base}/platform_api?cmd=GetSipWhiteList&count=", data={
        **key, "offset": "", "sip_whitelist_id": ""})
    assert reply["count"] == 1  # count="" means the default, not zero


async def test_method_names_match_case_insensitively(base, key):
    reply = await call("GET", f"{base}/platform_api/getsipwhitelist", params=key)
    assert "result" in reply


@pytest.mark.parametrize("params", [
    {"account_id": "1000001", "api_key": "wrong"},
    {"account_id": "999", "api_key": "x"},
    {"account_id": "99999999999999999999999", "api_key": "x"},  # beyond SQLite's integers
    {"account_id": "not-a-number", "api_key": "x"},
    {"api_key": "x"},
    {},
])
async def test_wrong_or_missing_key_is_refused(base, params):
    reply = await call("GET", f"{base}/platform_api/GetAccountInfo", params=params)
    assert reply == {"error": {"code": 100, "msg": "Authorization failed"}}


async def test_an_id_beyond_sqlite_integers_is_just_unknown(base, key):
    reply = await call("GET", f"{base}/platform_api/GetApplications",
                       params={**key, "application_id": "99999999999999999999999"})
    assert reply == {"result": [], "total_count": 0, "count": 0}


def mint(credentials: dict, *, iat: float | None = None, exp: float | None = None, iss=None,
         private_key: str | None = None, kid: str | None = None) -> str:
    now = int(time.time())
    claims = {"iss": credentials["account_id"] if iss is None else iss,
              "iat": now - 5 if iat is None else iat, "exp": now + 24 if exp is None else exp}
    # PyJWS: PyJWT's claim layer refuses a numeric `iss`, which the Node and Go clients send.
    return jwt.api_jws.PyJWS().encode(json.dumps(claims).encode(), private_key or credentials["private_key"],
                                      algorithm="RS256", headers={"kid": kid or credentials["key_id"]})


async def bearer(base: str, token: str) -> dict:
    return await call("POST", f"{base}/platform_api", data={"cmd": "GetAccountInfo"},
                      headers={"Authorization": f"Bearer {token}"})


async def test_jwt_with_numeric_and_string_iss(base, credentials):
    assert "result" in await bearer(base, mint(credentials, iss=int(credentials["account_id"])))
    assert "result" in await bearer(base, mint(credentials, iss=str(credentials["account_id"])))


async def test_jwt_expired(base, credentials):
    now = int(time.time())
    reply = await bearer(base, mint(credentials, iat=now - 600, exp=now - 300))
    assert reply["error"]["code"] == 456


async def test_jwt_issued_in_the_future(base, credentials):
    now = int(time.time())
    reply = await bearer(base, mint(credentials, iat=now + 600, exp=now + 900))
    assert reply["error"]["code"] == 455


async def test_jwt_ttl_too_long(base, credentials):
    now = int(time.time())
    reply = await bearer(base, mint(credentials, iat=now, exp=now + 3601))
    assert reply["error"]["code"] == 454


async def test_jwt_small_clock_skew_is_allowed(base, credentials):
    now = int(time.time())
    assert "result" in await bearer(base, mint(credentials, iat=now + 3, exp=now + 30))


async def test_jwt_signed_by_another_key(base, credentials):
    other = new_service_account(int(credentials["account_id"]), "x@example.com")
    reply = await bearer(base, mint(credentials, private_key=str(other["private_key"])))
    assert reply["error"]["code"] == 100


async def test_jwt_with_unknown_kid(base, credentials):
    reply = await bearer(base, mint(credentials, kid="00000000-0000-0000-0000-000000000000"))
    assert reply["error"]["code"] == 100


async def test_jwt_for_another_account(base, credentials):
    reply = await bearer(base, mint(credentials, iss="42"))
    assert reply["error"]["code"] == 100


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Basic abc", "Bearer a.b"])
async def test_malformed_tokens(base, header):
    reply = await call("POST", f"{base}/platform_api", data={"cmd": "GetAccountInfo"},
                       headers={"Authorization": header})
    assert reply["error"]["code"] == 447


async def test_get_media_resources_is_public(base):
    reply = await call("GET", f"{base}/getMediaResources?with_sbcs&with_jsservers")
    assert reply == {"sbcs": ["127.0.0.1"], "jsservers": ["127.0.0.1"]}
