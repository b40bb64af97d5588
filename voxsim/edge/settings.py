"""The SIP edge's settings (`Settings.sip` of `voxsim.config`, `voxsim up` options)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EdgeSettings"]


@dataclass
class EdgeSettings:
    """The edge's choices where the platform documents none (docs/choices.md), and its resources."""

    realm: str = ""
    """Digest realm for users (REGISTER and INVITE); empty: the application's domain."""
    digest_algorithms: tuple[str, ...] = ("MD5",)
    """Offered to users, preferred first (SIPp and most phones answer MD5 only)."""
    digest_nonce_ttl: float = 300.0
    """Seconds a nonce is good for; the right password with an older one gets a new challenge with `stale=true`."""
    digest_accept_address_uri: bool = True
    """Also accept a digest `uri` that is only an IP address (`sip:127.0.0.1:5060`: the address SIPp's [authentication]
    sends to) instead of the Request-URI; False: the `uri` must be the Request-URI (as SIP URIs, RFC 3261 19.1.4)."""
    auth_failure_window: float = 60.0
    """Seconds over which failed digest answers are counted (a fixed window from the first failure)."""
    auth_failures_per_source: int = 10
    """Wrong passwords or unknown users from one IP address within the window before its requests get 403 without
    a password check until the window ends; 0: no limit."""
    auth_failures_per_user: int = 30
    """Wrong passwords for one user (from anywhere) within the window before that user's answers get 403 the same
    way; a success clears it; 0: no limit."""
    registration_min_expires: int = 60
    registration_max_expires: int = 3600
    registration_default_expires: int = 3600
    max_contacts_per_user: int = 10
    """Bindings one user may hold at once (the platform publishes no figure; 10 is a guess). A REGISTER that adds
    more replaces the user's bindings closest to expiry; one that itself asks more gets 403; 0: no limit."""
    unknown_address_code: int = 404
    """Request-URI that is not a voxsim application address (or an unknown application)."""
    no_rule_code: int = 404
    """Known application, no rule matches the destination."""
    not_whitelisted_code: int = 403
    """Source address outside the account's SIP white list, and no user credentials."""
    user_offline_code: int = 480
    """callUser / callSIP to a user with no registered contact."""
    rtp_ports: tuple[int, int] = (10000, 20000)
    """Even UDP ports reserved for calls' RTP; (0, 0) lets the system pick any."""
    request_timeout: float = 2.0
    """How long a leg waits for the answer to its BYE/INFO/MESSAGE (bounds shutdown too)."""
    default_callerid: str = "voxsim"
    """The From user of callSIP when the scenario gives no callerid."""
    pstn_gateway: str = ""
    """host[:port][;transport=] that callPSTN sends `number@gateway` to; empty: the built-in PSTN simulator
    answers (docs/pstn.md)."""
    tls_verify: bool = True
    """Check the certificates of TLS peers callSIP reaches."""
    tls_ca_file: str = ""
    """Extra CA file trusted for those peers (a local PBX's self-signed certificate)."""
    rtcp_interval: float = 5.0
    """Seconds between the RTCP reports voxsim sends on a call (RFC 3550 6.2's minimum); tests shorten it."""
    session_min_se: int = 90
    """RFC 4028 Min-SE: a Session-Expires below it from a peer that supports timers gets 422 (RFC 4028's 90 s)."""
    session_expires: int | None = None
    """The Session-Expires voxsim asks for on its own calls (callSIP); None: no session timer asked for."""
    dtmf_send: str = "auto"
    """How `call.sendDigits` sends keys: auto (RFC 4733 events when the SDPs agreed on telephone-event, else SIP
    INFO), rfc4733 (never INFO: without telephone-event the keys are dropped, with a log line) or info (SIP INFO
    `application/dtmf-relay` always, for PBXs that want INFO)."""
    media_timeout: float = 0.0
    """Seconds an answered call may go without RTP or RTCP from its peer before voxsim hangs it up (BYE,
    `Disconnected` 408); 0: never (SIPp scenarios without RTP must keep their calls)."""
