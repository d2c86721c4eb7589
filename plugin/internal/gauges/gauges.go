// Package gauges turns the statistics of processors and views into the
// gauge samples that plugin/prometheus and plugin/otel expose, so that both
// read Stats the same way. It belongs to the root module and is internal
// to the plugins.
package gauges

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/e3793d55/goka"
)

// Kind names a gauge; each plugin maps it to its ecosystem's name.
type Kind int

// The gauges, with their labels.
const (
	// ConsumerLagMessages is an input partition's lag in messages
	// (Group, Topic, Partition).
	ConsumerLagMessages Kind = iota
	// ConsumerLagSeconds is the age of the last processed message of an
	// input partition when it was processed (Group, Topic, Partition).
	ConsumerLagSeconds
	// AssignedPartitions counts a group's active partitions (Group).
	AssignedPartitions
	// StandbyPartitions counts a group's hot-standby partitions (Group).
	StandbyPartitions
	// ProcessorState is 1 for a group's current state, 0 for the others
	// (Group, State).
	ProcessorState
	// ViewState is 1 for a view's current state, 0 for the others (Table,
	// State).
	ViewState
	// BrokersUnreachable is 1 during an outage of all brokers of a
	// processor (Group) or view (Table).
	BrokersUnreachable
	// TablePartitionState is a table partition's goka.PartitionStatus
	// (Group, Table, Partition): 0 stopped, 1 initializing, 2 connecting,
	// 3 recovering, 4 preparing, 5 running.
	TablePartitionState
	// RecoveryRecordsDone and RecoveryRecordsRemaining count the records
	// of a table partition's recovery (Group, Table, Partition).
	RecoveryRecordsDone
	RecoveryRecordsRemaining
	// RecoveryRemainingSeconds estimates the time a recovery still takes;
	// absent while it cannot be estimated (Group, Table, Partition).
	RecoveryRemainingSeconds
	numKinds
)

// Kinds lists every kind.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// Labels of a sample; unused ones are empty.
type Labels struct {
	Group, Topic, Table, Partition, State string
}

// Sample is one gauge value.
type Sample struct {
	Kind   Kind
	Labels Labels
	Value  float64
}

// ProcessorStates are the names of the processor states, by goka.State.
var ProcessorStates = []string{"idle", "starting", "setup", "running", "stopping", "stopped"}

// ViewStates are the names of the view states, by goka.ViewState.
var ViewStates = []string{"idle", "initializing", "connecting", "catchup", "running"}

func part(p int32) string { return strconv.Itoa(int(p)) }

// Processor returns the samples of p at now.
func Processor(p *goka.Processor, now time.Time) []Sample {
	group := string(p.Graph().Group())
	st := p.Stats()
	var out []Sample
	add := func(k Kind, l Labels, v float64) { out = append(out, Sample{Kind: k, Labels: l, Value: v}) }
	assigned, standby := 0, 0
	for partition, ps := range st.Group {
		if ps.TableStats != nil && ps.TableStats.RunMode != 0 {
			standby++
		} else {
			assigned++
		}
		for topic, in := range ps.Input {
			l := Labels{Group: group, Topic: topic, Partition: part(partition)}
			add(ConsumerLagMessages, l, float64(max(in.OffsetLag, 0)))
			add(ConsumerLagSeconds, l, in.Delay.Seconds())
		}
		if ps.TableStats != nil {
			out = appendTable(out, group, p.Graph().GroupTable().Topic(), partition, ps.TableStats, now)
		}
		for table, ts := range ps.Joined {
			out = appendTable(out, group, table, partition, ts, now)
		}
	}
	add(AssignedPartitions, Labels{Group: group}, float64(assigned))
	add(StandbyPartitions, Labels{Group: group}, float64(standby))
	state := int(p.StateReader().State())
	for i, name := range ProcessorStates {
		add(ProcessorState, Labels{Group: group, State: name}, b2f(i == state))
	}
	add(BrokersUnreachable, Labels{Group: group}, b2f(!st.Brokers.UnreachableSince.IsZero()))
	return out
}

