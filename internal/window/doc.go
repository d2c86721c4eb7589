// Package window holds the mechanics of windowed state and timers of a
// processor partition: the window arithmetic (tumbling, hopping, session),
// the key encoding of the window store, and the store's unacknowledged
// writes.
//
// # Store layout
//
// One store per partition holds every piece of time state, each kind under
// its own first byte, so that each is one range scan:
//
//	'w' len(key) key start end    the aggregate of one window of key
//	'e' end len(key) key start    index by end (local only, for closing and purging)
//	't' kind at len(key) key      a timer of key; the value is its payload
//	's'                           the partition's persisted stream time
//
// Times are milliseconds since the epoch, big-endian with the sign bit
// flipped, so that byte order is time order. len is 4 bytes big-endian.
//
// # Changelog keys
//
// Records of the changelog topic carry the store key plus two salt bytes
// chosen so that the processor's hasher puts the record in the partition of
// the store (the producer partitions by key, and a window key must not land
// in another partition). Keys are self-delimiting, so the salt is dropped
// when a record is applied.
package window
