package kafka

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// holder returns the member that is given p (Active or Incoming) in g.
func holders(g GroupAssignment, p int32) []string {
	var out []string
	for _, m := range g.Members {
		if slices.Contains(m.Active, p) || slices.Contains(m.Incoming, p) {
			out = append(out, m.MemberID)
		}
	}
	return out
}

func memberByID(ms []BalanceMember, id string) BalanceMember {
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	panic("no member " + id)
}

func lagOf(ms []BalanceMember, m BalanceMember, p int32) int64 {
	if slices.Contains(m.Owned, p) {
		return 0
	}
	if l, ok := m.State.Lag(p); ok {
		return l
	}
	// without a copy: the highest end any member reported
	end, known := int64(0), false
	for _, o := range ms {
		for _, e := range o.State.Ends {
			if e.Partition == p {
				end, known = max(end, e.End), true
			}
		}
	}
	if known {
		return end
	}
	return noCopy
}

// refOwner is the reference model's current owner: the claimer of p with
// the highest generation, else the eager member listing p as active with
// the highest generation; ties to the smaller ID.
func refOwner(ms []BalanceMember, p int32) (string, bool) {
	var (
		best     string
		bestPrio = 0
		bestGen  int32
	)
	for _, m := range slices.SortedFunc(slices.Values(ms), func(a, b BalanceMember) int { return compareStr(a.ID, b.ID) }) {
		prio, gen := 0, int32(0)
		switch {
		case slices.Contains(m.Owned, p):
			prio, gen = 2, m.OwnedGeneration
		case !m.State.Cooperative && slices.Contains(m.State.Active, p):
			prio, gen = 1, m.State.Generation
		}
		if prio > bestPrio || (prio == bestPrio && prio > 0 && gen > bestGen) {
			best, bestPrio, bestGen = m.ID, prio, gen
		}
	}
	return best, bestPrio > 0
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// minMoves is the reference for stickiness: by brute force over every
// balanced placement, the fewest partitions that leave a current owner.
func minMoves(parts []int32, ms []BalanceMember) int {
	n := len(ms)
	owners := make([]int, len(parts))
	for i, p := range parts {
		owners[i] = -1
		if o, ok := refOwner(ms, p); ok {
			for j, m := range ms {
				if m.ID == o {
					owners[i] = j
				}
			}
		}
	}
	best := len(parts) + 1
	assign := make([]int, len(parts))
	var rec func(i int)
	rec = func(i int) {
		if i == len(parts) {
			counts := make([]int, n)
			moves := 0
			for k, j := range assign {
				counts[j]++
				if owners[k] >= 0 && owners[k] != j {
					moves++
				}
			}
			if slices.Max(counts)-slices.Min(counts) <= 1 {
				best = min(best, moves)
			}
			return
		}
		for j := range n {
			assign[i] = j
			rec(i + 1)
		}
	}
	rec(0)
	return best
}

// checkInvariants checks what must hold of every plan.
func checkInvariants(t *testing.T, parts []int32, ms []BalanceMember, cfg CooperativeConfig, g GroupAssignment) {
	t.Helper()
	cfg.applyDefaults()
	if len(g.Members) != len(ms) {
		t.Fatalf("%d members in the assignment, want %d", len(g.Members), len(ms))
	}
	for i := 1; i < len(g.Members); i++ {
		if g.Members[i-1].MemberID >= g.Members[i].MemberID {
			t.Fatalf("members not sorted: %v", g.Members)
		}
	}
	warmups := 0
	for _, m := range g.Members {
		for _, l := range [][]int32{m.Active, m.Incoming, m.Standby, m.Warmup} {
			if len(slices.Compact(slices.Clone(l))) != len(l) {
				t.Fatalf("member %s has a duplicate in %v", m.MemberID, l)
			}
		}
		warmups += len(m.Warmup)
	}
	if warmups > cfg.MaxWarmups {
		t.Fatalf("%d warm-ups, more than %d", warmups, cfg.MaxWarmups)
	}
	if warmups > 0 && g.ProbeAfter == 0 {
		t.Fatalf("warm-ups pending without a probing rebalance")
	}
	for _, p := range parts {
		// no partition lost, never two owners
		h := holders(g, p)
		if len(h) != 1 {
			t.Fatalf("partition %d given to %v, want exactly one member", p, h)
		}
		a := memberByID(ms, h[0])
		ma, _ := g.Member(a.ID)
		// two-phase revoke: Active only if nobody else claims it now
		otherClaims := false
		for _, m := range ms {
			if m.ID != a.ID && slices.Contains(m.Owned, p) {
				otherClaims = true
			}
		}
		wantIncoming := otherClaims && !slices.Contains(a.Owned, p)
		if got := slices.Contains(ma.Incoming, p); got != wantIncoming {
			t.Fatalf("partition %d: incoming at %s = %v, want %v (claimed elsewhere %v)", p, a.ID, got, wantIncoming, otherClaims)
		}
		// warm-up: never moved from a live owner to a lagging member
		owner, owned := refOwner(ms, p)
		if owned && owner != a.ID && lagOf(ms, a, p) > cfg.AcceptableLag {
			t.Fatalf("partition %d moved from %s to %s, lagging %d > %d", p, owner, a.ID, lagOf(ms, a, p), cfg.AcceptableLag)
		}
		// crash: an orphan goes to a caught-up member or the freshest one
		if !owned && lagOf(ms, a, p) > cfg.AcceptableLag {
			for _, m := range ms {
				if lagOf(ms, m, p) < lagOf(ms, a, p) {
					t.Fatalf("orphan %d went to %s (lag %d), %s is fresher (%d)", p, a.ID, lagOf(ms, a, p), m.ID, lagOf(ms, m, p))
				}
			}
		}
		// standbys: min(n, N-1) distinct members, never the active one
		sb, wu := 0, 0
		for _, m := range g.Members {
			if slices.Contains(m.Standby, p) {
				sb++
				if m.MemberID == a.ID {
					t.Fatalf("standby of %d on its active member %s", p, a.ID)
				}
			}
			if slices.Contains(m.Warmup, p) {
				wu++
				if m.MemberID == a.ID {
					t.Fatalf("warm-up of %d on its active member %s", p, a.ID)
				}
			}
		}
		if want := min(cfg.StandbyReplicas, len(ms)-1); sb != want {
			t.Fatalf("partition %d has %d standbys, want %d", p, sb, want)
		}
		if wu > 1 {
			t.Fatalf("partition %d has %d warm-ups", p, wu)
		}
	}
}

func counts(g GroupAssignment) []int {
	var c []int
	for _, m := range g.Members {
		c = append(c, len(m.Active)+len(m.Incoming))
	}
	return c
}

func parts(n int) []int32 {
	ps := make([]int32, n)
	for i := range ps {
		ps[i] = int32(i)
	}
	return ps
}

func TestBalanceExamples(t *testing.T) {
	cfg := CooperativeConfig{StandbyReplicas: 1}
	coop := func(id string, owned ...int32) BalanceMember {
		return BalanceMember{ID: id, Owned: owned, OwnedGeneration: 5, State: MemberState{Cooperative: true, Generation: 5}}
	}
	withCopies := func(m BalanceMember, lag int64, ps ...int32) BalanceMember {
		for _, p := range ps {
			m.State.Copies = append(m.State.Copies, PartitionLag{p, lag})
		}
		return m
	}
	withEnds := func(m BalanceMember, end int64, ps ...int32) BalanceMember {
		for _, p := range ps {
			m.State.Ends = append(m.State.Ends, PartitionEnd{p, end})
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		members []BalanceMember
		active  map[string][]int32
		inc     map[string][]int32
		warmup  map[string][]int32
		probe   bool
	}{
		{
			name:    "first join: round robin in ID order, no movement to wait for",
			members: []BalanceMember{coop("a"), coop("b")},
			active:  map[string][]int32{"a": {0, 2, 4}, "b": {1, 3, 5}},
		},
		{
			name:    "stable group keeps everything",
			members: []BalanceMember{coop("a", 0, 2, 4), coop("b", 1, 3, 5)},
			active:  map[string][]int32{"a": {0, 2, 4}, "b": {1, 3, 5}},
		},
		{
			name:    "a caught-up newcomer: two partitions withheld for the second phase",
			members: []BalanceMember{coop("a", 0, 1, 2), coop("b", 3, 4, 5), withCopies(coop("c"), 0, 0, 1, 2, 3, 4, 5)},
			active:  map[string][]int32{"a": {0, 1}, "b": {3, 4}},
			inc:     map[string][]int32{"c": {2, 5}},
		},
		{
			name:    "a lagging newcomer warms up; nothing moves yet",
			members: []BalanceMember{coop("a", 0, 1, 2), coop("b", 3, 4, 5), coop("c")},
			active:  map[string][]int32{"a": {0, 1, 2}, "b": {3, 4, 5}},
			warmup:  map[string][]int32{"c": {2, 5}},
			probe:   true,
		},
		{
			name:    "second phase: the revoked partitions arrive",
			members: []BalanceMember{coop("a", 0, 1), coop("b", 3, 4), withCopies(coop("c"), 0, 2, 5)},
			active:  map[string][]int32{"a": {0, 1}, "b": {3, 4}, "c": {2, 5}},
		},
		{
			name:    "a newcomer without copies of small tables: two partitions withheld, no warm-up",
			members: []BalanceMember{withEnds(coop("a", 0, 1, 2), 500, 0, 1, 2), withEnds(coop("b", 3, 4, 5), 10000, 3, 4, 5), coop("c")},
			active:  map[string][]int32{"a": {0, 1}, "b": {3, 4}},
			inc:     map[string][]int32{"c": {2, 5}},
		},
		{
			name:    "a newcomer without copies: the small table moves, the large one warms up",
			members: []BalanceMember{withEnds(coop("a", 0, 1, 2), 500, 0, 1, 2), withEnds(coop("b", 3, 4, 5), 10001, 3, 4, 5), coop("c")},
			active:  map[string][]int32{"a": {0, 1}, "b": {3, 4, 5}},
			inc:     map[string][]int32{"c": {2}},
			warmup:  map[string][]int32{"c": {5}},
			probe:   true,
		},
		{
			name: "crash: a small orphan goes to the member below quota at once, not to a stale copy",
			members: []BalanceMember{
				withCopies(withEnds(coop("a", 0, 1, 2), 900, 3), 300, 3),
				coop("b", 4, 5),
			},
			active: map[string][]int32{"a": {0, 1, 2}, "b": {3, 4, 5}},
		},
		{
			name: "crash: the orphans go to the freshest standbys",
			members: []BalanceMember{
				withCopies(withCopies(coop("a", 0, 1), 50000, 2), 20000, 3),
				withCopies(withCopies(coop("b", 4, 5), 20000, 2), 50000, 3),
			},
			active: map[string][]int32{"a": {0, 1, 3}, "b": {2, 4, 5}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Balance(parts(6), tc.members, cfg)
			checkInvariants(t, parts(6), tc.members, cfg, g)
			for _, m := range g.Members {
				if !slices.Equal(m.Active, tc.active[m.MemberID]) {
					t.Errorf("%s active %v, want %v", m.MemberID, m.Active, tc.active[m.MemberID])
				}
				if !slices.Equal(m.Incoming, tc.inc[m.MemberID]) {
					t.Errorf("%s incoming %v, want %v", m.MemberID, m.Incoming, tc.inc[m.MemberID])
				}
				if !slices.Equal(m.Warmup, tc.warmup[m.MemberID]) {
					t.Errorf("%s warm-up %v, want %v", m.MemberID, m.Warmup, tc.warmup[m.MemberID])
				}
			}
			if (g.ProbeAfter != 0) != tc.probe {
				t.Errorf("probe after %v, want probe %v", g.ProbeAfter, tc.probe)
			}
		})
	}
}

// randomMembers builds a group with random claims (some stale, some
// conflicting), eager and cooperative members and random copies.
func randomMembers(r *rand.Rand, np int) []BalanceMember {
	n := 1 + r.IntN(4)
	ms := make([]BalanceMember, n)
	for i := range ms {
		ms[i] = BalanceMember{ID: fmt.Sprintf("m%d", i), OwnedGeneration: int32(r.IntN(3)),
			State: MemberState{Cooperative: r.IntN(4) != 0, Generation: int32(r.IntN(3))}}
	}
	for p := range int32(np) {
		switch r.IntN(5) {
		case 0: // orphan
		case 1: // two claimers, from different generations
			a, b := r.IntN(n), r.IntN(n)
			ms[a].Owned = append(ms[a].Owned, p)
			if b != a {
				ms[b].Owned = append(ms[b].Owned, p)
			}
		default:
			m := &ms[r.IntN(n)]
			if m.State.Cooperative {
				m.Owned = append(m.Owned, p)
			} else {
				m.State.Active = append(m.State.Active, p)
			}
		}
		for i := range ms {
			if r.IntN(3) == 0 {
				ms[i].State.Copies = append(ms[i].State.Copies, PartitionLag{p, []int64{0, 5000, 10000, 10001, 40000}[r.IntN(5)]})
			}
			if r.IntN(4) == 0 {
				ms[i].State.Ends = append(ms[i].State.Ends, PartitionEnd{p, []int64{0, 3000, 10000, 10001, 60000}[r.IntN(5)]})
			}
		}
	}
	return ms
}

func TestBalanceProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		np := 1 + r.IntN(7)
		ms := randomMembers(r, np)
		cfg := CooperativeConfig{StandbyReplicas: r.IntN(3), MaxWarmups: 1 + r.IntN(3)}
		g := Balance(parts(np), ms, cfg)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkInvariants(t, parts(np), ms, cfg, g)
			// deterministic: every leader computes the same plan, whatever
			// the order it sees members in
			shuffled := slices.Clone(ms)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if g2 := Balance(parts(np), shuffled, cfg); !reflect.DeepEqual(g, g2) {
				t.Fatalf("plan depends on member order:\n%v\n%v", g, g2)
			}
			// with every copy caught up: balanced and minimal movement
			caught := slices.Clone(ms)
			for k := range caught {
				caught[k].State.Copies = nil
				for p := range int32(np) {
					caught[k].State.Copies = append(caught[k].State.Copies, PartitionLag{p, 0})
				}
			}
			g = Balance(parts(np), caught, cfg)
			checkInvariants(t, parts(np), caught, cfg, g)
			c := counts(g)
			if slices.Max(c)-slices.Min(c) > 1 {
				t.Fatalf("unbalanced %v", c)
			}
			moves := 0
			for p := range int32(np) {
				if o, ok := refOwner(caught, p); ok && holders(g, p)[0] != o {
					moves++
				}
			}
			if want := minMoves(parts(np), caught); moves != want {
				t.Fatalf("%d partitions moved, the reference needs %d; members %+v, plan %+v", moves, want, caught, g)
			}
			if g.ProbeAfter != 0 {
				t.Fatalf("probe requested with every copy caught up")
			}
		})
	}
}

