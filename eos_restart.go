package goka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"
)

// A partition whose transaction failed restarts on its own instead of
// making the instance rejoin its group, as Kafka Streams closes a
// corrupted task dirty and revives it, resetting its input to the
// committed offsets, while the other tasks go on (TaskCorruptedException).
// Sarama's claims cannot seek back, so the partition keeps the input
// messages it took since its last commit (partitionTxn.uncommitted, one
// commit interval's worth) and its successor processes them again:
//
//   - The failing processor aborts the transaction, closes its producer
//     and storages, and (restart, on its goroutine) starts a new processor
//     of the partition on the same input channel, so that what the claims
//     hand over meanwhile waits there, in order. The claims'
//     forwarders and release follow Processor.partitions and next to it.
//   - The successor creates a producer of the same transactional ID, which
//     fences the old one and ends its transaction; then it fetches the
//     group's committed offsets of the partition (stable, that is after
//     that transaction ended) and drops the replayed messages they cover:
//     a commit whose answer was lost may have succeeded. It recovers its
//     tables from committed state, as any new owner does, and processes
//     the replayed messages before the channel.
//
// Fenced producers and members, failures in an outage or while the
// partition stops, and more than maxTxnRestarts in a row rejoin instead.

// txnRestartable reports whether a partition may restart on its own after
// its transaction failed with err: not when the failure says that the
// partition or the member has moved on (a fenced producer, a member of an
// old generation), which only rejoining the group resolves.
func txnRestartable(err error) bool {
	for _, fenced := range []error{
		sarama.ErrProducerFenced, sarama.ErrInvalidProducerEpoch,
		sarama.ErrIllegalGeneration, sarama.ErrUnknownMemberId, sarama.ErrFencedInstancedId,
		sarama.ErrRebalanceInProgress,
	} {
		if errors.Is(err, fenced) {
			return false
		}
	}
	return true
}

// restart replaces pp, whose transaction failed with err, by a new
// processor of its partition that processes pp's uncommitted input again
// and then goes on; it returns false, starting nothing, when the instance
// must rejoin instead. It runs on pp's goroutine once pp closed its
// producer and storages, before pp.done closes; ctx is pp's.
func (pp *partitionProcessor) restart(ctx context.Context, err error) bool {
	p := pp.proc
	if pp.txn == nil || ctx.Err() != nil || pp.parent.Err() != nil || p.outage.Down() ||
		!txnRestartable(err) || pp.restarts >= maxTxnRestarts {
		return false
	}
	next := newPartitionProcessor(p, pp.partition, pp.session)
	// The input channel goes over with what it buffers; visits queued for
	// pp are abandoned with it (VisitAll returned ErrVisitAborted).
	next.input = pp.input
	next.replay = slices.Concat(pp.txn.uncommitted, pp.replay)
	next.restarts = pp.restarts + 1
	next.txn.stats.inherit(&pp.txn.stats)
	for topic, in := range next.inputs {
		in.hwm.Store(pp.inputs[topic].hwm.Load())
	}
	restarts, replay := next.restarts, len(next.replay) // the successor's once started
	p.mu.Lock()
	if p.partitions[pp.partition] != pp {
		// Revoked, or the session ends: whoever removed it stops it.
		p.mu.Unlock()
		return false
	}
	// Started before it is published: whoever finds it there may cancel it.
	next.start(pp.parent)
	pp.next = next
	p.partitions[pp.partition] = next
	p.partitionsChangedLocked()
	p.mu.Unlock()
	pp.cancel()
	p.log.Printf("goka: processor %q: partition %d: restarting from its last commit after the aborted transaction (restart %d in a row, %d messages to process again)",
		pp.graph.Group(), pp.partition, restarts, replay)
	return true
}

// successor waits until pp closed its storages and returns the processor
// that replaced it by a restart, nil if none did.
func (pp *partitionProcessor) successor() *partitionProcessor {
	<-pp.done
	return pp.next // written before done closed
}

