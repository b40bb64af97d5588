"""Users in the store: name and password rules, lookups for the SIP edge, the account limit."""

import pytest

from voxsim.store.db import timestamp
from voxsim.store.users import USER_LIMIT, check_password

from .conftest import code_of


@pytest.fixture
def app_id(store):
    return store.add_application(1, "app").application_id


@pytest.mark.parametrize(("password", "code"), [
    ("   ", 463), ("Pass word1", 524), ("Pass\tword1", 524), ("Ab1", 523), ("Abcdef1", 523),
    ("alllower1", 464), ("ALLUPPER1", 464), ("NoDigitsHere", 464),
])
def test_password_rules(password, code):
    assert code_of(check_password, password) == code


def test_good_passwords():
    check_password("Passw0rd")
    check_password("Пароль12Ab")


def test_add_find_and_never_show_password(store, app_id):
    user = store.add_user(1, app_id, "alice", "Alice A.", "Passw0rd", user_custom_data="{}")
    found = store.find_user(app_id, "alice")
    assert found == user and found.user_password == "Passw0rd" and found.user_active is True
    assert store.find_user(app_id, "bob") is None
    assert "user_password" not in user.api() and "Passw0rd" not in str(user.api())
    assert user.api()["user_custom_data"] == "{}"


def test_name_display_custom_data_rules(store, app_id):
    assert code_of(store.add_user, 1, app_id, "ab", "A", "Passw0rd") == 122
    assert code_of(store.add_user, 1, app_id, "_abc", "A", "Passw0rd") == 122
    assert code_of(store.add_user, 1, app_id, "Alice", "A", "Passw0rd") == 122
    assert code_of(store.add_user, 1, app_id, "a" * 51, "A", "Passw0rd") == 122
    store.add_user(1, app_id, "a" * 50, "A", "Passw0rd")
    assert code_of(store.add_user, 1, app_id, "bob", "x" * 256, "Passw0rd") == 157
    assert code_of(store.add_user, 1, app_id, "bob", " ", "Passw0rd") == 157
    assert code_of(store.add_user, 1, app_id, "bob", "B", "Passw0rd", user_custom_data="x" * 8192) == 499
    store.add_user(1, app_id, "bob", "x" * 255, "Passw0rd", user_custom_data="x" * 8191)
    assert code_of(store.add_user, 1, app_id, "bob", "B", "Passw0rd") == 118
    other = store.add_application(1, "other").application_id
    store.add_user(1, other, "bob", "B", "Passw0rd")  # unique per application


def test_set_user_info(store, app_id):
    alice = store.add_user(1, app_id, "alice", "Alice", "Passw0rd")
    store.add_user(1, app_id, "bob", "Bob", "Passw0rd")
    changed = store.set_user_info(1, alice, {"new_user_name": "alicia", "user_password": "N3wPassword",
                                             "user_active": False, "user_display_name": "Alicia"})
    assert (changed.user_name, changed.user_password, changed.user_active) == ("alicia", "N3wPassword", False)
    assert code_of(store.set_user_info, 1, changed, {"new_user_name": "bob"}) == 118
    assert code_of(store.set_user_info, 1, changed, {"new_user_name": "B!"}) == 462
    assert code_of(store.set_user_info, 1, changed, {"user_password": "short"}) == 523
    assert store.set_user_info(1, changed, {"new_user_name": "alicia"}).user_name == "alicia"


def test_get_user_and_list(store, app_id):
    other = store.add_application(1, "other").application_id
    ids = [store.add_user(1, app_id, n, d, "Passw0rd", user_active=n != "carol").user_id
           for n, d in (("carol", "Zed"), ("alice", "Yan"), ("bob", "Xi"))]
    assert store.get_user(1, user_name="bob", application_id=app_id).user_id == ids[2]
    assert code_of(store.get_user, 1, user_id=ids[0], application_id=other) == 393
    assert code_of(store.get_user, 1, user_id=9999) == 117
    assert code_of(store.get_user, 1, user_name="bob", application_id=other) == 117
    names = lambda users: [u.user_name for u in users]  # noqa: E731
    assert names(store.list_users(1, app_id)) == ["carol", "alice", "bob"]
    assert names(store.list_users(1, app_id, order_by="user_name")) == ["alice", "bob", "carol"]
    assert names(store.list_users(1, app_id, order_by="user_display_name")) == ["bob", "alice", "carol"]
    assert names(store.list_users(1, app_id, user_active=False)) == ["carol"]
    assert names(store.list_users(1, app_id, name_part="O", display_name_part="x")) == ["bob"]
    assert code_of(store.list_users, 1, app_id, order_by="password") == 496


def test_del_users(store, app_id):
    other = store.add_application(1, "other").application_id
    a = store.add_user(1, app_id, "alice", "A", "Passw0rd")
    store.add_user(1, app_id, "bob", "B", "Passw0rd")
    store.add_user(1, other, "carol", "C", "Passw0rd")
    assert code_of(store.del_users, 1, user_ids=[a.user_id, 9999]) == 117
    assert code_of(store.del_users, 1, user_names=["bob", "carol"], application_id=app_id) == 117
    assert store.del_users(1, user_names=["bob"], application_id=app_id) == 1
    assert store.del_users(1, user_ids="all", application_id=other) == 1
    assert store.del_users(1, user_ids="all") == 1
    assert store.list_users(1, app_id) == []


def test_account_user_limit(store, app_id):
    now = timestamp()
    store.db.conn.executemany(
        "INSERT INTO users (account_id, application_id, user_name, user_display_name, user_password, created, "
        "modified) VALUES (1, ?, ?, 'U', 'Passw0rd', ?, ?)",
        [(app_id, f"user{n}", now, now) for n in range(USER_LIMIT)])
    assert code_of(store.add_user, 1, app_id, "onemore", "One", "Passw0rd") == 109