// simMember is a member of the simulated group: what it owns, the copies it
// keeps and their lags.
type simMember struct {
	id          string
	cooperative bool
	owned       []int32 // claims now (cooperative)
	active      []int32 // last assignment's active partitions (eager report)
	gen         int32
	copies      map[int32]int64
}

func (m *simMember) balanceMember() BalanceMember {
	b := BalanceMember{ID: m.id, OwnedGeneration: -1, State: MemberState{Cooperative: m.cooperative, Generation: m.gen}}
	if m.cooperative {
		b.Owned = slices.Clone(m.owned)
		b.OwnedGeneration = m.gen
	} else {
		b.State.Active = slices.Clone(m.active)
	}
	for _, p := range slices.Sorted(func(yield func(int32) bool) {
		for p := range m.copies {
			if !yield(p) {
				return
			}
		}
	}) {
		b.State.Copies = append(b.State.Copies, PartitionLag{p, m.copies[p]})
	}
	return b
}

// TestBalanceHistories runs random membership histories (joins, crashes,
// graceful leaves, catch-ups) through the rebalance protocol as sarama runs
// it: every member applies its assignment, a member that revoked something
// rejoins at once (the follow-up of KIP-429), a warm-up that caught up asks
// for a probing rebalance. After every event the group must settle without
// ever giving a partition to two members, and once everybody caught up, be
// balanced with no warm-ups left.
func TestBalanceHistories(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for h := range 300 {
		np := 2 + r.IntN(10)
		cfg := CooperativeConfig{StandbyReplicas: r.IntN(2), AcceptableLag: 100}
		var group []*simMember
		next := 0
		gen := int32(0)
		rebalance := func() GroupAssignment {
			gen++
			in := make([]BalanceMember, len(group))
			for i, m := range group {
				in[i] = m.balanceMember()
			}
			g := Balance(parts(np), in, cfg)
			checkInvariants(t, parts(np), in, cfg, g)
			// apply
			for _, m := range group {
				ma, _ := g.Member(m.id)
				for _, p := range m.owned {
					if !slices.Contains(ma.Active, p) {
						m.copies[p] = 0 // revoked: the table stays on disk
					}
				}
				m.owned, m.active, m.gen = slices.Clone(ma.Active), slices.Clone(ma.Active), gen
				for _, p := range ma.Active {
					delete(m.copies, p)
				}
				for _, p := range slices.Concat(ma.Standby, ma.Warmup) {
					if _, ok := m.copies[p]; !ok {
						m.copies[p] = 1000 // a new copy starts behind
					}
				}
			}
			return g
		}
		settle := func() GroupAssignment {
			var g GroupAssignment
			for range 20 {
				g = rebalance()
				pending := false
				for _, m := range g.Members {
					if len(m.Incoming) > 0 {
						pending = true
					}
				}
				if !pending {
					return g
				}
			}
			t.Fatalf("history %d: no settled plan after 20 rebalances: %+v", h, g)
			return g
		}
		for range 12 {
			switch ev := r.IntN(4); {
			case ev == 0 || len(group) == 0: // join, eager or cooperative (mixed group during a migration)
				group = append(group, &simMember{id: fmt.Sprintf("m%02d", next), cooperative: r.IntN(3) != 0, copies: map[int32]int64{}})
				next++
			case ev == 1: // crash
				i := r.IntN(len(group))
				group = slices.Delete(group, i, i+1)
				if len(group) == 0 {
					continue
				}
			case ev == 2: // warm-ups and standbys catch up
				for _, m := range group {
					for p := range m.copies {
						m.copies[p] = 0
					}
				}
			default: // a restart: the same member rejoins as eager or cooperative
				m := group[r.IntN(len(group))]
				m.cooperative = r.IntN(2) == 0
			}
			g := settle()
			// catch up and probe until the plan is final
			for range 20 {
				if g.ProbeAfter == 0 {
					break
				}
				for _, m := range group {
					for p := range m.copies {
						m.copies[p] = 0
					}
				}
				g = settle()
			}
			if g.ProbeAfter != 0 {
				t.Fatalf("history %d: warm-ups never finish: %+v", h, g)
			}
			c := counts(g)
			if slices.Max(c)-slices.Min(c) > 1 {
				t.Fatalf("history %d: unbalanced after settling: %v", h, c)
			}
			// a settled group is a fixed point: nothing moves
			if g2 := rebalance(); !reflect.DeepEqual(activeSets(g), activeSets(g2)) {
				t.Fatalf("history %d: settled plan moves on: %v then %v", h, activeSets(g), activeSets(g2))
			}
		}
	}
}

