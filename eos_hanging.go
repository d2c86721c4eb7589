package goka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/kafka"
)

// A hanging transaction (KIP-664) is one that a partition holds open while
// its transaction coordinator has ended it: no producer can end it, and
// the partition's last stable offset stays where it began, so that
// read_committed readers (recovery, views, the group's offset fetch with
// RequireStable) stop there for good. The system tests' broker restarts
// leave one now and then: the coordinator skipped the markers of a
// transaction it was ending because its partitions had no leader at that
// moment (eos_txnlog.go has the trace). DescribeProducers lists it at an
// older epoch of the producer; DescribeTransactions has the ID Empty at a
// newer one.
//
// After fenceStale initialized the producers of partitions whose offsets
// kept a session from starting, the coordinator has ended every
// transaction it knows of those IDs. A transaction still open at an older
// epoch of their producers, on a partition this group writes (its table,
// loop, outputs, time store) or on the consumer offsets, and whose last
// write is older than the transaction timeout, is hanging. It gets the
// marker its coordinator decided, from the coordinator's log
// (decisionFor); if the log no longer tells, it is left alone. Committing
// every hanging transaction, which this code did before the trace,
// matched the four seen on real Kafka, which had been committed (aborting
// them, as kafka-transactions.sh abort would, duplicated 33-42 inputs each
// time), but the same skipped markers can leave an aborted one. The other
// kind KIP-664 names, a late record that opens a transaction nobody
// commits, is what Kafka >= 3.6 refuses (partition verification, KIP-890):
// the log would show the previous transaction's decision for it, so commit
// markers go only to leaders that verify (kafka.WriteTxnMarkers). The age
// rule, Kafka's find-hanging one, leaves markers still on their way to a
// reloaded partition the time to arrive.
// endHanging writes the markers with WriteTxnMarkers, as Kafka's
// Admin.abortTransaction does for aborts. That needs the CLUSTER_ACTION
// and DESCRIBE_CONFIGS permissions, READ on __transaction_state, and SASL,
// if any, other than GSSAPI; where it fails, or the leader does not
// verify, the processor's warning (fenceStreaks) tells the operator.

// idleTxnStates are the coordinator states of a transactional ID with no
// transaction in flight.
var idleTxnStates = []string{"Empty", "CompleteCommit", "CompleteAbort"}

// coordinatedProducer is a fenced transactional ID's producer as its
// coordinator describes it.
type coordinatedProducer struct {
	id    string
	epoch int16
	state string
}

// partitionProducers are the producers a partition leader reports.
type partitionProducers struct {
	topic     string
	partition int32
	leader    string // address
	producers []sarama.ProducerState
}

// hangingMarkers returns, per leader address, the markers (abort, until
// decided) of the transactions that parts hold open for the producers of coord (by producer
// ID) at an epoch older than their coordinator's, while the coordinator has
// no transaction of theirs in flight, and whose last write (by the broker's
// clock) is more than timeout before now.
func hangingMarkers(coord map[int64]coordinatedProducer, parts []partitionProducers, now time.Time, timeout time.Duration) map[string][]kafka.TxnMarker {
	out := make(map[string][]kafka.TxnMarker)
	for _, pp := range parts {
		for _, ps := range pp.producers {
			c, ours := coord[ps.ProducerID]
			if !ours || ps.CurrentTxnStartOffset < 0 || !slices.Contains(idleTxnStates, c.state) || int64(ps.ProducerEpoch) >= int64(c.epoch) {
				continue
			}
			if ps.LastTimestamp < 0 || now.Sub(time.UnixMilli(ps.LastTimestamp)) <= timeout {
				continue
			}
			out[pp.leader] = append(out[pp.leader], kafka.TxnMarker{
				ProducerID: ps.ProducerID, ProducerEpoch: int16(ps.ProducerEpoch), CoordinatorEpoch: ps.CoordinatorEpoch,
				Topic: pp.topic, Partitions: []int32{pp.partition},
			})
		}
	}
	return out
}

