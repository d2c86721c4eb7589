package multierr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e3793d55/goka/multierr"
)

func TestErrGroup(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	tests := []struct {
		name    string
		results []error
		want    []error
	}{
		{"no functions", nil, nil},
		{"all succeed", []error{nil, nil, nil}, nil},
		{"one fails", []error{nil, errA, nil}, []error{errA}},
		{"two fail", []error{errA, nil, errB}, []error{errA, errB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := multierr.NewErrGroup(context.Background())
			for _, err := range tt.results {
				g.Go(func() error { return err })
			}
			got := g.Wait()
			if tt.want == nil {
				if got != nil {
					t.Fatalf("Wait() = %v, want nil", got)
				}
				if got.ErrorOrNil() != nil { // nil receiver is fine
					t.Fatal("ErrorOrNil on nil result is not nil")
				}
				return
			}
			if got == nil || len(got.Errors) != len(tt.want) {
				t.Fatalf("Wait() = %v, want %v", got, tt.want)
			}
			for _, w := range tt.want {
				if !errors.Is(got, w) {
					t.Errorf("errors.Is(%v, %v) = false", got, w)
				}
			}
			if got.ErrorOrNil() == nil {
				t.Fatal("ErrorOrNil() = nil")
			}
		})
	}
}

func TestErrGroupCancelsContextOnError(t *testing.T) {
	g, ctx := multierr.NewErrGroup(context.Background())
	g.Go(func() error {
		<-ctx.Done() // ends only because the other function fails
		return ctx.Err()
	})
	g.Go(func() error { return io.EOF })
	err := g.Wait()
	if !errors.Is(err, io.EOF) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait() = %v, want io.EOF and context.Canceled", err)
	}
}

func TestErrGroupWaitResultIsSnapshot(t *testing.T) {
	g, _ := multierr.NewErrGroup(context.Background())
	g.Go(func() error { return io.EOF })
	first := g.Wait()
	g.Go(func() error { return io.ErrUnexpectedEOF })
	second := g.Wait()
	if len(first.Errors) != 1 || len(second.Errors) != 2 {
		t.Fatalf("got %d and %d errors, want 1 and 2", len(first.Errors), len(second.Errors))
	}
}

func TestErrGroupWaitChan(t *testing.T) {
	g, _ := multierr.NewErrGroup(context.Background())
	release := make(chan struct{})
	g.Go(func() error {
		<-release
		return io.EOF
	})
	ch := g.WaitChan()
	select {
	case <-ch:
		t.Fatal("WaitChan delivered before the function returned")
	case <-time.After(10 * time.Millisecond):
	}
	close(release)
	err, ok := <-ch
	if !ok || !errors.Is(err, io.EOF) {
		t.Fatalf("WaitChan delivered %v, %v", err, ok)
	}
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed after the result")
	}
}

