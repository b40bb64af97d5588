"""Scenarios in the store: shared and application scenarios, names, rewrite, scripts."""



from .conftest import code_of


def test_names_are_unique_among_visible_scenarios(store, apps):
    one, two = apps
    store.add_scenario(1, "main", "a", application_id=one)
    store.add_scenario(1, "main", "b", application_id=two)  # another application: fine
    assert code_of(store.add_scenario, 1, "main", "c", application_id=one) == 133
    assert code_of(store.add_scenario, 1, "main", "c") == 133  # a shared one would clash in both apps
    store.add_scenario(1, "lib", "d")
    assert code_of(store.add_scenario, 1, "lib", "e", application_id=one) == 133
    store.add_scenario(2, "lib", "f")  # another account


def test_name_and_script_limits(store):
    assert code_of(store.add_scenario, 1, "x" * 30, "") == 168
    assert code_of(store.add_scenario, 1, "  ", "") == 168
    store.add_scenario(1, "x" * 29, "")
    assert code_of(store.add_scenario, 1, "big", "x" * (128 * 1024)) == 130
    assert code_of(store.add_scenario, 1, "big", "é" * (64 * 1024)) == 130  # counted in UTF-8 bytes
    assert store.add_scenario(1, "big", "x" * (128 * 1024 - 1)).scenario_script.startswith("x")


def test_rewrite_keeps_the_id(store, apps):
    one, _ = apps
    first = store.add_scenario(1, "main", "old", application_id=one)
    again = store.add_scenario(1, "main", "new", application_id=one, rewrite=True)
    assert again.scenario_id == first.scenario_id and again.scenario_script == "new"
    assert store.add_scenario(1, "main", None, application_id=one, rewrite=True).scenario_script == "new"
    store.add_scenario(1, "lib", "shared")
    assert code_of(store.add_scenario, 1, "lib", "x", application_id=one, rewrite=True) == 133
    assert store.add_scenario(1, "fresh", "x", rewrite=True).scenario_script == "x"


def test_lookups_and_lists(store, apps):
    one, two = apps
    a = store.add_scenario(1, "Greeting", "a", application_id=one)
    b = store.add_scenario(1, "greeting", "b", application_id=two)
    c = store.add_scenario(1, "library", "c")
    assert store.get_scenario(1, scenario_name="Greeting", application_id=one) == a
    assert store.get_scenario(1, scenario_name="library", application_id=two) == c
    assert store.get_scenario(1, scenario_name="Greeting") == a  # names match exactly
    assert code_of(store.get_scenario, 1, scenario_name="nope") == 168
    assert code_of(store.get_scenario, 1, scenario_id=9999) == 132
    assert code_of(store.get_scenario, 2, scenario_id=a.scenario_id) == 132
    assert [s.scenario_id for s in store.list_scenarios(1)] == [a.scenario_id, b.scenario_id, c.scenario_id]
    assert [s.scenario_id for s in store.list_scenarios(1, application_id=one)] == [a.scenario_id, c.scenario_id]
    assert [s.scenario_id for s in store.list_scenarios(1, name_part="GREET")] == [a.scenario_id, b.scenario_id]
    assert store.list_scenarios(1, scenario_id=c.scenario_id) == [c]
    store.add_scenario(1, "dup", "x", application_id=one)
    store.add_scenario(1, "dup", "y", application_id=two)
    assert code_of(store.get_scenario, 1, scenario_name="dup") == 168  # ambiguous without an application


def test_set_and_delete(store, apps):
    one, _ = apps
    a = store.add_scenario(1, "a", "1", application_id=one)
    store.add_scenario(1, "b", "2", application_id=one)
    changed = store.set_scenario_info(1, a, new_name="a2", scenario_script="3")
    assert (changed.scenario_name, changed.scenario_script) == ("a2", "3")
    assert code_of(store.set_scenario_info, 1, changed, new_name="b") == 133
    assert code_of(store.set_scenario_info, 1, changed, new_name="y" * 30) == 168
    assert code_of(store.set_scenario_info, 1, changed, scenario_script="x" * 200_000) == 130
    rule = store.add_rule(1, one, "r", ".*", scenario_ids=[a.scenario_id])
    assert code_of(store.del_scenarios, 1, scenario_ids=[a.scenario_id, 9999]) == 132
    assert store.del_scenarios(1, scenario_names=["a2"]) == 1
    assert store.get_rule(1, rule_id=rule.rule_id).scenario_ids == []
    assert store.del_scenarios(1, scenario_ids="all") == 1
    assert store.list_scenarios(1) == []
