#!/usr/bin/env bash
# scripts/gotest.sh — runs `go test ARGS...` with its output streamed as
# usual and, when it fails, repeats at the end what a reader of a long CI
# log needs: the tests that failed, and on a timeout the tests that were
# still running (Go prints those above a goroutine dump that can be
# thousands of lines long, so a log's tail never shows them).
#
# Usage: scripts/gotest.sh [go test flags and packages]
# Environment: GO, the go command to run [go]
set -uo pipefail

log="$(mktemp "${TMPDIR:-/tmp}/gotest.XXXXXX")"
trap 'rm -f "$log"' EXIT

"${GO:-go}" test "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
	{
		echo "gotest.sh: go test $* failed (exit $rc). Summary:"
		grep -E '^(--- FAIL|FAIL|panic:)' "$log" | head -40
		# The lines under "running tests:" name the tests a timeout caught.
		awk '/^[[:space:]]*running tests:/ {on = 1; print; next}
			on && /^[[:space:]]+Test/ {print; next}
			on {exit}' "$log"
	} >&2
fi
exit "$rc"
