#!/usr/bin/env bash
# scripts/kafka.sh — a real Apache Kafka (KRaft, no ZooKeeper) on 127.0.0.1 for
# the system tests, run from jars fetched with Maven and the JDK on the machine.
#
# Usage: scripts/kafka.sh COMMAND [ARG]
#
#   fetch          fetch Kafka and its runtime dependencies with mvn into the
#                  cache (skipped when already there)
#   up             start a fresh single broker (combined broker+controller) on
#                  127.0.0.1:$KAFKA_PORT and wait until it serves requests;
#                  a no-op if it is already running
#   down           stop the single broker (SIGTERM, then SIGKILL) and remove its data
#   restart        stop the single broker cleanly and start it again, data kept
#   up-cluster     start a fresh 3-node cluster (3 combined broker+controllers,
#                  replication factor 3, min.insync.replicas 2) on
#                  127.0.0.1:$KAFKA_CLUSTER_PORT..+2 and wait until it serves requests
#   down-cluster   stop the cluster and remove its data
#   kill [N]       kill -9 cluster node N (1..3), or the single broker without N (or N=0)
#   start [N]      start that node again with its data kept and wait until it is
#                  back (for a cluster node: until every partition has its full ISR)
#   restart N      stop cluster node N cleanly and start it again
#   status         show what runs
#   brokers        print the single broker's bootstrap address (127.0.0.1:19092)
#   proxy-brokers  print the bootstrap address of the single broker's PROXY
#                  listener as clients see it (127.0.0.1:$KAFKA_PROXY_PORT): the
#                  broker advertises that address but listens on
#                  $KAFKA_PROXY_LISTENER_PORT, so a TCP proxy from the proxy port
#                  to the listener port carries every connection of a client
#                  that bootstraps there (the system tests cut them)
#   proxy-target   print the address the proxy forwards to (127.0.0.1:$KAFKA_PROXY_LISTENER_PORT)
#   cluster-brokers  print the cluster's bootstrap addresses, comma-separated
#   logs [N]       print the last lines of the log of the single broker / node N
#   run CLASS ARGS run a Kafka tool class on the fetched classpath, e.g.
#                  scripts/kafka.sh run org.apache.kafka.tools.TopicCommand \
#                      --bootstrap-server 127.0.0.1:19092 --list
#
# 'up' and 'up-cluster' always start from empty data (leftovers of a stopped or
# killed broker are removed); 'start' and 'restart' keep the data. Brokers run
# in their own session with all output in $KAFKA_RUN_DIR/<node>/kafka.log, so
# they outlive the calling shell. Test settings: auto.create.topics.enable=false,
# num.partitions=1, group.initial.rebalance.delay.ms=0, internal topics with
# 10 partitions and RF 1 (cluster: 3, min ISR 2), log cleaner on with a 1s
# back-off, 8 MiB segments, brokers fenced after 4s without heartbeat. Add or
# override settings with KAFKA_EXTRA_CONFIG.
#
# Environment (defaults in brackets):
#   KAFKA_VERSION [4.4.0]          Apache Kafka version (org.apache.kafka:kafka_2.13)
#   KAFKA_LOG4J_VERSION [2.25.5]   log4j2 version of the SLF4J binding (match Kafka's log4j-core)
#   KAFKA_CACHE_DIR [.cache/kafka] where the jars go, per version
#   KAFKA_RUN_DIR [.cache/kafka-run]  configs, data, logs and pid files
#   KAFKA_PORT [19092]             single broker client port (controller: KAFKA_CONTROLLER_PORT [port+1])
#   KAFKA_PROXY_LISTENER_PORT [port+2]  single broker's PROXY listener
#   KAFKA_PROXY_PORT [port+3]      address advertised for the PROXY listener
#   KAFKA_CLUSTER_PORT [19192]     first cluster client port; nodes use port..port+2,
#                                  their controllers port+3..port+5
#   KAFKA_HEAP_OPTS [-Xms256m -Xmx1g]        JVM heap of the single broker
#   KAFKA_CLUSTER_HEAP_OPTS [-Xms256m -Xmx768m]  JVM heap of each cluster node
#   KAFKA_START_TIMEOUT [90]       seconds to wait for readiness
#   KAFKA_STOP_TIMEOUT [20]        seconds to wait after SIGTERM before SIGKILL
#   KAFKA_LOG_LEVEL [INFO]         broker root log level
#   KAFKA_LOG4J_EXTRA              lines added to the brokers' log4j2.properties, e.g.
#                                  "logger.txn.name = kafka.coordinator.transaction
#                                  logger.txn.level = DEBUG"
#   KAFKA_EXTRA_CONFIG             extra server.properties lines (key=value, one per line)
#   JAVA_HOME / MVN                JDK and Maven to use
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
readonly HOST=127.0.0.1

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
SCALA_VERSION=2.13
LOG4J_VERSION="${KAFKA_LOG4J_VERSION:-2.25.5}"
DEPENDENCY_PLUGIN_VERSION=3.6.1
CACHE_DIR="${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}"
VERSION_DIR="$CACHE_DIR/$KAFKA_VERSION"
LIBS="$VERSION_DIR/libs"
RUN_DIR="${KAFKA_RUN_DIR:-$ROOT/.cache/kafka-run}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_PROXY_LISTENER_PORT="${KAFKA_PROXY_LISTENER_PORT:-$((KAFKA_PORT + 2))}"
KAFKA_PROXY_PORT="${KAFKA_PROXY_PORT:-$((KAFKA_PORT + 3))}"
KAFKA_CLUSTER_PORT="${KAFKA_CLUSTER_PORT:-19192}"
CLUSTER_SIZE=3
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_CLUSTER_HEAP_OPTS="${KAFKA_CLUSTER_HEAP_OPTS:--Xms256m -Xmx768m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-20}"
KAFKA_LOG_LEVEL="${KAFKA_LOG_LEVEL:-INFO}"
KAFKA_EXTRA_CONFIG="${KAFKA_EXTRA_CONFIG:-}"
MVN="${MVN:-mvn}"
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
	JAVA="$JAVA_HOME/bin/java"
	JAVAC="$JAVA_HOME/bin/javac"
