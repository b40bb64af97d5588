"""Recorder: what it hears lands in a two-channel WAV (stereo split or the mix in both), muted as silence;
`finish` makes the platform's MP3 (8 kHz 32 kbps, HD 48 kHz 192 kbps) or keeps the WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import miniaudio
import numpy as np
import pytest

from voxsim.media.call_audio import CallAudio
from voxsim.media.graph import FRAME_SAMPLES, MediaGraph
from voxsim.media.player import Player
from voxsim.media.recorder import Recorder, finish


def samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 8000
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)


def call_with_prompt(graph: MediaGraph) -> CallAudio:
    """A call whose far end says 100s while voxsim plays 7s to it."""
    call = CallAudio("c")
    player = Player({"kind": "url"})
    player.load(np.full(FRAME_SAMPLES * 60, 7, dtype=np.int16))
    call.playback = player
    graph.add(call)
    graph.add(player)
    call.feed(np.full(FRAME_SAMPLES * 60, 100, dtype=np.int16))
    return call


def test_stereo_puts_what_voxsim_sent_left_and_the_far_end_right(tmp_path: Path) -> None:
    graph = MediaGraph()
    call = call_with_prompt(graph)
    recorder = Recorder(tmp_path / "r.wav", tap=lambda: [call.outbound, call.out], stereo=True)
    graph.add(recorder)
    for _ in range(50):
        graph.tick()
    assert recorder.stop() == 1.0
    data = samples(tmp_path / "r.wav")
    assert set(data[:, 0]) == {7} and set(data[:, 1]) == {100}


def test_without_stereo_the_mix_is_in_both_channels_and_mute_writes_silence(tmp_path: Path) -> None:
    graph = MediaGraph()
    call = call_with_prompt(graph)
    recorder = Recorder(tmp_path / "r.wav", tap=lambda: [call.outbound, call.out])
    graph.add(recorder)
    graph.tick()
    recorder.muted = True
    graph.tick()
    recorder.stop()
    data = samples(tmp_path / "r.wav")
    assert set(data[:FRAME_SAMPLES].reshape(-1)) == {107} and not data[FRAME_SAMPLES:].any()


@pytest.mark.parametrize(("fmt", "rate"), [("mp3", 8000), ("mp3-hd", 48000)])
def test_finish_makes_the_platforms_mp3(tmp_path: Path, fmt: str, rate: int) -> None:
    graph = MediaGraph()
    call = CallAudio("c")
    graph.add(call)
    t = np.arange(8000) / 8000
    call.feed((8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    recorder = Recorder(tmp_path / "r.wav", tap=lambda: [call.outbound, call.out])
    graph.add(recorder)
    for _ in range(50):
        graph.tick()
    recorder.stop()
    mp3 = finish(tmp_path / "r.wav", fmt)
    assert mp3 == tmp_path / "r.mp3" and not (tmp_path / "r.wav").exists()
    info = miniaudio.mp3_get_info(mp3.read_bytes())
    assert (info.sample_rate, info.nchannels) == (rate, 2) and 0.9 < info.duration < 1.3
    decoded = miniaudio.decode(mp3.read_bytes(), nchannels=1, sample_rate=8000)
    spectrum = np.abs(np.fft.rfft(np.asarray(decoded.samples, dtype=np.float64)))
    assert abs(int(np.argmax(spectrum)) * 8000 / len(decoded.samples) - 440) < 10


def test_finish_keeps_a_lossless_wav(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "r.wav")
    recorder.stop()
    assert finish(tmp_path / "r.wav", "wav") == tmp_path / "r.wav"
