"""docker/Dockerfile and docker/docker-compose.yml without a Docker daemon.

The files are read and checked against the repository (every file they copy or run exists, their ports are
the settings' defaults), and the image's build is replayed outside Docker: the Dockerfile's COPY sources go to
a temporary folder, its RUN scripts run there with its ENV (the targets pointed into that folder), then its
entry point starts voxsim with the compose file's command on ephemeral ports, and its health check and the
compose file's SIPp service are run against it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from voxsim.config import Settings
from voxsim.edge.settings import EdgeSettings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "docker-compose.yml"


# -- reading the Dockerfile -------------------------------------------------------------------------

@dataclass(frozen=True)
class Instruction:
    name: str
    args: str

    def argv(self) -> list[str]:
        """The exec form (a JSON list) or the shell form split as a shell would."""
        return json.loads(self.args) if self.args.startswith("[") else shlex.split(self.args)


def instructions(text: str) -> list[Instruction]:
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [Instruction(*(line.strip().split(None, 1) + [""])[:2]) for line in joined.splitlines() if line.strip()]


DOCKER = instructions(DOCKERFILE.read_text())


def only(name: str) -> Instruction:
    (found,) = [i for i in DOCKER if i.name == name]
    return found


def every(name: str) -> list[Instruction]:
    return [i for i in DOCKER if i.name == name]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in every("ENV"):
        env.update(pair.split("=", 1) for pair in shlex.split(instruction.args))
    return env


WORKDIR = Path(only("WORKDIR").args)
"""Where the image keeps the source; the repository's root is its counterpart here."""


def in_repo(path_in_image: str) -> Path:
    """The repository's file that a path of the image (absolute, or relative to WORKDIR) holds."""
    path = WORKDIR / path_in_image
    assert path.is_relative_to(WORKDIR), f"{path_in_image} is not under {WORKDIR}"
    return ROOT / path.relative_to(WORKDIR)


def healthcheck_argv() -> list[str]:
    """HEALTHCHECK [OPTIONS] CMD ["..."]: the command's exec form."""
    args = only("HEALTHCHECK").args
    return json.loads(args[args.index(" CMD ") + 5:].strip())


def copies() -> list[tuple[Path, str]]:
    """(source in the repository, destination relative to WORKDIR) of every COPY."""
    pairs = []
    for instruction in every("COPY"):
        *sources, dest = instruction.argv()
        pairs += [(ROOT / source, dest) for source in sources]
    return pairs


# -- reading the compose file (block mappings and lists, plain, "quoted" and [flow] scalars) ---------

def _strip_comment(line: str) -> str:
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted and (i == 0 or line[i - 1] == " "):
            return line[:i].rstrip()
    return line.rstrip()


def _scalar(text: str) -> Any:
    text = text.strip()
    return json.loads(text) if text.startswith(("[", "{", '"')) else text


