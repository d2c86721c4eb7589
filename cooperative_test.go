package goka_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/web/router"
)

// scaleWorkload counts the messages of each key in the group table and
// records, for each partition, when and on which instance each message
// was processed, to measure the gaps a rebalance causes.
type scaleWorkload struct {
	group goka.Group
	input string

	mu       sync.Mutex
	last     map[int32]time.Time     // partition → last processed
	lastBy   map[int32]int           // partition → instance that processed it
	stayGap  time.Duration           // longest gap between two messages on one instance
	moveGap  time.Duration           // longest gap across a move to another instance
	stayBy   map[int32]time.Duration // per partition: stayGap
	moveBy   map[int32]time.Duration // per partition: moveGap
	moves    int
	baseGap  time.Duration // longest gap while nothing rebalances
	measured atomic.Bool   // gaps count only while the input flows
	baseline atomic.Bool   // gaps count as baseGap
}

func newScaleWorkload(group string) *scaleWorkload {
	return &scaleWorkload{group: goka.Group(group), input: group + "-in", last: map[int32]time.Time{}, lastBy: map[int32]int{},
		stayBy: map[int32]time.Duration{}, moveBy: map[int32]time.Duration{}}
}

func (w *scaleWorkload) graph(instance int) *goka.GroupGraph {
	return goka.DefineGroup(w.group,
		goka.Input(goka.Stream(w.input), new(codec.String), func(ctx goka.Context, msg interface{}) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
			w.processed(ctx.Partition(), instance)
		}),
		goka.Persist(new(codec.Int64)),
	)
}

func (w *scaleWorkload) processed(part int32, instance int) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if prev, ok := w.last[part]; ok && w.baseline.Load() {
		w.baseGap = max(w.baseGap, now.Sub(prev))
	}
	if prev, ok := w.last[part]; ok && w.measured.Load() {
		gap := now.Sub(prev)
		if w.lastBy[part] == instance {
			if gap > 90*time.Millisecond && debugSettle {
				fmt.Printf("GAP %s part %d inst %d gap %v\n", now.Format("15:04:05.000"), part, instance, gap)
			}
			w.stayGap = max(w.stayGap, gap)
			w.stayBy[part] = max(w.stayBy[part], gap)
		} else {
			w.moveGap = max(w.moveGap, gap)
			if debugSettle {
				fmt.Printf("MOVE %s part %d to inst %d gap %v\n", now.Format("15:04:05.000"), part, instance, gap)
			}
			w.moveBy[part] = max(w.moveBy[part], gap)
			w.moves++
		}
	}
	w.last[part], w.lastBy[part] = now, instance
}

// rebalances records the RebalanceInfo of one instance.
type rebalances struct {
	mu    sync.Mutex
	infos []goka.RebalanceInfo
}

func (r *rebalances) OnRebalance(i goka.RebalanceInfo) {
	if debugSettle {
		fmt.Printf("REB %s gen %d assigned %v added %v revoked %v took %v\n", time.Now().Format("15:04:05.000"), i.Generation, i.Assigned, i.Added, i.Revoked, i.Duration)
	}
	r.mu.Lock()
	r.infos = append(r.infos, i)
	r.mu.Unlock()
}

func (r *rebalances) list() []goka.RebalanceInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.infos)
}

// recoveries counts the recoveries of group-table partitions of one
// instance: one per partition start.
type recoveries struct{ n atomic.Int64 }

func (r *recoveries) OnFlush(goka.FlushInfo) {}
func (r *recoveries) OnRecovered(i goka.RecoveredInfo) {
	if i.Group != "" && !i.Standby {
		r.n.Add(1)
	}
}

type scaleInstance struct {
	p    *goka.Processor
	run  *runner
	reb  *rebalances
	recs *recoveries
}

