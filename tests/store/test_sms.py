"""The SMS family: segments, the per-account bound, the histories' filters."""

from __future__ import annotations

from voxsim.store import Store, sms
from voxsim.store.sms import SmsQuery, fragments_of

from .conftest import code_of


def test_fragments() -> None:
    assert fragments_of("") == 1
    assert fragments_of("a" * 160) == 1
    assert fragments_of("a" * 161) == 2  # 153 septets a segment once split
    assert fragments_of("€" * 80) == 1 and fragments_of("€" * 81) == 2  # extension characters take two septets
    assert fragments_of("ж" * 70) == 1 and fragments_of("ж" * 71) == 2
    assert fragments_of("😀" * 35) == 1  # UTF-16 code units


def test_control_sms(store: Store) -> None:
    store.attach_phone_numbers(1, ["12125550100", "442079460123"])
    assert store.sms_number(1, "12125550100") == (10000, True, False)
    assert store.control_sms(1, "12125550100", True)
    assert store.sms_number(1, "12125550100") == (10000, True, True)
    assert store.get_phone_number(1, phone_number="12125550100").sms_enabled
    assert code_of(store.control_sms, 1, "442079460123", True) == 528
    assert not store.control_sms(2, "12125550100", True)  # another account's
    store.deactivate_phone_numbers(1, [10000])
    assert store.sms_number(1, "12125550100") is None
    store.attach_phone_numbers(1, ["12125550100"])
    assert store.sms_number(1, "12125550100") == (10000, True, False)  # a number attached again starts off


def test_outbox_is_bounded_per_account(store: Store, monkeypatch) -> None:
    monkeypatch.setattr(sms, "MAX_KEPT", 3)
    for i in range(5):
        store.add_sms(1, "sms", "12125550100", [f"1415555010{i}"], f"m{i}", False)
    store.add_sms(2, "a2p", "12125550100", ["14155550100"], "other", True)
    total, messages = store.list_sms(1, 10)
    assert total == 3 and [m.text for m in messages] == ["m4", "m3", "m2"]
    assert store.list_sms(2, 10)[0] == 1


def test_history_filters(store: Store) -> None:
    first, second = store.add_sms(1, "a2p", "12125550100", ["14155550100", "14155550101"], "hi", True)
    store.add_sms(1, "sms", "12125550100", ["14155550100"], "p2p", False)
    assert store.sms_history(1, SmsQuery("a2p"), 10, 0)[0] == 2
    assert [m.message_id for m in store.sms_history(1, SmsQuery("a2p", [second.message_id]), 10, 0)[1]] \
        == [second.message_id]
    assert store.sms_history(1, SmsQuery("a2p", destination_number="14155550100"), 10, 0)[1] == [first]
    assert store.sms_history(1, SmsQuery("sms"), 10, 0)[1][0].history()["direction"] == "OUT"
    assert "text" not in store.sms_history(1, SmsQuery("sms"), 10, 0)[1][0].history()
