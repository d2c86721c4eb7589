#!/usr/bin/env bash
# scripts/goka-compat.sh — compiles and runs Goka's own code against this
# module with nothing changed but the import paths: the promise that a Goka
# v1 program builds and behaves the same after changing its imports. Also
# runs our benchmark harness with Goka in place of this library.
#
# Usage: scripts/goka-compat.sh COMMAND
#
#   unit     build Goka's examples, integration tests and system tests
#            against this module and run the tests that need no broker
#            (integrationtest, examples' tests, tester/tester_test.go)
#   system   run Goka's system tests against the brokers in
#            GOKA_SYSTEMTEST_BROKERS (a 3-node cluster: some topics use
#            replication 2), e.g. those of `scripts/kafka.sh cluster-brokers`.
#            They assume Kafka's default group.initial.rebalance.delay.ms
#            (3 s, as in Goka's docker-compose): TestHotStandby expects both
#            of its processors in the group's first generation. `make
#            systemtest` starts the cluster so.
#   bench [FLAGS]
#            copy bench/ to $GOKA_COMPAT_DIR/bench-goka with the imports of
#            the packages goka, codec and storage pointed at Goka
#            (kafkatest, the embedded broker, stays ours: Goka has none),
#            build it and run it from the repository root with FLAGS
#            (default: those of `make bench`, writing
#            bench-goka-results.json). Sarama is the same version for both
#            (Go's minimal version selection picks the newer of the two
#            requirements), so the ceiling runs compare directly.
#
# Goka's sources come from the Go module proxy (`go mod download`), are
# copied to $GOKA_COMPAT_DIR and get their imports rewritten:
# github.com/lovoo/goka → github.com/e3793d55/goka, and Goka's examples
# module path → compat/examples. A go.mod there replaces our module with
# this checkout.
#
# Left out, each for a stated reason:
#   - examples/7-redis: Goka's storage/redis takes a gopkg.in/redis.v5
#     client, ours a github.com/redis/go-redis/v9 client (README, Migrating);
#   - systemtest TestTopicManager_v11/ensure-new-stream: it sets sarama's
#     Version to 0.11, so sarama describes topic configs with DescribeConfigs
#     v0, which Kafka 4 no longer serves (KIP-896): the broker closes the
#     connection. Goka fails it the same way on Kafka 4.
#
# Environment (defaults in brackets):
#   GOKA_VERSION [v1.1.16]                     Goka release to check
#   GOKA_COMPAT_DIR [.cache/goka-compat/<ver>] where the rewritten copies go
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GOKA_VERSION="${GOKA_VERSION:-v1.1.16}"
GOKA_COMPAT_DIR="${GOKA_COMPAT_DIR:-$ROOT/.cache/goka-compat/$GOKA_VERSION}"
SYSTEM_SKIP='^TestTopicManager_v11$/^ensure-new-stream$'

log() { echo "goka-compat: $*" >&2; }

prepare() {
	local src
	src="$(cd "$ROOT" && go mod download -json "github.com/lovoo/goka@$GOKA_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	if [ -z "$src" ] || [ ! -d "$src" ]; then
		log "cannot download github.com/lovoo/goka@$GOKA_VERSION"
		exit 1
	fi
	rm -rf "$GOKA_COMPAT_DIR"
	mkdir -p "$GOKA_COMPAT_DIR"
	cp -R "$src/examples" "$src/integrationtest" "$src/systemtest" "$GOKA_COMPAT_DIR/"
	chmod -R u+w "$GOKA_COMPAT_DIR" # the module cache is read-only
	rm -rf "$GOKA_COMPAT_DIR/examples/7-redis"
	# Goka's tester/tester_test.go is an in-package test (package tester,
	# calling New and WithTime unqualified): it runs next to a copy of our
	# tester package's sources, so that only its import paths change.
	mkdir -p "$GOKA_COMPAT_DIR/tester"
	cp "$src/tester/tester_test.go" "$GOKA_COMPAT_DIR/tester/"
	find "$ROOT/tester" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$GOKA_COMPAT_DIR/tester/" \;
	find "$GOKA_COMPAT_DIR" -name '*.go' -exec sed -i \
		-e 's#"github.com/lovoo/goka/examples#"compat/examples#g' \
		-e 's#"github.com/lovoo/goka#"github.com/e3793d55/goka#g' {} +
	if grep -rq 'lovoo/goka' --include='*.go' "$GOKA_COMPAT_DIR"; then
		# Only comments may still name Goka.
		grep -rn 'lovoo/goka' --include='*.go' "$GOKA_COMPAT_DIR" | grep -v '//' && {
			log "imports left unrewritten"
			exit 1
		}
	fi
	write_module "$GOKA_COMPAT_DIR" compat
	log "Goka $GOKA_VERSION's examples, integrationtest and systemtest in $GOKA_COMPAT_DIR"
}

