package goka

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/kafka"
)

// groupHandler implements sarama.ConsumerGroupHandler for a processor. ctx
// is Run's context: it outlives the sessions, and standby partitions started
// between sessions run under it.
//
// Setup and Cleanup change the processor's partition sets under
// Processor.changeMu and publish the new sets under Processor.mu, which
// they hold only to swap map entries: they stop partitions (whose
// goroutines may be inside a user callback that calls Get, Stats or
// VisitAll, which take mu) and open or stop standby tables with mu
// released. See DESIGN.md, "Lock order".
type groupHandler struct {
	p   *Processor
	ctx context.Context
	// setups counts the sessions set up, so that consume can tell a lost
	// session from a failure to join.
	setups atomic.Int64
	clock  rebalanceClock // for RebalanceObserver
}

func (h *groupHandler) Setup(session sarama.ConsumerGroupSession) error {
	p := h.p
	h.setups.Add(1)
	p.state.SetState(ProcStateSetup)
	claims := session.Claims()
	parts, mismatch := kafka.Copartitioned(claims)
	if mismatch != nil {
		// Not retryable: stop the processor instead of rejoining forever.
		err := fmt.Errorf("session claims are not copartitioned: topic %q has %v, topic %q has %v: %w",
			mismatch.First, mismatch.FirstParts, mismatch.Other, mismatch.OtherParts, ErrNotCopartitioned)
		p.fail(err)
		return err
	}
	assignment := make(Assignment, len(parts))
	for _, part := range parts {
		assignment[part] = sarama.OffsetNewest
	}
	debugf(p.log, "goka: processor %q: generation %d: member %s claims partitions %v", p.graph.Group(), session.GenerationID(), session.MemberID(), parts)
	if !p.opts.cooperative() {
		// Under the cooperative protocol onAssignment reports each
		// generation, this one included.
		p.opts.rebalanceCallback(assignment)
	}

	p.changeMu.Lock()
	defer p.changeMu.Unlock()
	// A standby partition that becomes active hands its storages over: it
	// must be closed before the partition processor opens them.
	if err := p.stopStandbys(p.takeStandby(parts)); err != nil {
		err = fmt.Errorf("error setting up (partitions=%v): %w", parts, err)
		p.fail(err)
		return err
	}
	pps := make([]*partitionProcessor, 0, len(parts))
	for _, part := range parts {
		pp := newPartitionProcessor(p, part, session)
		pp.start(session.Context())
		pps = append(pps, pp)
	}
	p.mu.Lock()
	for _, pp := range pps {
		p.partitions[pp.partition] = pp
	}
	p.lastActive, p.lastGeneration = parts, session.GenerationID()
	p.partitionsChangedLocked()
	p.mu.Unlock()
	p.state.SetState(ProcStateRunning)
	if !p.opts.cooperative() {
		if p.coop != nil {
			// WithCooperativeUpgrade in a group still on the eager
			// strategy: the cooperative strategy's OnAssignment, which
			// ends the rebalance it marked in memberState, never runs.
			p.coop.endRebalance()
		}
		r := RebalanceInfo{Group: p.graph.Group(), Generation: session.GenerationID(), MemberID: session.MemberID(), Assigned: parts}
		if began := h.clock.since(); !began.IsZero() {
			r.Duration = time.Since(began)
		}
		p.rebalancedTo(r)
	}
	return nil
}

func (h *groupHandler) Cleanup(session sarama.ConsumerGroupSession) error {
	p := h.p
	h.clock.begin()
	p.changeMu.Lock()
	defer p.changeMu.Unlock()
	p.mu.Lock()
	pps := p.partitions
	p.partitions = make(map[int32]*partitionProcessor, len(pps))
	p.partitionsChangedLocked()
	p.mu.Unlock()

	// Cancel every partition first and then wait, so that they drain in
	// parallel: a rebalance waits for the slowest partition, not the sum.
	for _, pp := range pps {
		pp.cancel()
	}
	var errs []error
	for _, pp := range pps {
		errs = append(errs, pp.wait())
	}
	if h.ctx.Err() == nil {
		errs = append(errs, p.startStandbyLocked(h.ctx, false))
	}
	return errors.Join(errs...)
}

func (h *groupHandler) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	var pp *partitionProcessor
	if h.p.opts.cooperative() {
		// The partition starts with its first claim and stops when it is
		// revoked, not in Setup and Cleanup, which only run when the
		// member joins and leaves.
		var err error
		if pp, err = h.acquire(session, claim.Partition()); err != nil {
			return err
		}
	} else {
		h.p.mu.RLock()
		pp = h.p.partitions[claim.Partition()]
		h.p.mu.RUnlock()
	}
	if pp == nil {
		return fmt.Errorf("claim of %s/%d without partition processor", claim.Topic(), claim.Partition())
	}
	if pp.inputs[claim.Topic()] == nil {
		return fmt.Errorf("claim of %s/%d: topic is not an input of group %q", claim.Topic(), claim.Partition(), pp.graph.Group())
	}
	pp, closed := h.forward(session, claim, pp)
	if h.p.opts.cooperative() {
		h.release(session, claim, pp, closed)
	}
	return nil
}

// forward hands the claim's messages to pp once it recovered, until the
// claim's messages close (it returns true), pp stops or the session ends.
// A processor that a restart replaced (eos_restart.go) is followed by its
// successor, which reads the same input channel; forward returns the last
// one it handed messages to.
func (h *groupHandler) forward(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim, pp *partitionProcessor) (_ *partitionProcessor, closed bool) {
	in := pp.inputs[claim.Topic()]
	for recovered := false; !recovered; {
		select {
		case <-pp.recovered:
			recovered = true
		case <-pp.stopped:
			next := pp.successor()
			if next == nil {
				return pp, false
			}
			pp, in = next, next.inputs[claim.Topic()]
		case <-session.Context().Done():
			return pp, false
		}
	}
	var (
		msg *sarama.ConsumerMessage
		ok  bool
	)
	for {
		// Non-blocking attempts first: when messages flow, they succeed
		// and cost far less than the full selects.
		select {
		case msg, ok = <-claim.Messages():
		default:
			select {
			case msg, ok = <-claim.Messages():
			case <-session.Context().Done():
				return pp, false
			}
		}
		if !ok {
			return pp, true
		}
		// The claim's high-water mark as of the fetch that brought msg:
		// InputStats.OffsetLag is computed from it when msg is processed.
		// It changes once per fetch: storing only changes keeps the cache
		// line shared with the partition's goroutine quiet.
		if hwm := claim.HighWaterMarkOffset(); hwm != in.hwm.Load() {
			in.hwm.Store(hwm)
		}
		select {
		case pp.input <- msg:
			continue
		default:
		}
		// A successor reads the same channel: msg goes on to it.
		if prev := pp; !h.send(session, &pp, msg) {
			return pp, false
		} else if pp != prev {
			in = pp.inputs[claim.Topic()]
		}
	}
}

// send hands msg to *pp, following *pp to its successor when a restart
// replaced it; false if *pp ended for good or the session ended.
func (h *groupHandler) send(session sarama.ConsumerGroupSession, pp **partitionProcessor, msg *sarama.ConsumerMessage) bool {
	for {
		select {
		case (*pp).input <- msg:
			return true
		case <-(*pp).stopped:
			next := (*pp).successor()
			if next == nil {
				return false
			}
			*pp = next
		case <-session.Context().Done():
			return false
		}
	}
}