// startScaleInstance runs a processor of graph with its storage in dir (a
// new temporary one if empty) and opts, recording its rebalances and
// group-table recoveries.
func startScaleInstance(t *testing.T, brokers []string, graph *goka.GroupGraph, dir string, opts ...goka.ProcessorOption) *scaleInstance {
	t.Helper()
	in := &scaleInstance{reb: new(rebalances), recs: new(recoveries)}
	p, err := goka.NewProcessor(brokers, graph, procOpts(t, dir, append(slices.Clone(opts), goka.WithObserver(in.reb, in.recs))...)...)
	require.NoError(t, err)
	in.p, in.run = p, run(t, p.Run)
	return in
}

// settled reports whether the running instances process parts partitions
// together, each exactly once, recovered, and evenly spread (at most one
// partition between the most and the least loaded instance), with no
// rebalance, incoming partition or warm-up pending.
func settled(insts []*scaleInstance, parts int) bool {
	ok := settledQuiet(insts, parts)
	if !ok && debugSettle {
		if f, err := os.Create("/tmp/goroutines.txt"); err == nil {
			_ = pprof.Lookup("goroutine").WriteTo(f, 2)
			f.Close()
		}
		for i, in := range insts {
			act, sb := splitPartitions(in.p.Stats())
			fmt.Printf("instance %d: recovered %v active %v standby %v state %v err %v\n", i, in.p.Recovered(), act, sb, in.p.StateReader().State(), in.p.Error())
		}
	}
	return ok
}

// debugSettle (DEBUG_SETTLE set) prints why a group does not settle, the
// rebalances and the gaps above 90 ms of the scale test, and goka's debug log.
var debugSettle = os.Getenv("DEBUG_SETTLE") != ""

// debugLogger logs to t with DEBUG_SETTLE set, and not at all otherwise.
func debugLogger(t *testing.T) goka.ProcessorOption {
	if debugSettle {
		goka.Debug(true, false)
		t.Cleanup(func() { goka.Debug(false, false) })
		return goka.WithLogger(tlog{t})
	}
	return goka.WithLogger(testLogger{})
}

func settledQuiet(insts []*scaleInstance, parts int) bool {
	seen := map[int32]int{}
	least, most := parts, 0
	for _, in := range insts {
		// One snapshot, and Recovered after it: a partition the snapshot
		// shows is still held then, so it ran recovered. Recovered first
		// would miss a partition acquired in between, whose recovery (and
		// its OnRecovered) is still to come.
		s := in.p.Stats()
		if !in.p.Recovered() {
			return false
		}
		// Nothing pending: no rebalance under way, no partition on its
		// way here, no warm-up whose probe would rebalance again.
		a := s.Assignment
		if a == nil || a.Rebalancing || len(a.Incoming) > 0 || len(a.Warmup) > 0 {
			return false
		}
		var active []int32
		for part, st := range s.Group {
			if !st.Standby {
				seen[part]++
				active = append(active, part)
			}
		}
		// Every assigned partition claimed: sarama starts the claims
		// after the rebalance ended.
		if !slices.Equal(slices.Sorted(slices.Values(active)), slices.Sorted(slices.Values(a.Active))) {
			return false
		}
		least, most = min(least, len(active)), max(most, len(active))
	}
	if most-least > 1 {
		return false
	}
	if len(seen) != parts {
		return false
	}
	for _, n := range seen {
		if n != 1 {
			return false
		}
	}
	return true
}