else
	JAVA=java
	JAVAC=javac
fi

log() { echo "kafka.sh: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH ($2)"; }

# ---------------------------------------------------------------- fetch

write_pom() {
	cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/kafka.sh: the runtime classpath of a KRaft broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafkaenv</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- the broker: kafka.Kafka, kafka.tools.StorageTool and their dependencies -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_$SCALA_VERSION</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- command line tools (TopicCommand, ConsumerGroupCommand, ...), without Connect -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion>
          <groupId>org.apache.kafka</groupId>
          <artifactId>connect-runtime</artifactId>
        </exclusion>
      </exclusions>
    </dependency>
    <!-- Kafka logs through SLF4J 1.7; its release ships this log4j2 binding -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>$DEPENDENCY_PLUGIN_VERSION</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF
}

fetched() { [ -f "$LIBS/.complete" ]; }

fetch() { # fetch [quiet]
	if fetched; then
		[ -n "${1:-}" ] || log "Kafka $KAFKA_VERSION already in $LIBS"
		return 0
	fi
	need "$MVN" "install Maven"
	need "$JAVA" "install a JDK 17 or newer"
	mkdir -p "$VERSION_DIR"
	# One fetch at a time per version (parallel make targets, two checkouts).
	exec 8>"$VERSION_DIR/.lock"
	flock 8
	if fetched; then
		exec 8>&-
		log "Kafka $KAFKA_VERSION already in $LIBS"
		return 0
	fi
	local start tmp
	start=$(now)
	tmp="$VERSION_DIR/libs.tmp"
	rm -rf "$tmp"
	write_pom "$VERSION_DIR/pom.xml"
	log "fetching Kafka $KAFKA_VERSION and its runtime dependencies with $MVN"
	if ! "$MVN" -B -ntp -Dstyle.color=never -f "$VERSION_DIR/pom.xml" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
		>"$VERSION_DIR/mvn.log" 2>&1; then
		grep -E 'ERROR|WARN' "$VERSION_DIR/mvn.log" | tail -n 40 >&2 || tail -n 40 "$VERSION_DIR/mvn.log" >&2
		die "mvn dependency:copy-dependencies failed for Kafka $KAFKA_VERSION (is the version on Maven Central? see $VERSION_DIR/pom.xml)"
	fi
	local jar
	for jar in "kafka_$SCALA_VERSION-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar" \
		"kafka-server-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" "log4j-slf4j-impl-$LOG4J_VERSION.jar"; do
		[ -f "$tmp/$jar" ] || die "fetched classpath lacks $jar (in $tmp)"
	done
	touch "$tmp/.complete"
	rm -rf "$LIBS"
	mv "$tmp" "$LIBS"
	exec 8>&-
	log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) into $LIBS in $(since "$start")s"
}

