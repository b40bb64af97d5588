#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs ruff, mypy and the test suite.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v sipp >/dev/null 2>&1 || [ ! -f /usr/share/sip-tester/dtmf_2833_1.pcap ]; then
    # SIPp is the real SIP peer of the interop tests; its RTP captures (DTMF) come in the same
    # Debian package, sip-tester.
    if [ "$(id -u)" = "0" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

.venv/bin/ruff check .
.venv/bin/mypy --strict sip_edge
.venv/bin/mypy voxsim mock_api
.venv/bin/python -m pytest "$@"
