// Tests of the examples: every example is built, and every example that
// ends by itself is run as a subprocess against its embedded broker and
// its output checked. 2-clicks is queried over HTTP, and two examples run
// against cmd/devbroker through KAFKA_BROKERS, as in the README.
package examples_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/internal/leaktest"
)

// bin is the directory with the built examples, named after their
// directories (3-messaging's command is "messaging").
var (
	bin      string
	buildErr error
	build    sync.Once
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(mainRun{m})
}

// mainRun removes the built examples after the tests.
type mainRun struct{ m *testing.M }

func (r mainRun) Run() int {
	code := r.m.Run()
	if bin != "" {
		_ = os.RemoveAll(bin)
	}
	return code
}

// needBinaries builds the examples and the dev broker, once for all tests.
// One go build for all compiles the shared packages once.
func needBinaries(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("running the examples takes a while (-short)")
	}
	build.Do(func() {
		dir, err := os.MkdirTemp("", "goka-examples-")
		if err != nil {
			buildErr = err
			return
		}
		bin = dir
		start := time.Now()
		args := []string{"build", "-o", dir + string(filepath.Separator)}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "./...", "../cmd/devbroker")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
		// 8-monitoring is a module of its own: it imports plugin/prometheus.
		mon := exec.Command("go", append(args, ".")...)
		mon.Dir = "8-monitoring"
		if out, err := mon.CombinedOutput(); err != nil && buildErr == nil {
			buildErr = fmt.Errorf("go build 8-monitoring: %w\n%s", err, out)
		}
		t.Logf("built the examples in %v", time.Since(start).Round(time.Millisecond))
	})
	require.NoError(t, buildErr)
}

// env is the environment of an example: ours without KAFKA_BROKERS, so that
// it starts its embedded broker, plus extra.
func env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KAFKA_BROKERS=") && !strings.HasPrefix(kv, "REDIS_ADDR=") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// runExample runs an example to its end and returns its standard output.
func runExample(t *testing.T, name string, environ []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
	cmd.Env = environ
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %v in %v\nstdout:\n%s", name, strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond), stdout.String())
	require.NoError(t, err, "stderr:\n%s", stderr.String())
	return stdout.String()
}

// TestTerminatingExamples runs every example that ends by itself.
func TestTerminatingExamples(t *testing.T) {
	needBinaries(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"1-simplest", nil, []string{"user-0 has 10 messages", "user-2 has 10 messages"}},
		{"messaging", []string{"-addr", "127.0.0.1:0"}, []string{
			"translator knows: ciao → hello, mondo → world",
			"bob received from alice: hello world",
			"the detector blocked spammer",
		}},
		{"5-multiple", nil, []string{"key-0: 10 messages, 5 of them on input-B", "key-3: 10 messages, 5 of them on input-B"}},
		{"6-reconnecting-view", nil, []string{
			"view state: running", "the view has greeting=hello\n", "restarting the broker",
			"the view still serves greeting=hello\n", "the view has greeting=hello again",
		}},
		{"8-monitoring", []string{"-addr", "127.0.0.1:0"}, []string{
			"counter: 4 partitions, 40 messages in",
			"enricher: 4 partitions, 40 messages in, 40 out, 0 table writes, 1 joined tables",
			"view: 4 of 4 partitions running",
			"web: index 200 with 2 links, monitor data of 4 partitions, query 200, unknown key 404",
			"reset: visited 4 keys",
			"metrics: goka_processor_messages_processed_total exported: true",
		}},
		{"9-defer-commit", nil, []string{
			"the counter received 40 forwarded messages",
			"defer-forwarder committed 40 input offsets",
		}},
		{"10-visit", nil, []string{
			"before: key-0=10 key-1=10 key-2=10 key-3=10 key-4=10",
			"visited 5 keys",
			"after: key-0=0 key-1=0 key-2=0 key-3=0 key-4=0",
		}},
		{"11-windows", nil, []string{
			"final: alice clicked 3 times in the minute of 12:00",
			"final: bob clicked 1 times in the minute of 12:00",
			"final: alice clicked 1 times in the minute of 12:01",
			"report: alice: 3 clicks in the minute of 12:00 so far",
			"report: bob: 1 clicks in the minute of 12:02 so far",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := runExample(t, tc.name, env(), tc.args...)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
		})
	}
}

// process is an example running in the background.
type process struct {
	cmd    *exec.Cmd
	lines  chan string // standard output, line by line
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start starts an example; the test's cleanup kills it if it still runs.
func start(t *testing.T, name string, environ []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Env = environ
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &process{cmd: cmd, lines: make(chan string, 100), stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			p.lines <- s.Text()
		}
		close(p.lines)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range p.lines {
		}
	})
	return p
}

// waitLine returns the first line with prefix, failing after a minute.
func (p *process) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("%s ended without printing %q; stderr:\n%s", p.cmd.Path, prefix, p.stderr.String())
			}
			t.Logf("%s: %s", filepath.Base(p.cmd.Path), line)
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("%s did not print %q within a minute; stderr:\n%s", p.cmd.Path, prefix, p.stderr.String())
		}
	}
}

