package goka_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/e3793d55/goka"
)

// TestExactlyOnceRestartsPartition fails the transactions of one
// partition and checks that only that partition restarts, from its last
// commit, without the instance rejoining its group, unless the failure
// says the producer was fenced; the counter and the output stay exact
// either way.
func TestExactlyOnceRestartsPartition(t *testing.T) {
	const keys, half, failing = 20, 600, int32(1)
	tests := []struct {
		name        string
		key         kmsg.Key // the request that fails
		code        int16
		times       int32
		cooperative bool
		// wantRestarts of the failing partition; 0: the instance rejoins.
		wantRestarts int64
	}{
		{name: "commit fails", key: kmsg.EndTxn, code: kerr.InvalidTxnState.Code, times: 2, wantRestarts: 2},
		{name: "adding the offsets fails", key: kmsg.AddOffsetsToTxn, code: kerr.InvalidTxnState.Code, times: 1, wantRestarts: 1},
		{name: "commit fails, cooperative", key: kmsg.EndTxn, code: kerr.InvalidTxnState.Code, times: 2, cooperative: true, wantRestarts: 2},
		{name: "fenced producer rejoins", key: kmsg.EndTxn, code: kerr.ProducerFenced.Code, times: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case has a broker of its own, and mostly waits for
			// reads to go idle.
			t.Parallel()
			w := &eosCounter{group: goka.Group(fmt.Sprintf("eos-restart-%d", i)), input: fmt.Sprintf("eos-restart-in-%d", i), output: fmt.Sprintf("eos-restart-out-%d", i)}
			c, brokers := eosCluster(t, w)
			perKey := map[string]int{}
			emitInputs(t, brokers, w.input, 0, half, keys, perKey)

			id := fmt.Sprintf("%s-%d", w.group, failing)
			var armed atomic.Bool
			var failed atomic.Int32
			c.Fake().ControlKey(int16(tt.key), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.Fake().KeepControl()
				var txnID string
				switch r := req.(type) {
				case *kmsg.EndTxnRequest:
					if !r.Commit {
						return nil, nil, false
					}
					txnID = r.TransactionalID
				case *kmsg.AddOffsetsToTxnRequest:
					txnID = r.TransactionalID
				}
				if !armed.Load() || txnID != id || failed.Load() >= tt.times {
					return nil, nil, false
				}
				failed.Add(1)
				resp := req.ResponseKind()
				switch r := resp.(type) {
				case *kmsg.EndTxnResponse:
					r.ErrorCode = tt.code
				case *kmsg.AddOffsetsToTxnResponse:
					r.ErrorCode = tt.code
				}
				return resp, nil, true
			})

			var extra []goka.ProcessorOption
			if tt.cooperative {
				extra = append(extra, goka.WithCooperativeRebalance())
			}
			p := w.processor(t, brokers, "", append(extra, goka.WithLogger(tlog{t}))...)
			r := run(t, p.Run)
			eventually(t, 60*time.Second, func() bool {
				st := p.Stats()
				return p.Recovered() && st.Assignment != nil && len(st.Assignment.Active) == 4
			}, "processor running")
			waitOutputs(t, brokers, w.output, half)
			gen := p.Stats().Assignment.Generation

			armed.Store(true)
			emitInputs(t, brokers, w.input, half, half, keys, perKey)
			waitOutputs(t, brokers, w.output, 2*half)
			require.Equal(t, tt.times, failed.Load(), "failed requests")

			st := p.Stats()
			if tt.wantRestarts > 0 {
				require.Equal(t, gen, st.Assignment.Generation, "the instance rejoined its group")
			} else {
				require.Greater(t, st.Assignment.Generation, gen, "the instance did not rejoin its group")
			}
			for part, ps := range st.Group {
				require.NotNil(t, ps.Transactions, "partition %d", part)
				want := int64(0)
				if part == failing {
					want = tt.wantRestarts
					require.GreaterOrEqual(t, ps.Transactions.Aborts, want, "aborts of partition %d", part)
				}
				require.Equal(t, want, ps.Transactions.Restarts, "restarts of partition %d", part)
			}
			require.NoError(t, r.stop(t))
			w.checkExactlyOnce(t, brokers, perKey, 2*half)
		})
	}
}
