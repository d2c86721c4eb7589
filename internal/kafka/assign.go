package kafka

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// Defaults of CooperativeConfig, those of Kafka Streams' high-availability
// task assignor (KIP-441).
const (
	// DefaultAcceptableLag is Kafka Streams' acceptable.recovery.lag.
	DefaultAcceptableLag int64 = 10000
	// DefaultMaxWarmups is Kafka Streams' max.warmup.replicas.
	DefaultMaxWarmups = 2
	// DefaultProbingInterval is Kafka Streams' probing.rebalance.interval.ms.
	DefaultProbingInterval = 10 * time.Minute
)

// CooperativeStrategyName is the protocol name of CooperativeStrategy in
// JoinGroup. Members of one group agree on a strategy by name.
const CooperativeStrategyName = "goka-cooperative"

// CooperativeConfig configures a CooperativeStrategy. The zero value is
// valid: no standbys, Kafka Streams' warm-up defaults, an empty member state.
type CooperativeConfig struct {
	// Strict fails the plan when members subscribe to different topics, as
	// CopartitionStrategy.Strict. Default false.
	Strict bool
	// StandbyReplicas is the number of members besides the active one that
	// keep each partition's table warm. Default 0.
	StandbyReplicas int
	// AcceptableLag is how far behind, in records, a member's copy of a
	// partition may be for the partition to move to it; a member further
	// behind warms up first. Default DefaultAcceptableLag (10,000).
	AcceptableLag int64
	// MaxWarmups bounds the warm-ups placed in one rebalance, across the
	// group. Default DefaultMaxWarmups (2).
	MaxWarmups int
	// ProbingInterval is the longest a member waits before asking for the
	// follow-up rebalance of pending warm-ups. Default DefaultProbingInterval
	// (10 minutes).
	ProbingInterval time.Duration
	// State returns this member's state for its JoinGroup metadata; called
	// on sarama's rebalance goroutine right before each JoinGroup. Default:
	// an empty state.
	State func() MemberState
	// OnAssignment receives this member's decoded assignment right after
	// each SyncGroup, on sarama's rebalance goroutine; it must return
	// promptly. Default: none.
	OnAssignment func(GroupAssignment)
}

func (c *CooperativeConfig) applyDefaults() {
	if c.AcceptableLag == 0 {
		c.AcceptableLag = DefaultAcceptableLag
	}
	if c.MaxWarmups == 0 {
		c.MaxWarmups = DefaultMaxWarmups
	}
	if c.ProbingInterval == 0 {
		c.ProbingInterval = DefaultProbingInterval
	}
}

func (c *CooperativeConfig) validate() error {
	var errs []error
	if c.StandbyReplicas < 0 {
		errs = append(errs, fmt.Errorf("StandbyReplicas %d is negative", c.StandbyReplicas))
	}
	if c.AcceptableLag < 0 {
		errs = append(errs, fmt.Errorf("AcceptableLag %d is negative", c.AcceptableLag))
	}
	if c.MaxWarmups < 0 {
		errs = append(errs, fmt.Errorf("MaxWarmups %d is negative", c.MaxWarmups))
	}
	if c.ProbingInterval < 0 {
		errs = append(errs, fmt.Errorf("ProbingInterval %v is negative", c.ProbingInterval))
	}
	return errors.Join(errs...)
}

// CooperativeStrategy is the cooperative (KIP-429) copartitioning balance
// strategy of processors. Partition p of every subscribed topic goes to one
// member, as with CopartitionStrategy; partitions stay where they are unless
// the spread (at most one partition between the most and the least loaded
// member) needs them elsewhere, a partition that moves from a member that
// still holds it is withheld for one generation until that member revoked
// it, and a partition moves only to a member whose copy is within
// AcceptableLag: otherwise that member warms up and the partition moves in
// a follow-up rebalance (KIP-441). Standby replicas are placed on other
// members than the active one.
//
// It implements sarama's RebalanceProtocolBalanceStrategy (cooperative and
// eager, for the two-step migration from an eager strategy),
// SubscriptionUserDataBalanceStrategy and OnAssignmentBalanceStrategy. It
// keeps the leader's last plan between Plan and AssignmentData, so one
// value serves one consumer group.
type CooperativeStrategy struct {
	cfg CooperativeConfig

	mu   sync.Mutex
	last GroupAssignment // the leader's last plan, for AssignmentData
}

