#!/bin/sh
# The compose file's SIPp service (docker/docker-compose.yml), also run by tests/test_docker.py: a trunk
# places SIPP_CALLS calls (default 1) to the example's greeting, 100@demo.voxsim.voximplant.com (answered,
# "Hello from voxsim", hung up by voxsim), at the address given (default voxsim:5060, the compose service).
# Exits with SIPp's status: 0 when every call went through.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-voxsim:5060}"
set -- -sf "$here/examples/sipp/call.xml" -s "${SIPP_DESTINATION:-100}" -key domain "${SIPP_DOMAIN:-demo.voxsim.voximplant.com}" \
    -m "${SIPP_CALLS:-1}" -p "${SIPP_PORT:-0}" -nostdin -timeout "${SIPP_TIMEOUT:-30s}"
[ -z "${SIPP_LOCAL_IP:-}" ] || set -- "$@" -i "$SIPP_LOCAL_IP"
exec sipp "$@" "$target"
