"""The call-history store: what the scenario runtime records and what GetCallHistory reads."""

from __future__ import annotations

from datetime import datetime

import pytest

from voxsim.errors import VoxError
from voxsim.store.history import HistoryQuery

ACCOUNT = 1  # the `store` fixture's first account; ACCOUNT + 1 is the other
APP = "pbx.acc.voximplant.com"


def new_session(store, **kwargs):
    args = {"account_id": ACCOUNT, "application_id": 7, "application_name": APP, "rule_id": 3,
            "rule_name": "inbound", **kwargs}
    return store.create_session(**args)


def page(store, query=None, count=20, offset=0, account=ACCOUNT):
    total, sessions = store.find_sessions(account, query or HistoryQuery(), count, offset)
    return total, [s.call_session_history_id for s in sessions]


def test_session_life_cycle(store):
    session = new_session(store, user_id=5, custom_data="hello", initiator_address="10.0.0.9")
    sid = session.call_session_history_id
    assert (session.application_name, session.rule_name, session.user_id, session.custom_data) == (
        APP, "inbound", 5, "hello")
    assert session.duration is None and not session.finished
    datetime.strptime(session.start_date, "%Y-%m-%d %H:%M:%S")

    store.append_session_log(sid, ["Application started", "Call.Connected"])
    store.append_session_log(sid, [])
    store.append_session_log(sid, ["terminated"])
    assert store.get_session_log(sid) == "Application started\nCall.Connected\nterminated\n"

    call = store.add_call(sid, incoming=True, local_number="100", remote_number="alice", remote_number_type="user")
    assert (call.incoming, call.successful, call.duration) == (True, False, None)
    store.finish_call(call.call_id, successful=True, duration=12, end_code=200, end_description="Normal")
    store.finish_session(sid, "Normal termination", 13, None)

    done = store.get_session(sid)
    assert (done.finished, done.finish_reason, done.duration, done.custom_data) == (
        True, "Normal termination", 13, "hello")
    api = done.api(log_file_url="http://x/log", calls=store.calls_of([sid])[sid])
    assert api["calls"][0]["end_reason"] == {"code": 200, "description": "Normal"}
    assert api["calls"][0]["duration"] == 12 and api["calls"][0]["successful"] is True
    assert api["initiator_address"] == "10.0.0.9" and api["log_file_url"] == "http://x/log"

    store.finish_session(sid, "Normal termination", 13, "changed")
    assert store.get_session(sid).custom_data == "changed"


def test_unknown_session_and_empty_log(store):
    with pytest.raises(VoxError) as err:
        store.get_session(424242)
    assert err.value.code == 150
    assert store.get_session_log(424242) == ""
    assert store.calls_of([]) == {}


def test_find_sessions_filters_order_and_paging(store):
    a = new_session(store, user_id=1, custom_data="x").call_session_history_id
    b = new_session(store, application_id=8, application_name="crm.acc.voximplant.com",
                    rule_name="out").call_session_history_id
    c = new_session(store, user_id=2).call_session_history_id
    new_session(store, account_id=ACCOUNT + 1)  # another account's session is never listed
    store.db.execute("UPDATE call_sessions SET start_date = '2024-01-01 10:00:00' WHERE call_session_history_id = ?",
                     (a,))
    store.add_call(b, True, "100", "+15550001", "pstn")
    store.add_call(c, False, "200", "bob", "user")
    store.finish_session(a, "Normal termination", 5)
    store.finish_session(c, "Timeout", 60)

    assert page(store) == (3, [a, b, c])
    assert page(store, HistoryQuery(desc_order=True)) == (3, [c, b, a])
    assert page(store, count=1, offset=1) == (3, [b])
    assert page(store, HistoryQuery(from_date=datetime(2024, 1, 1, 10, 0, 1))) == (2, [b, c])
    assert page(store, HistoryQuery(to_date=datetime(2024, 1, 1, 10))) == (1, [a])
    assert page(store, HistoryQuery(session_ids=[a, c, 999])) == (2, [a, c])
    assert page(store, HistoryQuery(application_id=8)) == (1, [b])
    assert page(store, HistoryQuery(application_names=["CRM.acc.voximplant.com"])) == (1, [b])
    assert page(store, HistoryQuery(user_ids=[1, 2])) == (2, [a, c])
    assert page(store, HistoryQuery(rule_name="out")) == (1, [b])
    assert page(store, HistoryQuery(remote_numbers=["+15550001", "nobody"])) == (1, [b])
    assert page(store, HistoryQuery(local_numbers=["200"])) == (1, [c])
    assert page(store, HistoryQuery(custom_data="x")) == (1, [a])
    assert page(store, HistoryQuery(min_duration=10)) == (1, [c])
    assert page(store, HistoryQuery(max_duration=10)) == (1, [a])
    assert page(store, HistoryQuery(session_ids=[])) == (0, [])


def test_reset_wipes_history(store):
    sid = new_session(store).call_session_history_id
    store.append_session_log(sid, ["x"])
    store.add_call(sid, True, "1", "2")
    store.wipe_resources()
    assert page(store) == (0, [])
    assert store.get_session_log(sid) == ""