func activeSets(g GroupAssignment) map[string][]int32 {
	out := map[string][]int32{}
	for _, m := range g.Members {
		out[m.MemberID] = m.Active
	}
	return out
}

// TestCooperativeStrategyPlan runs the sarama-facing strategy: metadata in,
// copartitioned plan out, the assignment data of every member (also of one
// without partitions) decodes to the plan, and OnAssignment hands it on.
func TestCooperativeStrategyPlan(t *testing.T) {
	var got GroupAssignment
	s, err := NewCooperativeStrategy(CooperativeConfig{
		StandbyReplicas: 1,
		State:           func() MemberState { return MemberState{QueryAddress: "me:1", Cooperative: true, Generation: 3} },
		OnAssignment:    func(g GroupAssignment) { got = g },
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != CooperativeStrategyName || !slices.Contains(s.SupportedProtocols(), sarama.RebalanceProtocolCooperative) {
		t.Fatalf("name %q protocols %v", s.Name(), s.SupportedProtocols())
	}
	ud, err := s.SubscriptionUserData([]string{"in"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := DecodeMemberState(ud); err != nil || st.QueryAddress != "me:1" || !st.Cooperative {
		t.Fatalf("subscription user data %+v, %v", st, err)
	}
	topics := map[string][]int32{"in": parts(4), "g-loop": parts(4), "g-table": parts(4)}
	enc := func(addr string) []byte {
		return EncodeMemberState(MemberState{QueryAddress: addr, Cooperative: true, Generation: -1})
	}
	members := map[string]sarama.ConsumerGroupMemberMetadata{
		"a": {Topics: []string{"in", "g-loop"}, UserData: enc("a:1"), GenerationID: 7,
			OwnedPartitions: []*sarama.OwnedPartition{{Topic: "in", Partitions: []int32{0, 1, 2}}, {Topic: "g-loop", Partitions: []int32{0, 1, 2}}}},
		"b": {Topics: []string{"in", "g-loop"}, UserData: enc("b:1"), GenerationID: 7,
			OwnedPartitions: []*sarama.OwnedPartition{{Topic: "in", Partitions: []int32{3}}, {Topic: "g-loop", Partitions: []int32{3}}}},
		"c": {Topics: []string{"in", "g-loop"}, UserData: []byte("garbage")},
	}
	plan, err := s.Plan(members, topics)
	if err != nil {
		t.Fatal(err)
	}
	for id, byTopic := range plan {
		if !slices.Equal(byTopic["in"], byTopic["g-loop"]) || len(byTopic["g-table"]) != 0 {
			t.Fatalf("member %s: not copartitioned over its subscription: %v", id, byTopic)
		}
	}
	if len(plan) != 3 {
		t.Fatalf("plan leaves out a member: %v", plan)
	}
	for id := range members {
		data, err := s.AssignmentData(id, plan[id], 8)
		if err != nil {
			t.Fatal(err)
		}
		s.OnAssignment(&sarama.ConsumerGroupMemberAssignment{Topics: plan[id], UserData: data}, 8)
		if got.Self != id || got.Generation != 8 {
			t.Fatalf("assignment for %s: self %q generation %d", id, got.Self, got.Generation)
		}
		me, ok := got.Member(id)
		if !ok || !slices.Equal(me.Active, plan[id]["in"]) {
			t.Fatalf("member %s: assignment %+v, plan %v", id, me, plan[id])
		}
	}
	if a, _ := got.Member("a"); a.QueryAddress != "a:1" {
		t.Fatalf("query address %q", a.QueryAddress)
	}

	// A probe (a member joining only to start a rebalance) gets nothing
	// and changes nothing.
	members["probe"] = sarama.ConsumerGroupMemberMetadata{Topics: []string{"in", "g-loop"},
		UserData: EncodeMemberState(MemberState{Probe: true, Cooperative: true, Generation: -1})}
	withProbe, err := s.Plan(members, topics)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := withProbe["probe"]; !ok || len(withProbe["probe"]["in"]) != 0 {
		t.Fatalf("probe's plan %v", withProbe["probe"])
	}
	for id := range plan {
		if !maps.EqualFunc(plan[id], withProbe[id], slices.Equal) {
			t.Fatalf("a probe changed member %s's plan: %v, was %v", id, withProbe[id], plan[id])
		}
	}
	delete(members, "probe")

	members["b"] = sarama.ConsumerGroupMemberMetadata{Topics: []string{"in", "g-table"}}
	if _, err := s.Plan(members, map[string][]int32{"in": parts(4), "other": parts(3)}); err == nil {
		t.Fatal("no error for topics that are not copartitioned")
	}
	strict, _ := NewCooperativeStrategy(CooperativeConfig{Strict: true})
	if _, err := strict.Plan(members, topics); err == nil {
		t.Fatal("strict: no error for different subscriptions")
	}
}

func TestCooperativeConfigValidate(t *testing.T) {
	_, err := NewCooperativeStrategy(CooperativeConfig{StandbyReplicas: -1, ProbingInterval: -time.Second})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"StandbyReplicas -1", "ProbingInterval -1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}
