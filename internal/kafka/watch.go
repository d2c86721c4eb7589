package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Probing: a broker counts as reachable when a TCP connection to it opens.
// That is what every outage that matters looks like from a client (the
// broker process stopped, its host down, the network cut), and it needs no
// credentials, TLS or protocol version. The probe dials the seed brokers,
// the last one that answered first; only when that fails the others, in
// parallel.
const (
	ProbeInterval = time.Second
	probeTimeout  = 2 * time.Second
)

// BrokerWatch follows whether a component reaches any of its seed brokers.
// Its zero value is ready to use; Run probes until its context ends.
type BrokerWatch struct {
	mu      sync.Mutex
	since   time.Time // start of the current outage; zero while reachable
	lastErr error     // error of the last failed probe of the current outage
	outages int
	// back is closed when the current outage ends; nil while reachable.
	back chan struct{}
}

// Down reports whether the last probe reached no broker.
func (w *BrokerWatch) Down() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.since.IsZero()
}

// Stats returns what the watch knows, for the components' stats.
func (w *BrokerWatch) Stats() WatchStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return WatchStats{UnreachableSince: w.since, LastError: w.lastErr, Outages: w.outages}
}

// WatchStats is a BrokerWatch's state: the start of the current outage
// (zero while a broker answers), the last probe error of that outage, and
// the number of outages so far.
type WatchStats struct {
	UnreachableSince time.Time
	LastError        error
	Outages          int
}

// WaitBack returns a channel closed once no outage is going on.
func (w *BrokerWatch) WaitBack() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.back == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return w.back
}

// report records the result of one probe and returns whether it began an
// outage (began) and whether it ended one (ended).
func (w *BrokerWatch) report(err error, now time.Time) (began, ended bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		if w.since.IsZero() {
			return false, false
		}
		w.since, w.lastErr = time.Time{}, nil
		close(w.back)
		w.back = nil
		return false, true
	}
	w.lastErr = err
	if !w.since.IsZero() {
		return false, false
	}
	w.since = now
	w.outages++
	w.back = make(chan struct{})
	return true, false
}

// OutageError returns the error of the current outage if it lasted at
// least bound, nil otherwise (and always for bound 0).
func (w *BrokerWatch) OutageError(brokers []string, bound time.Duration, now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bound <= 0 || w.since.IsZero() || now.Sub(w.since) < bound {
		return nil
	}
	return &OutageError{brokers: brokers, lasted: now.Sub(w.since), cause: w.lastErr}
}

// Run probes brokers every ProbeInterval until ctx ends. It calls
// onChange(true) when an outage begins and onChange(false) when it ends,
// from its own goroutine and without holding a lock. With bound > 0 it
// returns the outage error once an outage lasted bound; otherwise nil when
// ctx ends.
func (w *BrokerWatch) Run(ctx context.Context, brokers []string, bound time.Duration, onChange func(down bool)) error {
	preferred := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		idx, err := ProbeBrokers(ctx, brokers, preferred)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			preferred = idx
		}
		now := time.Now()
		began, ended := w.report(err, now)
		if began || ended {
			onChange(began)
		}
		if oerr := w.OutageError(brokers, bound, now); oerr != nil {
			return oerr
		}
		timer.Reset(ProbeInterval)
	}
}

// Go runs Run in a goroutine until the returned stop is called, which
// waits for it; the error of an outage that lasted bound goes to onErr,
// from that goroutine.
func (w *BrokerWatch) Go(ctx context.Context, brokers []string, bound time.Duration, onChange func(down bool), onErr func(error)) (stop func()) {
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(wctx, brokers, bound, onChange); err != nil {
			onErr(err)
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// ProbeBrokers dials brokers[preferred] and, if that fails, every other
// broker in parallel. It returns the index of a broker that accepted a
// connection, or the errors of all.
func ProbeBrokers(ctx context.Context, brokers []string, preferred int) (int, error) {
	if len(brokers) == 0 {
		return 0, ErrNoBrokers
	}
	if preferred >= len(brokers) {
		preferred = 0
	}
	first := dialProbe(ctx, brokers[preferred])
	if first == nil || len(brokers) == 1 {
		return preferred, first
	}
	type result struct {
		idx int
		err error
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan result, len(brokers)-1)
	var wg sync.WaitGroup
	for i, addr := range brokers {
		if i == preferred {
			continue
		}
		wg.Go(func() { results <- result{i, dialProbe(pctx, addr)} })
	}
	defer wg.Wait()
	errs := []error{first}
	for range len(brokers) - 1 {
		r := <-results
		if r.err == nil {
			return r.idx, nil
		}
		errs = append(errs, r.err)
	}
	return 0, errors.Join(errs...)
}

// dialProbe opens and closes a TCP connection to addr.
func dialProbe(ctx context.Context, addr string) error {
	dctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// OutageError is the error of a component that reached none of its
// brokers for its outage timeout. It wraps ErrBrokerUnreachable and the
// last probe error.
type OutageError struct {
	brokers []string
	lasted  time.Duration
	cause   error
}

func (e *OutageError) Error() string {
	return fmt.Sprintf("%v: none of the brokers %s answered for %v: %v",
		ErrBrokerUnreachable, strings.Join(e.brokers, ","), e.lasted.Round(time.Millisecond), e.cause)
}

func (e *OutageError) Unwrap() []error { return []error{ErrBrokerUnreachable, e.cause} }

// SessionCancel holds the cancel function of the running session's (or
// view attempt's) context, for the broker watch to end it.
type SessionCancel struct {
	mu      sync.Mutex
	f       context.CancelFunc
	byWatch bool
}

// Start returns the context of a new session.
func (s *SessionCancel) Start(ctx context.Context) context.Context {
	sctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.f, s.byWatch = cancel, false
	s.mu.Unlock()
	return sctx
}

// Cancel ends the session after it returned.
func (s *SessionCancel) Cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f()
	}
}

// EndForOutage ends the session for a broker outage.
func (s *SessionCancel) EndForOutage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f()
		s.byWatch = true
	}
}

// EndedForOutage reports whether the broker watch ended the last session.
func (s *SessionCancel) EndedForOutage() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byWatch
}
