package goka

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Stream is the name of a Kafka topic read or written as a stream.
type Stream string

// Streams is a list of streams.
type Streams []Stream

// Table is the name of a table topic, "<group>-table" for a group table.
type Table string

// Group is the name of a processor group; it is also the Kafka consumer
// group id.
type Group string

// ProcessCallback processes one message; msg is the decoded value.
type ProcessCallback func(ctx Context, msg interface{})

// Edge is a topic the group reads or writes, with its codec.
type Edge interface {
	String() string
	Topic() string
	Codec() Codec
}

// Edges is a list of edges.
type Edges []Edge

// Topics returns the topics of the edges.
func (e Edges) Topics() []string {
	out := make([]string, 0, len(e))
	for _, edge := range e {
		out = append(out, edge.Topic())
	}
	return out
}

var (
	suffixMu    sync.RWMutex
	tableSuffix = defaultTableSuffix
	loopSuffix  = defaultLoopSuffix
)

const (
	defaultTableSuffix = "-table"
	defaultLoopSuffix  = "-loop"
)

// SetTableSuffix sets the suffix of group table topics (default "-table").
// Call it before DefineGroup.
func SetTableSuffix(suffix string) {
	suffixMu.Lock()
	defer suffixMu.Unlock()
	tableSuffix = suffix
}

// SetLoopSuffix sets the suffix of loop topics (default "-loop"). Call it
// before DefineGroup.
func SetLoopSuffix(suffix string) {
	suffixMu.Lock()
	defer suffixMu.Unlock()
	loopSuffix = suffix
}

// ResetSuffixes restores the default suffixes.
func ResetSuffixes() {
	suffixMu.Lock()
	defer suffixMu.Unlock()
	tableSuffix, loopSuffix = defaultTableSuffix, defaultLoopSuffix
}

func suffixes() (table, loop string) {
	suffixMu.RLock()
	defer suffixMu.RUnlock()
	return tableSuffix, loopSuffix
}

// GroupTable returns the name of the table topic of group.
func GroupTable(group Group) Table {
	t, _ := suffixes()
	return Table(string(group) + t)
}

func loopName(group Group) Stream {
	_, l := suffixes()
	return Stream(string(group) + l)
}

// StringsToStreams converts strings to Streams.
func StringsToStreams(strings ...string) Streams {
	out := make(Streams, 0, len(strings))
	for _, s := range strings {
		out = append(out, Stream(s))
	}
	return out
}

type edgeKind int

const (
	kindInput edgeKind = iota
	kindLoop
	kindJoin
	kindLookup
	kindTable
	kindOutput
	kindVisitor
)

type edge struct {
	kind  edgeKind
	topic string
	codec Codec
	cb    ProcessCallback
}

func (e *edge) String() string { return fmt.Sprintf("%s/%T", e.topic, e.codec) }
func (e *edge) Topic() string  { return e.topic }
func (e *edge) Codec() Codec   { return e.codec }

// inputsEdge is what Inputs returns before DefineGroup flattens it.
type inputsEdge struct {
	topics Streams
	codec  Codec
	cb     ProcessCallback
}

func (e *inputsEdge) String() string {
	return fmt.Sprintf("%s/%T", strings.Join(e.Topics(), ","), e.codec)
}
func (e *inputsEdge) Topic() string { return strings.Join(e.Topics(), ",") }
func (e *inputsEdge) Codec() Codec  { return e.codec }

// Topics returns the topics of the edge.
func (e *inputsEdge) Topics() []string {
	out := make([]string, 0, len(e.topics))
	for _, t := range e.topics {
		out = append(out, string(t))
	}
	return out
}

// Input consumes topic, decodes its messages with c and calls cb.
func Input(topic Stream, c Codec, cb ProcessCallback) Edge {
	return &edge{kind: kindInput, topic: string(topic), codec: c, cb: cb}
}

// Inputs is Input for several topics with one codec and callback. It
// returns nil if topics is empty.
func Inputs(topics Streams, c Codec, cb ProcessCallback) Edge {
	if len(topics) == 0 {
		return nil
	}
	return &inputsEdge{topics: topics, codec: c, cb: cb}
}

// Loop defines the loop topic "<group>-loop": messages sent with
// Context.Loopback come back to cb.
func Loop(c Codec, cb ProcessCallback) Edge {
	return &edge{kind: kindLoop, codec: c, cb: cb}
}

