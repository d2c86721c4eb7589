package tester

import (
	"fmt"
	"hash"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/storage"
)

// T is the part of *testing.T the tester uses to report misuse. Fatalf and
// Fatal are expected not to return (testing.T calls runtime.Goexit); if
// they do, the tester method returns a zero value.
type T interface {
	Errorf(format string, args ...interface{})
	Fatalf(format string, args ...interface{})
	Fatal(a ...interface{})
}

// helper is implemented by *testing.T: the tester marks its methods as
// helpers so that failures point at the test's line.
type helper interface{ Helper() }

// EmitOption configures a message given to Consume.
type EmitOption func(*emitOption)

type emitOption struct {
	headers goka.Headers
	time    time.Time
}

// WithHeaders adds headers to the message; with several options, later
// ones win for the same key.
func WithHeaders(headers goka.Headers) EmitOption {
	return func(o *emitOption) {
		o.headers = o.headers.Merged(headers)
	}
}

// WithTime sets the timestamp of the message. Default: the zero time, as in
// Goka.
func WithTime(time time.Time) EmitOption {
	return func(o *emitOption) {
		o.time = time
	}
}

// defaultWaitTimeout bounds every wait of the tester: for components to
// start and for the system to become idle. Goka waits forever; a test that
// hangs until go test's timeout says less than a failure naming what it
// waited for.
const defaultWaitTimeout = 10 * time.Second

// Tester is an in-memory Kafka for processors, views and emitters. It
// implements goka.Tester. Create it with New.
type Tester struct {
	t        T
	producer *producer
	tmgr     *MockTopicManager

	// settleMu serializes the waits for an idle system, so that an emitter
	// used inside a callback can see that a Consume is already waiting. It
	// is held from before a Consume's push, or a timer's firing, to the end
	// of the wait: everything a callback does happens while it is held.
	settleMu sync.Mutex

	// mu guards everything below, and the state of queues, clients,
	// consumers, partition consumers and sessions.
	mu sync.Mutex
	// wake is closed and replaced whenever something changes: a message
	// appended, applied or committed, a component started or stopped.
	wake     chan struct{}
	queues   map[string]*queue
	codecs   map[string]goka.Codec
	storages map[string]storage.Storage
	clients  []*client
	byID     map[string]*client
	timeout  time.Duration
	clock    *clock // the wall clock of processors (clock.go)
}

var _ goka.Tester = (*Tester)(nil)

// New returns a tester reporting misuse to t.
func New(t T) *Tester {
	tt := &Tester{
		t:        t,
		wake:     make(chan struct{}),
		queues:   make(map[string]*queue),
		codecs:   make(map[string]goka.Codec),
		storages: make(map[string]storage.Storage),
		byID:     make(map[string]*client),
		timeout:  defaultWaitTimeout,
		clock:    newClock(),
	}
	tt.producer = &producer{tt: tt}
	tt.tmgr = NewMockTopicManager(tt, 1, 1)
	return tt
}

// changedLocked wakes everybody waiting for a change.
func (tt *Tester) changedLocked() {
	close(tt.wake)
	tt.wake = make(chan struct{})
}

func (tt *Tester) queueLocked(topic string) *queue {
	q, ok := tt.queues[topic]
	if !ok {
		q = &queue{topic: topic}
		tt.queues[topic] = q
	}
	return q
}

// hwm returns the high-water mark of topic.
func (tt *Tester) hwm(topic string) int64 {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.queueLocked(topic).hwm()
}

// waitMessage waits until topic has a message at offset and returns it as
// sarama consumers deliver it, or returns nil once done is closed.
func (tt *Tester) waitMessage(topic string, offset int64, done <-chan struct{}) *sarama.ConsumerMessage {
	for {
		tt.mu.Lock()
		q := tt.queueLocked(topic)
		if offset < q.hwm() {
			msg := q.consumerMessage(offset)
			tt.mu.Unlock()
			return msg
		}
		wake := tt.wake
		tt.mu.Unlock()
		select {
		case <-wake:
		case <-done:
			return nil
		}
	}
}

func (tt *Tester) storageLocked(topic string) storage.Storage {
	st, ok := tt.storages[topic]
	if !ok {
		st = storage.NewMemory()
		tt.storages[topic] = st
	}
	return st
}