func TestErrors(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		var e multierr.Errors
		if e.HasErrors() || e.NilOrError() != nil || e.Error() != "" {
			t.Fatalf("zero Errors: HasErrors=%v NilOrError=%v Error=%q", e.HasErrors(), e.NilOrError(), e.Error())
		}
		e.Collect(nil)
		if e.HasErrors() {
			t.Fatal("Collect(nil) added an error")
		}
	})
	t.Run("collect", func(t *testing.T) {
		e := new(multierr.Errors)
		if got := e.Collect(io.EOF).Collect(nil).Collect(fs.ErrNotExist); got != e {
			t.Fatal("Collect does not return its receiver")
		}
		if !e.HasErrors() {
			t.Fatal("HasErrors() = false")
		}
		if want := errors.Join(io.EOF, fs.ErrNotExist).Error(); e.Error() != want {
			t.Fatalf("Error() = %q, want %q", e.Error(), want)
		}
		err := e.NilOrError()
		if !errors.Is(err, io.EOF) || !errors.Is(err, fs.ErrNotExist) || errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("errors.Is through %v is wrong", err)
		}
		var pe *fs.PathError
		e.Collect(&fs.PathError{Op: "open", Path: "/x", Err: fs.ErrPermission})
		if !errors.As(e, &pe) || pe.Path != "/x" {
			t.Fatal("errors.As does not find the *fs.PathError")
		}
		if errors.As(err, &pe) || strings.Contains(err.Error(), "/x") {
			t.Fatal("NilOrError result changed after a later Collect")
		}
		var me *multierr.Errors
		if !errors.As(err, &me) || len(me.Unwrap()) != 2 {
			t.Fatal("NilOrError does not return an *Errors with the 2 errors")
		}
	})
	t.Run("merge", func(t *testing.T) {
		a := new(multierr.Errors).Collect(io.EOF)
		b := new(multierr.Errors).Collect(fs.ErrExist)
		if got := a.Merge(b).Merge(nil).Merge(new(multierr.Errors)); got != a {
			t.Fatal("Merge does not return its receiver")
		}
		if !errors.Is(a, io.EOF) || !errors.Is(a, fs.ErrExist) || len(a.Unwrap()) != 2 {
			t.Fatalf("after merge: %v", a.Unwrap())
		}
		if len(b.Unwrap()) != 1 {
			t.Fatal("Merge changed its argument")
		}
		a.Merge(a) // must not deadlock
		if len(a.Unwrap()) != 4 {
			t.Fatalf("self merge: %d errors, want 4", len(a.Unwrap()))
		}
	})
}

func TestErrorsConcurrent(t *testing.T) {
	var e, other, sink multierr.Errors
	other.Collect(io.EOF)
	var wg sync.WaitGroup
	const n = 50
	for i := range n {
		wg.Go(func() {
			e.Collect(fmt.Errorf("err %d", i))
			e.Merge(&other)
			_ = e.Error()
			_ = e.HasErrors()
			_ = e.NilOrError()
			sink.Merge(&e) // e is read while others write it
		})
	}
	wg.Wait()
	if got := len(e.Unwrap()); got < 2*n {
		t.Fatalf("%d errors, want at least %d", got, 2*n)
	}
}

func TestMultiWait(t *testing.T) {
	t.Run("all done", func(t *testing.T) {
		chans := []chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
		mw := multierr.NewMultiWait(context.Background(), len(chans))
		for _, c := range chans {
			mw.Add(c)
		}
		for i, c := range chans {
			select {
			case <-mw.Done():
				t.Fatalf("done after %d of %d", i, len(chans))
			default:
			}
			close(c)
		}
		if !mw.Wait() {
			t.Fatal("Wait() = false")
		}
		<-mw.Done()
	})
	t.Run("zero", func(t *testing.T) {
		mw := multierr.NewMultiWait(context.Background(), 0)
		if !mw.Wait() {
			t.Fatal("Wait() = false with nothing to wait for")
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		mw := multierr.NewMultiWait(ctx, 2)
		closed := make(chan struct{})
		close(closed)
		mw.Add(closed)
		mw.Add(make(chan struct{})) // never closed; its goroutine ends with ctx
		res := make(chan bool)
		go func() { res <- mw.Wait() }()
		cancel()
		if <-res {
			t.Fatal("Wait() = true after cancel")
		}
		select {
		case <-mw.Done():
			t.Fatal("Done closed although one channel is still open")
		default:
		}
	})
	t.Run("done before cancel wins", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		mw := multierr.NewMultiWait(ctx, 1)
		c := make(chan struct{})
		mw.Add(c)
		close(c)
		<-mw.Done()
		cancel()
		if !mw.Wait() {
			t.Fatal("Wait() = false although everything is done")
		}
	})
	t.Run("too many adds", func(t *testing.T) {
		mw := multierr.NewMultiWait(context.Background(), 1)
		c := make(chan struct{})
		close(c)
		mw.Add(c)
		defer func() {
			if recover() == nil {
				t.Fatal("second Add did not panic")
			}
		}()
		mw.Add(c)
	})
}
