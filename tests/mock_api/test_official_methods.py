"""mock_api/official_methods.py is the command list of the installed official Python client, group by group."""

from __future__ import annotations

import inspect
import re

from voximplant.apiclient import VoximplantAPI

from mock_api.official_methods import OFFICIAL_GROUPS, OFFICIAL_METHODS


def client_commands() -> list[str]:
    return re.findall(r"_perform_request\('(\w+)'", inspect.getsource(VoximplantAPI))


def test_the_list_is_the_official_clients_184_commands():
    assert len(OFFICIAL_METHODS) == 184 == len(set(OFFICIAL_METHODS))
    assert sorted(OFFICIAL_METHODS) == sorted(client_commands())


def test_groups_hold_each_method_once():
    flat = [name for names in OFFICIAL_GROUPS.values() for name in names]
    assert flat == list(OFFICIAL_METHODS)
    assert "GetApplications" in OFFICIAL_GROUPS["Applications"]
    assert "GetKeyValueItem" in OFFICIAL_GROUPS["KeyValueStorage"]
    assert "AddRule" in OFFICIAL_GROUPS["Rules"]
