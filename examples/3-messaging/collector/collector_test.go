package collector_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	messaging "github.com/e3793d55/goka/examples/3-messaging"
	"github.com/e3793d55/goka/examples/3-messaging/collector"
	"github.com/e3793d55/goka/examples/3-messaging/internal/msgtest"
	"github.com/e3793d55/goka/tester"
)

// TestFeedKeepsLastMessages checks that a feed keeps the last MaxMessages
// messages, oldest first.
func TestFeedKeepsLastMessages(t *testing.T) {
	gkt := tester.New(t)
	p := msgtest.Run(t, gkt, collector.Graph())

	for i := range collector.MaxMessages + 2 {
		gkt.Consume(string(messaging.ReceivedStream), "bob",
			&messaging.Message{From: "alice", To: "bob", Content: fmt.Sprint(i)})
	}
	feed, ok := gkt.TableValue(collector.Table, "bob").([]messaging.Message)
	require.True(t, ok)
	require.Len(t, feed, collector.MaxMessages)
	assert.Equal(t, "2", feed[0].Content)
	assert.Equal(t, fmt.Sprint(collector.MaxMessages+1), feed[len(feed)-1].Content)

	v, err := p.Get("bob")
	require.NoError(t, err)
	assert.Equal(t, feed, v, "Processor.Get serves the same feed")
	assert.Nil(t, gkt.TableValue(collector.Table, "alice"), "the sender's feed is empty")
}
