package messaging_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	messaging "github.com/e3793d55/goka/examples/3-messaging"
	"github.com/e3793d55/goka/examples/3-messaging/blocker"
	"github.com/e3793d55/goka/examples/3-messaging/collector"
	"github.com/e3793d55/goka/examples/3-messaging/detector"
	"github.com/e3793d55/goka/examples/3-messaging/filter"
	"github.com/e3793d55/goka/examples/3-messaging/internal/msgtest"
	"github.com/e3793d55/goka/examples/3-messaging/translator"
	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/tester"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// TestMessaging runs the five processors together on one tester: every
// Consume returns when the chain it started (filter → collector, detector →
// loop → blocker → the filter's join table) is done.
func TestMessaging(t *testing.T) {
	gkt := tester.New(t)
	for _, g := range []*goka.GroupGraph{blocker.Graph(), collector.Graph(), detector.Graph(), filter.Graph(), translator.Graph()} {
		msgtest.Run(t, gkt, g)
	}
	send := func(from, to, content string) {
		gkt.Consume(string(messaging.SentStream), from, &messaging.Message{From: from, To: to, Content: content})
	}
	feed := func(user string) []string {
		ml, _ := gkt.TableValue(collector.Table, user).([]messaging.Message)
		var out []string
		for _, m := range ml {
			out = append(out, m.From+": "+m.Content)
		}
		return out
	}

	gkt.Consume(string(translator.Stream), "ciao", "hello")
	send("alice", "bob", "ciao bob")
	send("bob", "alice", "ciao alice")
	assert.Equal(t, []string{"alice: hello bob"}, feed("bob"))
	assert.Equal(t, []string{"bob: hello alice"}, feed("alice"))

	// The spammer's messages arrive until the detector has blocked it, then
	// the filter drops them.
	for i := range detector.MinMessages + 5 {
		send("spammer", "carol", fmt.Sprint(i))
	}
	assert.Equal(t, &blocker.BlockValue{Blocked: true}, gkt.TableValue(blocker.Table, "spammer"))
	// The message that gets the spammer blocked (id MinMessages-1) reaches
	// the filter and the detector at once: the filter may see the block
	// before it or after. Every later message is dropped.
	last := fmt.Sprintf("spammer: %d", detector.MinMessages-1)
	beforeLast := fmt.Sprintf("spammer: %d", detector.MinMessages-2)
	got := feed("carol")
	require.Len(t, got, collector.MaxMessages)
	assert.Contains(t, []string{last, beforeLast}, got[len(got)-1],
		"carol got the messages up to the one that got the spammer blocked: %v", got)
}
