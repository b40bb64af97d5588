"""VoxEngine.createWebSocket against a local aiohttp WebSocket server: text both ways, a simulated caller's audio to
the server in each encoding (the platform's start/media/stop messages), the server's audio into the call with
MediaEventStarted/Ended, clearMediaBuffer, OPUS refused, and the socket closed when the session ends."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from aiohttp import WSMsgType, web

from voxsim.media.decode import resample
from voxsim.media.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voxsim.media.websocket_unit import MediaFormatError, StreamResampler, media_format
from voxsim.rtp_peer import non_silent_ms
from voxsim.runtime import Runtime

from .conftest import start, user_lines

OnConnect = Callable[[web.WebSocketResponse], Awaitable[None]]


class Server:
    """A WebSocket server that keeps what it received and runs `on_connect(ws)` for each client."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.binary: list[bytes] = []
        self.headers: dict[str, str] = {}
        self.on_connect: OnConnect | None = None
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self.url = ""
        self.sockets: list[web.WebSocketResponse] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("media", "chat"))
        await ws.prepare(request)
        self.sockets.append(ws)
        self.headers = dict(request.headers)
        task = asyncio.get_running_loop().create_task(self.on_connect(ws)) if self.on_connect else None
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.texts.append(msg.data)
            elif msg.type == WSMsgType.BINARY:
                self.binary.append(msg.data)
        if task is not None:
            task.cancel()
        self.close_code = ws.close_code
        self.closed.set()
        return ws

    def events(self, kind: str) -> list[dict[str, Any]]:
        found = []
        for text in self.texts:
            message = json.loads(text) if text.startswith("{") else {}
            if message.get("event") == kind:
                found.append(message)
        return found

    def media_payload(self) -> bytes:
        return b"".join(base64.b64decode(m["media"]["payload"]) for m in self.events("media"))


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_get("/ws", srv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    srv.url = f"ws://127.0.0.1:{port}/ws"
    yield srv
    for ws in srv.sockets:  # the server goes first (the runtime fixture is older): its clients see it go
        await ws.close(code=1001)
    await runner.cleanup()


async def until(predicate: Callable[[], Any], timeout: float = 4.0) -> Any:
    """Polls `predicate` (server-side state has no events to wait on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := predicate()):
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)
    return result


def tone(seconds: float, hz: float = 440.0, rate: int = 8000, level: int = 8000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (level * np.sin(2 * np.pi * (hz + 300 * t) * t)).astype(np.int16)


def best_match(heard: np.ndarray, expected: np.ndarray) -> float:
    """The highest correlation of `expected` with any stretch of `heard` (Pearson's r at every offset)."""
    signal, reference = heard.astype(np.float64), expected.astype(np.float64) - expected.mean()
    products = np.correlate(signal, reference, "valid")  # the reference sums to 0: the window's mean drops out
    sums = np.concatenate([[0.0], np.cumsum(signal)])
    squares = np.concatenate([[0.0], np.cumsum(signal**2)])
    n = len(reference)
    spread = (squares[n:] - squares[:-n]) - (sums[n:] - sums[:-n]) ** 2 / n
    norms = np.sqrt(np.maximum(spread, 0.0)) * np.linalg.norm(reference)
    return float((products / np.where(norms < 1e-6, np.inf, norms)).max())


SCENARIO = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  call.addEventListener(CallEvents.Connected, () => {
    const ws = VoxEngine.createWebSocket('%(url)s', {protocols: ['media'], headers: [{name: 'X-Token', value: 't1'}]});
    ws.onopen = (ev) => Logger.write('onopen ' + ws.readyState + ' ' + ws.protocol);
    ws.addEventListener(WebSocketEvents.OPEN, () => { Logger.write('open'); %(on_open)s });
    ws.onmessage = (ev) => { Logger.write('message ' + ev.text); %(on_message)s };
    ws.onclose = (ev) => Logger.write('close ' + ev.code + ' ' + ev.reason + ' ' + ev.wasClean + ' ' + ws.readyState);
    ws.onerror = (ev) => Logger.write('error ' + ev.reason);
    ws.onmediastarted = (ev) => {
      Logger.write('started ' + JSON.stringify(
        {tag: ev.tag, encoding: ev.encoding, customParameters: ev.customParameters, ws: ev.websocket === ws}));
      %(on_started)s
    };
    ws.addEventListener(WebSocketEvents.MEDIA_ENDED, (ev) => Logger.write('ended ' + JSON.stringify(ev.mediaInfo)));
    globalThis.ws = ws;
  });
  call.answer();
});
"""


def scenario(url: str, on_open: str = "", on_message: str = "", on_started: str = "") -> str:
    return SCENARIO % {"url": url, "on_open": on_open, "on_message": on_message, "on_started": on_started}


def lines(session: Any, prefix: str) -> list[str]:
    return [line for line in user_lines(session) if line.startswith(prefix)]


async def test_text_goes_both_ways_and_close_reports_its_code(runtime: Runtime, server: Server):
    async def greet(ws: web.WebSocketResponse) -> None:
        await ws.send_str("hello from the server")

    server.on_connect = greet
    session = await start(runtime, scenario(server.url, on_open="ws.send('hi ' + ws.url);",
                                            on_message="ws.close(4000, 'done');"))
    await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: lines(session, "close"), timeout=5)
    assert user_lines(session)[:3] == ["onopen open media", "open", "message hello from the server"]
    assert lines(session, "close") == ["close 4000 done true closed"]
    assert server.texts == [f"hi {server.url}"]
    assert server.headers["X-Token"] == "t1" and server.close_code == 4000
    kinds = [e["name"] for e in session.events if e["kind"] == "websocket"]
    assert kinds == ["WebSocket.Created", "WebSocket.Open", "WebSocket.Message", "WebSocket.Close"]


async def test_a_server_that_closes_and_one_that_is_not_there(runtime: Runtime, server: Server):
    async def leave(ws: web.WebSocketResponse) -> None:
        await ws.close(code=4001, message=b"bye")

    server.on_connect = leave
    session = await start(runtime, scenario(server.url))
    await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: lines(session, "close"), timeout=5)
    assert lines(session, "close") == ["close 4001 bye true closed"]
    nowhere = await start(runtime, scenario("ws://127.0.0.1:9/none"))
    await runtime.simulate_call(nowhere, callerid="1", destination="2")
    await nowhere.wait_until(lambda: lines(nowhere, "close"), timeout=5)
    assert lines(nowhere, "error cannot connect to ws://127.0.0.1:9/none")
    assert lines(nowhere, "close")[0].startswith("close 1006 cannot connect") and "false" in lines(nowhere, "close")[0]


@pytest.mark.parametrize("encoding, rate", [("PCM8", 8000), ("PCM16", 16000), ("ULAW", 8000), ("ALAW", 8000)])
async def test_the_callers_audio_reaches_the_server_in_each_encoding(runtime: Runtime, server: Server, encoding: str,
                                                                     rate: int):
    on_open = (f"call.sendMediaTo(ws, {{encoding: WebSocketAudioEncoding.{encoding}, tag: 'caller', "
               f"customParameters: {{leg: 'in'}}}});")
    session = await start(runtime, scenario(server.url, on_open=on_open))
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await until(lambda: server.events("start"))
    spoken = tone(0.3)
    caller.speak(spoken, {"kind": "tts", "text": "a tone"})
    await until(lambda: len(server.events("media")) >= 20)  # the stream's first 400 ms
    (started,) = server.events("start")
    assert started == {"event": "start", "sequenceNumber": 0, "start": {
        "tag": "caller", "mediaFormat": {"encoding": encoding, "sampleRate": rate, "channels": 1},
        "customParameters": {"leg": "in"}}}
    media = server.events("media")
    assert [m["sequenceNumber"] for m in media[:5]] == [1, 2, 3, 4, 5]
    assert [m["media"]["chunk"] for m in media[:3]] == [1, 2, 3]
    assert [m["media"]["timestamp"] for m in media[:3]] == [0, 20, 40]
    assert {m["media"]["tag"] for m in media} == {"caller"}
    payload = server.media_payload()
    if encoding == "ULAW":
        received, expected = ulaw_decode(payload), ulaw_decode(ulaw_encode(spoken))
    elif encoding == "ALAW":
        received, expected = alaw_decode(payload), alaw_decode(alaw_encode(spoken))
    else:
        received = np.frombuffer(payload, dtype="<i2")
        expected = resample(spoken, 8000, rate)
    assert len(payload) == sum(len(base64.b64decode(m["media"]["payload"])) for m in media)
    assert best_match(received, expected[: len(expected) // 3]) > 0.995


async def test_the_server_audio_plays_into_the_call_with_media_events(runtime: Runtime, server: Server):
    agent = tone(0.3, hz=600, rate=16000)

    async def speak(ws: web.WebSocketResponse) -> None:
        await ws.send_str(json.dumps({"event": "start", "sequenceNumber": 0, "start": {
            "tag": "agent", "mediaFormat": {"encoding": "PCM16", "sampleRate": 16000},
            "customParameters": {"voice": "x"}}}))
        for n, at in enumerate(range(0, len(agent), 320)):
            payload = base64.b64encode(agent[at:at + 320].astype("<i2").tobytes()).decode()
            await ws.send_str(json.dumps({"event": "media", "sequenceNumber": n + 1, "media": {
                "tag": "agent", "chunk": n + 1, "timestamp": n * 20, "payload": payload}}))
        await ws.send_str(json.dumps({"event": "stop", "sequenceNumber": 99, "stop": {}}))
        await ws.send_str('{"customEvent": "done"}')

    server.on_connect = speak
    session = await start(runtime, scenario(server.url, on_open="ws.sendMediaTo(call);"))
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: lines(session, "ended"), timeout=5)
    assert lines(session, "started") == [
        'started {"tag":"agent","encoding":"PCM16","customParameters":{"voice":"x"},"ws":true}']
    (ended,) = lines(session, "ended")
    assert 0.28 <= json.loads(ended.split(" ", 1)[1])["duration"] <= 0.32
    assert lines(session, "message") == ['message {"customEvent": "done"}']  # media messages are not messages
    heard = runtime.call_audio(caller.call_id).heard_audio()
    expected = resample(agent, 16000, 8000)
    # > 0.98, not more: on a loaded machine the server's messages may come slower than they play, and the gap
    # that leaves in the call's audio costs a little of the match (0.994 seen in CI)
    assert best_match(heard, expected[100:2300]) > 0.98
    names = [e["name"] for e in session.events if e["kind"] == "websocket"]
    assert names.index("WebSocket.MediaEventStarted") < names.index("WebSocket.MediaEventEnded")


async def test_clear_media_buffer_cuts_the_playback(runtime: Runtime, server: Server):
    async def speak_long(ws: web.WebSocketResponse) -> None:
        audio = tone(3.0, rate=8000)
        for at in range(0, len(audio), 800):  # binary frames: raw PCM8 (the default encoding)
            await ws.send_bytes(audio[at:at + 800].astype("<i2").tobytes())

    server.on_connect = speak_long
    session = await start(runtime, scenario(server.url, on_open="VoxEngine.sendMediaBetween(call, ws);",
                                            on_started="setTimeout(() => ws.clearMediaBuffer(), 200);"))
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: lines(session, "ended"), timeout=5)
    (ended,) = lines(session, "ended")
    assert json.loads(ended.split(" ", 1)[1])["duration"] < 1.0
    heard = runtime.call_audio(caller.call_id).heard_audio()
    assert 100 < non_silent_ms(heard) < 800  # of 3 s sent
    assert server.events("start")[0]["start"]["mediaFormat"]["encoding"] == "PCM8"  # sendMediaBetween's default


async def test_opus_is_refused_clearly(runtime: Runtime, server: Server):
    on_open = ("try { call.sendMediaTo(ws, {encoding: WebSocketAudioEncoding.OPUS, tag: 't'}); } "
               "catch (e) { Logger.write('thrown ' + e.message); }")
    session = await start(runtime, scenario(server.url, on_open=on_open))
    await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: lines(session, "thrown"), timeout=5)
    assert lines(session, "thrown") == ["thrown WebSocketAudioEncoding.OPUS is not emulated by voxsim "
                                        "(used: sendMediaTo)"]
    with pytest.raises(MediaFormatError, match="OPUS is not emulated"):
        media_format("OPUS")


async def test_the_encodings_have_the_official_values(runtime: Runtime):
    session = await start(runtime, "Logger.write(JSON.stringify(WebSocketAudioEncoding) + ' ' + "
                                   "JSON.stringify(WebSocketReadyState));")
    await session.wait_until(lambda: user_lines(session), timeout=2)
    encodings, states = (json.loads(part) for part in user_lines(session)[0].split(" "))
    assert encodings == {"PCM8": "PCM8", "PCM16_8KHZ": "PCM8", "PCM16": "PCM16", "PCM16_16KHZ": "PCM16",
                         "ALAW": "ALAW", "ULAW": "ULAW", "OPUS": "OPUS"}
    assert states == {"CLOSED": "closed", "CLOSING": "closing", "CONNECTING": "connecting", "OPEN": "open"}


async def test_the_session_end_closes_the_socket(runtime: Runtime, server: Server):
    session = await start(runtime, scenario(server.url, on_open="call.sendMediaTo(ws); "
                                                                "setTimeout(() => VoxEngine.terminate(), 200);"))
    await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_finished(5)
    await asyncio.wait_for(server.closed.wait(), 5)
    assert server.close_code == 1000
    assert server.events("start") and server.events("stop")  # the stream ended with its stop


def test_the_stream_resampler_leaves_no_seams():
    audio = tone(0.5, rate=8000)
    stream = StreamResampler(8000, 16000)
    pieces = np.concatenate([stream.push(audio[at:at + 160]) for at in range(0, len(audio), 160)])
    whole = resample(audio, 8000, 16000)
    lag = 2 * stream.pad
    assert np.abs(pieces[lag:].astype(int) - whole[: len(pieces) - lag]).max() < 100
