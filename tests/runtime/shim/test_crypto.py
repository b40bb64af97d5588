"""Crypto (voxsim/runtime/shim/crypto.js): every digest of the typings, checked against Python's hashlib."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_mini_racer import MiniRacer

from voxsim.runtime.bridge import SHIM_SOURCE

SAMPLES = ["", "abc", "The quick brown fox jumps over the lazy dog", "héllo € 𝄞", "x" * 55, "y" * 56, "z" * 64,
           "w" * 1000]


@pytest.fixture(scope="module")
def ctx() -> Iterator[MiniRacer]:
    c = MiniRacer()
    c.eval(SHIM_SOURCE)
    yield c
    c.close()


def js(ctx: MiniRacer, expr: str) -> object:
    return json.loads(ctx.eval(f"JSON.stringify({expr})"))


@pytest.mark.parametrize("text", SAMPLES)
def test_digests_match_hashlib(ctx: MiniRacer, text: str):
    arg = json.dumps(text)
    data = text.encode()
    assert js(ctx, f"Crypto.md5({arg})") == hashlib.md5(data).hexdigest()
    assert js(ctx, f"Crypto.sha1({arg})") == hashlib.sha1(data).hexdigest()
    assert js(ctx, f"Crypto.sha256({arg})") == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("key", ["", "key", "k" * 64, "long key " * 20, "ключ"])
def test_hmac_sha256_matches_hmac(ctx: MiniRacer, key: str):
    data = "what do ya want for nothing?"
    expected = hmac.new(key.encode(), data.encode(), hashlib.sha256).hexdigest()
    assert js(ctx, f"Crypto.hmac_sha256({json.dumps(key)}, {json.dumps(data)})") == expected


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text(ctx: MiniRacer, text: str):
    data = text.encode("utf-8", errors="replace")
    if data != text.encode("utf-8", errors="surrogatepass"):
        return  # lone surrogates: JSON cannot carry them faithfully either way
    arg = json.dumps(text)
    assert js(ctx, f"Crypto.sha256({arg})") == hashlib.sha256(data).hexdigest()
    assert js(ctx, f"Crypto.md5({arg})") == hashlib.md5(data).hexdigest()


def test_md5_of_bytes_and_of_string_lists(ctx: MiniRacer):
    assert js(ctx, "Crypto.md5(str2bytes('abc'))") == hashlib.md5(b"abc").hexdigest()
    assert js(ctx, "Crypto.md5([0, 255, 128])") == hashlib.md5(bytes([0, 255, 128])).hexdigest()
    assert js(ctx, "Crypto.md5(['ab', 'c'])") == hashlib.md5(b"abc").hexdigest()


def test_bad_input_is_a_type_error(ctx: MiniRacer):
    message = ctx.eval("(() => { try { Crypto.sha1({}); return ''; }"
                       " catch (e) { return e.name + ': ' + e.message; } })()")
    assert message == "TypeError: Crypto.sha1: data must be a string"
    assert ctx.eval("Object.isFrozen(Crypto)") is True
