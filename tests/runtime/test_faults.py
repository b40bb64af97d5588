"""A faulty scenario ends only its own session ("JS session error"); the rest keep going."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest
from aiohttp import web

from voxsim.runtime import FINISH_JS_ERROR, FINISH_NORMAL, InMemoryRecorder, Runtime, RuntimeSettings, Session

from .conftest import start, user_lines

HEALTHY = """
let ticks = 0;
setInterval(() => { ticks += 1; Logger.write('tick ' + ticks); }, 20);
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () => Logger.write('healthy connected'));
  e.call.answer();
});
"""


def ticks(session: Session) -> int:
    return sum(1 for line in user_lines(session) if line.startswith("tick "))


async def assert_still_healthy(runtime: Runtime, healthy: Session) -> None:
    before = ticks(healthy)
    await healthy.wait_until(lambda: ticks(healthy) >= before + 2, timeout=3)
    caller = await runtime.simulate_call(healthy, callerid="1", destination="2")
    await healthy.wait_until(lambda: "healthy connected" in user_lines(healthy), timeout=3)
    assert caller.leg.answered and healthy.state == "running"


def error_line(session: Session) -> str:
    return next(line[24:] for line in session.log.lines if line[24:].startswith("[error]"))


IN_HANDLER = [
    (
        "throw",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n  Logger.write('before');\n  null.boom;\n});",
        "at line 3: TypeError: Cannot read properties of null",
    ),
    (
        "endless-loop",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n  while (true) {}\n});",
        "at line 1: a handler did not finish within 0.5 s",
    ),
    (
        "async-throw",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, async (e) => {\n"
        "  await null;\n  throw new Error('late');\n});",
        "at line 3: Error: late",
    ),
    (
        "async-endless-loop",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, async (e) => {\n"
        "  await null;\n  for (;;) {}\n});",
        "promise continuations did not finish within 0.5 s",
    ),
    (
        # Each continuation returns the next promise, so the chain holds memory until the heap is full: V8
        # stops it between evals, and the eval after it runs normally; or, on a slower machine, the deadline
        # comes first.
        "promise-chain",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n"
        "  function f() { return Promise.resolve().then(f); }\n  f();\n});",
        ("the scenario exhausted the memory limit (64 MB)", "promise continuations did not finish within 0.5 s"),
    ),
    (
        "microtask-spin",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n"
        "  function f() { Promise.resolve().then(f); }\n  f();\n});",
        "promise continuations did not finish within 0.5 s (a promise chain that never yields?)",
    ),
    (
        # Nothing in the source says promises: the drain after every delivery still bounds them.
        "hidden-promise",
        "const P = globalThis['Pro' + 'mise'];\nVoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n"
        "  function f() { P.resolve()['th' + 'en'](f); }\n  f();\n});",
        "promise continuations did not finish within 0.5 s",
    ),
    (
        "memory",
        "const hoard = [];\nVoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n"
        "  while (true) hoard.push(new Array(100000).fill(1.5));\n});",
        "the scenario exhausted the memory limit (64 MB)",
    ),
]


@pytest.mark.parametrize(("name", "script", "expected"), IN_HANDLER, ids=[c[0] for c in IN_HANDLER])
async def test_fault_in_a_handler_ends_only_its_session(
    runtime: Runtime, name: str, script: str, expected: str | tuple[str, ...]
):
    healthy = await start(runtime, HEALTHY)
    bad = await start(runtime, script, names=[name])
    caller = await runtime.simulate_call(bad, callerid="1", destination="2")
    await bad.wait_finished(3)
    assert bad.finish_reason == FINISH_JS_ERROR
    line = error_line(bad)
    assert f"in scenario '{name}'" in line, line
    assert any(text in line for text in ((expected,) if isinstance(expected, str) else expected)), line
    assert caller.leg.rejected_code == 500 and not caller.leg.answered
    assert runtime.recorder.sessions[bad.session_id].finish_reason == FINISH_JS_ERROR
    await assert_still_healthy(runtime, healthy)


async def test_what_a_handler_did_before_it_threw_is_carried_out(runtime: Runtime, aiohttp_server):
    """On the platform each VoxEngine call takes effect when it is made: the answer and the request happen, then
    the session ends with the error, hanging up the call it answered."""
    requests: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        requests.append(await request.text())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    script = (
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n"
        "  e.call.answer();\n  Logger.write('answered');\n"
        f"  Net.httpRequest('{server.make_url('/hook')}', () => Logger.write('never'), "
        "{method: 'POST', postData: 'before the throw'});\n"
        "  throw new Error('after');\n});"
    )
    bad = await start(runtime, script, names=["thrower"])
    caller = await runtime.simulate_call(bad, callerid="1", destination="2")
    await bad.wait_finished(3)
    assert bad.finish_reason == FINISH_JS_ERROR
    assert "in scenario 'thrower' at line 5: Error: after" in error_line(bad)
    assert "answered" in user_lines(bad) and "never" not in user_lines(bad)
    await eventually(lambda: caller.leg.hung_up and bool(requests))
    assert caller.leg.answered and caller.leg.rejected_code is None
    assert requests == ["before the throw"]


async def eventually(predicate: Callable[[], bool]) -> None:
    """What the session set going goes on after it finished: waits (3 s at most) for it to happen."""
    for _ in range(150):
        if predicate():
            return
        await asyncio.sleep(0.02)
    assert predicate()


async def test_endless_loop_in_a_timer_callback(runtime: Runtime):
    healthy = await start(runtime, HEALTHY)
    script = "Logger.write('armed');\nsetTimeout(() => {\n  while (true) {}\n}, 30);"
    bad = await start(runtime, script, names=["timer"])
    await bad.wait_finished(3)
    assert bad.finish_reason == FINISH_JS_ERROR
    assert "in scenario 'timer' at line 2: a handler did not finish" in error_line(bad)
    await assert_still_healthy(runtime, healthy)


async def test_connected_calls_are_hung_up_on_error(runtime: Runtime):
    script = (
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n"
        "  e.call.addEventListener(CallEvents.Connected,\n"
        "    () => setTimeout(() => { throw new Error('x'); }, 10));\n"
        "  e.call.answer();\n});"
    )
    bad = await start(runtime, script)
    caller = await runtime.simulate_call(bad, callerid="1", destination="2")
    await bad.wait_finished(3)
    assert caller.leg.answered and caller.leg.hung_up
    assert "at line 3: Error: x" in error_line(bad)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("var a = 1;\nfunction broken( {\n  return a;\n}\n", "at line 3: SyntaxError: Unexpected identifier"),
        ("var a = 1;\nfunction f() {\n", "at line 3: SyntaxError: Unexpected end of input"),
        ("Logger.write('top');\nnoSuchThing();\n", "at line 2: ReferenceError: noSuchThing is not defined"),
        ("while (true) {}\n", "a handler did not finish"),
    ],
)
async def test_scenario_that_fails_to_load(runtime: Runtime, script: str, expected: str):
    healthy = await start(runtime, HEALTHY)
    bad = await start(runtime, "Logger.write('first ok');", script, names=["ok", "broken scenario"])
    assert bad.finished and bad.finish_reason == FINISH_JS_ERROR
    line = error_line(bad)
    assert expected in line, line
    if "handler" not in expected:
        assert "in scenario 'broken scenario'" in line
    caller = await runtime.simulate_call(bad, callerid="1", destination="2")
    assert caller.leg.rejected_code == 500
    await assert_still_healthy(runtime, healthy)


async def test_scenario_too_long(runtime: Runtime):
    bad = await start(runtime, "//" + "x" * (256 * 1024), names=["huge"])
    assert bad.finish_reason == FINISH_JS_ERROR
    assert "in scenario 'huge'" in error_line(bad) and "the limit is 262144" in error_line(bad)


async def test_too_many_timers_is_an_error(runtime: Runtime):
    bad = await start(runtime, "for (let i = 0; i < 101; i++) setTimeout(() => {}, 10000);")
    assert bad.finish_reason == FINISH_JS_ERROR
    assert "Too many active timers" in error_line(bad)


async def test_a_clean_session_ends_normally(runtime: Runtime):
    ok = await start(runtime, "VoxEngine.addEventListener(AppEvents.Started, () => VoxEngine.terminate());")
    await ok.wait_finished(2)
    assert ok.finish_reason == FINISH_NORMAL


# A FinalizationRegistry's cleanup runs when V8 chooses, after the GC collected what it watches, outside any eval: a
# callback that never returns then holds the isolate with no deadline running. `litter()` makes garbage the registry
# watches, and enough allocation for a full GC.
RUNAWAY_CLEANUP = """
const registry = new FinalizationRegistry(() => { for (;;) {} });
globalThis.litter = () => {
  for (let i = 0; i < 200; i++) registry.register({payload: new Array(1000)}, i);
  let junk = [];
  for (let i = 0; i < 100; i++) { junk.push(new Array(100000).fill(i)); if (junk.length > 10) junk.shift(); }
  return 'littered';
};
Logger.write('armed');
"""


async def test_a_callback_v8_runs_while_the_session_is_idle_is_bounded(settings: RuntimeSettings):
    runtime = Runtime(dataclasses.replace(settings, idle_check_interval=0.2), recorder=InMemoryRecorder())
    await runtime.start()
    try:
        healthy = await start(runtime, HEALTHY)
        bad = await start(runtime, RUNAWAY_CLEANUP, names=["cleanup"])
        assert bad.state == "running" and "armed" in user_lines(bad)
        # When the GC runs is V8's choice; here it runs between two events, in an eval of the test's own that
        # returns before the cleanup starts (the session sees nothing of it).
        assert await bad._bridge._ctx.eval_cancelable("litter()") == "littered"
        await bad.wait_finished(3)  # long before its idle timeout (5 s): no event would have come before that
        assert bad.finish_reason == FINISH_JS_ERROR
        line = error_line(bad)
        assert "in scenario 'cleanup'" in line, line
        assert "a callback V8 ran on its own while the session was idle did not finish within 0.5 s" in line, line
        await assert_still_healthy(runtime, healthy)
    finally:
        await runtime.shutdown(grace=1.0)


async def test_idle_sessions_are_checked_without_a_trace(settings: RuntimeSettings):
    """The check is not an event: an idle session's journal and log stay as they were."""
    runtime = Runtime(dataclasses.replace(settings, idle_check_interval=0.05), recorder=InMemoryRecorder())
    await runtime.start()
    try:
        idle = await start(runtime, "Logger.write('waiting');")
        events, lines = len(idle.events), len(idle.log.lines)
        await asyncio.sleep(0.5)  # ten checks
        assert idle.state == "running"
        assert (len(idle.events), len(idle.log.lines)) == (events, lines)
    finally:
        await runtime.shutdown(grace=1.0)
