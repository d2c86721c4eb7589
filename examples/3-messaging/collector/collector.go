// Package collector keeps each user's feed: the last MaxMessages messages
// the user received.
package collector

import (
	"github.com/e3793d55/goka"
	messaging "github.com/e3793d55/goka/examples/3-messaging"
)

// MaxMessages is the length of a feed.
const MaxMessages = 5

var (
	group goka.Group = "collector"
	// Table is the collector's group table: user → []messaging.Message.
	Table = goka.GroupTable(group)
)

func collect(ctx goka.Context, msg interface{}) {
	ml, _ := ctx.Value().([]messaging.Message)
	ml = append(ml, *msg.(*messaging.Message))
	if len(ml) > MaxMessages {
		ml = ml[len(ml)-MaxMessages:]
	}
	ctx.SetValue(ml)
}

// Graph returns the collector's group graph.
func Graph() *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(messaging.ReceivedStream, new(messaging.MessageCodec), collect),
		goka.Persist(new(messaging.MessageListCodec)),
	)
}
