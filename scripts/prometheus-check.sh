#!/usr/bin/env bash
# Lets a real Prometheus server (Debian's `prometheus` package) scrape
# examples/8-monitoring's /metrics (plugin/prometheus) on 127.0.0.1 and
# checks through Prometheus' HTTP API that the lag and throughput series
# exist and move. Ports: PROM_CHECK_EXAMPLE_PORT (19396) and
# PROM_CHECK_PROMETHEUS_PORT (19390). Takes about 30 s.
set -euo pipefail
cd "$(dirname "$0")/.."

PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || true)}
if [ -z "$PROMETHEUS" ]; then
	echo "prometheus-check: no prometheus binary (apt-get install prometheus)" >&2
	exit 1
fi
EX_PORT=${PROM_CHECK_EXAMPLE_PORT:-19396}
PR_PORT=${PROM_CHECK_PROMETHEUS_PORT:-19390}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

(cd examples/8-monitoring && go build -o "$tmp/8-monitoring" .)
"$tmp/8-monitoring" -addr "127.0.0.1:$EX_PORT" -keep-running -emit-every 20ms >"$tmp/example.log" 2>&1 &
pids+=($!)

cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: goka
    static_configs:
      - targets: ['127.0.0.1:$EX_PORT']
YML
"$PROMETHEUS" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--web.listen-address="127.0.0.1:$PR_PORT" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)

api="http://127.0.0.1:$PR_PORT/api/v1/query"
# value QUERY prints the value of the query's first sample, or nothing.
value() {
	curl -fsS --get --data-urlencode "query=$1" "$api" 2>/dev/null |
		sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p' || true
}
# wait_for QUERY TEST: polls until the value passes the awk test on v.
wait_for() {
	local q=$1 test=$2 v=""
	for _ in $(seq 1 60); do
		v=$(value "$q")
		if [ -n "$v" ] && awk -v v="$v" "BEGIN { exit !($test) }"; then
			echo "ok: $q = $v"
			return 0
		fi
		sleep 1
	done
	echo "FAIL: $q = '${v}', want $test" >&2
	echo "--- example log"; tail -20 "$tmp/example.log"
	echo "--- prometheus log"; tail -20 "$tmp/prometheus.log"
	return 1
}

wait_for 'up{job="goka"}' 'v == 1'
wait_for 'count(goka_processor_consumer_lag_messages{group="monitoring-counter"})' 'v >= 4'
wait_for 'count(goka_processor_consumer_lag_seconds{group="monitoring-enricher"})' 'v >= 4'
first=$(value 'sum(goka_processor_messages_processed_total)')
wait_for 'sum(rate(goka_processor_messages_processed_total{group="monitoring-counter"}[5s]))' 'v > 0'
wait_for 'sum(rate(goka_emitter_messages_total[5s]))' 'v > 0'
wait_for 'sum(rate(goka_processor_messages_produced_total{group="monitoring-enricher",kind="emit"}[5s]))' 'v > 0'
wait_for "sum(goka_processor_messages_processed_total) - ${first:-0}" 'v > 0'
wait_for 'sum(changes(goka_processor_consumer_lag_seconds[10s]))' 'v > 0'
wait_for 'sum(goka_processor_assigned_partitions)' 'v == 8'
wait_for 'goka_view_state{state="running"}' 'v == 1'
echo "prometheus-check: passed"
