"""The composition root's settings plumbing."""

from __future__ import annotations

from dataclasses import dataclass

from voxsim import bootstrap
from voxsim.app import Emulator, options_of
from voxsim.cli import build_parser, settings_from
from voxsim.edge.outbound_registrations import RegistrationTimers
from voxsim.edge.settings import EdgeSettings
from voxsim.testing import ephemeral_settings


def test_options_of_accepts_an_instance_a_mapping_a_dataclass_or_nothing():
    timers = RegistrationTimers(expires=60)
    assert options_of(RegistrationTimers, timers) is timers
    assert options_of(RegistrationTimers, None) == RegistrationTimers()
    assert options_of(RegistrationTimers, {"expires": 42, "unknown": 1}).expires == 42

    @dataclass
    class Partial:
        no_rule_code: int = 480

    assert options_of(EdgeSettings, Partial()).no_rule_code == 480


async def test_settings_reach_the_registration_client_callbacks_and_edge(tmp_path):
    settings = ephemeral_settings(tmp_path / "state", sip_registration={"expires": 42, "retry_initial": 0.5},
                                  callbacks={"retries": 1}, sip={"no_rule_code": 480})
    emulator = Emulator(settings)
    await emulator.start()
    try:
        assert emulator.sip_registrations.timers.expires == 42
        assert emulator.sip_registrations.timers.retry_initial == 0.5
        assert emulator.callbacks.retries == 1
        assert emulator.sip.settings.no_rule_code == 480
    finally:
        await emulator.stop()


def test_cli_flags_become_settings():
    args = build_parser().parse_args(["up", "--sip-registration-expires", "120", "--sip-registration-retry", "2"])
    settings = settings_from(args)
    assert settings.sip_registration == {"expires": 120, "retry_initial": 2.0}


async def test_sessions_a_crash_left_in_progress_are_finished_at_the_next_start(tmp_path):
    settings = ephemeral_settings(tmp_path / "state")
    first = Emulator(settings)
    await first.start()
    app = first.store.add_application(first.account.account_id, "crashy")
    orphan = first.store.create_session(first.account.account_id, app.application_id, app.application_name,
                                        None, "rule")  # as a kill -9 leaves it: never finished (no runtime session)
    await first.stop()
    second = Emulator(settings)
    await second.start()
    try:
        session = second.store.get_session(orphan.call_session_history_id)
        assert session.finished and session.finish_reason == bootstrap.INTERRUPTED
    finally:
        await second.stop()
