package goka

import (
	"fmt"
	"time"

	"github.com/e3793d55/goka/internal/window"
)

// TimeKind is the clock of a punctuation or a timer.
type TimeKind int

const (
	// StreamTime is the partition's stream time: the largest timestamp of
	// the input messages of the partition seen so far (Kafka Streams'
	// PunctuationType.STREAM_TIME). It advances only with input.
	StreamTime TimeKind = iota
	// WallClock is the processor's clock (Kafka Streams'
	// PunctuationType.WALL_CLOCK_TIME): it fires with no input at all.
	WallClock
)

func (k TimeKind) String() string {
	if k == WallClock {
		return "wall-clock"
	}
	return "stream-time"
}

// Window is the bounds of a window: [Start, End) for tumbling and hopping
// windows; for a session, the first and the last timestamp of its
// messages, both included (as in Kafka Streams).
type Window struct {
	Start, End time.Time
}

func (w Window) String() string {
	return fmt.Sprintf("[%s, %s)", w.Start.UTC().Format(time.RFC3339Nano), w.End.UTC().Format(time.RFC3339Nano))
}

// WindowValue is the aggregate of one window.
type WindowValue struct {
	Window Window
	Value  any
}

// Headers of the messages of EmitFinal and EmitUpdates: the window bounds,
// as decimal milliseconds since the epoch.
const (
	HeaderWindowStart = "goka-window-start"
	HeaderWindowEnd   = "goka-window-end"
)

// WindowTable returns the topic of the time store of group: the
// changelog of its windows, timers and stream time.
func WindowTable(group Group) Table {
	return Table(string(group) + "-window")
}

// WindowCallback aggregates one message into one window: ctx.Value and
// ctx.SetValue address the aggregate of ctx.Window() for ctx.Key(). It is
// called once for each window the message falls into (one for tumbling
// windows and sessions, size/advance for hopping windows), oldest first.
type WindowCallback func(ctx TimeContext, msg any)

// TimerCallback runs when a timer set with TimeContext.SetTimer is due: ctx
// is the context of the timer's key (Key, Value, SetValue, Emit, SetTimer
// work as in an input callback), ctx.Timestamp() is the time the timer
// was set for.
type TimerCallback func(ctx TimeContext, payload []byte)

// PunctuateCallback runs per partition every interval (Kafka Streams'
// Punctuator.punctuate): at is the multiple of the interval that was
// reached. ctx has no key: Emit, Windows and SetTimer work, Value and
// SetValue address the key "".
type PunctuateCallback func(ctx TimeContext, at time.Time)

// LateCallback sees a message that arrived after one of its windows
// closed: end + grace <= stream time. Such a window does not get it.
type LateCallback func(ctx Context, msg any)

// TimeContext is the Context of window, timer and punctuation callbacks,
// and of any callback of a processor: get it with TimeOf. It extends
// Context without changing it, so Goka programs and their Context fakes
// are unaffected.
type TimeContext interface {
	Context
	// Window returns the window a WindowCallback addresses; the zero
	// Window elsewhere.
	Window() Window
	// StreamTime returns the stream time of the partition.
	StreamTime() time.Time
	// Now returns the time of the processor's wall clock (the tester's
	// clock under the tester); use it, not time.Now, for WallClock timers.
	Now() time.Time
	// SetTimer sets a timer of Key at at on clock kind, replacing the
	// one set for the same key, kind and time. The timer is stored in the
	// partition's time store, so it survives restarts and moves with its
	// partition. OnTimer's callback runs when it is due: a wall-clock timer
	// when the processor's clock reaches at (even with no input), a
	// stream-time timer when the stream time does.
	SetTimer(kind TimeKind, at time.Time, payload []byte)
	// DeleteTimer deletes the timer of Key at at on clock kind, if any.
	DeleteTimer(kind TimeKind, at time.Time)
	// Windows returns the windows of key whose start is in [from, to],
	// oldest first, including this callback's writes.
	Windows(key string, from, to time.Time) []WindowValue
}

