package codec_test

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/e3793d55/goka/codec"
)

// codecIface is the goka.Codec interface, declared here because codec must not
// import the root package.
type codecIface interface {
	Encode(value interface{}) ([]byte, error)
	Decode(data []byte) (interface{}, error)
}

var (
	_ codecIface = new(codec.Bytes)
	_ codecIface = new(codec.String)
	_ codecIface = new(codec.Int64)
)

// embedded checks that the codecs can be embedded, as Goka users do.
type embedded struct{ codec.String }

var _ codecIface = new(embedded)

func TestEncode(t *testing.T) {
	tests := []struct {
		name    string
		codec   codecIface
		value   interface{}
		want    []byte
		wantErr string // substring; empty means no error
	}{
		{"bytes", new(codec.Bytes), []byte("abc"), []byte("abc"), ""},
		{"bytes empty", new(codec.Bytes), []byte{}, []byte{}, ""},
		{"bytes nil slice", new(codec.Bytes), []byte(nil), nil, ""},
		{"bytes string", new(codec.Bytes), "abc", nil, "Bytes cannot encode string"},
		{"bytes nil", new(codec.Bytes), nil, nil, "Bytes cannot encode <nil>"},
		{"string", new(codec.String), "héllo", []byte("héllo"), ""},
		{"string empty", new(codec.String), "", []byte{}, ""},
		{"string bytes", new(codec.String), []byte("x"), nil, "String cannot encode []uint8"},
		{"string int", new(codec.String), 42, nil, "String cannot encode int"},
		{"string embedded", new(embedded), "x", []byte("x"), ""},
		{"int64 zero", new(codec.Int64), int64(0), []byte("0"), ""},
		{"int64 positive", new(codec.Int64), int64(42), []byte("42"), ""},
		{"int64 negative", new(codec.Int64), int64(-7), []byte("-7"), ""},
		{"int64 max", new(codec.Int64), int64(math.MaxInt64), []byte("9223372036854775807"), ""},
		{"int64 min", new(codec.Int64), int64(math.MinInt64), []byte("-9223372036854775808"), ""},
		{"int64 int", new(codec.Int64), 42, nil, "Int64 cannot encode int, want int64"},
		{"int64 int32", new(codec.Int64), int32(42), nil, "Int64 cannot encode int32"},
		{"int64 string", new(codec.Int64), "42", nil, "Int64 cannot encode string"},
		{"int64 nil", new(codec.Int64), nil, nil, "Int64 cannot encode <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.codec.Encode(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Encode(%#v) error = %v, want containing %q", tt.value, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "codec: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				if got != nil {
					t.Errorf("Encode(%#v) = %q with error, want nil", tt.value, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Encode(%#v): %v", tt.value, err)
			}
			if !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("Encode(%#v) = %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		codec   codecIface
		data    []byte
		want    interface{}
		wantErr error // matched with errors.Is; nil means no error
	}{
		{"bytes", new(codec.Bytes), []byte("abc"), []byte("abc"), nil},
		{"bytes nil", new(codec.Bytes), nil, []byte(nil), nil},
		{"string", new(codec.String), []byte("héllo"), "héllo", nil},
		{"string invalid utf8", new(codec.String), []byte{0xff, 0xfe}, "\xff\xfe", nil},
		{"string nil", new(codec.String), nil, "", nil},
		{"int64", new(codec.Int64), []byte("42"), int64(42), nil},
		{"int64 negative", new(codec.Int64), []byte("-42"), int64(-42), nil},
		{"int64 plus sign", new(codec.Int64), []byte("+42"), int64(42), nil},
		{"int64 leading zeros", new(codec.Int64), []byte("007"), int64(7), nil},
		{"int64 max", new(codec.Int64), []byte("9223372036854775807"), int64(math.MaxInt64), nil},
		{"int64 min", new(codec.Int64), []byte("-9223372036854775808"), int64(math.MinInt64), nil},
		{"int64 empty", new(codec.Int64), []byte{}, 0, strconv.ErrSyntax},
		{"int64 nil", new(codec.Int64), nil, 0, strconv.ErrSyntax},
		{"int64 text", new(codec.Int64), []byte("abc"), 0, strconv.ErrSyntax},
		{"int64 space", new(codec.Int64), []byte(" 1"), 0, strconv.ErrSyntax},
		{"int64 underscore", new(codec.Int64), []byte("1_000"), 0, strconv.ErrSyntax},
		{"int64 hex", new(codec.Int64), []byte("0x10"), 0, strconv.ErrSyntax},
		{"int64 float", new(codec.Int64), []byte("1.5"), 0, strconv.ErrSyntax},
		{"int64 overflow", new(codec.Int64), []byte("9223372036854775808"), 0, strconv.ErrRange},
		{"int64 binary", new(codec.Int64), []byte{0, 0, 0, 1}, 0, strconv.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.codec.Decode(tt.data)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode(%q) error = %v, want %v", tt.data, err, tt.wantErr)
			}
			switch want := tt.want.(type) {
			case []byte:
				b, ok := got.([]byte)
				if !ok || !bytes.Equal(b, want) || (b == nil) != (want == nil) {
					t.Fatalf("Decode(%q) = %#v, want %#v", tt.data, got, want)
				}
			default:
				// Comparing interfaces also compares dynamic types, so a
				// failed Int64 decode must return int(0), not int64(0).
				if got != tt.want {
					t.Fatalf("Decode(%q) = %#v (%T), want %#v (%T)", tt.data, got, got, tt.want, tt.want)
				}
			}
		})
	}
}

func TestBytesDecodeReturnsInput(t *testing.T) {
	data := []byte("abc")
	got, _ := new(codec.Bytes).Decode(data)
	if b := got.([]byte); &b[0] != &data[0] {
		t.Fatal("Bytes.Decode copied its input; Goka returns the input slice")
	}
}

func TestInt64DecodeErrorMessage(t *testing.T) {
	_, err := new(codec.Int64).Decode([]byte("abc"))
	if want := `codec: Int64 cannot decode "abc": invalid syntax`; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	_, err = new(codec.Int64).Decode(bytes.Repeat([]byte("x"), 1000))
	if err == nil || len(err.Error()) > 120 || !strings.Contains(err.Error(), "(1000 bytes)") {
		t.Fatalf("long input: error %q should be short and give the length", err)
	}
}

func TestInt64RoundTrip(t *testing.T) {
	c := new(codec.Int64)
	for _, v := range []int64{0, 1, -1, 9, 10, -10, 255, 256, 1 << 31, -1 << 31, math.MaxInt64, math.MinInt64} {
		data, err := c.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(data)
		if err != nil || got != v {
			t.Fatalf("round trip of %d: got %#v, %v", v, got, err)
		}
	}
}
