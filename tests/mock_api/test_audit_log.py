"""GetAuditLog through the official client: the API's own writes, not its reads."""

from __future__ import annotations

import pytest

from mock_api.methods.audit_log import is_write
from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


async def test_writes_are_logged(api):
    added = await api("add_application", application_name="audited")
    await api("get_applications")
    await api("add_user", user_name="user1", user_display_name="U", user_password="Secret-pass1",
              application_id=added["application_id"])
    await expect_api_error(api, 485, "del_application")  # a failed write changes nothing: not logged
    log = await api("get_audit_log")
    assert [e["cmd_name"] for e in log["result"]] == ["AddApplication", "AddUser"]
    first, second = log["result"]
    assert first["cmd_args"]["application_name"] == "audited"
    assert first["cmd_result"]["application_id"] == added["application_id"]
    assert first["ip"] == "127.0.0.1" and first["account_id"] == second["account_id"]
    assert second["cmd_args"]["user_password"] == "***"
    assert log["timezone"] == "Etc/GMT" and log["total_count"] == 2


async def test_filters(api):
    await api("add_application", application_name="one")
    await api("add_application", application_name="two")
    await api("add_sip_white_list_item", sip_whitelist_network="10.0.0.0/8")
    only = await api("get_audit_log", filtered_cmd="AddSipWhiteListItem")
    assert [e["cmd_name"] for e in only["result"]] == ["AddSipWhiteListItem"]
    latest = await api("get_audit_log", desc_order=True, count=1)
    assert latest["result"][0]["cmd_name"] == "AddSipWhiteListItem" and latest["total_count"] == 3
    assert (await api("get_audit_log", filtered_ip="10.9.9.9"))["result"] == []
    assert (await api("get_audit_log", filtered_admin_user_id="1"))["result"] == []
    await expect_api_error(api, 496, "get_audit_log", is_async=True)


async def test_reads_and_writes():
    assert not any(map(is_write, ("GetUsers", "SQ_GetAgents", "DownloadHistoryReport", "IsAccountPhoneNumber",
                                  "CheckAuthorizedAccountIP")))
    assert all(map(is_write, ("AddApplication", "SQ_AddQueue", "SetAccountInfo", "StartScenarios", "DeleteKey")))
