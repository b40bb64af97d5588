"""Recorder: what it hears lands in a WAV file (mono mix or stereo), muted as silence."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from voxsim.media.call_audio import CallAudio
from voxsim.media.graph import FRAME_SAMPLES, MediaGraph
from voxsim.media.recorder import Recorder


def samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2"), wav.getnchannels()


def test_a_call_recording_in_stereo_keeps_each_direction(tmp_path: Path) -> None:
    graph = MediaGraph()
    call = CallAudio("c")
    graph.add(call)
    recorder = Recorder(tmp_path / "r.wav", tap=lambda: [call.out, call.outbound], stereo=True)
    graph.add(recorder)
    call.feed(np.full(FRAME_SAMPLES * 60, 100, dtype=np.int16))
    for _ in range(60):
        graph.tick()
    duration, size = recorder.stop()
    data, channels = samples(tmp_path / "r.wav")
    assert channels == 2 and duration == 1.2 and size > len(data)
    assert set(data[0::2]) == {100} and set(data[1::2]) == {0}


def test_a_recorder_hears_its_source_and_mute_writes_silence(tmp_path: Path) -> None:
    graph = MediaGraph()
    call = CallAudio("c")
    recorder = Recorder(tmp_path / "r.wav")
    recorder.source = call
    graph.add(call)
    graph.add(recorder)
    call.feed(np.full(FRAME_SAMPLES * 4, 9, dtype=np.int16))
    graph.tick()
    recorder.muted = True
    graph.tick()
    recorder.stop()
    data, channels = samples(tmp_path / "r.wav")
    assert channels == 1 and list(data[:FRAME_SAMPLES]) == [9] * FRAME_SAMPLES
    assert not data[FRAME_SAMPLES:].any()
