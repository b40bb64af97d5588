"""The SIP journal in the store: a session's messages in order, bounded like its log; and the store's change
notifications, which the console's live feed waits on."""

from __future__ import annotations

from voxsim.store import Store
from voxsim.store.sip_messages import MAX_SIP_BYTES, TRUNCATED, SipMessage


def message(text: str, direction: str = "in") -> SipMessage:
    return SipMessage(ts="2026-01-01 10:00:00.000", direction=direction, transport="udp", peer="127.0.0.1:5062",
                      sip_call_id="abc", first_line=text.split("\r\n", 1)[0], text=text)


def test_messages_are_kept_in_order_and_go_with_their_session(store: Store, apps) -> None:
    session = store.create_session(1, apps[0], "one", None, "").call_session_history_id
    store.append_sip_messages(session, [message("INVITE sip:1@x SIP/2.0\r\n\r\n"),
                                        message("SIP/2.0 100 Trying\r\n\r\n", "out")])
    assert [(m.direction, m.first_line) for m in store.sip_messages_of(session)] == [
        ("in", "INVITE sip:1@x SIP/2.0"), ("out", "SIP/2.0 100 Trying")]
    store.append_sip_messages(424242, [message("BYE sip:1@x SIP/2.0")])  # no such session: ignored
    store.wipe_resources()
    assert store.sip_messages_of(session) == []


def test_a_session_keeps_at_most_max_sip_bytes(store: Store, apps) -> None:
    session = store.create_session(1, apps[0], "one", None, "").call_session_history_id
    big = "x" * (MAX_SIP_BYTES // 3)
    store.append_sip_messages(session, [message(big) for _ in range(4)])
    store.append_sip_messages(session, [message("later")])
    kept = store.sip_messages_of(session)
    assert len(kept) == 4 and kept[-1].first_line == TRUNCATED


def test_subscribers_hear_of_each_committed_write_once(store: Store, apps) -> None:
    heard: list[int] = []
    unsubscribe = store.subscribe(lambda: heard.append(1))
    store.add_application(1, "three")  # one transaction, several statements: one notification
    assert heard == [1]
    store.list_applications(1)  # reads are not changes
    assert heard == [1]
    unsubscribe()
    store.add_application(1, "four")
    assert heard == [1]
