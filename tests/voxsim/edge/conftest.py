"""Fixtures for the edge's tests: a running emulator with edge settings, and the SIP library's fixtures
(`tls_files`, `make_peer`, `sip_peer`, `sipp`, `agents`) from tests/sip_edge/conftest.py."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tests.sip_edge.conftest import TlsFiles, agents, make_peer, sip_peer, sipp, tls_files  # noqa: F401 (fixtures)
from voxsim.app import Emulator
from voxsim.edge.settings import EdgeSettings
from voxsim.runtime import RuntimeSettings
from voxsim.testing import ephemeral_settings

_states = itertools.count(1)


async def start_edge_emulator(tmp_path: Path, runtime: RuntimeSettings, **edge: Any) -> Emulator:
    """A running emulator for the edge's tests: any free RTP port, quick give-ups on peers already gone."""
    settings = ephemeral_settings(tmp_path / f"state{next(_states)}", runtime=runtime)
    edge.setdefault("request_timeout", 0.5)  # a far end a test already stopped answers no BYE
    settings.sip = EdgeSettings(rtp_ports=(0, 0), **edge)
    emulator = Emulator(settings)
    await emulator.start()
    assert emulator.sip_registrations is not None
    emulator.sip_registrations.timers.unregister_timeout = 0.3
    return emulator
