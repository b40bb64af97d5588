"""Scenario timers kept by Python, and virtual time: a session with a time scale runs its timers and its media
(a media clock of its own) that many times faster, so a 30-second IVR finishes in a fraction of that."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.runtime.conftest import FAST, logged
from voxsim.media.clock import MediaClock
from voxsim.runtime import InMemoryRecorder, Runtime, Session
from voxsim.runtime.timers import TimerSet

_ids = itertools.count(5000)

IVR = """
VoxEngine.addEventListener(AppEvents.CallAlerting, ({call}) => {
  call.answer();
  call.addEventListener(CallEvents.Connected, () => {
    setTimeout(() => { Logger.write('timer'); call.say('Thank you for waiting'); }, 30000);
  });
  call.addEventListener(CallEvents.PlaybackFinished, () => { Logger.write('finished'); call.hangup(); });
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
"""


async def start(runtime: Runtime, script: str, time_scale: float) -> Session:
    session_id = next(_ids)
    return await runtime.start_session(
        account_id=1, application_id=2, application_name="app.acc.voximplant.com", rule_id=3, rule_name="rule",
        scenarios=[("ivr", script)], session_id=session_id, time_scale=time_scale)


@pytest.mark.parametrize("time_scale", [100, 1000])
async def test_a_scaled_session_runs_a_30_second_wait_and_its_prompt_in_virtual_time(time_scale: float):
    runtime = Runtime(FAST, recorder=InMemoryRecorder())
    await runtime.start()
    try:
        session = await start(runtime, IVR, time_scale=time_scale)
        caller = await runtime.simulate_call(session, callerid="1", destination="2")
        await session.wait_until(lambda: logged(session, "finished"), timeout=5)  # ~31 s of the call's time
        audio = runtime.call_audio(caller.call_id)
        assert audio is not None and audio.ticks * 20 >= 30000  # the media ran through the wait too
        await session.wait_finished(5)
    finally:
        await runtime.shutdown(grace=1.0)


async def test_an_unscaled_session_keeps_real_time():
    runtime = Runtime(FAST, recorder=InMemoryRecorder())
    await runtime.start()
    try:
        session = await start(runtime, IVR, time_scale=1)
        await runtime.simulate_call(session, callerid="1", destination="2")
        await asyncio.sleep(0.5)
        assert not logged(session, "timer")
        assert session.media._services.clock is runtime.media.clock  # the emulator's one clock
    finally:
        await runtime.shutdown(grace=1.0)


async def test_timers_on_a_virtual_clock_are_due_at_its_ticks():
    clock = MediaClock(ptime=0.0004, virtual=True)  # 50 times faster
    fired: list[int] = []
    timers = TimerSet(fired.append, clock)
    timers.set(1, 1000, repeat=False)  # 1 s of the clock's time: 50 ticks
    timers.set(2, 200, repeat=True)
    timers.set(3, 500, repeat=False)
    timers.clear(3)
    for _ in range(49):
        clock.tick()
    assert fired == [2, 2, 2, 2]
    clock.tick()
    assert fired == [2, 2, 2, 2, 1, 2]  # at the same tick, in the order they were set (the interval re-armed last)
    timers.clear_all()
    for _ in range(20):
        clock.tick()
    assert fired == [2, 2, 2, 2, 1, 2]


async def test_a_virtual_clock_catches_up_instead_of_skipping():
    clock = MediaClock(ptime=0.0002, virtual=True)
    clock.start()
    await asyncio.sleep(0.2)  # 1000 ticks due
    await clock.stop()
    assert clock.ticks > 600  # bursts, not skips (a real-time clock drops what it could not run)