// TestCooperativeScale scales a processor group 1→2→3→2→1 under a steady
// input with each rebalance strategy: every message is counted, at least
// once (exactly once under ExactlyOnce); under the cooperative strategy
// the partitions an instance keeps are never stopped (recovered again).
// The gaps between two processed messages of a partition are logged: on
// one instance (partitions that stay) and across a move.
func TestCooperativeScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scales a group five times on the embedded broker")
	}
	const parts = 10
	if debugSettle {
		goka.Debug(true, false)
		defer goka.Debug(false, false)
	}
	for _, tt := range []struct {
		name string
		opts []goka.ProcessorOption
		coop bool
		eos  bool
	}{
		{name: "eager"},
		{name: "cooperative", opts: []goka.ProcessorOption{goka.WithCooperativeRebalance()}, coop: true},
		{name: "cooperative-eos", opts: []goka.ProcessorOption{goka.WithCooperativeRebalance(), goka.WithProcessingGuarantee(goka.ExactlyOnce)}, coop: true, eos: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newScaleWorkload("scale-" + tt.name)
			brokers := cluster(t, map[string]int{w.input: parts})

			var (
				sent   atomic.Int64
				perKey sync.Map // key → *atomic.Int64
			)
			emitCtx, stopEmit := context.WithCancel(context.Background())
			emitDone := make(chan struct{})
			e := emitter(t, brokers, w.input, new(codec.String))
			go func() {
				defer close(emitDone)
				tick := time.NewTicker(2 * time.Millisecond)
				defer tick.Stop()
				for i := 0; ; i++ {
					select {
					case <-emitCtx.Done():
						return
					case <-tick.C:
					}
					k := key(i % 200)
					c, _ := perKey.LoadOrStore(k, new(atomic.Int64))
					c.(*atomic.Int64).Add(1)
					sent.Add(1)
					if _, err := e.Emit(k, strconv.Itoa(i)); err != nil {
						t.Errorf("emit: %v", err)
						return
					}
				}
			}()
			defer func() { stopEmit(); <-emitDone }()

			var insts []*scaleInstance
			next := 0
			start := func() {
				next++
				opts := slices.Clone(tt.opts)
				if debugSettle {
					opts = append(opts, goka.WithLogger(tlog{t}))
				}
				insts = append(insts, startScaleInstance(t, brokers, w.graph(next), "", opts...))
			}
			var steps []string
			settle := func(step string) {
				began := time.Now()
				eventually(t, 60*time.Second, func() bool { return settled(insts, parts) }, "group did not settle after %s", step)
				steps = append(steps, fmt.Sprintf("%s %v", step, time.Since(began).Round(10*time.Millisecond)))
			}
			stopLast := func() *scaleInstance {
				in := insts[len(insts)-1]
				insts = insts[:len(insts)-1]
				require.NoError(t, in.run.stop(t))
				return in
			}

			start()
			settle("start")
			// The baseline: the longest gap of a partition under the same
			// input while nothing rebalances.
			time.Sleep(500 * time.Millisecond)
			w.baseline.Store(true)
			time.Sleep(3 * time.Second)
			w.baseline.Store(false)
			w.measured.Store(true)
			first := insts[0]
			for _, n := range []int{2, 3} {
				start()
				settle(fmt.Sprintf("scaling to %d", n))
				time.Sleep(300 * time.Millisecond) // some input between rebalances
			}
			for _, n := range []int{2, 1} {
				stopLast()
				settle(fmt.Sprintf("scaling to %d", n))
				time.Sleep(300 * time.Millisecond)
			}
			w.measured.Store(false)
			stopEmit()
			<-emitDone
			require.NoError(t, e.Finish())

			// Every message counted in the first instance's table, which
			// holds every partition again.
			var missing []string
			dups := int64(0)
			eventually(t, 60*time.Second, func() bool {
				missing, dups = nil, 0
				perKey.Range(func(k, v any) bool {
					val, err := first.p.Get(k.(string))
					if err != nil || val == nil || val.(int64) < v.(*atomic.Int64).Load() {
						missing = append(missing, k.(string))
					} else {
						dups += val.(int64) - v.(*atomic.Int64).Load()
					}
					return true
				})
				return len(missing) == 0
			}, "keys not fully counted: %v", missing)
			if tt.eos {
				require.Zero(t, dups, "counts above the messages sent under exactly-once")
			}

			var added, assigned int
			infos := first.reb.list()
			for _, i := range infos {
				added += len(i.Added)
				assigned += len(i.Assigned)
				require.Equal(t, tt.coop, i.Cooperative, "RebalanceInfo.Cooperative")
			}
			if tt.coop {
				// A partition starts, and is recovered, only when it is
				// added: the kept ones run through the rebalances.
				require.EqualValues(t, added, first.recs.n.Load(), "recoveries of the first instance vs partitions added to it: %+v", infos)
				require.Less(t, added, assigned, "every partition of the first instance was restarted: %+v", infos)
			} else {
				require.EqualValues(t, assigned, first.recs.n.Load(), "eager: every assigned partition is recovered")
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			a := first.p.Stats().Assignment
			require.NotNil(t, a, "Stats().Assignment")
			require.Equal(t, tt.coop, a.Cooperative, "AssignmentStats.Cooperative")
			require.Len(t, a.Active, parts, "AssignmentStats.Active of the only instance")
			require.Equal(t, infos[len(infos)-1].Generation, a.Generation, "AssignmentStats.Generation")
			t.Logf("%s: sent %d, counted above sent %d (%.2f%%); generations of the first instance %d, partitions started there %d of %d assigned; longest gap without a rebalance %v, on one instance through the rebalances %v, across a move %v (%d moves); settled: %v",
				tt.name, sent.Load(), dups, 100*float64(dups)/float64(sent.Load()), len(infos), first.recs.n.Load(), assigned,
				w.baseGap.Round(time.Millisecond), w.stayGap.Round(time.Millisecond), w.moveGap.Round(time.Millisecond), w.moves, steps)
			t.Logf("%s: per partition, longest gap on one instance %v, across a move %v", tt.name, gapList(w.stayBy, parts), gapList(w.moveBy, parts))
		})
	}
}

