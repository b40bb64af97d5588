"""`/_voxsim/pstn` (mock_api/pstn_http.py): the PSTN simulator's numbers listed and changed while voxsim runs; a
change applies to the next callPSTN, a bad one is refused with 400 naming the field, and a reset clears them."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from voxsim.app import Emulator
from voxsim.testing import ApiCaller

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop

DIALS = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callPSTN(VoxEngine.customData(), '+12125550100');
  call.addEventListener(CallEvents.Connected, () => { Logger.write('connected'); VoxEngine.terminate(); });
  call.addEventListener(CallEvents.Failed, (e) => { Logger.write('failed ' + e.code); VoxEngine.terminate(); });
});
"""


async def pstn(emulator: Emulator, method: str = "GET", body: Any = None, **query: Any) -> tuple[int, Any]:
    url = f"{emulator.listeners['api_http']['url']}/_voxsim/pstn"
    kwargs: dict[str, Any] = {"params": {k: str(v) for k, v in query.items()}}
    if isinstance(body, str):
        kwargs["data"] = body
    elif body is not None:
        kwargs["json"] = body
    async with aiohttp.ClientSession() as http, http.request(method, url, **kwargs) as resp:
        return resp.status, await resp.json()


def patterns(listing: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["source"], n["entry"].get("pattern", "")) for n in listing["numbers"]]


async def dialer(api: ApiCaller) -> int:
    await api("attach_phone_number", phone_number="12125550100")  # the callerid must be the account's
    app_id = (await api("add_application", application_name="dialer"))["application_id"]
    scenario_id = (await api("add_scenario", scenario_name="dial", scenario_script=DIALS,
                             application_id=app_id))["scenario_id"]
    return int((await api("add_rule", application_id=app_id, rule_name="dial", rule_pattern=".*",
                          scenario_id=scenario_id))["rule_id"])


async def dial(emulator: Emulator, api: ApiCaller, rule_id: int, number: str) -> str:
    reply = await api("start_scenarios", rule_id=rule_id, script_custom_data=number)
    assert emulator.runtime is not None
    session = emulator.runtime.session(int(reply["call_session_history_id"]))
    assert session is not None
    await session.wait_finished(10)
    return session.log.text()


async def test_the_list_starts_with_the_default_phone(emulator: Emulator, api: ApiCaller):
    status, listing = await pstn(emulator)
    assert status == 200
    assert listing == {"numbers": [], "default": {"behaviour": "answer", "answer_after": 1.0}}


async def test_added_and_removed_entries_change_the_next_call(emulator: Emulator, api: ApiCaller):
    rule_id = await dialer(api)
    assert "connected" in await dial(emulator, api, rule_id, "+15550186")
    status, listing = await pstn(emulator, "POST", {"pattern": "+15550186", "behaviour": "busy", "answer_after": 0})
    assert status == 200 and listing["numbers"] == [
        {"index": 0, "source": "api", "where": "entry",
         "entry": {"pattern": "+15550186", "behaviour": "busy", "answer_after": 0}}]
    assert "failed 486" in await dial(emulator, api, rule_id, "+15550186")

    _, listing = await pstn(emulator, "POST", {"pattern": r"\+1555.*", "behaviour": "reject"}, position=1)
    assert patterns(listing) == [("api", "+15550186"), ("api", r"\+1555.*")]
    status, listing = await pstn(emulator, "DELETE", index=0)
    assert status == 200 and patterns(listing) == [("api", r"\+1555.*")]
    assert "failed 603" in await dial(emulator, api, rule_id, "+15550186")
    status, listing = await pstn(emulator, "DELETE", pattern=r"\+1555.*")
    assert status == 200 and listing["numbers"] == []
    assert "connected" in await dial(emulator, api, rule_id, "+15550186")


async def test_put_replaces_the_api_entries(emulator: Emulator, api: ApiCaller):
    await pstn(emulator, "POST", {"pattern": "1"})
    status, listing = await pstn(emulator, "PUT", [{"pattern": "2", "behaviour": "unreachable"}, {"pattern": "3"}])
    assert status == 200 and patterns(listing) == [("api", "2"), ("api", "3")]
    assert [n["where"] for n in listing["numbers"]] == ["numbers[0]", "numbers[1]"]
    assert emulator.pstn_numbers.behaviour_for("2").behaviour == "unreachable"


async def test_a_reset_clears_the_api_entries(emulator: Emulator, api: ApiCaller):
    await pstn(emulator, "POST", {"pattern": "1", "behaviour": "busy"})
    await emulator.reset()
    assert (await pstn(emulator))[1]["numbers"] == []


async def test_bad_requests_are_refused_naming_the_field(emulator: Emulator, api: ApiCaller):
    await pstn(emulator, "POST", {"pattern": "0", "behaviour": "busy"})
    refused = [
        (await pstn(emulator, "POST", {"pattern": "1", "behavior": "busy"}), "behavior is not a key of a number"),
        (await pstn(emulator, "POST", {"pattern": "1", "hangup_after": "soon"}), "hangup_after must be a number"),
        (await pstn(emulator, "POST", {"pattern": "1"}, position=3), "position must be a whole number from 0 to 1"),
        (await pstn(emulator, "POST", {"pattern": "1"}, position="first"), "position must be a whole number"),
        (await pstn(emulator, "POST", "{not json"), "body: not JSON"),
        (await pstn(emulator, "PUT", [{"pattern": "1"}, {"say": 5}]), "numbers[1]: say must be a line"),
        (await pstn(emulator, "PUT", {"pattern": "1"}), "numbers must be a list"),
        (await pstn(emulator, "DELETE", index=4), "index must be the index of an entry"),
        (await pstn(emulator, "DELETE"), "give index"),
        (await pstn(emulator, "DELETE", index=0, pattern="0"), "give index"),
    ]
    for (status, body), message in refused:
        assert status == 400 and message in body["error"], (status, body, message)
    status, body = await pstn(emulator, "DELETE", pattern="9")
    assert status == 404 and "pattern" in body["error"]
    assert patterns((await pstn(emulator))[1]) == [("api", "0")]  # nothing changed