// TimeOf returns the TimeContext of ctx: ctx itself, or the context a
// WithContextWrapper wrapper wraps if it has an Unwrap() Context method. It
// panics (stopping the processor with an error) for a Context it cannot
// unwrap.
func TimeOf(ctx Context) TimeContext {
	for {
		switch c := ctx.(type) {
		case TimeContext:
			return c
		case interface{ Unwrap() Context }:
			ctx = c.Unwrap()
		default:
			panic(&failError{err: fmt.Errorf("goka.TimeOf: %T is not a TimeContext and has no Unwrap() Context", ctx)})
		}
	}
}

// WindowOption configures Windowed.
type WindowOption func(*windowConfig)

type windowConfig struct {
	spec      window.Spec
	kindSet   int
	merge     func(a, b any) any
	retention time.Duration
	final     *edge
	updates   *edge
	late      LateCallback
	cache     int64
	cacheSet  bool
}

// DefaultWindowCache is the default of WindowCache: the bytes of open
// windows held in memory per partition.
const DefaultWindowCache = 16 << 20

// Tumbling windows of size: [k·size, (k+1)·size), aligned to the epoch
// (Kafka Streams' TimeWindows.ofSizeWithNoGrace). Exactly one of Tumbling,
// Hopping and Session is required.
func Tumbling(size time.Duration) WindowOption {
	return func(c *windowConfig) {
		c.kindSet++
		c.spec.Kind, c.spec.Size, c.spec.Advance = window.Tumbling, size.Milliseconds(), size.Milliseconds()
	}
}

// Hopping windows of size starting every advance: [k·advance,
// k·advance+size), aligned to the epoch (Kafka Streams' TimeWindows
// advanceBy); a message falls into size/advance windows. advance must be in
// (0, size].
func Hopping(size, advance time.Duration) WindowOption {
	return func(c *windowConfig) {
		c.kindSet++
		c.spec.Kind, c.spec.Size, c.spec.Advance = window.Hopping, size.Milliseconds(), advance.Milliseconds()
	}
}

// Session windows: a key's messages less than gap apart (gap included)
// form one session (Kafka Streams' SessionWindows.ofInactivityGapWithNoGrace).
// A message that bridges two sessions merges them: merge combines their
// aggregates (older first) into the value the callback's ctx.Value()
// returns. A session closes at its last timestamp + gap; once closed
// (and grace passed) it is final and merges no more.
func Session(gap time.Duration, merge func(older, newer any) any) WindowOption {
	return func(c *windowConfig) {
		c.kindSet++
		c.spec.Kind, c.spec.Gap, c.merge = window.Session, gap.Milliseconds(), merge
	}
}

// Grace admits out-of-order messages for d after a window's end: a message
// whose window has end + grace <= stream time is late (Kafka Streams'
// ofSizeAndGrace). Default: 0.
func Grace(d time.Duration) WindowOption {
	return func(c *windowConfig) { c.spec.Grace = d.Milliseconds() }
}

// Retention keeps windows in the store for d after their start (sessions:
// after their end), for queries; then they are purged, so the store does
// not grow forever (Kafka Streams' Materialized.withRetention). It must be
// at least size + grace (gap + grace). Default: size + grace (gap + grace).
func Retention(d time.Duration) WindowOption {
	return func(c *windowConfig) { c.retention = d }
}

// EmitFinal emits each window's aggregate once, when the window closes:
// when stream time reaches end + grace (Kafka Streams'
// EmitStrategy.onWindowClose, KIP-825). The message has the key of the
// window, the aggregate encoded with codec (decoded first with the
// aggregate codec), and the window bounds in the headers HeaderWindowStart
// and HeaderWindowEnd. topic becomes an output of the group. Default: no
// final emission.
func EmitFinal(topic Stream, codec Codec) WindowOption {
	return func(c *windowConfig) { c.final = &edge{kind: kindOutput, topic: string(topic), codec: codec} }
}

// EmitUpdates emits the aggregate on every SetValue of a window (Kafka
// Streams' EmitStrategy.onWindowUpdate), with the headers of EmitFinal.
// Default: no update emission.
func EmitUpdates(topic Stream, codec Codec) WindowOption {
	return func(c *windowConfig) { c.updates = &edge{kind: kindOutput, topic: string(topic), codec: codec} }
}

