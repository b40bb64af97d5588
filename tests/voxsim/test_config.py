"""Every setting reachable three ways (voxsim.config and voxsim.settings_sources): `voxsim up` options,
`VOXSIM_*` variables and a TOML file, with one precedence, and errors that name the setting and its source."""

from __future__ import annotations

import dataclasses
import inspect
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from mock_api.callbacks import CallbackSender
from voxsim import cli, settings_sources
from voxsim.app import options_of
from voxsim.config import SECTIONS, CallbackSettings, SettingError, Settings, all_settings, load
from voxsim.edge.settings import EdgeSettings
from voxsim.runtime.settings import RuntimeSettings
from voxsim.settings_sources import field_docs


@pytest.fixture(autouse=True)
def _no_voxsim_toml_around(tmp_path, monkeypatch):
    """`voxsim up` reads ./voxsim.toml: the tests run where there is none unless they write one."""
    monkeypatch.chdir(tmp_path)


def up_args(*argv: str):
    return cli.build_parser().parse_args(["up", *argv])


def from_cli(*argv: str, environ: dict[str, str] | None = None) -> Settings:
    return cli.settings_from(up_args(*argv), environ or {})


def test_every_field_of_settings_and_its_sections_is_a_setting():
    dotted = {s.dotted for s in all_settings()}
    top = {f.name for f in dataclasses.fields(Settings)} - set(SECTIONS)
    nested = {f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in dataclasses.fields(cls)}
    assert dotted == top | nested
    by_name = {s.dotted: s for s in all_settings()}
    rtp_ports = by_name["sip.rtp_ports"]
    assert (rtp_ports.option, rtp_ports.env, rtp_ports.file_key()) == ("--sip-rtp-ports", "VOXSIM_SIP_RTP_PORTS",
                                                                        "[sip] rtp_ports")
    assert by_name["runtime.max_sessions"].option == "--runtime-max-sessions"
    assert by_name["public_address"].env == "VOXSIM_PUBLIC_ADDRESS"
    assert by_name["sip_registration.expires"].env == "VOXSIM_SIP_REGISTRATION_EXPIRES"


def test_two_settings_that_would_share_an_option_are_refused():
    @dataclasses.dataclass
    class Root:
        sip_port: int = 1
        sip: object = None

    @dataclasses.dataclass
    class Sip:
        port: int = 2

    with pytest.raises(ValueError, match="sip_port and sip.port would both be --sip-port"):
        settings_sources.discover(Root, {"sip": Sip})


def test_the_options_from_before_keep_working():
    settings = from_cli("--host", "0.0.0.0", "--api-port", "0", "--api-tls-port", "1", "--sip-port", "2",
                        "--sips-port", "3", "--state", ":memory:", "--allow-remote-control",
                        "--sip-registration-expires", "120", "--sip-registration-retry", "2")
    assert (settings.host, settings.api_port, settings.api_tls_port, settings.sip_port, settings.sips_port,
            settings.state, settings.allow_remote_control) == ("0.0.0.0", 0, 1, 2, 3, ":memory:", True)
    assert settings.sip_registration == {"expires": 120, "retry_initial": 2.0}


def test_nothing_given_is_the_defaults():
    settings = from_cli()
    assert settings == Settings()
    assert settings.sip is None and settings.sip_registration is None and settings.callbacks is None


def test_options_of_every_kind_become_settings():
    settings = from_cli("--public-address", "192.0.2.7", "--sip-rtp-ports", "10000-10100",
                        "--sip-digest-algorithms", "SHA-256, MD5", "--sip-tls-verify", "false",
                        "--sip-media-timeout", "3", "--sip-pstn-gateway", "pbx.local:5080;transport=tcp",
                        "--runtime-max-sessions", "500", "--callbacks-retries", "1",
                        "--default-whitelist", "10.0.0.0/8,192.168.0.0/16")
    assert settings.public_address == "192.0.2.7" and settings.advertised_host == "192.0.2.7"
    edge = options_of(EdgeSettings, settings.sip)
    assert edge.rtp_ports == (10000, 10100) and edge.digest_algorithms == ("SHA-256", "MD5")
    assert edge.tls_verify is False and edge.media_timeout == 3.0
    assert edge.pstn_gateway == "pbx.local:5080;transport=tcp"
    assert settings.runtime == RuntimeSettings(max_sessions=500)
    assert settings.callbacks == {"retries": 1}
    assert settings.default_whitelist == ["10.0.0.0/8", "192.168.0.0/16"]


