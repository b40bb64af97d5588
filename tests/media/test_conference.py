"""Conference: every listener hears the others and not itself (N−1)."""

from __future__ import annotations

import numpy as np

from voxsim.media.call_audio import CallAudio
from voxsim.media.conference import Conference
from voxsim.media.graph import FRAME_SAMPLES, MediaGraph


def test_three_callers_each_hear_the_other_two() -> None:
    graph = MediaGraph()
    conference = Conference()
    graph.add(conference)
    calls = [CallAudio(str(n)) for n in range(3)]
    for n, call in enumerate(calls):
        graph.add(call)
        conference.join(call)
        call.source = conference
        call.feed(np.full(FRAME_SAMPLES, 10 ** n, dtype=np.int16))  # 1, 10, 100
    graph.tick()
    assert [int(call.outbound[0]) for call in calls] == [110, 101, 11]


def test_alone_in_a_conference_hears_nothing() -> None:
    graph = MediaGraph()
    conference, call = Conference(), CallAudio("a")
    graph.add(conference)
    graph.add(call)
    conference.join(call)
    call.source = conference
    call.feed(np.ones(FRAME_SAMPLES, dtype=np.int16))
    graph.tick()
    assert call.outbound is None
