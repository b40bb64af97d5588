"""DeleteRecord through the official client: the file and the history entry go."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest

from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


def recorded(emulator, name: str):
    """A session with one recording whose WAV file is in the records folder: (session id, record)."""
    store, acc = emulator.store, emulator.account
    session = store.create_session(acc.account_id, 1, "app", None, "rule")
    folder = emulator.runtime.media.records.folder / str(session.call_session_history_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.wav").write_bytes(b"RIFF" + bytes(40))
    url = f"{emulator.listeners['api_http']['url']}/records/{session.call_session_history_id}/{name}.wav"
    return session.call_session_history_id, store.add_record(session.call_session_history_id, name, url, 1, 44)


async def status_of(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status


async def test_delete_by_id_and_by_url(api, emulator):
    session_id, first = recorded(emulator, "first")
    _, second = recorded(emulator, "second")
    assert await status_of(first.record_url) == 200
    await api("delete_record", record_id=first.record_id)
    assert await status_of(first.record_url) == 404
    history = await api("get_call_history", call_session_history_id=session_id, with_records=True,
                        from_date=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), to_date=dt.datetime.now(dt.UTC))
    assert history["result"][0].get("records", []) == []
    await api("delete_record", record_url=second.record_url)
    assert await status_of(second.record_url) == 404
    await expect_api_error(api, 496, "delete_record", record_id=first.record_id)


async def test_errors(api, emulator):
    await expect_api_error(api, 485, "delete_record")
    await expect_api_error(api, 496, "delete_record", record_url="http://127.0.0.1/records/1/none.wav")
    other = emulator.store.create_account(90001, "other", "other@example.com", "k" * 36)
    session = emulator.store.create_session(other.account_id, 1, "app", None, "rule")
    record = emulator.store.add_record(session.call_session_history_id, "x", "http://x/records/1/x.wav", 1, 1)
    await expect_api_error(api, 496, "delete_record", record_id=record.record_id)
