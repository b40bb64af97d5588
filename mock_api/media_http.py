"""HTTP surfaces of media: recordings, what a call heard, and what a simulated caller says or plays.

- `GET /records/<session_id>/<name>.mp3` (`.wav` for `lossless`): a recording (the URL RecordStarted gave), on
  the listener it was announced on.
- `GET /_voxsim/calls/<call_id>/heard`: what the far end of a call received and sent: the prompts it heard
  (TTS text, playback URL, tones, with start and end in ms on the call's audio timeline), what a simulated
  caller said, the lengths, and where the audio is (`/heard.wav`: what it received, `/said.wav`: what it
  sent; 8 kHz PCM16 WAV, the first `heard_capture_seconds`).
- `POST /_voxsim/simulate/calls/<call_id>/say {"text", "voice"?}` speaks into a simulated call (espeak-ng, the
  text travelling with the audio), `.../play {"url"}` plays a file into it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mock_api.app import json_reply, services_of
from voxsim.media.decode import AudioError, wav_bytes


def _error(status: int, message: str) -> web.Response:
    return json_reply({"error": message}, status=status)


async def record_file(request: web.Request) -> web.StreamResponse:
    path = services_of(request.app).record_file(request.match_info["session_id"], request.match_info["name"])
    if path is None:
        return web.Response(status=404, text="no such record\n")
    kind = "audio/mpeg" if path.suffix == ".mp3" else "audio/wav"
    return web.FileResponse(path, headers={"Content-Type": kind})


def _call_audio(request: web.Request) -> Any:
    runtime = services_of(request.app).runtime
    audio = runtime.call_audio(request.match_info["call_id"]) if runtime is not None else None
    if audio is None:
        raise web.HTTPNotFound(text='{"error": "no call with that id in memory"}', content_type="application/json")
    return audio


async def heard(request: web.Request) -> web.Response:
    audio = _call_audio(request)
    base = f"/_voxsim/calls/{request.match_info['call_id']}"
    return json_reply({
        "call_id": request.match_info["call_id"],
        "heard": {"duration_ms": len(audio.sent) * 20, "wav": f"{base}/heard.wav",
                  "prompts": [p.as_dict() for p in audio.prompts]},
        "said": {"duration_ms": len(audio.received) * 20, "wav": f"{base}/said.wav",
                 "prompts": [p.as_dict() for p in audio.said]},
    })


async def heard_wav(request: web.Request) -> web.Response:
    return web.Response(body=wav_bytes(_call_audio(request).heard_audio()), content_type="audio/wav")


async def said_wav(request: web.Request) -> web.Response:
    return web.Response(body=wav_bytes(_call_audio(request).said_audio()), content_type="audio/wav")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "the body must be a JSON object"}', content_type="application/json")
    return body


async def simulate_say(request: web.Request) -> web.Response:
    body = await _body(request)
    text, voice = body.get("text"), body.get("voice")
    if not isinstance(text, str) or not text.strip():
        return _error(400, "'text' (what the caller says) is required")
    runtime = services_of(request.app).runtime
    if runtime is None or not await runtime.caller_says(request.match_info["call_id"], text,
                                                        str(voice) if voice else None):
        return _error(404, "no live simulated call with that id")
    return json_reply({"status": "ok"})


async def simulate_play(request: web.Request) -> web.Response:
    url = (await _body(request)).get("url")
    if not isinstance(url, str) or not url:
        return _error(400, "'url' (file://, http:// or https://) is required")
    runtime = services_of(request.app).runtime
    try:
        played = runtime is not None and await runtime.caller_plays(request.match_info["call_id"], url)
    except AudioError as exc:
        return _error(400, str(exc))
    if not played:
        return _error(404, "no live simulated call with that id")
    return json_reply({"status": "ok"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/records/{session_id}/{name}", record_file)
    app.router.add_get("/_voxsim/calls/{call_id}/heard", heard)
    app.router.add_get("/_voxsim/calls/{call_id}/heard.wav", heard_wav)
    app.router.add_get("/_voxsim/calls/{call_id}/said.wav", said_wav)
    app.router.add_post("/_voxsim/simulate/calls/{call_id}/say", simulate_say)
    app.router.add_post("/_voxsim/simulate/calls/{call_id}/play", simulate_play)
