package goka

import (
	"fmt"
	"time"

	"github.com/e3793d55/goka/internal/window"
)

// SetTimer implements TimeContext.
func (c *cbContext) SetTimer(kind TimeKind, at time.Time, payload []byte) {
	ts := c.timers()
	if payload == nil {
		payload = []byte{}
	}
	ms := at.UnixMilli()
	ts.write(c, window.TimerKey(byte(kind), ms, c.key), payload, false)
	switch kind {
	case WallClock:
		if ms < ts.wallAt {
			ts.reschedule(ms)
		}
	default:
		ts.nextStream = min(ts.nextStream, ms)
	}
}

// DeleteTimer implements TimeContext.
func (c *cbContext) DeleteTimer(kind TimeKind, at time.Time) {
	ts := c.timers()
	ts.write(c, window.TimerKey(byte(kind), at.UnixMilli(), c.key), nil, true)
}

func (c *cbContext) timers() *timeState {
	ts := c.pp.time
	if ts == nil || len(ts.gt.timers) == 0 {
		c.misuse("cannot set a timer of key %q: group %q has no OnTimer edge", c.key, c.pp.graph.Group())
	}
	return ts
}

type dueTimer struct {
	key     string
	at      int64
	payload []byte
}

// fireDue runs the callbacks of the timers of kind due at now, oldest
// first, each in a context of its key; each timer is deleted in its own
// context before its callback runs, so it fires once. With a parent (the
// message that moved the stream time) they complete with it.
func (ts *timeState) fireDue(kind TimeKind, now int64, parent *cbContext) {
	start, limit := window.TimersUpTo(byte(kind), now)
	var due []dueTimer
	err := ts.pending.Range(ts.table.Storage(), start, limit, func(k, v []byte) bool {
		if d, err := window.Decode(k); err == nil {
			due = append(due, dueTimer{key: d.Key, at: d.At, payload: v})
		}
		return true
	})
	if err != nil {
		ts.fail(parent, fmt.Errorf("reading timers: %w", err))
		return
	}
	cb := ts.gt.timers[0].cb
	for _, t := range due {
		tc := ts.childContext(parent, t.key, t.at, fmt.Sprintf("timer of key %q at %d", t.key, t.at))
		ts.write(tc, window.TimerKey(byte(kind), t.at, t.key), nil, true)
		payload := t.payload
		err := ts.pp.runCallback(func(Context, any) { cb(tc, payload) }, tc, nil)
		tc.callbackReturned(err)
	}
}

// childContext is the context of a timer or punctuation callback: it
// completes with parent, or on its own (failing the processor on error).
func (ts *timeState) childContext(parent *cbContext, key string, at int64, what string) *cbContext {
	tc := &cbContext{pp: ts.pp, ctx: ts.ctx, key: key, partition: ts.pp.partition, timestamp: time.UnixMilli(at)}
	if parent != nil {
		tc.ctx = parent.ctx
		parent.mu.Lock()
		parent.pending++
		parent.mu.Unlock()
		tc.done = func(err error) { parent.finishOne(err, true) }
		return tc
	}
	pp := ts.pp
	tc.done = func(err error) {
		if err != nil {
			pp.proc.fail(fmt.Errorf("%s (partition=%d): %w", what, pp.partition, err))
		}
	}
	return tc
}

func (ts *timeState) fail(parent *cbContext, err error) {
	if parent != nil {
		parent.misuse("%w", err)
	}
	ts.pp.proc.fail(err)
}

// firstTimer returns the time of the earliest timer of kind, maxTime if
// there is none.
func (ts *timeState) firstTimer(kind TimeKind) int64 {
	if ts.table == nil || len(ts.gt.timers) == 0 {
		return maxTime
	}
	start, limit := window.TimersUpTo(byte(kind), maxTime)
	first := int64(maxTime)
	_ = ts.pending.Range(ts.table.Storage(), start, limit, func(k, _ []byte) bool {
		if d, err := window.Decode(k); err == nil {
			first = d.At
		}
		return false
	})
	return first
}

// schedule sets the wall clock to the earliest wall-clock timer or
// punctuation.
func (ts *timeState) schedule() {
	next := ts.firstTimer(WallClock)
	for _, p := range ts.punct {
		if p.e.kind == WallClock {
			next = min(next, p.next)
		}
	}
	ts.reschedule(next)
}

func (ts *timeState) reschedule(at int64) {
	if ts.wallTimer != nil {
		ts.wallTimer.Stop()
		ts.wallTimer = nil
	}
	ts.wallAt = at
	if at == maxTime {
		return
	}
	d := time.Duration(at-ts.clock.Now().UnixMilli()) * time.Millisecond
	ts.wallTimer = ts.clock.AfterFunc(max(d, 0), ts.wake)
}

// fire handles a wake-up of the wall clock on the partition goroutine: the
// due wall-clock timers and punctuations run, their writes are applied,
// and the clock is set again. done is closed at the end.
func (ts *timeState) fire(done chan struct{}) {
	defer close(done)
	now := ts.clock.Now().UnixMilli()
	ts.wallTimer, ts.wallAt = nil, maxTime
	if len(ts.gt.timers) > 0 {
		ts.fireDue(WallClock, now, nil)
	}
	for i := range ts.punct {
		p := &ts.punct[i]
		if p.e.kind == WallClock && p.next <= now {
			iv := p.e.interval.Milliseconds()
			p.next = nextMultiple(now, iv)
			ts.punctuate(p.e, floorMultiple(now, iv), nil)
		}
	}
	ts.settle()
	ts.schedule()
}

// settle waits until the writes of the fired callbacks are in local
// storage, so that a test reading the table after AdvanceTime sees them.
func (ts *timeState) settle() {
	pp := ts.pp
	for ts.inflight.Load() > 0 || pp.unacked.InFlight() > 0 {
		select {
		case <-ts.pending.Signal():
			ts.applyAcked()
		case <-pp.unacked.Signal():
			pp.applyAcked()
		case <-ts.ctx.Done():
			return
		case <-pp.proc.failed:
			return
		}
	}
}
