"""ApplicationStorage in scenarios: get, put, remove, keys against the session's application's store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from voxsim.runtime import InMemoryRecorder, Runtime, RuntimeSettings, Session
from voxsim.store import Store

from .conftest import start, user_lines

APPLICATION_ID = 2  # the application of conftest.start's sessions


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store()
    s.create_account(1, "acc", "a@example.com", "key")
    s.add_application(1, "first")
    assert s.add_application(1, "second").application_id == APPLICATION_ID
    yield s
    s.close()


@pytest.fixture
async def runtime(settings: RuntimeSettings, store: Store) -> AsyncIterator[Runtime]:
    rt = Runtime(settings, recorder=InMemoryRecorder(), key_values=store)
    await rt.start()
    yield rt
    await rt.shutdown(grace=1.0)


def results(session: Session) -> list[Any]:
    return [json.loads(line[7:]) for line in user_lines(session) if line.startswith("result ")]


async def run(runtime: Runtime, body: str) -> list[Any]:
    """Runs `body` in an async Started handler (`out(x)` logs a result), then terminates."""
    script = ("const out = (x) => Logger.write('result ' + JSON.stringify(x === undefined ? 'undefined' : x));\n"
              "require(Modules.ApplicationStorage);\n"
              "VoxEngine.addEventListener(AppEvents.Started, async () => {\n" + body +
              "\nVoxEngine.terminate();\n});")
    session = await start(runtime, script)
    await session.wait_finished(3)
    return results(session)


async def test_put_in_one_session_get_in_another(runtime: Runtime, store: Store):
    (put,) = await run(runtime, "out(await ApplicationStorage.put('caller:100', 'Alice', 3600));")
    assert put["key"] == "caller:100" and put["value"] == "Alice"
    stored = store.get_key_value_item(1, APPLICATION_ID, "caller:100")
    assert stored is not None and stored.value == "Alice" and put["expireAt"] == stored.expires_at
    got, missing = await run(runtime, "out(await ApplicationStorage.get('caller:100'));"
                                      "out(await ApplicationStorage.get('caller:200'));")
    assert got == put and missing is None


async def test_remove_and_keys(runtime: Runtime, store: Store):
    for key in ("test", "test:1", "test:2", "order:1"):
        store.set_key_value_item(1, APPLICATION_ID, key, "v")
    out = await run(runtime, """
      out(await ApplicationStorage.keys());
      out(await ApplicationStorage.keys('test'));
      out(await ApplicationStorage.keys('*:1', 1));
      out(await ApplicationStorage.remove('test'));
      out(await ApplicationStorage.remove('never-was'));
      out((await ApplicationStorage.keys('test')).keys);
    """)
    assert out == [
        {"keys": ["order:1", "test", "test:1", "test:2"]},
        {"keys": ["test", "test:1", "test:2"]},
        {"keys": ["order:1"]},
        {"key": "test", "value": "v", "expireAt": 0},  # "the returned StorageKey always has zero ttl"
        {"key": "never-was", "value": "", "expireAt": 0},
        ["test:1", "test:2"],
    ]


async def test_ttl_expires_the_pair(runtime: Runtime, store: Store):
    now = 1_700_000_000.0
    store.key_value_now = lambda: now  # type: ignore[method-assign]
    (put,) = await run(runtime, "out(await ApplicationStorage.put('otp', '1234', 30));")
    assert put["expireAt"] == 1_700_000_030
    now += 30
    (got,) = await run(runtime, "out(await ApplicationStorage.get('otp'));")
    assert got is None


async def test_refusals_reject_with_the_platforms_message(runtime: Runtime, store: Store):
    out = await run(runtime, """
      const attempt = async (p) => { try { await p; out('resolved'); } catch (e) { out(e.message); } };
      await attempt(ApplicationStorage.put('k'.repeat(201), 'v', 60));
      await attempt(ApplicationStorage.put('k', 'v'.repeat(2001), 60));
      await attempt(ApplicationStorage.put('bad key', 'v', 60));
      await attempt(ApplicationStorage.put('k', 'v', 7776001));
      await attempt(ApplicationStorage.put('k', {an: 'object'}, 60));
      await attempt(ApplicationStorage.get());
    """)
    assert out == [
        "ApplicationStorage.put: The 'key' parameter length must be less than 201",
        "ApplicationStorage.put: The 'value' parameter length must be less than 2001",
        "ApplicationStorage.put: The 'key' parameter is invalid",
        "ApplicationStorage.put: The 'ttl' parameter is invalid",
        "ApplicationStorage.put: value must be a string",
        "ApplicationStorage.get: key must be a string",
    ]
    assert store.list_key_value_items(1, APPLICATION_ID) == []


async def test_an_uncaught_refusal_ends_the_session_as_a_js_error(runtime: Runtime):
    session = await start(runtime, "VoxEngine.addEventListener(AppEvents.Started, async () => {"
                                   " await ApplicationStorage.put('bad key', 'v', 60); });")
    await session.wait_finished(3)
    assert session.finish_reason == "JS session error"


async def test_without_a_store_calls_reject(settings: RuntimeSettings):
    rt = Runtime(settings, recorder=InMemoryRecorder())
    await rt.start()
    try:
        (error,) = await run(rt, "try { await ApplicationStorage.get('k'); } catch (e) { out(e.message); }")
    finally:
        await rt.shutdown(grace=1.0)
    assert "no key-value store" in error
