"""`voxsim call`: place one SIP call into a running emulator from the command line.

The caller is voxsim's own user agent on loopback, calling as a white-listed trunk. It prints how
the call went, presses keys by SIP INFO (`application/dtmf-relay`) once answered, hangs up after
`--hold` seconds unless the scenario hangs up first, and says how long the call really lasted (from the
answer to the BYE). An answered call's session log is printed after it; a refused INVITE (the edge's 404,
a scenario's reject) prints its status and reason only. Like cli and testing, this module stands on the
composition root's pieces (sip_edge and the HTTP API).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from sip_edge.transport import Address
from sip_edge.ua import CallFailed, UserAgent

DOMAIN_SUFFIX = ".voximplant.com"


@dataclass
class CallRequest:
    target: str
    """`dest@app` (the account's domain is added), `dest@app.account.voximplant.com`, or a full SIP URI."""
    caller: str = "voxsim-cli"
    headers: list[tuple[str, str]] = field(default_factory=list)
    dtmf: str = ""
    hold: float = 5.0
    dtmf_delay: float = 0.5
    """Keys go this long after the answer: a scenario usually enables tones in its Connected handler."""


@dataclass
class CallOutcome:
    """How the call went, and what finds its session afterwards."""

    exit_code: int
    answered: bool = False
    duration: float = 0.0
    """Seconds from the answer to the BYE (sent or received)."""
    account: dict[str, Any] = field(default_factory=dict)
    newest_before: int = 0
    """The newest session id before the INVITE: the call's session is a newer one."""


def request_uri(target: str, account_name: str) -> str:
    uri = target if target.startswith(("sip:", "sips:")) else f"sip:{target}"
    user, _, host = uri.partition(":")[2].partition("@")
    if host and "." not in host:  # `dest@app`: the emulator's account completes the domain
        uri = f"sip:{user}@{host}.{account_name}{DOMAIN_SUFFIX}"
    return uri


async def place_call(api: str, request: CallRequest, out: list[str]) -> CallOutcome:
    """Runs the call; appends what happened to `out`."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/_voxsim/health") as resp:
            health = await resp.json()
        async with http.get(f"{api}/_voxsim/account") as resp:
            account = await resp.json()
        newest = await _sessions(http, api, account, count=1)
    outcome = CallOutcome(1, account=account, newest_before=newest[0]["call_session_history_id"] if newest else 0)
    uri = request_uri(request.target, account["account_name"])
    edge = Address("udp", "127.0.0.1", int(health["listeners"]["sip_udp"]["port"]))
    phone = UserAgent("127.0.0.1", user=request.caller)
    await phone.start(udp=0, tcp=None)
    try:
        out.append(f"calling {uri}")
        try:
            call = await phone.invite(uri, dest=edge, headers=request.headers,
                                      on_provisional=lambda r: out.append(f"  {r.status} {r.reason}"))
        except CallFailed as failed:
            out.append(f"  failed: {failed.response.status} {failed.response.reason}")
            return outcome
        answered_at = time.monotonic()
        answer = call.response
        assert answer is not None  # invite() returns answered calls only
        out.append(f"  answered: {answer.status} {answer.reason}")
        await _press(call, request, out)
        try:
            await asyncio.wait_for(call.ended.wait(), request.hold)
            who = "the scenario hung up"
        except TimeoutError:
            await call.bye()
            who = "hung up"
        outcome.duration = time.monotonic() - answered_at
        out.append(f"  {who} after {outcome.duration:.1f} s")
        outcome.exit_code, outcome.answered = 0, True
        return outcome
    finally:
        await phone.stop()


async def _press(call: Any, request: CallRequest, out: list[str]) -> None:
    if request.dtmf:
        await asyncio.sleep(request.dtmf_delay)
    for digit in request.dtmf:
        if call.ended.is_set():
            return
        await call.request("INFO", body=f"Signal={digit}\r\nDuration=160\r\n".encode(),
                           content_type="application/dtmf-relay")
        out.append(f"  pressed {digit}")
        await asyncio.sleep(0.2)


async def _sessions(http: aiohttp.ClientSession, api: str, account: dict[str, Any], count: int,
                    **query: str) -> list[dict[str, Any]]:
    """The newest sessions of GetCallHistory (running ones too), newest first."""
    params = {"account_id": str(account["account_id"]), "api_key": account["api_key"],
              "desc_order": "true", "count": str(count), **query}
    async with http.get(f"{api}/platform_api/GetCallHistory", params=params) as resp:
        return list((await resp.json()).get("result") or [])


async def session_log(api: str, outcome: CallOutcome, caller: str) -> str:
    """The log of the answered call's session: the newest one started after the INVITE with a call from
    `caller` (so another session running meanwhile is not mistaken for it); "" when there is none."""
    if not outcome.answered:
        return ""
    async with aiohttp.ClientSession() as http:
        rows = await _sessions(http, api, outcome.account, count=1, remote_number=caller)
        if not rows or rows[0]["call_session_history_id"] <= outcome.newest_before:
            return ""
        await asyncio.sleep(0.3)  # the log is flushed in small batches
        async with http.get(f"{api}/_voxsim/sessions/{rows[0]['call_session_history_id']}/log") as resp:
            return await resp.text()


async def converse(api: str, target: str, script: Any, out: list[str], timeout: float = 300.0,
                   speed: float = 1.0) -> int:
    """`voxsim call --script FILE`: a simulated call (no SIP) held by a scripted caller; prints its transcript.
    The exit code is 0 when the script ran to its end, 1 when the call or the script failed."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/_voxsim/account") as resp:
            account = await resp.json()
        uri = request_uri(target, account["account_name"])
        out.append(f"calling {uri} (a simulated caller with a script)")
        body = {"to": uri, "script": script, "speed": speed}
        async with http.post(f"{api}/_voxsim/simulate/call", json=body) as resp:
            started = await resp.json()
            if resp.status != 200:
                out.append(f"  refused: {resp.status} {started.get('error', '')}")
                return 1
        url = f"{api}/_voxsim/calls/{started['call_id']}/transcript"
        deadline = time.monotonic() + timeout
        while True:
            async with http.get(url) as resp:
                transcript: dict[str, Any] = await resp.json()
            if transcript.get("done") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    out.extend(transcript_lines(transcript, started["call_session_history_id"]))
    return 0 if transcript.get("done") and not transcript.get("error") else 1


def transcript_lines(transcript: dict[str, Any], session_id: int) -> list[str]:
    """A transcript as the terminal shows it: one line a turn, then latency, tools, barge-ins, the outcome."""
    lines = [f"session {session_id}"]
    for turn in transcript.get("turns", []):
        at = turn.get("start_ms", turn.get("at_ms", 0)) / 1000
        if "digits" in turn:
            what = f"pressed {turn['digits']}"
        elif turn.get("hangup"):
            what = "hung up"
        else:
            what = turn.get("text") if turn.get("text") is not None else "(speech)"
        lines.append(f"  {at:7.2f} s  {turn['who']:>6}: {what}")
    latency = transcript.get("latency_ms") or {}
    if latency.get("samples"):
        lines.append(f"  latency: p50 {latency['p50']} ms, p95 {latency['p95']} ms over {len(latency['samples'])}")
    for call in transcript.get("tool_calls", []):
        lines.append(f"  tool {call['name']}({call.get('arguments')}) -> {call.get('result')}")
    for barge in transcript.get("barge_ins", []):
        lines.append(f"  barge-in at {barge['at_ms'] / 1000:.2f} s: {barge['text']}")
    lines.append(f"  {'error: ' + transcript['error'] if transcript.get('error') else 'the script ran to its end'}")
    return lines
