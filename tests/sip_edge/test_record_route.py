"""Record-Route (RFC 3261 12.1.1, 12.1.2, 16.12): the UAS copies it into its 18x and 2xx, both sides build
their route sets from it, and every later request of the dialog passes the record-routing proxies.

The UA-level tests put two small stateless record-routing proxies between our UAC and our UAS
(UAC -> P1 -> P2 -> UAS) and check, per request, which proxies it passed.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from sip_edge.dialog import Dialog, build_request, record_routes
from sip_edge.headers import NameAddr, split_commas
from sip_edge.message import Headers, Message, Request, Response, make_response
from sip_edge.transport import Address, SipTransport
from sip_edge.ua import InviteDialog, UserAgent

CALLEE_CONTACT = "<sip:bob@10.0.0.2:5064>"


def incoming_invite(*record_routes_as_received: str) -> Request:
    request = build_request("INVITE", "sip:bob@example.com", from_addr="<sip:alice@example.com>",
                            to_addr="<sip:bob@example.com>", contact="<sip:alice@10.0.0.1:5062>")
    for line in record_routes_as_received:
        request.headers.add("Record-Route", line)
    return request


# ------------------------------------------------------------------------------------------ sans-IO


def test_record_routes_are_copied_line_by_line_in_order() -> None:
    invite = incoming_invite("<sip:p2.example;lr>, <sip:p1.example;lr;ftag=x>", "<sip:p0.example;lr>")
    assert record_routes(invite) == [("Record-Route", "<sip:p2.example;lr>, <sip:p1.example;lr;ftag=x>"),
                                     ("Record-Route", "<sip:p0.example;lr>")]


def test_a_request_without_record_route_copies_none() -> None:
    assert record_routes(incoming_invite()) == []


def test_both_route_sets_from_the_copied_headers() -> None:
    invite = incoming_invite("<sip:p2.example;lr>", "<sip:p1.example;lr>")  # p2 is nearest the callee
    ok = make_response(invite, 200, to_tag="callee", headers=[*record_routes(invite), ("Contact", CALLEE_CONTACT)])
    callee, caller = Dialog.uas(invite, local_tag="callee"), Dialog.uac(invite, ok)
    assert callee.route_set == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]  # in order (12.1.1)
    assert caller.route_set == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]  # reversed (12.1.2)

    bye = callee.create_request("BYE")
    assert bye.uri == "sip:alice@10.0.0.1:5062"  # loose routing: the remote target stays the Request-URI
    assert bye.headers.get_all("Route") == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    ack = caller.create_ack()
    assert ack.uri == "sip:bob@10.0.0.2:5064"
    assert ack.headers.get_all("Route") == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]


# ------------------------------------------------------------------------------------------ a fake proxy


def _without_first(headers: Headers, name: str) -> Headers:
    """`headers` less the first value of `name` (which may share its line with others)."""
    out, done = Headers(), False
    for key, value in headers.items():
        if not done and key.lower() == name.lower():
            done = True
            rest = split_commas(value)[1:]
            if rest:
                out.add(key, ", ".join(rest))
            continue
        out.add(key, value)
    return out


class RecordRoutingProxy:
    """A stateless loose-routing proxy on loopback UDP (RFC 3261 16.6, 16.11 in miniature).

    An initial INVITE gets our Record-Route and goes to `next_hop` (else its Request-URI); a request
    whose top Route is ours loses it and goes to the next Route, else its Request-URI. Responses lose
    our Via and follow the next one. `seen` lists what passed: "INVITE", "ACK", "BYE", "180", "200".
    """

    def __init__(self, next_hop: RecordRoutingProxy | None = None) -> None:
        self.transport = SipTransport(self._on_message)
        self.next_hop = next_hop
        self.seen: list[str] = []
        self.port = 0
        self._branches = itertools.count()

    async def start(self) -> None:
        self.port = await self.transport.listen_udp("127.0.0.1", 0)

    @property
    def address(self) -> Address:
        return Address("udp", "127.0.0.1", self.port)

    @property
    def route(self) -> str:
        return f"<sip:127.0.0.1:{self.port};lr>"

    def _on_message(self, message: Message, source: Address) -> None:
        if isinstance(message, Request):
            self.seen.append(message.method)
            asyncio.ensure_future(self._forward_request(message))
        else:
            self.seen.append(str(message.status))
            message.headers = _without_first(message.headers, "Via")
            asyncio.ensure_future(self.transport.send(message))

    async def _forward_request(self, request: Request) -> None:
        routes = request.headers.get_all("Route")
        if routes and NameAddr.parse(routes[0]).uri.port == self.port:
            request.headers = _without_first(request.headers, "Route")
            routes = routes[1:]
        initial = request.method == "INVITE" and not request.to.tag
        if initial:
            request.headers.insert_first("Record-Route", self.route)
        request.headers.insert_first("Via", f"SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bKp{next(self._branches)}")
        if routes:
            dest = Address.from_uri(NameAddr.parse(routes[0]).uri)
        elif initial and self.next_hop is not None:
            dest = self.next_hop.address
        else:
            dest = Address.from_uri(request.uri)
        await self.transport.send(request, dest)


@pytest.fixture
async def path():
    """(caller, callee, p1, p2): two UserAgents and the proxies between them, caller -> p1 -> p2 -> callee."""
    callee = UserAgent(on_invite=_ring_then_answer)
    caller = UserAgent(user="alice")
    p2 = RecordRoutingProxy()
    p1 = RecordRoutingProxy(next_hop=p2)
    for proxy in (p1, p2):
        await proxy.start()
    for ua in (callee, caller):
        await ua.start(tcp=None)
    yield caller, callee, p1, p2
    for ua in (caller, callee):
        await ua.stop()
    for proxy in (p1, p2):
        await proxy.transport.close()


def _ring_then_answer(call: InviteDialog) -> None:
    call.ring(100)
    call.ring(180)
    call.answer()


async def place_call(caller: UserAgent, callee: UserAgent, p1: RecordRoutingProxy,
                     ringing: list[Response]) -> tuple[InviteDialog, InviteDialog]:
    call = await caller.invite(f"sip:bob@127.0.0.1:{callee.ports['udp']}", dest=p1.address,
                               on_provisional=ringing.append)
    incoming = next(iter(callee.calls.values()))
    await asyncio.wait_for(incoming.confirmed.wait(), 3)
    return call, incoming


async def test_the_18x_and_2xx_carry_the_record_route_and_the_ack_passes_the_proxies(path) -> None:
    caller, callee, p1, p2 = path
    ringing: list[Response] = []
    call, incoming = await place_call(caller, callee, p1, ringing)

    expected = [p2.route, p1.route]  # as the INVITE arrived: the proxy nearest the callee on top
    assert incoming.invite.headers.get_all("Record-Route") == expected
    assert incoming.response is not None and incoming.response.headers.get_all("Record-Route") == expected
    assert all("Record-Route" not in r.headers for r in ringing if r.status == 100)  # a 100 creates no dialog
    ring, = [r for r in ringing if r.status == 180]
    assert ring.headers.get_all("Record-Route") == expected
    assert incoming.dialog is not None and incoming.dialog.route_set == expected
    assert call.dialog is not None and call.dialog.route_set == [p1.route, p2.route]
    assert p1.seen.count("ACK") == 1 and p2.seen.count("ACK") == 1  # the ACK went by the route set
    await call.bye()


async def test_the_callee_s_bye_passes_the_proxies_in_order(path) -> None:
    caller, callee, p1, p2 = path
    call, incoming = await place_call(caller, callee, p1, [])
    arrived: list[Request] = []
    call.on_request = arrived.append

    assert (await incoming.bye()).status == 200
    assert await call.wait_ended(3) == "remote BYE"
    bye, = arrived
    assert len(bye.headers.get_all("Via")) == 3  # the callee's, p2's, p1's
    assert "Route" not in bye.headers  # each proxy took its own
    assert bye.uri == caller.uri()  # the remote target: the caller's Contact
    assert p1.seen.count("BYE") == 1 and p2.seen.count("BYE") == 1


async def test_the_caller_s_bye_passes_the_proxies_and_reaches_the_callee(path) -> None:
    caller, callee, p1, p2 = path
    call, incoming = await place_call(caller, callee, p1, [])
    arrived: list[Request] = []
    incoming.on_request = arrived.append

    assert (await call.bye()).status == 200
    assert await incoming.wait_ended(3) == "remote BYE"
    bye, = arrived
    assert bye.uri == callee.uri() and len(bye.headers.get_all("Via")) == 3
    assert p1.seen.count("BYE") == 1 and p2.seen.count("BYE") == 1
    assert p1.seen.count("200") >= 2  # the 200 of the INVITE and of the BYE came back through p1
