package main

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSelectWorkloads(t *testing.T) {
	for _, tt := range []struct {
		only    string
		want    []string // nil: all workloads
		wantErr string
	}{
		{only: ""},
		{only: "emit,process-leveldb", want: []string{"emit", "process-leveldb"}},
		{only: "ceiling-produce,emit,ceiling-consume-produce,process-memory-eos,", want: []string{"ceiling-consume-produce", "ceiling-produce", "emit", "process-memory-eos"}},
		{only: "latency-leveldb-eos", want: []string{"latency-leveldb-eos"}},
		{only: "window-plain-count,window-tumbling-count", want: []string{"window-plain-count", "window-tumbling-count"}},
		{only: "process-leveldb", wantErr: "process-leveldb reads the input that emit writes"},
		{only: "emit,view-recovery-leveldb,ceiling-consume", want: []string{"ceiling-consume", "emit", "view-recovery-leveldb"}},
		{only: "ceiling-consume", wantErr: "ceiling-consume reads the input"},
		{only: "emit,process-rocksdb", wantErr: `unknown workload "process-rocksdb"`},
	} {
		t.Run(tt.only, func(t *testing.T) {
			got, err := selectWorkloads(tt.only)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("selectWorkloads(%q) = %v, %v; want error %q", tt.only, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("selectWorkloads(%q): %v", tt.only, err)
			}
			if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, tt.want) {
				t.Fatalf("selectWorkloads(%q) = %v, want %v", tt.only, names, tt.want)
			}
		})
	}
}

func TestMaxDuration(t *testing.T) {
	var m maxDuration
	if got := m.load(); got != 0 {
		t.Fatalf("zero value: %v, want 0", got)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				m.raise(time.Duration(i*4 + g))
			}
		}()
	}
	wg.Wait()
	if got, want := m.load(), time.Duration(999*4+3); got != want {
		t.Fatalf("after concurrent raises: %v, want %v", got, want)
	}
	m.raise(time.Nanosecond)
	if got, want := m.load(), time.Duration(999*4+3); got != want {
		t.Fatalf("a smaller raise lowered it: %v, want %v", got, want)
	}
}
