package goka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/commit"
	"github.com/e3793d55/goka/internal/kafka"
)

// coop is the processor's side of the cooperative strategy
// (WithCooperativeRebalance, WithCooperativeUpgrade): the strategy, the
// last assignment the group leader sent, and the wishes for standby
// partitions that the strategy's hooks hand to Run's goroutines. The hooks
// run on sarama's rebalance goroutine and must return promptly: they only
// swap fields and signal channels.
type coop struct {
	strategy *kafka.CooperativeStrategy
	// groupConfig is the consumer group's config, which probes copy.
	groupConfig *sarama.Config

	mu         sync.Mutex // guards the fields below
	assignment kafka.GroupAssignment
	assigned   bool      // assignment was received
	assignedAt time.Time // when
	// standbyWant is the standby, warm-up and incoming partitions of the
	// last assignment; wantChanged wakes the standby keeper.
	standbyWant []int32
	wantChanged chan struct{}
	// The member's generation under the cooperative protocol, for
	// transactional offset commits; rebalancing from its JoinGroup to
	// its new assignment.
	gen         int32
	member      string
	rebalancing bool
	joinedAt    time.Time // this member's last JoinGroup, for RebalanceInfo.Duration
	// commits are the transactional commits in flight with gen (see
	// beginCommit); counted with c.mu held, so that none begins unseen
	// once rebalancing is set.
	commits commit.Counter
}

// commitGateTimeout bounds how long a JoinGroup waits for the commits in
// flight (memberState). A commit is two requests to the transaction
// coordinator; past the bound the member joins anyway and a late commit
// fails with the old generation (its transaction aborts).
const commitGateTimeout = 10 * time.Second

// beginCommit returns the generation for a transactional commit that
// starts now, and false while this member rebalances (the commit waits
// for the new assignment). A commit begun must call endCommit.
func (c *coop) beginCommit() (int32, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rebalancing {
		return 0, "", false
	}
	c.commits.Add()
	return c.gen, c.member, true
}

// endCommit ends a commit of beginCommit.
func (c *coop) endCommit() { c.commits.Done() }

