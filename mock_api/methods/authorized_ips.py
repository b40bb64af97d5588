"""Authorized account IPs: AddAuthorizedAccountIP, DelAuthorizedAccountIP, GetAuthorizedAccountIPs,
CheckAuthorizedAccountIP over voxsim/store/authorized_ips.py."""

from __future__ import annotations

import ipaddress

from mock_api.methods import Context, Reply, method, ok, paged
from mock_api.params import Params
from voxsim.errors import AUTHORIZATION_FAILED, VoxError
from voxsim.store.authorized_ips import AuthorizedIP, address_of, network_of
from voxsim.store.base import name_part_filter


def enforce(ctx: Context) -> None:
    """With `enforce_authorized_ips` set, a caller the account's lists refuse answers 100 (loopback callers and
    scenarios' own calls are always let in)."""
    if ctx.services is None or not ctx.services.enforce_authorized_ips or ctx.auth == "scenario":
        return
    try:
        caller = ipaddress.ip_address(ctx.remote.split("%")[0])
    except ValueError:
        return  # no address (a test client, a socket pair)
    if caller.is_loopback:
        return
    address = caller.ipv4_mapped if isinstance(caller, ipaddress.IPv6Address) else caller
    if address is None:
        return  # an IPv6 caller: the lists hold IPv4 networks only
    if not ctx.store.check_authorized_ip(ctx.account.account_id, address)[0]:
        raise VoxError(AUTHORIZATION_FAILED, f"Authorization failed: {address} is not an authorized IP of the account")


def _matching(ctx: Context, p: Params, *, by_network: str | None) -> list[AuthorizedIP]:
    """The account's items `authorized_ip` (a network, or `all` when deleting), `contains_ip` and `allowed`
    select."""
    items = ctx.store.authorized_ips(ctx.account.account_id)
    if by_network is not None and by_network.lower() != "all":
        network = network_of(by_network)
        items = [i for i in items if i.authorized_ip == network]
    contains = p.text("contains_ip")
    if contains is not None:
        address = address_of(contains, "contains_ip")
        items = [i for i in items if address in i.network]
    allowed = p.flag("allowed")
    return [i for i in items if allowed is None or i.allowed == allowed]


@method("AddAuthorizedAccountIP", notes="""
    `authorized_ip` is an IPv4 address or network (`A.B.C.D/L`; host bits are masked); `allowed` (true by
    default) puts it on the white list, false on the black list. The same network twice on one list answers
    493; 1000 networks at most. Enforced on the API only with the `api.enforce_authorized_ips` setting (off by
    default; `VOXSIM_ENFORCE_AUTHORIZED_IPS`, `enforce_authorized_ips` in voxsim.toml): then an API call from an
    address CheckAuthorizedAccountIP refuses answers 100; loopback clients and scenarios are always let in.
""")
def add_authorized_account_ip(ctx: Context, p: Params) -> Reply:
    ctx.store.add_authorized_ip(ctx.account.account_id, p.text("authorized_ip", required=True),
                                bool(p.flag("allowed", default=True)), p.text("description") or "")
    return ok()


@method("DelAuthorizedAccountIP", notes="""
    One of `authorized_ip` (a network, or `all`) and `contains_ip` (the networks holding that address);
    `allowed` keeps to one list (both without it). Returns `result`: how many networks went (0 when none
    matched).
""")
def del_authorized_account_ip(ctx: Context, p: Params) -> Reply:
    given = p.one_of("authorized_ip", "contains_ip", required=True)
    items = _matching(ctx, p, by_network=p.text("authorized_ip") if given == "authorized_ip" else None)
    return {"result": ctx.store.delete_authorized_ips(ctx.account.account_id, items)}


@method("GetAuthorizedAccountIPs", notes="""
    Filters: `authorized_ip` (that network), `allowed`, `contains_ip`, `description` (a part, any case);
    count/offset. Items are AuthorizedAccountIPType with their `description`.
""")
def get_authorized_account_ips(ctx: Context, p: Params) -> Reply:
    description = p.text("description")
    items = [i for i in _matching(ctx, p, by_network=p.text("authorized_ip"))
             if name_part_filter(description, i.description)]
    return paged(items, p, AuthorizedIP.api)


@method("CheckAuthorizedAccountIP", notes="""
    `result` says whether the IPv4 address may use the API: the most specific network holding it decides
    (the black list wins a tie), and `authorized_ip` names it; an address no network holds is allowed while
    the white list is empty. This is the rule the `api.enforce_authorized_ips` setting applies.
""")
def check_authorized_account_ip(ctx: Context, p: Params) -> Reply:
    address = address_of(p.text("authorized_ip", required=True))
    allowed, decided_by = ctx.store.check_authorized_ip(ctx.account.account_id, address)
    reply: Reply = {"result": allowed}
    if decided_by is not None:
        reply["authorized_ip"] = decided_by.authorized_ip
    return reply
