package redis_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/internal/leaktest"
)

// requireEnv makes the tests fail instead of skip when redis-server is
// missing. CI sets it.
const requireEnv = "GOKA_REQUIRE_REDIS"

// shared is the redis-server most tests use; nil if none could be started.
var (
	shared    *redisServer
	sharedErr error
)

func TestMain(m *testing.M) {
	// go-redis logs every failed redial; the restart tests cause many. The
	// storage's own errors say what failed.
	goredis.SetLogger(quietLogger{})
	shared, sharedErr = startSharedServer()
	// leaktest's grace period also covers go-redis' pool sleeping in its
	// one-second redial loop when a test closes a client of a dead server.
	leaktest.VerifyTestMain(mainRun{m})
}

// mainRun stops the shared server after the tests.
type mainRun struct{ m *testing.M }

func (r mainRun) Run() int {
	code := r.m.Run()
	if shared != nil {
		shared.stop()
	}
	return code
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func startSharedServer() (*redisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errNoRedis
	}
	dir, err := os.MkdirTemp("", "goka-redis-test-")
	if err != nil {
		return nil, err
	}
	srv, err := startFreePort(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	srv.ownDir = true
	return srv, nil
}

var errNoRedis = errors.New("redis-server is not on PATH")

// skipOrFail handles a redis-server that is missing or does not start: a
// missing one skips the test, unless GOKA_REQUIRE_REDIS=1.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errNoRedis) {
		if os.Getenv(requireEnv) != "1" {
			t.Skipf("%v: install it with `bash scripts/redis.sh install` (set %s=1 to fail instead of skip)", err, requireEnv)
		}
		t.Fatalf("%v and %s=1: install it with `bash scripts/redis.sh install`", err, requireEnv)
	}
	t.Fatalf("redis-server: %v", err)
}

// sharedServer returns the shared server or skips/fails the test.
func sharedServer(t testing.TB) *redisServer {
	t.Helper()
	if shared == nil {
		skipOrFail(t, sharedErr)
	}
	return shared
}

// ownServer starts a server only this test uses (it may kill it).
func ownServer(t testing.TB) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		skipOrFail(t, errNoRedis)
	}
	srv, err := startFreePort(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(srv.stop)
	return srv
}

// redisServer is a redis-server process without persistence on 127.0.0.1.
type redisServer struct {
	port   int
	dir    string
	ownDir bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// startFreePort starts a server on a free port, retrying if another process
// grabs the port between the probe and the start.
func startFreePort(dir string) (*redisServer, error) {
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		srv := &redisServer{port: port, dir: dir}
		if lastErr = srv.start(); lastErr == nil {
			return srv, nil
		}
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start starts redis-server on s.port and waits (bounded) until it answers
// PING.
func (s *redisServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logPath := filepath.Join(s.dir, fmt.Sprintf("redis-%d.log", s.port))
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", logPath, "--daemonize", "no")
	cmd.Dir = s.dir
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ping(s.addr()); err == nil {
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			s.cmd = nil
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, lastLines(log, 5))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.killLocked()
			return fmt.Errorf("redis-server on port %d did not answer PING within 10s", s.port)
		}
	}
}

// kill stops the server with SIGKILL and waits for it to exit.
func (s *redisServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

func (s *redisServer) killLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// signal sends sig to the running server.
func (s *redisServer) signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return fmt.Errorf("redis-server on port %d is not running", s.port)
	}
	return s.cmd.Process.Signal(sig)
}

func (s *redisServer) stop() {
	s.kill()
	if s.ownDir {
		_ = os.RemoveAll(s.dir)
	}
}

// ping sends PING over a raw connection and expects +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// newClient returns a client of addr that honours context deadlines; the test
// closes it at the end.
func newClient(t testing.TB, addr string) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
