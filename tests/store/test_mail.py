"""The local mailbox: messages kept per account, newest first, bounded (the oldest go), read back whole."""

from __future__ import annotations

import pytest

from voxsim.runtime.mail import OutgoingMail
from voxsim.store import Store
from voxsim.store import mail as mail_store


def message(account_id: int, title: str) -> OutgoingMail:
    return OutgoingMail(account_id=account_id, application_id=7, session_id=9, server="smtp", sender="a@x.org",
                        to=("b@x.org", "c@x.org"), title=title, body="body", cc=("d@x.org",), port=587, login="me")


def test_kept_per_account_newest_first_and_read_back(store: Store):
    first = store.add_mail(message(1, "one"), 250)
    store.add_mail(message(2, "other account"), 250)
    second = store.add_mail(message(1, "two"), 550, "refused", "127.0.0.1:25")
    total, page = store.list_mail(1, 10)
    assert total == 2 and [m.mail.title for m in page] == ["two", "one"]
    assert store.get_mail(1, first.mail_id) == first and store.get_mail(2, first.mail_id) is None
    kept = store.get_mail(1, second.mail_id)
    assert kept is not None and kept.mail == message(1, "two") and (kept.code, kept.error) == (550, "refused")
    assert kept.api()["to"] == ["b@x.org", "c@x.org"] and kept.api()["from"] == "a@x.org"
    assert store.list_mail(1, 1, 1)[1] == [first]


def test_bounded_per_account(store: Store, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(mail_store, "MAX_KEPT", 3)
    store.add_mail(message(2, "other"), 250)
    for n in range(5):
        store.add_mail(message(1, f"m{n}"), 250)
    total, page = store.list_mail(1, 10)
    assert total == 3 and [m.mail.title for m in page] == ["m4", "m3", "m2"]
    assert store.list_mail(2, 10)[0] == 1  # another account's messages do not count


def test_reset_empties_the_mailbox(store: Store):
    store.add_mail(message(1, "one"), 250)
    store.wipe_resources()
    assert store.list_mail(1, 10) == (0, [])
