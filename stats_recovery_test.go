package goka_test

import (
	"testing"

	"github.com/e3793d55/goka"
)

func TestRecoveryStatsRemaining(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  *goka.RecoveryStats
		want int64
	}{
		{"nil", nil, 0},
		{"empty partition, nothing stored", &goka.RecoveryStats{Offset: -3, Hwm: 0}, 0},
		{"nothing stored, sarama's oldest", &goka.RecoveryStats{Offset: -2, Hwm: 0}, 0},
		{"nothing stored, 10 records", &goka.RecoveryStats{Offset: -3, Hwm: 10}, 10},
		{"first applied", &goka.RecoveryStats{Offset: 0, Hwm: 10}, 9},
		{"caught up", &goka.RecoveryStats{Offset: 9, Hwm: 10}, 0},
		{"followed past the hwm", &goka.RecoveryStats{Offset: 20, Hwm: 10}, 0},
	} {
		if got := tc.rec.Remaining(); got != tc.want {
			t.Errorf("%s: Remaining() = %d, want %d", tc.name, got, tc.want)
		}
	}
}
