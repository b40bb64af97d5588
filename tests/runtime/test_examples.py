"""The example scenarios in scenarios/ run as documented."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from voxsim.runtime import FINISH_NORMAL, Runtime

from .conftest import logged, start
from .test_session import FakeDialer

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def example(name: str) -> str:
    return (SCENARIOS / f"{name}.voxengine.js").read_text(encoding="utf-8")


async def test_answer_and_say(runtime: Runtime):
    session = await start(runtime, example("answer_and_say"), names=["answer_and_say"])
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_finished(8)
    assert logged(session, "Incoming call from 100 to 200")
    assert [name for name, _ in caller.leg.actions] == ["answer", "hangup"]
    assert session.finish_reason == FINISH_NORMAL


async def test_ivr(runtime: Runtime):
    session = await start(runtime, example("ivr"), names=["ivr"])
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_for_event("Call.PlaybackStarted")
    caller.dtmf("2")
    await session.wait_finished(3)
    assert logged(session, "IVR choice: 2")
    assert [c["text"] for c in session.commands if c["op"] == "call.say"][-1] == "Connecting you to support."
    assert caller.leg.hung_up


async def test_forward_to_sip(runtime: Runtime):
    runtime.dialer = dialer = FakeDialer()
    session = await start(runtime, example("forward_to_sip"), names=["forward_to_sip"])
    caller = await runtime.simulate_call(
        session, callerid="alice", destination="bob", to_uri="sip:bob@pbx.example.org"
    )
    await session.wait_until(lambda: logged(session, "Bridged alice with sip:bob@pbx.example.org"))
    assert caller.leg.answered and dialer.placed[0][1] == "sip:bob@pbx.example.org"
    caller.hangup()
    await session.wait_finished(3)
    await session.settled()
    assert dialer.legs[0].hung_up


async def test_http_callout(runtime: Runtime, aiohttp_server):
    seen: list[dict[str, str]] = []

    async def lookup(request: web.Request) -> web.Response:
        seen.append(await request.json())
        return web.json_response({"name": "Alice"})

    app = web.Application()
    app.router.add_post("/lookup", lookup)
    server = await aiohttp_server(app)
    url = str(server.make_url("/lookup"))
    script = example("http_callout").replace("https://crm.example.org/lookup", url)
    session = await start(runtime, script, names=["http_callout"])
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_finished(3)
    assert seen == [{"callerid": "100", "destination": "200"}]
    says = [c["text"] for c in session.commands if c["op"] == "call.say"]
    assert says == ["Hello Alice, thanks for calling."]
    assert caller.leg.answered and caller.leg.hung_up


async def test_remote_control(runtime: Runtime):
    session = await start(runtime, example("remote_control"), custom_data="job-7", names=["remote_control"])
    status, ctype, body = await runtime.http_request(session.session_id, "GET", "/", "")
    assert (status, ctype) == (200, "application/json")
    assert json.loads(body)["requests"] == 1 and json.loads(body)["customData"] == "job-7"
    stop = await runtime.http_request(session.session_id, "POST", "/", json.dumps({"action": "stop"}))
    assert json.loads(stop[2]) == {"stopping": True}
    await session.wait_finished(2)
    assert logged(session, f"Started session {session.session_id}, custom data: job-7")
