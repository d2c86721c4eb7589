package goka

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
)

// countingHandler records the results a produceHandler gets.
type countingHandler struct{ errs []error }

func (h *countingHandler) acked(_ *sarama.ProducerMessage, err error) {
	h.errs = append(h.errs, err)
}

// A message produced for a handler reaches it once, even when sarama
// reports it twice (an error after a success), with an error that names
// its topic and key, and leaves the producer's count of messages in flight
// at zero, as a promise does.
func TestHandledRecordFinishesOnce(t *testing.T) {
	refused := errors.New("refused")
	for _, tt := range []struct {
		name    string
		reports []error
	}{
		{"success", []error{nil}},
		{"error", []error{refused}},
		{"success then error", []error{nil, refused}},
		{"error then success", []error{refused, nil}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var p producer
			h := new(countingHandler)
			rec := &handledRecord{msg: sarama.ProducerMessage{Topic: "t", Key: sarama.StringEncoder("k")}, h: h}
			rec.msg.Metadata = rec
			p.pending.Add(1)
			for _, err := range tt.reports {
				p.finish(&rec.msg, err)
			}
			require.Len(t, h.errs, 1)
			if first := tt.reports[0]; first == nil {
				require.NoError(t, h.errs[0])
			} else {
				require.ErrorIs(t, h.errs[0], first)
				require.EqualError(t, h.errs[0], `producing to topic "t" key "k": refused`)
			}
			require.Zero(t, p.pending.Load())
		})
	}
}

// The per-message allocations stay within their size classes: one
// cbContext (with its first table write) and one handledRecord per input
// message. A field added to either moves it to the next class, 288 or 208
// bytes, which costs every message; reorder or shrink instead, or raise
// the bound here with the bench's B/msg in the commit message.
func TestPerMessageAllocationSizes(t *testing.T) {
	for _, tt := range []struct {
		name string
		size uintptr
		max  uintptr
	}{
		{"cbContext", unsafe.Sizeof(cbContext{}), 256},
		{"handledRecord", unsafe.Sizeof(handledRecord{}), 192},
	} {
		if tt.size > tt.max {
			t.Errorf("%s is %d bytes, over %d", tt.name, tt.size, tt.max)
		}
	}
}