// OnLate calls cb with every late message (once per message, even when it
// was late for several hopping windows). Late messages are counted in
// WindowStats either way. Default: none.
func OnLate(cb LateCallback) WindowOption {
	return func(c *windowConfig) { c.late = cb }
}

// WindowCache holds the aggregates of a partition's open tumbling and
// hopping windows in memory, up to maxBytes per partition (keys, values
// and about 64 bytes each), besides writing them to the time store as
// always. A callback then reads its window without a store lookup, a new
// window is known to be new without one, and the windows that a step of
// stream time closes are found without scanning the store; with the
// default retention they are purged at once. When the open windows
// outgrow maxBytes the oldest are dropped from memory and read from the
// store again, so the bound holds whatever the number of keys. 0 turns the
// cache off; session windows never use it. Default: DefaultWindowCache
// (16 MiB).
func WindowCache(maxBytes int64) WindowOption {
	return func(c *windowConfig) { c.cache, c.cacheSet = maxBytes, true }
}

// cacheBytes is the WindowCache bound with its default.
func (c *windowConfig) cacheBytes() int64 {
	if !c.cacheSet {
		return DefaultWindowCache
	}
	return c.cache
}

// Windowed consumes topic (an input of the group, decoded with c) and
// aggregates its messages per key and window into the group's time store,
// whose changelog is WindowTable(group): cb runs once per window of each
// message, and its ctx.Value/SetValue/Delete address that window's
// aggregate, encoded with aggregate. Windows are event-time windows on the
// message timestamp; see the package documentation, section "Windows and
// timers". A group has at most one Windowed edge.
func Windowed(topic Stream, c Codec, aggregate Codec, cb WindowCallback, opts ...WindowOption) Edge {
	we := &windowEdge{topic: string(topic), codec: c, aggregate: aggregate, cb: cb}
	for _, o := range opts {
		o(&we.cfg)
	}
	return we
}

// windowEdge is the edge of Windowed.
type windowEdge struct {
	topic     string
	codec     Codec
	aggregate Codec
	cb        WindowCallback
	cfg       windowConfig
}

func (e *windowEdge) String() string { return fmt.Sprintf("windowed %s/%T", e.topic, e.codec) }
func (e *windowEdge) Topic() string  { return e.topic }
func (e *windowEdge) Codec() Codec   { return e.codec }

// OnTimer sets the callback of the timers of TimeContext.SetTimer. A group
// has at most one.
func OnTimer(cb TimerCallback) Edge { return &timerEdge{cb: cb} }

type timerEdge struct{ cb TimerCallback }

func (e *timerEdge) String() string { return "timer" }
func (e *timerEdge) Topic() string  { return "" }
func (e *timerEdge) Codec() Codec   { return nil }

// Punctuate calls cb on every partition every interval of clock kind,
// at the multiples of interval since the epoch, once per crossing even if
// several intervals passed at once (a jump of stream time, a slow
// callback). Punctuation is not persisted: after a restart or a move the
// next multiple fires. A group may have several.
func Punctuate(interval time.Duration, kind TimeKind, cb PunctuateCallback) Edge {
	return &punctuateEdge{interval: interval, kind: kind, cb: cb}
}

type punctuateEdge struct {
	interval time.Duration
	kind     TimeKind
	cb       PunctuateCallback
}

func (e *punctuateEdge) String() string { return fmt.Sprintf("punctuate %v %v", e.interval, e.kind) }
func (e *punctuateEdge) Topic() string  { return "" }
func (e *punctuateEdge) Codec() Codec   { return nil }

// graphTime is the time part of a group graph: its Windowed, OnTimer and
// Punctuate edges.
type graphTime struct {
	windows []*windowEdge
	timers  []*timerEdge
	puncts  []*punctuateEdge
}

// timeEdge is implemented by the edges above; DefineGroup hands them here.
type timeEdge interface{ addTo(gg *GroupGraph) }