// waitCommits waits, at most d, for the commits begun before the member
// started rebalancing: the coordinator would refuse them once the group
// has moved to the next generation, which needs this member's JoinGroup.
func (c *coop) waitCommits(d time.Duration) {
	idle := c.commits.Idle()
	select {
	case <-idle:
		return
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// wake makes the standby keeper compare the standby partitions with the
// last assignment.
func (c *coop) wake() {
	select {
	case c.wantChanged <- struct{}{}:
	default:
	}
}

// generation returns the member's current generation and member ID, and
// whether a rebalance is in progress.
func (c *coop) generation() (int32, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.member, c.rebalancing
}

// endRebalance records that the member's rebalance is over.
func (c *coop) endRebalance() {
	c.mu.Lock()
	c.rebalancing = false
	c.mu.Unlock()
}

func newCoop() *coop {
	return &coop{wantChanged: make(chan struct{}, 1)}
}

// setupCooperative creates the strategy of a processor with a cooperative
// rebalance mode and the consumer group builder that uses it.
func (p *Processor) setupCooperative() error {
	o := p.opts
	if o.rebalance == rebalanceEager || o.testerClientID {
		return nil
	}
	lag := o.acceptableLag
	if p.graph.GroupTable() == nil && len(p.graph.JointTables()) == 0 {
		// Nothing to recover: any member may take any partition at once.
		lag = math.MaxInt64
	}
	c := newCoop()
	s, err := kafka.NewCooperativeStrategy(kafka.CooperativeConfig{
		StandbyReplicas: o.standbyReplicas,
		AcceptableLag:   lag,
		MaxWarmups:      o.maxWarmups,
		ProbingInterval: o.probingInterval,
		State:           p.memberState,
		OnAssignment:    p.onAssignment,
	})
	if err != nil {
		return err
	}
	c.strategy = s
	base := o.groupConfig
	if base == nil {
		base = globalConfigCopy()
	}
	c.groupConfig = o.cooperativeGroupConfig(base, s)
	o.builders.consumerGroup = func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cfg := *c.groupConfig
		cfg.ClientID = clientID
		// The coordinator gets a connection of its own, or the fetches of
		// the partitions kept through a rebalance wait behind its
		// JoinGroup (internal/kafka/coordinator.go).
		cg, err := kafka.NewConsumerGroup(brokers, group, &cfg)
		if err != nil {
			return nil, fmt.Errorf("creating consumer group %q on %v: %w", group, brokers, err)
		}
		return cg, nil
	}
	p.coop = c
	return nil
}

// memberState is this member's JoinGroup metadata: its query address, the
// partitions it processes (for an eager member, those of its last
// generation: it revoked them before joining) and its table copies with
// their lag.
func (p *Processor) memberState() kafka.MemberState {
	p.coop.mu.Lock()
	if !p.coop.rebalancing {
		// A JoinGroup retried within one rebalance keeps its start.
		p.coop.joinedAt = time.Now()
	}
	p.coop.rebalancing = true
	p.coop.mu.Unlock()
	// No commit begins from now on; those in flight finish with the
	// current generation before this member joins.
	p.coop.waitCommits(commitGateTimeout)
	p.mu.RLock()
	defer p.mu.RUnlock()
	st := kafka.MemberState{
		QueryAddress: p.opts.queryAddress,
		Cooperative:  p.opts.cooperative(),
		Generation:   p.lastGeneration,
		Active:       slices.Clone(p.lastActive),
	}
	for _, part := range slices.Sorted(maps.Keys(p.standby)) {
		if lag, ok := p.standby[part].lag(); ok {
			st.Copies = append(st.Copies, kafka.PartitionLag{Partition: part, Lag: lag})
		}
	}
	// The table ends this member knows, so that the leader can tell how
	// far a member without a copy would have to recover (a small table
	// moves at once instead of warming up).
	tables := make(map[int32]*partitionTable, len(p.partitions)+len(p.standby))
	for part, sb := range p.standby {
		tables[part] = sb.table
	}
	for part, pp := range p.partitions { // over a standby stopping for it
		tables[part] = pp.table
	}
	for _, part := range slices.Sorted(maps.Keys(tables)) {
		if t := tables[part]; t != nil {
			if end, ok := t.End(); ok {
				st.Ends = append(st.Ends, kafka.PartitionEnd{Partition: part, End: end})
			}
		}
	}
	return st
}

// lag is how far the standby's group table is behind its topic's
// high-water mark as last seen, in records; false without a group table.
func (sb *standbyPartition) lag() (int64, bool) {
	if sb.table == nil {
		return 0, false
	}
	s := sb.table.Snapshot()
	return max(0, s.Hwm-1-s.Offset), true
}

// onAssignment receives each generation's assignment, on sarama's
// rebalance goroutine, right after SyncGroup and before sarama revokes and
// starts claims. Under the cooperative protocol it stops the partitions
// this member gives up (without waiting: their ConsumeClaims wait) and
// reports the assignment; the partitions it gains start with their first
// ConsumeClaim. Under the eager protocol (WithCooperativeUpgrade) Setup and
// Cleanup do that, as for Goka's strategy.
func (p *Processor) onAssignment(g kafka.GroupAssignment) {
	self, _ := g.Member(g.Self)
	c := p.coop
	c.mu.Lock()
	c.assignment, c.assigned, c.assignedAt = g, true, time.Now()
	c.gen, c.member, c.rebalancing = g.Generation, g.Self, false
	var took time.Duration
	if !c.joinedAt.IsZero() {
		took = c.assignedAt.Sub(c.joinedAt)
	}
	// Incoming partitions were placed here for the copy this member
	// reported: it keeps it warm until they arrive. A warm-up is usually
	// a standby too: one copy each.
	c.standbyWant = slices.Compact(slices.Sorted(slices.Values(slices.Concat(self.Standby, self.Warmup, self.Incoming))))
	c.mu.Unlock()
	c.wake()
	if !p.opts.cooperative() {
		return
	}
	active := slices.Sorted(slices.Values(self.Active))
	p.mu.Lock()
	var revoked []*partitionProcessor
	var revokedParts, added []int32
	for part, pp := range p.partitions {
		if !slices.Contains(active, part) {
			revoked = append(revoked, pp)
			revokedParts = append(revokedParts, part)
			delete(p.partitions, part)
			p.stopping[part] = pp
		}
	}
	for _, part := range active {
		if !slices.Contains(p.lastActive, part) {
			added = append(added, part)
		}
	}
	p.lastActive, p.lastGeneration = active, g.Generation
	if len(revoked) > 0 {
		p.partitionsChangedLocked()
	}
	p.mu.Unlock()
	for _, pp := range revoked {
		pp.cancel()
	}
	slices.Sort(revokedParts)
	debugf(p.log, "goka: processor %q: generation %d: member %s processes %v (added %v, revoked %v, incoming %v, standby %v, warm-up %v)",
		p.graph.Group(), g.Generation, g.Self, active, added, revokedParts, self.Incoming, self.Standby, self.Warmup)
	assignment := make(Assignment, len(active))
	for _, part := range active {
		assignment[part] = sarama.OffsetNewest
	}
	p.opts.rebalanceCallback(assignment)
	p.rebalancedTo(RebalanceInfo{
		Group: p.graph.Group(), Generation: g.Generation, MemberID: g.Self,
		Assigned: active, Added: added, Revoked: revokedParts,
		Incoming: self.Incoming, Standby: self.Standby, Warmup: self.Warmup,
		ProbeAfter: g.ProbeAfter, Cooperative: true, Duration: took,
	})
}

// acquire returns the partition processor of part for a ConsumeClaim under
// the cooperative protocol, starting it with the partition's first claim.
// A processor of the partition still stopping (revoked in an earlier
// generation) closes its storages first.
func (h *groupHandler) acquire(session sarama.ConsumerGroupSession, part int32) (*partitionProcessor, error) {
	p := h.p
	p.mu.RLock()
	pp := p.partitions[part]
	p.mu.RUnlock()
	if pp != nil {
		return pp, nil
	}
	p.changeMu.Lock()
	defer p.changeMu.Unlock()
	p.mu.RLock()
	pp, old := p.partitions[part], p.stopping[part]
	p.mu.RUnlock()
	if pp != nil {
		return pp, nil
	}
	if old != nil {
		<-old.done
	}
	if err := p.stopStandbys(p.takeStandby([]int32{part})); err != nil {
		err = fmt.Errorf("error setting up (partition=%d): %w", part, err)
		p.fail(err)
		return nil, err
	}
	pp = newPartitionProcessor(p, part, session)
	pp.start(session.Context())
	p.mu.Lock()
	p.partitions[part] = pp
	if !slices.Contains(p.lastActive, part) {
		p.lastActive = slices.Sorted(slices.Values(append(slices.Clone(p.lastActive), part)))
	}
	p.partitionsChangedLocked()
	p.mu.Unlock()
	return pp, nil
}

// release ends a cooperative claim of pp: its messages closed (the claim
// was revoked), pp stopped or the session ended. The partition is stopped
// if it still runs (a claim revoked without onAssignment saying so), and
// the claim returns only once pp closed its storages: sarama commits the
// revoked partition's marked offsets right after.
func (h *groupHandler) release(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim, pp *partitionProcessor, closed bool) {
	p := h.p
	part := claim.Partition()
	if closed || session.Context().Err() == nil {
		p.mu.Lock()
		for pp.next != nil {
			// Replaced by a restart: stop its successor.
			pp = pp.next
		}
		if p.partitions[part] == pp {
			delete(p.partitions, part)
			p.stopping[part] = pp
			p.lastActive = slices.DeleteFunc(slices.Clone(p.lastActive), func(x int32) bool { return x == part })
			p.partitionsChangedLocked()
		}
		p.mu.Unlock()
		pp.cancel()
	}
	for next := pp.successor(); next != nil; next = pp.successor() {
		pp = next // started under the ended session: it ends too
	}
	if !closed {
		// A stopped partition whose claim is not revoked yet: wait for the
		// revocation, since a ConsumeClaim that returns before it ends the
		// session (sarama's ErrSessionConsumeClaimExited).
		for closed = false; !closed; {
			select {
			case _, ok := <-claim.Messages():
				closed = !ok
			case <-session.Context().Done():
				closed = true
			}
		}
	}
	p.mu.Lock()
	last := p.stopping[part] == pp
	if last {
		delete(p.stopping, part)
	}
	p.mu.Unlock()
	if last && h.ctx.Err() == nil && session.Context().Err() == nil {
		p.changeMu.Lock()
		err := p.startStandbyLocked(h.ctx, false)
		p.changeMu.Unlock()
		if err != nil {
			p.fail(err)
		}
		if c := p.coop; c != nil {
			// The partition may stay here as a standby: the keeper
			// skipped it while it stopped.
			c.wake()
		}
	}
}

// keepStandbys runs while Run does under the cooperative strategy: it
// keeps standby tables for the standby and warm-up partitions of the last
// assignment (WithStandbyReplicas, KIP-441 warm-ups) and stops those the
// assignment no longer lists, unless WithHotStandby keeps every partition.
// When every warm-up of this member is within the acceptable lag, or the
// assignment's probing interval passed, it starts the follow-up rebalance
// that moves them (probe).
func (p *Processor) keepStandbys(ctx context.Context) {
	c := p.coop
	check := time.NewTicker(probeSettle / 2)
	defer check.Stop()
	var last probeRecord
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wantChanged:
			p.applyStandbyWant(ctx)
		case <-check.C:
			if due, warmups := p.probeDue(last); due {
				last = probeRecord{at: time.Now(), warmups: warmups}
				if err := p.probe(ctx); err != nil && ctx.Err() == nil {
					p.log.Printf("goka: processor %q: starting a follow-up rebalance for warm-ups: %v", p.graph.Group(), err)
				}
			}
		}
	}
}

