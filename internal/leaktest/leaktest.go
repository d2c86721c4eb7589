// Package leaktest checks, at the end of a test binary, that no goroutine
// outlived the tests. It wraps goleak with a longer grace period: goleveldb
// keeps a goroutine for up to a second after DB.Close, longer than
// goleak's own retries wait.
package leaktest

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/goleak"
)

// grace is how long goroutines get to finish after the last test.
const grace = 5 * time.Second

// ignored are process-wide goroutines of dependencies that never end.
var ignored = []goleak.Option{
	// sarama's metrics library starts one ticker goroutine per process.
	goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
}

// VerifyTestMain runs the tests and fails the binary when goroutines are
// left after them. Use it as the body of TestMain: leaktest.VerifyTestMain(m).
func VerifyTestMain(m interface{ Run() int }) {
	code := m.Run()
	if code == 0 {
		if err := find(); err != nil {
			fmt.Fprintf(os.Stderr, "leaktest: goroutines left after the tests:\n%v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func find() error {
	deadline := time.Now().Add(grace)
	for {
		err := goleak.Find(ignored...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
