package tester_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/internal/leaktest"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// start runs proc until the test ends and returns a function that stops it
// and returns Run's error.
func start(t *testing.T, proc interface{ Run(context.Context) error }) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = proc.Run(ctx)
	}()
	var once sync.Once
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("%T did not stop within 10s", proc)
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// fakeT records what the tester reports. Fatalf and Fatal end the calling
// goroutine with runtime.Goexit, as testing.T does.
type fakeT struct {
	mu     sync.Mutex
	errors []string
	fatals []string
}

func (f *fakeT) Errorf(format string, args ...interface{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeT) Fatalf(format string, args ...interface{}) {
	f.mu.Lock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeT) Fatal(args ...interface{}) {
	f.mu.Lock()
	f.fatals = append(f.fatals, fmt.Sprint(args...))
	f.mu.Unlock()
	runtime.Goexit()
}

// do runs fn in a goroutine of its own, as testing runs a test, and
// reports whether fn returned normally (false after Fatalf).
func (f *fakeT) do(fn func()) (returned bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
		returned = true
	}()
	<-done
	return returned
}

func (f *fakeT) messages() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(append(append([]string(nil), f.errors...), f.fatals...), "\n")
}

// noopCallback is a callback for inputs whose messages do not matter.
func noopCallback(goka.Context, interface{}) {}
