package goka

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/table"
)

// Observer receives events of processors, views and emitters, for metrics
// and tracing: the plugins plugin/prometheus and plugin/otel implement it.
// Like franz-go's kgo.Hook, an Observer is any value implementing one or
// more of the ...Observer interfaces below; the core finds them by type
// assertion once, when the processor, view or emitter is created, so that
// an interface added later breaks no observer, and a component without
// observers pays a nil check per event. Pass observers with WithObserver,
// WithViewObserver and WithEmitterObserver. Not in Goka.
//
// Observer methods run on the goroutines of the engine (the partition
// goroutine, the producer's acknowledgement goroutine, sarama's rebalance
// goroutine): they must be quick, must not block and must not call back
// into the component that calls them, except for Stats.
type Observer any

// ProcessorRunObserver learns when a processor's Run begins and ends, so
// that it can read Processor.Stats (lag, recovery progress, assigned and
// standby partitions) when it is scraped.
type ProcessorRunObserver interface {
	OnProcessorRun(p *Processor)
	OnProcessorStop(p *Processor)
}

// ViewRunObserver learns when a view's Run (also a processor's lookup
// view) begins and ends, so that it can read View.Stats and
// View.CurrentState.
type ViewRunObserver interface {
	OnViewRun(v *View)
	OnViewStop(v *View)
}

// MessageObserver sees every input message of a processor.
type MessageObserver interface {
	// OnMessage is called before the message's callback with the context
	// Context.Context will return; the context it returns replaces it (a
	// tracer stores its span there), and is the one OnProduce receives for
	// the callback's Emit, Loopback and SetValue. done, if not nil, is
	// called when the callback returned.
	OnMessage(ctx context.Context, m MessageInfo) (_ context.Context, done func(MessageResult))
}

// MessageInfo describes an input message.
type MessageInfo struct {
	Group     Group
	Topic     string
	Partition int32
	Offset    int64
	// HighWaterMark is the partition's high-water mark as of the fetch
	// that brought the message, 0 if unknown.
	HighWaterMark int64
	Key           string
	Timestamp     time.Time
	// Headers are the message's headers; do not modify them.
	Headers Headers
}

// MessageResult is the outcome of a message's callback.
type MessageResult struct {
	// Duration is how long the callback ran.
	Duration time.Duration
	// Err is the callback's failure (a panic, Context.Fail), nil on
	// success. Failures of what it produced arrive through OnProduce.
	Err error
}

// ProduceKind says what a produced message is.
type ProduceKind int

// The kinds of produced messages.
const (
	// ProduceEmit is a processor's Context.Emit.
	ProduceEmit ProduceKind = iota
	// ProduceLoopback is a processor's Context.Loopback.
	ProduceLoopback
	// ProduceTableWrite is a processor's Context.SetValue or Delete.
	ProduceTableWrite
	// ProduceEmitter is an Emitter's message.
	ProduceEmitter
)

// String returns the kind's name as the plugins label it.
func (k ProduceKind) String() string {
	switch k {
	case ProduceEmit:
		return "emit"
	case ProduceLoopback:
		return "loopback"
	case ProduceTableWrite:
		return "table"
	case ProduceEmitter:
		return "emitter"
	}
	return "unknown"
}

// ProduceObserver sees every message a processor or an emitter produces.
type ProduceObserver interface {
	// OnProduce is called before the message is handed to the producer.
	// It returns the headers to send: m.Headers, or a new map with more (a
	// tracer's trace context); it must not modify m.Headers, which may be
	// shared. done, if not nil, is called with the broker's answer.
	OnProduce(ctx context.Context, m ProduceInfo) (_ Headers, done func(ProduceResult))
}

// ProduceInfo describes a message about to be produced.
type ProduceInfo struct {
	// Group is the producing processor's group, empty for an emitter.
	Group Group
	Kind  ProduceKind
	Topic string
	Key   string
	// Headers are the headers to be sent; do not modify them.
	Headers Headers
}

// ProduceResult is the broker's answer to a produced message.
type ProduceResult struct {
	// Partition and Offset are where the message was stored (-1 if it
	// was not).
	Partition int32
	Offset    int64
	// Latency is the time from OnProduce to the answer.
	Latency time.Duration
	Err     error
}

