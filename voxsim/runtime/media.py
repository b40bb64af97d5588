"""Simulated media, until real audio exists: the events the platform fires, at real pace.

- `call.say` and TTS players: PlaybackStarted at once with the estimated duration, then
  PlaybackFinished when that time has passed. The estimate is `tts_ms_per_char` a
  character (60 ms by default, about 150 words a minute), never below `tts_min_ms`.
- `call.startPlayback`, URL and tone-script players: a fixed `url_playback_ms` (nothing is
  downloaded); with `loop` playback never finishes by itself.
- `stopPlayback` ends a call's playback with no PlaybackFinished (as documented); a new
  say/startPlayback replaces the current one the same way.
- `call.record` and recorders: RecordStarted/Recorder.Started with a URL under
  `record_url_base` (no audio is written); RecordStopped after the call's Disconnected.
- `duration` values are milliseconds (the official typings give no unit; voxsim chose ms).
No audio flows anywhere: media links (sendMediaTo, sendMediaBetween) are only recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voxsim.runtime.protocol import (
    CALL_PLAYBACK_FINISHED,
    CALL_PLAYBACK_STARTED,
    CALL_RECORD_STARTED,
    CALL_RECORD_STOPPED,
    Kind,
    UnitEvent,
)
from voxsim.runtime.settings import RuntimeSettings

Emit = Callable[[UnitEvent], None]


def tts_duration_ms(text: str, settings: RuntimeSettings) -> float:
    return max(settings.tts_min_ms, len(text) * settings.tts_ms_per_char)


@dataclass
class _Player:
    id: str
    duration_ms: float
    loop: bool
    position_ms: float = 0.0
    resumed_at: float | None = None
    markers: list[float] = field(default_factory=list)
    handles: list[asyncio.TimerHandle] = field(default_factory=list)

    def elapsed_ms(self) -> float:
        if self.resumed_at is None:
            return self.position_ms
        return self.position_ms + (time.monotonic() - self.resumed_at) * 1000.0

    def cancel(self) -> None:
        for handle in self.handles:
            handle.cancel()
        self.handles.clear()


@dataclass
class _Recording:
    url: str
    started: float = field(default_factory=time.monotonic)

    def stopped_payload(self) -> dict[str, Any]:
        return {"url": self.url, "cost": "0", "duration": round(time.monotonic() - self.started, 3)}


class MediaSim:
    def __init__(self, session_id: int, settings: RuntimeSettings, emit: Emit) -> None:
        self._session_id = session_id
        self._settings = settings
        self._emit = emit
        self._playback: dict[str, asyncio.TimerHandle | None] = {}
        self._recordings: dict[str, _Recording] = {}
        self._players: dict[str, _Player] = {}
        self._recorders: dict[str, _Recording] = {}
        self._record_seq = 0
        self.links: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ call playback

    def say(self, call_id: str, text: str) -> None:
        self._play(call_id, tts_duration_ms(text, self._settings), loop=False)

    def play_url(self, call_id: str, loop: bool) -> None:
        self._play(call_id, self._settings.url_playback_ms, loop=loop)

    def _play(self, call_id: str, ms: float, loop: bool) -> None:
        self.stop_playback(call_id)
        self._emit(UnitEvent(Kind.CALL, call_id, CALL_PLAYBACK_STARTED, {"duration": ms}))
        handle = None
        if not loop:
            handle = asyncio.get_running_loop().call_later(ms / 1000.0, self._playback_done, call_id)
        self._playback[call_id] = handle

    def _playback_done(self, call_id: str) -> None:
        self._playback.pop(call_id, None)
        self._emit(UnitEvent(Kind.CALL, call_id, CALL_PLAYBACK_FINISHED, {}))

    def stop_playback(self, call_id: str) -> None:
        handle = self._playback.pop(call_id, None)
        if handle is not None:
            handle.cancel()

    # ------------------------------------------------------------ call recording

    def _record_url(self, owner: str) -> str:
        self._record_seq += 1
        return f"{self._settings.record_url_base}/{self._session_id}/{owner}-{self._record_seq}.mp3"

    def record(self, call_id: str) -> None:
        if call_id in self._recordings:
            return
        rec = self._recordings[call_id] = _Recording(self._record_url(call_id))
        self._emit(UnitEvent(Kind.CALL, call_id, CALL_RECORD_STARTED, {"url": rec.url}))

    def stop_recording(self, call_id: str) -> None:
        rec = self._recordings.pop(call_id, None)
        if rec is not None:
            self._emit(UnitEvent(Kind.CALL, call_id, CALL_RECORD_STOPPED, rec.stopped_payload()))

    def call_ended(self, call_id: str) -> None:
        self.stop_playback(call_id)
        self.stop_recording(call_id)

    # ------------------------------------------------------------ players

    def create_player(
        self, player_id: str, kind: str, source: Any, params: Mapping[str, Any] | None
    ) -> None:
        params = params or {}
        if kind == "tts":
            duration = tts_duration_ms(str(source), self._settings)
        else:
            duration = self._settings.url_playback_ms
        player = self._players[player_id] = _Player(player_id, duration, loop=bool(params.get("loop")))
        self._emit(UnitEvent(Kind.PLAYER, player_id, "Player.Created", {}))
        if not params.get("onPause"):
            self._emit(UnitEvent(Kind.PLAYER, player_id, "Player.Started", {"duration": duration}))
            self._run(player)

    def _run(self, player: _Player) -> None:
        loop = asyncio.get_running_loop()
        player.resumed_at = time.monotonic()
        at = player.position_ms
        for offset in player.markers:
            if offset >= at:
                delay = (offset - at) / 1000.0
                player.handles.append(loop.call_later(delay, self._marker, player.id, offset))
        if not player.loop:
            remaining = max(0.0, player.duration_ms - at)
            player.handles.append(loop.call_later(remaining / 1000.0, self._player_done, player.id))

    def _marker(self, player_id: str, offset: float) -> None:
        self._emit(UnitEvent(Kind.PLAYER, player_id, "Player.PlaybackMarkerReached", {"offset": offset}))

    def _player_done(self, player_id: str) -> None:
        player = self._players.pop(player_id, None)
        if player is not None:
            player.cancel()
            self._emit(UnitEvent(Kind.PLAYER, player_id, "Player.PlaybackFinished", {}))

    def pause_player(self, player_id: str) -> None:
        player = self._players.get(player_id)
        if player is not None and player.resumed_at is not None:
            player.position_ms = player.elapsed_ms()
            player.resumed_at = None
            player.cancel()

    def resume_player(self, player_id: str) -> None:
        player = self._players.get(player_id)
        if player is not None and player.resumed_at is None:
            if player.position_ms == 0.0:
                self._emit(UnitEvent(Kind.PLAYER, player_id, "Player.Started", {"duration": player.duration_ms}))
            self._run(player)

    def stop_player(self, player_id: str) -> None:
        player = self._players.pop(player_id, None)
        if player is not None:
            player.cancel()
            self._emit(UnitEvent(Kind.PLAYER, player_id, "Player.Stopped", {}))

    def add_marker(self, player_id: str, offset: float) -> None:
        player = self._players.get(player_id)
        if player is None:
            return
        at = offset if offset >= 0 else player.duration_ms + offset
        player.markers.append(at)
        if player.resumed_at is not None and at >= player.elapsed_ms():
            delay = (at - player.elapsed_ms()) / 1000.0
            player.handles.append(asyncio.get_running_loop().call_later(delay, self._marker, player_id, at))

    # ------------------------------------------------------------ recorders

    def create_recorder(self, recorder_id: str) -> None:
        rec = self._recorders[recorder_id] = _Recording(self._record_url(recorder_id))
        self._emit(UnitEvent(Kind.RECORDER, recorder_id, "Recorder.Started", {"url": rec.url}))

    def stop_recorder(self, recorder_id: str) -> None:
        rec = self._recorders.pop(recorder_id, None)
        if rec is not None:
            self._emit(UnitEvent(Kind.RECORDER, recorder_id, "Recorder.Stopped", rec.stopped_payload()))

    # ------------------------------------------------------------ links and teardown

    def link(self, source: str, target: str) -> None:
        self.links.add((source, target))

    def unlink(self, source: str, target: str) -> None:
        self.links.discard((source, target))

    def close(self) -> None:
        """Silently drops everything: after Terminating no media events fire."""
        for handle in self._playback.values():
            if handle is not None:
                handle.cancel()
        for player in self._players.values():
            player.cancel()
        self._playback.clear()
        self._players.clear()
        self._recordings.clear()
        self._recorders.clear()
