package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/tester"
)

// TestClicksPerMinute drives event time with message timestamps and the
// wall clock with AdvanceTime: nothing sleeps.
func TestClicksPerMinute(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, Graph(), goka.WithTester(gkt))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	finals := gkt.NewQueueTracker(string(perMin))
	reps := gkt.NewQueueTracker(string(reports))
	click := func(user string, at time.Duration) {
		gkt.Consume(string(clicks), user, "click", tester.WithTime(base.Add(at)))
	}
	click("alice", 5*time.Second)
	click("alice", 30*time.Second)
	click("bob", 50*time.Second)
	require.Equal(t, finals.Hwm(), finals.NextOffset(), "no window closed yet")

	// The wall clock reports both windows though no further click came.
	gkt.AdvanceTime(ReportDelay)
	var got []string
	for {
		_, v, ok := reps.Next()
		if !ok {
			break
		}
		got = append(got, v.(string))
	}
	require.ElementsMatch(t, []string{
		"alice: 2 clicks in the minute of 12:00 so far",
		"bob: 1 clicks in the minute of 12:00 so far",
	}, got)

	// A click at 12:01:10 closes 12:00 (end + 10 s grace): one final each.
	click("alice", 70*time.Second)
	want := map[string]int64{"alice": 2, "bob": 1}
	for range 2 {
		h, k, v, ok := finals.NextWithHeaders()
		require.True(t, ok)
		require.Equal(t, want[k], v)
		require.Equal(t, strconv.FormatInt(base.UnixMilli(), 10), string(h[goka.HeaderWindowStart]))
	}
	_, _, ok := finals.Next()
	require.False(t, ok, "each window is emitted once")

	// A late click for 12:00 is not counted.
	click("bob", 10*time.Second)
	require.EqualValues(t, 1, proc.LateMessages())
}
