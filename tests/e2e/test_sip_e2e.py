"""The SIP edge end to end: SIPp (Debian sip-tester) as the PBX, trunk, phone, callee and registrar, the running
emulator on loopback with ephemeral ports, resources made with the official client, scenarios in V8.

Each SIPp scenario lives in tests/e2e/sipp/; SIPp's exit code and counters say whether the far end saw what it
expected (headers included, checked with `ereg ... check_it`), the scenario's log says what VoxEngine saw.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sip_edge.transport import free_port_pair
from voxsim.app import Emulator
from voxsim.runtime import Session

pytestmark = pytest.mark.sipp

PASSWORD = "Secret123"

ANSWER_AND_HANG_UP = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write('alerting ' + JSON.stringify({callerid: e.callerid, displayName: e.displayName,
    destination: e.destination, fromURI: e.fromURI, toURI: e.toURI, headers: e.headers,
    clientType: e.call.clientType()}));
  e.call.addEventListener(CallEvents.Connected, () => setTimeout(() => e.call.hangup({'X-Bye': 'scenario'}), 300));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer({'X-Answer': 'from-scenario'});
});
"""

WAIT_FOR_THE_CALLER = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.handleTones(true);
  e.call.addEventListener(CallEvents.ToneReceived, (t) => Logger.write('tone ' + t.tone + ' type ' + t.type));
  e.call.addEventListener(CallEvents.Disconnected, (d) => {
    Logger.write('disconnected ' + d.internalCode + ' ' + d.reason);
    VoxEngine.terminate();
  });
  if (e.destination === 'ring') e.call.ring(); else e.call.answer();
});
"""


async def provision(api: Any, script: str, *, app_name: str = "trunk", pattern: str = ".*") -> dict[str, Any]:
    """An application with one rule running `script`, made through the official client."""
    app = await api("add_application", application_name=app_name)
    app_id = app["application_id"]
    scenario = await api("add_scenario", scenario_name=f"{app_name}_scenario", scenario_script=script,
                         application_id=app_id)
    rule = await api("add_rule", rule_name=f"{app_name}_rule", rule_pattern=pattern, application_id=app_id,
                     scenario_id=scenario["scenario_id"])
    return {"application_id": app_id, "rule_id": rule["rule_id"], "domain": app["application_name"]}


def sip_remote(emulator: Emulator) -> str:
    return f"127.0.0.1:{emulator.listeners['sip_udp']['port']}"


def sessions(emulator: Emulator) -> list[Session]:
    runtime = emulator.runtime
    assert runtime is not None
    found = {s.session_id: s for s in [*runtime.live_sessions(), *runtime._finished.values()]}
    return [found[k] for k in sorted(found)]


def logged(session: Session, prefix: str) -> list[str]:
    return [line[24:] for line in session.log.lines if line[24:].startswith(prefix)]


async def finished(emulator: Emulator, count: int = 1, timeout: float = 5.0) -> list[Session]:
    for _ in range(int(timeout / 0.05)):
        done = [s for s in sessions(emulator) if s.finished]
        if len(done) >= count:
            return done
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} session(s) did not finish: {[s.snapshot()['state'] for s in sessions(emulator)]}")


async def history(api: Any, session_id: int) -> dict[str, Any]:
    now = datetime.now(UTC).replace(tzinfo=None)
    reply = await api("get_call_history", from_date=now - timedelta(hours=1), to_date=now + timedelta(hours=1),
                      call_session_history_id=session_id, with_calls=True)
    return reply["result"][0]


# ------------------------------------------------------------------------------------------ trunk calls in


async def test_trunk_call_answered_by_a_scenario_with_x_headers_both_ways(emulator, api, sipp) -> None:
    app = await provision(api, ANSWER_AND_HANG_UP)
    result = await sipp.run("uac_call.xml", "-s", "1001", remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "to_uri": f"1001@{app['domain']}"})
    assert result.ok, result.stderr[-2000:]
    session, = await finished(emulator)
    alerting = json.loads(logged(session, "alerting ")[0][len("alerting "):])
    assert alerting == {"callerid": "+15557654321", "displayName": "SIPp PBX", "destination": "1001",
                        "fromURI": alerting["fromURI"], "toURI": f"sip:1001@{app['domain']}",
                        "headers": {"X-Trunk": "sipp-1", "User-to-User": "00ff"}, "clientType": "sip"}
    assert alerting["fromURI"].startswith("sip:+15557654321@127.0.0.1:")
    record = await history(api, session.session_id)
    assert record["finish_reason"] == "Normal termination" and record["rule_name"] == "trunk_rule"
    call, = record["calls"]
    assert (call["incoming"], call["successful"], call["local_number"], call["remote_number"]) == (
        True, True, "1001", "+15557654321")
    assert call["remote_number_type"] == "sip"


async def test_info_dtmf_reaches_tone_received_and_the_caller_hangs_up(emulator, api, sipp) -> None:
    app = await provision(api, WAIT_FOR_THE_CALLER)
    result = await sipp.run("uac_info_bye.xml", "-s", "2002", remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "to_uri": f"2002@{app['domain']}"})
    assert result.ok, result.stderr[-2000:]
    session, = await finished(emulator)
    assert logged(session, "tone ") == ["tone 5 type 3"]
    assert logged(session, "disconnected ") == ["disconnected 200 Normal call clearing"]


async def test_cancel_before_answer(emulator, api, sipp) -> None:
    app = await provision(api, WAIT_FOR_THE_CALLER)
    result = await sipp.run("uac_cancel.xml", "-s", "ring", remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "to_uri": f"ring@{app['domain']}"})
    assert result.ok, result.stderr[-2000:]
    session, = await finished(emulator)
    assert logged(session, "disconnected ") == ["disconnected 487 Request Terminated"]
    call, = (await history(api, session.session_id))["calls"]
    assert call["successful"] is False


async def test_a_caller_outside_the_white_list_gets_403(emulator, api, sipp) -> None:
    app = await provision(api, ANSWER_AND_HANG_UP)
    for item in (await api("get_sip_white_list"))["result"]:
        await api("del_sip_white_list_item", sip_whitelist_id=item["sip_whitelist_id"])
    result = await sipp.run("uac_refused.xml", "-s", "1001", remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "caller": "pbx@127.0.0.1"})
    assert result.ok, result.stderr[-2000:]
    assert result.received("SIP/2.0 403")
    assert sessions(emulator) == []


async def test_no_matching_rule_gets_404(emulator, api, sipp) -> None:
    app = await provision(api, ANSWER_AND_HANG_UP, pattern=r"\d{4}")
    result = await sipp.run("uac_refused.xml", "-s", "12", remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "caller": "pbx@127.0.0.1"})
    assert result.ok, result.stderr[-2000:]
    assert result.received("SIP/2.0 404")
    assert sessions(emulator) == []


# ------------------------------------------------------------------------------------------ users


async def test_user_registration_challenge_wrong_password_and_success(emulator, api, sipp) -> None:
    app = await provision(api, ANSWER_AND_HANG_UP, app_name="phones")
    await api("add_user", user_name="alice", user_display_name="Alice", user_password=PASSWORD,
              application_id=app["application_id"])
    keys = {"domain": app["domain"]}
    wrong = await sipp.run("register.xml", "-s", "alice", "-au", "alice", "-ap", "nope",
                           remote=sip_remote(emulator), keys=keys)
    assert wrong.ok, wrong.stderr[-2000:]
    assert wrong.received("SIP/2.0 401") and wrong.received("SIP/2.0 403")
    right = await sipp.run("register.xml", "-s", "alice", "-au", "alice", "-ap", PASSWORD,
                           remote=sip_remote(emulator), keys=keys)
    assert right.ok and right.received("SIP/2.0 200")
    assert emulator.sip is not None and emulator.sip.registrar is not None
    binding, = emulator.sip.registrar.contacts(app["application_id"], "alice")
    assert binding.contact.startswith("sip:alice@127.0.0.1:")


async def test_a_user_call_is_challenged_407_then_routed(emulator, api, sipp) -> None:
    app = await provision(api, ANSWER_AND_HANG_UP, app_name="office")
    await api("add_user", user_name="bob", user_display_name="Bob", user_password=PASSWORD,
              application_id=app["application_id"])
    result = await sipp.run("user_call.xml", "-s", "bob", "-au", "bob", "-ap", PASSWORD, remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "dialed": "5000"})
    assert result.ok, result.stderr[-2000:]
    assert result.received("SIP/2.0 407")
    session, = await finished(emulator)
    alerting = json.loads(logged(session, "alerting ")[0][len("alerting "):])
    assert (alerting["callerid"], alerting["destination"], alerting["clientType"]) == ("bob", "5000", "user")
    call, = (await history(api, session.session_id))["calls"]
    assert call["remote_number_type"] == "user" and call["remote_number"] == "bob"


# ------------------------------------------------------------------------------------------ calls out


def dialing(target: str, params: str = "{}", *, hang_up_after: int | None = None) -> str:
    hang = f"setTimeout(() => call.hangup(), {hang_up_after});" if hang_up_after else ""
    return f"""
      VoxEngine.addEventListener(AppEvents.Started, () => {{
        const data = JSON.parse(VoxEngine.customData() || '{{}}');
        const call = VoxEngine.callSIP({target}, {params});
        for (const name of ['Ringing', 'Connected', 'Failed', 'Disconnected'])
          call.addEventListener(CallEvents[name], (e) => Logger.write('event ' + e.name + ' ' +
            JSON.stringify({{code: e.code || e.internalCode, headers: e.headers}})));
        call.addEventListener(CallEvents.Connected, () => {{ {hang} }});
        call.addEventListener(CallEvents.Failed, () => VoxEngine.terminate());
        call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
      }});"""


async def test_call_sip_to_a_sipp_uas_that_hangs_up(emulator, api, sipp) -> None:
    port = free_port_pair()
    callee = await sipp.start("uas_bye.xml", port=port)
    app = await provision(api, dialing(f"'sip:1001@127.0.0.1:{port}'", "{headers: {'X-Job': '42'}}"), app_name="out")
    started = await api("start_scenarios", rule_id=app["rule_id"])
    result = await callee.result()
    assert result.ok, result.stderr[-2000:]
    session, = await finished(emulator)
    assert session.session_id == started["call_session_history_id"]
    assert logged(session, "event ") == [
        'event Call.Ringing {"headers":{}}', 'event Call.Connected {"headers":{"X-Callee":"sipp"}}',
        'event Call.Disconnected {"code":200,"headers":{"X-Why":"done"}}']


async def test_start_scenarios_with_custom_data_dials_a_sipp_uas(emulator, api, sipp) -> None:
    port = free_port_pair()
    callee = await sipp.start("uas.xml", port=port)
    app = await provision(api, dialing(f"'sip:' + data.number + '@127.0.0.1:{port}'", "{callerid: data.callerid}",
                                       hang_up_after=300), app_name="seed")
    custom = json.dumps({"callerid": "+15557654321", "number": "1001"})
    started = await api("start_scenarios", rule_id=app["rule_id"], script_custom_data=custom)
    result = await callee.result()
    assert result.ok, result.stderr[-2000:]
    assert "From: <sip:+15557654321@127.0.0.1>" in result.messages
    assert f"INVITE sip:1001@127.0.0.1:{port} SIP/2.0" in result.messages
    session, = await finished(emulator)
    record = await history(api, started["call_session_history_id"])
    assert record["custom_data"] == custom
    call, = record["calls"]
    assert (call["incoming"], call["successful"], call["local_number"], call["remote_number"]) == (
        False, True, "+15557654321", f"sip:1001@127.0.0.1:{port}")


async def test_call_sip_with_reg_id_through_a_sipp_registrar(emulator, api, sipp) -> None:
    port = free_port_pair()
    pbx = await sipp.start("registrar_uas.xml", port=port, calls=2)
    created = await api("create_sip_registration", sip_username="200", proxy=f"127.0.0.1:{port}", password="regpw")
    reg_id = created["sip_registration_id"]
    for _ in range(100):
        reg = (await api("get_sip_registrations", sip_registration_id=reg_id))["result"][0]
        if reg["successful"]:
            break
        await asyncio.sleep(0.05)
    assert reg["successful"] and reg["status_code"] == 200
    app = await provision(api, dialing("'sip:1001'", f"{{regId: {reg_id}}}", hang_up_after=200), app_name="viareg")
    await api("start_scenarios", rule_id=app["rule_id"])
    result = await pbx.result()
    assert result.ok and result.successful == 2, result.stderr[-2000:]
    assert "INVITE sip:1001@127.0.0.1 SIP/2.0" in result.messages
    assert "From: <sip:200@127.0.0.1>" in result.messages
    session, = await finished(emulator)
    assert logged(session, "event Call.Connected")


async def test_forward_call_to_sip_bridges_a_sipp_caller_and_a_sipp_callee(emulator, api, sipp) -> None:
    port = free_port_pair()
    callee = await sipp.start("uas.xml", port=port)
    app = await provision(api, "VoxEngine.forwardCallToSIP();", app_name="fwd")
    caller = await sipp.run("uac_info_bye.xml", "-s", "1001", remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "to_uri": f"1001@127.0.0.1:{port}"})
    assert caller.ok, caller.stderr[-2000:]
    result = await callee.result()
    assert result.ok, result.stderr[-2000:]
    assert "From: \"SIPp PBX\" <sip:+15557654321@" in result.messages
    session, = await finished(emulator)
    calls = (await history(api, session.session_id))["calls"]
    assert sorted((c["incoming"], c["successful"]) for c in calls) == [(False, True), (True, True)]


# ---------------------------------------------------------------------------------------- a user called, a PBX calling


async def test_call_user_reaches_a_sipp_phone_that_registered_with_digest(emulator, api, sipp) -> None:
    app = await provision(api, dialing("{username: 'carol'}", hang_up_after=300).replace("callSIP", "callUser")
                          .replace(", {});", ");"), app_name="desk")
    await api("add_user", user_name="carol", user_display_name="Carol", user_password=PASSWORD,
              application_id=app["application_id"])
    # One phone on one port: SIPp registers (401, then [authentication]) and exits, then answers there as a
    # UAS (a SIPp client scenario drops requests of a new Call-ID, so one process cannot do both).
    port = free_port_pair()
    registering = await sipp.run("register.xml", "-s", "carol", "-au", "carol", "-ap", PASSWORD,
                                 remote=sip_remote(emulator), port=port, keys={"domain": app["domain"]})
    assert registering.ok and registering.received("SIP/2.0 401"), registering.stderr[-2000:]
    phone = await sipp.start("uas.xml", port=port)
    started = await api("start_scenarios", rule_id=app["rule_id"])
    result = await phone.result()
    assert result.ok, result.stderr[-2000:]
    assert f"INVITE sip:carol@127.0.0.1:{port};transport=UDP SIP/2.0" in result.messages
    assert f"To: <sip:carol@{app['domain']}>" in result.messages
    assert f"From: <sip:voxsim@{app['domain']}>" in result.messages  # no callerid: the edge's default
    session, = await finished(emulator)
    assert logged(session, "event ") == ['event Call.Ringing {"headers":{}}', 'event Call.Connected {"headers":{}}',
                                         'event Call.Disconnected {"code":200,"headers":{}}']
    call, = (await history(api, started["call_session_history_id"]))["calls"]
    assert (call["incoming"], call["successful"], call["local_number"], call["remote_number"]) == (
        False, True, "voxsim", "carol")
    assert call["remote_number_type"] == "user"


async def test_a_sipp_pbx_calls_the_contact_of_a_registration_bound_to_a_rule(emulator, api, sipp) -> None:
    app = await provision(api, ANSWER_AND_HANG_UP, app_name="ext", pattern="never")  # the binding, not the pattern
    port = free_port_pair()
    pbx = await sipp.start("registrar_invite.xml", port=port)
    created = await api("create_sip_registration", sip_username="300", proxy=f"127.0.0.1:{port}", password="regpw",
                        application_id=app["application_id"], rule_id=app["rule_id"])
    reg_id = created["sip_registration_id"]
    result = await pbx.result()
    assert result.ok, result.stderr[-2000:]
    edge_port = emulator.listeners["sip_udp"]["port"]
    assert f"INVITE sip:300@127.0.0.1:{edge_port};voxsim-reg={reg_id} SIP/2.0" in result.messages
    reg, = (await api("get_sip_registrations", sip_registration_id=reg_id))["result"]
    assert reg["successful"] and reg["status_code"] == 200 and reg["rule_id"] == app["rule_id"]
    session, = await finished(emulator)
    alerting = json.loads(logged(session, "alerting ")[0][len("alerting "):])
    assert (alerting["callerid"], alerting["displayName"], alerting["destination"], alerting["clientType"]) == (
        "+15557654321", "SIPp PBX", "300", "sip")
    assert alerting["headers"] == {"X-Pbx": "extension-300"}
    record = await history(api, session.session_id)
    assert record["rule_name"] == "ext_rule" and record["finish_reason"] == "Normal termination"
    call, = record["calls"]
    assert (call["incoming"], call["successful"], call["local_number"], call["remote_number"]) == (
        True, True, "300", "+15557654321")


async def test_a_sipp_pbx_call_through_a_registration_bound_to_a_user_reaches_the_users_sipp_phone(
        emulator, api, sipp) -> None:
    app = await provision(api, ANSWER_AND_HANG_UP, app_name="front", pattern="never")  # no rule runs
    user = await api("add_user", user_name="carol", user_display_name="Carol", user_password=PASSWORD,
                     application_id=app["application_id"])
    phone_port, pbx_port = free_port_pair(), free_port_pair()
    registering = await sipp.run("register.xml", "-s", "carol", "-au", "carol", "-ap", PASSWORD,
                                 remote=sip_remote(emulator), port=phone_port, keys={"domain": app["domain"]})
    assert registering.ok, registering.stderr[-2000:]
    phone = await sipp.start("uas.xml", port=phone_port)
    pbx = await sipp.start("registrar_invite_bye.xml", port=pbx_port)
    await api("create_sip_registration", sip_username="300", proxy=f"127.0.0.1:{pbx_port}", password="regpw",
              application_id=app["application_id"], user_id=user["user_id"])
    pbx_result, phone_result = await pbx.result(), await phone.result()
    assert pbx_result.ok, pbx_result.stderr[-2000:]
    assert phone_result.ok, phone_result.stderr[-2000:]
    assert "From: \"SIPp PBX\" <sip:+15557654321@" in phone_result.messages  # the PBX's caller, forwarded
    assert f"To: <sip:carol@{app['domain']}>" in phone_result.messages
    session, = await finished(emulator)
    record = await history(api, session.session_id)
    assert record["rule_name"] == "" and "rule_id" not in record
    calls = sorted(record["calls"], key=lambda c: not c["incoming"])
    assert [(c["incoming"], c["local_number"], c["remote_number"]) for c in calls] == [
        (True, "carol", "+15557654321"), (False, "+15557654321", "carol")]