// applyStandbyWant starts and stops standby partitions to match the last
// assignment.
func (p *Processor) applyStandbyWant(ctx context.Context) {
	if p.graph.GroupTable() == nil && len(p.graph.JointTables()) == 0 {
		return
	}
	c := p.coop
	c.mu.Lock()
	want := c.standbyWant
	c.mu.Unlock()
	p.changeMu.Lock()
	defer p.changeMu.Unlock()
	var drop []int32
	var missing []int32
	p.mu.RLock()
	if p.standbyMode() == standbyNone {
		for part := range p.standby {
			if !slices.Contains(want, part) {
				drop = append(drop, part)
			}
		}
	}
	for _, part := range want {
		_, active := p.partitions[part]
		_, stopping := p.stopping[part]
		_, standing := p.standby[part]
		if !active && !stopping && !standing {
			missing = append(missing, part)
		}
	}
	p.mu.RUnlock()
	if err := p.stopStandbys(p.takeStandby(drop)); err != nil {
		p.fail(err)
		return
	}
	for _, part := range missing {
		sb, err := p.newStandby(ctx, part, true)
		if err != nil {
			p.fail(err)
			return
		}
		p.mu.Lock()
		p.standby[part] = sb
		p.mu.Unlock()
	}
}

// probeSettle is the least time from a member's last probe and from its
// last assignment to its next probe, so that the rebalances a probe causes
// (its join, the follow-up of what moved, its leave) are over first. A
// group moves MaxWarmups partitions per round of warm-up and probe, so
// this bounds how fast a scale-out spreads the partitions.
const probeSettle = 500 * time.Millisecond