# The readiness probe (scripts/KafkaReady.java), compiled once per version.
PROBE_DIR="$VERSION_DIR/probe"
ensure_probe() {
	local src="$SCRIPT_DIR/KafkaReady.java"
	if [ -f "$PROBE_DIR/KafkaReady.class" ] && [ "$PROBE_DIR/KafkaReady.class" -nt "$src" ]; then
		return 0
	fi
	need "$JAVAC" "install a JDK 17 or newer (javac compiles the readiness probe)"
	rm -rf "$PROBE_DIR.tmp"
	mkdir -p "$PROBE_DIR.tmp"
	"$JAVAC" -nowarn -d "$PROBE_DIR.tmp" -cp "$LIBS/*" "$src" || die "cannot compile $src"
	rm -rf "$PROBE_DIR"
	mv "$PROBE_DIR.tmp" "$PROBE_DIR"
}

ensure_fetched() {
	fetch quiet
	ensure_probe
	[ -f "$VERSION_DIR/tools-log4j2.properties" ] || cat >"$VERSION_DIR/tools-log4j2.properties" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = error
rootLogger.appenderRef.err.ref = err
EOF
}

# tool CLASS ARGS...: run a Kafka class with a small heap and quiet logging
# (tool_exec replaces the shell, for a background job whose pid is the JVM's).
tool() { (tool_exec "$@"); }
tool_exec() {
	exec "$JAVA" -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$VERSION_DIR/tools-log4j2.properties" \
		-cp "$LIBS/*:$PROBE_DIR" "$@"
}

# ---------------------------------------------------------------- nodes
#
# A node is a directory under $RUN_DIR: single/ for the single broker,
# cluster/node1..3 for the cluster. It holds server.properties,
# log4j2.properties, data/, kafka.log, kafka.pid and ports (broker port,
# controller port).

node_dir() { # node_dir N: N=0 is the single broker
	if [ "$1" = 0 ]; then
		echo "$RUN_DIR/single"
	else
		echo "$RUN_DIR/cluster/node$1"
	fi
}
broker_port() { if [ "$1" = 0 ]; then echo "$KAFKA_PORT"; else echo $((KAFKA_CLUSTER_PORT + $1 - 1)); fi; }
controller_port() {
	if [ "$1" = 0 ]; then echo "$KAFKA_CONTROLLER_PORT"; else echo $((KAFKA_CLUSTER_PORT + CLUSTER_SIZE + $1 - 1)); fi
}
node_name() { if [ "$1" = 0 ]; then echo "single broker"; else echo "cluster node $1"; fi; }
cluster_nodes() { seq 1 "$CLUSTER_SIZE"; }
# The bootstrap addresses: the ports of the running nodes, else the configured ones.
single_brokers() { echo "$HOST:$(current_broker_port 0)"; }
cluster_brokers() {
	local n out=""
	for n in $(cluster_nodes); do out="$out${out:+,}$HOST:$(current_broker_port "$n")"; done
	echo "$out"
}
current_broker_port() {
	if node_pid "$1" >/dev/null; then node_broker_port "$1"; else broker_port "$1"; fi
}
# The ports a node was set up with (the environment may differ later).
node_ports() { # node_ports N -> "broker controller"
	local f
	f="$(node_dir "$1")/ports"
	if [ -f "$f" ]; then cat "$f"; else echo "$(broker_port "$1") $(controller_port "$1")"; fi
}
# proxy_port FIELD: the single broker's PROXY listener (3) or advertised proxy (4) address.
proxy_port() {
	local p
	p=$(node_ports 0 | cut -d' ' -f"$1")
	if [ -z "$p" ]; then
		if [ "$1" = 3 ]; then p=$KAFKA_PROXY_LISTENER_PORT; else p=$KAFKA_PROXY_PORT; fi
	fi
	echo "$HOST:$p"
}
node_broker_port() { local p; p=$(node_ports "$1"); echo "${p%% *}"; }

# is_node_process PID DIR: the process is a broker started with DIR's config.
is_node_process() {
	[ -r "/proc/$1/cmdline" ] || return 1
	grep -qzxF "$2/server.properties" "/proc/$1/cmdline" 2>/dev/null &&
		grep -qzxF kafka.Kafka "/proc/$1/cmdline" 2>/dev/null
}

# node_pid N: print the pid of the running node and return 0, or return 1.
# Removes stale pid files; finds a running node whose pid file was lost.
node_pid() {
	local dir pid p
	dir=$(node_dir "$1")
	if [ -f "$dir/kafka.pid" ]; then
		pid=$(cat "$dir/kafka.pid" 2>/dev/null || true)
		if [ -n "$pid" ] && is_node_process "$pid" "$dir"; then
			echo "$pid"
			return 0
		fi
		rm -f "$dir/kafka.pid"
	fi
	[ -f "$dir/server.properties" ] || return 1
	while read -r p; do
		pid=${p#/proc/}
		pid=${pid%/cmdline}
		if is_node_process "$pid" "$dir"; then
			echo "$pid" >"$dir/kafka.pid"
			echo "$pid"
			return 0
		fi
	done < <(grep -lszxF "$dir/server.properties" /proc/[0-9]*/cmdline || true)
	return 1
}

