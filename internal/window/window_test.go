package window

import (
	"bytes"
	"testing"
)

func TestAssign(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		ts   int64
		want []W
	}{
		{Spec{Kind: Tumbling, Size: 10, Advance: 10}, 15, []W{{10, 20}}},
		{Spec{Kind: Tumbling, Size: 10, Advance: 10}, -1, []W{{-10, 0}}},
		{Spec{Kind: Hopping, Size: 10, Advance: 5}, 12, []W{{5, 15}, {10, 20}}},
		{Spec{Kind: Hopping, Size: 10, Advance: 3}, 0, []W{{-9, 1}, {-6, 4}, {-3, 7}, {0, 10}}},
	} {
		got := tc.spec.Assign(nil, tc.ts)
		if len(got) != len(tc.want) {
			t.Fatalf("%+v at %d: %v, want %v", tc.spec, tc.ts, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%+v at %d: %v, want %v", tc.spec, tc.ts, got, tc.want)
			}
		}
	}
}

func TestKeyOrder(t *testing.T) {
	// A key's windows sort by start, and another key's never interleave.
	a := Key("a", W{-5, 5})
	b := Key("a", W{3, 13})
	c := Key("ab", W{-100, 0})
	if bytes.Compare(a, b) >= 0 || bytes.Compare(b, c) >= 0 {
		t.Fatal("window keys out of order")
	}
	start, limit := KeyRange("a", 0, 3)
	if bytes.Compare(b, start) < 0 || bytes.Compare(b, limit) >= 0 || bytes.Compare(a, start) >= 0 {
		t.Fatal("KeyRange bounds")
	}
}

// FuzzDecode: Decode never panics, what it decodes re-encodes to the same
// store key, and Bounds agrees with it.
func FuzzDecode(f *testing.F) {
	f.Add(Key("user", W{1, 2}))
	f.Add(IndexKey(7, "k", W{-1, 7}))
	f.Add(TimerKey(1, 99, "key"))
	f.Add([]byte{PrefixStream})
	f.Add([]byte{PrefixWindow, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Decode(b)
		w, ok := Bounds(b)
		if want := err == nil && (d.Prefix == PrefixWindow || d.Prefix == PrefixIndex); ok != want || (ok && w != d.W) {
			t.Fatalf("Bounds(%x) = %v, %v; Decode: %+v, %v", b, w, ok, d, err)
		}
		if err != nil {
			return
		}
		var re []byte
		switch d.Prefix {
		case PrefixWindow:
			re = Key(d.Key, d.W)
		case PrefixIndex:
			re = IndexKey(d.Close, d.Key, d.W)
		case PrefixTimer:
			re = TimerKey(d.Kind, d.At, d.Key)
		case PrefixStream:
			re = StreamTimeKey
		}
		if !bytes.Equal(re, b[:d.Len]) {
			t.Fatalf("decode %x -> %+v re-encodes to %x", b, d, re)
		}
	})
}

func TestSalted(t *testing.T) {
	k := Key("user", W{0, 60})
	part := func(b []byte) int32 { return int32(b[len(b)-1] % 4) }
	s := Salted(k, 3, part)
	if part([]byte(s)) != 3 {
		t.Fatal("salt does not fit")
	}
	got, d, err := Unsalted([]byte(s))
	if err != nil || !bytes.Equal(got, k) || d.Key != "user" {
		t.Fatalf("Unsalted: %x %+v %v", got, d, err)
	}
}