// RebalanceObserver sees every partition assignment of a processor.
type RebalanceObserver interface {
	OnRebalance(r RebalanceInfo)
}

// RebalanceInfo describes a processor's new assignment.
type RebalanceInfo struct {
	Group      Group
	Generation int32
	MemberID   string
	// Assigned are the partitions this instance processes now.
	Assigned []int32
	// Cooperative is set for the generations of the cooperative protocol
	// (WithCooperativeRebalance), which change the assignment
	// incrementally: Added and Revoked are its changes, the partitions of
	// Assigned not in Added kept processing through the rebalance. Under
	// the eager protocol every partition stopped and Assigned all start.
	Cooperative bool
	// Added are the partitions of Assigned this instance did not process
	// in its previous generation (cooperative only).
	Added []int32
	// Revoked are the partitions this instance gave up (cooperative only).
	Revoked []int32
	// Incoming are partitions moving to this instance that their previous
	// owner is revoking; they arrive in the follow-up rebalance.
	Incoming []int32
	// Standby and Warmup are the partitions whose tables this instance
	// keeps warm (WithStandbyReplicas) and warms up to take them over
	// (KIP-441), with the cooperative strategy.
	Standby, Warmup []int32
	// ProbeAfter is non-zero while warm-ups are pending anywhere in the
	// group: the group leader's probing interval
	// (WithProbingRebalanceInterval), the longest time until a member
	// asks for the rebalance that moves their partitions.
	ProbeAfter time.Duration
	// Duration is the time from the end of the previous session (the
	// first time: from joining the group) to the new assignment.
	Duration time.Duration
}

// StorageObserver sees the flushes of local storage and the completed
// recoveries of table partitions of processors and views.
type StorageObserver interface {
	// OnFlush is called after a storage that buffers writes was flushed.
	OnFlush(f FlushInfo)
	// OnRecovered is called when a table partition was recovered.
	OnRecovered(r RecoveredInfo)
}

// FlushInfo describes one flush of a partition's storage.
type FlushInfo struct {
	// Group is the processor's group, empty for a view.
	Group     Group
	Table     string
	Partition int32
	Duration  time.Duration
	Err       error
}

// RecoveredInfo describes a completed recovery of a table partition.
type RecoveredInfo struct {
	// Group is the processor's group, empty for a view.
	Group     Group
	Table     string
	Partition int32
	// Records is the number of records applied.
	Records  int64
	Duration time.Duration
	// Standby is set for a processor's table kept warm for a partition
	// another instance processes (WithHotStandby, WithRecoverAhead,
	// WithStandbyReplicas, warm-ups); such a table is recovered and then
	// followed.
	Standby bool
}

// TransactionObserver sees the transactions of exactly-once processors.
// Reserved: the names are fixed here so that the plugins expose them
// (goka_processor_transaction_commits_total, ..._aborts_total,
// ..._transaction_duration_seconds) as soon as exactly-once processing
// reports them.
type TransactionObserver interface {
	OnTransaction(t TransactionInfo)
}

// TransactionInfo describes one ended transaction.
type TransactionInfo struct {
	Group     Group
	Partition int32
	// Committed is true for a commit, false for an abort.
	Committed bool
	// Messages is the number of input messages the transaction covered.
	Messages int
	Duration time.Duration
	Err      error
}

// LateRecordObserver sees the records a window drops because they arrive
// after its grace period. Reserved, as TransactionObserver, for windowed
// processing (goka_processor_window_late_records_total).
type LateRecordObserver interface {
	OnLateRecord(r LateRecordInfo)
}

// LateRecordInfo describes a record dropped by a window.
type LateRecordInfo struct {
	Group     Group
	Topic     string
	Partition int32
	// Window names the window (its table or edge).
	Window string
	// Lateness is how far the record's timestamp lies behind the window's
	// end plus grace.
	Lateness time.Duration
}

// observers are the hooks of one processor, view or emitter, found in the
// given observers by type assertion; a nil slice means no hook of that
// kind, and a nil *observers none at all.
type observers struct {
	procRun      []ProcessorRunObserver
	viewRunH     []ViewRunObserver
	message      []MessageObserver
	produce      []ProduceObserver
	rebalance    []RebalanceObserver
	storage      []StorageObserver
	transactionH []TransactionObserver
	lateRecordH  []LateRecordObserver
}