func (gg *GroupGraph) timeGraph() *graphTime {
	if gg.time == nil {
		gg.time = new(graphTime)
	}
	return gg.time
}

func (e *windowEdge) addTo(gg *GroupGraph) {
	gg.timeGraph().windows = append(gg.timeGraph().windows, e)
	if e.topic == "" {
		panic("goka: DefineGroup: windowed input with empty topic")
	}
	if _, dup := gg.callbacks[e.topic]; dup {
		panic(fmt.Sprintf("goka: DefineGroup: duplicate input topic %q", e.topic))
	}
	// An input like any other: the partition processor replaces the
	// callback by its windowing (timeState.windowed).
	in := &edge{kind: kindInput, topic: e.topic, codec: e.codec, cb: func(Context, any) {}}
	gg.callbacks[e.topic] = in.cb
	gg.codecs[e.topic] = e.codec
	gg.inputStreams = append(gg.inputStreams, in)
	for _, out := range []*edge{e.cfg.final, e.cfg.updates} {
		if out != nil && gg.codecs[out.topic] == nil {
			gg.codecs[out.topic] = out.codec
			gg.outputStreams = append(gg.outputStreams, out)
		}
	}
}

func (e *timerEdge) addTo(gg *GroupGraph) {
	gg.timeGraph().timers = append(gg.timeGraph().timers, e)
}

func (e *punctuateEdge) addTo(gg *GroupGraph) {
	gg.timeGraph().puncts = append(gg.timeGraph().puncts, e)
}

// spec returns the window definition of we with its defaults.
func (e *windowEdge) spec() window.Spec {
	s := e.cfg.spec
	s.Retention = e.cfg.retention.Milliseconds()
	if e.cfg.retention == 0 {
		s.Retention = s.MinRetention()
	}
	return s
}

// validate names every problem of the time edges.
func (t *graphTime) validate() []error {
	if t == nil {
		return nil
	}
	var errs []error
	if len(t.windows) > 1 {
		errs = append(errs, fmt.Errorf("more than one Windowed edge"))
	}
	for _, w := range t.windows {
		name := fmt.Sprintf("windowed %q", w.topic)
		switch {
		case w.cfg.kindSet != 1:
			errs = append(errs, fmt.Errorf("%s: exactly one of Tumbling, Hopping and Session is required, got %d", name, w.cfg.kindSet))
		case w.cfg.spec.Kind == window.Session && w.cfg.merge == nil:
			errs = append(errs, fmt.Errorf("%s: Session needs a merge function", name))
		default:
			if err := w.spec().Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
		if w.cfg.cache < 0 {
			errs = append(errs, fmt.Errorf("%s: WindowCache %d bytes: must not be negative", name, w.cfg.cache))
		}
		if w.codec == nil || w.aggregate == nil {
			errs = append(errs, fmt.Errorf("%s: codec is nil", name))
		}
		if w.cb == nil {
			errs = append(errs, fmt.Errorf("%s: callback is nil", name))
		}
		for _, out := range []*edge{w.cfg.final, w.cfg.updates} {
			if out != nil && (out.topic == "" || out.codec == nil) {
				errs = append(errs, fmt.Errorf("%s: emit topic %q: empty topic or nil codec", name, out.topic))
			}
		}
	}
	if len(t.timers) > 1 {
		errs = append(errs, fmt.Errorf("more than one OnTimer edge"))
	}
	for _, tm := range t.timers {
		if tm.cb == nil {
			errs = append(errs, fmt.Errorf("timer: callback is nil"))
		}
	}
	for _, p := range t.puncts {
		if p.cb == nil || p.interval < time.Millisecond {
			errs = append(errs, fmt.Errorf("punctuate: nil callback or interval %v under 1ms", p.interval))
		}
		if p.kind != StreamTime && p.kind != WallClock {
			errs = append(errs, fmt.Errorf("punctuate: unknown TimeKind %d", p.kind))
		}
	}
	return errs
}

// usesTimeStore reports whether the group has a time store.
func (t *graphTime) usesTimeStore() bool {
	return t != nil && (len(t.windows) > 0 || len(t.timers) > 0)
}
