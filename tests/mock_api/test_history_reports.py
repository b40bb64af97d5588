"""History reports through the official client: order, list, download the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


def sessions(emulator) -> list[int]:
    """Two finished sessions of the emulator's account, the first with a call and a custom data."""
    store, acc = emulator.store, emulator.account
    first = store.create_session(acc.account_id, 1, "app", None, "rule", custom_data="first")
    call = store.add_call(first.call_session_history_id, True, "100", "+15550001")
    store.finish_call(call.call_id, True, 3)
    store.finish_session(first.call_session_history_id, "Normal termination", 4)
    second = store.create_session(acc.account_id, 1, "app", None, "rule")
    store.finish_session(second.call_session_history_id, "Normal termination", 1)
    return [first.call_session_history_id, second.call_session_history_id]


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=";"))


async def test_call_history_async_report(api, emulator):
    first, second = sessions(emulator)
    ordered = await api("get_call_history_async", with_header=True, with_calls=True, output="csv")
    assert ordered["result"] == 1
    report_id = ordered["history_report_id"]
    [report] = (await api("get_history_reports", history_report_id=report_id))["result"]
    assert report["history_type"] == "calls" and report["format"] == "csv"
    assert isinstance(report["completed"], dt.datetime) and report["calculated_data"]["session_count"] == 2

    downloaded = await api("download_history_report", history_report_id=report_id)
    header, *lines = rows(downloaded["file_content"])
    assert header[0] == "call_session_history_id" and "remote_number" in header
    assert [int(line[0]) for line in lines] == [first, second]
    assert lines[0][header.index("remote_number")] == "+15550001"
    assert lines[0][header.index("custom_data")] == "first" and lines[1][header.index("call_id")] == ""
    [again] = (await api("get_history_reports", history_report_id=report_id))["result"]
    assert again["download_count"] == 1 and isinstance(again["last_downloaded"], dt.datetime)


async def test_brief_history_and_filters(api, emulator):
    first, _ = sessions(emulator)
    ordered = await api("get_brief_call_history", output="csv", call_session_history_id=first)
    text = (await api("download_history_report", history_report_id=ordered["history_report_id"]))["file_content"]
    [line] = rows(text)  # no header unless asked
    assert int(line[0]) == first and line[5:7] == ["100", "+15550001"] and line[7] == "Normal termination"
    await api("get_call_history_async")
    listed = await api("get_history_reports", desc_order=True, count=1)
    assert (listed["total_count"], listed["count"]) == (2, 1)
    assert (await api("get_history_reports", is_completed=False))["result"] == []


async def test_errors(api, emulator):
    await expect_api_error(api, 496, "get_call_history_async", output="xls")
    missing = await api("download_history_report", history_report_id=999)  # the client returns its errors
    assert missing["error"]["code"] == 496
    await expect_api_error(api, 496, "get_history_reports", history_type="nonsense")
    await expect_api_error(api, 123, "get_call_history_async", from_date=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
                           to_date=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
