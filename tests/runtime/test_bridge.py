"""The bridge on its own: one isolate per session, the warm pool, the async drain."""

from __future__ import annotations

import asyncio

from voxsim.runtime import Runtime
from voxsim.runtime.bridge import Bridge, IsolatePool, ScenarioError
from voxsim.runtime.protocol import HttpResult, TimerFired

from .conftest import FAST, logged, start


async def test_sessions_do_not_share_globals(runtime: Runtime):
    first = await start(runtime, "var secret = 42; globalThis.leak = 'first';")
    second = await start(runtime, "Logger.write(typeof secret + ' ' + typeof leak);")
    assert logged(second, "undefined undefined") and first.state == "running"


async def test_pool_refills_after_a_take():
    pool = IsolatePool(FAST)
    pool.fill()
    assert len(pool) == FAST.pool_size
    ctx = pool.take()
    assert len(pool) == FAST.pool_size - 1
    await asyncio.sleep(0.1)
    assert len(pool) == FAST.pool_size
    assert ctx.eval("typeof __vox.deliver") == "function"
    ctx.close()
    pool.close()
    assert len(pool) == 0


async def test_commands_pushed_by_promise_continuations_are_drained():
    pool = IsolatePool(FAST)
    bridge = Bridge(pool.take(), FAST)
    try:
        await bridge.init({}, "")
        source = "Net.httpRequestAsync('http://x/').then(function (r) { Logger.write('got ' + r.code); });"
        await bridge.load("s", source)
        delivery = await bridge.deliver(HttpResult(1, {"code": 204}))
        assert delivery.commands == [{"op": "log", "text": "got 204"}]
    finally:
        bridge.close()
        pool.close()


async def test_closed_bridge_refuses_work():
    pool = IsolatePool(FAST)
    bridge = Bridge(pool.take(), FAST)
    bridge.close()
    assert bridge.closed
    delivery = await bridge.deliver(TimerFired(1))
    assert isinstance(delivery.error, ScenarioError)
    pool.close()