// gapList formats the gaps of partitions 0..parts-1 ("-": none).
func gapList(gaps map[int32]time.Duration, parts int) string {
	out := make([]string, parts)
	for i := range out {
		out[i] = "-"
		if g, ok := gaps[int32(i)]; ok {
			out[i] = g.Round(time.Millisecond).String()
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

// counted waits until p's table counts at least perKey[k] for every key,
// and returns how many counts are above.
func counted(t *testing.T, p *goka.Processor, perKey map[string]int) int64 {
	t.Helper()
	var missing []string
	var above int64
	eventually(t, 60*time.Second, func() bool {
		missing, above = nil, 0
		for k, n := range perKey {
			v, err := p.Get(k)
			if err != nil || v == nil || v.(int64) < int64(n) {
				missing = append(missing, k)
				continue
			}
			above += v.(int64) - int64(n)
		}
		return len(missing) == 0
	}, "keys not fully counted: %v", missing)
	return above
}

// TestCooperativeUpgrade moves a running group of two instances from
// eager to cooperative rebalancing by two rolling restarts, as Kafka
// documents: first every instance with WithCooperativeUpgrade, then every
// instance with WithCooperativeRebalance. Every message is counted after
// each restart, and the last generations are cooperative.
func TestCooperativeUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts instances four times on the embedded broker")
	}
	const parts = 6
	w := newScaleWorkload("upgrade")
	brokers := cluster(t, map[string]int{w.input: parts})
	dirs := []string{t.TempDir(), t.TempDir()}
	insts := make([]*scaleInstance, 2)
	start := func(i int, opts ...goka.ProcessorOption) {
		insts[i] = startScaleInstance(t, brokers, w.graph(i), dirs[i], opts...)
	}
	settle := func(step string) {
		eventually(t, 60*time.Second, func() bool { return settled(insts, parts) }, "group did not settle after %s", step)
	}
	perKey := map[string]int{}
	total := 0
	emit := func() {
		emitInputs(t, brokers, w.input, total, 300, 30, perKey)
		total += 300
	}
	start(0)
	start(1)
	settle("start")
	emit()
	steps := []struct {
		name string
		opts []goka.ProcessorOption
	}{
		{"upgrade", []goka.ProcessorOption{goka.WithCooperativeUpgrade()}},
		{"cooperative", []goka.ProcessorOption{goka.WithCooperativeRebalance()}},
	}
	for _, step := range steps {
		for i := range insts {
			require.NoError(t, insts[i].run.stop(t))
			start(i, step.opts...)
			settle(fmt.Sprintf("restarting instance %d with %s", i, step.name))
			emit()
			// One instance holds a key's partition: ask the one that does.
			for k, n := range perKey {
				owner := insts[0].p
				if _, err := owner.Get(k); err != nil {
					owner = insts[1].p
				}
				eventually(t, 30*time.Second, func() bool {
					v, err := owner.Get(k)
					return err == nil && v != nil && v.(int64) >= int64(n)
				}, "key %s not counted after restarting instance %d with %s", k, i, step.name)
			}
		}
	}
	for i, in := range insts {
		infos := in.reb.list()
		require.NotEmpty(t, infos)
		require.True(t, infos[len(infos)-1].Cooperative, "instance %d's last generation is not cooperative: %+v", i, infos)
	}
	// Scale back to one instance: it counts every message.
	require.NoError(t, insts[1].run.stop(t))
	insts = insts[:1]
	settle("scaling to 1")
	above := counted(t, insts[0].p, perKey)
	t.Logf("upgrade: %d messages, %d counted twice (restarts of at-least-once processors)", total, above)
}

// TestCooperativeKeyOwner runs three instances with query addresses and a
// web/router each: every instance names the same owner for every key, the
// owner is the instance that processes the key's partition, and every
// instance answers every key with its count (forwarding to the owner).
func TestCooperativeKeyOwner(t *testing.T) {
	const parts = 6
	if debugSettle {
		goka.Debug(true, false)
		defer goka.Debug(false, false)
	}
	w := newScaleWorkload("keyowner")
	brokers := cluster(t, map[string]int{w.input: parts})
	var insts []*scaleInstance
	var addrs []string
	for i := range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		p, err := goka.NewProcessor(brokers, w.graph(i), procOpts(t, "",
			goka.WithCooperativeRebalance(), goka.WithQueryAddress(addr), goka.WithStandbyReplicas(1))...)
		require.NoError(t, err)
		rt, err := router.New(router.Config{Self: addr, Locate: router.ProcessorLocator(p), Get: p.Get})
		require.NoError(t, err)
		srv := &http.Server{Handler: rt, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
		insts = append(insts, &scaleInstance{p: p, run: run(t, p.Run)})
		addrs = append(addrs, addr)
	}
	eventually(t, 60*time.Second, func() bool { return settled(insts, parts) }, "group did not settle")
	perKey := map[string]int{}
	emitInputs(t, brokers, w.input, 0, 600, 60, perKey)

	partOf := partitionsOf(t, brokers, w.input)
	for k, n := range perKey {
		var owners []goka.KeyOwner
		eventually(t, 30*time.Second, func() bool {
			owners = owners[:0]
			for _, in := range insts {
				o, err := in.p.KeyOwner(k)
				if err != nil {
					return false
				}
				o.Active.Self, o.Standbys = false, nil // compared below
				owners = append(owners, o)
			}
			return reflect.DeepEqual(owners[0], owners[1]) && reflect.DeepEqual(owners[1], owners[2]) && owners[0].Active.QueryAddress != ""
		}, "instances disagree on the owner of %s: %+v", k, owners)
		o := owners[0]
		require.Equal(t, partOf[k], o.Partition, "partition of %s", k)
		owner := insts[slices.Index(addrs, o.Active.QueryAddress)]
		_, active := owner.p.Stats().Group[o.Partition]
		require.True(t, active, "owner %s of %s does not hold partition %d", o.Active.QueryAddress, k, o.Partition)
		self, err := owner.p.KeyOwner(k)
		require.NoError(t, err)
		require.True(t, self.Active.Self, "owner's KeyOwner(%s).Active.Self", k)
		require.Len(t, self.Standbys, 1, "standbys of %s", k)
		require.NotEqual(t, self.Active.QueryAddress, self.Standbys[0].QueryAddress, "standby on the active member")

		for _, addr := range addrs {
			eventually(t, 30*time.Second, func() bool {
				resp, err := http.Get("http://" + addr + "/" + k)
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode == http.StatusOK && string(b) == strconv.Itoa(n) &&
					resp.Header.Get(router.HeaderServedBy) == o.Active.QueryAddress
			}, "instance %s does not answer %s = %d from its owner", addr, k, n)
		}
	}
}

// takeovers records the recoveries of group-table partitions.
type takeovers struct {
	mu    sync.Mutex
	infos []goka.RecoveredInfo
}

func (r *takeovers) OnFlush(goka.FlushInfo) {}
func (r *takeovers) OnRecovered(i goka.RecoveredInfo) {
	r.mu.Lock()
	r.infos = append(r.infos, i)
	r.mu.Unlock()
}

func (r *takeovers) since(n int) []goka.RecoveredInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.infos[n:])
}

