#!/usr/bin/env bash
# scripts/bench-goka.sh — runs the benchmark harness of bench/ with Goka
# itself in place of this library, so the two can be compared on the same
# workloads, broker and machine.
#
# Usage: scripts/bench-goka.sh [bench flags]
#
# It copies bench/ to $GOKA_BENCH_DIR, rewrites the imports of the packages
# goka, codec and storage to github.com/lovoo/goka (kafkatest, the embedded
# broker, stays ours: Goka has none), builds it against Goka $GOKA_VERSION
# from the Go module proxy and runs it from the repository root with the
# flags given, by default those of `make bench` writing
# bench-goka-results.json. Sarama is the same version for both (Go's minimal
# version selection picks the newer of the two requirements), so the ceiling
# runs are identical and ratios compare directly.
#
# Environment (defaults in brackets):
#   GOKA_VERSION [v1.1.16]                    Goka release to measure
#   GOKA_BENCH_DIR [.cache/bench-goka/<ver>]  where the rewritten copy goes
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GOKA_VERSION="${GOKA_VERSION:-v1.1.16}"
GOKA_BENCH_DIR="${GOKA_BENCH_DIR:-$ROOT/.cache/bench-goka/$GOKA_VERSION}"

rm -rf "$GOKA_BENCH_DIR"
mkdir -p "$GOKA_BENCH_DIR/bench"
cp "$ROOT"/bench/*.go "$GOKA_BENCH_DIR/bench/"
sed -i \
	-e 's#"github.com/e3793d55/goka"#"github.com/lovoo/goka"#' \
	-e 's#"github.com/e3793d55/goka/codec"#"github.com/lovoo/goka/codec"#' \
	-e 's#"github.com/e3793d55/goka/storage"#"github.com/lovoo/goka/storage"#' \
	"$GOKA_BENCH_DIR"/bench/*.go
cat >"$GOKA_BENCH_DIR/go.mod" <<EOF
module benchgoka

go $(sed -n 's/^go //p' "$ROOT/go.mod")

require (
	github.com/e3793d55/goka v0.0.0
	github.com/lovoo/goka $GOKA_VERSION
)

replace github.com/e3793d55/goka => $ROOT
EOF
(
	cd "$GOKA_BENCH_DIR"
	go mod tidy >/dev/null
	go build -o bench-goka ./bench
	echo "bench-goka: Goka $GOKA_VERSION, sarama $(go list -m -f '{{.Version}}' github.com/IBM/sarama)" >&2
)
if [ $# -eq 0 ]; then
	set -- -n 1000000 -keys 10000 -partitions 10 -out bench-goka-results.json
fi
# From the repository root, so that a relative -out lands there.
cd "$ROOT"
exec "$GOKA_BENCH_DIR/bench-goka" "$@"
