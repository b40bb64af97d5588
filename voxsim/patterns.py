"""Rule patterns: Python's regular-expression syntax, matched with a time limit so that no pattern can freeze
the emulator.

The platform's regex engine is unknown; voxsim takes Python's syntax (docs/choices.md). A backtracking
pattern such as `(a+)+$` against a long destination takes time doubling with every character, and on the
event loop that would stall SIP, the API and health together. Matching therefore runs on the `regex`
module (Python's `re` syntax and semantics, `VERSION0`) with a `timeout`: a match that takes longer than
`MATCH_TIMEOUT` counts as no match, `PatternTimeout` tells callers that want to say so, and the rule is
reported once in the log.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import regex

__all__ = ["MATCH_TIMEOUT", "PatternTimeout", "compile_pattern", "full_match", "pattern_error"]

log = logging.getLogger(__name__)

MATCH_TIMEOUT = 0.05
"""Seconds one pattern may take against one destination."""

_reported: set[str] = set()


class PatternTimeout(Exception):
    """Matching the pattern took longer than `MATCH_TIMEOUT`."""


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` is not a valid regular expression, or None when it is."""
    try:
        regex.compile(pattern, regex.VERSION0)
    except (regex.error, RecursionError, OverflowError, ValueError) as exc:
        return str(exc)
    return None


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> regex.Pattern[str] | None:
    """The compiled pattern, or None when it does not compile (a pattern saved before validation existed)."""
    return None if pattern_error(pattern) is not None else regex.compile(pattern, regex.VERSION0)


def full_match(pattern: str, text: str, timeout: float | None = None) -> bool:
    """Whether `pattern` matches all of `text`; raises PatternTimeout when it takes too long (logged once per
    pattern) and returns False for a pattern that does not compile."""
    compiled = compile_pattern(pattern)
    if compiled is None:
        return False
    try:
        return compiled.fullmatch(text, timeout=MATCH_TIMEOUT if timeout is None else timeout) is not None
    except TimeoutError as exc:
        if pattern not in _reported:
            _reported.add(pattern)
            log.warning("rule pattern %r took over %.0f ms against %r: it counts as no match",
                        pattern, 1000 * MATCH_TIMEOUT, text[:80])
        raise PatternTimeout(pattern) from exc