func (r *takeovers) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.infos)
}

// TestCooperativeStandbyFailover stops one of three instances with
// WithStandbyReplicas(1) once every standby caught up: its partitions go
// to the members holding their standbys, which replay nothing, as far as
// the spread allows (a partition whose standby member is full goes to one
// without a copy, which replays its small table), and every message is
// counted. Without standbys the same partitions replay their whole table.
func TestCooperativeStandbyFailover(t *testing.T) {
	const parts = 6
	for _, tt := range []struct {
		name     string
		standbys int
	}{{"standby", 1}, {"none", 0}} {
		t.Run(tt.name, func(t *testing.T) {
			w := newScaleWorkload("failover-" + tt.name)
			brokers := cluster(t, map[string]int{w.input: parts})
			var insts []*scaleInstance
			var recs []*takeovers
			for i := range 3 {
				tk := new(takeovers)
				p, err := goka.NewProcessor(brokers, w.graph(i), procOpts(t, "",
					goka.WithCooperativeRebalance(), goka.WithStandbyReplicas(tt.standbys), goka.WithObserver(tk), debugLogger(t))...)
				require.NoError(t, err)
				insts = append(insts, &scaleInstance{p: p, run: run(t, p.Run)})
				recs = append(recs, tk)
			}
			eventually(t, 60*time.Second, func() bool { return settled(insts, parts) }, "group did not settle")
			perKey := map[string]int{}
			emitInputs(t, brokers, w.input, 0, 1200, 60, perKey)
			// Every standby caught up.
			eventually(t, 60*time.Second, func() bool {
				standbys := 0
				for _, in := range insts {
					for _, st := range in.p.Stats().Group {
						if st.Standby {
							if st.StandbyLag > 0 || !st.TableStats.Recovery.RecoveryTime.After(st.TableStats.Recovery.StartTime) {
								return false
							}
							standbys++
						}
					}
				}
				return standbys == parts*tt.standbys
			}, "standbys did not catch up")
			// Every instance, the one to stop too, counted its keys: their
			// table partitions hold the counts the takeover must recover.
			for _, in := range insts {
				counted(t, in.p, onlyHeld(in.p, perKey))
				assignmentAgrees(t, in.p.Stats())
			}

			gone := insts[2]
			var moved []int32
			for part, st := range gone.p.Stats().Group {
				if !st.Standby {
					moved = append(moved, part)
				}
			}
			before := []int{recs[0].len(), recs[1].len()}
			var kept [2][]int32 // the standbys of the members that stay
			for i := range kept {
				_, kept[i] = splitPartitions(insts[i].p.Stats())
			}
			require.NoError(t, gone.run.stop(t))
			insts = insts[:2]
			began := time.Now()
			eventually(t, 60*time.Second, func() bool { return settled(insts, parts) }, "group did not settle after the stop")
			took := time.Since(began)
			var replayed, fromStandby int64
			var taken, tookStandby []int32
			for i := range insts {
				for _, r := range recs[i].since(before[i]) {
					if slices.Contains(moved, r.Partition) && r.Table == string(w.group)+"-table" && !r.Standby {
						replayed += r.Records
						taken = append(taken, r.Partition)
						if slices.Contains(kept[i], r.Partition) {
							fromStandby += r.Records
							tookStandby = append(tookStandby, r.Partition)
						} else {
							// A member without a copy takes a partition at
							// once when its table is within the acceptable
							// lag, as in Kafka Streams, and replays it.
							require.LessOrEqual(t, r.Records, goka.DefaultAcceptableRecoveryLag, "records replayed by a member without a copy")
						}
					}
				}
			}
			slices.Sort(taken)
			// No count lost in the takeover: each key as counted before,
			// on whichever member holds it now.
			for i, in := range insts {
				if above := counted(t, in.p, onlyHeld(in.p, perKey)); above != 0 {
					t.Errorf("instance %d counts %d above the messages sent", i, above)
				}
			}
			require.Equal(t, slices.Sorted(slices.Values(moved)), slices.Compact(taken), "partitions taken over; recoveries since the stop: %+v / %+v", recs[0].since(before[0]), recs[1].since(before[1]))
			if tt.standbys > 0 {
				// Both moved partitions may have had their standby on the
				// same member, which takes one of them (the spread allows
				// no more).
				require.NotEmpty(t, tookStandby, "partitions taken over by their standbys' members")
				require.Zero(t, fromStandby, "records replayed by the members taking over from caught-up standbys")
			} else {
				require.Positive(t, replayed, "records replayed without standbys: %+v / %+v", recs[0].since(before[0]), recs[1].since(before[1]))
			}
			t.Logf("%s: partitions %v moved, %v taken over from standbys, %d records replayed, group settled %v after the stop", tt.name, moved, tookStandby, replayed, took.Round(10*time.Millisecond))
		})
	}
}

