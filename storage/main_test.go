package storage

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// goleveldb's DB.Close leaves this goroutine behind for up to one
		// second while it drains a pool. A DB that is never closed also
		// leaves its compaction goroutines, which goleak still reports.
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}
