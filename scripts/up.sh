#!/usr/bin/env bash
# Installs voxsim (espeak-ng from Debian for speech, the package into .venv), then starts it with the
# example scenarios. Extra arguments go to `voxsim up`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/apt-ensure.sh espeak-ng
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -e .
exec .venv/bin/voxsim up --seed examples/voxfiles --seed examples/voice-ai "$@"
