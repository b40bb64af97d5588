"""Player: plays its audio a frame a tick, pauses, loops, passes markers, finishes one tick after its last frame."""

from __future__ import annotations

import numpy as np

from voxsim.media.graph import FRAME_SAMPLES
from voxsim.media.player import Player, PlayerEvents


def events_of(player: Player) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []
    player.events = PlayerEvents(on_started=lambda ms: seen.append(("started", ms)),
                                 on_marker=lambda ms: seen.append(("marker", ms)),
                                 on_finished=lambda error: seen.append(("finished", error)))
    return seen


def test_plays_then_finishes_after_the_last_frame() -> None:
    player = Player({"kind": "url"})
    seen = events_of(player)
    player.advance()
    assert player.out is None and seen == []  # still loading
    player.load(np.arange(FRAME_SAMPLES * 2 + 10, dtype=np.int16))
    outs = []
    for _ in range(4):
        player.advance()
        outs.append(player.out)
    assert seen[0] == ("started", (FRAME_SAMPLES * 2 + 10) / 8)
    assert [o is not None for o in outs] == [True, True, True, False]
    assert len(outs[2]) == FRAME_SAMPLES and int(outs[2][10]) == 0  # the last frame is padded
    assert seen[-1] == ("finished", None)


def test_pause_holds_the_position_and_loop_starts_again() -> None:
    player = Player({"kind": "url"}, loop=True)
    events_of(player)
    player.load(np.ones(FRAME_SAMPLES, dtype=np.int16))
    player.advance()
    player.paused = True
    player.advance()
    assert player.out is None and player.position == 0  # looped back to the start, then paused
    player.paused = False
    for _ in range(5):
        player.advance()
        assert player.out is not None
    assert not player.finished


def test_markers_fire_when_passed_negative_from_the_end() -> None:
    player = Player({"kind": "tts"})
    seen = events_of(player)
    player.load(np.zeros(FRAME_SAMPLES * 10, dtype=np.int16))  # 200 ms
    player.add_marker(50)
    player.add_marker(-40)
    for _ in range(11):
        player.advance()
    assert [e for e in seen if e[0] == "marker"] == [("marker", 50), ("marker", -40)]


def test_a_failed_load_finishes_with_the_error() -> None:
    player = Player({"kind": "url"})
    seen = events_of(player)
    player.fail("cannot decode")
    player.fail("again")
    assert seen == [("finished", "cannot decode")]
