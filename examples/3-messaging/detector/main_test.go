package detector_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/tester"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// run runs a processor of graph on gkt until the test ends.
func run(t *testing.T, gkt *tester.Tester, graph *goka.GroupGraph) *goka.Processor {
	t.Helper()
	p, err := goka.NewProcessor(nil, graph, goka.WithTester(gkt))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return p
}
