"""The SIP journal: every SIP message of a session's legs, as it went over the wire (for the console's ladder).

The edge hands each message to `voxsim.sip_journal.SipJournal`, which writes them here in batches. A session
keeps at most `MAX_SIP_BYTES` of message text, like its log: past that, one `journal truncated` row says so
and later messages are dropped. Rows go with their session (ON DELETE CASCADE) and with `/_voxsim/reset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voxsim.store.base import StoreBase

MAX_SIP_BYTES = 2 * 1024 * 1024
TRUNCATED = "journal truncated"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sip_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    call_session_history_id INTEGER NOT NULL
        REFERENCES call_sessions(call_session_history_id) ON DELETE CASCADE,
    ts TEXT NOT NULL,
    direction TEXT NOT NULL,
    transport TEXT NOT NULL,
    peer TEXT NOT NULL,
    sip_call_id TEXT NOT NULL,
    first_line TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sip_messages_session ON sip_messages(call_session_history_id, seq);
"""


@dataclass(frozen=True)
class SipMessage:
    """One SIP message: `ts` (UTC `YYYY-MM-DD HH:MM:SS.mmm`), `direction` "in" (to voxsim) or "out", the
    `transport` and `peer` ("host:port") it went over, its Call-ID, first line and full text."""

    ts: str
    direction: str
    transport: str
    peer: str
    sip_call_id: str
    first_line: str
    text: str


class SipMessagesMixin(StoreBase):
    def append_sip_messages(self, session_id: int, messages: Sequence[SipMessage]) -> None:
        """Adds messages to a session's journal, up to `MAX_SIP_BYTES` of text; an unknown session is ignored
        (its row went with a reset while the messages were on their way)."""
        if not messages or self.db.scalar("SELECT 1 FROM call_sessions WHERE call_session_history_id = ?",
                                          (session_id,)) is None:
            return
        used = self.db.scalar("SELECT COALESCE(SUM(LENGTH(text)), 0) FROM sip_messages "
                              "WHERE call_session_history_id = ?", (session_id,))
        if self.db.scalar("SELECT 1 FROM sip_messages WHERE call_session_history_id = ? AND first_line = ?",
                          (session_id, TRUNCATED)) is not None:
            return
        rows = []
        for message in messages:
            used += len(message.text)
            if used > MAX_SIP_BYTES:
                rows.append((session_id, message.ts, message.direction, "", "", "", TRUNCATED,
                             f"this session's SIP messages passed {MAX_SIP_BYTES} bytes: the later ones are not kept"))
                break
            rows.append((session_id, message.ts, message.direction, message.transport, message.peer,
                         message.sip_call_id, message.first_line, message.text))
        with self.db.tx():
            self.db.conn.executemany(
                "INSERT INTO sip_messages (call_session_history_id, ts, direction, transport, peer, sip_call_id, "
                "first_line, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def sip_messages_of(self, session_id: int) -> list[SipMessage]:
        rows = self.db.all("SELECT ts, direction, transport, peer, sip_call_id, first_line, text FROM sip_messages "
                           "WHERE call_session_history_id = ? ORDER BY seq", (session_id,))
        return [SipMessage(**row) for row in rows]
