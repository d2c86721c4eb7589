// Package kafkaenv connects the system tests to a real Apache Kafka: the
// brokers named in KAFKA_BROKERS, or the single broker and the 3-node cluster
// that scripts/kafka.sh runs on 127.0.0.1. Through the script it also injects
// faults: kill -9 a node, start it again, restart the broker.
//
// The system tests run only when asked to:
//
//	KAFKA_BROKERS=host:port[,host:port...]  use these brokers
//	GOKA_SYSTEMTEST=1                       use the brokers of scripts/kafka.sh
//
// Typical use in a test:
//
//	kafkaenv.SkipUnlessEnabled(t)
//	brokers := kafkaenv.MustBrokers(t)
//
// Start the broker first with `scripts/kafka.sh up` (or `make kafka-up`).
package kafkaenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by this package.
const (
	// EnvBrokers names the brokers of the single-broker tests, comma-separated.
	EnvBrokers = "KAFKA_BROKERS"
	// EnvClusterBrokers names the brokers of a 3-broker cluster, comma-separated.
	EnvClusterBrokers = "KAFKA_CLUSTER_BROKERS"
	// EnvSystemTest enables the system tests against scripts/kafka.sh's brokers when "1".
	EnvSystemTest = "GOKA_SYSTEMTEST"
	// EnvScript overrides the path of scripts/kafka.sh.
	EnvScript = "KAFKA_SH"
)

// Single is the node number of the single broker in Kill, Start and Restart;
// the cluster's nodes are 1, 2 and 3.
const Single = 0

// ClusterSize is the number of nodes of the cluster that scripts/kafka.sh runs.
const ClusterSize = 3

// ScriptTimeout bounds one run of scripts/kafka.sh (start-up waits included).
var ScriptTimeout = 3 * time.Minute

// ErrNoScript is returned when scripts/kafka.sh cannot be found.
var ErrNoScript = errors.New("kafkaenv: scripts/kafka.sh not found (set " + EnvScript + ")")

// Enabled reports whether the system tests should run: KAFKA_BROKERS is set
// or GOKA_SYSTEMTEST=1.
func Enabled() bool {
	return os.Getenv(EnvBrokers) != "" || os.Getenv(EnvSystemTest) == "1"
}

// SkipMessage explains how to enable the system tests.
const SkipMessage = "system test against a real Kafka: skipped because neither " + EnvBrokers +
	" nor " + EnvSystemTest + "=1 is set (run `scripts/kafka.sh up` and set " + EnvSystemTest +
	"=1, or point " + EnvBrokers + " at a broker)"

// TB is the part of testing.TB this package uses.
type TB interface {
	Helper()
	Skip(args ...any)
	Fatalf(format string, args ...any)
}

// SkipUnlessEnabled skips the test unless Enabled.
func SkipUnlessEnabled(t TB) {
	t.Helper()
	if !Enabled() {
		t.Skip(SkipMessage)
	}
}

// Brokers returns the brokers for single-broker tests: KAFKA_BROKERS if set,
// else the address of scripts/kafka.sh's single broker.
func Brokers() ([]string, error) {
	if v := os.Getenv(EnvBrokers); v != "" {
		return splitList(v), nil
	}
	out, err := run(context.Background(), "brokers")
	if err != nil {
		return nil, err
	}
	return splitList(out), nil
}

// ClusterBrokers returns the brokers of the 3-node cluster:
// KAFKA_CLUSTER_BROKERS if set, else the addresses of scripts/kafka.sh's cluster.
func ClusterBrokers() ([]string, error) {
	if v := os.Getenv(EnvClusterBrokers); v != "" {
		return splitList(v), nil
	}
	out, err := run(context.Background(), "cluster-brokers")
	if err != nil {
		return nil, err
	}
	return splitList(out), nil
}

// ProxyBrokers returns the bootstrap address of the single broker's PROXY
// listener as clients see it: the broker advertises it but does not listen
// there, so a client bootstrapping at it reaches the broker only through a
// TCP proxy from this address to ProxyTarget. Only scripts/kafka.sh's single
// broker has this listener.
func ProxyBrokers() (string, error) { return run(context.Background(), "proxy-brokers") }

