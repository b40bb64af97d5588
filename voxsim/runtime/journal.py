"""A session's journal of events or commands (`/_voxsim/sessions/<N>` shows it): bounded in entries and in bytes.

A count alone bounds nothing: one `HttpResult` may carry a 2 MB body (as text, or as a list of byte values),
one command a long `postData`, and a session may see ten thousand of them; finished sessions stay in memory
too. So each entry keeps its shape but long strings and lists are clipped (`CLIP_CHARS`, `CLIP_ITEMS`, with a
note of how much was left out), and the oldest entries go once the journal's estimated size passes
`max_bytes`, as they go once there are `max_entries`.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from typing import Any

CLIP_CHARS = 1000
"""Characters of one string value kept in an entry."""
CLIP_ITEMS = 100
"""Items of one list kept in an entry."""
_DEPTH = 8  # nesting kept; deeper values are summarised (a scenario's object graph may be deep)


def clip(value: Any, depth: int = 0) -> Any:
    """`value` with long strings and lists cut short (a copy; the original is untouched)."""
    if isinstance(value, str):
        if len(value) <= CLIP_CHARS:
            return value
        return f"{value[:CLIP_CHARS]}... ({len(value) - CLIP_CHARS} more characters)"
    if isinstance(value, dict):
        if depth >= _DEPTH:
            return f"(an object of {len(value)} keys)"
        return {str(key): clip(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        if depth >= _DEPTH:
            return f"(a list of {len(value)} items)"
        kept = [clip(item, depth + 1) for item in value[:CLIP_ITEMS]]
        if len(value) > CLIP_ITEMS:
            kept.append(f"... ({len(value) - CLIP_ITEMS} more items)")
        return kept
    return value


def _size(entry: dict[str, Any]) -> int:
    return len(json.dumps(entry, ensure_ascii=False, default=str))


class Journal:
    """The last entries, at most `max_entries` and about `max_bytes` of JSON (0: no byte bound)."""

    def __init__(self, max_entries: int, max_bytes: int = 0) -> None:
        self.max_bytes = max_bytes
        self._entries: deque[tuple[dict[str, Any], int]] = deque(maxlen=max_entries)
        self.size = 0
        self.dropped = 0  # entries that went to keep within the bounds

    def append(self, entry: dict[str, Any]) -> None:
        kept = clip(entry)
        size = _size(kept)
        if self._entries.maxlen is not None and len(self._entries) == self._entries.maxlen and self._entries:
            self._drop_oldest()
        self._entries.append((kept, size))
        self.size += size
        while self.max_bytes and self.size > self.max_bytes and len(self._entries) > 1:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        _, size = self._entries.popleft()
        self.size -= size
        self.dropped += 1

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (entry for entry, _ in self._entries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._entries[index][0]
