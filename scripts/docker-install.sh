#!/usr/bin/env bash
# The one build step of docker/Dockerfile (its only RUN), also run outside Docker by tests/test_docker.py:
# the Debian packages voxsim uses (espeak-ng for `say`, SIPp from sip-tester for the compose file's trunk),
# the non-root user the container runs as, its state folder, and voxsim itself from the source folder.
#
# Every target is a variable, so the test can install into a temporary folder without touching the machine:
#   VOXSIM_SRC        the source folder to install (default: the folder above this script)
#   VOXSIM_USER       the user that owns the state (default voxsim; created when missing)
#   VOXSIM_STATE      the state folder, the image's volume (default /var/lib/voxsim)
#   PYTHON            the interpreter whose pip installs voxsim (default python3)
#   VOXSIM_PIP_ARGS   extra pip arguments (the test: --no-deps --target DIR)
#   VOXSIM_APT_CLEAN  1: empty apt's lists afterwards (the image sets it; never on a developer's machine)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${VOXSIM_SRC:-$(dirname "$here")}"
user="${VOXSIM_USER:-voxsim}"
state="${VOXSIM_STATE:-/var/lib/voxsim}"
python="${PYTHON:-python3}"

"$here/apt-ensure.sh" espeak-ng sip-tester
if [ "${VOXSIM_APT_CLEAN:-0}" = "1" ]; then
    apt-get clean
    rm -rf /var/lib/apt/lists/*
fi

if ! id -u "$user" >/dev/null 2>&1; then
    useradd --system --uid 10001 --user-group --home-dir "$state" --shell /usr/sbin/nologin "$user"
fi
mkdir -p "$state"
chown "$user:$(id -gn "$user")" "$state"

# shellcheck disable=SC2086  # VOXSIM_PIP_ARGS is a list of arguments
"$python" -m pip install --no-cache-dir --disable-pip-version-check ${VOXSIM_PIP_ARGS:-} "$src"
echo "docker-install: voxsim installed from $src; state $state owned by $user"
