"""A session's journals of events and commands stay bounded in entries and bytes, however big the values."""

from __future__ import annotations

import dataclasses
import json

from voxsim.runtime import Runtime
from voxsim.runtime.journal import CLIP_CHARS, CLIP_ITEMS, Journal, clip

from .conftest import FAST, start


def test_long_strings_and_lists_are_clipped_with_a_note():
    entry = {"name": "x", "data": {"text": "a" * 5000, "data": list(range(1000)), "code": 200}}
    kept = clip(entry)
    assert kept["data"]["text"] == "a" * CLIP_CHARS + f"... ({5000 - CLIP_CHARS} more characters)"
    assert kept["data"]["data"][:CLIP_ITEMS] == list(range(CLIP_ITEMS))
    assert kept["data"]["data"][-1] == f"... ({1000 - CLIP_ITEMS} more items)"
    assert kept["data"]["code"] == 200 and kept["name"] == "x"
    assert len(entry["data"]["text"]) == 5000  # the original is untouched


def test_deep_nesting_is_summarised():
    value: dict[str, object] = {}
    inner = value
    for _ in range(20):
        inner["next"] = {}
        inner = inner["next"]  # type: ignore[assignment]
    assert "an object of" in json.dumps(clip(value))


def test_oldest_entries_go_past_the_byte_bound():
    journal = Journal(max_entries=1000, max_bytes=10_000)
    for i in range(200):
        journal.append({"i": i, "text": "b" * 500})
    assert journal.size <= 10_000 and 10 <= len(journal) < 200
    assert journal[-1]["i"] == 199 and journal.dropped == 200 - len(journal)
    assert [e["i"] for e in journal] == list(range(200 - len(journal), 200))


def test_entry_bound_still_holds():
    journal = Journal(max_entries=3)
    for i in range(10):
        journal.append({"i": i})
    assert [e["i"] for e in journal] == [7, 8, 9] and journal.dropped == 7


async def test_a_session_flooding_big_values_keeps_a_bounded_journal():
    runtime = Runtime(dataclasses.replace(FAST, max_journal_bytes=200_000))
    await runtime.start()
    try:
        session = await start(runtime, """
        VoxEngine.addEventListener(AppEvents.HttpRequest, (e) => 'got ' + e.content.length);
        VoxEngine.addEventListener(AppEvents.Started, () => {
          for (let i = 0; i < 300; i++) Logger.write('x'.repeat(20000));
        });""")
        for _ in range(50):
            status, _, body = await runtime.http_request(session.session_id, "POST", "/", "y" * 100_000)
            assert (status, body) == (200, "got 100000")
        for journal in (session.events, session.commands):
            assert len(json.dumps(list(journal))) <= 200_000 * 1.1
        assert session.events[-1]["name"] == "Application.HttpRequest"
        assert any("more characters" in json.dumps(e) for e in session.events)
    finally:
        await runtime.shutdown()
