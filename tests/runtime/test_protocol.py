"""The two sides of the bridge cannot drift: every op voxengine.js pushes has a handler, and back."""

from __future__ import annotations

import re

from voxsim.runtime.bridge import SHIM_SOURCE
from voxsim.runtime.dispatch import registered_ops
from voxsim.runtime.protocol import Op

# `push({ op: 'timer.set', ... })`, `Object.assign({ op: 'http.reply' ...` and `callCommand(this, 'call.answer', ...)`.
_PUSHED = re.compile(r"\bop: '([\w.]+)'|\bcallCommand\(\w+, '([\w.]+)'")


def pushed_ops() -> set[str]:
    return {a or b for a, b in _PUSHED.findall(SHIM_SOURCE)}


def test_the_shim_pushes_ops_at_all():
    assert {"log", "call.answer", "http.reply", "dial"} <= pushed_ops()


def test_every_op_the_shim_pushes_is_an_op_with_a_handler():
    assert pushed_ops() - {op.value for op in registered_ops()} == set()


def test_every_handled_op_is_one_the_shim_pushes():
    assert {op.value for op in registered_ops()} - pushed_ops() == set()


def test_op_lists_exactly_what_the_shim_pushes():
    assert {op.value for op in Op} == pushed_ops()
