"""GetCallHistory through the official client (and raw HTTP where the client cannot send bad input)."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest
from voximplant.apiclient import VoximplantException

UTC = dt.UTC


@pytest.fixture
def sessions(voxsim_emulator):
    """Three sessions: an old finished one with a call, a running one of another app, one with a user."""
    store, acc = voxsim_emulator.store, voxsim_emulator.account
    full = f"pbx.{acc.account_name}.voximplant.com"
    old = store.create_session(acc.account_id, 7, full, 3, "inbound", custom_data="order-1")
    crm = store.create_session(acc.account_id, 8, f"crm.{acc.account_name}.voximplant.com", 4, "out")
    mine = store.create_session(acc.account_id, 7, full, 3, "inbound", user_id=55, initiator_address="10.1.1.1")
    store.db.execute("UPDATE call_sessions SET start_date = '2024-05-01 12:00:00' WHERE call_session_history_id = ?",
                     (old.call_session_history_id,))
    call = store.add_call(old.call_session_history_id, True, "100", "+15550001", "pstn")
    store.finish_call(call.call_id, True, 30, 200, "Normal call clearing")
    store.finish_session(old.call_session_history_id, "Normal termination", 31)
    store.add_call(mine.call_session_history_id, False, "200", "alice", "user")
    return [s.call_session_history_id for s in (old, crm, mine)]


async def ids(api, **filters):
    reply = await api("get_call_history", **filters)
    return [s["call_session_history_id"] for s in reply["result"]]


async def test_empty_until_sessions_exist(voxsim_api):
    reply = await voxsim_api("get_call_history", from_date=dt.datetime(2020, 1, 1), to_date=dt.datetime.now(UTC))
    assert reply == {"result": [], "total_count": 0, "count": 0, "timezone": "Etc/GMT"}


async def test_sessions_with_calls_and_records(voxsim_api, voxsim_emulator, sessions):
    old, crm, mine = sessions
    reply = await voxsim_api("get_call_history", with_calls=True, with_records=True, with_other_resources=True)
    assert reply["total_count"] == 3 and reply["count"] == 3 and reply["timezone"] == "Etc/GMT"
    first = reply["result"][0]
    assert first["start_date"] == dt.datetime(2024, 5, 1, 12, tzinfo=first["start_date"].tzinfo)
    assert first["start_date"].utcoffset() == dt.timedelta(0)
    acc = voxsim_emulator.account
    assert {k: first[k] for k in ("call_session_history_id", "account_id", "application_id", "application_name",
                                  "rule_name", "duration", "finish_reason", "custom_data", "audio_quality",
                                  "records", "other_resource_usage", "log_file_url")} == {
        "call_session_history_id": old, "account_id": acc.account_id, "application_id": 7,
        "application_name": f"pbx.{acc.account_name}.voximplant.com", "rule_name": "inbound", "duration": 31,
        "finish_reason": "Normal termination", "custom_data": "order-1", "audio_quality": "Standard",
        "records": [], "other_resource_usage": [],
        "log_file_url": voxsim_emulator.session_log_url(old),
    }
    [call] = first["calls"]
    assert isinstance(call["start_time"], dt.datetime)
    assert (call["incoming"], call["successful"], call["duration"], call["remote_number"], call["local_number"],
            call["remote_number_type"]) == (True, True, 30, "+15550001", "100", "pstn")
    assert call["end_reason"] == {"code": 200, "description": "Normal call clearing"}
    running = reply["result"][1]
    assert running["calls"] == [] and "duration" not in running and "finish_reason" not in running
    assert reply["result"][2]["user_id"] == 55 and reply["result"][2]["initiator_address"] == "10.1.1.1"

    plain = await voxsim_api("get_call_history")
    assert not {"calls", "records", "other_resource_usage"} & plain["result"][0].keys()


async def test_filters_order_and_paging(voxsim_api, voxsim_emulator, sessions):
    old, crm, mine = sessions
    acc = voxsim_emulator.account
    assert await ids(voxsim_api) == [old, crm, mine]
    assert await ids(voxsim_api, desc_order=True) == [mine, crm, old]
    assert await ids(voxsim_api, from_date=dt.datetime(2024, 5, 1, 12, 0, 1)) == [crm, mine]
    assert await ids(voxsim_api, to_date=dt.datetime(2024, 5, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1)))) \
        == [old]  # an aware datetime is sent in UTC
    assert await ids(voxsim_api, call_session_history_id=[old, mine]) == [old, mine]
    assert await ids(voxsim_api, application_id=8) == [crm]
    assert await ids(voxsim_api, application_name="pbx") == [old, mine]
    assert await ids(voxsim_api, application_name=f"crm.{acc.account_name}.voximplant.com") == [crm]
    assert await ids(voxsim_api, application_id=7, rule_name="inbound") == [old, mine]
    assert await ids(voxsim_api, user_id=[55]) == [mine]
    assert await ids(voxsim_api, remote_number=["alice", "+15550001"]) == [old, mine]
    assert await ids(voxsim_api, remote_number="bob", remote_number_list='["+15550001"]') == [old]
    assert await ids(voxsim_api, local_number="200") == [mine]
    assert await ids(voxsim_api, call_session_history_custom_data="order-1") == [old]
    assert await ids(voxsim_api, min_duration=30) == [old]
    assert await ids(voxsim_api, children_calls_only=True) == []
    assert await ids(voxsim_api, child_account_id=[123]) == []

    page = await voxsim_api("get_call_history", count=1, offset=1)
    assert (page["count"], page["total_count"]) == (1, 3)
    assert [s["call_session_history_id"] for s in page["result"]] == [crm]
    assert "total_count" not in await voxsim_api("get_call_history", with_total_count=False)


async def test_log_file_url_comes_from_the_services(voxsim_api, voxsim_emulator, sessions):
    voxsim_emulator.session_log_url = lambda session_id: f"https://logs.example/{session_id}"
    reply = await voxsim_api("get_call_history", call_session_history_id=sessions[0])
    assert reply["result"][0]["log_file_url"] == f"https://logs.example/{sessions[0]}"


async def test_errors(voxsim_api, voxsim_emulator):
    cases = [
        ({"from_date": dt.datetime(2024, 2, 1), "to_date": dt.datetime(2024, 1, 1)}, 123),
        ({"call_session_history_id": "12;abc"}, 150),
        ({"call_session_history_id": list(range(1, 1002))}, 150),
        ({"rule_name": "inbound"}, 485),
        ({"application_id": "seven"}, 116),
        ({"user_id": "x"}, 117),
        ({"remote_number_list": "not json"}, 496),
        ({"count": 1001}, 496),
        ({"offset": 10001}, 496),
        ({"is_async": True}, 496),
    ]
    for kwargs, code in cases:  # one emulator for every case
        with pytest.raises(VoximplantException) as err:
            await voxsim_api("get_call_history", **kwargs)
        assert err.value.code == code, (kwargs, err.value)


async def test_bad_date_format_over_raw_http(voxsim_emulator):
    # The official client only sends datetimes it formats itself, so send a bad one by hand.
    acc = voxsim_emulator.account
    url = voxsim_emulator.listeners["api_http"]["url"] + "/platform_api/GetCallHistory"
    async with aiohttp.ClientSession() as http:
        for bad in ({"from_date": "2024-13-01 00:00:00"}, {"to_date": "yesterday"}):
            async with http.post(url, data={"account_id": str(acc.account_id), "api_key": acc.api_key,
                                            **bad}) as resp:
                error = (await resp.json())["error"]
            assert error["code"] == 111 and next(iter(bad)) in error["msg"]
