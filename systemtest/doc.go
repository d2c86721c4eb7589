// Package systemtest holds the system tests: goka against a real Apache
// Kafka (single broker and a 3-broker cluster started by scripts/kafka.sh,
// or the brokers in KAFKA_BROKERS). `go test ./...` skips them; run them with
//
//	make systemtest
//
// which starts the brokers, runs `GOKA_SYSTEMTEST=1 go test -p 1 ./systemtest/...`
// and stops the brokers again.
//
// Scenarios (scenarios_test.go) run processors and views as separate OS
// processes (cmd/stnode) that the tests kill with SIGKILL and restart, under
// a steady load, and compare the final table with what was emitted: the
// processor keeps per key the highest sequence number (idempotent, must be
// exact) and a count (at least once, must not be below the number of
// acknowledged messages; the surplus is logged as duplicates):
//
//	a  kill -9 one of three instances and start a replacement
//	b  scale 1 -> 3 -> 1 instances
//	   (a and b also log each partition's longest processing gap)
//	c  restart the broker
//	d  cut every connection for 10 s through a TCP proxy (proxy_test.go)
//	e  kill -9 a node of the 3-broker cluster
//	f  kill -9 a view process and restart it on its storage
//	g  topic checks: table without compaction, inputs not copartitioned
//	i  rolling restart of the 3 cluster nodes, one at a time, with goka's
//	   default configuration (stcfg.Defaults): nothing stops, nothing is
//	   lost; reports duplicates and the longest processing gap
//
// With GOKA_SYSTEMTEST_REBALANCE=cooperative the instances of a, b and i
// run WithCooperativeRebalance and WithStandbyReplicas(1) (make systemtest
// runs them a third time so).
//
// goka_test.go ports Goka's own system tests. Each test logs a line starting
// with RESULT: messages in and out, duplicates, recovery time, run time.
package systemtest
