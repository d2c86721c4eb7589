package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
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
