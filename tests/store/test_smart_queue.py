"""SmartQueue in the store: queue settings, skill levels and binding modes, agents' settings."""

from __future__ import annotations

from voxsim.errors import INVALID_PARAMETER, NOT_UNIQUE
from voxsim.store import Store

from .conftest import code_of

STRATEGIES = {"call_agent_selection": "MOST_QUALIFIED", "call_task_selection": "MAX_PRIORITY"}


def test_queue_settings(store: Store, apps: tuple[int, int]):
    one, two = apps
    queue = store.sq_add_queue(one, "q", {**STRATEGIES, "im_max_waiting_time": 2})
    assert queue.api()["im_max_waiting_time_in_seconds"] == 120 and queue.im_agent_selection == "MOST_QUALIFIED"
    store.sq_add_queue(two, "q", STRATEGIES)  # the same name in another application
    assert code_of(store.sq_add_queue, one, "q", STRATEGIES) == NOT_UNIQUE
    assert code_of(store.sq_add_queue, one, "r", {**STRATEGIES, "im_task_selection": "X"}) == INVALID_PARAMETER
    changed = store.sq_set_queue_info(queue, new_name="p", settings={"im_max_waiting_time_in_seconds": 61})
    assert (changed.sq_queue_name, changed.api()["im_max_waiting_time"]) == ("p", 2)


def test_skill_binding_modes(store: Store, apps: tuple[int, int]):
    one, _ = apps
    a = store.add_user(1, one, "agent_a", "A", "Passw0rd!x").user_id
    b = store.add_user(1, one, "agent_b", "B", "Passw0rd!x").user_id
    x, y = store.sq_add_skill(one, "x"), store.sq_add_skill(one, "y")
    store.sq_bind_skills([a, b], [(x, 1)])
    store.sq_bind_skills([a], [(y, 2)], "replace_skills")
    assert [(s.sq_skill_name, s.sq_skill_level) for s in store.sq_agent_skills(a)] == [("y", 2)]
    store.sq_bind_skills([a], [(x, 4)], "replace_agents")
    assert [s.sq_skill_name for s in store.sq_agent_skills(b)] == []
    assert [(s.sq_skill_name, s.sq_skill_level) for s in store.sq_agent_skills(a)] == [("x", 4), ("y", 2)]
    assert code_of(store.sq_bind_skills, [a], [(x, 6)]) == INVALID_PARAMETER
    store.sq_del_skills([x])
    assert [s.sq_skill_name for s in store.sq_agent_skills(a)] == ["y"]


def test_agents(store: Store, apps: tuple[int, int]):
    one, _ = apps
    a = store.add_user(1, one, "agent_a", "A", "Passw0rd!x").user_id
    queue = store.sq_add_queue(one, "q", STRATEGIES)
    assert store.sq_agent_settings(a) == (True, None)
    store.sq_set_agent_info([a], handle_calls=False, max_simultaneous_conversations=3)
    assert store.sq_agent_settings(a) == (False, 3)
    store.sq_bind_agents([a], [queue])
    assert store.sq_queue_agent_count(queue.sq_queue_id) == 1
    store.sq_bind_agents([], [queue], "replace")
    assert store.sq_queue_agent_count(queue.sq_queue_id) == 0