// View returns the samples of v at now.
func View(v *goka.View, now time.Time) []Sample {
	table := v.Topic()
	st := v.Stats(context.Background())
	var out []Sample
	for partition, ts := range st.Partitions {
		out = appendTable(out, "", table, partition, ts, now)
	}
	state := int(v.CurrentState())
	for i, name := range ViewStates {
		out = append(out, Sample{Kind: ViewState, Labels: Labels{Table: table, State: name}, Value: b2f(i == state)})
	}
	out = append(out, Sample{Kind: BrokersUnreachable, Labels: Labels{Table: table}, Value: b2f(!st.Brokers.UnreachableSince.IsZero())})
	return out
}

func appendTable(out []Sample, group, table string, partition int32, ts *goka.TableStats, now time.Time) []Sample {
	l := Labels{Group: group, Table: table, Partition: part(partition)}
	out = append(out, Sample{Kind: TablePartitionState, Labels: l, Value: float64(ts.Status)})
	if ts.Recovery == nil {
		return out
	}
	pr := ts.Recovery.Progress(now, ts.Status == goka.PartitionRunning)
	out = append(out,
		Sample{Kind: RecoveryRecordsDone, Labels: l, Value: float64(pr.Done)},
		Sample{Kind: RecoveryRecordsRemaining, Labels: l, Value: float64(pr.Remaining)})
	if pr.ETA >= 0 {
		out = append(out, Sample{Kind: RecoveryRemainingSeconds, Labels: l, Value: pr.ETA.Seconds()})
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Merge merges samples with the same kind and labels, which several
// processors of one group (or views of one table) in one program yield:
// partition counts add up, states and unreachability hold if they hold for
// any, and lag and recovery take the largest value. The result is sorted.
func Merge(samples []Sample) []Sample {
	type key struct {
		k Kind
		l Labels
	}
	idx := make(map[key]int, len(samples))
	out := make([]Sample, 0, len(samples))
	for _, s := range samples {
		i, ok := idx[key{s.Kind, s.Labels}]
		if !ok {
			idx[key{s.Kind, s.Labels}] = len(out)
			out = append(out, s)
			continue
		}
		switch s.Kind {
		case AssignedPartitions, StandbyPartitions:
			out[i].Value += s.Value
		default:
			out[i].Value = max(out[i].Value, s.Value)
		}
	}
	slices.SortFunc(out, func(a, b Sample) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		for _, c := range [][2]string{{a.Labels.Group, b.Labels.Group}, {a.Labels.Table, b.Labels.Table}, {a.Labels.Topic, b.Labels.Topic}, {a.Labels.Partition, b.Labels.Partition}, {a.Labels.State, b.Labels.State}} {
			if c[0] != c[1] {
				if c[0] < c[1] {
					return -1
				}
				return 1
			}
		}
		return 0
	})
	return out
}

// Sources are the running processors and views of one plugin instance: it
// implements goka.ProcessorRunObserver and goka.ViewRunObserver, and
// Samples reads their statistics.
type Sources struct {
	mu    sync.Mutex
	procs map[*goka.Processor]struct{}
	views map[*goka.View]struct{}
}

// OnProcessorRun adds p.
func (s *Sources) OnProcessorRun(p *goka.Processor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs == nil {
		s.procs = map[*goka.Processor]struct{}{}
	}
	s.procs[p] = struct{}{}
}

// OnProcessorStop removes p.
func (s *Sources) OnProcessorStop(p *goka.Processor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.procs, p)
}

// OnViewRun adds v.
func (s *Sources) OnViewRun(v *goka.View) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.views == nil {
		s.views = map[*goka.View]struct{}{}
	}
	s.views[v] = struct{}{}
}

// OnViewStop removes v.
func (s *Sources) OnViewStop(v *goka.View) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.views, v)
}

// Samples returns the merged samples of every source at now. The sources
// are read with s.mu released: Stats takes the components' locks.
func (s *Sources) Samples(now time.Time) []Sample {
	s.mu.Lock()
	procs := make([]*goka.Processor, 0, len(s.procs))
	for p := range s.procs {
		procs = append(procs, p)
	}
	views := make([]*goka.View, 0, len(s.views))
	for v := range s.views {
		views = append(views, v)
	}
	s.mu.Unlock()
	var out []Sample
	for _, p := range procs {
		out = append(out, Processor(p, now)...)
	}
	for _, v := range views {
		out = append(out, View(v, now)...)
	}
	return Merge(out)
}