// push appends a message to topic and returns its offset.
func (tt *Tester) push(topic, key string, value []byte, headers goka.Headers, ts time.Time) int64 {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	offset := tt.queueLocked(topic).push(key, value, headers, ts)
	tt.changedLocked()
	return offset
}

func (tt *Tester) codec(topic string) goka.Codec {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.codecs[topic]
}

// registerCodec records the codec of topic. Two codecs of different types
// for one topic mean the components disagree on the topic's encoding.
func (tt *Tester) registerCodec(topic string, codec goka.Codec) {
	if codec == nil {
		return
	}
	tt.mu.Lock()
	tt.queueLocked(topic)
	old, ok := tt.codecs[topic]
	if !ok {
		tt.codecs[topic] = codec
	}
	tt.mu.Unlock()
	if ok && reflect.TypeOf(old) != reflect.TypeOf(codec) {
		tt.t.Fatalf("tester: topic %q has two codecs: %T and %T", topic, old, codec)
	}
}

// registerTable records that topic is a table, so that TableValue and
// SetTableValue accept it even before a component opened its storage.
func (tt *Tester) registerTable(topic string) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.storageLocked(topic)
}

func (tt *Tester) addClient(c *client) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	c.tt = tt
	c.id = fmt.Sprintf("client-%d", len(tt.clients))
	tt.clients = append(tt.clients, c)
	tt.byID[c.id] = c
	tt.changedLocked()
}

// RegisterGroupGraph is called by goka.WithTester: it registers the codecs
// of the graph's topics and returns the client ID the processor must use.
func (tt *Tester) RegisterGroupGraph(gg *goka.GroupGraph) string {
	// goka.NewProcessor returns the same error; failing the test here, as
	// Goka's tester does, catches a test that ignores it.
	if err := gg.Validate(); err != nil {
		tt.t.Errorf("tester: invalid group graph: %v", err)
	}
	c := &client{group: string(gg.Group())}
	c.cg = &consumerGroup{tt: tt, client: c, errs: make(chan error, 16), committed: make(map[string]int64)}
	for _, e := range gg.JointTables() {
		c.joins = append(c.joins, e.Topic())
	}
	if t := gg.GroupTable(); t != nil {
		tt.registerCodec(t.Topic(), t.Codec())
		tt.registerTable(t.Topic())
	}
	for _, e := range gg.InputStreams() {
		tt.registerCodec(e.Topic(), e.Codec())
	}
	for _, e := range gg.OutputStreams() {
		tt.registerCodec(e.Topic(), e.Codec())
	}
	if loop := gg.LoopStream(); loop != nil {
		tt.registerCodec(loop.Topic(), loop.Codec())
	}
	for _, tables := range []goka.Edges{gg.JointTables(), gg.LookupTables()} {
		for _, e := range tables {
			tt.registerCodec(e.Topic(), e.Codec())
			tt.registerTable(e.Topic())
		}
	}
	tt.addClient(c)
	return c.id
}

// RegisterView is called by goka.WithViewTester: it registers the table's
// codec and returns the client ID the view must use.
func (tt *Tester) RegisterView(table goka.Table, codec goka.Codec) string {
	tt.registerCodec(string(table), codec)
	tt.registerTable(string(table))
	c := &client{table: string(table)}
	tt.addClient(c)
	return c.id
}

// RegisterEmitter is called by goka.WithEmitterTester: it registers the
// codec of the emitter's topic.
func (tt *Tester) RegisterEmitter(topic goka.Stream, codec goka.Codec) {
	tt.registerCodec(string(topic), codec)
}

// StorageBuilder returns a builder of the shared memory storage of each
// topic.
func (tt *Tester) StorageBuilder() storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		tt.mu.Lock()
		defer tt.mu.Unlock()
		return tt.storageLocked(topic), nil
	}
}

// ProducerBuilder returns a builder of the tester's synchronous producer.
func (tt *Tester) ProducerBuilder() goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		return tt.producer, nil
	}
}

// EmitterProducerBuilder returns a builder of a producer that, after each
// message, waits until the processors and views consumed it.
func (tt *Tester) EmitterProducerBuilder() goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		return &flushingProducer{tt: tt}, nil
	}
}

// TopicManagerBuilder returns a builder of the tester's topic manager.
func (tt *Tester) TopicManagerBuilder() goka.TopicManagerBuilder {
	return func(brokers []string) (goka.TopicManager, error) {
		return tt.tmgr, nil
	}
}