// restartDelay waits before a restart that follows others in a row, so
// that a partition failing at once again does not spin. It returns false
// if ctx ended first.
func (pp *partitionProcessor) restartDelay(ctx context.Context) bool {
	if pp.restarts < 2 {
		return true
	}
	t := time.NewTimer(time.Duration(pp.restarts-1) * txnRestartBackoff)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dropCommittedReplay drops the replayed messages that the group's
// committed offsets of the partition cover. It runs after openTxn, whose
// producer ended the previous transaction of the partition's ID either way.
func (pp *partitionProcessor) dropCommittedReplay(ctx context.Context) error {
	if len(pp.replay) == 0 {
		return nil
	}
	committed, err := pp.committedOffsets(ctx)
	if err != nil || ctx.Err() != nil {
		return err
	}
	pp.replay = dropCommitted(pp.replay, committed)
	return nil
}

// dropCommitted returns the messages of msgs at or after the committed
// offset of their topic (the next offset to consume; none or -1: keep all),
// in order, reusing msgs.
func dropCommitted(msgs []*sarama.ConsumerMessage, committed map[string]int64) []*sarama.ConsumerMessage {
	return slices.DeleteFunc(msgs, func(m *sarama.ConsumerMessage) bool {
		next, ok := committed[m.Topic]
		return ok && next >= 0 && m.Offset < next
	})
}

// committedOffsets fetches the group's committed offsets of the partition's
// input topics, stable (RequireStable: no transaction pending on them), on
// the client of the partition's producer. Sarama's requests take no
// context: they run on pp.bg, and when ctx ends first it returns nil.
func (pp *partitionProcessor) committedOffsets(ctx context.Context) (map[string]int64, error) {
	type result struct {
		offsets map[string]int64
		err     error
	}
	done := make(chan result, 1)
	pp.bg.Go(func() {
		offsets, err := pp.fetchCommitted(ctx)
		done <- result{offsets, err}
	})
	select {
	case r := <-done:
		if r.err != nil {
			return nil, &txnError{partition: pp.partition, cause: fmt.Errorf("fetching the committed offsets to restart from: %w", r.err)}
		}
		return r.offsets, nil
	case <-ctx.Done():
		return nil, nil
	}
}

// committedFetchAttempts bounds fetchCommitted's attempts; they are
// txnRestartBackoff apart.
const committedFetchAttempts = 10

func (pp *partitionProcessor) fetchCommitted(ctx context.Context) (map[string]int64, error) {
	group := string(pp.graph.Group())
	req := make(map[string][]int32, len(pp.inputs))
	for topic := range pp.inputs {
		req[topic] = []int32{pp.partition}
	}
	var err error
	for attempt := 0; attempt < committedFetchAttempts && ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(txnRestartBackoff):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var offsets map[string]int64
		if offsets, err = pp.fetchCommittedOnce(group, req); err == nil {
			return offsets, nil
		}
	}
	return nil, err
}

func (pp *partitionProcessor) fetchCommittedOnce(group string, req map[string][]int32) (map[string]int64, error) {
	client := pp.txn.client
	coord, err := client.Coordinator(group)
	if err != nil {
		return nil, fmt.Errorf("coordinator of group %q: %w", group, err)
	}
	fetch := sarama.NewOffsetFetchRequest(client.Config().Version, group, req)
	fetch.RequireStable = true
	resp, err := coord.FetchOffset(fetch)
	if err != nil {
		_ = client.RefreshCoordinator(group)
		return nil, fmt.Errorf("fetching offsets of group %q: %w", group, err)
	}
	if resp.Err != sarama.ErrNoError {
		_ = client.RefreshCoordinator(group)
		return nil, fmt.Errorf("fetching offsets of group %q: %w", group, resp.Err)
	}
	offsets := make(map[string]int64, len(req))
	for topic := range req {
		b := resp.GetBlock(topic, pp.partition)
		if b == nil {
			return nil, fmt.Errorf("fetching offsets of group %q: no offset of %s/%d in the answer", group, topic, pp.partition)
		}
		if b.Err != sarama.ErrNoError {
			return nil, fmt.Errorf("fetching offsets of group %q: %s/%d: %w", group, topic, pp.partition, b.Err)
		}
		offsets[topic] = b.Offset
	}
	return offsets, nil
}

// processReplay processes the replayed messages of a restart, before any
// from the input channel. A stop in between leaves the rest to the next
// owner of the partition, which starts from the committed offsets.
func (pp *partitionProcessor) processReplay(ctx context.Context) error {
	for len(pp.replay) > 0 && ctx.Err() == nil {
		msg := pp.replay[0]
		pp.replay[0] = nil
		pp.replay = pp.replay[1:]
		if err := pp.process(ctx, msg); err != nil {
			return err
		}
	}
	pp.replay = nil
	return nil
}
