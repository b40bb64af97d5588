"""SIP registration methods through the official client, and the store API the SIP side will use."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

import pytest
from voximplant.apiclient import VoximplantException

from voxsim.store import sip_registrations as regs_module
from voxsim.store.sip_registrations import NOT_RUNNING, WAITS_FOR_USER, parse_status_codes, validate_proxy


@pytest.fixture
async def world(voxsim_emulator):
    """An application with a rule and two users, and a second application with a user."""
    await voxsim_emulator.sip_registrations.stop()  # these tests play the SIP side themselves
    store, acc = voxsim_emulator.store, voxsim_emulator.account
    app = store.add_application(acc.account_id, "pbx")
    other = store.add_application(acc.account_id, "other")
    return SimpleNamespace(
        store=store, account=acc, app=app, other=other,
        rule=store.add_rule(acc.account_id, app.application_id, "inbound", ".*"),
        alice=store.add_user(acc.account_id, app.application_id, "alice", "Alice", "Secret123"),
        bob=store.add_user(acc.account_id, app.application_id, "bob", "Bob", "Secret123"),
        carol=store.add_user(acc.account_id, other.application_id, "carol", "Carol", "Secret123"),
    )


async def create(api, **kwargs):
    return (await api("create_sip_registration", **{"sip_username": "100", "proxy": "pbx.example.com", **kwargs}))


async def get_one(api, reg_id):
    reply = await api("get_sip_registrations", sip_registration_id=reg_id)
    assert reply["count"] == 1
    return reply["result"][0]


async def ids(api, **filters):
    reply = await api("get_sip_registrations", **filters)
    return [r["sip_registration_id"] for r in reply["result"]]


async def test_create_returns_every_field_and_says_it_is_not_registered(voxsim_api, voxsim_emulator):
    await voxsim_emulator.sip_registrations.stop()  # what a record says before the client registers it
    before = int(time.time())
    reply = await create(voxsim_api, sip_username="alice", proxy="sip:pbx.example.com:5070;transport=tcp",
                         auth_user="alice-auth", outbound_proxy="10.0.0.1:5060", password="s3cret")
    assert reply["result"] == 1
    assert reply["account_info"] == {"account_id": voxsim_emulator.account.account_id, "frozen": False,
                                     "balance": 0.0, "currency": "USD"}
    got = await voxsim_api("get_sip_registrations")
    assert got["count"] == 1 and got["total_count"] == 1
    reg = got["result"][0]
    purchase = reg.pop("purchase_date")
    renewal = reg.pop("next_subscription_renewal")
    assert before <= reg.pop("last_updated") <= time.time() + 1
    assert reg == {
        "sip_registration_id": reply["sip_registration_id"], "sip_username": "alice",
        "proxy": "sip:pbx.example.com:5070;transport=tcp", "auth_user": "alice-auth",
        "outbound_proxy": "10.0.0.1:5060", "successful": False, "in_progress": False,
        "error_message": NOT_RUNNING, "deactivated": False, "is_persistent": True,
        "subscription_price": "0.0000",
    }  # no password, no status_code, no binding
    assert isinstance(purchase, dt.datetime) and abs(purchase.timestamp() - time.time()) < 5
    assert isinstance(renewal, dt.date) and 28 <= (renewal - purchase.date()).days <= 31


async def test_create_bound_by_names_and_non_persistent(voxsim_api, world):
    reply = await create(voxsim_api, application_name="pbx", rule_name="inbound")
    reg = await get_one(voxsim_api, reply["sip_registration_id"])
    assert (reg["application_id"], reg["application_name"]) == (world.app.application_id, world.app.application_name)
    assert (reg["rule_id"], reg["rule_name"]) == (world.rule.rule_id, "inbound")

    reply = await create(voxsim_api, is_persistent=False, application_id=world.app.application_id,
                         user_name="alice")
    reg = await get_one(voxsim_api, reply["sip_registration_id"])
    assert reg["is_persistent"] is False and reg["error_message"] == WAITS_FOR_USER
    assert (reg["user_id"], reg["user_name"]) == (world.alice.user_id, "alice")


async def test_a_rule_id_alone_names_its_application(voxsim_api, world):
    reply = await create(voxsim_api, rule_id=world.rule.rule_id)
    reg = await get_one(voxsim_api, reply["sip_registration_id"])
    assert reg["application_id"] == world.app.application_id and reg["rule_id"] == world.rule.rule_id


async def test_update_changes_fields_binding_and_resets_status(voxsim_api, world):
    reg_id = (await create(voxsim_api))["sip_registration_id"]
    world.store.update_sip_registration_status(reg_id, False, 403, "Forbidden")
    assert (await get_one(voxsim_api, reg_id))["status_code"] == 403

    await voxsim_api("update_sip_registration", sip_registration_id=reg_id, sip_username="200",
                     proxy="sips:[2001:db8::1]:5061", auth_user="u200", outbound_proxy="edge.example.com",
                     password="new", application_id=world.app.application_id, user_id=world.bob.user_id)
    reg = await get_one(voxsim_api, reg_id)
    assert (reg["sip_username"], reg["proxy"], reg["auth_user"], reg["outbound_proxy"]) == (
        "200", "sips:[2001:db8::1]:5061", "u200", "edge.example.com")
    assert "status_code" not in reg and reg["error_message"] == NOT_RUNNING  # the old status no longer applies
    assert (reg["user_id"], reg["user_name"]) == (world.bob.user_id, "bob")
    assert [r.password for r in world.store.active_sip_registrations() if r.sip_registration_id == reg_id] == ["new"]

    # A rule without an application keeps the registration's current one; the binding is replaced.
    await voxsim_api("update_sip_registration", sip_registration_id=reg_id, rule_name="inbound")
    reg = await get_one(voxsim_api, reg_id)
    assert reg["rule_name"] == "inbound" and "user_id" not in reg


async def test_delete(voxsim_api):
    reg_id = (await create(voxsim_api))["sip_registration_id"]
    assert (await voxsim_api("delete_sip_registration", sip_registration_id=reg_id))["result"] == 1
    assert (await voxsim_api("get_sip_registrations"))["result"] == []
    with pytest.raises(VoximplantException) as err:
        await voxsim_api("delete_sip_registration", sip_registration_id=reg_id)
    assert err.value.code == 275


async def test_bind_unbind_and_one_registration_per_user(voxsim_api, world):
    first = (await create(voxsim_api))["sip_registration_id"]
    second = (await create(voxsim_api, sip_username="101"))["sip_registration_id"]
    app_id = world.app.application_id

    await voxsim_api("bind_sip_registration", sip_registration_id=first, application_id=app_id,
                     rule_id=world.rule.rule_id)
    reg = await get_one(voxsim_api, first)
    assert (reg["application_id"], reg["rule_id"]) == (app_id, world.rule.rule_id)

    await voxsim_api("bind_sip_registration", sip_registration_id=first, application_id=app_id,
                     user_id=world.alice.user_id)
    await voxsim_api("bind_sip_registration", sip_registration_id=second, application_name="pbx",
                     user_name="alice", bind=True)
    assert "user_id" not in await get_one(voxsim_api, first)  # alice moved to the second registration
    assert (await get_one(voxsim_api, second))["user_id"] == world.alice.user_id

    await voxsim_api("bind_sip_registration", user_id=world.alice.user_id, bind=False)
    reg = await get_one(voxsim_api, second)
    assert "user_id" not in reg and reg["application_id"] == app_id  # only the user let go

    await voxsim_api("bind_sip_registration", sip_registration_id=second, bind=False)
    reg = await get_one(voxsim_api, second)
    assert not {"application_id", "application_name", "rule_id", "user_id"} & reg.keys()


async def test_bindings_follow_renames_and_deletions(voxsim_api, world):
    reg_id = (await create(voxsim_api, application_id=world.app.application_id, rule_id=world.rule.rule_id,
                           user_id=world.alice.user_id))["sip_registration_id"]
    acc = world.account.account_id
    world.store.set_rule_info(acc, world.rule.rule_id, {"rule_name": "renamed"})
    assert (await get_one(voxsim_api, reg_id))["rule_name"] == "renamed"
    world.store.del_applications(acc, application_ids=[world.app.application_id])
    reg = await get_one(voxsim_api, reg_id)
    assert not {"application_id", "rule_id", "user_id"} & reg.keys()
    assert await ids(voxsim_api, is_bound_to_application=False) == [reg_id]


async def test_filters(voxsim_api, world):
    app_id, other_id = world.app.application_id, world.other.application_id
    ok200 = (await create(voxsim_api, sip_username="alpha", application_id=app_id,
                          rule_id=world.rule.rule_id))["sip_registration_id"]
    fail403 = (await create(voxsim_api, sip_username="beta", proxy="sip.example.net",
                            application_id=app_id, user_id=world.alice.user_id))["sip_registration_id"]
    pending = (await create(voxsim_api, sip_username="gamma", is_persistent=False, application_id=other_id,
                            user_id=world.carol.user_id))["sip_registration_id"]
    unbound = (await create(voxsim_api, sip_username="alphabet"))["sip_registration_id"]
    world.store.update_sip_registration_status(ok200, True, 200)
    world.store.update_sip_registration_status(fail403, False, 403, "Forbidden")
    world.store.update_sip_registration_status(pending, False, 408, "Request Timeout", in_progress=True)
    everyone = [ok200, fail403, pending, unbound]

    assert await ids(voxsim_api) == everyone
    assert await ids(voxsim_api, sip_registration_id=fail403) == [fail403]
    assert await ids(voxsim_api, sip_username="ALPHA") == [ok200, unbound]  # a part match
    assert await ids(voxsim_api, status_code="200;400:499") == [ok200, fail403, pending]
    assert await ids(voxsim_api, status_code="403") == [fail403]
    assert await ids(voxsim_api, status_code="500:599") == []
    assert await ids(voxsim_api, successful=True) == [ok200]
    assert await ids(voxsim_api, successful=False) == [fail403, pending, unbound]
    assert await ids(voxsim_api, in_progress=True) == [pending]
    assert await ids(voxsim_api, is_persistent=False) == [pending]
    assert await ids(voxsim_api, deactivated=False) == everyone
    assert await ids(voxsim_api, deactivated=True) == []
    assert await ids(voxsim_api, is_bound_to_application=True) == [ok200, fail403, pending]
    assert await ids(voxsim_api, is_bound_to_application=False) == [unbound]
    assert await ids(voxsim_api, application_id=[app_id, other_id]) == [ok200, fail403, pending]
    assert await ids(voxsim_api, application_name=["other"]) == [pending]
    assert await ids(voxsim_api, application_name=[world.app.application_name, "nosuchapp"]) == [ok200, fail403]
    assert await ids(voxsim_api, rule_id=[world.rule.rule_id]) == [ok200]
    assert await ids(voxsim_api, rule_name=["inbound"]) == [ok200]
    assert await ids(voxsim_api, user_id=[world.alice.user_id, world.carol.user_id]) == [fail403, pending]
    assert await ids(voxsim_api, proxy=["SIP.example.net"]) == [fail403]
    assert await ids(voxsim_api, successful=False, is_bound_to_application=True) == [fail403, pending]


async def test_status_reported_by_the_sip_side(voxsim_api, world):
    reg_id = (await create(voxsim_api, password="pw"))["sip_registration_id"]
    world.store.db.execute("UPDATE sip_registrations SET last_updated = 0")
    world.store.update_sip_registration_status(reg_id, True, 200)
    reg = await get_one(voxsim_api, reg_id)
    assert (reg["successful"], reg["status_code"], reg["in_progress"]) == (True, 200, False)
    assert "error_message" not in reg and reg["last_updated"] >= time.time() - 5
    active = world.store.active_sip_registrations()
    assert [(r.sip_registration_id, r.password) for r in active] == [(reg_id, "pw")]
    world.store.db.execute("UPDATE sip_registrations SET deactivated = 1")
    assert world.store.active_sip_registrations() == []


async def test_paging(voxsim_api):
    created = [(await create(voxsim_api, sip_username=f"u{n}"))["sip_registration_id"] for n in range(3)]
    page = await voxsim_api("get_sip_registrations", count=2, offset=1)
    assert page["count"] == 2 and page["total_count"] == 3
    assert [r["sip_registration_id"] for r in page["result"]] == created[1:]


async def test_changes_notify_the_sip_registration_client(voxsim_api, voxsim_emulator, world):
    seen: list[str] = []

    async def changed():
        seen.append("changed")

    voxsim_emulator.sip_registrations_changed = changed
    reg_id = (await create(voxsim_api))["sip_registration_id"]
    await voxsim_api("update_sip_registration", sip_registration_id=reg_id, password="x")
    await voxsim_api("bind_sip_registration", sip_registration_id=reg_id, application_id=world.app.application_id)
    await voxsim_api("delete_sip_registration", sip_registration_id=reg_id)
    await voxsim_api("get_sip_registrations")
    assert len(seen) == 4


async def test_limit(voxsim_api, monkeypatch):
    monkeypatch.setattr(regs_module, "SIP_REGISTRATION_LIMIT_PER_ACCOUNT", 2)
    await create(voxsim_api)
    await create(voxsim_api)
    with pytest.raises(VoximplantException) as err:
        await create(voxsim_api)
    assert err.value.code == 272


ERRORS = [
    ("create_sip_registration", {"sip_username": "bad user", "proxy": "pbx.example.com"}, 273),
    ("create_sip_registration", {"sip_username": "a@b", "proxy": "pbx.example.com"}, 273),
    ("create_sip_registration", {"sip_username": "100", "proxy": "http://pbx.example.com"}, 274),
    ("create_sip_registration", {"sip_username": "100", "proxy": "pbx.example.com:70000"}, 274),
    ("create_sip_registration", {"sip_username": "100", "proxy": "pbx.example.com;transport=carrier-pigeon"}, 274),
    ("create_sip_registration", {"sip_username": "100", "proxy": "pbx", "outbound_proxy": "x y"}, 274),
    ("create_sip_registration", {"sip_username": "100", "proxy": "pbx", "application_id": 99999}, 116),
    ("create_sip_registration", {"sip_username": "100", "proxy": "pbx", "application_name": "nope"}, 558),
    ("create_sip_registration", {"sip_username": "100", "proxy": "pbx", "rule_id": 99999}, 147),
    ("create_sip_registration", {"sip_username": "100", "proxy": "pbx", "application_name": "pbx",
                                 "rule_name": "nope"}, 156),
    ("create_sip_registration", {"sip_username": "100", "proxy": "pbx", "application_name": "pbx",
                                 "user_id": 99999}, 117),
    ("create_sip_registration", {"sip_username": "100", "proxy": "pbx", "user_name": "alice"}, 485),
    ("update_sip_registration", {"sip_registration_id": 99999, "proxy": "pbx"}, 275),
    ("get_sip_registrations", {"sip_registration_id": "abc"}, 275),
    ("get_sip_registrations", {"status_code": "4xx"}, 496),
    ("get_sip_registrations", {"status_code": "499:400"}, 496),
    ("bind_sip_registration", {"application_name": "pbx"}, 485),
    ("bind_sip_registration", {"sip_registration_id": 99999, "application_name": "pbx"}, 275),
    ("bind_sip_registration", {"bind": False}, 485),
    ("delete_sip_registration", {"sip_registration_id": 99999}, 275),
]


async def test_errors(voxsim_api, world):
    # One emulator for every case: starting one per case would cost more than the calls.
    for call, kwargs, code in ERRORS:
        with pytest.raises(VoximplantException) as err:
            await voxsim_api(call, **kwargs)
        assert err.value.code == code, (call, kwargs, err.value)


async def test_a_user_of_another_application_is_refused(voxsim_api, world):
    reg_id = (await create(voxsim_api))["sip_registration_id"]
    with pytest.raises(VoximplantException) as err:
        await voxsim_api("bind_sip_registration", sip_registration_id=reg_id,
                         application_id=world.app.application_id, user_id=world.carol.user_id)
    assert err.value.code == 393


@pytest.mark.parametrize("proxy", ["pbx.example.com", "pbx.example.com:5060", "10.0.0.1", "10.0.0.1:5080",
                                   "sip:pbx.example.com", "SIPS:pbx.example.com:5061", "[::1]", "[2001:db8::1]:5062",
                                   "pbx.example.com;transport=TCP", "sip:10.0.0.1:5060;transport=udp", "localhost"])
def test_valid_proxies(proxy):
    assert validate_proxy(f" {proxy} ") == proxy


@pytest.mark.parametrize("proxy", ["", "http://pbx", "pbx:0", "pbx:port", "-pbx", "pbx..com", "[::1", "[nope]:5060",
                                   "pbx;lr", "user@pbx", "pbx:5060:5061", "::1"])
def test_invalid_proxies(proxy):
    with pytest.raises(regs_module.VoxError) as err:
        validate_proxy(proxy)
    assert err.value.code == 274


def test_status_code_ranges():
    assert parse_status_codes("200;400:499") == [(200, 200), (400, 499)]
    assert parse_status_codes(" 408 ; ") == [(408, 408)]
