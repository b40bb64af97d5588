"""The SIP edge's `OutboundDialer`: VoxEngine.callSIP / callUser / callPSTN become INVITEs.

Installed as `runtime.dialer` by the composition root. `place_call` works out the targets, reserves
the RTP port, sends the INVITE(s) through the edge's user agent and returns a `legs.SipOutboundLeg`
at once; answers come back as call events (see `legs`). What it does with the shim's parameters:

- callSIP `to`: `sip:alice@example.org`, `sips:...` (TLS), `alice@example.org:5061;transport=tls|tcp`,
  bare `alice@example.org` (UDP by default). `callerid` is the From user (default: the `default_callerid`
  setting), `displayName` the From display name, `headers` (or `extraHeaders`) the `X-` headers sent,
  `authUser`/`password` answer a 401/407 (the user defaults to `callerid`), `outProxy` (host[:port],
  optionally `;transport=`) is the next hop while the Request-URI stays `to`.
- `regId`: through that SIP registration: Request-URI `sip:<to's user>@<registrar host>` (`"sip:1001"`
  works), From `<sip:<sip_username>@<registrar host>>`, To the same domain, its `auth_user`/`password`
  for challenges, sent to its outbound proxy or proxy with the proxy's transport.
- voxsim's own domains: `user@app.account.voximplant.com` naming a user of that application calls the
  user (as callUser); any other `...voximplant.com` address (another application, the `sip.` id form)
  goes back in through the edge's own UDP socket, which the edge trusts, to be routed by rules.
- callUser({username}) / callUserDirect: every registered contact of the user at once; the first 2xx
  wins and the others are cancelled; no contact: 480 (`user_offline_code`); no such user: 404.
  `VI-CallTimeout` (10-400 s) in the extra headers limits the ringing (Failed 408).
- callPSTN: to `number@<pstn_gateway>` when that setting names a SIP gateway; else Failed 501.
  callConference: Failed 501 (not emulated).

Transports: UDP names are resolved here (the datagram send would block on DNS); TCP and TLS connect by
name. No RFC 3263 NAPTR/SRV: a host without a port gets 5060 (5061 for TLS). A session whose call came
in over SIP passes on one less than that INVITE's Max-Forwards, so voxsim calling itself in a loop stops
with 483.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sip_edge.headers import quote
from sip_edge.transport import DEFAULT_PORTS, Address
from sip_edge.uri import SipURI, URIError
from voxsim.edge.legs import DialTarget, SipOutboundLeg, wire_headers
from voxsim.edge.outbound_registrations import TargetError, target_of
from voxsim.errors import VoxError
from voxsim.routing import DEFAULT_DOMAIN
from voxsim.runtime.host import CallLeg, DialError, SessionPort

if TYPE_CHECKING:
    from voxsim.edge.server import EdgeStore, SipEdge
    from voxsim.runtime.calls import Call

__all__ = ["SipDialer", "parse_target"]

log = logging.getLogger(__name__)

_SCHEME = re.compile(r"^(sips?|tel):", re.IGNORECASE)
SUPPORTED = frozenset({"udp", "tcp", "tls"})


def parse_target(to: str) -> SipURI:
    """A callSIP destination as a SIP URI (`sip:` added when there is no scheme); raises DialError 404."""
    text = to.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not _SCHEME.match(text):
        text = "sip:" + text
    try:
        uri = SipURI.parse(text)
    except URIError as exc:
        raise DialError(404, f"Not Found - invalid SIP URI {to!r}: {exc}") from exc
    if not uri.is_sip or not uri.host:
        raise DialError(404, f"Not Found - not a SIP URI: {to!r}")
    return uri


class SipDialer:
    """OutboundDialer over a running `SipEdge` (with services); see the module docstring."""

    def __init__(self, edge: SipEdge) -> None:
        self.edge = edge

    @property
    def store(self) -> EdgeStore:
        services = self.edge.services
        if services is None:
            raise DialError(503, "Service Unavailable - the SIP edge routes no calls")
        return services.store

    async def place_call(self, session: SessionPort, call: Call, kind: str, params: Mapping[str, Any]) -> CallLeg:
        edge = self.edge
        if edge.ua is None:
            raise DialError(503, "Service Unavailable - the SIP edge is not running")
        timeout: float | None = None
        if kind == "sip":
            targets = await self._sip_targets(session, call.number, params)
        elif kind in ("user", "userDirect"):
            targets = self._user_targets_for(session, str(params.get("username") or call.number), params)
            timeout = _call_timeout(params.get("headers"))
        elif kind == "pstn":
            targets = await self._pstn_targets(call.number, params)
        else:
            raise DialError(501, f"Not Implemented - {kind} calls are not emulated yet by voxsim")
        inbound = edge.session_legs.get(session.session_id)
        if inbound is not None:
            for target in targets:
                target.max_forwards = max(inbound.max_forwards - 1, 0)
        leg = SipOutboundLeg(edge.ua, targets, advertised_host=edge.advertised_host, open_media=edge.media_ports.open,
                             on_closed=edge.forget, request_timeout=edge.settings.request_timeout, timeout=timeout,
                             dtmf_send=edge.settings.dtmf_send)
        leg.bind(session, call.id)
        edge.track(leg)
        try:
            await leg.start()
        except OSError as exc:
            leg.close()
            raise DialError(503, f"Service Unavailable - {exc}") from exc
        log.info("%s call %s to %s: %d INVITE(s)", kind, call.id, call.number, len(targets))
        return leg

    # ------------------------------------------------------------------ callSIP

    async def _sip_targets(self, session: SessionPort, to: str, params: Mapping[str, Any]) -> list[DialTarget]:
        uri = parse_target(to)
        callerid = _text(params.get("callerid")) or self.edge.settings.default_callerid
        display = _text(params.get("displayName"))
        headers = wire_headers(params.get("headers"))
        reg_id = params.get("regId")
        if reg_id not in (None, ""):
            return [await self._through_registration(session, uri, reg_id, display or _text(params.get("callerid")),
                                                     headers)]
        host = uri.host.lower().rstrip(".")
        if host.endswith("." + DEFAULT_DOMAIN):
            app = self.store.find_application_by_domain(host)
            if app is not None and uri.user and self.store.find_user(app.application_id, uri.user) is not None:
                return self._user_targets(app, uri.user, callerid, display, headers)
            return [self._loopback(uri, callerid, display, headers)]
        if uri.transport not in SUPPORTED:
            raise DialError(501, f"Not Implemented - transport {uri.transport!r}")
        out_proxy = _text(params.get("outProxy"))
        if out_proxy:
            proxy = parse_target(out_proxy)
            transport = proxy.transport if (proxy.scheme == "sips" or "transport" in proxy.params) else uri.transport
            dest = Address(transport, proxy.params.get("maddr") or proxy.host,
                           proxy.port or DEFAULT_PORTS.get(transport, 5060))
        else:
            dest = Address(uri.transport, uri.params.get("maddr") or uri.host,
                           uri.port or DEFAULT_PORTS.get(uri.transport, 5060))
        password = _text(params.get("password"))
        auth = (_text(params.get("authUser")) or callerid, password) if password else None
        request_uri = uri.copy()
        request_uri.headers = {}
        to_uri = SipURI(uri.scheme, user=uri.user, host=uri.host, port=uri.port)
        return [DialTarget(str(request_uri), await _resolve(dest), self._from(callerid, display), f"<{to_uri}>",
                           auth, headers)]

    def _from(self, user: str, display: str, host: str | None = None, scheme: str = "sip") -> str:
        uri = SipURI(scheme, user=user, host=host or self.edge.advertised_host)
        return f"{quote(display)} <{uri}>" if display else f"<{uri}>"

    def _loopback(self, uri: SipURI, callerid: str, display: str, headers: list[tuple[str, str]]) -> DialTarget:
        """A voxsim address that is not a registered user: in again through the edge, routed by rules."""
        ua = self.edge.ua
        assert ua is not None
        host = self.edge.host
        host = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
        request_uri = SipURI("sip", user=uri.user, host=uri.host)
        return DialTarget(str(request_uri), Address("udp", host, ua.ports["udp"]), self._from(callerid, display),
                          f"<{request_uri}>", None, headers)

    async def _through_registration(self, session: SessionPort, uri: SipURI, reg_id: Any, display: str,
                                    headers: list[tuple[str, str]]) -> DialTarget:
        try:
            reg = self.store.get_sip_registration(session.account_id, int(reg_id))
        except (VoxError, ValueError, TypeError) as exc:
            raise DialError(404, f"Not Found - no SIP registration {reg_id!r} in the account") from exc
        if reg.deactivated:
            raise DialError(403, f"Forbidden - SIP registration {reg_id} is deactivated")
        try:
            target = target_of(reg)
        except TargetError as exc:
            raise DialError(503, f"Service Unavailable - SIP registration {reg_id}: {exc}") from exc
        user = uri.user or uri.host  # "sip:1001" parses as a host
        request_uri = SipURI(target.scheme, user=user, host=target.proxy_host)
        if target.scheme == "sip" and target.transport != "udp":
            request_uri.params["transport"] = target.transport
        to_uri = SipURI(target.scheme, user=user, host=target.proxy_host)
        dest = Address(target.transport, target.next_hop_host, target.next_hop_port)
        return DialTarget(str(request_uri), await _resolve(dest),
                          self._from(reg.sip_username, display, target.proxy_host, target.scheme),
                          f"<{to_uri}>", target.auth, headers)

    # ------------------------------------------------------------------ callUser

    def _user_targets_for(self, session: SessionPort, username: str, params: Mapping[str, Any]) -> list[DialTarget]:
        name, _, domain = username.partition("@")
        app = self.store.find_application_by_domain(domain) if domain else None
        if app is None:
            app = self.store.find_application(session.account_id, application_id=session.application_id)
        if app is None:
            raise DialError(404, "Not Found - the session's application is gone")
        callerid = _text(params.get("callerid")) or self.edge.settings.default_callerid
        return self._user_targets(app, name, callerid, _text(params.get("displayName")),
                                  wire_headers(params.get("headers")))

    def _user_targets(self, app: Any, user_name: str, callerid: str, display: str,
                      headers: list[tuple[str, str]]) -> list[DialTarget]:
        edge = self.edge
        user = self.store.find_user(app.application_id, user_name)
        if user is None:
            raise DialError(404, f"Not Found - no user {user_name!r} in {app.application_name}")
        bindings = edge.registrar.contacts(app.application_id, user_name) if edge.registrar else []
        if not bindings:
            raise DialError(edge.settings.user_offline_code,
                            f"Temporarily Unavailable - user {user_name} is not registered")
        ua = edge.ua
        assert ua is not None
        to_addr = f"<{SipURI('sip', user=user_name, host=app.domain)}>"
        from_addr = self._from(callerid, display, app.domain)
        targets = []
        for binding in bindings:
            try:
                contact = SipURI.parse(binding.contact)
            except URIError:
                continue
            flow = binding.flow
            if flow.reliable and flow in ua.transport.connections:
                dest = flow  # the phone's own connection (it may have no listener)
            elif not flow.reliable and contact.transport == "udp" and contact.host != flow.host:
                dest = flow  # behind NAT: where its REGISTER came from
            else:
                dest = Address.from_uri(contact)
            targets.append(DialTarget(binding.contact, dest, from_addr, to_addr, None, headers))
        if not targets:
            raise DialError(edge.settings.user_offline_code,
                            f"Temporarily Unavailable - user {user_name}: no usable contact")
        return targets

    # ------------------------------------------------------------------ callPSTN

    async def _pstn_targets(self, number: str, params: Mapping[str, Any]) -> list[DialTarget]:
        gateway = self.edge.settings.pstn_gateway
        if not gateway:
            raise DialError(501, "Not Implemented - callPSTN is not emulated (set the pstn_gateway setting "
                                 "to send PSTN calls to a SIP gateway)")
        proxy = parse_target(gateway)
        request_uri = SipURI(proxy.scheme, user=number, host=proxy.host, port=proxy.port,
                             params={k: v for k, v in proxy.params.items() if k == "transport"})
        dest = Address(proxy.transport, proxy.host, proxy.port or DEFAULT_PORTS.get(proxy.transport, 5060))
        callerid = _text(params.get("callerid")) or self.edge.settings.default_callerid
        to_uri = SipURI(proxy.scheme, user=number, host=proxy.host)
        return [DialTarget(str(request_uri), await _resolve(dest), self._from(callerid, ""), f"<{to_uri}>")]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _call_timeout(headers: Any) -> float | None:
    """`VI-CallTimeout` (seconds, 10-400) from callUser's extra headers."""
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if str(name).lower() == "vi-calltimeout":
            try:
                return float(min(max(int(str(value).strip()), 10), 400))
            except ValueError:
                return None
    return None


async def _resolve(dest: Address) -> Address:
    """A UDP destination's name resolved to an address (TCP/TLS connect by name)."""
    if dest.transport != "udp":
        return dest
    try:
        ipaddress.ip_address(dest.host)
        return dest
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(dest.host, dest.port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise DialError(503, f"Service Unavailable - cannot resolve {dest.host}: {exc}") from exc
    v4 = [str(info[4][0]) for info in infos if info[0] == socket.AF_INET]
    host = (v4 or [str(info[4][0]) for info in infos])[0]
    return Address("udp", host, dest.port)

