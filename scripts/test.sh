#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs ruff, mypy and the test suite.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: SIPp (sip-tester) is the real SIP peer of the interop tests and brings
# its RTP captures (DTMF, G.711 audio); espeak-ng speaks `say` and TTS players; baresip (baresip-core) is
# the softphone of the media interop test and linphonec (linphone-cli) a second one; chromium (and chromium-driver)
# is the browser the console's tests drive with Playwright, which is told to use /usr/bin/chromium instead of
# downloading one; nodejs runs the official Node client of the Management API (tests/mock_api/test_node_client.py),
# npm installs it. A nodejs that brings its own npm (NodeSource's) conflicts with Debian's npm package, so that one is
# only asked for when npm is missing.
node_packages=(nodejs)
command -v npm >/dev/null || node_packages+=(npm)
scripts/apt-ensure.sh sip-tester espeak-ng baresip-core linphone-cli kamailio chromium chromium-driver "${node_packages[@]}"

# The official Node client, pinned, from the npm registry into a folder git ignores (installed once).
node_client_version=4.11.0
if ! grep -qs "\"version\": \"$node_client_version\"" \
        .cache/node/node_modules/@voximplant/apiclient-nodejs/package.json; then
    npm install --prefix .cache/node --no-audit --no-fund "@voximplant/apiclient-nodejs@$node_client_version"
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
