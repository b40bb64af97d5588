#!/bin/sh
# The container's entry point (docker/Dockerfile), also run outside Docker by tests/test_docker.py.
# voxsim listens on every interface of the container and keeps its state in the volume unless told otherwise
# (VOXSIM_HOST, VOXSIM_STATE and every other VOXSIM_* setting pass through). Arguments:
#   (none)                 voxsim up
#   -... / --seed PATH     voxsim up with those options
#   up|deploy|status|...   that voxsim command
#   anything else          run as given (the compose file's SIPp service: scripts/docker-sipp.sh)
# `exec` makes the command PID 1's successor, so `docker stop`'s SIGTERM reaches voxsim, which hangs up its
# calls and writes their history before it exits.
set -eu
: "${VOXSIM_HOST:=0.0.0.0}"
: "${VOXSIM_STATE:=/var/lib/voxsim}"
export VOXSIM_HOST VOXSIM_STATE
[ "$#" -gt 0 ] || set -- up
case "$1" in
    up|deploy|export|call|route|status|logs|reset) exec voxsim "$@" ;;
    -*) exec voxsim up "$@" ;;
    *) exec "$@" ;;
esac
