"""A session's media: its calls' audio, players, recorders and links, as units of the emulator's media graph.

`SessionMedia` carries out the media commands of one scenario on the graph of the one media clock
(`voxsim.media`), and turns what the units do into the platform's events:
- `call.say` / `createTTSPlayer`: speech rendered by espeak-ng (`voxsim.media.speech`; a stand-in of the
  same estimated length, with a session log line, where espeak-ng is missing), played 20 ms a tick;
  `PlaybackStarted` with the real duration once the audio is ready, `PlaybackFinished` after its last frame.
- `call.startPlayback` / `createURLPlayer`: the file fetched (`file://`, `http(s)://`, 10 MB at most) and
  decoded (WAV, MP3, OGG, FLAC) to 8 kHz; a file that cannot be fetched or decoded ends with
  `PlaybackFinished {error}` (`Player.Error` for a player). `loop` plays it again and again.
- `createToneScriptPlayer` and `call.playProgressTone(country)`: tones generated from the ToneScript.
- `createSequencePlayer({segments})`: its speech and file segments, rendered and fetched at once, played
  one after the other as one player with `SequencePlayerEvents`.
- `stopPlayback` ends a call's playback with no event (as documented); a new say/startPlayback replaces it.
- `call.record` / `createRecorder`: an MP3 file (8 kHz 32 kbps; `hd_audio` 48 kHz 192 kbps; `lossless` a
  WAV) in the records folder, served by the API listener; `RecordStarted`/`Recorder.Started` with its URL,
  `RecordStopped`/`Recorder.Stopped` with its duration once the file is made.
- `sendMediaTo`, `sendMediaBetween`: the target's source becomes the sender (one source per unit); a WebSocket
  (`voxsim.media.websocket_unit`, connected by voxsim/runtime/websocket.py) streams what it receives to its server.
- `createConference`, `Conference.add`: a mixer in the graph; each endpoint hears the others (N−1);
  `ConferenceEvents` Started, EndpointAdded, EndpointRemoved (when its call ends), Stopped.
Durations in event payloads are milliseconds for playback (the typings give no unit) and seconds for
records (as GetCallHistory reports them).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxsim.media.call_audio import CallAudio
from voxsim.media.clock import MediaClock
from voxsim.media.conference import Conference
from voxsim.media.decode import AudioError, load_audio
from voxsim.media.dtmf import InbandDtmfDetector
from voxsim.media.graph import Frame, MediaUnit
from voxsim.media.player import Player, PlayerEvents
from voxsim.media.recorder import FORMATS, Recorder, Tap, finish
from voxsim.media.speech import SpeechRenderer
from voxsim.media.tones import ToneGenerator, ToneScriptError, parse_tone_script, progress_tone
from voxsim.media.websocket_unit import MediaFormatError, WebSocketUnit
from voxsim.runtime.protocol import (
    CALL_PLAYBACK_FINISHED,
    CALL_PLAYBACK_STARTED,
    CALL_RECORD_STARTED,
    CALL_RECORD_STOPPED,
    Kind,
    UnitEvent,
)
from voxsim.runtime.settings import RuntimeSettings

__all__ = ["MediaServices", "RecordFiles", "RecordMade", "SessionMedia"]

log = logging.getLogger(__name__)

Emit = Callable[[UnitEvent], None]
AudioLoader = Callable[[str], Awaitable[Frame]]


@dataclass
class RecordMade:
    """One finished recording, as GetCallHistory's `records` lists it."""

    session_id: int
    call_id: str | None
    name: str
    url: str
    path: Path
    duration: float
    size: int


@dataclass
class _Recording:
    recorder: Recorder
    url: str
    name: str
    fmt: str


