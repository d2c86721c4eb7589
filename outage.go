package goka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// DefaultBrokerOutageTimeout is how long a processor or a view goes without
// reaching any of its brokers before Run returns an error wrapping
// ErrBrokerUnreachable (see WithBrokerOutageTimeout and
// WithViewBrokerOutageTimeout). It matches the time DefaultConfig's sarama
// retries last without a broker (Metadata.Timeout), so that a component
// stops with this error, naming the brokers, rather than with the first
// request sarama gave up on.
const DefaultBrokerOutageTimeout = 60 * time.Second

// Probing: a broker counts as reachable when a TCP connection to it opens.
// That is what every outage that matters looks like from a client (the
// broker process stopped, its host down, the network cut), and it needs no
// credentials, TLS or protocol version. The probe dials the seed brokers,
// the last one that answered first; only when that fails the others, in
// parallel.
const (
	outageProbeInterval = time.Second
	outageProbeTimeout  = 2 * time.Second
)

// brokerWatch follows whether a component reaches any of its seed brokers.
// Its zero value is ready to use; run probes until its context ends.
type brokerWatch struct {
	mu      sync.Mutex
	since   time.Time // start of the current outage; zero while reachable
	lastErr error     // error of the last failed probe of the current outage
	outages int
	// back is closed when the current outage ends; nil while reachable.
	back chan struct{}
}

// down reports whether the last probe reached no broker.
func (w *brokerWatch) down() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.since.IsZero()
}

// stats returns the watch's view for ProcessorStats and ViewStats.
func (w *brokerWatch) stats() BrokerStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := BrokerStats{UnreachableSince: w.since, Outages: w.outages}
	if w.lastErr != nil {
		s.LastError = w.lastErr.Error()
	}
	return s
}

// waitBack returns a channel closed once no outage is going on.
func (w *brokerWatch) waitBack() <-chan struct{} {
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
func (w *brokerWatch) report(err error, now time.Time) (began, ended bool) {
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

// outageError returns the error of the current outage if it lasted at
// least bound, nil otherwise (and always for bound 0).
func (w *brokerWatch) outageError(brokers []string, bound time.Duration, now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bound <= 0 || w.since.IsZero() || now.Sub(w.since) < bound {
		return nil
	}
	return &brokerOutageError{brokers: brokers, lasted: now.Sub(w.since), cause: w.lastErr}
}

// run probes brokers every outageProbeInterval until ctx ends. It calls
// onChange(true) when an outage begins and onChange(false) when it ends,
// from its own goroutine and without holding a lock. With bound > 0 it
// returns the outage error once an outage lasted bound; otherwise nil when
// ctx ends.
func (w *brokerWatch) run(ctx context.Context, brokers []string, bound time.Duration, onChange func(down bool)) error {
	preferred := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		idx, err := probeBrokers(ctx, brokers, preferred)
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
		if oerr := w.outageError(brokers, bound, now); oerr != nil {
			return oerr
		}
		timer.Reset(outageProbeInterval)
	}
}

// probeBrokers dials brokers[preferred] and, if that fails, every other
// broker in parallel. It returns the index of a broker that accepted a
// connection, or the errors of all.
func probeBrokers(ctx context.Context, brokers []string, preferred int) (int, error) {
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
	dctx, cancel := context.WithTimeout(ctx, outageProbeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// brokerOutageError is the error of a component that reached none of its
// brokers for its outage timeout. It wraps ErrBrokerUnreachable and the
// last probe error.
type brokerOutageError struct {
	brokers []string
	lasted  time.Duration
	cause   error
}

func (e *brokerOutageError) Error() string {
	return fmt.Sprintf("%v: none of the brokers %s answered for %v: %v",
		ErrBrokerUnreachable, strings.Join(e.brokers, ","), e.lasted.Round(time.Millisecond), e.cause)
}

func (e *brokerOutageError) Unwrap() []error { return []error{ErrBrokerUnreachable, e.cause} }