// NewCooperativeStrategy returns a strategy with cfg, defaults applied.
func NewCooperativeStrategy(cfg CooperativeConfig) (*CooperativeStrategy, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("cooperative strategy: %w", err)
	}
	return &CooperativeStrategy{cfg: cfg}, nil
}

// Config returns the strategy's config, defaults applied.
func (s *CooperativeStrategy) Config() CooperativeConfig { return s.cfg }

// Name returns CooperativeStrategyName.
func (s *CooperativeStrategy) Name() string { return CooperativeStrategyName }

// SupportedProtocols lists cooperative first: sarama runs the cooperative
// protocol when every configured strategy supports it, and the eager one
// while an eager strategy is configured beside this one (the first step of
// a migration).
func (s *CooperativeStrategy) SupportedProtocols() []sarama.RebalanceProtocol {
	return []sarama.RebalanceProtocol{sarama.RebalanceProtocolCooperative, sarama.RebalanceProtocolEager}
}

// SubscriptionUserData encodes the member's State.
func (s *CooperativeStrategy) SubscriptionUserData([]string) ([]byte, error) {
	st := MemberState{Generation: -1}
	if s.cfg.State != nil {
		st = s.cfg.State()
	}
	return EncodeMemberState(st), nil
}

// OnAssignment decodes the leader's GroupAssignment and hands it to the
// configured OnAssignment. Undecodable data (a leader of another version
// that wrote none) is passed on as an assignment with only the generation.
func (s *CooperativeStrategy) OnAssignment(a *sarama.ConsumerGroupMemberAssignment, generationID int32) {
	if s.cfg.OnAssignment == nil || a == nil {
		return
	}
	g, err := DecodeGroupAssignment(a.UserData)
	if err != nil {
		g = GroupAssignment{}
	}
	g.Generation = generationID
	s.cfg.OnAssignment(g)
}

// AssignmentData returns the last plan's GroupAssignment addressed to
// memberID. Plan puts every member in the plan, so that sarama asks for the
// data of members without active partitions too (standbys only).
func (s *CooperativeStrategy) AssignmentData(memberID string, _ map[string][]int32, generationID int32) ([]byte, error) {
	s.mu.Lock()
	g := s.last
	s.mu.Unlock()
	g.Self = memberID
	g.Generation = generationID
	return EncodeGroupAssignment(g), nil
}

// Plan computes the cooperative plan; see Balance for the placement.
func (s *CooperativeStrategy) Plan(members map[string]sarama.ConsumerGroupMemberMetadata, topics map[string][]int32) (sarama.BalanceStrategyPlan, error) {
	partitions, mismatch := Copartitioned(topics)
	if mismatch != nil {
		return nil, fmt.Errorf("cooperative strategy: topics %q and %q have different partitions (%v vs %v): %w",
			mismatch.First, mismatch.Other, mismatch.FirstParts, mismatch.OtherParts, ErrNotCopartitioned)
	}
	in := make([]BalanceMember, 0, len(members))
	var probes []string
	var subscribed map[string]bool
	for _, id := range slices.Sorted(maps.Keys(members)) {
		meta := members[id]
		if s.cfg.Strict {
			set := make(map[string]bool, len(meta.Topics))
			for _, t := range meta.Topics {
				set[t] = true
			}
			if subscribed == nil {
				subscribed = set
			} else if !maps.Equal(subscribed, set) {
				return nil, fmt.Errorf("cooperative strategy: members subscribe to different topics (%v vs %v)", meta.Topics, slices.Sorted(maps.Keys(subscribed)))
			}
		}
		st, err := DecodeMemberState(meta.UserData)
		if err != nil {
			// a member of another strategy version: place it as a newcomer
			st = MemberState{Generation: -1}
		}
		if st.Probe {
			probes = append(probes, id)
			continue
		}
		m := BalanceMember{ID: id, State: st, OwnedGeneration: meta.GenerationID}
		for _, op := range meta.OwnedPartitions {
			if _, ok := topics[op.Topic]; ok {
				m.Owned = append(m.Owned, op.Partitions...)
			}
		}
		slices.Sort(m.Owned)
		m.Owned = slices.Compact(m.Owned)
		in = append(in, m)
	}

	g := Balance(partitions, in, s.cfg)
	if len(probes) > 0 {
		// probes get nothing, but an entry, so that sarama asks for
		// their (empty) assignment data
		for _, id := range probes {
			g.Members = append(g.Members, MemberAssignment{MemberID: id})
		}
		slices.SortFunc(g.Members, func(a, b MemberAssignment) int { return cmp.Compare(a.MemberID, b.MemberID) })
	}

	plan := make(sarama.BalanceStrategyPlan, len(members))
	for _, ma := range g.Members {
		plan[ma.MemberID] = map[string][]int32{}
		for _, topic := range members[ma.MemberID].Topics {
			if _, ok := topics[topic]; ok {
				plan.Add(ma.MemberID, topic, ma.Active...)
			}
		}
	}
	s.mu.Lock()
	s.last = g
	s.mu.Unlock()
	return plan, nil
}

