package filter_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	messaging "github.com/e3793d55/goka/examples/3-messaging"
	"github.com/e3793d55/goka/examples/3-messaging/blocker"
	"github.com/e3793d55/goka/examples/3-messaging/filter"
	"github.com/e3793d55/goka/examples/3-messaging/internal/msgtest"
	"github.com/e3793d55/goka/examples/3-messaging/translator"
	"github.com/e3793d55/goka/tester"
)

// TestFilter checks translation through the Lookup table and dropping
// blocked senders through the Join table, with the tables set directly.
func TestFilter(t *testing.T) {
	gkt := tester.New(t)
	msgtest.Run(t, gkt, filter.Graph())
	received := gkt.NewQueueTracker(string(messaging.ReceivedStream))

	gkt.SetTableValue(translator.Table, "ciao", "hello")
	gkt.SetTableValue(translator.Table, "mondo", "world")
	gkt.Consume(string(messaging.SentStream), "alice", &messaging.Message{From: "alice", To: "bob", Content: "ciao mondo !"})
	key, v, ok := received.Next()
	require.True(t, ok, "the message is forwarded")
	assert.Equal(t, "bob", key, "received messages are keyed by the receiver")
	assert.Equal(t, &messaging.Message{From: "alice", To: "bob", Content: "hello world !"}, v)

	gkt.SetTableValue(blocker.Table, "spammer", &blocker.BlockValue{Blocked: true})
	gkt.Consume(string(messaging.SentStream), "spammer", &messaging.Message{From: "spammer", To: "bob", Content: "buy"})
	_, _, ok = received.Next()
	assert.False(t, ok, "a blocked sender's message is dropped")

	gkt.SetTableValue(blocker.Table, "spammer", &blocker.BlockValue{Blocked: false})
	gkt.Consume(string(messaging.SentStream), "spammer", &messaging.Message{From: "spammer", To: "bob", Content: "sorry"})
	_, v, ok = received.Next()
	require.True(t, ok, "an unblocked sender's message passes")
	assert.Equal(t, "sorry", v.(*messaging.Message).Content)
}