// writtenTopics are the topics the group's transactions write, and the
// consumer offsets.
func (p *Processor) writtenTopics() []string {
	topics := []string{"__consumer_offsets"}
	if t := p.graph.GroupTable(); t != nil {
		topics = append(topics, t.Topic())
	}
	if l := p.graph.LoopStream(); l != nil {
		topics = append(topics, l.Topic())
	}
	topics = append(topics, p.graph.OutputStreams().Topics()...)
	if p.graph.time.usesTimeStore() {
		topics = append(topics, string(WindowTable(p.graph.Group())))
	}
	return topics
}

// endHanging ends the hanging transactions of the producers of ids
// (fenced just before) as their coordinator decided, and logs each, on a
// client of cfg of its own (with Kafka 3.0's DescribeProducers and
// DescribeTransactions).
func (p *Processor) endHanging(ctx context.Context, cfg sarama.Config, ids []string) error {
	// sarama refuses DescribeTransactions below 3.0, where KIP-664 added
	// it; brokers older than that fail the request, and the warning of
	// fenceStreaks stays the only remedy.
	if !cfg.Version.IsAtLeast(sarama.V3_0_0_0) {
		cfg.Version = sarama.V3_0_0_0
	}
	cfg.ClientID = p.opts.clientID + "-hanging"
	// The coordinators' log is not transactional; its records are read as
	// they are.
	cfg.Consumer.IsolationLevel = sarama.ReadUncommitted
	client, err := sarama.NewClient(p.brokers, &cfg)
	if err != nil {
		return fmt.Errorf("ending hanging transactions: %w", err)
	}
	defer func() { _ = client.Close() }()
	coord, err := describeTxns(client, ids)
	if err != nil {
		return fmt.Errorf("ending hanging transactions: %w", err)
	}
	if len(coord) == 0 {
		return nil
	}
	parts, err := describeProducers(client, p.writtenTopics())
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	markers := hangingMarkers(coord, parts, time.Now(), cfg.Producer.Transaction.Timeout)
	if len(markers) > 0 {
		rctx, cancel := context.WithTimeout(ctx, txnLogReadTimeout)
		logs, lerr := readTxnLog(rctx, client, hangingIDs(markers, coord))
		cancel()
		if lerr != nil {
			return fmt.Errorf("ending hanging transactions: %w", errors.Join(append(errs, lerr)...))
		}
		var left []kafka.TxnMarker
		markers, left = decideMarkers(markers, coord, logs)
		for _, m := range left {
			p.log.Printf("goka: processor %q: left the hanging transaction of %q (producer %d, epoch %d) on %s/%d alone: the coordinator's log (%s) no longer says how it ended",
				p.graph.Group(), coord[m.ProducerID].id, m.ProducerID, m.ProducerEpoch, m.Topic, m.Partitions[0], txnStateTopic)
		}
	}
	brokers := make(map[string]*sarama.Broker)
	for _, b := range client.Brokers() {
		brokers[b.Addr()] = b
	}
	for _, leader := range slices.Sorted(maps.Keys(markers)) {
		ms := markers[leader]
		b, ok := brokers[leader]
		if !ok {
			errs = append(errs, fmt.Errorf("leader %s left the cluster's metadata", leader))
			continue
		}
		if werr := kafka.WriteTxnMarkers(ctx, b, client.Config(), ms); werr != nil {
			errs = append(errs, werr)
			continue
		}
		for _, m := range ms {
			what := "aborted"
			if m.Committed {
				what = "committed"
			}
			p.log.Printf("goka: processor %q: %s the hanging transaction of %q (producer %d, epoch %d) on %s/%d, as its coordinator had decided without writing the marker there (KIP-664)",
				p.graph.Group(), what, coord[m.ProducerID].id, m.ProducerID, m.ProducerEpoch, m.Topic, m.Partitions[0])
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("ending hanging transactions: %w", errors.Join(errs...))
	}
	return nil
}

// txnLogReadTimeout bounds the read of the coordinators' log.
const txnLogReadTimeout = 30 * time.Second

// hangingIDs are the transactional IDs of markers.
func hangingIDs(markers map[string][]kafka.TxnMarker, coord map[int64]coordinatedProducer) []string {
	var ids []string
	for _, ms := range markers {
		for _, m := range ms {
			if id := coord[m.ProducerID].id; !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// decideMarkers sets each marker to the decision that logs, the
// coordinators' log by transactional ID, records for its transaction, and
// returns the markers of the undecided ones apart.
func decideMarkers(markers map[string][]kafka.TxnMarker, coord map[int64]coordinatedProducer, logs map[string][]txnLogRecord) (map[string][]kafka.TxnMarker, []kafka.TxnMarker) {
	decided := make(map[string][]kafka.TxnMarker)
	var left []kafka.TxnMarker
	for leader, ms := range markers {
		for _, m := range ms {
			switch decisionFor(logs[coord[m.ProducerID].id], m.ProducerID, m.ProducerEpoch, m.Topic, m.Partitions[0]) {
			case decidedCommit:
				m.Committed = true
			case decidedAbort:
				m.Committed = false
			default:
				left = append(left, m)
				continue
			}
			decided[leader] = append(decided[leader], m)
		}
	}
	return decided, left
}

// describeTxns describes ids at their coordinators, by producer ID.
func describeTxns(client sarama.Client, ids []string) (map[int64]coordinatedProducer, error) {
	out := make(map[int64]coordinatedProducer, len(ids))
	var errs []error
	for _, id := range ids {
		b, err := client.TransactionCoordinator(id)
		if err != nil {
			errs = append(errs, fmt.Errorf("coordinator of %q: %w", id, err))
			continue
		}
		resp, err := b.DescribeTransactions(&sarama.DescribeTransactionsRequest{TransactionalIDs: []string{id}})
		if err != nil {
			errs = append(errs, fmt.Errorf("describing %q: %w", id, err))
			continue
		}
		for _, st := range resp.TransactionStates {
			if st.ErrorCode != sarama.ErrNoError {
				errs = append(errs, fmt.Errorf("describing %q: %w", st.TransactionalID, st.ErrorCode))
				continue
			}
			out[st.ProducerID] = coordinatedProducer{id: st.TransactionalID, epoch: st.ProducerEpoch, state: st.TransactionState}
		}
	}
	return out, errors.Join(errs...)
}

// describeProducers describes the producers of every partition of topics at
// their leaders, one request per leader.
func describeProducers(client sarama.Client, topics []string) ([]partitionProducers, error) {
	type req struct {
		broker *sarama.Broker
		topics map[string][]int32
	}
	byLeader := make(map[int32]*req)
	var errs []error
	for _, topic := range topics {
		parts, err := client.Partitions(topic)
		if err != nil {
			errs = append(errs, fmt.Errorf("partitions of %s: %w", topic, err))
			continue
		}
		for _, part := range parts {
			b, err := client.Leader(topic, part)
			if err != nil {
				errs = append(errs, fmt.Errorf("leader of %s/%d: %w", topic, part, err))
				continue
			}
			r := byLeader[b.ID()]
			if r == nil {
				r = &req{broker: b, topics: make(map[string][]int32)}
				byLeader[b.ID()] = r
			}
			r.topics[topic] = append(r.topics[topic], part)
		}
	}
	var out []partitionProducers
	for _, r := range byLeader {
		dr := &sarama.DescribeProducersRequest{}
		for topic, parts := range r.topics {
			dr.Topics = append(dr.Topics, sarama.DescribeProducersRequestTopic{Name: topic, PartitionIndexes: parts})
		}
		resp, err := r.broker.DescribeProducers(dr)
		if err != nil {
			errs = append(errs, fmt.Errorf("describing producers at %s: %w", r.broker.Addr(), err))
			continue
		}
		for _, t := range resp.Topics {
			for _, pt := range t.Partitions {
				if pt.ErrorCode != sarama.ErrNoError {
					errs = append(errs, fmt.Errorf("describing producers of %s/%d: %w", t.Name, pt.PartitionIndex, pt.ErrorCode))
					continue
				}
				out = append(out, partitionProducers{topic: t.Name, partition: pt.PartitionIndex, leader: r.broker.Addr(), producers: pt.ActiveProducers})
			}
		}
	}
	return out, errors.Join(errs...)
}