# alive PID: some thread of the process still runs. After SIGKILL the main
# thread of a JVM can be a zombie while other threads still hold its sockets,
# and a dead process can stay a zombie until it is reaped; neither counts.
alive() {
	local f stat
	for f in /proc/"$1"/task/*/stat; do
		stat=$(cat "$f" 2>/dev/null) || continue
		stat=${stat##*) }
		[ "${stat%% *}" = Z ] || return 0
	done
	return 1
}

port_in_use() { (: <>"/dev/tcp/$HOST/$1") 2>/dev/null; }

write_node_config() { # write_node_config N VOTERS RF MIN_ISR
	local n=$1 voters=$2 rf=$3 minisr=$4 dir bport cport
	dir=$(node_dir "$n")
	bport=$(broker_port "$n")
	cport=$(controller_port "$n")
	# The single broker has a third listener, PROXY, that advertises the
	# port of a TCP proxy (run by the tests) instead of its own: clients
	# bootstrapping at the proxy then reach the broker only through it.
	local listeners="PLAINTEXT://$HOST:$bport,CONTROLLER://$HOST:$cport"
	local advertised="PLAINTEXT://$HOST:$bport"
	local protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
	if [ "$n" = 0 ]; then
		echo "$bport $cport $KAFKA_PROXY_LISTENER_PORT $KAFKA_PROXY_PORT" >"$dir/ports"
		listeners="$listeners,PROXY://$HOST:$KAFKA_PROXY_LISTENER_PORT"
		advertised="$advertised,PROXY://$HOST:$KAFKA_PROXY_PORT"
		protocols="$protocols,PROXY:PLAINTEXT"
	else
		echo "$bport $cport" >"$dir/ports"
	fi
	cat >"$dir/server.properties" <<EOF
# Generated by scripts/kafka.sh for the $(node_name "$n").
process.roles=broker,controller
node.id=$([ "$n" = 0 ] && echo 1 || echo "$n")
controller.quorum.voters=$voters
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$dir/data

# Test settings: no implicit topics, fast group start, small internal topics.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$minisr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$minisr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$minisr
group.initial.rebalance.delay.ms=0
delete.topic.enable=true

# Compaction must work (group tables are compacted topics).
log.cleaner.enable=true
log.cleaner.threads=1
log.cleaner.backoff.ms=1000
log.cleaner.dedupe.buffer.size=33554432
log.segment.bytes=8388608

# The controller fences a broker that sent no heartbeat for 4s (default 9s):
# faster fail-over after kill -9, and a killed node can register again sooner.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=4000

# A small machine: 2 cores, up to 3 brokers.
num.network.threads=2
num.io.threads=4
background.threads=4
EOF
	if [ -n "$KAFKA_EXTRA_CONFIG" ]; then
		{
			echo "# KAFKA_EXTRA_CONFIG"
			echo "$KAFKA_EXTRA_CONFIG"
		} >>"$dir/server.properties"
	fi
	cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = $KAFKA_LOG_LEVEL
rootLogger.appenderRef.out.ref = out
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
EOF
	if [ -n "${KAFKA_LOG4J_EXTRA:-}" ]; then
		echo "$KAFKA_LOG4J_EXTRA" >>"$dir/log4j2.properties"
	fi
}

# A cluster id: 16 random bytes, base64url without padding (Kafka's Uuid form).
new_cluster_id() {
	local id
	id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
	echo "A${id:1}"
}

format_node() { # format_node N CLUSTER_ID
	local dir
	dir=$(node_dir "$1")
	if ! tool kafka.tools.StorageTool format --cluster-id "$2" --config "$dir/server.properties" \
		>"$dir/format.log" 2>&1; then
		cat "$dir/format.log" >&2
		die "formatting the storage of the $(node_name "$1") failed"
	fi
}

check_ports_free() { # check_ports_free N
	local p tries ports
	# The 4th port (the proxy's) is bound by the tests, not by the broker.
	ports=$(node_ports "$1" | cut -d' ' -f1-3)
	for p in $ports; do
		# A node that was just stopped may still be releasing its sockets.
		tries=20
		while [ "$tries" -gt 0 ] && port_in_use "$p"; do
			sleep 0.25
			tries=$((tries - 1))
		done
		if port_in_use "$p"; then
			die "port $HOST:$p (for the $(node_name "$1")) is already in use by another process; stop it or choose other ports (KAFKA_PORT / KAFKA_CLUSTER_PORT)"
		fi
	done
}

# launch_node N HEAP: start the broker in the background, in its own session,
# with every stream on its log file (so that no caller waits on its output).
launch_node() {
	local n=$1 heap=$2 dir
	dir=$(node_dir "$n")
	check_ports_free "$n"
	rm -f "$dir/kafka.pid"
	echo "===== $(date '+%F %T') kafka.sh: starting the $(node_name "$n")" >>"$dir/kafka.log"
	# shellcheck disable=SC2086,SC2016 # the heap options are a list of JVM flags; $$ is the child's
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-node "$dir/kafka.pid" \
		"$JAVA" -server $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
		-XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$dir/log4j2.properties" -Dkafka.logs.dir="$dir" \
		-cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
		</dev/null >>"$dir/kafka.log" 2>&1 &
	disown
	local tries=50
	while [ "$tries" -gt 0 ]; do
		[ -s "$dir/kafka.pid" ] && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	die "the $(node_name "$n") did not start (no pid file)"
}

print_logs() { # print_logs N...
	local n dir
	for n in "$@"; do
		dir=$(node_dir "$n")
		echo "----- last lines of $dir/kafka.log ($(node_name "$n"))" >&2
		if [ -f "$dir/kafka.log" ]; then
			grep -v '^[[:space:]]' "$dir/kafka.log" | tail -n 60 >&2 || true
		fi
	done
}

# wait_ready BOOTSTRAP BROKERS NODES [PROBE_ARGS...]: run the probe until it
# succeeds, fail early if a node dies, and show the logs on failure.
wait_ready() {
	local bootstrap=$1 brokers=$2 nodes=$3
	shift 3
	local out probe n pid rc
	out=$(mktemp)
	(tool_exec KafkaReady --bootstrap "$bootstrap" --brokers "$brokers" --timeout "$KAFKA_START_TIMEOUT" "$@" >"$out" 2>&1) &
	probe=$!
	while kill -0 "$probe" 2>/dev/null; do
		for n in $nodes; do
			if ! pid=$(node_pid "$n"); then
				kill "$probe" 2>/dev/null || true
				wait "$probe" 2>/dev/null || true
				rm -f "$out"
				print_logs "$n"
				log "the $(node_name "$n") exited during start-up (log above)"
				return 1
			fi
		done
		sleep 0.2
	done
	rc=0
	wait "$probe" || rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$out" >&2
		rm -f "$out"
		# shellcheck disable=SC2086 # a list of node numbers
		print_logs $nodes
		log "Kafka at $bootstrap is not ready after ${KAFKA_START_TIMEOUT}s (log above)"
		return 1
	fi
	log "$(cat "$out")"
	rm -f "$out"
}

# stop_nodes SIGNAL N...: SIGTERM (then SIGKILL after KAFKA_STOP_TIMEOUT) or
# SIGKILL the nodes, all at once, and wait until they are gone.
stop_nodes() {
	local sig=$1 n pid pids="" start
	shift
	start=$(now)
	for n in "$@"; do
		if pid=$(node_pid "$n"); then
			kill "-$sig" "$pid" 2>/dev/null || true
			pids="$pids $pid"
		fi
	done
	[ -n "$pids" ] || return 0
	local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT)) left
	while :; do
		left=""
		for pid in $pids; do
			if alive "$pid"; then left="$left $pid"; fi
		done
		[ -n "$left" ] || break
		if [ "$sig" != KILL ] && [ "$SECONDS" -ge "$deadline" ]; then
			log "still running ${KAFKA_STOP_TIMEOUT}s after SIG$sig:$left; sending SIGKILL"
			# shellcheck disable=SC2086 # a list of pids
			kill -KILL $left 2>/dev/null || true
			sig=KILL
		fi
		sleep 0.1
	done
	for n in "$@"; do rm -f "$(node_dir "$n")/kafka.pid"; done
	local names
	names=$(for n in "$@"; do node_name "$n"; done | paste -sd, - | sed 's/,/, /g')
	log "stopped $names in $(since "$start")s (SIG$sig)"
}

# ---------------------------------------------------------------- commands

cmd_up() {
	local start pid
	start=$(now)
	ensure_fetched
	if pid=$(node_pid 0); then
		log "the single broker is already running (pid $pid) at $(single_brokers)"
		wait_ready "$(single_brokers)" 1 0
		return 0
	fi
	local dir
	dir=$(node_dir 0)
	rm -rf "$dir"
	mkdir -p "$dir"
	write_node_config 0 "1@$HOST:$KAFKA_CONTROLLER_PORT" 1 1
	check_ports_free 0
	format_node 0 "$(new_cluster_id)"
	launch_node 0 "$KAFKA_HEAP_OPTS"
	if ! wait_ready "$(single_brokers)" 1 0 --groups; then
		stop_nodes KILL 0
		exit 1
	fi
	log "single broker up at $(single_brokers) in $(since "$start")s (logs: $dir/kafka.log)"
	single_brokers
}

cmd_up_cluster() {
	local start n pid running=0
	start=$(now)
	ensure_fetched
	for n in $(cluster_nodes); do
		if pid=$(node_pid "$n"); then running=$((running + 1)); fi
	done
	if [ "$running" = "$CLUSTER_SIZE" ]; then
		log "the cluster is already running at $(cluster_brokers)"
		wait_ready "$(cluster_brokers)" "$CLUSTER_SIZE" "$(cluster_nodes | tr '\n' ' ')"
		return 0
	fi
	if [ "$running" != 0 ]; then
		die "only $running of $CLUSTER_SIZE cluster nodes run; use 'start N' to bring a node back or 'down-cluster' first"
	fi
	rm -rf "$RUN_DIR/cluster"
	local voters="" id
	for n in $(cluster_nodes); do
		voters="$voters${voters:+,}$n@$HOST:$(controller_port "$n")"
	done
	for n in $(cluster_nodes); do
		mkdir -p "$(node_dir "$n")"
		write_node_config "$n" "$voters" "$CLUSTER_SIZE" 2
		check_ports_free "$n"
	done
	id=$(new_cluster_id)
	local pids=""
	for n in $(cluster_nodes); do
		format_node "$n" "$id" &
		pids="$pids $!"
	done
	for pid in $pids; do wait "$pid" || exit 1; done
	for n in $(cluster_nodes); do launch_node "$n" "$KAFKA_CLUSTER_HEAP_OPTS"; done
	if ! wait_ready "$(cluster_brokers)" "$CLUSTER_SIZE" "$(cluster_nodes | tr '\n' ' ')" --groups; then
		# shellcheck disable=SC2046 # a list of node numbers
		stop_nodes KILL $(cluster_nodes)
		exit 1
	fi
	log "cluster up at $(cluster_brokers) in $(since "$start")s (logs: $RUN_DIR/cluster/node*/kafka.log)"
	cluster_brokers
}

