"""Rules in the store: routing order, patterns, bound scenarios, what the SIP edge and runtime read."""



from .conftest import code_of


def test_routing_order_and_scenarios_for_the_runtime(store, apps):
    one, _ = apps
    s1 = store.add_scenario(1, "s1", "// one", application_id=one)
    s2 = store.add_scenario(1, "s2", "// two")
    r1 = store.add_rule(1, one, "numbers", r"\d+", rule_pattern_exclude=r"911", scenario_ids=[s2.scenario_id,
                                                                                               s1.scenario_id])
    r2 = store.add_rule(1, one, "rest", ".*")
    rules = store.rules_in_order(one)
    assert [r.rule_id for r in rules] == [r1.rule_id, r2.rule_id]
    assert rules[0].scenario_ids == [s2.scenario_id, s1.scenario_id]
    assert [s.scenario_script for s in store.rule_scenarios(r1.rule_id)] == ["// two", "// one"]
    first = lambda dest: next(r.rule_name for r in store.rules_in_order(one) if r.matches(dest))  # noqa: E731
    assert (first("123"), first("911"), first("12a"), first("")) == ("numbers", "rest", "rest", "rest")
    store.reorder_rules(1, [r2.rule_id])
    assert [r.rule_id for r in store.rules_in_order(one)] == [r2.rule_id, r1.rule_id]


def test_patterns_names_and_uniqueness(store, apps):
    one, two = apps
    assert code_of(store.add_rule, 1, one, "r", "(") == 148
    assert code_of(store.add_rule, 1, one, "r", ".*", rule_pattern_exclude="[") == 149
    assert code_of(store.add_rule, 1, one, "r", "x" * (64 * 1024)) == 148
    assert code_of(store.add_rule, 1, one, "x" * 100, ".*") == 156
    rule = store.add_rule(1, one, "x" * 99, ".*")
    store.add_rule(1, one, "r", ".*")
    assert code_of(store.add_rule, 1, one, "r", ".*") == 175
    store.add_rule(1, two, "r", ".*")  # unique per application
    assert code_of(store.set_rule_info, 1, rule.rule_id, {"rule_name": "r"}) == 175
    assert code_of(store.set_rule_info, 1, rule.rule_id, {"rule_pattern": "*"}) == 148
    assert code_of(store.set_rule_info, 1, rule.rule_id, {"rule_pattern_exclude": "(?P<"}) == 149
    assert code_of(store.set_rule_info, 1, 9999, {}) == 147
    changed = store.set_rule_info(1, rule.rule_id, {"rule_name": "short", "rule_pattern": "1.*",
                                                    "rule_pattern_exclude": "12", "video_conference": True,
                                                    "bind_key_id": "k", "not_a_column": "x"})
    assert (changed.rule_name, changed.rule_pattern, changed.rule_pattern_exclude) == ("short", "1.*", "12")
    assert changed.video_conference is True and changed.bind_key_id == "k"


def test_get_rule_and_list_filters(store, apps):
    one, two = apps
    a = store.add_rule(1, one, "Inbound calls", r"\+?\d+", video_conference=True, bind_key_id="key-1")
    b = store.add_rule(1, one, "users", "[a-z]+")
    c = store.add_rule(1, two, "users", ".*")
    assert store.get_rule(1, rule_name="Inbound calls").rule_id == a.rule_id  # unique in the account
    assert code_of(store.get_rule, 1, rule_name="users") == 485  # ambiguous: which application?
    assert store.get_rule(1, rule_name="users", application_id=two).rule_id == c.rule_id
    assert code_of(store.get_rule, 1, rule_name="nope", application_id=one) == 156
    assert code_of(store.get_rule, 1, rule_id=c.rule_id, application_id=one) == 147
    ids = lambda rules: [r.rule_id for r in rules]  # noqa: E731
    assert ids(store.list_rules(1, one, template="+123")) == [a.rule_id]
    assert ids(store.list_rules(1, one, template="alice")) == [b.rule_id]
    assert ids(store.list_rules(1, one, template="alice1")) == []
    assert ids(store.list_rules(1, one, name_part="CALL")) == [a.rule_id]
    assert ids(store.list_rules(1, one, video_conference=False)) == [b.rule_id]
    assert ids(store.list_rules(1, one, attached_key_id="key-1")) == [a.rule_id]
    assert ids(store.list_rules(1, one, rule_id=b.rule_id)) == [b.rule_id]


