package window

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kind is the kind of a window definition.
type Kind int

// The kinds of windows.
const (
	Tumbling Kind = iota
	Hopping
	Session
)

// Spec is a window definition; every time is in milliseconds.
type Spec struct {
	Kind      Kind
	Size      int64 // tumbling and hopping
	Advance   int64 // hopping; Size for tumbling
	Gap       int64 // session inactivity gap
	Grace     int64
	Retention int64 // at least Size+Grace (Gap+Grace for sessions)
}

// Validate names the first bad field.
func (s Spec) Validate() error {
	switch s.Kind {
	case Tumbling, Hopping:
		if s.Size <= 0 {
			return fmt.Errorf("window size %d ms: must be positive", s.Size)
		}
		if s.Advance <= 0 || s.Advance > s.Size {
			return fmt.Errorf("window advance %d ms: must be in (0, size %d ms]", s.Advance, s.Size)
		}
	case Session:
		if s.Gap <= 0 {
			return fmt.Errorf("session gap %d ms: must be positive", s.Gap)
		}
	default:
		return fmt.Errorf("unknown window kind %d", s.Kind)
	}
	if s.Grace < 0 {
		return fmt.Errorf("grace %d ms: must not be negative", s.Grace)
	}
	if min := s.MinRetention(); s.Retention < min {
		return fmt.Errorf("retention %d ms: must be at least %d ms (size or gap + grace)", s.Retention, min)
	}
	return nil
}

// MinRetention is the shortest retention that keeps a window until it
// closes.
func (s Spec) MinRetention() int64 {
	if s.Kind == Session {
		return s.Gap + s.Grace
	}
	return s.Size + s.Grace
}

// W is a window: [Start, End) for tumbling and hopping windows; for
// sessions Start and End are the first and last timestamps (both included,
// as in Kafka Streams).
type W struct{ Start, End int64 }

// CloseTime is when the window stops accepting records, before grace:
// End for time windows, End+Gap for sessions.
func (s Spec) CloseTime(w W) int64 {
	if s.Kind == Session {
		return w.End + s.Gap
	}
	return w.End
}

// Closed reports whether w is closed at stream time t: CloseTime+Grace <= t.
func (s Spec) Closed(w W, t int64) bool { return s.CloseTime(w)+s.Grace <= t }

// Expired reports whether w is past retention at stream time t.
func (s Spec) Expired(w W, t int64) bool {
	if s.Kind == Session {
		return w.End+s.Retention <= t
	}
	return w.Start+s.Retention <= t
}

// floorDiv is a/b rounded toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Assign returns the time windows containing ts, oldest first, aligned to
// the epoch (Kafka Streams' TimeWindows). It appends to dst.
func (s Spec) Assign(dst []W, ts int64) []W {
	// Windows start at multiples of Advance; ts is in [start, start+Size).
	last := floorDiv(ts, s.Advance) * s.Advance
	first := last - (s.Size/s.Advance)*s.Advance
	for start := first; start <= last; start += s.Advance {
		if start <= ts && ts < start+s.Size {
			dst = append(dst, W{Start: start, End: start + s.Size})
		}
	}
	return dst
}

// Boundary returns the largest t' <= t at which a time window closes
// (CloseTime+Grace); late decisions at t and at Boundary(t) are the same,
// so the stream time is persisted only when its boundary moves. For
// sessions it is t.
func (s Spec) Boundary(t int64) int64 {
	if s.Kind == Session {
		return t
	}
	off := s.Size + s.Grace
	return floorDiv(t-off, s.Advance)*s.Advance + off
}

