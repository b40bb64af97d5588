#!/bin/sh
# docker/Dockerfile's HEALTHCHECK, also run by tests/test_docker.py: healthy (exit 0) when voxsim's
# GET /_voxsim/health on its HTTP API answers {"status": "ok"}; exit 1 otherwise, with the reason.
# It asks the address and port the emulator was given (VOXSIM_HOST, VOXSIM_API_PORT; 127.0.0.1 when
# voxsim listens on every interface), from inside the container, so the loopback-only controls answer.
set -eu
host="${VOXSIM_HOST:-127.0.0.1}"
case "$host" in 0.0.0.0|"") host=127.0.0.1 ;; ::) host=::1 ;; esac
case "$host" in *:*) host="[$host]" ;; esac
url="http://$host:${VOXSIM_API_PORT:-8080}/_voxsim/health"
exec "${PYTHON:-python3}" - "$url" <<'PY'
import json
import sys
import urllib.request

url = sys.argv[1]
try:
    with urllib.request.urlopen(url, timeout=4) as resp:
        status = json.load(resp).get("status")
except Exception as error:  # refused, timed out, not JSON: all unhealthy
    sys.exit(f"unhealthy: {url}: {error}")
if status != "ok":
    sys.exit(f"unhealthy: {url} answered status {status!r}")
print(f"healthy: {url}")
PY
