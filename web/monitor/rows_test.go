package monitor

import (
	"strconv"
	"testing"

	"github.com/e3793d55/goka"
)

// Recovery columns as a person reads them: no stored offset is "none", not
// a sentinel, and the lag is what recovery has left to apply.
func TestNewTableRowRecovery(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rec        *goka.RecoveryStats
		wantOffset string
		wantLag    int64
	}{
		{"empty table", &goka.RecoveryStats{Offset: -3, Hwm: 0}, "none", 0},
		{"nothing stored yet", &goka.RecoveryStats{Offset: -3, Hwm: 5}, "none", 5},
		{"half way", &goka.RecoveryStats{Offset: 4, Hwm: 10}, "4", 5},
		{"recovered", &goka.RecoveryStats{Offset: 9, Hwm: 10}, "9", 0},
		{"no recovery stats", nil, "none", 0},
	} {
		row := newTableRow(1, "t", &goka.TableStats{Status: goka.PartitionRunning, RunMode: 1, Recovery: tc.rec})
		if row.Offset != tc.wantOffset || row.Lag != tc.wantLag || row.Mode != "standby" {
			t.Errorf("%s: offset %q lag %d mode %q, want %q %d standby", tc.name, row.Offset, row.Lag, row.Mode, tc.wantOffset, tc.wantLag)
		}
	}
}

func TestLookupRows(t *testing.T) {
	stats := &goka.ProcessorStats{Lookup: map[string]*goka.ViewStats{
		"b": {Partitions: map[int32]*goka.TableStats{1: {}, 0: {}}},
		"a": {Partitions: map[int32]*goka.TableStats{0: {}}},
	}}
	rows := lookupRows(stats)
	var got []string
	for _, r := range rows {
		got = append(got, r.Topic+"/"+strconv.Itoa(int(r.Partition)))
	}
	if want := []string{"a/0", "b/0", "b/1"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("lookup rows %v, want %v", got, want)
	}
}
