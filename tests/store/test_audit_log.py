"""The audit log family: kept per account, filtered, bounded."""

from __future__ import annotations

from voxsim.store import Store, audit_log
from voxsim.store.audit_log import AuditQuery


def test_add_and_find(store: Store) -> None:
    store.add_audit_entry(1, "10.0.0.1", "AddApplication", {"application_name": "a"}, {"application_id": 5})
    store.add_audit_entry(1, "10.0.0.2", "DelApplication", {"application_id": "5"}, {})
    store.add_audit_entry(2, "10.0.0.1", "AddUser", {}, {})
    total, entries = store.find_audit_entries(1, AuditQuery(), 20, 0)
    assert total == 2 and [e.cmd_name for e in entries] == ["AddApplication", "DelApplication"]
    first = entries[0].api()
    assert first["cmd_args"] == {"application_name": "a"} and first["cmd_result"] == {"application_id": 5}
    assert "cmd_result" not in entries[1].api()
    assert store.find_audit_entries(1, AuditQuery(ips=["10.0.0.2"]), 20, 0)[0] == 1
    assert store.find_audit_entries(1, AuditQuery(cmd_names=["AddUser"]), 20, 0)[0] == 0
    total, [latest] = store.find_audit_entries(1, AuditQuery(desc_order=True), 1, 0)
    assert (total, latest.cmd_name) == (2, "DelApplication")


def test_bounded(store: Store, monkeypatch) -> None:
    monkeypatch.setattr(audit_log, "KEPT_ENTRIES", 3)
    for n in range(5):
        store.add_audit_entry(1, "ip", f"Cmd{n}", {}, {})
    total, entries = store.find_audit_entries(1, AuditQuery(), 20, 0)
    assert total == 3 and entries[0].cmd_name == "Cmd2"
