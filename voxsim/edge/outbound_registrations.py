"""Outbound SIP registrations: voxsim registers as an extension (a user agent) on third-party registrars.

`RegistrationManager` keeps every active, persistent SIP registration of the store registered to its
proxy through the edge's `UserAgent`, so the registered Contact is one of the edge's own listeners and
a call the PBX sends to it reaches the edge:

- REGISTER `sip:<proxy host[:port]>` (the proxy's `;transport=` kept, `sips:` kept), To/From
  `sip:<sip_username>@<proxy host>` (`sips:` for a `sips:` proxy), digest as `auth_user` (default
  `sip_username`) with `password`, sent to `outbound_proxy` when there is one, else to the proxy.
  Transport: `sips:` or `;transport=tls` is TLS, `;transport=tcp` TCP, otherwise UDP; an outbound
  proxy with its own `;transport=` (or `sips:`) uses that one.
- Contact `<sip:<sip_username>@<edge host>:<edge port of that transport>;voxsim-reg=<id>>` (with
  `;transport=tcp|tls`, or `sips:` for a `sips:` proxy). `match_inbound` maps an incoming INVITE back to
  the registration it came through, and only to one that is registered (its last REGISTER got a 2xx
  that has not expired) and whose proxy or outbound proxy address the INVITE comes from (names resolved
  at each attempt, ports ignored): among those, the `voxsim-reg` parameter (as a URI parameter, or a
  `;voxsim-reg=` inside the user part, which some PBXs produce), else the user part equal to a
  `sip_username`. Anything else is no registration's call (the router's white list decides).
- Expires asked: `RegistrationTimers.expires`. The binding is refreshed `refresh_margin` seconds before
  the expiry the registrar granted (our Contact's `expires`, else the Expires header, else what was
  asked), or at half of it when it is shorter than twice the margin. A 423 with Min-Expires is retried
  at once with that value. A failure (a final response >= 300, a timeout, a transport error, a name that
  does not resolve) is retried after `retry_initial` seconds, doubling up to `retry_max`.
- Deleted, deactivated or changed registrations are un-registered (Expires: 0 on the same Contact);
  a changed one then registers again with its new data. `stop()` un-registers everything.
- Every attempt writes the truth with `store.update_sip_registration_status`: `in_progress` while it is
  pending (the previous outcome kept), then `successful`, `status_code` and `error_message`.
- Going to failure (the first failure, or success -> failure) calls
  `on_transition(account_id, "sip_registration_fail", [{"sip_registration_id", "status_code", "error_message"}])`
  (`status_code` a string, as in the platform's callback); failure -> success calls
  `on_transition(account_id, "sip_registration_recovered", [{"sip_registration_id"}])`. Transitions of one
  account within `batch_window` seconds of each other go out in one call (consecutive ones of one type).

Non-persistent registrations register only while their user is logged in through an SDK, which voxsim
does not emulate: they are left alone (the store says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sip_edge.message import Response
from sip_edge.transport import DEFAULT_PORTS, Address
from sip_edge.ua import UserAgent
from sip_edge.uri import SipURI, URIError, format_host

if TYPE_CHECKING:
    from voxsim.model import SipRegistration

__all__ = [
    "CONTACT_PARAM",
    "STOPPED",
    "RegistrationManager",
    "RegistrationStore",
    "RegistrationTimers",
    "Target",
    "TransitionHook",
    "normal_host",
    "target_of",
]

log = logging.getLogger(__name__)

CONTACT_PARAM = "voxsim-reg"
"""The Contact URI parameter carrying the registration id (`;voxsim-reg=<id>`)."""
SUPPORTED_TRANSPORTS = frozenset({"udp", "tcp", "tls"})
IN_PROGRESS = "registration in progress"
STOPPED = "not registered: voxsim stopped"
REMOVED = "not registered: the registration is deactivated"
FAIL, OK = "fail", "ok"

TransitionHook = Callable[[int, str, list[dict[str, Any]]], Awaitable[Any] | Any]


class RegistrationStore(Protocol):
    """What the manager needs of `voxsim.store.Store` (a fake one does for tests)."""

    def active_sip_registrations(self, account_id: int | None = None) -> list[SipRegistration]: ...

    def update_sip_registration_status(self, reg_id: int, successful: bool, status_code: int | None,
                                       error_message: str = "", in_progress: bool = False) -> None: ...


@dataclass
class RegistrationTimers:
    """Timing of the registration client (seconds). Tests may shorten any of them."""

    expires: int = 300
    """The Expires asked of the registrar."""
    refresh_margin: float = 30.0
    """Refresh this long before the granted expiry (at half of it when it is shorter than twice this)."""
    retry_initial: float = 5.0
    """First retry after a failure; each further failure doubles the wait (`retry_factor`)..."""
    retry_max: float = 120.0
    """...up to this."""
    retry_factor: float = 2.0
    batch_window: float = 0.05
    """Transitions of one account closer than this to each other go out in one callback."""
    unregister_timeout: float = 2.0
    """How long `stop()` waits for the registrars to answer the un-REGISTERs."""


class TargetError(ValueError):
    """A registration's proxy cannot be used (a transport voxsim has no client for)."""


