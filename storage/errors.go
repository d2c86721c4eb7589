package storage

import (
	"errors"
	"fmt"
	"strconv"
)

// offsetKey is the key under which a LevelDB storage keeps its offset. Goka
// uses the same key, so databases written by either open with the other.
const offsetKey = "__offset"

var offsetKeyBytes = []byte(offsetKey)

var (
	// ErrClosed is returned by the methods of a LevelDB storage after Close.
	ErrClosed = errors.New("storage: closed")

	// ErrReservedKey is returned when a LevelDB or memory storage is asked to
	// read or write the key "__offset", under which LevelDB keeps the offset.
	// Writing it would overwrite the offset, as it silently does in Goka.
	ErrReservedKey = errors.New(`storage: key "__offset" is reserved for the offset`)

	// ErrCorrupted is wrapped by the errors of a storage whose data was
	// found damaged, such as [*CorruptedError]. A storage that reported it
	// must not be used any further: Goka's tables stop, and their next
	// start discards the storage (see [Discarder]) and rebuilds it from the
	// table topic. See the package documentation, section "Damaged
	// storage".
	ErrCorrupted = errors.New("storage: corrupted")
)

// encodeOffset appends the ASCII decimal form of offset to dst, the format
// Goka stores under "__offset".
func encodeOffset(dst []byte, offset int64) []byte {
	return strconv.AppendInt(dst, offset, 10)
}

// decodeOffset parses an offset stored under "__offset".
func decodeOffset(data []byte) (int64, error) {
	offset, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return 0, fmt.Errorf("invalid offset %s under key %q: %w", quote(data), offsetKey, err)
	}
	return offset, nil
}

// quote quotes data for an error message, shortened so that a large corrupt
// value does not produce a huge error.
func quote(data []byte) string {
	const max = 32
	if len(data) > max {
		return fmt.Sprintf("%q... (%d bytes)", data[:max], len(data))
	}
	return fmt.Sprintf("%q", data)
}
