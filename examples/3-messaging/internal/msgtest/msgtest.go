// Package msgtest holds what the tests of the messaging processors share.
package msgtest

import (
	"context"
	"testing"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/tester"
)

// Run runs a processor of graph on gkt until the test ends, and fails the
// test if the processor's Run returns an error.
func Run(t testing.TB, gkt *tester.Tester, graph *goka.GroupGraph) *goka.Processor {
	t.Helper()
	p, err := goka.NewProcessor(nil, graph, goka.WithTester(gkt))
	if err != nil {
		t.Fatalf("creating processor %s: %v", graph.Group(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor %s: %v", graph.Group(), err)
		}
	})
	return p
}