// splitPartitions returns the partitions s shows as active and as standby,
// sorted.
func splitPartitions(s *goka.ProcessorStats) (active, standby []int32) {
	for part, st := range s.Group {
		if st.Standby {
			standby = append(standby, part)
		} else {
			active = append(active, part)
		}
	}
	slices.Sort(active)
	slices.Sort(standby)
	return active, standby
}

// assignmentAgrees checks that the assignment in s, of a settled
// cooperative member, names the partitions s.Group shows: the active ones
// and those kept warm.
func assignmentAgrees(t *testing.T, s *goka.ProcessorStats) {
	t.Helper()
	a := s.Assignment
	require.NotNil(t, a, "Stats().Assignment of a member with an assignment")
	require.True(t, a.Cooperative)
	require.NotEmpty(t, a.MemberID)
	require.Positive(t, a.Generation)
	require.False(t, a.Rebalancing, "settled member rebalancing")
	require.Empty(t, a.Incoming, "settled member still expects partitions")
	active, warm := splitPartitions(s)
	require.Equal(t, active, a.Active, "active partitions")
	require.Equal(t, warm, slices.Compact(slices.Sorted(slices.Values(slices.Concat(a.Standby, a.Warmup)))), "standby and warm-up partitions")
}

// onlyHeld returns the keys of perKey whose partition p processes.
func onlyHeld(p *goka.Processor, perKey map[string]int) map[string]int {
	out := map[string]int{}
	for k, n := range perKey {
		if o, err := p.KeyOwner(k); err == nil && o.Active.Self {
			out[k] = n
		}
	}
	return out
}

