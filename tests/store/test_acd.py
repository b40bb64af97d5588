"""ACD queues and skills in the store: names, settings, bindings, deletes."""

from __future__ import annotations

from voxsim.errors import INVALID_PARAMETER, NOT_UNIQUE, SPECIFY_PARAMETER
from voxsim.store import Store

from .conftest import code_of


def test_queue_settings_and_names(store: Store, apps: tuple[int, int]):
    one, two = apps
    queue = store.add_acd_queue(1, one, "sales", {"service_probability": 0.7, "max_queue_size": 5})
    assert (queue.acd_queue_priority, queue.auto_binding, queue.service_probability) == (100, True, 0.7)
    assert "max_waiting_time" not in queue.api() and queue.api()["max_queue_size"] == 5
    assert code_of(store.add_acd_queue, 1, two, "sales", {}) == NOT_UNIQUE  # names are the account's
    assert code_of(store.add_acd_queue, 1, one, "x" * 100, {}) == INVALID_PARAMETER
    assert code_of(store.add_acd_queue, 1, one, "p", {"service_probability": 0.4}) == INVALID_PARAMETER
    assert code_of(store.add_acd_queue, 1, one, "p", {"acd_queue_priority": -1}) == INVALID_PARAMETER
    moved = store.set_acd_queue_info(queue, new_name="support", application_id=two,
                                     settings={"auto_binding": False})
    assert (moved.acd_queue_name, moved.application_id, moved.auto_binding) == ("support", two, False)


def test_bindings_follow_deletes(store: Store, apps: tuple[int, int]):
    one, _ = apps
    user = store.add_user(1, one, "agent1", "Agent", "Passw0rd!x")
    queue = store.add_acd_queue(1, one, "q", {})
    skill = store.add_skill(1, "english")
    store.bind_users_to_queues([user.user_id], [queue], True)
    store.bind_skills([skill], user_ids=[user.user_id], queues=[queue])
    assert store.acd_queue_users(queue.acd_queue_id) == [user.user_id]
    assert store.acd_queue_skills(queue.acd_queue_id) == [skill] == store.user_skills(user.user_id)
    assert code_of(store.bind_skills, [skill]) == SPECIFY_PARAMETER
    store.del_skill(skill)
    assert store.acd_queue_skills(queue.acd_queue_id) == [] == store.user_skills(user.user_id)
    store.del_users(1, user_ids=[user.user_id])
    assert store.acd_queue_users(queue.acd_queue_id) == []


def test_resolve_is_all_or_nothing(store: Store, apps: tuple[int, int]):
    one, two = apps
    first = store.add_acd_queue(1, one, "a", {})
    store.add_acd_queue(1, two, "b", {})
    assert code_of(store.resolve_acd_queues, 1, ids=[first.acd_queue_id, 999]) == INVALID_PARAMETER
    assert code_of(store.resolve_acd_queues, 1, names=["b"], application_id=one) == INVALID_PARAMETER
    assert [q.acd_queue_name for q in store.resolve_acd_queues(1, ids="all", application_id=two)] == ["b"]
    assert store.del_acd_queues(store.resolve_acd_queues(1, ids="all")) == 2
    assert code_of(store.add_skill, 1, "") == INVALID_PARAMETER
