"""SIP white list methods through the official client."""

import pytest
from voximplant.apiclient import VoximplantException


async def test_first_start_whitelists_loopback(voxsim_api):
    reply = await voxsim_api("get_sip_white_list")
    assert [i["sip_whitelist_network"] for i in reply["result"]] == ["127.0.0.0/8"]
    assert reply["total_count"] == 1 and reply["count"] == 1


async def test_add_set_get_del(voxsim_api):
    added = await voxsim_api("add_sip_white_list_item", sip_whitelist_network="10.1.2.3/255.255.0.0",
                             description="office")
    item_id = added["sip_whitelist_id"]
    got = await voxsim_api("get_sip_white_list", sip_whitelist_id=item_id)
    assert got["result"] == [{"sip_whitelist_id": item_id, "sip_whitelist_network": "10.1.0.0/16",
                              "description": "office"}]
    await voxsim_api("set_sip_white_list_item", sip_whitelist_id=item_id, sip_whitelist_network="192.0.2.0/24")
    got = await voxsim_api("get_sip_white_list", sip_whitelist_id=item_id)
    assert got["result"][0]["sip_whitelist_network"] == "192.0.2.0/24"
    await voxsim_api("del_sip_white_list_item", sip_whitelist_id=item_id)
    assert (await voxsim_api("get_sip_white_list"))["total_count"] == 1


async def test_paging(voxsim_api):
    for n in range(3):
        await voxsim_api("add_sip_white_list_item", sip_whitelist_network=f"198.51.100.{n}/32")
    page = await voxsim_api("get_sip_white_list", count=2, offset=1)
    assert page["total_count"] == 4 and page["count"] == 2
    assert [i["sip_whitelist_network"] for i in page["result"]] == ["198.51.100.0/32", "198.51.100.1/32"]


@pytest.mark.parametrize(("call", "kwargs", "code"), [
    ("add_sip_white_list_item", {"sip_whitelist_network": "not-a-network"}, 170),
    ("add_sip_white_list_item", {"sip_whitelist_network": "example.com/24"}, 170),
    ("del_sip_white_list_item", {"sip_whitelist_id": 99999}, 169),
    ("set_sip_white_list_item", {"sip_whitelist_id": 99999, "sip_whitelist_network": "1.2.3.4/32"}, 169),
])
async def test_errors(voxsim_api, call, kwargs, code):
    with pytest.raises(VoximplantException) as err:
        await voxsim_api(call, **kwargs)
    assert err.value.code == code
