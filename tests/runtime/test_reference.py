"""Every enum string and payload field name, checked against the reference (§3).

The tables below are the contract; when the reference file is beside the repository
(`../shared/reference/voximplant-api.md`, as in development and CI) the test also reads the
values straight out of it, so a drift on either side fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from py_mini_racer import MiniRacer

from voxsim.runtime.bridge import SHIM_SOURCE

from .conftest import start, user_lines

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "voximplant-api.md"

APP_EVENTS = {
    "CallAlerting": "Application.CallAlerting", "Started": "Application.Started",
    "HttpRequest": "Application.HttpRequest", "Terminating": "Application.Terminating",
    "Terminated": "Application.Terminated", "WebSocket": "AppEvents.NewWebSocketConnection",
    "NewWebSocketFailed": "Application.OnNewWebSocketFailed",
}
_PLAIN_CALL_EVENTS = [
    "Connected", "Disconnected", "Failed", "Ringing", "AudioStarted", "ToneReceived", "ToneDetected",
    "PlaybackStarted", "PlaybackReady", "PlaybackFinished", "MessageReceived", "InfoReceived",
    "RecordStarted", "RecordStopped", "RecordError", "StateChanged", "Statistics", "OnHold", "OffHold",
    "MicStatusChange",
    "ReInviteReceived", "ReInviteAccepted", "ReInviteRejected", "TransferComplete", "TransferFailed",
    "BlindTransferRequested", "Forwarding", "PushSent", "FirstAudioPacketReceived",
    "FirstVideoPacketReceived",
    "RtpStopped", "RtpResumed", "AudioIdentificationStarted", "AudioIdentificationResult",
    "AudioIdentificationStopped", "AudioIdentificationError", "BeepDetectionComplete", "BeepDetectionError",
    "AudioQualityDetected",
]
CALL_EVENTS = {name: f"Call.{name}" for name in _PLAIN_CALL_EVENTS}
CALL_EVENTS["VideoTrackCreated"] = "Call.Video.TrackCreated"
PLAYER_EVENTS = {
    "Created": "Player.Created", "PlaybackReady": "Player.PlaybackReady", "Started": "Player.Started",
    "Stopped": "Player.Stopped", "PlaybackFinished": "Player.PlaybackFinished", "Error": "Player.Error",
    "PlaybackMarkerReached": "Player.PlaybackMarkerReached", "PlaybackBuffering": "Player.Buffering",
}
RECORDER_EVENTS = {
    "Started": "Recorder.Started", "Stopped": "Recorder.Stopped", "RecorderError": "Recorder.Error",
}
WEBSOCKET_EVENTS = {
    "OPEN": "WebSocket.Open", "CLOSE": "WebSocket.Close", "MESSAGE": "WebSocket.Message",
    "ERROR": "WebSocket.Error", "CREATED": "WebSocket.Created",
    "MEDIA_STARTED": "WebSocket.MediaEventStarted", "MEDIA_ENDED": "WebSocket.MediaEventEnded",
}
MODULES = {
    "ACD": "acd", "AI": "ai", "ApplicationStorage": "applicationstorage", "ASR": "asr", "Avatar": "avatar",
    "Conference": "conference", "ElevenLabs": "elevenlabs", "Gemini": "gemini", "IVR": "ivr",
    "OpenAI": "openai",
    "PushService": "pushservice", "Recorder": "recorder", "SmartQueue": "smartqueue",
    "StreamingAgent": "streamingagent", "Ultravox": "ultravox", "Cartesia": "cartesia", "Yandex": "yandex",
    "VoximplantAPI": "voximplantapi",
    "CallList": "calllist",  # not in the typings' enum: the platform's call-list scenarios require it
}
DTMF_TYPE = {"ALL": 0, "TELEPHONE_EVENT": 1, "IN_BAND": 2, "SIP_INFO": 3}

ENUMS = {
    "AppEvents": APP_EVENTS, "CallEvents": CALL_EVENTS, "PlayerEvents": PLAYER_EVENTS,
    "RecorderEvents": RECORDER_EVENTS, "WebSocketEvents": WEBSOCKET_EVENTS, "Modules": MODULES,
    "DTMFType": DTMF_TYPE,
}

# Payload fields voxsim must deliver (required fields of the reference tables, §3.3/§3.5).
PAYLOADS = {
    "Application.Started": {
        "name", "accessURL", "accessSecureURL", "accountId", "applicationId", "logURL", "sessionId",
    },
    "Application.CallAlerting": {"name", "call", "callerid", "destination", "toURI", "fromURI", "displayName",
                                 "headers", "scheme", "customData"},
    "Application.HttpRequest": {"name", "method", "path", "content", "headers"},
    "Application.Terminating": {"name", "systemError"},
    "Application.Terminated": {"name", "systemError"},
    "Call.Connected": {"call", "name", "id", "headers"},
    "Call.Disconnected": {
        "call", "name", "id", "headers", "internalCode", "reason", "duration", "cost", "direction",
    },
    "Call.ToneReceived": {"call", "name", "id", "tone", "type"},
    "Call.PlaybackStarted": {"call", "name", "id", "duration"},
    "Call.PlaybackFinished": {"call", "name", "id"},
    "Call.MessageReceived": {"call", "name", "id", "text"},
    "Call.InfoReceived": {"call", "name", "id", "mimeType", "body"},
    "Call.RecordStarted": {"call", "name", "id", "url"},
    "Call.RecordStopped": {"call", "name", "id", "url", "cost", "duration"},
    "Call.Failed": {"call", "name", "id", "code", "reason"},
}


def shim_enums() -> dict[str, dict[str, Any]]:
    ctx = MiniRacer()
    try:
        ctx.eval(SHIM_SOURCE)
        return {name: json.loads(ctx.eval(f"JSON.stringify({name})")) for name in ENUMS}
    finally:
        ctx.close()


def test_enums_have_the_official_values():
    actual = shim_enums()
    for name, expected in ENUMS.items():
        assert actual[name] == expected, name


def _reference_text() -> str:
    if not REFERENCE.exists():
        pytest.skip(f"reference not found at {REFERENCE}")
    return REFERENCE.read_text(encoding="utf-8")


def _table_pairs(text: str, prefix: str = "") -> dict[str, str]:
    """`member` | `'value'` rows (also `A` / `B` | `'a'` / `'b'`) of the markdown tables."""
    pairs: dict[str, str] = {}
    for row in re.findall(r"^\| (`[^|]+`) \| (`'[^|]+'`[^|]*) \|", text, flags=re.MULTILINE):
        members = re.findall(r"`(…?[\w.]+)`", row[0])
        values = re.findall(r"`'([\w.]+)'`", row[1])
        if len(members) == len(values):
            for member, value in zip(members, values, strict=True):
                # `AudioIdentificationStarted` / `…Result`: an elided member is its value's name.
                name = value.split(".", 1)[1] if member.startswith("…") else member.removeprefix(prefix)
                pairs[name] = value
    return pairs


def _section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n### ", start + 1)
    return text[start:end]


def test_enum_values_match_the_reference_file():
    text = _reference_text()
    actual = shim_enums()
    app = _table_pairs(_section(text, "### 3.3 `AppEvents`"), prefix="AppEvents.")
    calls = _table_pairs(_section(text, "### 3.5 `CallEvents`"))
    assert app and calls
    assert {k: actual["AppEvents"][k] for k in app} == app
    assert {k: actual["CallEvents"][k] for k in calls} == calls
    assert set(calls) == set(CALL_EVENTS)
    media = _section(text, "### 3.9 Media units")
    player_line = next(line for line in media.splitlines() if "`PlayerEvents`" in line)
    for member, value in re.findall(r"`(\w+)='([\w.]+)'`", player_line.split("`PlayerEvents`", 1)[1]):
        assert actual["PlayerEvents"][member] == value
    ws_line = next(line for line in media.splitlines() if "`WebSocketEvents`" in line)
    for member, value in re.findall(r"`([A-Z_]+)='([\w.]+)'`", ws_line):
        assert actual["WebSocketEvents"][member] == value
    modules = dict(re.findall(r"`(\w+)='([a-z]+)'`", _section(text, "### 3.1 Globals")))
    assert {**modules, "CallList": "calllist"} == actual["Modules"]  # CallList: see MODULES
    for member, value in re.findall(r"(ALL|TELEPHONE_EVENT|IN_BAND|SIP_INFO)=(\d)", text):
        assert actual["DTMFType"][member] == int(value)


def _required_fields(cell: str) -> set[str]:
    """Backticked `name`/`name: type` entries of a payload cell, without optional `name?`."""
    fields = re.sub(r"\s\([^)]*\)", "", cell.split(" — ")[0])  # drop remarks: "(...)", "— ..."
    return set(re.findall(r"`([A-Za-z_]\w*)(?::[^`]*)?`", fields))


def test_payload_contract_matches_the_reference_file():
    text = _reference_text()
    call_section = _section(text, "### 3.5 `CallEvents`")
    rows = re.findall(r"^\| `(\w+)` \| `'([\w.]+)'` \| (.*) \|$", call_section, re.MULTILINE)
    checked = 0
    for _member, value, cell in rows:
        if value in PAYLOADS:
            assert _required_fields(cell) <= PAYLOADS[value], value
            checked += 1
    assert checked >= 10
    app_rows = re.findall(r"^\| `AppEvents\.(\w+)` \| `'([\w.]+)'` \| (.*) \|$", text, re.MULTILINE)
    for _member, value, cell in app_rows:
        if value in PAYLOADS:
            assert _required_fields(cell) - {"conference_name"} <= PAYLOADS[value], value
            checked += 1
    assert checked >= 15


PROBE = """
const seen = (e) => Logger.write('payload ' + JSON.stringify({n: e.name, keys: Object.keys(e)}));
for (const n of ['Started', 'CallAlerting', 'HttpRequest', 'Terminating', 'Terminated']) {
  VoxEngine.addEventListener(AppEvents[n], seen);
}
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  for (const n of Object.keys(CallEvents)) e.call.addEventListener(CallEvents[n], seen);
  e.call.addEventListener(CallEvents.Connected, () => {
    e.call.handleTones(true); e.call.say('hi'); e.call.record();
  });
  e.call.addEventListener(CallEvents.PlaybackFinished, () => {
    const out = VoxEngine.callSIP('sip:x@example.org');
    out.addEventListener(CallEvents.Failed, (ev) => { seen(ev); Logger.write('outbound failed'); });
  });
  e.call.answer();
});
"""


async def test_delivered_payloads_carry_the_reference_fields(runtime):
    session = await start(runtime, PROBE)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_for_event("Call.PlaybackFinished")
    caller.dtmf("5")
    caller.message("hello")
    caller.info("application/json", "{}")
    await runtime.http_request(session.session_id, "POST", "/x", "body", {"X-A": "1"})
    await session.wait_until(lambda: "outbound failed" in user_lines(session))
    caller.hangup()
    await session.wait_for_event("Call.RecordStopped")
    session.terminate()
    await session.wait_finished(2)
    seen: dict[str, set[str]] = {}
    for line in user_lines(session):
        if line.startswith("payload "):
            item = json.loads(line[len("payload "):])
            seen.setdefault(item["n"], set()).update(item["keys"])
    for name, fields in PAYLOADS.items():
        assert name in seen, name
        assert fields <= seen[name], (name, fields - seen[name])