// probeRecord is what the last probe of a member was for.
type probeRecord struct {
	at      time.Time
	warmups []int32 // the caught-up warm-ups it asked the leader to move
}

// probeDue reports whether this member should start a follow-up
// rebalance, and for which warm-ups: it warms partitions up and every copy
// of them is within the acceptable lag, or the assignment's probing
// interval passed. A leader that kept warm-ups the last probe was for
// (the balance did not need them moved) is asked again only after the
// probing interval.
func (p *Processor) probeDue(last probeRecord) (bool, []int32) {
	c := p.coop
	c.mu.Lock()
	g, assigned, at := c.assignment, c.assigned, c.assignedAt
	c.mu.Unlock()
	self, _ := g.Member(g.Self)
	switch {
	case !assigned || g.ProbeAfter == 0:
		return false, nil
	case time.Since(last.at) < probeSettle || time.Since(at) < probeSettle || len(self.Incoming) > 0:
		return false, nil
	case last.at.After(at), slices.ContainsFunc(self.Warmup, func(part int32) bool { return slices.Contains(last.warmups, part) }):
		// The last probe brought no new assignment, or the leader kept
		// its warm-ups: retry after the probing interval.
		return time.Since(last.at) >= g.ProbeAfter, self.Warmup
	case time.Since(at) >= g.ProbeAfter:
		// Any member, as the warm-up member may be gone.
		return true, self.Warmup
	}
	if len(self.Warmup) == 0 {
		return false, nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, part := range self.Warmup {
		sb := p.standby[part]
		if sb == nil || sb.table == nil || !sb.table.IsRecovered() {
			return false, nil
		}
		if lag, _ := sb.lag(); lag > p.opts.acceptableLag {
			return false, nil
		}
	}
	return true, slices.Clone(self.Warmup)
}

// probe starts a rebalance of the group: sarama has no call for it, so a
// second consumer-group member joins with a probe flag, which the leader
// gives nothing, and leaves at once. The group's members rejoin on the
// join and on the leave; under the cooperative protocol nothing stops but
// what moves.
func (p *Processor) probe(ctx context.Context) error {
	c := p.coop
	s, err := kafka.NewCooperativeStrategy(kafka.CooperativeConfig{
		State: func() kafka.MemberState { return kafka.MemberState{Probe: true, Cooperative: true, Generation: -1} },
	})
	if err != nil {
		return err
	}
	cfg := p.opts.cooperativeGroupConfig(c.groupConfig, s)
	cfg.ClientID += "-probe"
	cfg.Consumer.Return.Errors = false
	cg, err := sarama.NewConsumerGroup(p.brokers, string(p.graph.Group()), cfg)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.Consumer.Group.Rebalance.Timeout+cfg.Consumer.Group.Session.Timeout)
	defer cancel()
	err = cg.Consume(pctx, p.consumedTopics(), probeHandler{cancel: cancel})
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	return errors.Join(err, cg.Close())
}