// Join reads the copartitioned table topic: Context.Join returns the value
// of the current key.
func Join(topic Table, c Codec) Edge {
	return &edge{kind: kindJoin, topic: string(topic), codec: c}
}

// Lookup reads the whole table topic through a View: Context.Lookup returns
// the value of any key.
func Lookup(topic Table, c Codec) Edge {
	return &edge{kind: kindLookup, topic: string(topic), codec: c}
}

// Persist gives the group a table, stored in "<group>-table".
func Persist(c Codec) Edge {
	return &edge{kind: kindTable, codec: c}
}

// Output declares topic as a destination of Context.Emit.
func Output(topic Stream, c Codec) Edge {
	return &edge{kind: kindOutput, topic: string(topic), codec: c}
}

// Visitor defines a callback that Processor.VisitAll runs for every key of
// the table, under the given name.
func Visitor(name string, cb ProcessCallback) Edge {
	return &edge{kind: kindVisitor, topic: name, cb: cb}
}

// GroupGraph is the definition of a processor group: its inputs, tables and
// outputs.
type GroupGraph struct {
	group         string
	inputTables   []*edge
	crossTables   []*edge
	inputStreams  []*edge
	outputStreams []*edge
	loopStream    []*edge
	groupTable    []*edge
	visitors      []*edge

	callbacks map[string]ProcessCallback
	codecs    map[string]Codec
	joinCheck map[string]bool
	time      *graphTime // Windowed, OnTimer, Punctuate (window.go)
}

// DefineGroup defines a group from edges. Nil edges are skipped. It panics
// on an empty or duplicate input topic, as Goka does; Validate reports the
// other problems.
func DefineGroup(group Group, edges ...Edge) *GroupGraph {
	gg := &GroupGraph{
		group:     string(group),
		callbacks: make(map[string]ProcessCallback),
		codecs:    make(map[string]Codec),
		joinCheck: make(map[string]bool),
	}
	addInput := func(e *edge) {
		if e.topic == "" {
			panic("goka: DefineGroup: input with empty topic")
		}
		if _, dup := gg.callbacks[e.topic]; dup {
			panic(fmt.Sprintf("goka: DefineGroup: duplicate input topic %q", e.topic))
		}
		gg.callbacks[e.topic] = e.cb
		gg.codecs[e.topic] = e.codec
		gg.inputStreams = append(gg.inputStreams, e)
	}
	for _, ed := range edges {
		switch e := ed.(type) {
		case nil:
			continue
		case *inputsEdge:
			for _, t := range e.topics {
				addInput(&edge{kind: kindInput, topic: string(t), codec: e.codec, cb: e.cb})
			}
		case *edge:
			switch e.kind {
			case kindInput:
				addInput(e)
			case kindLoop:
				l := &edge{kind: kindLoop, topic: string(loopName(group)), codec: e.codec, cb: e.cb}
				gg.callbacks[l.topic] = l.cb
				gg.codecs[l.topic] = l.codec
				gg.loopStream = append(gg.loopStream, l)
			case kindJoin:
				gg.joinCheck[e.topic] = true
				gg.codecs[e.topic] = e.codec
				gg.inputTables = append(gg.inputTables, e)
			case kindLookup:
				gg.codecs[e.topic] = e.codec
				gg.crossTables = append(gg.crossTables, e)
			case kindTable:
				t := &edge{kind: kindTable, topic: string(GroupTable(group)), codec: e.codec}
				gg.codecs[t.topic] = t.codec
				gg.groupTable = append(gg.groupTable, t)
			case kindOutput:
				gg.codecs[e.topic] = e.codec
				gg.outputStreams = append(gg.outputStreams, e)
			case kindVisitor:
				gg.visitors = append(gg.visitors, e)
			}
		case timeEdge:
			e.addTo(gg)
		default:
			panic(fmt.Sprintf("goka: DefineGroup: unsupported edge type %T", ed))
		}
	}
	return gg
}

// Group returns the group name.
func (gg *GroupGraph) Group() Group { return Group(gg.group) }

// InputStreams returns the input edges.
func (gg *GroupGraph) InputStreams() Edges { return toEdges(gg.inputStreams) }

// JointTables returns the join edges.
func (gg *GroupGraph) JointTables() Edges { return toEdges(gg.inputTables) }

// LookupTables returns the lookup edges.
func (gg *GroupGraph) LookupTables() Edges { return toEdges(gg.crossTables) }

