#!/usr/bin/env bash
# scripts/redis.sh — provision the redis-server used by the storage/redis tests.
#
# Usage:
#   scripts/redis.sh install   install Debian's redis-server with apt-get if it is
#                              not on PATH (needs root, as on CI machines)
#   scripts/redis.sh check     exit 0 if redis-server is on PATH, 1 otherwise
#
# The tests start their own redis-server on a free 127.0.0.1 port; this script
# never starts a server or enables the Debian service. CI runs
#   bash scripts/redis.sh install
# and sets GOKA_REQUIRE_REDIS=1 so that the tests fail instead of skipping
# when redis-server is missing.
set -euo pipefail

have_redis() { command -v redis-server >/dev/null 2>&1; }

install() {
	if have_redis; then
		echo "redis.sh: $(redis-server --version)"
		return 0
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "redis.sh: redis-server not found and apt-get is not available; install redis-server by hand" >&2
		return 1
	fi
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo="sudo"
		else
			echo "redis.sh: need root (or sudo) to apt-get install redis-server" >&2
			return 1
		fi
	fi
	export DEBIAN_FRONTEND=noninteractive
	# policy-rc.d keeps the package's postinst from starting the system service
	# (the tests start their own server on a free port). Removed again on exit.
	local policy=/usr/sbin/policy-rc.d created_policy=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod +x "$policy"
		created_policy=1
	fi
	local rc=0
	{ $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends redis-server; } || rc=$?
	if [ -n "$created_policy" ]; then
		$sudo rm -f "$policy"
	fi
	if [ "$rc" -ne 0 ]; then
		echo "redis.sh: apt-get install redis-server failed (exit $rc)" >&2
		return "$rc"
	fi
	if ! have_redis; then
		echo "redis.sh: redis-server still not on PATH after install" >&2
		return 1
	fi
	echo "redis.sh: installed $(redis-server --version)"
}

case "${1:-}" in
install) install ;;
check)
	if have_redis; then
		redis-server --version
	else
		echo "redis.sh: redis-server not on PATH" >&2
		exit 1
	fi
	;;
*)
	echo "usage: $0 install|check" >&2
	exit 2
	;;
esac
