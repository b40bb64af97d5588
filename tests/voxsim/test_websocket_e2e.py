"""A SIP phone's call streamed to a WebSocket server: the phone's audio reaches the server through RTP, G.711 and
the platform's media messages, and the phone hears the audio the server sends back."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import aiohttp
import numpy as np
import pytest
from aiohttp import web

from tests.mock_api.test_start_scenarios import provision as provision_rule
from tests.runtime.test_websocket import Server, best_match, tone, until
from tests.voxsim.test_testing import provision
from voxsim.media.decode import resample
from voxsim.media.g711 import CODECS, alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

STREAM = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  call.addEventListener(CallEvents.Connected, () => {
    const ws = VoxEngine.createWebSocket('%s');
    ws.addEventListener(WebSocketEvents.OPEN, () => {
      call.sendMediaTo(ws, {encoding: '%s', tag: 'phone'});
      ws.sendMediaTo(call);
    });
    ws.addEventListener(WebSocketEvents.MEDIA_ENDED, () => Logger.write('agent done'));
    call.addEventListener(CallEvents.Disconnected, () => { ws.close(); VoxEngine.terminate(); });
  });
  call.answer();
});
"""


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_get("/ws", srv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    srv.url = f"ws://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/ws"  # type: ignore[union-attr]
    yield srv
    for ws in srv.sockets:
        await ws.close(code=1001)
    await runner.cleanup()


RATES = {"ULAW": 8000, "ALAW": 8000, "PCM8": 8000, "PCM16": 16000}


def encode(pcm: np.ndarray, encoding: str) -> bytes:
    if encoding == "ULAW":
        return ulaw_encode(pcm)
    if encoding == "ALAW":
        return alaw_encode(pcm)
    return pcm.astype("<i2").tobytes()


def decode(data: bytes, encoding: str) -> np.ndarray:
    if encoding == "ULAW":
        return ulaw_decode(data)
    if encoding == "ALAW":
        return alaw_decode(data)
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


@pytest.mark.parametrize("encoding", ["ULAW", "ALAW", "PCM8", "PCM16"])
async def test_a_sip_callers_audio_reaches_the_server_and_the_server_is_heard(voxsim_emulator, voxsim_api,
                                                                             voxsim_phone, server: Server,
                                                                             encoding: str):
    """Each WebSocketAudioEncoding both ways: the phone's RTP reaches the server in the stream's encoding, and the
    server's answer in the same encoding reaches the phone."""
    rate = RATES[encoding]
    agent = tone(0.4, hz=700, rate=rate)

    async def answer(ws: web.WebSocketResponse) -> None:
        await until(lambda: server.events("start"))
        await ws.send_str(json.dumps({"event": "start", "sequenceNumber": 0,
                                      "start": {"mediaFormat": {"encoding": encoding, "sampleRate": rate}}}))
        step = rate // 50
        for n, at in enumerate(range(0, len(agent), step)):
            payload = base64.b64encode(encode(agent[at:at + step], encoding)).decode()
            await ws.send_str(json.dumps({"event": "media", "sequenceNumber": n + 1, "media": {"payload": payload}}))

    server.on_connect = answer
    await provision(voxsim_api, STREAM % (server.url, encoding), "stream")
    phone = await voxsim_phone()
    call = await phone.call("100", "stream")
    peer = phone.media_of(call)
    await until(lambda: server.events("start"), timeout=5)
    assert server.events("start")[0]["start"]["mediaFormat"] == {"encoding": encoding, "sampleRate": rate,
                                                                 "channels": 1}
    said = tone(0.4, hz=400)
    peer.send_audio(said)
    await peer.wait_for_audio(0.3, timeout=5)
    await until(lambda: len(server.events("media")) >= 40, timeout=5)
    codec = CODECS[peer.encoding]
    over_rtp = codec[1](codec[0](said))  # what voxsim decoded of the phone's G.711
    expected = resample(over_rtp, 8000, rate) if rate != 8000 else decode(encode(over_rtp, encoding), encoding)
    got = decode(server.media_payload(), encoding)
    assert best_match(got, expected[: rate // 5]) > 0.98
    heard = peer.heard()
    played = decode(encode(agent, encoding), encoding)
    at_8k = resample(played, rate, 8000) if rate != 8000 else played
    assert best_match(heard, codec[1](codec[0](at_8k))[200:2400]) > 0.98
    session, = voxsim_emulator.runtime.live_sessions()
    await session.wait_until(lambda: "agent done" in session.log.text(), timeout=5)
    await call.bye()
    await asyncio.wait_for(server.closed.wait(), 5)
    assert server.events("stop")[0]["stop"]["tag"] == "phone"
    assert np.abs(heard).max() > 3000


INBOUND = """
VoxEngine.addEventListener(AppEvents.Started, () => { %s });
VoxEngine.addEventListener(AppEvents.WebSocket, (e) => {
  const ws = e.websocket;
  Logger.write('inbound ' + e.method + ' ' + e.path.startsWith('/request/') + ' ' + ws.readyState);
  ws.addEventListener(WebSocketEvents.OPEN, () => Logger.write('open ' + ws.readyState));
  ws.addEventListener(WebSocketEvents.MESSAGE, (m) => ws.send('echo ' + m.text));
  ws.addEventListener(WebSocketEvents.CLOSE, (c) => Logger.write('closed ' + c.code));
});
VoxEngine.addEventListener(AppEvents.NewWebSocketFailed, (e) => Logger.write('failed: ' + e.reason));
"""


async def started(voxsim_api, script: str) -> tuple[str, object]:
    _, rule_id = await provision_rule(voxsim_api, script, "inbound")
    reply = await voxsim_api("start_scenarios", rule_id=rule_id)
    return reply["media_session_access_url"].replace("http://", "ws://"), reply["call_session_history_id"]


async def test_a_client_connects_to_the_session_after_allow_web_socket_connections(voxsim_api, voxsim_emulator):
    url, session_id = await started(voxsim_api, INBOUND % "VoxEngine.allowWebSocketConnections();")
    session = voxsim_emulator.runtime.session(session_id)
    await until(lambda: session.state == "running", timeout=5)
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str("hello")
        reply = await asyncio.wait_for(ws.receive(), 5)
        assert reply.data == "echo hello"
    await until(lambda: any("closed" in line for line in session.log.lines), timeout=5)
    lines = [line[24:] for line in session.log.lines if not line[24:].startswith("[")]
    assert lines[:2] == ["inbound GET true connecting", "open open"]


async def test_without_allow_web_socket_connections_a_client_is_refused(voxsim_api, voxsim_emulator):
    url, session_id = await started(voxsim_api, INBOUND % "")
    session = voxsim_emulator.runtime.session(session_id)
    await until(lambda: session.state == "running", timeout=5)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
    assert refused.value.status == 403


async def test_more_than_calls_plus_three_sockets_fail(voxsim_api, voxsim_emulator):
    url, session_id = await started(voxsim_api, INBOUND % "VoxEngine.allowWebSocketConnections();")
    session = voxsim_emulator.runtime.session(session_id)
    await until(lambda: session.state == "running", timeout=5)
    async with aiohttp.ClientSession() as http:
        sockets = [await http.ws_connect(url) for _ in range(3)]
        fourth = await http.ws_connect(url)
        closing = await asyncio.wait_for(fourth.receive(), 5)
        assert closing.type == aiohttp.WSMsgType.CLOSE and fourth.close_code == 1013
        for ws in sockets:
            await ws.close()
    await until(lambda: any("failed: 3 incoming WebSockets" in line for line in session.log.lines), timeout=5)
