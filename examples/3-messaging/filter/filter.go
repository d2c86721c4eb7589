// Package filter forwards sent messages to their receivers: it drops the
// messages of blocked users (a Join of the blocker table, copartitioned
// with the sent stream since both are keyed by the sender) and translates
// the words it finds in the translator table (a Lookup, since words are
// not keyed like messages).
package filter

import (
	"strings"

	"github.com/e3793d55/goka"
	messaging "github.com/e3793d55/goka/examples/3-messaging"
	"github.com/e3793d55/goka/examples/3-messaging/blocker"
	"github.com/e3793d55/goka/examples/3-messaging/translator"
)

var group goka.Group = "message_filter"

func shouldDrop(ctx goka.Context) bool {
	v, _ := ctx.Join(blocker.Table).(*blocker.BlockValue)
	return v != nil && v.Blocked
}

func filter(ctx goka.Context, msg interface{}) {
	if shouldDrop(ctx) {
		return
	}
	m := translate(ctx, msg.(*messaging.Message))
	ctx.Emit(messaging.ReceivedStream, m.To, m)
}

func translate(ctx goka.Context, m *messaging.Message) *messaging.Message {
	words := strings.Split(m.Content, " ")
	for i, w := range words {
		if tw, ok := ctx.Lookup(translator.Table, w).(string); ok {
			words[i] = tw
		}
	}
	return &messaging.Message{From: m.From, To: m.To, Content: strings.Join(words, " ")}
}

// Graph returns the filter's group graph.
func Graph() *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(messaging.SentStream, new(messaging.MessageCodec), filter),
		goka.Output(messaging.ReceivedStream, new(messaging.MessageCodec)),
		goka.Join(blocker.Table, new(blocker.BlockValueCodec)),
		goka.Lookup(translator.Table, new(translator.ValueCodec)),
	)
}
