"""`voxsim call`: place one SIP call into a running emulator from the command line.

The caller is voxsim's own user agent on loopback, calling as a white-listed trunk. It prints how
the call went, presses keys by SIP INFO (`application/dtmf-relay`) once answered, hangs up after
`--hold` seconds unless the scenario hangs up first, and prints the session's log. Like cli and
testing, this module stands on the composition root's pieces (sip_edge and the HTTP API).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

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


def request_uri(target: str, account_name: str) -> str:
    uri = target if target.startswith(("sip:", "sips:")) else f"sip:{target}"
    user, _, host = uri.partition(":")[2].partition("@")
    if host and "." not in host:  # `dest@app`: the emulator's account completes the domain
        uri = f"sip:{user}@{host}.{account_name}{DOMAIN_SUFFIX}"
    return uri


async def place_call(api: str, request: CallRequest, out: list[str]) -> int:
    """Runs the call; appends what happened to `out`; returns the process exit code."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/_voxsim/health") as resp:
            health = await resp.json()
        async with http.get(f"{api}/_voxsim/account") as resp:
            account = await resp.json()
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
            return 1
        answer = call.response
        assert answer is not None  # invite() returns answered calls only
        out.append(f"  answered: {answer.status} {answer.reason}")
        if request.dtmf:
            await asyncio.sleep(request.dtmf_delay)
        for digit in request.dtmf:
            await call.request("INFO", body=f"Signal={digit}\r\nDuration=160\r\n".encode(),
                               content_type="application/dtmf-relay")
            out.append(f"  pressed {digit}")
            await asyncio.sleep(0.2)
        try:
            await asyncio.wait_for(call.ended.wait(), request.hold)
            out.append("  the scenario hung up")
        except TimeoutError:
            await call.bye()
            out.append(f"  hung up after {request.hold:g} s")
        return 0
    finally:
        await phone.stop()


async def last_session_log(api: str) -> str:
    """The newest session's log (the call just made started it)."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api}/_voxsim/account") as resp:
            account = await resp.json()
        params = {"account_id": str(account["account_id"]), "api_key": account["api_key"],
                  "desc_order": "true", "count": "1"}
        async with http.get(f"{api}/platform_api/GetCallHistory", params=params) as resp:
            rows = (await resp.json()).get("result") or []
        if not rows:
            return ""
        await asyncio.sleep(0.3)  # the log is flushed in small batches
        async with http.get(f"{api}/_voxsim/sessions/{rows[0]['call_session_history_id']}/log") as resp:
            return await resp.text()
