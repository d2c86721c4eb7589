#!/usr/bin/env bash
# scripts/compose-check.sh — checks examples/docker-compose.yml without
# Docker (CI machines have none): the Kafka and Redis settings it gives the
# containers are run here, on the same ports, and the examples it documents
# are run against them.
#
# Usage: scripts/compose-check.sh
#
# Kafka: the KAFKA_* environment of the kafka service becomes
# server.properties the way the apache/kafka image does it (drop KAFKA_,
# lower-case, '___' → '-', '__' → '_', '_' → '.'); only log.dirs is added,
# pointing at a temporary directory. The storage is formatted, the broker
# started from the jars of scripts/kafka.sh, and the service's health check
# (kafka-broker-api-versions.sh, i.e. BrokerApiVersionsCommand) must pass.
# Then `KAFKA_BROKERS=localhost:9092 go run ./examples/1-simplest` must print
# its counts. Redis: redis-server runs with the service's command line, and
# examples/7-redis runs against both.
#
# What this does not check: that the image tags exist and that Docker starts
# them. Ports 9092, 9093 and 6379 must be free.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COMPOSE="$ROOT/examples/docker-compose.yml"
KAFKA_SH="$ROOT/scripts/kafka.sh"
WORK="$(mktemp -d)"
KAFKA_PID="" REDIS_PID=""

log() { echo "compose-check: $*" >&2; }
die() {
	log "$*"
	exit 1
}

cleanup() {
	[ -n "$KAFKA_PID" ] && kill -TERM -- "-$KAFKA_PID" 2>/dev/null || true
	[ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null || true
	if [ -n "$KAFKA_PID" ]; then
		for _ in $(seq 1 40); do
			kill -0 -- "-$KAFKA_PID" 2>/dev/null || break
			sleep 0.5
		done
		kill -KILL -- "-$KAFKA_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in 9092 9093 6379; do
	port_free "$p" || die "port $p is in use; the compose file publishes it"
done

# service_block SERVICE: the lines of one service of the compose file.
service_block() {
	awk -v svc="  $1:" '
		$0 == svc { in_svc = 1; next }
		in_svc && /^  [^ #]/ { in_svc = 0 }
		in_svc { print }
	' "$COMPOSE"
}

# ---- Kafka
props="$WORK/server.properties"
service_block kafka | awk '
	/^    environment:/ { in_env = 1; next }
	in_env && /^    [^ #]/ { in_env = 0 }
	in_env && /^      KAFKA_[A-Z0-9_]+:/ { print }
' | while IFS= read -r line; do
	name="${line%%:*}"
	name="${name#"${name%%[![:space:]]*}"}"
	value="${line#*:}"
	value="${value#"${value%%[![:space:]]*}"}"
	value="${value%\"}" value="${value#\"}"
	key="${name#KAFKA_}"
	key="${key//___/-}"
	key="${key//__/@}"
	key="${key//_/.}"
	key="${key//@/_}"
	echo "${key,,}=$value"
done >"$props"
[ -s "$props" ] || die "no KAFKA_* environment found in the kafka service of $COMPOSE"
echo "log.dirs=$WORK/kafka-data" >>"$props"
log "Kafka settings of $COMPOSE:"
sed 's/^/    /' "$props" >&2

cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
cluster_id="A${cluster_id:1}"
bash "$KAFKA_SH" run kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$props" \
	>"$WORK/format.log" 2>&1 || {
	cat "$WORK/format.log" >&2
	die "formatting the storage failed"
}
setsid bash "$KAFKA_SH" run kafka.Kafka "$props" >"$WORK/kafka.log" 2>&1 &
KAFKA_PID=$!
log "broker started (pid $KAFKA_PID); waiting for the health check"
healthy=""
for _ in $(seq 1 60); do
	kill -0 "$KAFKA_PID" 2>/dev/null || {
		tail -30 "$WORK/kafka.log" >&2
		die "the broker exited"
	}
	# The compose health check: kafka-broker-api-versions.sh --bootstrap-server localhost:9092
	if bash "$KAFKA_SH" run org.apache.kafka.tools.BrokerApiVersionsCommand \
		--bootstrap-server localhost:9092 >"$WORK/health.log" 2>&1; then
		healthy=1
		break
	fi
	sleep 1
done
[ -n "$healthy" ] || {
	tail -30 "$WORK/kafka.log" "$WORK/health.log" >&2
	die "the health check did not pass within 60 tries"
}
log "health check passed"

cd "$ROOT"
out="$(KAFKA_BROKERS=localhost:9092 go run ./examples/1-simplest 2>&1)" || {
	echo "$out" >&2
	die "examples/1-simplest failed against the compose settings"
}
grep -q "user-0 has 10 messages" <<<"$out" || {
	echo "$out" >&2
	die "examples/1-simplest did not print its counts"
}
log "examples/1-simplest: $(grep -c ' has ' <<<"$out") counts printed"

# ---- Redis
if ! command -v redis-server >/dev/null; then
	die "redis-server is not installed (scripts/redis.sh install)"
fi
redis_cmd="$(service_block redis | sed -n 's/^    command: *\[\(.*\)\]$/\1/p')"
[ -n "$redis_cmd" ] || die "no command line found in the redis service of $COMPOSE"
# The JSON-style list to words: ["redis-server", "--save", ""] → redis-server --save ''
eval "redis_args=($(sed 's/, */ /g' <<<"$redis_cmd"))"
[ "${redis_args[0]}" = "redis-server" ] || die "the redis service does not run redis-server: ${redis_args[*]}"
(cd "$WORK" && exec redis-server "${redis_args[@]:1}" --port 6379 --bind 127.0.0.1) >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 50); do
	port_free 6379 || break
	sleep 0.1
done
port_free 6379 && die "redis-server did not start: $(tail -5 "$WORK/redis.log")"
out="$(REDIS_ADDR=localhost:6379 KAFKA_BROKERS=localhost:9092 go run ./examples/7-redis 2>&1)" || {
	echo "$out" >&2
	die "examples/7-redis failed against the compose settings"
}
log "examples/7-redis: $(tail -1 <<<"$out")"
log "ok: the compose file's Kafka and Redis settings serve the examples"