@pytest.mark.parametrize(("text", "value"), [("true", True), ("1", True), ("False", False), ("0", False)])
def test_booleans_take_true_false_1_0(text: str, value: bool):
    assert from_cli("--allow-remote-control", text).allow_remote_control is value
    assert from_cli(environ={"VOXSIM_ALLOW_REMOTE_CONTROL": text}).allow_remote_control is value


def test_the_precedence_is_option_then_environment_then_file_then_default(tmp_path):
    (tmp_path / "voxsim.toml").write_text('public_address = "file"\naccount_name = "file"\napi_port = 1\n'
                                          "[runtime]\nmax_sessions = 7\nmax_timers = 8\n")
    environ = {"VOXSIM_ACCOUNT_NAME": "env", "VOXSIM_PUBLIC_ADDRESS": "env", "VOXSIM_RUNTIME_MAX_TIMERS": "9"}
    settings = load({"public_address": "option"}, environ, cwd=tmp_path)
    assert settings.public_address == "option"
    assert settings.account_name == "env"
    assert settings.api_port == 1
    assert settings.runtime.max_sessions == 7 and settings.runtime.max_timers == 9
    assert settings.sip_port == Settings().sip_port


def test_a_config_file_named_by_option_with_every_table(tmp_path):
    (tmp_path / "voxsim.toml").write_text('account_name = "not this one"\n')
    chosen = tmp_path / "other.toml"
    chosen.write_text('account_name = "chosen"\ndefault_whitelist = ["10.0.0.0/8"]\n'
                      '[sip]\nrtp_ports = [20000, 20100]\ntls_verify = false\npstn_gateway = "gw"\n'
                      '[sip_registration]\nexpires = 60\nretry_initial = 1\n'
                      '[callbacks]\ntimeout = 2\n'
                      '[runtime]\nsession_idle_timeout = 5\n')
    settings = from_cli("--config", str(chosen))
    assert settings.account_name == "chosen" and settings.default_whitelist == ["10.0.0.0/8"]
    assert settings.sip == {"rtp_ports": (20000, 20100), "tls_verify": False, "pstn_gateway": "gw"}
    assert settings.sip_registration == {"expires": 60, "retry_initial": 1.0}
    assert settings.callbacks == {"timeout": 2.0}
    assert settings.runtime.session_idle_timeout == 5.0


def test_texts_in_the_file_read_as_options_do(tmp_path):
    (tmp_path / "voxsim.toml").write_text('[sip]\nrtp_ports = "30000-30010"\ndigest_algorithms = "MD5,SHA-256"\n')
    assert load({}, {}, cwd=tmp_path).sip == {"rtp_ports": (30000, 30010), "digest_algorithms": ("MD5", "SHA-256")}


@pytest.mark.parametrize(("argv", "environ", "message"), [
    (["--sip-rtp-ports", "10000"], {},
     "bad value for sip.rtp_ports (option --sip-rtp-ports): '10000' is not a range A-B of two integers"),
    ([], {"VOXSIM_RUNTIME_MAX_SESSIONS": "many"},
     "bad value for runtime.max_sessions (environment VOXSIM_RUNTIME_MAX_SESSIONS): 'many' is not an integer"),
    (["--allow-remote-control", "yes please"], {},
     "bad value for allow_remote_control (option --allow-remote-control): 'yes please' is not true, false, 1 or 0"),
    (["--sip-port", "70000"], {}, "bad value for sip_port (option --sip-port): 70000 is not a port (0-65535)"),
    (["--sip-rtp-ports", "20000-10000"], {}, "20000-10000 is not a range of ports with A <= B"),
])
def test_bad_values_name_the_setting_and_where_it_came_from(argv, environ, message):
    with pytest.raises(SettingError) as error:
        from_cli(*argv, environ=environ)
    assert message in str(error.value)