// addObserver adds o's hooks to *obs, creating it first.
func addObserver(obs **observers, o Observer) {
	if o == nil {
		return
	}
	if *obs == nil {
		*obs = new(observers)
	}
	s := *obs
	if h, ok := o.(ProcessorRunObserver); ok {
		s.procRun = append(s.procRun, h)
	}
	if h, ok := o.(ViewRunObserver); ok {
		s.viewRunH = append(s.viewRunH, h)
	}
	if h, ok := o.(MessageObserver); ok {
		s.message = append(s.message, h)
	}
	if h, ok := o.(ProduceObserver); ok {
		s.produce = append(s.produce, h)
	}
	if h, ok := o.(RebalanceObserver); ok {
		s.rebalance = append(s.rebalance, h)
	}
	if h, ok := o.(StorageObserver); ok {
		s.storage = append(s.storage, h)
	}
	if h, ok := o.(TransactionObserver); ok {
		s.transactionH = append(s.transactionH, h)
	}
	if h, ok := o.(LateRecordObserver); ok {
		s.lateRecordH = append(s.lateRecordH, h)
	}
}

func (o *observers) processorRun(p *Processor) {
	if o == nil {
		return
	}
	for _, h := range o.procRun {
		h.OnProcessorRun(p)
	}
}

func (o *observers) processorStop(p *Processor) {
	if o == nil {
		return
	}
	for _, h := range o.procRun {
		h.OnProcessorStop(p)
	}
}

func (o *observers) viewRun(v *View) {
	if o == nil {
		return
	}
	for _, h := range o.viewRunH {
		h.OnViewRun(v)
	}
}

func (o *observers) viewStop(v *View) {
	if o == nil {
		return
	}
	for _, h := range o.viewRunH {
		h.OnViewStop(v)
	}
}

// messageSpan is what beginMessage started; its end reports the result.
// The zero value (no observer) does nothing.
type messageSpan struct {
	began time.Time
	done  []func(MessageResult)
}

// beginMessage calls the message observers for the input message of c,
// replacing c's context with theirs.
func (o *observers) beginMessage(c *cbContext, hwm int64) messageSpan {
	if o == nil || len(o.message) == 0 {
		return messageSpan{}
	}
	m := MessageInfo{
		Group: c.pp.graph.Group(), Topic: string(c.topic), Partition: c.partition, Offset: c.offset,
		HighWaterMark: hwm, Key: c.key, Timestamp: c.timestamp, Headers: c.Headers(),
	}
	var s messageSpan
	for _, h := range o.message {
		ctx, done := h.OnMessage(c.ctx, m)
		if ctx != nil {
			c.ctx = ctx
		}
		if done != nil {
			s.done = append(s.done, done)
		}
	}
	s.began = time.Now()
	return s
}

func (s messageSpan) end(err error) {
	if len(s.done) == 0 {
		return
	}
	r := MessageResult{Duration: time.Since(s.began), Err: err}
	for _, done := range s.done {
		done(r)
	}
}

// produceSpan is what beginProduce started; its end reports the broker's
// answer. The zero value (no observer) does nothing.
type produceSpan struct {
	began time.Time
	done  []func(ProduceResult)
}

// beginProduce calls the produce observers and returns the headers to
// send.
func (o *observers) beginProduce(ctx context.Context, group Group, kind ProduceKind, topic, key string, headers Headers) (Headers, produceSpan) {
	if o == nil || len(o.produce) == 0 {
		return headers, produceSpan{}
	}
	var s produceSpan
	for _, h := range o.produce {
		hdr, done := h.OnProduce(ctx, ProduceInfo{Group: group, Kind: kind, Topic: topic, Key: key, Headers: headers})
		headers = hdr
		if done != nil {
			s.done = append(s.done, done)
		}
	}
	s.began = time.Now()
	return headers, s
}

// beginEmit is beginProduce for Context.Emit, Loopback and table writes of
// c's callback.
func (o *observers) beginEmit(c *cbContext, topic, key string, headers Headers, tableWrite bool) (Headers, produceSpan) {
	if o == nil || len(o.produce) == 0 {
		return headers, produceSpan{}
	}
	kind := ProduceEmit
	switch {
	case tableWrite:
		kind = ProduceTableWrite
	case c.pp.graph.LoopStream() != nil && topic == c.pp.graph.LoopStream().Topic():
		kind = ProduceLoopback
	}
	return o.beginProduce(c.ctx, c.pp.graph.Group(), kind, topic, key, headers)
}