def _block(rows: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if rows[i][1].startswith("- "):
        items = []
        while i < len(rows) and rows[i][0] == indent and rows[i][1].startswith("- "):
            item = rows[i][1][2:]
            if re.match(r"[\w.-]+:( |$)", item):  # a mapping in the list, its first key on the dash's line
                rows[i] = (indent + 2, item)
                value, i = _block(rows, i, indent + 2)
            else:
                value, i = _scalar(item), i + 1
            items.append(value)
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(rows) and rows[i][0] == indent:
        key, _, rest = rows[i][1].partition(":")
        if rest.strip():
            mapping[key], i = _scalar(rest), i + 1
        elif i + 1 < len(rows) and rows[i + 1][0] > indent:
            mapping[key], i = _block(rows, i + 1, rows[i + 1][0])
        else:
            mapping[key], i = None, i + 1
    return mapping, i


def load_compose(text: str) -> Any:
    rows = [(len(line) - len(line.lstrip()), line.strip()) for line in map(_strip_comment, text.splitlines())
            if line.strip()]
    value, end = _block(rows, 0, rows[0][0])
    assert end == len(rows), f"cannot read the compose file from: {rows[end][1]}"
    return value


COMPOSE_FILE = load_compose(COMPOSE.read_text())
SERVICES = COMPOSE_FILE["services"]


def test_the_compose_reader_reads_what_the_file_says():
    assert load_compose('a:\n  b: "x # y"  # z\n  c:\n    - 1\n    - k: v\n      l: [1, 2]\n  d: {}\n') == {
        "a": {"b": "x # y", "c": ["1", {"k": "v", "l": [1, 2]}], "d": {}}}


# -- the files --------------------------------------------------------------------------------------

def test_the_dockerfile_copies_and_runs_only_what_the_repository_has():
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", only("FROM").args)
    for source, _ in copies():
        assert source.exists(), f"COPY {source.relative_to(ROOT)}: no such file in the repository"
    copied = {dest.rstrip("/") for _, dest in copies()}
    steps = [i.argv() for i in every("RUN")] + [only("ENTRYPOINT").argv()]
    steps.append(healthcheck_argv())
    for argv in steps:
        assert len(argv) == 1, f"{argv}: every step is one script of the repository, without arguments"
        script = in_repo(argv[0])
        assert script.parent == ROOT / "scripts" and "scripts" in copied, f"{argv[0]} is not a copied script"
        assert script.is_file() and os.access(script, os.X_OK), f"{script} is missing or not executable"


def test_the_image_runs_as_its_own_user_with_the_state_in_the_volume():
    env = image_env()
    assert only("USER").args == env["VOXSIM_USER"] != "root"
    assert json.loads(only("VOLUME").args) == [env["VOXSIM_STATE"]]
    assert env["VOXSIM_HOST"] == "0.0.0.0"


def default_ports() -> set[str]:
    settings, edge = Settings(), EdgeSettings()
    low, high = edge.rtp_ports
    return {f"{settings.api_port}/tcp", f"{settings.api_tls_port}/tcp", f"{settings.sip_port}/udp",
            f"{settings.sip_port}/tcp", f"{settings.sips_port}/tcp", f"{low}-{high}/udp"}


def test_the_exposed_ports_are_the_settings_defaults():
    assert set(only("EXPOSE").argv()) == default_ports()
    assert "VOXSIM_API_PORT" not in image_env()  # the health check asks the default port


def test_the_compose_file_builds_this_image_and_seeds_the_example():
    for service in SERVICES.values():
        build = service["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    voxsim = SERVICES["voxsim"]
    command = voxsim["command"]
    assert command[0] == "up"
    seed = in_repo(command[command.index("--seed") + 1])
    assert (seed / "applications").is_dir()
    assert [v.split(":")[1] for v in voxsim["volumes"]] == [image_env()["VOXSIM_STATE"]]
    (sipp_script, target) = SERVICES["sipp"]["command"]
    assert in_repo(sipp_script).is_file() and target == f"voxsim:{Settings().sip_port}"
    assert SERVICES["sipp"]["depends_on"] == {"voxsim": {"condition": "service_healthy"}}


def test_the_compose_file_publishes_the_default_ports_and_its_rtp_range():
    voxsim = SERVICES["voxsim"]
    published = {}
    for mapping in voxsim["ports"]:
        host_ip, host_port, container = mapping.split(":")
        assert host_ip == "127.0.0.1", "the controls reveal the account's key: the host's loopback only"
        published[container] = host_port
    rtp = voxsim["environment"]["VOXSIM_SIP_RTP_PORTS"]
    low, high = map(int, rtp.split("-"))
    default_low, default_high = EdgeSettings().rtp_ports
    assert default_low <= low < high <= default_high
    assert set(published) == (default_ports() - {f"{default_low}-{default_high}/udp"}) | {f"{rtp}/udp"}
    assert all(published[port] == port.split("/")[0] for port in published)
    subnet = COMPOSE_FILE["networks"]["voxsim"]["ipam"]["config"][0]["subnet"]
    assert subnet in voxsim["environment"]["VOXSIM_DEFAULT_WHITELIST"].split(",")


# -- the build, replayed outside Docker -------------------------------------------------------------

@dataclass
class Image:
    src: Path
    """WORKDIR's counterpart: what the COPY instructions put there."""
    site: Path
    """Where the install script's pip put voxsim."""
    state: Path

    def path(self, path_in_image: str) -> Path:
        return self.src / (WORKDIR / path_in_image).relative_to(WORKDIR)

    def env(self, **values: str) -> dict[str, str]:
        """The environment of a container: the image's ENV, voxsim from the installed copy, and `values`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXSIM_")}
        env.update(image_env())
        env.update(PATH=f"{self.site / 'bin'}{os.pathsep}{env['PATH']}", PYTHONPATH=str(self.site),
                   VOXSIM_STATE=str(self.state))
        env.update(values)
        return env


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    base = tmp_path_factory.mktemp("image")
    built = Image(src=base / "src", site=base / "site", state=base / "state")
    for source, dest in copies():
        target = built.src / dest
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
            continue
        if dest.endswith("/"):
            target = target / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    env = built.env(VOXSIM_USER=user, VOXSIM_APT_CLEAN="0", PYTHON=sys.executable,
                    VOXSIM_PIP_ARGS=f"--no-deps --target {built.site}")
    for step in every("RUN"):
        done = subprocess.run(step.argv(), cwd=built.src, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"RUN {step.args} failed:\n{done.stdout}\n{done.stderr}"
    return built


def test_the_install_script_installs_voxsim_with_its_scenario_shim_and_the_state_folder(image: Image):
    assert (image.site / "voxsim" / "runtime" / "voxengine.js").is_file()
    assert list((image.site / "voxsim" / "runtime" / "shim").glob("*.js"))
    assert (image.site / "voxsim" / "cli.py").is_file() and (image.site / "bin" / "voxsim").is_file()
    assert image.state.is_dir()
    found = subprocess.run([sys.executable, "-c", "import voxsim; print(voxsim.__file__)"], env=image.env(),
                           cwd=image.site.parent, capture_output=True, text=True, check=True)
    assert Path(found.stdout.strip()).is_relative_to(image.site)


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return int(port)
    raise AssertionError("no port free for both UDP and TCP")


def health(image: Image, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(image.path(healthcheck_argv()[0]))], env=env, capture_output=True, text=True,
                          timeout=30)


@pytest.fixture
def container(image: Image, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str], list[str]]]:
    """The entry point with the compose file's command (its seed path in the image's copy), on ephemeral ports."""
    env = image.env(VOXSIM_HOST="127.0.0.1", VOXSIM_API_PORT=str(free_port()), VOXSIM_API_TLS_PORT="0",
                    VOXSIM_SIP_PORT=str(free_port()), VOXSIM_SIPS_PORT="0", VOXSIM_SIP_RTP_PORTS="0-0",
                    VOXSIM_STATE=str(tmp_path / "state"))
    command = [str(image.path(a)) if a.startswith(str(WORKDIR)) else a for a in SERVICES["voxsim"]["command"]]
    proc = subprocess.Popen([str(image.path(only("ENTRYPOINT").argv()[0])), *command], env=env, cwd=image.src,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    try:
        while "voxsim is ready\n" not in lines:
            line = proc.stdout.readline() if proc.stdout else ""
            assert line, "voxsim did not start:\n" + "".join(lines)
            lines.append(line)
        yield proc, env, lines
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_the_entrypoint_runs_voxsim_healthy_and_the_sipp_service_calls_it(image: Image, container):
    proc, env, lines = container
    assert any(line.startswith("voxsim: seeded ") for line in lines)

    checked = health(image, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == f"healthy: http://127.0.0.1:{env['VOXSIM_API_PORT']}/_voxsim/health"

    sipp = subprocess.run([str(image.path(SERVICES["sipp"]["command"][0])), f"127.0.0.1:{env['VOXSIM_SIP_PORT']}"],
                          env={**env, "SIPP_LOCAL_IP": "127.0.0.1"}, capture_output=True, text=True, timeout=60)
    assert sipp.returncode == 0, sipp.stdout + sipp.stderr
    api = f"http://127.0.0.1:{env['VOXSIM_API_PORT']}"
    with urllib.request.urlopen(f"{api}/_voxsim/sessions", timeout=10) as resp:
        sessions = json.load(resp)["result"]
    assert [s["rule_name"] for s in sessions] == ["greeting"]

    proc.send_signal(signal.SIGTERM)  # what `docker stop` sends: the exec'd voxsim receives it
    rest = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0 and "voxsim: stopped" in rest
    down = health(image, env)
    assert down.returncode == 1 and down.stderr.startswith(f"unhealthy: {api}/_voxsim/health")


def test_the_entrypoint_passes_other_commands_through_with_the_container_defaults(image: Image):
    entrypoint = str(image.path(only("ENTRYPOINT").argv()[0]))
    env = {k: v for k, v in image.env().items() if k not in ("VOXSIM_HOST", "VOXSIM_STATE")}
    shown = subprocess.run([entrypoint, "sh", "-c", 'echo "$VOXSIM_HOST $VOXSIM_STATE"'], env=env,
                           capture_output=True, text=True, timeout=30)
    assert shown.stdout == "0.0.0.0 /var/lib/voxsim\n"
    status = subprocess.run([entrypoint, "status", "--api", "http://127.0.0.1:9"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 1 and "cannot reach the emulator at http://127.0.0.1:9" in status.stderr
    helped = subprocess.run([entrypoint, "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--seed PATH" in helped.stdout
