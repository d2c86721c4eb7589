# Targets of the project. `make test` is the README's test command.
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
GOLANGCI_VERSION ?= v2.15.0
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build test race short lint tools fuzz bench bench-smoke systemtest goka-compat bench-goka compose-check bench-kstreams bench-scaling kafka-up kafka-down kafka-cluster-up kafka-cluster-down redis-install prometheus-check browsertest mocks mocks-check mingo

all: build test lint

build:
	$(GO) build ./...

# Go modules of their own in this repository (the plugins keep their
# dependencies out of the root module; 8-monitoring imports a plugin).
# `make test` and `make lint` cover them too.
MODULES := plugin/prometheus plugin/otel examples/8-monitoring

# The whole suite, under the race detector, with the embedded broker.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	@for m in $(MODULES); do echo "== $$m"; (cd $$m && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 10m ./...) || exit 1; done

race: test

short:
	$(GO) test -short -count=1 ./...

tools:
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x $(GOBIN)/golangci-lint || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

lint: tools
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...
	$(GOBIN)/golangci-lint run ./...
	@for m in $(MODULES); do echo "== lint $$m"; (cd $$m && $(GO) vet ./... && $(GOBIN)/staticcheck ./... && $(GOBIN)/golangci-lint run ./...) || exit 1; done

# Short runs of every fuzz test.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s $$pkg || exit 1; \
		done; \
	done

# Real Apache Kafka for the system tests (scripts/kafka.sh: jars from Maven
# Central, KRaft on 127.0.0.1; single broker :19092, cluster :19192-19194).
kafka-up:
	bash scripts/kafka.sh up

kafka-down:
	bash scripts/kafka.sh down

kafka-cluster-up:
	bash scripts/kafka.sh up-cluster

kafka-cluster-down:
	bash scripts/kafka.sh down-cluster

# System tests on a real Kafka: against KAFKA_BROKERS when set, otherwise
# against the single broker and the 3-node cluster of scripts/kafka.sh,
# started here and stopped afterwards whatever the outcome; then Goka's own
# system tests (scripts/goka-compat.sh) on a fresh cluster with Kafka's
# default group.initial.rebalance.delay.ms of 3 s, which they assume (ours
# run with 0). Our scenarios run twice: at-least-once, then exactly-once
# (GOKA_SYSTEMTEST_GUARANTEE); a, b and i run a third time with the
# cooperative strategy and a standby (GOKA_SYSTEMTEST_REBALANCE). Between
# them, TestEndHangingOnCluster (root package, GOKA_HANGING_CLUSTER) makes
# the cluster leave a committed and an aborted hanging transaction and checks
# that the processor ends each as its coordinator decided. Verbose: each
# test logs a RESULT line (messages in/out, duplicates, recovery time).
systemtest:
	@if [ -n "$$KAFKA_BROKERS" ]; then \
		$(GO) test -v -p 1 -count=1 -timeout 40m ./systemtest/...; \
	else \
		trap 'bash scripts/kafka.sh down; bash scripts/kafka.sh down-cluster' EXIT; \
		bash scripts/kafka.sh up && bash scripts/kafka.sh up-cluster && \
		GOKA_SYSTEMTEST=1 GO=$(GO) bash scripts/gotest.sh -v -p 1 -count=1 -timeout 40m ./systemtest/... && \
		GOKA_SYSTEMTEST=1 GOKA_SYSTEMTEST_GUARANTEE=exactly-once GO=$(GO) bash scripts/gotest.sh -v -p 1 -count=1 -timeout 40m -run '^Test[A-J]_' ./systemtest/ && \
		GOKA_HANGING_CLUSTER=$$(bash scripts/kafka.sh cluster-brokers) GO=$(GO) bash scripts/gotest.sh -v -count=1 -timeout 5m -run '^TestEndHangingOnCluster$$' . && \
		GOKA_SYSTEMTEST=1 GOKA_SYSTEMTEST_REBALANCE=cooperative GO=$(GO) bash scripts/gotest.sh -v -p 1 -count=1 -timeout 20m -run '^Test[ABI]_' ./systemtest/ && \
		bash scripts/kafka.sh down && bash scripts/kafka.sh down-cluster && \
		KAFKA_EXTRA_CONFIG=group.initial.rebalance.delay.ms=3000 bash scripts/kafka.sh up-cluster && \
		GOKA_SYSTEMTEST_BROKERS=$$(bash scripts/kafka.sh cluster-brokers) bash scripts/goka-compat.sh system; \
	fi

# Goka's own examples, integration tests and system tests, unchanged but
# for their import paths, built and run against this module
# (scripts/goka-compat.sh; `make systemtest` runs Goka's system tests on the
# cluster).
goka-compat:
	bash scripts/goka-compat.sh unit

