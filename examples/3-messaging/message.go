// Package messaging is Goka's messaging example: users send each other
// messages through a small service; processors translate words, count
// messages, block spammers and keep every user's feed.
//
//	service ──message_sent──▶ filter ──message_received──▶ collector (feeds)
//	                 │          ▲ Join blocker-table, Lookup translator-table
//	                 ▼
//	             detector ──block_user──▶ blocker
//	          (Loop: counts received)
//	translate-word ──▶ translator
//
// The subpackages are the processors and the service; cmd/demo runs them.
package messaging

import (
	"encoding/json"
	"fmt"

	"github.com/e3793d55/goka"
)

var (
	// SentStream has the messages as sent, keyed by the sender.
	SentStream goka.Stream = "message_sent"
	// ReceivedStream has the messages that passed the filter, keyed by the
	// receiver.
	ReceivedStream goka.Stream = "message_received"
)

// Message is a message from one user to another.
type Message struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Content string `json:"content"`
}

// MessageCodec encodes a *Message as JSON.
type MessageCodec struct{}

// Encode encodes a *Message.
func (c *MessageCodec) Encode(value interface{}) ([]byte, error) {
	m, ok := value.(*Message)
	if !ok {
		return nil, fmt.Errorf("message codec: want *messaging.Message, got %T", value)
	}
	return json.Marshal(m)
}

// Decode decodes a *Message.
func (c *MessageCodec) Decode(data []byte) (interface{}, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("message codec: %w", err)
	}
	return &m, nil
}

// MessageListCodec encodes a []Message as JSON.
type MessageListCodec struct{}

// Encode encodes a []Message.
func (c *MessageListCodec) Encode(value interface{}) ([]byte, error) {
	l, ok := value.([]Message)
	if !ok {
		return nil, fmt.Errorf("message list codec: want []messaging.Message, got %T", value)
	}
	return json.Marshal(l)
}

// Decode decodes a []Message.
func (c *MessageListCodec) Decode(data []byte) (interface{}, error) {
	var l []Message
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("message list codec: %w", err)
	}
	return l, nil
}
