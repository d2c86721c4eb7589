#!/usr/bin/env bash
# bench/scaling.sh — how cost grows with the work (make bench-scaling): runs
# the bench harness (one run each: emit, process-leveldb, processor-recovery-
# leveldb, each after its ceiling) over partitions, distinct keys and value
# sizes, writes one JSON per point to bench/results/scaling/ and plots them
# (bench/plot_scaling.py, matplotlib) to PNGs beside them. Embedded broker
# unless KAFKA_BROKERS is set. SCALING_POINTS selects points by name (space
# separated); default all. Messages per point: 1,000,000, except keys-10M
# (10,000,000, so that every key occurs) and value-10KiB (100,000, 1 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/scaling
mkdir -p "$out"
go build -o "${TMPDIR:-/tmp}/goka-bench-scaling" ./bench
bin="${TMPDIR:-/tmp}/goka-bench-scaling"

# name n keys partitions value-size
points=(
	"partitions-10 1000000 10000 10 16"
	"partitions-50 1000000 10000 50 16"
	"partitions-200 1000000 10000 200 16"
	"keys-1M 1000000 1000000 10 16"
	"keys-10M 10000000 10000000 10 16"
	"value-1KiB 1000000 10000 10 1024"
	"value-10KiB 100000 10000 10 10240"
)
for pt in "${points[@]}"; do
	read -r name n keys parts vs <<<"$pt"
	if [ -n "${SCALING_POINTS:-}" ] && [[ " $SCALING_POINTS " != *" $name "* ]]; then
		continue
	fi
	echo "== $name: n=$n keys=$keys partitions=$parts value-size=$vs ($(uptime))"
	"$bin" -n "$n" -keys "$keys" -partitions "$parts" -value-size "$vs" -repeat 1 \
		-only emit,process-leveldb,processor-recovery-leveldb -out "$out/$name.json"
done
if [ -x "${PYTHON:-python3}" ] || command -v "${PYTHON:-python3}" >/dev/null; then
	"${PYTHON:-python3}" bench/plot_scaling.py "$out"
fi
