"""The authorized IPs family: networks on two lists, the most specific one decides."""

from __future__ import annotations

import ipaddress

from voxsim.store import Store

from .conftest import code_of


def check(store: Store, address: str) -> tuple[bool, str | None]:
    allowed, item = store.check_authorized_ip(1, ipaddress.IPv4Address(address))
    return allowed, item.authorized_ip if item else None


def test_the_most_specific_network_decides(store: Store) -> None:
    assert check(store, "8.8.8.8") == (True, None)  # no list: nothing is restricted
    store.add_authorized_ip(1, "92.255.220.7/24", True, "office")
    store.add_authorized_ip(1, "92.255.220.66", False)
    assert check(store, "92.255.220.1") == (True, "92.255.220.0/24")
    assert check(store, "92.255.220.66") == (False, "92.255.220.66")
    assert check(store, "8.8.8.8") == (False, None)  # a white list: the rest is refused
    assert [i.authorized_ip for i in store.authorized_ips(1)] == ["92.255.220.0/24", "92.255.220.66"]
    assert store.authorized_ips(2) == []


def test_a_tie_goes_to_the_black_list(store: Store) -> None:
    store.add_authorized_ip(1, "10.0.0.0/8", True)
    store.add_authorized_ip(1, "10.0.0.0/8", False)
    assert check(store, "10.1.2.3") == (False, "10.0.0.0/8")


def test_bad_and_repeated(store: Store) -> None:
    assert code_of(store.add_authorized_ip, 1, "999.1.1.1") == 496
    assert code_of(store.add_authorized_ip, 1, "::1") == 496
    store.add_authorized_ip(1, "1.2.3.4")
    assert code_of(store.add_authorized_ip, 1, "1.2.3.4") == 493