class RecordFiles:
    """Where recordings go (`folder/<session_id>/<name>.mp3`) and the URL that serves them
    (`url_base()/records/<session_id>/<name>.mp3`: the API listener's real address, known once it listens)."""

    def __init__(self, folder: Path | None = None, url_base: Callable[[], str] | None = None) -> None:
        self._folder = folder
        self._url_base = url_base or (lambda: "http://127.0.0.1:8080")

    @property
    def folder(self) -> Path:
        if self._folder is None:  # a runtime without a state folder (tests): a temporary one
            self._folder = Path(tempfile.mkdtemp(prefix="voxsim-records-"))
        return self._folder

    def path_for(self, session_id: int, name: str, suffix: str = ".mp3") -> Path:
        return self.folder / str(session_id) / f"{name}{suffix}"

    def url_for(self, session_id: int, name: str, suffix: str = ".mp3") -> str:
        return f"{self._url_base()}/records/{session_id}/{name}{suffix}"

    def find(self, session_id: str, file_name: str) -> Path | None:
        """The file a record URL names, or None (nothing outside the folder is ever served)."""
        if not session_id.isdigit() or "/" in file_name or not file_name.endswith((".mp3", ".wav")) \
                or file_name[0] == ".":
            return None
        path = self.folder / session_id / file_name
        return path if path.is_file() else None


@dataclass
class MediaServices:
    """What sessions share for media: the clock and its graph, speech, file loading, the records folder, and
    where finished recordings are reported (the store, for GetCallHistory)."""

    clock: MediaClock = field(default_factory=MediaClock)
    speech: SpeechRenderer = field(default_factory=SpeechRenderer)
    records: RecordFiles = field(default_factory=RecordFiles)
    load_audio: AudioLoader = load_audio
    on_record: Callable[[RecordMade], None] | None = None
    capture_seconds: float = 120.0