// TestCooperativeWarmupByTableSize scales a group 1→2 after 600 messages:
// the first instance reports its table ends when it rejoins, so the
// newcomer, which holds no copy, is known to lag by the table's size. With
// Kafka Streams' default acceptable lag (10,000 records) its partitions
// move at once, with no warm-up; with an acceptable lag of 1 they warm up
// first, and the assignment carries the probing interval set.
func TestCooperativeWarmupByTableSize(t *testing.T) {
	const parts = 6
	for _, tt := range []struct {
		name   string
		opts   []goka.ProcessorOption
		warmup bool
	}{
		{"small tables move at once", nil, false},
		{"larger than the acceptable lag", []goka.ProcessorOption{goka.WithAcceptableRecoveryLag(1), goka.WithProbingRebalanceInterval(7 * time.Minute)}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newScaleWorkload("size-" + strings.ReplaceAll(tt.name, " ", "-"))
			brokers := cluster(t, map[string]int{w.input: parts})
			var insts []*scaleInstance
			start := func(i int) {
				insts = append(insts, startScaleInstance(t, brokers, w.graph(i), "",
					append([]goka.ProcessorOption{goka.WithCooperativeRebalance(), debugLogger(t)}, tt.opts...)...))
			}
			start(0)
			eventually(t, 60*time.Second, func() bool { return settled(insts, parts) }, "first instance did not settle")
			perKey := map[string]int{}
			emitInputs(t, brokers, w.input, 0, 600, 30, perKey)
			counted(t, insts[0].p, perKey)

			start(1)
			eventually(t, 120*time.Second, func() bool { return settled(insts, parts) }, "group did not settle after the join")
			var warmups []int32
			for _, in := range insts {
				for _, r := range in.reb.list() {
					warmups = append(warmups, r.Warmup...)
					if len(r.Warmup) > 0 {
						require.Equal(t, 7*time.Minute, r.ProbeAfter, "probing interval of an assignment with warm-ups")
					}
				}
			}
			if tt.warmup {
				require.NotEmpty(t, warmups, "warm-ups of tables above the acceptable lag")
			} else {
				require.Empty(t, warmups, "warm-ups of tables within the acceptable lag")
			}
			for i, in := range insts {
				if above := counted(t, in.p, onlyHeld(in.p, perKey)); above != 0 {
					t.Errorf("instance %d counts %d above the messages sent", i, above)
				}
				assignmentAgrees(t, in.p.Stats())
			}
		})
	}
}

