"""The history reports family: made complete, filtered, counted on download, the account's only."""

from __future__ import annotations

from voxsim.store import Store
from voxsim.store.history_reports import ReportQuery

from .conftest import code_of


def test_add_find_download(store: Store) -> None:
    first = store.add_history_report(1, "calls", "a.csv", b"1;2\r\n", filters={"output": "csv"},
                                     calculated_data={"session_count": 1}, application_id=7)
    store.add_history_report(1, "calls", "b.csv", b"", filters={}, calculated_data={})
    info = first.api()
    assert info["completed"] == info["created"] and info["file_size"] == 5
    assert info["filters"] == {"output": "csv"} and info["calculated_data"] == {"session_count": 1}
    assert info["download_count"] == 0 and "last_downloaded" not in info
    assert [r.file_name for r in store.find_history_reports(1, ReportQuery(desc_order=True))] == ["b.csv", "a.csv"]
    assert [r.file_name for r in store.find_history_reports(1, ReportQuery(application_ids=[7]))] == ["a.csv"]
    assert store.find_history_reports(1, ReportQuery(is_completed=False)) == []
    assert store.find_history_reports(1, ReportQuery(history_types=["audit"])) == []
    assert store.find_history_reports(2, ReportQuery()) == []

    downloaded = store.download_history_report(1, first.history_report_id)
    assert downloaded.content == b"1;2\r\n" and downloaded.api()["download_count"] == 1
    assert "last_downloaded" in downloaded.api()


def test_another_accounts_report(store: Store) -> None:
    report = store.add_history_report(1, "calls", "a.csv", b"", filters={}, calculated_data={})
    assert code_of(store.download_history_report, 2, report.history_report_id) == 496
    assert code_of(store.history_report, 1, report.history_report_id + 1) == 496


def test_gone_with_a_reset(store: Store) -> None:
    store.add_history_report(1, "calls", "a.csv", b"", filters={}, calculated_data={})
    store.wipe_resources()
    assert store.find_history_reports(1, ReportQuery()) == []