def _prompt_of_voice(params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    voice = params.get("voice")
    language = params.get("language")
    return (str(voice) if voice else None, str(language) if language else None)


class SessionMedia:
    def __init__(self, session_id: int, settings: RuntimeSettings, emit: Emit, services: MediaServices,
                 write_log: Callable[[str], None] = lambda _: None) -> None:
        self._session_id = session_id
        self._settings = settings
        self._emit = emit
        self._services = services
        self._graph = services.clock.graph
        self._write_log = write_log
        self._units: dict[str, MediaUnit] = {}  # by reference: "call:<id>", "player:<id>", "recorder:<id>"
        self._recordings: dict[str, _Recording] = {}  # by the call's or the recorder's reference
        self._finishing: set[asyncio.Task[None]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._record_seq = 0
        self.links: set[tuple[str, str]] = set()
        self._conferences: dict[str, dict[str, tuple[str, str, str]]] = {}  # id -> endpoint id -> (unit, mode, dir)
        self.ended_calls: dict[str, CallAudio] = {}  # what ended calls heard, for /_voxsim/calls/<id>/heard

    # ------------------------------------------------------------ calls

    def call_audio(self, call_id: str) -> CallAudio:
        """The call's unit in the graph, made on first use (the leg feeds it, the scenario plays to it)."""
        ref = f"call:{call_id}"
        unit = self._units.get(ref)
        if not isinstance(unit, CallAudio):
            unit = CallAudio(call_id, self._services.capture_seconds)
            self._add(ref, unit)
        return unit

    def find_call_audio(self, call_id: str) -> CallAudio | None:
        unit = self._units.get(f"call:{call_id}")
        return unit if isinstance(unit, CallAudio) else None

    def call_ended(self, call_id: str) -> None:
        self.stop_playback(call_id)
        self.stop_recording(call_id)
        self._leave_conferences(f"call:{call_id}")
        audio = self._units.pop(f"call:{call_id}", None)
        if isinstance(audio, CallAudio):
            self._graph.remove(audio)
            self.ended_calls[call_id] = audio

    def detect_inband(self, call_id: str, enabled: bool, report: Callable[[str], None]) -> None:
        """Listen for DTMF tones in the audio the far end sends (Goertzel), `report(digit)` once per press; as
        the platform does with handleTones(true), the tones are taken out of the audio others hear of the call
        (from the block that showed them: the first ~25 ms of a key still passes)."""
        audio = self.call_audio(call_id)
        if not enabled:
            audio.on_inbound = None
            return
        detector = InbandDtmfDetector()

        def hear(frame: Frame) -> None:
            digit = detector.feed(frame)
            if detector.tone_present or digit is not None:
                audio.out = None
            if digit is not None:
                report(digit)

        audio.on_inbound = hear

    def _add(self, ref: str, unit: MediaUnit) -> None:
        self._units[ref] = unit
        self._graph.add(unit)
        self._services.clock.start()

    # ------------------------------------------------------------ call playback

    def say(self, call_id: str, text: str, params: Mapping[str, Any] | None = None) -> None:
        voice, language = _prompt_of_voice(params or {})
        player = self._call_player(call_id, {"kind": "tts", "text": text, "voice": voice})
        self._spawn(self._speak(player, text, voice, language))

    def play_url(self, call_id: str, url: str, loop: bool = False) -> None:
        player = self._call_player(call_id, {"kind": "url", "url": url}, loop=loop)
        self._spawn(self._fetch(player, url))

    def play_progress_tone(self, call_id: str, country: str) -> None:
        try:
            script = progress_tone(country)
        except ValueError as exc:
            self._write_log(f"[voxsim] playProgressTone: {exc}")
            return
        audio = self.call_audio(call_id)
        self._drop_playback(audio)
        player = Player({"kind": "tone", "country": country.upper()})
        generator = ToneGenerator(script)
        player.load_generator(generator.next_frame, generator.duration_ms)
        audio.playback = player
        self._graph.add(player)

    def _call_player(self, call_id: str, prompt: dict[str, Any], loop: bool = False) -> Player:
        audio = self.call_audio(call_id)
        self._drop_playback(audio)
        player = Player(prompt, loop=loop)
        player.events = PlayerEvents(
            on_started=lambda ms: self._emit(UnitEvent(Kind.CALL, call_id, CALL_PLAYBACK_STARTED, {"duration": ms})),
            on_finished=lambda error: self._call_playback_done(audio, player, error),
        )
        audio.playback = player
        self._graph.add(player)
        self._services.clock.start()
        return player

    def _call_playback_done(self, audio: CallAudio, player: Player, error: str | None) -> None:
        if audio.playback is player:
            audio.playback = None
        self._graph.remove(player)
        payload = {"error": error} if error else {}
        self._emit(UnitEvent(Kind.CALL, audio.call_id, CALL_PLAYBACK_FINISHED, payload))

    def _drop_playback(self, audio: CallAudio) -> None:
        """A call plays one thing at a time: what played is stopped, with no event."""
        current, audio.playback = audio.playback, None
        if isinstance(current, Player):
            current.stop()
        if current is not None:
            self._graph.remove(current)

    def stop_playback(self, call_id: str) -> None:
        audio = self.find_call_audio(call_id)
        if audio is not None:
            self._drop_playback(audio)

    async def _speak(self, player: Player, text: str, voice: str | None, language: str | None) -> None:
        speech = await self._services.speech.render(text, voice, language)
        if speech.stand_in:
            self._write_log(f"[voxsim] say: {self._services.speech.stand_in_reason}; "
                            f"a stand-in of {speech.duration_ms:.0f} ms plays instead of speech")
        player.prompt = {**player.prompt, "text": speech.text, "voice": speech.voice}
        player.load(speech.pcm)

    async def _sequence(self, player: Player, segments: list[Mapping[str, Any]]) -> None:
        """A sequence player's segments (speech or files), fetched and rendered at once, played in order."""
        async def audio_of(segment: Mapping[str, Any]) -> Frame:
            if "text" in segment:
                voice, language = _prompt_of_voice(segment.get("parameters") or {})
                return (await self._services.speech.render(str(segment["text"]), voice, language)).pcm
            return await self._services.load_audio(str(segment.get("url")))

        try:
            parts = await asyncio.gather(*(audio_of(segment) for segment in segments))
        except AudioError as exc:
            self._write_log(f"[voxsim] sequence player: {exc}")
            player.fail(str(exc))
            return
        player.load(np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16))

    async def _fetch(self, player: Player, url: str) -> None:
        try:
            pcm = await self._services.load_audio(url)
        except AudioError as exc:
            self._write_log(f"[voxsim] playback of {url}: {exc}")
            player.fail(str(exc))
            return
        player.load(pcm)

    # ------------------------------------------------------------ recording

    def _record_name(self, owner: str) -> str:
        self._record_seq += 1
        return f"{owner}-{self._record_seq}"

    def _start_recording(self, ref: str, name: str, params: Mapping[str, Any], tap: Tap | None = None,
                         stereo: bool = False) -> str:
        """A recorder of `ref` in the graph; returns the URL its file will have."""
        fmt = "wav" if params.get("lossless") else "mp3-hd" if params.get("hd_audio") else "mp3"
        records = self._services.records
        recorder = Recorder(records.path_for(self._session_id, name, ".wav"), tap=tap, stereo=stereo)
        url = records.url_for(self._session_id, name, FORMATS[fmt][0])
        self._recordings[ref] = _Recording(recorder, url, name, fmt)
        if ref.startswith("recorder:"):  # a Recorder object: others may send to it
            self._add(ref, recorder)
        else:
            self._graph.add(recorder)
            self._services.clock.start()
        return url

    def record(self, call_id: str, params: Mapping[str, Any] | None = None) -> None:
        ref = f"call:{call_id}"
        if ref in self._recordings:
            return
        audio = self.call_audio(call_id)
        params = params or {}
        name = self._record_name(f"{params.get('recordNamePrefix') or ''}{call_id}")
        # left: what voxsim sends the far end ("cloud to endpoint"), right: what the far end sends
        url = self._start_recording(ref, name, params, tap=lambda: [audio.outbound, audio.out],
                                    stereo=bool(params.get("stereo")))
        self._emit(UnitEvent(Kind.CALL, call_id, CALL_RECORD_STARTED, {"url": url}))

    def stop_recording(self, call_id: str) -> None:
        def stopped(payload: dict[str, Any]) -> None:
            self._emit(UnitEvent(Kind.CALL, call_id, CALL_RECORD_STOPPED, payload))

        self._finish_recording(f"call:{call_id}", call_id, stopped)

    def _finish_recording(self, ref: str, call_id: str | None,
                          stopped: Callable[[dict[str, Any]], None] | None) -> None:
        """Stops the recorder now; its file is made in a thread, then the store hears of it and `stopped`
        gets the RecordStopped payload."""
        entry = self._recordings.pop(ref, None)
        if entry is None:
            return
        self._graph.remove(entry.recorder)
        duration = entry.recorder.stop()

        async def make_file() -> None:
            path = await asyncio.to_thread(finish, entry.recorder.path, entry.fmt)
            if self._services.on_record is not None:
                self._services.on_record(RecordMade(self._session_id, call_id, entry.name, entry.url, path,
                                                    duration, path.stat().st_size))
            if stopped is not None:
                stopped({"url": entry.url, "cost": "0", "duration": round(duration, 3)})

        task = asyncio.get_running_loop().create_task(make_file())
        self._finishing.add(task)  # not cancelled by close(): a recording outlives its session's end
        task.add_done_callback(self._finishing.discard)

    # ------------------------------------------------------------ players

    def create_player(self, player_id: str, kind: str, source: Any, params: Mapping[str, Any] | None) -> None:
        params = params or {}
        ref = f"player:{player_id}"
        prompt: dict[str, Any] = {"kind": kind}
        player = Player(prompt, loop=bool(params.get("loop")), paused=bool(params.get("onPause")))
        events = "SequencePlayer" if kind == "sequence" else "Player"
        player.events = PlayerEvents(
            on_started=lambda ms: self._player_event(player_id, f"{events}.Started", {"duration": ms}),
            on_marker=lambda offset: self._player_event(player_id, f"{events}.PlaybackMarkerReached",
                                                        {"offset": offset}),
            on_finished=lambda error: self._player_done(player_id, error, events),
        )
        self._add(ref, player)
        self._player_event(player_id, f"{events}.Created", {})
        if kind == "sequence":
            segments = [s for s in source if isinstance(s, Mapping)] if isinstance(source, list) else []
            prompt["text"] = " ".join(str(s["text"]) for s in segments if "text" in s) or None
            self._spawn(self._sequence(player, segments))
        elif kind == "tts":
            voice, language = _prompt_of_voice(params)
            prompt["text"] = str(source)
            self._spawn(self._speak(player, str(source), voice, language))
        elif kind == "url":
            url = str(source.get("url") if isinstance(source, Mapping) else source)
            prompt["url"] = url
            self._spawn(self._fetch(player, url))
        else:
            self._tone_script(player, str(source))

    def _tone_script(self, player: Player, script: str) -> None:
        try:
            generator = ToneGenerator(parse_tone_script(script))
        except ToneScriptError as exc:
            player.fail(f"invalid tone script: {exc}")
            return
        player.prompt["script"] = script
        player.load_generator(generator.next_frame, generator.duration_ms)

    def _player_event(self, player_id: str, name: str, payload: dict[str, Any]) -> None:
        self._emit(UnitEvent(Kind.PLAYER, player_id, name, payload))

    def _player_done(self, player_id: str, error: str | None, events: str = "Player") -> None:
        unit = self._units.pop(f"player:{player_id}", None)
        if unit is not None:
            self._graph.remove(unit)
        if error:
            self._player_event(player_id, f"{events}.Error", {"error": error})
        else:
            self._player_event(player_id, f"{events}.PlaybackFinished", {})

    def _player(self, player_id: str) -> Player | None:
        unit = self._units.get(f"player:{player_id}")
        return unit if isinstance(unit, Player) else None

    def pause_player(self, player_id: str) -> None:
        player = self._player(player_id)
        if player is not None:
            player.paused = True

    def resume_player(self, player_id: str) -> None:
        player = self._player(player_id)
        if player is not None:
            player.paused = False

    def stop_player(self, player_id: str) -> None:
        player = self._player(player_id)
        if player is not None:
            player.stop()
            self._graph.remove(player)
            self._units.pop(f"player:{player_id}", None)
            self._player_event(player_id, "Player.Stopped", {})

    def add_marker(self, player_id: str, offset: float) -> None:
        player = self._player(player_id)
        if player is not None:
            player.add_marker(offset)

    # ------------------------------------------------------------ recorders

    def create_recorder(self, recorder_id: str, params: Mapping[str, Any] | None = None) -> None:
        params = params or {}
        name = self._record_name(f"{params.get('name') or 'recorder'}")
        url = self._start_recording(f"recorder:{recorder_id}", name, params)
        self._emit(UnitEvent(Kind.RECORDER, recorder_id, "Recorder.Started", {"url": url}))

    def stop_recorder(self, recorder_id: str) -> None:
        def stopped(payload: dict[str, Any]) -> None:
            self._emit(UnitEvent(Kind.RECORDER, recorder_id, "Recorder.Stopped", payload))

        self._units.pop(f"recorder:{recorder_id}", None)
        self._finish_recording(f"recorder:{recorder_id}", None, stopped)

    def mute_recorder(self, recorder_id: str, mute: bool) -> None:
        entry = self._recordings.get(f"recorder:{recorder_id}")
        if entry is not None:
            entry.recorder.muted = mute

    # ------------------------------------------------------------ links

    # ------------------------------------------------------------ conferences

    def create_conference(self, conference_id: str) -> None:
        """`VoxEngine.createConference`: a mixer in the graph; `Conference.Started` follows at once."""
        self._add(f"conference:{conference_id}", Conference())
        self._conferences[conference_id] = {}
        self._conference_event(conference_id, "Conference.Started", {})

    def add_endpoint(self, conference_id: str, endpoint_id: str, unit: str, mode: str, direction: str) -> None:
        """`Conference.add`: the unit sends to the conference (SEND, BOTH) and hears the others (RECEIVE, BOTH).
        MIX and FORWARD both hear the mix: voxsim has no notion of a single forwarded speaker."""
        conference = self._units.get(f"conference:{conference_id}")
        endpoints = self._conferences.get(conference_id)
        member = self._unit_of(unit)
        if not isinstance(conference, Conference) or endpoints is None or member is None:
            payload = {"error": f"cannot add {unit}: no such conference or media unit", "code": 404,
                       "endpointId": endpoint_id}
            self._conference_event(conference_id, "Conference.Error", payload)
            return
        if direction in ("SEND", "BOTH"):
            conference.join(member)
        if direction in ("RECEIVE", "BOTH"):
            member.source = conference
        endpoints[endpoint_id] = (unit, mode, direction)
        self._conference_event(conference_id, "Conference.EndpointAdded",
                               {"endpointId": endpoint_id, "mode": mode, "direction": direction})

    def stop_conference(self, conference_id: str) -> None:
        endpoints = self._conferences.pop(conference_id, None)
        if endpoints is None:
            return
        for endpoint_id in list(endpoints):
            self._remove_endpoint(conference_id, endpoints, endpoint_id)
        self.remove_unit(f"conference:{conference_id}")
        self._conference_event(conference_id, "Conference.Stopped", {})

    def _leave_conferences(self, unit: str) -> None:
        """A unit went away (its call ended): it leaves every conference it was an endpoint of."""
        for conference_id, endpoints in self._conferences.items():
            for endpoint_id, (member, _, _) in list(endpoints.items()):
                if member == unit:
                    self._remove_endpoint(conference_id, endpoints, endpoint_id)

    def _remove_endpoint(self, conference_id: str, endpoints: dict[str, tuple[str, str, str]],
                         endpoint_id: str) -> None:
        unit, mode, direction = endpoints.pop(endpoint_id)
        conference, member = self._units.get(f"conference:{conference_id}"), self._units.get(unit)
        if isinstance(conference, Conference) and member is not None:
            conference.leave(member)
            if member.source is conference:
                member.source = None
        self._conference_event(conference_id, "Conference.EndpointRemoved",
                               {"endpointId": endpoint_id, "mode": mode, "direction": direction})

    def _conference_event(self, conference_id: str, name: str, payload: dict[str, Any]) -> None:
        self._emit(UnitEvent(Kind.CONFERENCE, conference_id, name, payload))

    def _unit_of(self, ref: str) -> MediaUnit | None:
        """The unit `ref` names; a call's audio is made on first use (the scenario may act before the leg)."""
        if ref.startswith("call:") and ref not in self._units:
            return self.call_audio(ref.partition(":")[2])
        return self._units.get(ref)

    # ------------------------------------------------------------ links

    def add_unit(self, ref: str, unit: MediaUnit) -> None:
        """A unit made elsewhere (a WebSocket: voxsim/runtime/websocket.py) joins the graph under `ref`."""
        self._add(ref, unit)

    def remove_unit(self, ref: str) -> None:
        unit = self._units.pop(ref, None)
        if unit is not None:
            self._graph.remove(unit)

    def link(self, source: str, target: str, params: Mapping[str, Any] | None = None) -> None:
        """`source` sends to `target`: a unit receives one stream (the newest); a conference hears all. A WebSocket
        target streams in the `encoding` (tag, customParameters) of `params`."""
        sender, receiver = self._unit_of(source), self._unit_of(target)
        if sender is None or receiver is None:
            self._write_log(f"[voxsim] sendMediaTo {source} -> {target}: no such media unit (ended?)")
            return
        if isinstance(receiver, WebSocketUnit) and not self._stream_to(target, receiver, params):
            return
        self.links.add((source, target))
        if isinstance(receiver, Conference):
            receiver.join(sender)
        else:
            receiver.source = sender

    def unlink(self, source: str, target: str) -> None:
        self.links.discard((source, target))
        sender, receiver = self._units.get(source), self._units.get(target)
        if isinstance(receiver, Conference) and sender is not None:
            receiver.leave(sender)
        elif receiver is not None and receiver.source is sender:
            receiver.source = None
            if isinstance(receiver, WebSocketUnit):
                receiver.end_stream()

    def _stream_to(self, target: str, socket: WebSocketUnit, params: Mapping[str, Any] | None) -> bool:
        """A stream to a WebSocket starts (its `start` message goes out once the socket is open); an encoding voxsim
        cannot stream (OPUS) is a WebSocket.Error event and a log line instead."""
        try:
            socket.stream(params)
        except MediaFormatError as exc:
            self._write_log(f"[voxsim] sendMediaTo {target}: {exc}")
            self._emit(UnitEvent(Kind.WEBSOCKET, target.partition(":")[2], WebSocketUnit.ERROR, {"reason": str(exc)}))
            return False
        return True

    # ------------------------------------------------------------ teardown

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:  # a broken prompt must not take the session down
                log.exception("media task of session %s failed", self._session_id)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Drops everything without events (after Terminating no media events fire); recordings are kept."""
        for task in list(self._tasks):
            task.cancel()
        for ref in list(self._recordings):
            self._finish_recording(ref, ref.partition(":")[2] if ref.startswith("call:") else None, None)
        for unit in self._units.values():
            if isinstance(unit, Player):
                unit.stop()
            elif isinstance(unit, CallAudio):
                self.ended_calls[unit.call_id] = unit
            self._graph.remove(unit)
        self._units.clear()