cmd_down() {
	stop_nodes TERM 0
	rm -rf "$(node_dir 0)/data"
	log "single broker down"
}

cmd_down_cluster() {
	# shellcheck disable=SC2046 # a list of node numbers
	stop_nodes TERM $(cluster_nodes)
	for n in $(cluster_nodes); do rm -rf "$(node_dir "$n")/data"; done
	log "cluster down"
}

check_node_arg() {
	case "$1" in
	0) ;;
	[1-9])
		[ "$1" -le "$CLUSTER_SIZE" ] || die "no cluster node $1 (nodes are 1..$CLUSTER_SIZE)"
		;;
	*) die "bad node '$1': want 1..$CLUSTER_SIZE for a cluster node, 0 or nothing for the single broker" ;;
	esac
}

cmd_kill() {
	local n=${1:-0} pid
	check_node_arg "$n"
	if ! pid=$(node_pid "$n"); then
		log "the $(node_name "$n") is not running"
		return 0
	fi
	stop_nodes KILL "$n"
}

cmd_start() {
	local n=${1:-0} pid dir start
	check_node_arg "$n"
	start=$(now)
	dir=$(node_dir "$n")
	[ -f "$dir/data/meta.properties" ] || die "the $(node_name "$n") was never set up (no $dir/data); run '$(basename "$0") $([ "$n" = 0 ] && echo up || echo up-cluster)'"
	ensure_fetched
	local bootstrap brokers nodes heap
	if [ "$n" = 0 ]; then
		bootstrap=$(single_brokers) brokers=1 nodes=0 heap=$KAFKA_HEAP_OPTS
	else
		# Ask the restarted node itself: it is back once it serves metadata
		# that lists all brokers and every partition has its full ISR again.
		bootstrap="$HOST:$(node_broker_port "$n")"
		brokers=$CLUSTER_SIZE nodes=$n heap=$KAFKA_CLUSTER_HEAP_OPTS
	fi
	if pid=$(node_pid "$n"); then
		log "the $(node_name "$n") is already running (pid $pid)"
	else
		launch_node "$n" "$heap"
	fi
	local id=$n m
	[ "$n" != 0 ] || id=1
	local probe_args=(--node "$id" --wait-isr)
	if [ "$n" != 0 ]; then
		# With other nodes still down, wait only for the running ones.
		brokers=0
		for m in $(cluster_nodes); do
			if node_pid "$m" >/dev/null; then brokers=$((brokers + 1)); fi
		done
		if [ "$brokers" != "$CLUSTER_SIZE" ]; then
			probe_args=(--node "$id")
			log "only $brokers of $CLUSTER_SIZE cluster nodes run: not waiting for full ISRs"
		fi
	fi
	wait_ready "$bootstrap" "$brokers" "$nodes" "${probe_args[@]}" || exit 1
	log "the $(node_name "$n") is back in $(since "$start")s"
}

