package goka_test

import (
	"errors"
	"testing"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/internal/table"
)

// The root converts table.Status to PartitionStatus by value.
func TestTableStatusMatchesPartitionStatus(t *testing.T) {
	pairs := []struct {
		table table.Status
		goka  goka.PartitionStatus
	}{
		{table.StatusStopped, goka.PartitionStopped},
		{table.StatusInitializing, goka.PartitionInitializing},
		{table.StatusConnecting, goka.PartitionConnecting},
		{table.StatusRecovering, goka.PartitionRecovering},
		{table.StatusPreparing, goka.PartitionPreparing},
		{table.StatusRunning, goka.PartitionRunning},
	}
	for _, p := range pairs {
		if goka.PartitionStatus(p.table) != p.goka {
			t.Errorf("table.Status %d converts to PartitionStatus %d; want %d", p.table, goka.PartitionStatus(p.table), p.goka)
		}
	}
}

func TestErrNotRunningIsTheTables(t *testing.T) {
	if !errors.Is(goka.ErrNotRunning, table.ErrNotRunning) || goka.ErrNotRunning.Error() != "not running" {
		t.Fatalf("goka.ErrNotRunning = %q is not table.ErrNotRunning", goka.ErrNotRunning)
	}
}
