"""The ASR unit on a graph ticked by hand: the text of what a simulated caller said, at the tick its audio passes;
interim results; voice-activity detection for audio with no text; singleUtterance and stop()."""

from __future__ import annotations

from typing import Any

import numpy as np

from voxsim.media.asr_unit import (
    ASR_CAPTURE_STARTED,
    ASR_INTERIM_RESULT,
    ASR_RESULT,
    ASR_SPEECH_CAPTURED,
    ASR_STOPPED,
    AsrUnit,
    VoiceActivity,
    partial_text,
)
from voxsim.media.call_audio import CallAudio
from voxsim.media.graph import FRAME_SAMPLES, MediaGraph


def tone(ms: int, level: int = 6000) -> np.ndarray:
    t = np.arange(ms * 8) / 8000
    return (level * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


class Rig:
    """A call (its media running) whose far end the ASR hears, and what the ASR reported, tick by tick."""

    def __init__(self, **options: Any) -> None:
        self.graph = MediaGraph()
        self.call = CallAudio("c1")
        self.call.active = True
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.asr = AsrUnit(lambda name, payload: self.events.append((self.ticks, name, payload)), **options)
        self.asr.source = self.call
        self.ticks = 0
        self.graph.add(self.call)
        self.graph.add(self.asr)

    def run(self, ticks: int) -> None:
        for _ in range(ticks):
            self.ticks += 1
            self.graph.tick()

    def names(self) -> list[str]:
        return [name for _, name, _ in self.events]

    def results(self) -> list[dict[str, Any]]:
        return [payload for _, name, payload in self.events if name == ASR_RESULT]

    def at(self, name: str) -> list[int]:
        return [tick for tick, n, _ in self.events if n == name]


def test_what_a_caller_said_is_the_result_once_its_audio_passed():
    rig = Rig()
    rig.run(5)
    rig.call.feed(tone(1000), {"kind": "tts", "text": "I want to pay my bill"})  # 50 frames, from tick 6
    rig.run(49)
    assert rig.names() == [ASR_CAPTURE_STARTED]
    assert rig.at(ASR_CAPTURE_STARTED) == [6]
    rig.run(1)
    assert rig.names() == [ASR_CAPTURE_STARTED, ASR_SPEECH_CAPTURED, ASR_RESULT]
    assert rig.at(ASR_RESULT) == [55]
    assert rig.results() == [{"text": "I want to pay my bill", "confidence": 1.0}]
    rig.run(50)  # silence after it: nothing more
    assert len(rig.events) == 3


def test_two_utterances_give_two_results_in_order():
    rig = Rig()
    rig.call.feed(tone(400), {"kind": "tts", "text": "first"})
    rig.call.feed(tone(300), {"kind": "tts", "text": "second one"})  # right after the first
    rig.run(40)
    assert [r["text"] for r in rig.results()] == ["first", "second one"]
    assert rig.names() == [ASR_CAPTURE_STARTED, ASR_SPEECH_CAPTURED, ASR_RESULT] * 2


def test_interim_results_halfway_through_a_prompt():
    rig = Rig(interim_results=True)
    rig.call.feed(tone(1000), {"kind": "tts", "text": "one two three four"})
    rig.run(60)
    assert rig.names() == [ASR_CAPTURE_STARTED, ASR_INTERIM_RESULT, ASR_SPEECH_CAPTURED, ASR_RESULT]
    (interim,) = [p for _, n, p in rig.events if n == ASR_INTERIM_RESULT]
    assert interim == {"text": "one two"} and rig.at(ASR_INTERIM_RESULT) == [25]
    assert partial_text("hello") == "hello" and partial_text("a b c") == "a"


def test_audio_with_no_text_is_found_by_voice_activity():
    rig = Rig()
    rig.call.feed(tone(600))  # 30 frames, no text
    rig.run(80)
    assert rig.names() == [ASR_CAPTURE_STARTED, ASR_SPEECH_CAPTURED, ASR_RESULT]
    assert rig.at(ASR_CAPTURE_STARTED) == [3]  # 60 ms of speech
    assert rig.at(ASR_RESULT) == [30 + 25]  # 500 ms after its last frame
    assert rig.results() == [{"text": "", "confidence": 0.0}]


def test_a_configured_transcript_for_audio_with_no_text():
    rig = Rig(transcript="yes")
    rig.call.feed(tone(300), {"kind": "dtmf", "digits": "1"})  # a prompt without text is audio like any other
    rig.run(60)
    assert rig.results() == [{"text": "yes", "confidence": 1.0}]


def test_speech_with_no_text_ends_where_a_caller_starts_saying_something():
    rig = Rig()
    rig.call.feed(tone(200))
    rig.call.feed(tone(400), {"kind": "tts", "text": "hello"})
    rig.run(50)
    assert [r["text"] for r in rig.results()] == ["", "hello"]
    assert rig.names() == [ASR_CAPTURE_STARTED, ASR_SPEECH_CAPTURED, ASR_RESULT] * 2


def test_single_utterance_stops_after_the_first_result():
    rig = Rig(single_utterance=True)
    rig.call.feed(tone(400), {"kind": "tts", "text": "first"})
    rig.call.feed(tone(400), {"kind": "tts", "text": "second"})
    rig.run(60)
    assert rig.names() == [ASR_CAPTURE_STARTED, ASR_SPEECH_CAPTURED, ASR_RESULT, ASR_STOPPED]
    assert rig.asr.stopped and rig.events[-1][2] == {"cost": "0", "duration": 0.4}


def test_stop_reports_the_audio_heard_and_ends_recognition():
    rig = Rig()
    rig.run(10)
    rig.call.feed(tone(400), {"kind": "tts", "text": "too late"})
    rig.run(5)
    rig.asr.stop()
    rig.asr.stop()  # once only
    rig.run(40)
    assert rig.names() == [ASR_CAPTURE_STARTED, ASR_STOPPED]
    assert rig.events[-1][2] == {"cost": "0", "duration": 0.3}


def test_only_what_the_asr_heard_counts():
    rig = Rig()
    rig.asr.source = None
    rig.call.feed(tone(400), {"kind": "tts", "text": "not heard"})
    rig.call.feed(tone(400), {"kind": "tts", "text": "heard in part"})
    rig.run(25)  # the first passed, the second is playing
    rig.asr.source = rig.call
    rig.run(30)
    assert [r["text"] for r in rig.results()] == ["heard in part"]


def test_a_call_that_ends_mid_prompt_gives_what_was_heard():
    rig = Rig()
    rig.call.feed(tone(1000), {"kind": "tts", "text": "cut short"})
    rig.run(10)
    rig.graph.remove(rig.call)
    rig.run(5)
    assert rig.results() == [{"text": "cut short", "confidence": 1.0}]


def test_voice_activity_ignores_line_noise_and_clicks():
    vad = VoiceActivity()
    noise = (np.random.default_rng(1).normal(0, 60, FRAME_SAMPLES)).astype(np.int16)
    assert [vad.feed(noise) for _ in range(50)] == [None] * 50
    loud = tone(20, level=10000)
    assert [vad.feed(loud), vad.feed(loud), vad.feed(None)] == [None, None, None]  # 40 ms is a click
    assert [vad.feed(loud) for _ in range(3)] == [None, None, VoiceActivity.START]
    assert [vad.feed(None) for _ in range(25)][-1] == VoiceActivity.END
