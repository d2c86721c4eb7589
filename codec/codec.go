package codec

import (
	"errors"
	"fmt"
	"strconv"
)

// Bytes is the codec for raw byte slices.
//
// Encode accepts only a []byte and returns it unchanged (not a copy). Decode
// returns the input slice, typed as []byte, and never fails.
type Bytes struct{}

// Encode returns value unchanged if it is a []byte and an error otherwise.
func (*Bytes) Encode(value interface{}) ([]byte, error) {
	data, ok := value.([]byte)
	if !ok {
		return nil, fmt.Errorf("codec: Bytes cannot encode %T, want []byte", value)
	}
	return data, nil
}

// Decode returns data as a []byte. It never fails.
func (*Bytes) Decode(data []byte) (interface{}, error) {
	return data, nil
}

// String is the codec for strings, stored as their raw bytes.
//
// Encode accepts only a string. Decode returns string(data), "" for empty or
// nil data, and never fails.
type String struct{}

// Encode returns the bytes of value if it is a string and an error otherwise.
func (*String) Encode(value interface{}) ([]byte, error) {
	s, ok := value.(string)
	if !ok {
		return nil, fmt.Errorf("codec: String cannot encode %T, want string", value)
	}
	return []byte(s), nil
}

// Decode returns string(data). It never fails.
func (*String) Decode(data []byte) (interface{}, error) {
	return string(data), nil
}

// Int64 is the codec for int64 values, stored as ASCII decimal.
//
// Encode accepts only an int64 (an int or int32 is rejected) and produces
// strconv.FormatInt(v, 10). Decode parses the bytes with strconv.ParseInt and
// returns an int64. If the bytes are not a decimal int64 (this includes empty
// data) Decode returns the int 0 and an error, as Goka does.
type Int64 struct{}

// maxInt64Len is the length of the longest decimal int64, "-9223372036854775808".
const maxInt64Len = 20

// Encode returns the ASCII decimal form of value if it is an int64 and an
// error otherwise.
func (*Int64) Encode(value interface{}) ([]byte, error) {
	v, ok := value.(int64)
	if !ok {
		return nil, fmt.Errorf("codec: Int64 cannot encode %T, want int64", value)
	}
	return strconv.AppendInt(make([]byte, 0, maxInt64Len), v, 10), nil
}

// Decode parses data as an ASCII decimal int64. On error it returns the int
// 0 (not an int64) and an error that wraps [strconv.ErrSyntax] or
// [strconv.ErrRange].
func (*Int64) Decode(data []byte) (interface{}, error) {
	v, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return 0, fmt.Errorf("codec: Int64 cannot decode %s: %w", quote(data), err)
	}
	return v, nil
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
