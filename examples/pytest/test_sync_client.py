"""A sync test (no asyncio): `voxsim_server` runs the emulator in a thread of its own; its `client` is the official
Python client, and plain HTTP reaches the `/_voxsim/` controls (docs/testing.md)."""

import json
import time
import urllib.request

HELLO = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write('call to ' + e.destination);
  e.call.answer();
  e.call.addEventListener(CallEvents.Connected, () => e.call.hangup());
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
"""


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def test_a_simulated_call_from_a_sync_test(voxsim_server):
    client = voxsim_server.client
    app = client.add_application(application_name="hello")
    scenario = client.add_scenario(scenario_name="hello", scenario_script=HELLO, application_id=app["application_id"])
    client.add_rule(application_id=app["application_id"], rule_name="all", rule_pattern=".*",
                    scenario_id=scenario["scenario_id"])
    started = post(f"{voxsim_server.base_url}/_voxsim/simulate/call", {"to": "sip:42@hello.voxsim.voximplant.com"})
    session_id = started["call_session_history_id"]
    deadline = time.monotonic() + 10
    while True:  # the scenario hangs up at once; its history row says how the session ended
        rows = client.get_call_history(call_session_history_id=session_id)["result"]
        if rows and rows[0].get("finish_reason") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert rows[0]["finish_reason"] == "Normal termination"
    with urllib.request.urlopen(rows[0]["log_file_url"], timeout=10) as resp:
        assert "call to 42" in resp.read().decode()