// Times are stored big-endian with the sign bit flipped.
func putTime(b []byte, t int64) { binary.BigEndian.PutUint64(b, uint64(t)^(1<<63)) }
func getTime(b []byte) int64    { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// Key prefixes of the store.
const (
	PrefixWindow = 'w'
	PrefixIndex  = 'e'
	PrefixTimer  = 't'
	PrefixStream = 's'
)

// StreamTimeKey is the key of the persisted stream time.
var StreamTimeKey = []byte{PrefixStream}

// ErrBadKey reports a store or changelog key that does not decode.
var ErrBadKey = errors.New("window: malformed store key")

// Key encodes the key of window w of key.
func Key(key string, w W) []byte {
	b := make([]byte, 1+4+len(key)+16)
	b[0] = PrefixWindow
	binary.BigEndian.PutUint32(b[1:], uint32(len(key)))
	copy(b[5:], key)
	putTime(b[5+len(key):], w.Start)
	putTime(b[13+len(key):], w.End)
	return b
}

// KeyRange returns [start, limit) of the windows of key starting in
// [from, to].
func KeyRange(key string, from, to int64) (start, limit []byte) {
	start = Key(key, W{Start: from, End: -1 << 63})
	limit = Key(key, W{Start: to, End: 1<<63 - 1})
	limit = append(limit, 0) // includes End = max
	return start, limit
}

// KeyPrefix returns [start, limit) of every window of key.
func KeyPrefix(key string) (start, limit []byte) { return KeyRange(key, -1<<63, 1<<63-1) }

// IndexKey encodes the end index entry of window w of key, by CloseTime.
func IndexKey(close int64, key string, w W) []byte {
	b := make([]byte, 1+8+4+len(key)+16)
	b[0] = PrefixIndex
	putTime(b[1:], close)
	binary.BigEndian.PutUint32(b[9:], uint32(len(key)))
	copy(b[13:], key)
	putTime(b[13+len(key):], w.Start)
	putTime(b[21+len(key):], w.End)
	return b
}

// IndexUpTo returns [start, limit) of the index entries with close time
// <= t.
func IndexUpTo(t int64) (start, limit []byte) {
	start = []byte{PrefixIndex}
	limit = make([]byte, 9)
	limit[0] = PrefixIndex
	if t == 1<<63-1 {
		return start, []byte{PrefixIndex + 1}
	}
	putTime(limit[1:], t+1)
	return start, limit
}

// TimerKey encodes a timer of key at at of clock kind.
func TimerKey(kind byte, at int64, key string) []byte {
	b := make([]byte, 1+1+8+4+len(key))
	b[0] = PrefixTimer
	b[1] = kind
	putTime(b[2:], at)
	binary.BigEndian.PutUint32(b[10:], uint32(len(key)))
	copy(b[14:], key)
	return b
}

// TimersUpTo returns [start, limit) of the timers of kind due at t.
func TimersUpTo(kind byte, t int64) (start, limit []byte) {
	start = []byte{PrefixTimer, kind}
	if t == 1<<63-1 {
		return start, []byte{PrefixTimer, kind + 1}
	}
	limit = make([]byte, 10)
	limit[0], limit[1] = PrefixTimer, kind
	putTime(limit[2:], t+1)
	return start, limit
}

// Decoded is a decoded store key.
type Decoded struct {
	Prefix byte
	Key    string
	W      W     // windows and index entries
	Close  int64 // index entries
	Kind   byte  // timers
	At     int64 // timers
	Len    int   // the length of the encoded key (a changelog key has salt after it)
}

// Decode decodes a store key, or the store key at the start of a
// changelog key.
func Decode(b []byte) (Decoded, error) {
	if len(b) == 0 {
		return Decoded{}, ErrBadKey
	}
	d := Decoded{Prefix: b[0]}
	str := func(at int) (string, int, bool) {
		if len(b) < at+4 {
			return "", 0, false
		}
		n := int(binary.BigEndian.Uint32(b[at:]))
		if n < 0 || len(b)-at-4 < n {
			return "", 0, false
		}
		return string(b[at+4 : at+4+n]), at + 4 + n, true
	}
	switch b[0] {
	case PrefixStream:
		d.Len = 1
		return d, nil
	case PrefixWindow:
		k, at, ok := str(1)
		if !ok || len(b) < at+16 {
			return Decoded{}, ErrBadKey
		}
		d.Key, d.W = k, W{Start: getTime(b[at:]), End: getTime(b[at+8:])}
		d.Len = at + 16
	case PrefixIndex:
		if len(b) < 9 {
			return Decoded{}, ErrBadKey
		}
		d.Close = getTime(b[1:])
		k, at, ok := str(9)
		if !ok || len(b) < at+16 {
			return Decoded{}, ErrBadKey
		}
		d.Key, d.W = k, W{Start: getTime(b[at:]), End: getTime(b[at+8:])}
		d.Len = at + 16
	case PrefixTimer:
		if len(b) < 10 {
			return Decoded{}, ErrBadKey
		}
		d.Kind, d.At = b[1], getTime(b[2:])
		k, at, ok := str(10)
		if !ok {
			return Decoded{}, ErrBadKey
		}
		d.Key, d.Len = k, at
	default:
		return Decoded{}, ErrBadKey
	}
	return d, nil
}

// Bounds returns the window of a window key or index entry key without
// decoding the rest; ok is false for other keys and malformed ones.
func Bounds(b []byte) (w W, ok bool) {
	at := 1
	switch {
	case len(b) == 0:
		return W{}, false
	case b[0] == PrefixWindow:
	case b[0] == PrefixIndex:
		at = 9
	default:
		return W{}, false
	}
	if len(b) < at+4 {
		return W{}, false
	}
	n := int(binary.BigEndian.Uint32(b[at:]))
	at += 4
	if n < 0 || len(b)-at-16 < n {
		return W{}, false
	}
	at += n
	return W{Start: getTime(b[at:]), End: getTime(b[at+8:])}, true
}

// Salted returns the changelog key of store key k: k plus two salt bytes,
// the first salt for which partitionOf gives part. It returns k with salt
// 0 if none fits (a partitioner that ignores the key). partitionOf must
// not keep its argument.
func Salted(k []byte, part int32, partitionOf func([]byte) int32) string {
	b := make([]byte, len(k)+2)
	copy(b, k)
	for salt := 0; salt < 1<<16; salt++ {
		binary.BigEndian.PutUint16(b[len(k):], uint16(salt))
		if partitionOf(b) == part {
			return string(b)
		}
	}
	binary.BigEndian.PutUint16(b[len(k):], 0)
	return string(b)
}

// Unsalted returns the store key of a changelog key.
func Unsalted(changelogKey []byte) ([]byte, Decoded, error) {
	d, err := Decode(changelogKey)
	if err != nil {
		return nil, d, err
	}
	return changelogKey[:d.Len], d, nil
}