@dataclass(frozen=True)
class Target:
    """Where and as whom one registration registers."""

    request_uri: str
    aor: str
    scheme: str  # "sip" or "sips"
    transport: str  # "udp", "tcp" or "tls"
    proxy_host: str
    next_hop_host: str
    next_hop_port: int
    auth: tuple[str, str]


def _parse_proxy(text: str) -> SipURI:
    text = text.strip()
    if not text.lower().startswith(("sip:", "sips:")):
        text = "sip:" + text
    return SipURI.parse(text)


def _explicit_transport(uri: SipURI) -> str | None:
    if uri.scheme == "sips":
        return "tls"
    value = uri.params.get("transport")
    return value.lower() if value else None


def target_of(reg: SipRegistration) -> Target:
    """The REGISTER's Request-URI, address of record, transport, next hop and credentials."""
    try:
        proxy = _parse_proxy(reg.proxy)
        outbound = _parse_proxy(reg.outbound_proxy) if reg.outbound_proxy else None
    except URIError as exc:
        raise TargetError(f"cannot parse the proxy: {exc}") from exc
    transport = _explicit_transport(proxy) or "udp"
    request_uri = f"{proxy.scheme}:{format_host(proxy.host)}" + (f":{proxy.port}" if proxy.port else "")
    if proxy.scheme == "sip" and proxy.params.get("transport"):
        request_uri += f";transport={transport}"
    hop = proxy
    if outbound is not None:
        transport = _explicit_transport(outbound) or transport
        hop = outbound
    if transport not in SUPPORTED_TRANSPORTS:
        raise TargetError(f"voxsim has no SIP client for transport {transport!r}")
    port = hop.port or DEFAULT_PORTS[transport]
    aor = str(SipURI(proxy.scheme, user=reg.sip_username, host=proxy.host))
    return Target(request_uri=request_uri, aor=aor, scheme=proxy.scheme, transport=transport,
                  proxy_host=proxy.host, next_hop_host=hop.host, next_hop_port=port,
                  auth=(reg.auth_user or reg.sip_username, reg.password))


def _signature(reg: SipRegistration) -> tuple[Any, ...]:
    """What a REGISTER depends on: a change of any of these means un-register and register anew."""
    return (reg.sip_username, reg.proxy, reg.auth_user, reg.outbound_proxy, reg.password)


def normal_host(host: str) -> str:
    """An address as the white list and the own-address checks compare it (IPv4-mapped IPv6 unwrapped)."""
    host = host.strip().strip("[]").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


@dataclass
class _Slot:
    """One registration the manager keeps registered."""

    reg_id: int
    account_id: int
    sip_username: str
    signature: tuple[Any, ...]
    target: Target | None
    problem: str = ""  # why `target` is None
    contact: str = ""
    hosts: set[str] = field(default_factory=set)  # addresses calls through this registration come from
    registered_until: float = 0.0  # clock time the last 2xx's binding expires; 0: not registered
    task: asyncio.Task[None] | None = None
    after: asyncio.Task[None] | None = None  # the un-REGISTER of a previous incarnation, to wait for
    bound: bool = False  # the registrar accepted the last REGISTER: un-register when letting go
    dest: Address | None = None
    successful: bool = False
    status_code: int | None = None
    error_message: str = ""
    failures: int = 0