func TestCooperativeOptions(t *testing.T) {
	stateless := goka.DefineGroup("g", goka.Input("in", new(codec.String), func(goka.Context, interface{}) {}))
	for _, tt := range []struct {
		name string
		opts []goka.ProcessorOption
		want string
	}{
		{"custom consumer group", []goka.ProcessorOption{goka.WithCooperativeRebalance(), goka.WithConsumerGroupBuilder(goka.DefaultConsumerGroupBuilder)}, "WithConsumerGroupBuilder"},
		{"upgrade with a custom consumer group", []goka.ProcessorOption{goka.WithConsumerGroupBuilder(goka.DefaultConsumerGroupBuilder), goka.WithCooperativeUpgrade()}, "WithConsumerGroupBuilder"},
		{"negative standbys", []goka.ProcessorOption{goka.WithCooperativeRebalance(), goka.WithStandbyReplicas(-1)}, "WithStandbyReplicas"},
		{"standbys without the cooperative strategy", []goka.ProcessorOption{goka.WithStandbyReplicas(1)}, "WithCooperativeRebalance"},
		{"zero lag", []goka.ProcessorOption{goka.WithCooperativeRebalance(), goka.WithAcceptableRecoveryLag(0)}, "WithAcceptableRecoveryLag"},
		{"no warm-ups", []goka.ProcessorOption{goka.WithCooperativeRebalance(), goka.WithMaxWarmupReplicas(0)}, "WithMaxWarmupReplicas"},
		{"no probing interval", []goka.ProcessorOption{goka.WithCooperativeRebalance(), goka.WithProbingRebalanceInterval(0)}, "WithProbingRebalanceInterval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := goka.NewProcessor([]string{"127.0.0.1:1"}, stateless, tt.opts...)
			require.ErrorContains(t, err, tt.want)
		})
	}
	for _, opts := range [][]goka.ProcessorOption{
		{goka.WithCooperativeRebalance()},
		{goka.WithCooperativeUpgrade(), goka.WithStandbyReplicas(2), goka.WithQueryAddress("h:1"), goka.WithAcceptableRecoveryLag(1), goka.WithMaxWarmupReplicas(1), goka.WithProbingRebalanceInterval(time.Minute)},
		{goka.WithCooperativeRebalance(), goka.WithProcessingGuarantee(goka.ExactlyOnce), goka.WithSaramaConfig(testConfig())},
	} {
		p, err := goka.NewProcessor([]string{"127.0.0.1:1"}, stateless, opts...)
		require.NoError(t, err)
		_, err = p.KeyOwner("k")
		require.ErrorIs(t, err, goka.ErrNoAssignment)
	}
	p, err := goka.NewProcessor([]string{"127.0.0.1:1"}, stateless)
	require.NoError(t, err)
	_, err = p.KeyOwner("k")
	require.ErrorIs(t, err, goka.ErrNotCooperative)
}
