package goka

import (
	"time"

	"github.com/e3793d55/goka/internal/kafka"
)

// DefaultBrokerOutageTimeout is how long a processor or a view goes without
// reaching any of its brokers before Run returns an error wrapping
// ErrBrokerUnreachable (see WithBrokerOutageTimeout and
// WithViewBrokerOutageTimeout). An idle component rides out that long; a
// table write or emit in flight fails after the producer's own budget
// (DefaultConfig: about 3 s), and the processor's error then names the
// brokers too.
const DefaultBrokerOutageTimeout = 15 * time.Second

// brokerStats converts a broker watch's state into BrokerStats.
func brokerStats(w *kafka.BrokerWatch) BrokerStats {
	ws := w.Stats()
	s := BrokerStats{UnreachableSince: ws.UnreachableSince, Outages: ws.Outages}
	if ws.LastError != nil {
		s.LastError = ws.LastError.Error()
	}
	return s
}
