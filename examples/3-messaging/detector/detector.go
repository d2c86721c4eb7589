// Package detector counts the messages every user sends and receives and
// blocks the users who send much more than they receive. A sent message is
// keyed by its sender; the detector counts it for the sender and forwards
// it with Loopback to the receiver's key, to count it there.
package detector

import (
	"encoding/json"
	"fmt"

	"github.com/e3793d55/goka"
	messaging "github.com/e3793d55/goka/examples/3-messaging"
	"github.com/e3793d55/goka/examples/3-messaging/blocker"
)

const (
	// MinMessages is how many messages a user must have sent and received
	// before the detector judges it.
	MinMessages = 10
	// MaxRate is the share of sent messages of all messages above which a
	// user is a spammer.
	MaxRate = 0.9
)

var (
	group goka.Group = "detector"
	// Table is the detector's group table: user → *Counters.
	Table = goka.GroupTable(group)
)

// Counters are the messages a user sent and received.
type Counters struct {
	Sent     int `json:"sent"`
	Received int `json:"received"`
}

func (c *Counters) detectSpammer() bool {
	total := float64(c.Sent + c.Received)
	return total >= MinMessages && float64(c.Sent)/total >= MaxRate
}

// CountersCodec encodes *Counters as JSON.
type CountersCodec struct{}

// Encode encodes *Counters.
func (c *CountersCodec) Encode(value interface{}) ([]byte, error) {
	v, ok := value.(*Counters)
	if !ok {
		return nil, fmt.Errorf("counters codec: want *detector.Counters, got %T", value)
	}
	return json.Marshal(v)
}

// Decode decodes *Counters.
func (c *CountersCodec) Decode(data []byte) (interface{}, error) {
	var v Counters
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("counters codec: %w", err)
	}
	return &v, nil
}

func getValue(ctx goka.Context) *Counters {
	if c, ok := ctx.Value().(*Counters); ok && c != nil {
		return c
	}
	return new(Counters)
}

func sent(ctx goka.Context, msg interface{}) {
	c := getValue(ctx)
	c.Sent++
	ctx.SetValue(c)
	if c.detectSpammer() {
		ctx.Emit(blocker.Stream, ctx.Key(), new(blocker.BlockEvent))
	}
	// Count the message for its receiver, whose counters may live in
	// another partition.
	m := msg.(*messaging.Message)
	ctx.Loopback(m.To, m)
}

func received(ctx goka.Context, _ interface{}) {
	c := getValue(ctx)
	c.Received++
	ctx.SetValue(c)
	if c.detectSpammer() {
		ctx.Emit(blocker.Stream, ctx.Key(), new(blocker.BlockEvent))
	}
}

// Graph returns the detector's group graph.
func Graph() *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(messaging.SentStream, new(messaging.MessageCodec), sent),
		goka.Loop(new(messaging.MessageCodec), received),
		goka.Output(blocker.Stream, new(blocker.BlockEventCodec)),
		goka.Persist(new(CountersCodec)),
	)
}