// probeHandler ends the probe's session as soon as it is set up.
type probeHandler struct{ cancel context.CancelFunc }

func (h probeHandler) Setup(sarama.ConsumerGroupSession) error   { h.cancel(); return nil }
func (h probeHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h probeHandler) ConsumeClaim(s sarama.ConsumerGroupSession, _ sarama.ConsumerGroupClaim) error {
	<-s.Context().Done()
	return nil
}

// KeyOwner is the instance processing a key's partition, and those
// keeping its table warm, as the group's last assignment says.
type KeyOwner struct {
	Partition int32
	// Active processes the partition, or is about to (it is moving to
	// it); its zero value when no member has it at the moment.
	Active Instance
	// Standbys keep the partition's table warm (WithStandbyReplicas,
	// warm-ups).
	Standbys []Instance
}

// Instance is a member of a processor group.
type Instance struct {
	// MemberID is the member's consumer-group member ID.
	MemberID string
	// QueryAddress is what the member set with WithQueryAddress.
	QueryAddress string
	// Self is true for this processor.
	Self bool
}

// KeyOwner returns which instance of the group owns key now: the
// partition the processor's hasher puts it in, the member processing it
// and its standbys, with their query addresses (WithQueryAddress). It
// needs the cooperative strategy (WithCooperativeRebalance or
// WithCooperativeUpgrade), whose leader sends every member the whole
// group's placement; it returns ErrNoAssignment before the first one and
// after Run returned. During a rebalance instances may disagree for a
// moment: web/router handles that. Not in Goka.
func (p *Processor) KeyOwner(key string) (KeyOwner, error) {
	if p.coop == nil {
		return KeyOwner{}, fmt.Errorf("key owner of %q: %w (WithCooperativeRebalance)", key, ErrNotCooperative)
	}
	if p.isDone() {
		return KeyOwner{}, fmt.Errorf("key owner of %q: processor stopped: %w", key, ErrNoAssignment)
	}
	p.mu.RLock()
	n := p.numPartitions
	p.mu.RUnlock()
	c := p.coop
	c.mu.Lock()
	g, assigned := c.assignment, c.assigned
	c.mu.Unlock()
	if !assigned || n == 0 {
		return KeyOwner{}, fmt.Errorf("key owner of %q: %w", key, ErrNoAssignment)
	}
	o, err := kafka.OwnerOf(&g, p.opts.hasher, key, n)
	if err != nil {
		return KeyOwner{}, err
	}
	inst := func(r kafka.Replica) Instance {
		return Instance{MemberID: r.MemberID, QueryAddress: r.QueryAddress, Self: r.MemberID != "" && r.MemberID == g.Self}
	}
	out := KeyOwner{Partition: o.Partition, Active: inst(o.Active)}
	for _, r := range o.Standbys {
		out.Standbys = append(out.Standbys, inst(r))
	}
	return out, nil
}
