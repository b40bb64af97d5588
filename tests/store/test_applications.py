"""Applications in the store: names in both forms, lookups for the SIP edge, cascading deletes."""


from voxsim.store.applications import short_application_name

from .conftest import code_of


def test_short_name_from_either_form():
    assert short_application_name("myapp", "acc") == "myapp"
    assert short_application_name("myapp.acc.voximplant.com", "acc") == "myapp"
    assert short_application_name("MyApp.ACC.n2.voximplant.com", "acc") == "myapp"
    assert short_application_name("myapp.other.voximplant.com", "acc") == "myapp.other.voximplant.com"


def test_add_and_find_by_id_short_full_and_domain(store):
    app = store.add_application(1, "myapp.acc.voximplant.com", secure_record_storage=True)
    assert app.name == "myapp" and app.application_name == "myapp.acc.voximplant.com" == app.domain
    assert app.secure_record_storage is True
    assert store.find_application(1, application_id=app.application_id) == app
    assert store.find_application(1, application_name="myapp") == app
    assert store.find_application(1, application_name="myapp.acc.voximplant.com") == app
    assert store.find_application(2, application_id=app.application_id) is None  # other account
    assert store.find_application(1) is None
    assert store.find_application_by_domain("MYAPP.acc.voximplant.com.") == app
    assert store.find_application_by_domain("myapp.other.voximplant.com") is None
    assert store.find_application_by_domain("sip.voximplant.com") is None


def test_name_rules(store):
    assert code_of(store.add_application, 1, "Upper") == 107
    assert code_of(store.add_application, 1, "a") == 107
    assert code_of(store.add_application, 1, "9app") == 107
    assert code_of(store.add_application, 1, "a" * 66) == 107
    store.add_application(1, "a" * 65)
    store.add_application(1, "dup")
    assert code_of(store.add_application, 1, "dup") == 129
    store.add_application(2, "dup")  # unique per account only


def test_set_application_info(store):
    app = store.add_application(1, "one")
    store.add_application(1, "two")
    renamed = store.set_application_info(1, required_application_name="one.acc.voximplant.com", new_name="uno")
    assert renamed.application_name == "uno.acc.voximplant.com"
    assert store.set_application_info(1, application_id=app.application_id, new_name="uno").name == "uno"
    assert code_of(store.set_application_info, 1, application_id=app.application_id, new_name="two") == 129
    assert code_of(store.set_application_info, 1, application_id=app.application_id, new_name="x" * 81) == 107
    store.set_application_info(1, application_id=app.application_id, new_name="x" * 80)
    assert code_of(store.set_application_info, 1, application_id=9999) == 116
    assert code_of(store.set_application_info, 1, required_application_name="nope") == 558
    assert code_of(store.get_application, 1) == 485


def test_list_filters(store):
    for name in ("alpha", "beta", "alphabet"):
        store.add_application(1, name)
    store.add_application(2, "alpha")
    assert [a.name for a in store.list_applications(1)] == ["alpha", "beta", "alphabet"]
    assert [a.name for a in store.list_applications(1, name_part="ALPHA")] == ["alpha", "alphabet"]
    beta = store.find_application(1, application_name="beta")
    assert store.list_applications(1, application_id=beta.application_id) == [beta]


def test_delete_is_atomic_and_cascades(store):
    one, two = store.add_application(1, "one"), store.add_application(1, "two")
    user = store.add_user(1, one.application_id, "alice", "Alice", "Passw0rd")
    own = store.add_scenario(1, "own", "x", application_id=one.application_id)
    shared = store.add_scenario(1, "shared", "y")
    rule = store.add_rule(1, one.application_id, "r", ".*", scenario_ids=[own.scenario_id, shared.scenario_id])
    assert code_of(store.del_applications, 1, application_ids=[one.application_id, 9999]) == 116
    assert code_of(store.del_applications, 1, application_names=["one", "nope"]) == 558
    assert len(store.list_applications(1)) == 2
    assert store.del_applications(1, application_names=["one.acc.voximplant.com"]) == 1
    assert store.find_user(one.application_id, user.user_name) is None
    assert store.rules_in_order(one.application_id) == [] and store.rule_scenarios(rule.rule_id) == []
    assert [s.scenario_id for s in store.list_scenarios(1)] == [shared.scenario_id]
    store.add_application(2, "kept")
    assert store.del_applications(1, application_ids="all") == 1
    assert store.list_applications(1) == [] and store.find_application(1, application_id=two.application_id) is None
    assert len(store.list_applications(2)) == 1


def test_wipe_resources_empties_every_family(store):
    app = store.add_application(1, "one")
    store.add_user(1, app.application_id, "alice", "Alice", "Passw0rd")
    scenario = store.add_scenario(1, "s", "x")
    store.add_rule(1, app.application_id, "r", ".*", scenario_ids=[scenario.scenario_id])
    store.wipe_resources()
    assert store.list_applications(1) == [] and store.list_scenarios(1) == []