# examples/docker-compose.yml's Kafka and Redis settings, run without Docker
# on the compose ports (9092, 9093, 6379), with the examples against them
# (scripts/compose-check.sh).
compose-check:
	bash scripts/compose-check.sh

# Benchmarks are not tests: `make test` does not run them. `bench` runs the
# workloads of bench/ (embedded broker unless KAFKA_BROKERS is set) and the
# Go micro-benchmarks; `bench-smoke` is CI's tiny run that keeps the
# harness from rotting.
BENCH_FLAGS ?= -n 1000000 -keys 10000 -partitions 10 -out bench-results.json
bench:
	$(GO) run ./bench $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench . -benchmem ./codec/ ./storage/ .

# The same harness with Goka v1.1.16 in place of this library, for the
# comparison in README's Benchmarks section (scripts/goka-compat.sh bench).
BENCH_GOKA_FLAGS ?= -n 1000000 -keys 10000 -partitions 10 -out bench-goka-results.json
bench-goka:
	bash scripts/goka-compat.sh bench $(BENCH_GOKA_FLAGS)

bench-smoke:
	$(GO) run ./bench -n 20000 -keys 500 -repeat 1 -out $${TMPDIR:-/tmp}/goka-bench-smoke.json

# Kafka Streams 4.4 side by side with our counting processor on one real
# broker and the same input (bench/kstreams, built with mvn; `go run ./bench
# -kstreams`): at-least-once and exactly_once_v2, msgs/s until processed and
# until committed, CPU, peak RSS, time to first message, counts checked per
# key in both stores. Against KAFKA_BROKERS when set, otherwise a fresh
# scripts/kafka.sh broker (KAFKA_PORT) stopped afterwards. Not run in CI.
BENCH_KSTREAMS_FLAGS ?= -n 1000000 -keys 10000 -partitions 10 -out bench-kstreams-results.json
bench-kstreams:
	cd bench/kstreams && mvn -q -B package -DskipTests
	@if [ -n "$$KAFKA_BROKERS" ]; then \
		$(GO) run ./bench -kstreams $(BENCH_KSTREAMS_FLAGS); \
	else \
		trap 'bash scripts/kafka.sh down' EXIT; \
		bash scripts/kafka.sh up && \
		KAFKA_BROKERS=$$(bash scripts/kafka.sh brokers) $(GO) run ./bench -kstreams $(BENCH_KSTREAMS_FLAGS); \
	fi

# Scaling curves (bench/scaling.sh): throughput, CPU and peak RSS of the
# LevelDB processor against partitions, distinct keys and value size, and
# recovery against table size; JSON and PNG plots (matplotlib, PYTHON) in
# bench/results/scaling. About 10 minutes on the embedded broker.
bench-scaling:
	bash bench/scaling.sh

# A real Prometheus (Debian's package) scrapes examples/8-monitoring's
# /metrics on 127.0.0.1; its HTTP API must show lag and throughput series
# that move (scripts/prometheus-check.sh, about 15 s).
prometheus-check:
	bash scripts/prometheus-check.sh

# The web monitor in headless Chromium (web/browsertest, its own module so
# the root does not require chromedp). Needs chromium on the PATH or $CHROMIUM.
browsertest:
	cd web/browsertest && $(GO) test -count=1 -timeout 3m ./...

# The gomock mocks of package mocks (go:generate lines in mocks/gen.go run
# mockgen from go.uber.org/mock with `go run`); mocks-check fails when the
# committed files differ from freshly generated ones.
mocks:
	$(GO) generate ./mocks/

mocks-check:
	@tmp=$$(mktemp -d) && cp mocks/*.go $$tmp/ && $(GO) generate ./mocks/ && \
	for f in mocks/*.go; do cmp -s $$f $$tmp/$$(basename $$f) || { echo "$$f is not current: run make mocks"; cp $$tmp/*.go mocks/; rm -rf $$tmp; exit 1; }; done; \
	rm -rf $$tmp

# The oldest Go the module declares (go.mod's go directive; sarama v1.61
# needs 1.26.0): build and the short tests of the root with that toolchain,
# which `go` fetches from the module proxy (GOTOOLCHAIN).
MIN_GO ?= $(shell awk '/^go /{print $$2}' go.mod)
mingo:
	GOTOOLCHAIN=go$(MIN_GO) $(GO) version
	GOTOOLCHAIN=go$(MIN_GO) $(GO) build ./...
	GOTOOLCHAIN=go$(MIN_GO) $(GO) test -short -count=1 -timeout 10m .