// stop sends sig and expects a clean exit within 30 seconds.
func (p *process) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	start := time.Now()
	defer func() {
		t.Logf("%s stopped by %v in %v", filepath.Base(p.cmd.Path), sig, time.Since(start).Round(time.Millisecond))
	}()
	require.NoError(t, p.cmd.Process.Signal(sig))
	go func() {
		for range p.lines {
		}
	}()
	select {
	case err := <-p.done:
		require.NoError(t, err, "%s after %v; stderr:\n%s", p.cmd.Path, sig, p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30 s of %v", p.cmd.Path, sig)
	}
}

// TestClicks queries the view of 2-clicks over HTTP while clicks are
// emitted, then stops it with SIGTERM.
func TestClicks(t *testing.T) {
	needBinaries(t)
	t.Parallel()
	p := start(t, "2-clicks", env(), "-addr", "127.0.0.1:0", "-users", "3", "-interval", "10ms")
	line := p.waitLine(t, "serving http://")
	base := strings.TrimSuffix(strings.Fields(line)[1], "/user-0")

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var last int
	require.Eventually(t, func() bool {
		code, body := get("/user-1")
		if code != http.StatusOK {
			return false
		}
		var u struct {
			Clicks int `json:"clicks"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &u), body)
		if last > 0 && u.Clicks > last {
			return true // the count grows while clicks come in
		}
		last = u.Clicks
		return false
	}, time.Minute, 50*time.Millisecond, "user-1's clicks are served and grow")
	code, body := get("/nobody")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, `no clicks of "nobody" yet`)
	code, _ = get("/user-1/extra")
	assert.Equal(t, http.StatusNotFound, code)

	p.stop(t, syscall.SIGTERM)
}

// TestKeepRunning checks -keep-running and a clean stop on SIGINT.
func TestKeepRunning(t *testing.T) {
	needBinaries(t)
	t.Parallel()
	p := start(t, "10-visit", env(), "-keep-running")
	p.waitLine(t, "running; press Ctrl-C to stop")
	p.stop(t, os.Interrupt)
}

// TestDevbroker runs examples in several processes against cmd/devbroker,
// as the README describes: 1-simplest and 5-multiple twice (the second run
// recovers the first run's tables and counts on), and 3-messaging split in
// two programs.
func TestDevbroker(t *testing.T) {
	needBinaries(t)
	t.Parallel()
	broker := start(t, "devbroker", env(), "-port", "0")
	brokers := strings.TrimPrefix(broker.waitLine(t, "KAFKA_BROKERS="), "KAFKA_BROKERS=")
	withBroker := env("KAFKA_BROKERS=" + brokers)

	out := runExample(t, "1-simplest", withBroker)
	assert.Contains(t, out, "user-0 has 10 messages")
	out = runExample(t, "1-simplest", withBroker)
	assert.Contains(t, out, "user-0 has 20 messages")

	out = runExample(t, "5-multiple", withBroker)
	assert.Contains(t, out, "key-0: 10 messages, 5 of them on input-B")
	out = runExample(t, "5-multiple", withBroker)
	assert.Contains(t, out, "key-0: 20 messages, 10 of them on input-B")

	filter := start(t, "messaging", withBroker, "-addr", "127.0.0.1:0", "-processors", "filter", "-keep-running")
	out = runExample(t, "messaging", withBroker, "-addr", "127.0.0.1:0", "-processors", "blocker,collector,detector,translator")
	assert.Contains(t, out, "bob received from alice: hello world")
	assert.Contains(t, out, "the detector blocked spammer")
	filter.waitLine(t, "running; press Ctrl-C to stop")
	filter.stop(t, syscall.SIGTERM)

	broker.stop(t, syscall.SIGTERM)
}

// TestRedis runs 7-redis against a redis-server of its own, and against a
// wrong address.
func TestRedis(t *testing.T) {
	needBinaries(t)
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("GOKA_REQUIRE_REDIS") == "1" {
			t.Fatal("redis-server is not on PATH and GOKA_REQUIRE_REDIS=1: install it with `bash scripts/redis.sh install`")
		}
		t.Skip("redis-server is not on PATH: install it with `bash scripts/redis.sh install` (GOKA_REQUIRE_REDIS=1 fails instead)")
	}
	t.Parallel()
	addr := startRedis(t)
	out := runExample(t, "7-redis", env("REDIS_ADDR="+addr))
	assert.Contains(t, out, "user-0=10 user-1=10 user-2=10")
	assert.Contains(t, out, "after a restart: user-0=10 user-1=10 user-2=10")

	// A wrong address fails at once, naming it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	wrong := l.Addr().String()
	require.NoError(t, l.Close())
	cmd := exec.Command(filepath.Join(bin, "7-redis"))
	cmd.Env = env("REDIS_ADDR=" + wrong)
	combined, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "7-redis must fail: %v\n%s", err, combined)
	assert.Contains(t, string(combined), "no Redis at "+wrong)
}

// startRedis starts a redis-server without persistence on a free port.
func startRedis(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	dir := t.TempDir()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "redis-server on %s", addr)
	return addr
}