class RegistrationManager:
    """Keeps the store's SIP registrations registered through `ua`; see the module docstring."""

    def __init__(self, ua: UserAgent, store: RegistrationStore, on_transition: TransitionHook | None = None,
                 *, timers: RegistrationTimers | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ua = ua
        self.clock = clock
        self.store = store
        self.on_transition = on_transition
        self.timers = timers or RegistrationTimers()
        self._slots: dict[int, _Slot] = {}
        self._outcomes: dict[int, str] = {}  # registration id -> last outcome (FAIL / OK)
        self._aor_locks: dict[str, asyncio.Lock] = {}
        self._sync_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self._pending: list[tuple[int, str, list[dict[str, Any]]]] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._stopped = False

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Registers every active persistent registration (after a restart they register again)."""
        self._stopped = False
        await self.sync()

    async def sync(self) -> None:
        """Re-reads the store and applies the differences: new ones register, removed ones un-register,
        changed ones un-register and register with their new data."""
        if self._stopped:
            return
        async with self._sync_lock:
            try:
                wanted = {reg.sip_registration_id: reg for reg in self.store.active_sip_registrations()
                          if reg.is_persistent and not reg.deactivated}
            except Exception:
                log.exception("cannot read the SIP registrations")
                return
            for reg_id, slot in list(self._slots.items()):
                reg = wanted.get(reg_id)
                if reg is None:
                    self._let_go(slot, removed=True)
                elif _signature(reg) != slot.signature:
                    released = self._let_go(slot, removed=False)
                    self._keep(reg, after=released)
                else:
                    slot.account_id = reg.account_id
            for reg_id, reg in wanted.items():
                if reg_id not in self._slots:
                    self._keep(reg)
            for reg_id in [r for r in self._outcomes if r not in wanted]:
                del self._outcomes[reg_id]

    async def stop(self) -> None:
        """Un-registers everything (waiting at most `unregister_timeout`) and delivers pending transitions."""
        self._stopped = True
        slots = list(self._slots.values())
        self._slots.clear()
        workers = [slot.task for slot in slots if slot.task is not None]
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)
        # Un-REGISTER what may be bound, and let earlier releases finish, for a bounded time.
        waiting = [asyncio.ensure_future(self._unregister(slot)) for slot in slots if slot.bound]
        waiting += list(self._background)
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=self.timers.unregister_timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.info("%d un-REGISTER(s) unanswered at stop", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)
        for slot in slots:
            self._write(slot.reg_id, False, None, STOPPED)
        await self._flush_now()

    # ------------------------------------------------------------------ inbound calls

    def match_inbound(self, request_uri: str, source_host: str) -> int | None:
        """The registration an incoming INVITE from `source_host` (an IP address) arrived through, or None.

        Only a registration that is registered now and whose proxy or outbound proxy resolved to
        `source_host` at its last attempt qualifies: anyone else naming our Contact, its `voxsim-reg`
        or a `sip_username` is an ordinary caller. Among those: the one the `voxsim-reg` parameter names
        (URI parameter or inside the user part; naming another one matches nothing), else the lowest id
        whose `sip_username` is the user part.
        """
        try:
            uri = SipURI.parse(request_uri.strip().strip("<>"))
        except URIError:
            return None
        source = normal_host(source_host)
        now = self.clock()
        eligible = sorted((s for s in self._slots.values() if source in s.hosts and s.registered_until > now),
                          key=lambda s: s.reg_id)
        user, tagged = _user_and_tag(uri)
        if tagged is not None:
            return next((s.reg_id for s in eligible if str(s.reg_id) == tagged), None)
        return next((s.reg_id for s in eligible if user and s.sip_username == user), None)

    @property
    def registrations(self) -> dict[int, dict[str, Any]]:
        """What the manager holds, for diagnostics: id -> contact, next hop, last outcome."""
        now = self.clock()
        return {slot.reg_id: {"contact": slot.contact, "dest": str(slot.dest) if slot.dest else "",
                              "successful": slot.successful, "status_code": slot.status_code,
                              "error_message": slot.error_message, "registered": slot.registered_until > now,
                              "sources": sorted(slot.hosts)}
                for slot in self._slots.values()}

    # ------------------------------------------------------------------ keeping one registration

    def _keep(self, reg: SipRegistration, after: asyncio.Task[None] | None = None) -> None:
        try:
            target, problem = target_of(reg), ""
        except TargetError as exc:
            target, problem = None, str(exc)
        slot = _Slot(reg_id=reg.sip_registration_id, account_id=reg.account_id, sip_username=reg.sip_username,
                     signature=_signature(reg), target=target, problem=problem, after=after,
                     successful=reg.successful, status_code=reg.status_code, error_message=reg.error_message)
        if target is not None:
            slot.contact = self._contact(reg, target)
        self._slots[slot.reg_id] = slot
        slot.task = asyncio.ensure_future(self._run(slot))

    def _contact(self, reg: SipRegistration, target: Target) -> str:
        edge = SipURI.parse(self.ua.uri(target.transport))
        params: dict[str, str | None] = {}
        scheme = "sips" if target.scheme == "sips" else "sip"
        if target.transport != "udp" and scheme == "sip":
            params["transport"] = target.transport
        params[CONTACT_PARAM] = str(reg.sip_registration_id)
        return f"<{SipURI(scheme, user=reg.sip_username, host=edge.host, port=edge.port, params=params)}>"

    async def _run(self, slot: _Slot) -> None:
        if slot.after is not None:
            with contextlib.suppress(Exception):
                await slot.after
        while True:
            try:
                delay = await self._attempt(slot)
            except Exception:  # a bug must not end the registration for good
                log.exception("SIP registration %s: attempt failed", slot.reg_id)
                delay = self.timers.retry_max
            await asyncio.sleep(delay)

    async def _attempt(self, slot: _Slot) -> float:
        """One REGISTER (with its digest round); returns how long to wait before the next one."""
        timers = self.timers
        self._write(slot.reg_id, slot.successful, slot.status_code,
                    slot.error_message if slot.status_code is not None else IN_PROGRESS, in_progress=True)
        started = self.clock()  # the registrar counts the expiry from about when it got the REGISTER
        status, reason, granted = await self._register(slot, timers.expires)
        ok = 200 <= status < 300
        slot.registered_until = started + granted if ok and granted > 0 else 0.0
        slot.successful, slot.status_code = ok, status
        slot.error_message = "" if ok else reason
        self._write(slot.reg_id, ok, status, slot.error_message)
        self._outcome(slot, ok, status, reason)
        if ok:
            slot.failures = 0
            margin = timers.refresh_margin
            return max(granted - margin if granted > 2 * margin else granted / 2, 0.05)
        slot.failures += 1
        return min(timers.retry_initial * timers.retry_factor ** (slot.failures - 1), timers.retry_max)

    async def _register(self, slot: _Slot, expires: int) -> tuple[int, str, int]:
        """Sends the REGISTER; returns (status, reason or error text, granted expiry)."""
        if slot.target is None:
            return 503, f"Service Unavailable - {slot.problem}", 0
        try:
            dest = await self._next_hop(slot)
        except (OSError, UnicodeError) as exc:
            host = slot.target.next_hop_host
            detail = getattr(exc, "strerror", None) or exc
            return 503, f"Service Unavailable - cannot resolve {host}: {detail}", 0
        # Sent, the REGISTER may bind even if we are stopped before its answer: count it bound until the
        # answer says otherwise, so that stopping un-registers it.
        slot.bound = True
        try:
            response = await self._send(slot, dest, expires)
            if response.status == 423:  # Interval Too Brief: ask again for what it wants (RFC 3261 10.2.8)
                minimum = _int(response.headers.get("Min-Expires"))
                if minimum is not None and minimum > expires:
                    expires = minimum
                    response = await self._send(slot, dest, expires)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("REGISTER for SIP registration %s failed", slot.reg_id)
            slot.bound = False
            return 503, f"Service Unavailable - {exc}", 0
        slot.bound = 200 <= response.status < 300
        reason = response.reason or ""
        if response.status in (408, 503) and _synthesized(response):
            reason = f"{reason} ({'no answer from' if response.status == 408 else 'cannot reach'} {dest})"
        return response.status, reason, self._granted(slot, response, expires)

    async def _send(self, slot: _Slot, dest: Address, expires: int) -> Response:
        target = slot.target
        assert target is not None
        lock = self._aor_locks.setdefault(target.aor, asyncio.Lock())
        async with lock:  # the UA counts CSeq per AOR: one REGISTER of an AOR at a time
            return await self.ua.register(target.request_uri, target.aor, dest=dest, auth=target.auth,
                                          expires=expires, contact=slot.contact)

    async def _next_hop(self, slot: _Slot) -> Address:
        """The next hop's address, resolved anew at each attempt, and with it `slot.hosts`: the addresses of
        the next hop and of the proxy, where calls through this registration may come from (the proxy's
        name, when an outbound proxy is the next hop, only for that: a failure to resolve it is no failure).
        A UDP name is resolved to one address here (sendto would block the loop on it); TCP/TLS keep the
        name (the connection resolves it, and TLS checks the certificate against it)."""
        target = slot.target
        assert target is not None
        host, port = target.next_hop_host, target.next_hop_port
        other = target.proxy_host if normal_host(target.proxy_host) != normal_host(host) else None
        # Both at once; on the next hop's failure the attempt fails (and a failed registration matches no call).
        infos, proxy_infos = await asyncio.gather(_resolve(host, port), self._proxy_addresses(slot, other, port))
        addresses = [str(info[4][0]) for info in infos]
        slot.hosts = {normal_host(a) for a in [*addresses, *(str(info[4][0]) for info in proxy_infos)]}
        if target.transport == "udp" and not _is_literal(host):
            families = {socket.AF_INET} if self._udp_family() == socket.AF_INET else {socket.AF_INET6}
            chosen = [str(info[4][0]) for info in infos if info[0] in families] or addresses
            host = chosen[0]
        slot.dest = Address(target.transport, host, port)
        return slot.dest

    @staticmethod
    async def _proxy_addresses(slot: _Slot, host: str | None, port: int) -> list[Any]:
        """The proxy's addresses when an outbound proxy is the next hop: only to recognise calls from it, so
        a name that does not resolve is logged, not a failure."""
        if host is None:
            return []
        try:
            return await _resolve(host, port)
        except (OSError, UnicodeError) as exc:
            log.info("SIP registration %s: cannot resolve its proxy %s (%s): calls are taken from the outbound "
                     "proxy only", slot.reg_id, host, exc)
            return []

    def _udp_family(self) -> int:
        local = self.ua.transport.local_address("udp")
        if local is not None and ":" in local[0]:
            return socket.AF_INET6
        return socket.AF_INET

    @staticmethod
    def _granted(slot: _Slot, response: Response, asked: int) -> int:
        if not 200 <= response.status < 300:
            return 0
        try:
            contacts = response.contacts
        except ValueError:
            contacts = []
        ours = slot.contact.strip("<>")
        for contact in contacts:
            uri = contact.uri
            mine = uri.params.get(CONTACT_PARAM) == str(slot.reg_id) or str(uri) == ours
            if mine and contact.expires:
                return contact.expires
        if response.expires:
            return response.expires
        return asked

    # ------------------------------------------------------------------ letting go

    def _let_go(self, slot: _Slot, *, removed: bool) -> asyncio.Task[None]:
        """Stops keeping `slot`; un-registers it in the background. Returns that background task."""
        self._slots.pop(slot.reg_id, None)
        if slot.task is not None:
            slot.task.cancel()
        task = asyncio.ensure_future(self._release(slot, removed))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _release(self, slot: _Slot, removed: bool) -> None:
        if slot.task is not None:
            await asyncio.gather(slot.task, return_exceptions=True)
        if slot.after is not None and not slot.after.done():
            await asyncio.gather(slot.after, return_exceptions=True)
        if slot.bound:
            await self._unregister(slot)
        if removed:  # a deleted row ignores this; a deactivated one says it is no longer registered
            self._write(slot.reg_id, False, None, REMOVED)

    async def _unregister(self, slot: _Slot) -> None:
        if slot.target is None or slot.dest is None:
            return
        try:
            response = await self._send(slot, slot.dest, 0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("un-REGISTER of SIP registration %s failed: %s", slot.reg_id, exc)
            return
        slot.bound = False
        log.info("un-REGISTER of SIP registration %s: %s %s", slot.reg_id, response.status, response.reason)

    # ------------------------------------------------------------------ status and transitions

    def _write(self, reg_id: int, successful: bool, status_code: int | None, error_message: str,
               in_progress: bool = False) -> None:
        try:
            self.store.update_sip_registration_status(reg_id, successful, status_code, error_message,
                                                      in_progress=in_progress)
        except Exception:
            log.exception("cannot write the status of SIP registration %s", reg_id)

    def _outcome(self, slot: _Slot, ok: bool, status: int, reason: str) -> None:
        previous = self._outcomes.get(slot.reg_id)
        self._outcomes[slot.reg_id] = OK if ok else FAIL
        if not ok and previous != FAIL:
            self._emit(slot.account_id, "sip_registration_fail",
                       {"sip_registration_id": slot.reg_id, "status_code": str(status), "error_message": reason})
        elif ok and previous == FAIL:
            self._emit(slot.account_id, "sip_registration_recovered", {"sip_registration_id": slot.reg_id})

    def _emit(self, account_id: int, kind: str, item: dict[str, Any]) -> None:
        log.info("SIP registration %s: %s", item["sip_registration_id"], kind)
        if self.on_transition is None:
            return
        for batch in reversed(self._pending):
            if batch[0] == account_id:
                if batch[1] == kind:
                    batch[2].append(item)
                    break
                self._pending.append((account_id, kind, [item]))
                break
        else:
            self._pending.append((account_id, kind, [item]))
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(max(self.timers.batch_window, 0), self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        batches, self._pending = self._pending, []
        previous = self._delivery
        self._delivery = asyncio.ensure_future(self._deliver(batches, previous))

    async def _deliver(self, batches: Iterable[tuple[int, str, list[dict[str, Any]]]],
                       previous: asyncio.Task[None] | None) -> None:
        if previous is not None:  # keep the order of transitions
            await asyncio.gather(previous, return_exceptions=True)
        hook = self.on_transition
        if hook is None:
            return
        for account_id, kind, items in batches:
            try:
                result = hook(account_id, kind, items)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("on_transition(%s, %s) failed", account_id, kind)

    async def _flush_now(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._pending:
            self._flush()
        if self._delivery is not None:
            await asyncio.gather(self._delivery, return_exceptions=True)


def _user_and_tag(uri: SipURI) -> tuple[str, str | None]:
    """A Request-URI's user (without `;params` inside it) and its `voxsim-reg` value, as a URI parameter
    or inside the user part."""
    user, _, user_params = (uri.user or "").partition(";")
    tagged = uri.params.get(CONTACT_PARAM)
    if tagged is None:
        for param in user_params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == CONTACT_PARAM:
                tagged = value.strip()
    return user, tagged


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def _resolve(host: str, port: int) -> list[Any]:
    """getaddrinfo without blocking the loop (a literal address answers at once, without DNS)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host.strip("[]"), port, type=socket.SOCK_DGRAM)
    return list(infos)


def _synthesized(response: Response) -> bool:
    """A 408/503 the transaction layer made up (timeout, transport error) has no To tag; a peer's has."""
    try:
        return not response.to.tag
    except ValueError:
        return False


def _int(value: str | None) -> int | None:
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None
