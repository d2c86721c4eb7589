package detector_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	messaging "github.com/e3793d55/goka/examples/3-messaging"
	"github.com/e3793d55/goka/examples/3-messaging/blocker"
	"github.com/e3793d55/goka/examples/3-messaging/detector"
	"github.com/e3793d55/goka/examples/3-messaging/internal/msgtest"
	"github.com/e3793d55/goka/tester"
)

// TestCountsSentAndReceived checks that a sent message counts for the
// sender, and through the loopback for the receiver.
func TestCountsSentAndReceived(t *testing.T) {
	gkt := tester.New(t)
	msgtest.Run(t, gkt, detector.Graph())

	gkt.Consume(string(messaging.SentStream), "alice", &messaging.Message{From: "alice", To: "bob", Content: "hi"})
	gkt.Consume(string(messaging.SentStream), "bob", &messaging.Message{From: "bob", To: "alice", Content: "hi"})
	gkt.Consume(string(messaging.SentStream), "alice", &messaging.Message{From: "alice", To: "bob", Content: "bye"})
	assert.Equal(t, &detector.Counters{Sent: 2, Received: 1}, gkt.TableValue(detector.Table, "alice"))
	assert.Equal(t, &detector.Counters{Sent: 1, Received: 2}, gkt.TableValue(detector.Table, "bob"))
}

// TestBlocksSpammer checks that a user who only sends is blocked once it
// has sent MinMessages messages, and not before.
func TestBlocksSpammer(t *testing.T) {
	gkt := tester.New(t)
	msgtest.Run(t, gkt, detector.Graph())
	blocks := gkt.NewQueueTracker(string(blocker.Stream))

	send := func(i int) {
		gkt.Consume(string(messaging.SentStream), "spammer",
			&messaging.Message{From: "spammer", To: fmt.Sprintf("user-%d", i), Content: "buy"})
	}
	for i := range detector.MinMessages - 1 {
		send(i)
	}
	_, _, ok := blocks.Next()
	require.False(t, ok, "no verdict before MinMessages messages")

	send(detector.MinMessages)
	key, v, ok := blocks.Next()
	require.True(t, ok, "the spammer is blocked")
	assert.Equal(t, "spammer", key)
	assert.Equal(t, &blocker.BlockEvent{}, v)
	assert.Equal(t, &detector.Counters{Sent: detector.MinMessages}, gkt.TableValue(detector.Table, "spammer"))
	assert.Equal(t, &detector.Counters{Received: 1}, gkt.TableValue(detector.Table, "user-0"))
}