cmd_restart() {
	local n=${1:-0}
	check_node_arg "$n"
	[ -f "$(node_dir "$n")/data/meta.properties" ] || die "the $(node_name "$n") was never set up"
	stop_nodes TERM "$n"
	cmd_start "$n"
}

cmd_status() {
	local n dir pid
	for n in 0 $(cluster_nodes); do
		dir=$(node_dir "$n")
		if pid=$(node_pid "$n"); then
			echo "$(node_name "$n"): running, pid $pid, $HOST:$(node_broker_port "$n")"
		elif [ -f "$dir/data/meta.properties" ]; then
			echo "$(node_name "$n"): stopped, data kept in $dir/data"
		else
			echo "$(node_name "$n"): down"
		fi
	done
	if fetched; then
		echo "Kafka $KAFKA_VERSION: $LIBS ($(du -sh "$LIBS" | cut -f1))"
	else
		echo "Kafka $KAFKA_VERSION: not fetched (run '$(basename "$0") fetch')"
	fi
}

cmd_logs() {
	local n=${1:-0} f
	check_node_arg "$n"
	f="$(node_dir "$n")/kafka.log"
	[ -f "$f" ] || die "no log at $f"
	tail -n "${KAFKA_LOG_LINES:-100}" "$f"
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

main() {
	local cmd=${1:-}
	[ $# -eq 0 ] || shift
	case "$cmd" in
	fetch) fetch && ensure_probe ;;
	up) cmd_up ;;
	down) cmd_down ;;
	restart) cmd_restart "$@" ;;
	up-cluster) cmd_up_cluster ;;
	down-cluster) cmd_down_cluster ;;
	kill) cmd_kill "$@" ;;
	start) cmd_start "$@" ;;
	status) cmd_status ;;
	brokers) single_brokers ;;
	proxy-brokers) proxy_port 4 ;;
	proxy-target) proxy_port 3 ;;
	cluster-brokers) cluster_brokers ;;
	logs) cmd_logs "$@" ;;
	run)
		[ $# -ge 1 ] || die "usage: $0 run CLASS [ARGS...]"
		ensure_fetched
		tool "$@"
		;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
