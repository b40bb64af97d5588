"""Management API sequences through the official Node client, @voximplant/apiclient-nodejs.

scripts/test.sh installs node and the client (into .cache/node, which git ignores); these tests never skip:
without them they fail and say to run that script. The script tests/mock_api/node/sequence.js and the
example of docs/clients.md run against the emulator's HTTPS listener: the client posts multipart form-data
with a `cmd` field to https://<host>/platform_api, signs a JWT whose `iss` is a number and sends booleans
as "true"/"false"."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from voxsim.app import Emulator

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / ".cache" / "node" / "node_modules"
CLIENT_VERSION = "4.11.0"
SCRIPT = Path(__file__).parent / "node" / "sequence.js"
CLIENTS_DOC = REPO / "docs" / "clients.md"
INSTALL_HINT = "run scripts/test.sh, which installs node, npm and @voximplant/apiclient-nodejs into .cache/node"


def node_and_client() -> str:
    """The node executable, once node and the pinned client are both installed; else the test fails."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is not installed: {INSTALL_HINT}")
    package = NODE_MODULES / "@voximplant" / "apiclient-nodejs" / "package.json"
    if not package.is_file():
        pytest.fail(f"the Node client is not installed: {INSTALL_HINT}")
    version = json.loads(package.read_text())["version"]
    if version != CLIENT_VERSION:
        pytest.fail(f"the Node client is {version}, not {CLIENT_VERSION}: {INSTALL_HINT}")
    return node


async def run_node(emulator: Emulator, script: Path, *args: str) -> tuple[str, str]:
    """Runs a script with the client as a subprocess (the emulator keeps serving on this loop); its output."""
    node = node_and_client()
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES), "NODE_EXTRA_CA_CERTS": str(emulator.files.ca)}
    env.pop("VOXIMPLANT_CREDENTIALS", None)  # it would win over the file the script names
    process = await asyncio.create_subprocess_exec(
        node, str(script), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, (out.decode(), err.decode())
    return out.decode(), err.decode()


def host(emulator: Emulator) -> str:
    return f"127.0.0.1:{emulator.listeners['api_https']['port']}"


async def run_sequence(emulator: Emulator) -> dict[str, dict[str, Any]]:
    """The steps of tests/mock_api/node/sequence.js by name: {step, reply, raw}."""
    out, err = await run_node(emulator, SCRIPT, str(emulator.files.credentials), host(emulator))
    steps = {line["step"]: line for line in map(json.loads, out.splitlines())}
    assert "done" in steps, (out, err)
    return steps


async def test_a_management_api_sequence_with_the_node_client(voxsim_emulator: Emulator) -> None:
    steps = await run_sequence(voxsim_emulator)
    reply = {name: step["reply"] for name, step in steps.items()}

    app = reply["AddApplication"]
    assert app["result"] == 1 and app["applicationName"] == "nodeshop.voxsim.voximplant.com"
    assert app["secureRecordStorage"] is True  # the boolean went as "true"
    app_id, rule_id = app["applicationId"], reply["AddRule"]["ruleId"]
    assert reply["AddScenario"]["result"] == 1 and reply["AddRule"]["result"] == 1

    listed = reply["GetApplications"]
    assert listed["totalCount"] == 1 and listed["result"][0]["applicationId"] == app_id
    # The client's ApplicationInfo has no `rules`; with_rules=true reached the emulator all the same.
    raw_rules = steps["GetApplications"]["raw"]["result"][0]["rules"]
    assert [(r["rule_id"], r["rule_name"], r["rule_pattern"]) for r in raw_rules] == [(rule_id, "node-rule", ".*")]

    started = reply["StartScenarios"]
    assert started["result"] == 1 and started["mediaSessionAccessUrl"].startswith("http://127.0.0.1:")
    assert started["mediaSessionAccessSecureUrl"].startswith("https://127.0.0.1:")
    assert reply["HttpRequest"] == {"status": 200, "body": "echo:hello"}
    assert reply["Stop"] == {"status": 200, "body": "bye"}

    history = reply["GetCallHistory"]
    assert history["totalCount"] == 1 and history["timezone"]
    session = history["result"][0]
    assert session["callSessionHistoryId"] == started["callSessionHistoryId"]
    assert (session["applicationId"], session["ruleName"]) == (app_id, "node-rule")
    assert session["finishReason"] == "Normal termination" and session["customData"] == "from node"
    assert session["calls"] == []  # a session StartScenarios began, with no call in it

    item = {"key": "node:greeting", "value": "hello from node"}
    stored = reply["SetKeyValueItem"]["result"]
    assert {k: stored[k] for k in item} == item and isinstance(stored["expiresAt"], int)
    assert reply["GetKeyValueItem"]["result"] == stored

    assert reply["AddApplicationInvalid"] == {"error": {"code": 107, "msg": "Invalid application name"}}
    assert reply["DelApplication"] == {"result": 1}
    assert reply["GetApplicationsAfter"] == {"result": [], "totalCount": 0, "count": 0}
    assert voxsim_emulator.store.find_application(voxsim_emulator.account.account_id, application_id=app_id) is None


async def test_the_example_of_docs_clients_runs_as_written(voxsim_emulator: Emulator, tmp_path: Path) -> None:
    blocks = re.findall(r"```js\n(.*?)```", CLIENTS_DOC.read_text(), re.S)
    assert blocks, "docs/clients.md has a Node example"
    code = blocks[0].replace("'.voxsim/credentials.json'", json.dumps(str(voxsim_emulator.files.credentials)))
    code = code.replace("'127.0.0.1:8443'", json.dumps(host(voxsim_emulator)))
    script = tmp_path / "provision.js"
    script.write_text(code)
    out, _ = await run_node(voxsim_emulator, script)
    assert "ruleName: 'all-numbers'" in out and "rulePattern: '\\\\d+'" in out
