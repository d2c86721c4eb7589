package codec_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/e3793d55/goka/codec"
)

func FuzzBytes(f *testing.F) {
	for _, s := range []string{"", "a", "\x00\xff", "hello world"} {
		f.Add([]byte(s))
	}
	c := new(codec.Bytes)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.Decode(data)
		if err != nil {
			t.Fatalf("Decode(%q): %v", data, err)
		}
		enc, err := c.Encode(v)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)): %v", data, err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("round trip: %q became %q", data, enc)
		}
	})
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a", "héllo", "\xff\xfe", "\x00"} {
		f.Add([]byte(s))
	}
	c := new(codec.String)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.Decode(data)
		if err != nil {
			t.Fatalf("Decode(%q): %v", data, err)
		}
		if _, ok := v.(string); !ok {
			t.Fatalf("Decode(%q) returned %T, want string", data, v)
		}
		enc, err := c.Encode(v)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)): %v", data, err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("round trip: %q became %q", data, enc)
		}
	})
}

func FuzzInt64(f *testing.F) {
	for _, s := range []string{"", "0", "-0", "+1", "42", "-42", "007", "9223372036854775807",
		"-9223372036854775808", "9223372036854775808", "abc", "1e3", " 1", "0x1f", "1_0"} {
		f.Add([]byte(s))
	}
	c := new(codec.Int64)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.Decode(data)
		if err != nil {
			if v != 0 {
				t.Fatalf("Decode(%q) failed with value %#v (%T), want int 0", data, v, v)
			}
			return
		}
		n, ok := v.(int64)
		if !ok {
			t.Fatalf("Decode(%q) returned %T, want int64", data, v)
		}
		// Decoding accepts non-canonical forms ("+1", "007"), so the
		// round trip holds on the value, and the encoding is canonical.
		enc, err := c.Encode(n)
		if err != nil {
			t.Fatalf("Encode(%d): %v", n, err)
		}
		if want := strconv.FormatInt(n, 10); string(enc) != want {
			t.Fatalf("Encode(%d) = %q, want %q", n, enc, want)
		}
		back, err := c.Decode(enc)
		if err != nil || back != n {
			t.Fatalf("Decode(Encode(%d)) = %#v, %v", n, back, err)
		}
	})
}
