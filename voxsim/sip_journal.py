"""The SIP journal's writer: the SIP messages of each session, handed over by the edge, written to the store.

Messages arrive one by one (a call makes a dozen, retransmissions more) and are written in small batches, every
`flush_interval` seconds, like the session logs (`voxsim/recording.py`); the store bounds what a session keeps
(`voxsim/store/sip_messages.py`). `close()` writes what is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from voxsim.store.sip_messages import SipMessage


class SipMessageStore(Protocol):
    def append_sip_messages(self, session_id: int, messages: Sequence[SipMessage]) -> None: ...


class SipJournal:
    def __init__(self, store: SipMessageStore, flush_interval: float = 0.2) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self._pending: dict[int, list[SipMessage]] = {}
        self._flush_handle: asyncio.TimerHandle | None = None

    def sip_message(self, session_id: int, message: SipMessage) -> None:
        self._pending.setdefault(session_id, []).append(message)
        if self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._flush_handle = loop.call_later(self.flush_interval, self._timed_flush)

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for session_id, messages in pending.items():
            self.store.append_sip_messages(session_id, messages)

    def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self.flush()

    def _timed_flush(self) -> None:
        self._flush_handle = None
        self.flush()