// ConsumerGroupBuilder returns a builder of the consumer group of the
// processor registered under clientID.
func (tt *Tester) ConsumerGroupBuilder() goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		tt.mu.Lock()
		defer tt.mu.Unlock()
		c, ok := tt.byID[clientID]
		if !ok || c.cg == nil {
			return nil, fmt.Errorf("tester: no processor registered with client ID %q: create the processor with goka.WithTester", clientID)
		}
		return c.cg, nil
	}
}

// ConsumerBuilder returns a builder of partition consumers for the
// processor or view registered under clientID, and for the lookup views of
// a processor (client ID "<processor's>-lookup-<table>").
func (tt *Tester) ConsumerBuilder() goka.SaramaConsumerBuilder {
	return func(brokers []string, clientID string) (sarama.Consumer, error) {
		tt.mu.Lock()
		defer tt.mu.Unlock()
		c, ok := tt.byID[clientID]
		primary := ok
		if !ok {
			if base, _, found := strings.Cut(clientID, "-lookup-"); found {
				c, ok = tt.byID[base]
			}
		}
		if !ok {
			return nil, fmt.Errorf("tester: no processor or view registered with client ID %q: create it with goka.WithTester or goka.WithViewTester", clientID)
		}
		cons := &consumer{tt: tt, client: c, primary: primary}
		c.consumers = append(c.consumers, cons)
		if primary {
			c.stopped = false
		}
		tt.changedLocked()
		return cons, nil
	}
}

// Consume appends a message to topic, encoded with the topic's codec (nil
// and typed nil pointers are tombstones), and waits until every processor
// and view processed it and everything that followed from it.
func (tt *Tester) Consume(topic string, key string, msg interface{}, options ...EmitOption) {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	var opts emitOption
	for _, o := range options {
		o(&opts)
	}
	var data []byte
	if !isNil(msg) {
		codec := tt.codec(topic)
		if codec == nil {
			tt.t.Fatalf("tester: Consume(%q, %q): no codec registered for topic %q: no processor, view or emitter of this tester uses it", topic, key, topic)
			return
		}
		var err error
		data, err = codec.Encode(msg)
		if err != nil {
			tt.t.Fatalf("tester: Consume(%q, %q): encoding %T with %T: %v", topic, key, msg, codec, err)
			return
		}
	}
	if !tt.waitStartup() {
		return
	}
	// The lock is taken before the push: a callback that emits through an
	// emitter of this tester must find it held, or its emit would wait for
	// the idle system, which waits for that callback.
	tt.settleMu.Lock()
	defer tt.settleMu.Unlock()
	tt.push(topic, key, data, opts.headers, opts.time)
	tt.settleLocked()
}

func isNil(v interface{}) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Chan, reflect.Func:
		return rv.IsNil()
	}
	return false
}

// Catchup waits until every processor and view consumed every message. It
// is rarely needed, since Consume waits the same way; use it after
// Processor.VisitAll or writes from outside the tester's components.
func (tt *Tester) Catchup() {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	if !tt.waitStartup() {
		return
	}
	tt.settle()
}

// TableValue returns the decoded value of key in table, or nil if the key
// has none. It waits until every processor and view runs.
func (tt *Tester) TableValue(table goka.Table, key string) interface{} {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	if !tt.waitStartup() {
		return nil
	}
	st, codec, ok := tt.table(string(table))
	if !ok {
		tt.t.Fatalf("tester: TableValue(%q, %q): no processor or view of this tester uses table %q (tables: %s)", table, key, table, tt.tableNames())
		return nil
	}
	data, err := st.Get(key)
	if err != nil {
		tt.t.Fatalf("tester: TableValue(%q, %q): %v", table, key, err)
		return nil
	}
	if data == nil {
		return nil
	}
	value, err := codec.Decode(data)
	if err != nil {
		tt.t.Fatalf("tester: TableValue(%q, %q): decoding with %T: %v", table, key, codec, err)
		return nil
	}
	return value
}

