from voxsim.errors import VoxError, invalid, only_one_of, specify


def test_messages_name_the_parameter():
    assert specify("rule_id").msg == "Specify the 'rule_id' parameter"
    assert invalid("rule_id", 147).code == 147
    assert "application_id, application_name" in only_one_of("application_id", "application_name").msg
    assert isinstance(specify("x"), VoxError)