// BalanceMember is one member as the leader sees it in JoinGroup.
type BalanceMember struct {
	ID string
	// Owned are the partitions the member claims now (sarama's
	// OwnedPartitions, KIP-429), of any topic; empty for eager members.
	Owned []int32
	// OwnedGeneration is the generation of Owned (KIP-792; 0 or -1 when
	// the member's subscription version does not carry it).
	OwnedGeneration int32
	State           MemberState
}

// noCopy is the lag of a member without a copy of a partition: worse than
// any real lag.
const noCopy = math.MaxInt64

// Balance is the placement of CooperativeStrategy, a pure function of the
// partitions, the members and cfg (cfg's defaults are applied here too):
//
//  1. The current owner of a partition: the member claiming it in
//     OwnedPartitions with the highest generation; for eager members,
//     which claim nothing, the one listing it in State.Active with the
//     highest State.Generation.
//  2. The target: every member gets ⌊P/N⌋ or ⌈P/N⌉ partitions, the larger
//     quotas going to the members owning most, so that as few partitions
//     move as any balanced placement allows. An owner above its quota
//     gives up first the partitions with the freshest copy elsewhere.
//     Partitions without owner, or given up, go to the member below quota
//     with the freshest copy.
//  3. Warm-up (KIP-441): a partition whose target member lags more than
//     AcceptableLag stays with its owner, and the target warms it up (at
//     most MaxWarmups across the group); a partition whose owner left goes
//     to the member with the freshest copy unless the target is within
//     AcceptableLag. Warm-ups set ProbeAfter. A member without a copy lags
//     by the partition's end offset when a member reported it (State.Ends;
//     Kafka Streams' lag of a client without the task's state), by more
//     than any copy otherwise: a small table moves at once.
//  4. Two-phase revoke (KIP-429): a partition assigned to a member that
//     does not claim it while another member does is withheld (Incoming)
//     until the claimer revoked it and rejoined.
//  5. Standbys: StandbyReplicas distinct members other than the active
//     one (fewer if the group is smaller), preferring the warm-up member,
//     then the freshest copies, then the members with fewest standbys.
func Balance(partitions []int32, members []BalanceMember, cfg CooperativeConfig) GroupAssignment {
	cfg.applyDefaults()
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b BalanceMember) int { return cmp.Compare(a.ID, b.ID) })
	g := GroupAssignment{Members: make([]MemberAssignment, len(ms))}
	for i, m := range ms {
		g.Members[i] = MemberAssignment{MemberID: m.ID, QueryAddress: m.State.QueryAddress}
	}
	if len(ms) == 0 || len(partitions) == 0 {
		return g
	}
	parts := slices.Sorted(slices.Values(partitions))
	n := len(ms)

	// ends are the table ends the members reported, the highest of each
	// partition: a member without a copy would replay up to there.
	ends := make(map[int32]int64)
	for _, m := range ms {
		for _, e := range m.State.Ends {
			ends[e.Partition] = max(ends[e.Partition], e.End)
		}
	}
	lag := func(m int, p int32) int64 {
		if slices.Contains(ms[m].Owned, p) {
			return 0
		}
		if l, ok := ms[m].State.Lag(p); ok {
			return l
		}
		if e, ok := ends[p]; ok {
			return e
		}
		return noCopy
	}

	// 1. current owners
	owner := make(map[int32]int, len(parts))
	claimers := make(map[int32][]int, len(parts))
	type rank struct {
		prio int
		gen  int32
	}
	best := make(map[int32]rank, len(parts))
	consider := func(p int32, m int, r rank) {
		if !slices.Contains(parts, p) {
			return
		}
		if b, ok := best[p]; ok && (b.prio > r.prio || (b.prio == r.prio && b.gen >= r.gen)) {
			return
		}
		best[p], owner[p] = r, m
	}
	for i, m := range ms {
		for _, p := range m.Owned {
			claimers[p] = append(claimers[p], i)
			consider(p, i, rank{2, m.OwnedGeneration})
		}
		if !m.State.Cooperative {
			for _, p := range m.State.Active {
				consider(p, i, rank{1, m.State.Generation})
			}
		}
	}

	// 2. balanced, sticky target
	owns := make([][]int32, n)
	for _, p := range parts {
		if o, ok := owner[p]; ok {
			owns[o] = append(owns[o], p)
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(owns[b]), len(owns[a])) })
	quota := make([]int, n)
	for rank, i := range order {
		quota[i] = len(parts) / n
		if rank < len(parts)%n {
			quota[i]++
		}
	}
	bestElsewhere := func(p int32, self int) int64 {
		l := int64(noCopy)
		for j := range ms {
			if j != self && len(owns[j]) < quota[j] {
				l = min(l, lag(j, p))
			}
		}
		return l
	}
	target := make(map[int32]int, len(parts))
	load := make([]int, n)
	var pool []int32
	for i := range ms {
		keep := slices.Clone(owns[i])
		if excess := len(keep) - quota[i]; excess > 0 {
			// give up the partitions best served elsewhere, the higher
			// numbers first among equals
			slices.SortStableFunc(keep, func(a, b int32) int {
				if c := cmp.Compare(bestElsewhere(a, i), bestElsewhere(b, i)); c != 0 {
					return c
				}
				return cmp.Compare(b, a)
			})
			pool = append(pool, keep[:excess]...)
			keep = keep[excess:]
		}
		for _, p := range keep {
			target[p] = i
		}
		load[i] = len(keep)
	}
	for _, p := range parts {
		if _, ok := owner[p]; !ok {
			pool = append(pool, p)
		}
	}
	slices.Sort(pool)
	for _, p := range pool {
		pick := -1
		for j := range ms {
			if load[j] >= quota[j] {
				continue
			}
			if pick < 0 || lag(j, p) < lag(pick, p) || (lag(j, p) == lag(pick, p) && load[j] < load[pick]) {
				pick = j
			}
		}
		target[p] = pick
		load[pick]++
	}

	// 3. warm-up
	active := make(map[int32]int, len(parts))
	warmup := make(map[int32]int)
	for _, p := range parts {
		t := target[p]
		o, owned := owner[p]
		switch {
		case owned && o == t, lag(t, p) <= cfg.AcceptableLag:
			active[p] = t
		case owned:
			active[p] = o
			if len(warmup) < cfg.MaxWarmups {
				warmup[p] = t
			}
		default:
			fresh := t
			for j := range ms {
				if lag(j, p) < lag(fresh, p) {
					fresh = j
				}
			}
			active[p] = fresh
			if fresh != t && len(warmup) < cfg.MaxWarmups {
				warmup[p] = t
			}
		}
	}

	// 4. two-phase revoke and the plan
	for _, p := range parts {
		a := active[p]
		withheld := false
		for _, c := range claimers[p] {
			if c != a && !slices.Contains(ms[a].Owned, p) {
				withheld = true
			}
		}
		if withheld {
			g.Members[a].Incoming = append(g.Members[a].Incoming, p)
		} else {
			g.Members[a].Active = append(g.Members[a].Active, p)
		}
	}

	// 5. standbys
	standbys := make([]int, n)
	for _, p := range parts {
		a := active[p]
		w, hasWarmup := warmup[p]
		cands := make([]int, 0, n-1)
		for j := range ms {
			if j != a {
				cands = append(cands, j)
			}
		}
		slices.SortStableFunc(cands, func(x, y int) int {
			if hasWarmup && (x == w) != (y == w) {
				if x == w {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(lag(x, p), lag(y, p)); c != 0 {
				return c
			}
			return cmp.Compare(standbys[x], standbys[y])
		})
		cands = cands[:min(cfg.StandbyReplicas, len(cands))]
		for _, j := range cands {
			standbys[j]++
			g.Members[j].Standby = append(g.Members[j].Standby, p)
		}
		if hasWarmup {
			g.Members[w].Warmup = append(g.Members[w].Warmup, p)
		}
	}
	if !maps.Equal(active, target) { // warm-ups or moves held back
		g.ProbeAfter = cfg.ProbingInterval
	}
	return g
}