// SetTableValue sets the value of key in table, in the storage only: no
// message is written to the table topic. A nil value deletes the key. It
// waits until every processor and view runs: call it after starting them.
func (tt *Tester) SetTableValue(table goka.Table, key string, value interface{}) {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	if !tt.waitStartup() {
		return
	}
	st, codec, ok := tt.table(string(table))
	if !ok {
		tt.t.Fatalf("tester: SetTableValue(%q, %q): no processor or view of this tester uses table %q (tables: %s)", table, key, table, tt.tableNames())
		return
	}
	if isNil(value) {
		if err := st.Delete(key); err != nil {
			tt.t.Fatalf("tester: SetTableValue(%q, %q): %v", table, key, err)
		}
		return
	}
	data, err := codec.Encode(value)
	if err != nil {
		tt.t.Fatalf("tester: SetTableValue(%q, %q): encoding %T with %T: %v", table, key, value, codec, err)
		return
	}
	if err := st.Set(key, data); err != nil {
		tt.t.Fatalf("tester: SetTableValue(%q, %q): %v", table, key, err)
	}
}

// GetTableKeys returns the keys of table, sorted.
func (tt *Tester) GetTableKeys(table goka.Table) []string {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	tt.mu.Lock()
	st, ok := tt.storages[string(table)]
	tt.mu.Unlock()
	if !ok {
		tt.t.Fatalf("tester: GetTableKeys(%q): no processor or view of this tester uses table %q (tables: %s)", table, table, tt.tableNames())
		return nil
	}
	it, err := st.Iterator()
	if err != nil {
		tt.t.Fatalf("tester: GetTableKeys(%q): %v", table, err)
		return nil
	}
	defer it.Release()
	keys := make([]string, 0)
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	return keys
}

// ClearValues deletes every key of every table. Topics and offsets stay.
func (tt *Tester) ClearValues() {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	tt.mu.Lock()
	storages := make([]storage.Storage, 0, len(tt.storages))
	for _, st := range tt.storages {
		storages = append(storages, st)
	}
	tt.mu.Unlock()
	for _, st := range storages {
		it, err := st.Iterator()
		if err != nil {
			tt.t.Fatalf("tester: ClearValues: %v", err)
			return
		}
		for it.Next() {
			if err := st.Delete(string(it.Key())); err != nil {
				it.Release()
				tt.t.Fatalf("tester: ClearValues: %v", err)
				return
			}
		}
		it.Release()
	}
}

// table returns the storage and codec of a table some component declared.
func (tt *Tester) table(topic string) (storage.Storage, goka.Codec, bool) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	st, ok := tt.storages[topic]
	codec := tt.codecs[topic]
	if !ok || codec == nil {
		return nil, nil, false
	}
	return st, codec, true
}

func (tt *Tester) tableNames() string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	names := make([]string, 0, len(tt.storages))
	for name := range tt.storages {
		names = append(names, fmt.Sprintf("%q", name))
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// waitStartup waits until every registered processor and view runs (or
// stopped). It fails the test and returns false after the timeout.
func (tt *Tester) waitStartup() bool {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	return tt.waitFor("to start", func() []string {
		var pending []string
		for _, c := range tt.clients {
			if !c.startedLocked() {
				pending = append(pending, c.String()+" is not running (call Run in a goroutine first)")
			}
		}
		return pending
	})
}

// settle waits until the system is idle: every processor committed every
// message of its inputs and loop, and every partition consumer applied
// every record of its topic.
func (tt *Tester) settle() bool {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	tt.settleMu.Lock()
	defer tt.settleMu.Unlock()
	return tt.settleLocked()
}

func (tt *Tester) settleLocked() bool {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	return tt.waitFor("to consume every message", func() []string {
		var pending []string
		for _, c := range tt.clients {
			pending = append(pending, c.busyLocked()...)
		}
		return pending
	})
}

// waitFor waits until pending, called with tt.mu held, returns nothing. It
// reports what is still pending through T after the timeout.
func (tt *Tester) waitFor(what string, pending func() []string) bool {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	timer := time.NewTimer(tt.timeout)
	defer timer.Stop()
	for {
		tt.mu.Lock()
		p := pending()
		wake := tt.wake
		tt.mu.Unlock()
		if len(p) == 0 {
			return true
		}
		select {
		case <-wake:
		case <-timer.C:
			tt.t.Fatalf("tester: waited %v for the processors and views %s:\n\t%s", tt.timeout, what, strings.Join(p, "\n\t"))
			return false
		}
	}
}
