package kafka

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/IBM/sarama"
)

// NoDataBetween reports whether [from, hwm) of the partition holds no data
// record, only transaction markers, aborted or compacted-away records.
// Sarama's consumer silently skips control batches (transaction markers),
// so a recovery waiting for the record at hwm-1 would wait forever when the
// partition ends with a marker (Goka's recovery hangs there); this check
// ends it.
//
// A broker Fetch takes no context, and sarama's Broker.Close waits for the
// request in flight. So the fetch goes over a connection of its own, whose
// socket NoDataBetween closes when ctx ends: the fetch then fails at once,
// and the goroutine running it, which Close waits for, ends with it.
func (tm *TopicManager) NoDataBetween(ctx context.Context, topic string, partition int32, from, hwm int64) (bool, error) {
	leader, err := await(ctx, tm, func() (*sarama.Broker, error) {
		return tm.client.Leader(topic, partition)
	})
	if err != nil {
		return false, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	d := &closingDialer{inner: dialerOf(tm.saramaCfg)}
	cfg := *tm.saramaCfg
	cfg.Net.Proxy.Enable = true
	cfg.Net.Proxy.Dialer = d
	broker := sarama.NewBroker(leader.Addr())
	if err := broker.Open(&cfg); err != nil {
		return false, fmt.Errorf("connecting to %s for %s/%d: %w", leader.Addr(), topic, partition, err)
	}
	done, err := await(ctx, tm, func() (bool, error) {
		defer func() { _ = broker.Close() }()
		return noDataBetween(broker, topic, partition, from, hwm)
	})
	if ctx.Err() != nil {
		d.closeAll()
	}
	return done, err
}

// dialerOf returns the dialer sarama would use for cfg.
func dialerOf(cfg *sarama.Config) interface {
	Dial(network, addr string) (net.Conn, error)
} {
	if cfg.Net.Proxy.Enable && cfg.Net.Proxy.Dialer != nil {
		return cfg.Net.Proxy.Dialer
	}
	return &net.Dialer{Timeout: cfg.Net.DialTimeout, KeepAlive: cfg.Net.KeepAlive, LocalAddr: cfg.Net.LocalAddr}
}

// closingDialer dials with inner and can close every connection it made,
// including one still being dialed.
type closingDialer struct {
	inner interface {
		Dial(network, addr string) (net.Conn, error)
	}
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func (d *closingDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := d.inner.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	d.conns = append(d.conns, c)
	return c, nil
}

func (d *closingDialer) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for _, c := range d.conns {
		_ = c.Close()
	}
}

// noDataBetween fetches the batches of the partition from offset from on
// from broker, its leader, and checks them. It fetches read_committed, so
// that the response lists the aborted transactions: their records are
// skipped by a read_committed consumer and count as no data here, as
// markers do (after an aborted transaction, a table written under
// exactly-once ends with records no recovery sees). A read_committed fetch
// stops at the last stable offset: records of a transaction still open
// are not in the response, so the range is not reported empty.
func noDataBetween(broker *sarama.Broker, topic string, partition int32, from, hwm int64) (bool, error) {
	const maxBytes = 1 << 20
	req := &sarama.FetchRequest{
		Version:     4,
		MaxWaitTime: 100,
		MinBytes:    1,
		MaxBytes:    maxBytes,
		Isolation:   sarama.ReadCommitted,
	}
	req.AddBlock(topic, partition, from, maxBytes, -1)
	resp, err := broker.Fetch(req)
	if err != nil {
		return false, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, from, err)
	}
	block := resp.GetBlock(topic, partition)
	if block == nil {
		return false, fmt.Errorf("fetching %s/%d at %d: no block in response", topic, partition, from)
	}
	if block.Err != sarama.ErrNoError {
		return false, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, from, block.Err)
	}
	return onlyMarkersOrAborted(block, from, hwm), nil
}

// onlyMarkersOrAborted reports whether the batches of block hold no data
// record of [from, hwm) that a read_committed consumer would deliver: the
// Java consumer's filter (an aborted transaction begins at its first
// offset and ends at its producer's next control batch).
func onlyMarkersOrAborted(block *sarama.FetchResponseBlock, from, hwm int64) bool {
	aborted := slices.Clone(block.AbortedTransactions)
	slices.SortFunc(aborted, func(a, b *sarama.AbortedTransaction) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
	if block.LastStableOffset >= 0 && block.LastStableOffset < hwm {
		return false // an open transaction: its records may yet commit
	}
	inAborted := make(map[int64]bool)
	last := from - 1
	for _, records := range block.RecordsSet {
		batch := records.RecordBatch
		if batch == nil {
			// Legacy message sets carry no markers: a message is data.
			if records.MsgSet != nil && len(records.MsgSet.Messages) > 0 {
				return false
			}
			continue
		}
		for len(aborted) > 0 && aborted[0].FirstOffset <= batch.LastOffset() {
			inAborted[aborted[0].ProducerID] = true
			aborted = aborted[1:]
		}
		switch {
		case batch.Control:
			delete(inAborted, batch.ProducerID) // its abort marker
		case batch.IsTransactional && inAborted[batch.ProducerID]:
		default:
			for _, r := range batch.Records {
				if batch.FirstOffset+r.OffsetDelta >= from {
					return false
				}
			}
		}
		last = batch.LastOffset()
	}
	// Everything up to the high-water mark was markers, aborted or empty
	// batches; a response without batches at all means nothing is left
	// either.
	return last >= hwm-1 || len(block.RecordsSet) == 0
}