@pytest.mark.parametrize(("text", "message"), [
    ("[sip]\nrtp_ports = [1, 2, 3]\n", "[sip] rtp_ports): 3 value(s) given, 2 expected"),
    ("[runtime]\nmax_timers = 1.5\n", "bad value for runtime.max_timers"),
    ("[runtime]\nmax_timers = true\n", "True is not an integer"),
    ("[sip]\nrtp_port = [1, 2]\n", "[sip] rtp_port is not a setting (did you mean rtp_ports?)"),
    ("sip = 5\n", "sip is a table of settings ([sip]), not a value"),
    ("public_address = \n", "is not valid TOML"),
])
def test_bad_files_name_the_file_and_the_key(tmp_path, text: str, message: str):
    path = tmp_path / "voxsim.toml"
    path.write_text(text)
    with pytest.raises(SettingError) as error:
        load({}, {}, cwd=tmp_path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_a_missing_config_file_is_an_error_only_when_named(tmp_path):
    assert load({}, {}, cwd=tmp_path) == Settings()
    with pytest.raises(SettingError, match="cannot read the config file"):
        load({}, {}, config=tmp_path / "nope.toml")


def test_voxsim_up_with_a_bad_value_exits_2_and_says_why(capsys, monkeypatch):
    assert cli.main(["up", "--runtime-max-sessions", "lots"]) == 2
    assert "voxsim: bad value for runtime.max_sessions (option --runtime-max-sessions)" in capsys.readouterr().err
    monkeypatch.setenv("VOXSIM_SIP_RTP_PORTS", "1-")
    assert cli.main(["up"]) == 2
    assert "(environment VOXSIM_SIP_RTP_PORTS): '1-' is not a range A-B" in capsys.readouterr().err


def test_a_voxsim_variable_that_names_no_setting_is_reported(capsys):
    from_cli(environ={"VOXSIM_SIP_RTP_PORT": "1-2"})
    assert "VOXSIM_SIP_RTP_PORT is set but names no setting" in capsys.readouterr().err


def test_help_lists_every_setting_with_its_default_and_variable(capsys):
    with pytest.raises(SystemExit) as done:
        cli.build_parser().parse_args(["up", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for setting in all_settings():
        assert setting.option in text and setting.env in text
    assert "--sip-rtp-ports A-B Even UDP ports reserved for calls' RTP" in text
    assert "(default 10000-20000; VOXSIM_SIP_RTP_PORTS)" in text
    assert "(default 1000; VOXSIM_RUNTIME_MAX_SESSIONS)" in text
    assert "(default \"\"; VOXSIM_PUBLIC_ADDRESS)" in text


def test_field_docs_read_docstrings_and_comments():
    assert field_docs(EdgeSettings)["rtp_ports"].startswith("Even UDP ports reserved for calls' RTP")
    assert field_docs(RuntimeSettings)["pool_size"] == "Isolates created ahead of need (with the shim already loaded)."
    assert field_docs(Settings)["state"] == 'State folder, or ":memory:" to keep nothing on disk.'


def test_callback_settings_are_the_senders_keyword_arguments():
    parameters = inspect.signature(CallbackSender).parameters
    for f in dataclasses.fields(CallbackSettings):
        assert parameters[f.name].default == f.default


def test_the_pytest_plugin_is_registered_by_its_entry_point(pytestconfig):
    """pyproject's `pytest11` entry point: installing voxsim is enough (tests/conftest.py names no plugin)."""
    found = [e for e in entry_points(group="pytest11") if e.name == "voxsim"]
    assert [e.value for e in found] == ["voxsim.testing"]
    assert pytestconfig.pluginmanager.get_plugin("voxsim").__name__ == "voxsim.testing"
    conftest = Path(__file__).resolve().parents[1] / "conftest.py"
    assert "pytest_plugins" not in conftest.read_text().replace("`pytest_plugins`", "")