// ProxyTarget returns the address the single broker's PROXY listener binds:
// where a TCP proxy at ProxyBrokers forwards to.
func ProxyTarget() (string, error) { return run(context.Background(), "proxy-target") }

// MustBrokers is Brokers for tests: it fails the test on error, and when
// KAFKA_BROKERS is unset and scripts/kafka.sh's single broker does not run.
func MustBrokers(t TB) []string {
	t.Helper()
	b, err := Brokers()
	if err != nil {
		t.Fatalf("kafkaenv: %v", err)
	}
	if os.Getenv(EnvBrokers) == "" && !Running(Single) {
		t.Fatalf("kafkaenv: %s=1 but the broker of scripts/kafka.sh is not running: run `scripts/kafka.sh up` (or set %s)",
			EnvSystemTest, EnvBrokers)
	}
	return b
}

// MustClusterBrokers is ClusterBrokers for tests: it fails the test on error,
// and when KAFKA_CLUSTER_BROKERS is unset and scripts/kafka.sh's cluster does not run.
func MustClusterBrokers(t TB) []string {
	t.Helper()
	b, err := ClusterBrokers()
	if err != nil {
		t.Fatalf("kafkaenv: %v", err)
	}
	if os.Getenv(EnvClusterBrokers) == "" && !ClusterRunning() {
		t.Fatalf("kafkaenv: the cluster of scripts/kafka.sh is not running: run `scripts/kafka.sh up-cluster` (or set %s)",
			EnvClusterBrokers)
	}
	return b
}

// Running reports whether scripts/kafka.sh runs the node (Single or 1..3).
// Brokers named only in KAFKA_BROKERS are not managed and report false.
func Running(node int) bool {
	out, err := run(context.Background(), "status")
	if err != nil {
		return false
	}
	prefix := "single broker: running"
	if node != Single {
		prefix = "cluster node " + strconv.Itoa(node) + ": running"
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

// ClusterRunning reports whether all nodes of scripts/kafka.sh's cluster run.
func ClusterRunning() bool {
	for n := 1; n <= ClusterSize; n++ {
		if !Running(n) {
			return false
		}
	}
	return true
}

// Up starts a fresh single broker (a no-op if it runs) and waits until it serves requests.
func Up() error { return runErr("up") }

// Down stops the single broker and removes its data.
func Down() error { return runErr("down") }

// UpCluster starts a fresh 3-node cluster (a no-op if it runs) and waits until it serves requests.
func UpCluster() error { return runErr("up-cluster") }

// DownCluster stops the cluster and removes its data.
func DownCluster() error { return runErr("down-cluster") }

// Restart stops the single broker cleanly (SIGTERM) and starts it again with
// its data kept; it returns once the broker serves requests again.
func Restart() error { return runErr("restart") }

// RestartNode is Restart for a cluster node (1..3) or Single.
func RestartNode(node int) error { return runErr("restart", strconv.Itoa(node)) }

// Kill kills the node (Single or 1..3) with SIGKILL; its data stays.
func Kill(node int) error { return runErr("kill", strconv.Itoa(node)) }

// Start starts a stopped or killed node (Single or 1..3) with its data kept
// and returns once it serves requests and, for a cluster node, every
// partition has its full ISR again.
func Start(node int) error { return runErr("start", strconv.Itoa(node)) }

// Script returns the path of scripts/kafka.sh: $KAFKA_SH, else the one in this
// module's source tree, else the first scripts/kafka.sh found walking up from
// the working directory.
func Script() (string, error) {
	if p := os.Getenv(EnvScript); p != "" {
		return p, nil
	}
	var candidates []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", "..", "scripts", "kafka.sh"))
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			candidates = append(candidates, filepath.Join(dir, "scripts", "kafka.sh"))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return filepath.Clean(c), nil
		}
	}
	return "", ErrNoScript
}

func runErr(args ...string) error {
	_, err := run(context.Background(), args...)
	return err
}

// run runs scripts/kafka.sh with args and returns its standard output.
func run(ctx context.Context, args ...string) (string, error) {
	script, err := Script()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, ScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// The broker started by the script keeps no pipe of ours open (its
	// streams go to its log file), but bound the wait anyway.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kafkaenv: %s %s: %w\n%s", script, strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