// empty reports whether no observer waits for the produce's result.
func (s produceSpan) empty() bool { return len(s.done) == 0 }

func (s produceSpan) end(msg *sarama.ProducerMessage, err error) {
	if len(s.done) == 0 {
		return
	}
	r := ProduceResult{Partition: -1, Offset: -1, Latency: time.Since(s.began), Err: err}
	if msg != nil && err == nil {
		r.Partition, r.Offset = msg.Partition, msg.Offset
	}
	for _, done := range s.done {
		done(r)
	}
}

// rebalancedTo reports r.
func (o *observers) rebalancedTo(r RebalanceInfo) {
	if o == nil {
		return
	}
	for _, h := range o.rebalance {
		h.OnRebalance(r)
	}
}

// withTableHooks sets cfg's storage hooks to call the storage observers.
func (o *observers) withTableHooks(group Group, cfg table.Config) table.Config {
	if o == nil || len(o.storage) == 0 {
		return cfg
	}
	topic, part := cfg.Topic, cfg.Partition
	standby := group != "" && PPRunMode(cfg.Mode) != runModeActive
	cfg.OnFlush = func(d time.Duration, err error) {
		for _, h := range o.storage {
			h.OnFlush(FlushInfo{Group: group, Table: topic, Partition: part, Duration: d, Err: err})
		}
	}
	cfg.OnRecovered = func(records int64, d time.Duration) {
		for _, h := range o.storage {
			h.OnRecovered(RecoveredInfo{Group: group, Table: topic, Partition: part, Records: records, Duration: d, Standby: standby})
		}
	}
	return cfg
}

// transaction reports an ended transaction; for exactly-once processing.
func (o *observers) transaction(t TransactionInfo) {
	if o == nil {
		return
	}
	for _, h := range o.transactionH {
		h.OnTransaction(t)
	}
}

// lateRecord reports a record a window dropped; for windowed processing.
func (o *observers) lateRecord(r LateRecordInfo) {
	if o == nil {
		return
	}
	for _, h := range o.lateRecordH {
		h.OnLateRecord(r)
	}
}

// rebalanceClock holds when the current rebalance of a processor began:
// when its consume loop started or its last session ended.
type rebalanceClock struct{ began atomicTime }

func (c *rebalanceClock) begin()           { c.began.Store(time.Now()) }
func (c *rebalanceClock) since() time.Time { return c.began.Load() }

// RecoveryProgress is the progress of a table partition's recovery, as
// RecoveryStats.Progress computes it.
type RecoveryProgress struct {
	// Done and Remaining count the records applied and left to apply.
	Done, Remaining int64
	// ETA estimates the time left from the rate so far; 0 when nothing is
	// left, -1 while the rate is unknown (nothing applied yet).
	ETA time.Duration
}

// Progress returns the progress of the recovery at now. A recovered
// partition has nothing remaining. Not in Goka.
func (r *RecoveryStats) Progress(now time.Time, recovered bool) RecoveryProgress {
	// Offset is the last applied offset; below 0 it is a sentinel for
	// "nothing stored yet", i.e. the recovery starts at the beginning.
	next := func(off int64) int64 { return max(off+1, 0) }
	p := RecoveryProgress{Done: max(next(r.Offset)-next(r.StartOffset), 0)}
	if !recovered {
		p.Remaining = max(r.Hwm-next(r.Offset), 0)
	}
	switch {
	case p.Remaining == 0:
		p.ETA = 0
	case p.Done == 0 || r.StartTime.IsZero() || !now.After(r.StartTime):
		p.ETA = -1
	default:
		elapsed := now.Sub(r.StartTime)
		p.ETA = time.Duration(float64(elapsed) * float64(p.Remaining) / float64(p.Done))
	}
	return p
}

// atomicTime is a time.Time read and written atomically; the zero value
// holds the zero time.
type atomicTime struct{ ns atomic.Int64 }

func (t *atomicTime) Store(v time.Time) { t.ns.Store(v.UnixNano()) }

func (t *atomicTime) Load() time.Time {
	ns := t.ns.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
