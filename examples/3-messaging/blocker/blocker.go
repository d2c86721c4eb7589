// Package blocker keeps the table of blocked users. A BlockEvent in the
// block_user stream blocks (or unblocks) the user of its key.
package blocker

import (
	"encoding/json"
	"fmt"

	"github.com/e3793d55/goka"
)

var (
	group goka.Group = "blocker"
	// Table is the blocker's group table: user → *BlockValue.
	Table = goka.GroupTable(group)
	// Stream has the BlockEvents, keyed by the user to block or unblock.
	Stream goka.Stream = "block_user"
)

// BlockEvent blocks the user of its key, or unblocks it if Unblock is set.
type BlockEvent struct {
	Unblock bool `json:"unblock"`
}

// BlockEventCodec encodes a *BlockEvent as JSON.
type BlockEventCodec struct{}

// Encode encodes a *BlockEvent.
func (c *BlockEventCodec) Encode(value interface{}) ([]byte, error) {
	e, ok := value.(*BlockEvent)
	if !ok {
		return nil, fmt.Errorf("block event codec: want *blocker.BlockEvent, got %T", value)
	}
	return json.Marshal(e)
}

// Decode decodes a *BlockEvent.
func (c *BlockEventCodec) Decode(data []byte) (interface{}, error) {
	var e BlockEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("block event codec: %w", err)
	}
	return &e, nil
}

// BlockValue is whether a user is blocked.
type BlockValue struct {
	Blocked bool `json:"blocked"`
}

// BlockValueCodec encodes a *BlockValue as JSON.
type BlockValueCodec struct{}

// Encode encodes a *BlockValue.
func (c *BlockValueCodec) Encode(value interface{}) ([]byte, error) {
	v, ok := value.(*BlockValue)
	if !ok {
		return nil, fmt.Errorf("block value codec: want *blocker.BlockValue, got %T", value)
	}
	return json.Marshal(v)
}

// Decode decodes a *BlockValue.
func (c *BlockValueCodec) Decode(data []byte) (interface{}, error) {
	var v BlockValue
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("block value codec: %w", err)
	}
	return &v, nil
}

func block(ctx goka.Context, msg interface{}) {
	v, _ := ctx.Value().(*BlockValue)
	if v == nil {
		v = new(BlockValue)
	}
	v.Blocked = !msg.(*BlockEvent).Unblock
	ctx.SetValue(v)
}

// Graph returns the blocker's group graph.
func Graph() *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(Stream, new(BlockEventCodec), block),
		goka.Persist(new(BlockValueCodec)),
	)
}