# write_module DIR NAME [REQUIRE...]: a go.mod in DIR that requires this
# module (replaced by this checkout) and each REQUIRE ("path version"),
# then go mod tidy.
write_module() {
	local dir=$1 name=$2 req
	shift 2
	{
		echo "module $name"
		echo
		echo "go $(sed -n 's/^go //p' "$ROOT/go.mod")"
		echo
		echo "require github.com/e3793d55/goka v0.0.0"
		for req in "$@"; do
			echo "require $req"
		done
		echo
		echo "replace github.com/e3793d55/goka => $ROOT"
	} >"$dir/go.mod"
	(cd "$dir" && go mod tidy >/dev/null)
}

unit() {
	prepare
	cd "$GOKA_COMPAT_DIR"
	log "building everything, tests included"
	go build ./...
	go test -count=1 -run '^$' ./... >/dev/null
	log "running the tests that need no broker"
	go test -count=1 -timeout 10m ./integrationtest/... ./examples/... ./tester/...
}

system() {
	if [ -z "${GOKA_SYSTEMTEST_BROKERS:-}" ]; then
		log "GOKA_SYSTEMTEST_BROKERS is not set (e.g. \$(scripts/kafka.sh cluster-brokers))"
		exit 2
	fi
	prepare
	cd "$GOKA_COMPAT_DIR"
	log "running Goka's system tests on $GOKA_SYSTEMTEST_BROKERS (skipping $SYSTEM_SKIP)"
	# They take about 5 minutes here; 15 bounds a hung test's cost to CI.
	GOKA_SYSTEMTEST=1 bash "$ROOT/scripts/gotest.sh" -v -p 1 -count=1 -timeout 15m -skip "$SYSTEM_SKIP" ./systemtest/
}

bench() {
	local dir="$GOKA_COMPAT_DIR/bench-goka"
	rm -rf "$dir"
	mkdir -p "$dir/bench"
	cp "$ROOT"/bench/*.go "$dir/bench/"
	sed -i \
		-e 's#"github.com/e3793d55/goka"#"github.com/lovoo/goka"#' \
		-e 's#"github.com/e3793d55/goka/codec"#"github.com/lovoo/goka/codec"#' \
		-e 's#"github.com/e3793d55/goka/storage"#"github.com/lovoo/goka/storage"#' \
		"$dir"/bench/*.go
	write_module "$dir" benchgoka "github.com/lovoo/goka $GOKA_VERSION"
	(cd "$dir" && go build -o bench-goka ./bench)
	log "bench with Goka $GOKA_VERSION, sarama $(cd "$dir" && go list -m -f '{{.Version}}' github.com/IBM/sarama)"
	if [ $# -eq 0 ]; then
		set -- -n 1000000 -keys 10000 -partitions 10 -out bench-goka-results.json
	fi
	# From the repository root, so that a relative -out lands there.
	cd "$ROOT"
	exec "$dir/bench-goka" "$@"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
unit) unit ;;
system) system ;;
bench) bench "$@" ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
