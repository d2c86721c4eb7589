// Package tester replaces Kafka and the local storages with in-memory fakes,
// so that processors, views and emitters can be unit-tested without a
// broker. It is compatible with Goka's tester package: a Goka test compiles
// and passes against it after changing its import paths.
//
// # Usage
//
// Create a [Tester] with [New], pass it to the components with
// goka.WithTester, goka.WithViewTester and goka.WithEmitterTester, start
// processors and views with go proc.Run(ctx), then feed messages with
// [Tester.Consume] and check tables with [Tester.TableValue] and output
// topics with a [QueueTracker]:
//
//	gkt := tester.New(t)
//	proc, _ := goka.NewProcessor(nil, graph, goka.WithTester(gkt))
//	go proc.Run(ctx)
//	gkt.Consume("input", "key", "value")
//	v := gkt.TableValue("group-table", "key")
//
// # Semantics
//
// Every topic is one in-memory queue with one partition and offsets from 0.
// Producing is synchronous: the message is appended and its promise is
// finished before Emit returns. Every table topic has one memory storage,
// shared by all components of the tester, so a processor's table is also the
// table of the views and joins reading it.
//
// The tester delivers messages to processors and views as soon as they are
// appended, like a broker would. Consume appends the message and then waits
// until the whole system is idle: every message of every input topic of
// every running processor is committed, and every table record is applied
// by every view, join and lookup. So chains of processors, loopbacks and
// table updates are finished when Consume returns. Before that, Consume
// waits until every registered processor and view runs. An emitter created
// with goka.WithEmitterTester waits the same way after each message.
//
// A processor commits a message when its callback returned, everything it
// emitted is appended and the functions returned by Context.DeferCommit were
// called. A processor that fails (Context.Fail, a panic, a decoding error)
// stops: its Run returns the error and Consume stops waiting for it.
//
// # Misuse
//
// Consuming to a topic without codec, a value the codec cannot encode, the
// value of a table no component declares, or a processor or view that never
// starts fail the test through T with a message saying what is wrong,
// instead of panicking somewhere inside.
//
// # Differences from Goka
//
// Goka's tester delivers messages only inside Consume; this one delivers at
// once, so a view started after messages were written recovers them without
// a Consume. A processor or view that stopped is no longer waited for, so a
// tester can outlive the components of one subtest. Where Goka blocks forever
// (a processor never started, a DeferCommit function never called), this
// tester fails the test after 10 seconds. QueueTracker.Next returns nil for
// a tombstone instead of decoding nil.
//
// # Caveats
//
// An emitter created with goka.WithEmitterTester and used inside a callback
// does not wait: the Consume in progress waits for its messages. A callback
// must not call Consume or Catchup.
package tester