// OutputStreams returns the output edges.
func (gg *GroupGraph) OutputStreams() Edges { return toEdges(gg.outputStreams) }

// LoopStream returns the loop edge, or nil if there is none.
func (gg *GroupGraph) LoopStream() Edge {
	if len(gg.loopStream) == 0 {
		return nil
	}
	return gg.loopStream[0]
}

// GroupTable returns the group table edge, or nil if there is none.
func (gg *GroupGraph) GroupTable() Edge {
	if len(gg.groupTable) == 0 {
		return nil
	}
	return gg.groupTable[0]
}

// AllEdges returns joins, lookups, inputs, outputs, loop, table and
// visitors, in this order.
func (gg *GroupGraph) AllEdges() Edges {
	var all Edges
	for _, l := range [][]*edge{gg.inputTables, gg.crossTables, gg.inputStreams, gg.outputStreams, gg.loopStream, gg.groupTable, gg.visitors} {
		all = append(all, toEdges(l)...)
	}
	return all
}

func toEdges(es []*edge) Edges {
	out := make(Edges, 0, len(es))
	for _, e := range es {
		out = append(out, e)
	}
	return out
}

// Validate checks the graph and returns an error naming every problem:
// an empty group name, no input, more than one loop or table, an edge that
// names the group's own loop or table topic, a missing codec or callback,
// a topic that is both joined and looked up, and visitors without Persist.
func (gg *GroupGraph) Validate() error {
	var errs []error
	add := func(format string, args ...interface{}) { errs = append(errs, fmt.Errorf(format, args...)) }
	if gg.group == "" {
		add("empty group name")
	}
	if len(gg.loopStream) > 1 {
		add("more than one loop stream")
	}
	if len(gg.groupTable) > 1 {
		add("more than one group table")
	}
	if len(gg.inputStreams) == 0 {
		add("no input stream in group graph")
	}
	table, loop := string(GroupTable(gg.Group())), string(loopName(gg.Group()))
	for _, l := range [][]*edge{gg.inputStreams, gg.inputTables, gg.crossTables, gg.outputStreams} {
		for _, e := range l {
			switch e.topic {
			case loop:
				add("%s %q: the group's loop topic cannot be used as %s; use Loop", kindName(e.kind), e.topic, kindName(e.kind))
			case table:
				add("%s %q: the group's own table cannot be used as %s; use Persist and Context.Value", kindName(e.kind), e.topic, kindName(e.kind))
			}
		}
	}
	for _, l := range [][]*edge{gg.inputStreams, gg.inputTables, gg.crossTables, gg.outputStreams, gg.loopStream, gg.groupTable} {
		for _, e := range l {
			if e.codec == nil {
				add("%s %q: codec is nil", kindName(e.kind), e.topic)
			}
			if (e.kind == kindInput || e.kind == kindLoop) && e.cb == nil {
				add("%s %q: callback is nil", kindName(e.kind), e.topic)
			}
			if e.topic == "" {
				add("%s: empty topic", kindName(e.kind))
			}
		}
	}
	for _, e := range gg.crossTables {
		if gg.joinCheck[e.topic] {
			add("table %q is both joined and looked up", e.topic)
		}
	}
	seen := map[string]bool{}
	for _, e := range gg.visitors {
		if e.cb == nil {
			add("visitor %q: callback is nil", e.topic)
		}
		if seen[e.topic] {
			add("duplicate visitor %q", e.topic)
		}
		seen[e.topic] = true
	}
	if len(gg.visitors) > 0 && len(gg.groupTable) == 0 {
		add("visitors cannot be used in a stateless processor: add Persist")
	}
	errs = append(errs, gg.time.validate()...)
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid group graph %q: %w", gg.group, errors.Join(errs...))
}

func kindName(k edgeKind) string {
	switch k {
	case kindInput:
		return "input"
	case kindLoop:
		return "loop"
	case kindJoin:
		return "join"
	case kindLookup:
		return "lookup"
	case kindTable:
		return "table"
	case kindOutput:
		return "output"
	default:
		return "visitor"
	}
}

func (gg *GroupGraph) codec(topic string) Codec              { return gg.codecs[topic] }
func (gg *GroupGraph) callback(topic string) ProcessCallback { return gg.callbacks[topic] }

func (gg *GroupGraph) visitor(name string) ProcessCallback {
	for _, v := range gg.visitors {
		if v.topic == name {
			return v.cb
		}
	}
	return nil
}