def test_bind_unbind_reorder(store, apps):
    one, two = apps
    rule = store.add_rule(1, one, "r", ".*")
    a, b, c = (store.add_scenario(1, n, n, application_id=one).scenario_id for n in "abc")
    shared = store.add_scenario(1, "shared", "s").scenario_id
    foreign = store.add_scenario(1, "foreign", "f", application_id=two).scenario_id
    store.bind_scenarios(1, rule.rule_id, [b, a])
    store.bind_scenarios(1, rule.rule_id, [a, shared, c])  # a stays where it is
    assert store.get_rule(1, rule_id=rule.rule_id).scenario_ids == [b, a, shared, c]
    assert code_of(store.bind_scenarios, 1, rule.rule_id, [foreign]) == 132
    assert code_of(store.bind_scenarios, 1, rule.rule_id, [9999]) == 132
    assert code_of(store.bind_scenarios, 1, 9999, [a]) == 147
    store.bind_scenarios(1, rule.rule_id, [a], bind=False)
    assert store.get_rule(1, rule_id=rule.rule_id).scenario_ids == [b, shared, c]
    store.reorder_scenarios(1, rule.rule_id, [c, b])
    assert store.get_rule(1, rule_id=rule.rule_id).scenario_ids == [c, b, shared]
    assert code_of(store.reorder_scenarios, 1, rule.rule_id, [a]) == 132
    scenario = store.add_scenario(1, "late", "l", application_id=one, rule_id=rule.rule_id)
    assert store.get_rule(1, rule_id=rule.rule_id).scenario_ids[-1] == scenario.scenario_id
    other_rule = store.add_rule(1, two, "r2", ".*")
    assert code_of(store.add_scenario, 1, "bad", "x", application_id=one, rule_id=other_rule.rule_id) == 132
    assert [s.scenario_name for s in store.list_scenarios(1, name_part="bad")] == []  # rolled back


def test_reorder_and_delete(store, apps):
    one, two = apps
    r1, r2, r3 = (store.add_rule(1, one, n, ".*").rule_id for n in ("a", "b", "c"))
    r4 = store.add_rule(1, two, "a", ".*").rule_id
    assert code_of(store.reorder_rules, 1, [r1, r4]) == 101
    assert code_of(store.reorder_rules, 1, [r1, 9999]) == 147
    store.reorder_rules(1, [r3, r1])
    assert [r.rule_id for r in store.rules_in_order(one)] == [r3, r1, r2]
    assert store.add_rule(1, one, "d", ".*").position > max(r.position for r in store.rules_in_order(one)[:-1])
    assert code_of(store.del_rules, 1, rule_ids=[r1, 9999]) == 147
    assert code_of(store.del_rules, 1, rule_ids=[r4], application_ids=[one]) == 147
    assert code_of(store.del_rules, 1, rule_names=["a", "zzz"], application_ids=[one]) == 156
    assert code_of(store.del_rules, 1, rule_names=["a"]) == 485  # "a" is in both applications
    assert store.del_rules(1, rule_names=["a"], application_ids=[one, two]) == 2
    assert store.del_rules(1, rule_ids=[r2]) == 1
    assert store.del_rules(1, rule_ids="all", application_ids=[one]) == 2
    store.add_rule(1, two, "x", ".*")
    assert store.del_rules(1, rule_ids="all") == 1
    assert store.rules_in_order(one) == store.rules_in_order(two) == []
