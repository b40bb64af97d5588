"""Fixtures of the Management API tests.

`emulator` and `api` give each test module one emulator, reset before every test: starting one
per test would dominate the run time of these files.
"""

import pytest
import pytest_asyncio

from voxsim.app import Emulator
from voxsim.testing import ApiCaller, ephemeral_settings


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def emulator(tmp_path_factory):
    emu = Emulator(ephemeral_settings(tmp_path_factory.mktemp("state")))
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture(scope="module")
def caller(emulator):
    return ApiCaller(emulator)


@pytest_asyncio.fixture(loop_scope="module")
async def api(emulator, caller):
    await emulator.reset()
    return caller
