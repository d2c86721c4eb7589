package main

import (
	"os"
	"strings"
	"testing"
)

// TestExpectedCount: the expected counts of all keys add up to the input
// and follow key(i) = i % keys.
func TestExpectedCount(t *testing.T) {
	for _, tt := range []struct{ n, keys int }{{10, 3}, {9, 3}, {2, 5}, {1_000_000, 10_000}} {
		p := params{n: tt.n, keys: tt.keys}
		counts := map[string]int64{}
		for i := range tt.n {
			counts[p.key(i)]++
		}
		var sum int64
		for k := range min(tt.keys, tt.n) {
			if got, want := expectedCount(p, k), counts[p.key(k)]; got != want {
				t.Fatalf("n=%d keys=%d: expectedCount(%d) = %d, want %d", tt.n, tt.keys, k, got, want)
			}
			sum += expectedCount(p, k)
		}
		if sum != int64(tt.n) {
			t.Fatalf("n=%d keys=%d: counts add up to %d", tt.n, tt.keys, sum)
		}
	}
}

// TestCheckKStreamsDump: the check of Kafka Streams' store accepts exactly
// the expected counts and names what is wrong otherwise.
func TestCheckKStreamsDump(t *testing.T) {
	p := params{n: 7, keys: 3, dir: t.TempDir()}
	good := "key-0 3\nkey-1 2\nkey-2 2\n"
	for _, tt := range []struct{ name, dump, err string }{
		{"good", good, ""},
		{"good in another order", "key-2 2\nkey-0 3\nkey-1 2\n", ""},
		{"wrong count", strings.Replace(good, "key-1 2", "key-1 3", 1), "key-1 counts 3, want 2"},
		{"missing key", "key-0 3\nkey-1 2\n", "2 keys, want 3"},
		{"other key", "key-0 3\nkey-1 2\nkey-9 2\n", "key-2 counts 0"},
		{"garbage", "key-0\n", "bad line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(kstreamsDump(p), []byte(tt.dump), 0o644); err != nil {
				t.Fatal(err)
			}
			err := checkKStreamsDump(p)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
	if err := checkKStreamsDump(params{n: 1, keys: 1, dir: t.TempDir()}); err == nil {
		t.Fatal("a missing dump passed")
	}
}
