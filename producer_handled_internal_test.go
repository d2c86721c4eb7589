package goka

import (
	"errors"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
)

// countingHandler records the results a produceHandler gets.
type countingHandler struct{ errs []error }

func (h *countingHandler) produced(_ *sarama.ProducerMessage, err error) {
	h.errs = append(h.errs, err)
}

// A message produced for a handler reaches it once, even when sarama
// reports it twice (an error after a success), and leaves the producer's
// count of messages in flight at zero, as a promise does.
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
			require.Equal(t, tt.reports[:1], h.errs)
			require.Zero(t, p.pending.Load())
		})
	}
}
