package tester

import (
	"bytes"
	"sort"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
)

// message is one record of a topic's queue.
type message struct {
	offset    int64
	key       string
	value     []byte // nil for tombstones
	headers   goka.Headers
	timestamp time.Time
}

// queue is the single partition of a topic: an append-only list of
// messages, offsets from 0. It is guarded by Tester.mu.
type queue struct {
	topic    string
	messages []*message
}

func (q *queue) hwm() int64 { return int64(len(q.messages)) }

func (q *queue) push(key string, value []byte, headers goka.Headers, ts time.Time) int64 {
	offset := q.hwm()
	q.messages = append(q.messages, &message{
		offset:    offset,
		key:       key,
		value:     bytes.Clone(value),
		headers:   copyHeaders(headers),
		timestamp: ts,
	})
	return offset
}

// consumerMessage converts the message at offset to what sarama consumers
// deliver. Headers are sorted by key so that delivery is deterministic.
func (q *queue) consumerMessage(offset int64) *sarama.ConsumerMessage {
	m := q.messages[offset]
	return &sarama.ConsumerMessage{
		Topic:     q.topic,
		Partition: 0,
		Offset:    m.offset,
		Key:       []byte(m.key),
		Value:     m.value,
		Headers:   sortedHeaders(m.headers),
		Timestamp: m.timestamp,
	}
}

func sortedHeaders(h goka.Headers) []*sarama.RecordHeader {
	if len(h) == 0 {
		return nil
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*sarama.RecordHeader, 0, len(keys))
	for _, k := range keys {
		out = append(out, &sarama.RecordHeader{Key: []byte(k), Value: h[k]})
	}
	return out
}

func copyHeaders(h goka.Headers) goka.Headers {
	if len(h) == 0 {
		return nil
	}
	out := make(goka.Headers, len(h))
	for k, v := range h {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// QueueTracker reads the messages of one topic in order, for checking what
// processors emitted. It starts at the end of the topic as it was when the
// tracker was created. It is not safe for concurrent use.
type QueueTracker struct {
	tt    *Tester
	topic string
	offsetSeeker[int64]
}

// offsetSeeker holds a tracker's position. Seek is declared on it, with a
// type parameter, only because go vet's stdmethods check takes any method
// Seek(int64) for a broken io.Seeker; Goka's API is Seek(offset int64).
type offsetSeeker[O ~int64] struct {
	nextOffset O
}

// Seek moves the tracker so that Next returns the message at offset. For a
// QueueTracker the offset is an int64, as in Goka: the type parameter only
// keeps go vet from taking Seek for a broken io.Seeker.
func (s *offsetSeeker[O]) Seek(offset O) {
	s.nextOffset = offset
}

// NewQueueTracker returns a tracker of topic, positioned after the last
// message the topic has now: create it before the Consume whose output it
// checks.
func (tt *Tester) NewQueueTracker(topic string) *QueueTracker {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return &QueueTracker{tt: tt, topic: topic, offsetSeeker: offsetSeeker[int64]{nextOffset: tt.queueLocked(topic).hwm()}}
}

// Next returns the key and the decoded value of the next message, and false
// if there is none. A tombstone's value is nil.
func (mt *QueueTracker) Next() (string, interface{}, bool) {
	if h, ok := mt.tt.t.(helper); ok {
		h.Helper()
	}
	_, key, value, ok := mt.NextWithHeaders()
	return key, value, ok
}

// NextWithHeaders is Next that also returns the headers of the message.
func (mt *QueueTracker) NextWithHeaders() (goka.Headers, string, interface{}, bool) {
	if h, ok := mt.tt.t.(helper); ok {
		h.Helper()
	}
	headers, key, raw, ok := mt.NextRawWithHeaders()
	if !ok || raw == nil {
		return headers, key, nil, ok
	}
	codec := mt.tt.codec(mt.topic)
	if codec == nil {
		mt.tt.t.Fatalf("tester: QueueTracker of topic %q: no codec registered for the topic: no processor, view or emitter declares it; use NextRaw", mt.topic)
		return headers, key, nil, false
	}
	value, err := codec.Decode(raw)
	if err != nil {
		mt.tt.t.Fatalf("tester: QueueTracker of topic %q: decoding message at offset %d (key %q) with %T: %v", mt.topic, mt.nextOffset-1, key, codec, err)
		return headers, key, nil, false
	}
	return headers, key, value, true
}

// NextRaw is Next without decoding.
func (mt *QueueTracker) NextRaw() (string, []byte, bool) {
	_, key, value, ok := mt.NextRawWithHeaders()
	return key, value, ok
}

// NextRawWithHeaders is NextRaw that also returns the headers of the
// message.
func (mt *QueueTracker) NextRawWithHeaders() (goka.Headers, string, []byte, bool) {
	mt.tt.mu.Lock()
	defer mt.tt.mu.Unlock()
	q := mt.tt.queueLocked(mt.topic)
	if mt.nextOffset < 0 || mt.nextOffset >= q.hwm() {
		return nil, "", nil, false
	}
	m := q.messages[mt.nextOffset]
	mt.nextOffset++
	return copyHeaders(m.headers), m.key, bytes.Clone(m.value), true
}

// Hwm returns the high-water mark of the topic: the offset the next message
// will get.
func (mt *QueueTracker) Hwm() int64 {
	return mt.tt.hwm(mt.topic)
}

// NextOffset returns the offset of the message Next returns next.
func (mt *QueueTracker) NextOffset() int64 {
	return mt.nextOffset
}
