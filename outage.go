package goka

import (
	"time"

	"github.com/e3793d55/goka/internal/kafka"
)

// DefaultBrokerOutageTimeout is how long a processor or a view goes without
// reaching any of its brokers before Run returns an error wrapping
// ErrBrokerUnreachable (see WithBrokerOutageTimeout and
// WithViewBrokerOutageTimeout). It matches the time DefaultConfig's sarama
// retries last without a broker (Metadata.Timeout), so that a component
// stops with this error, naming the brokers, rather than with the first
// request sarama gave up on.
const DefaultBrokerOutageTimeout = 60 * time.Second

// brokerStats converts a broker watch's state into BrokerStats.
func brokerStats(w *kafka.BrokerWatch) BrokerStats {
	ws := w.Stats()
	s := BrokerStats{UnreachableSince: ws.UnreachableSince, Outages: ws.Outages}
	if ws.LastError != nil {
		s.LastError = ws.LastError.Error()
	}
	return s
}
