// Package otel instruments Goka processors, views and emitters with
// OpenTelemetry metrics and traces (go.opentelemetry.io/otel). It is its
// own Go module, so that the core module requires no OpenTelemetry
// library.
//
// # Tracing
//
// An emitter injects the W3C trace context (the propagator's fields, by
// default traceparent and tracestate) into the headers of every message,
// under a producer span that is a child of the span in the context given
// to Emitter.EmitWithContext. A processor extracts it from each input
// message and runs the callback under a consumer span, child of the
// message's; Context.Context() carries that span, and ctx.Emit and
// ctx.Loopback inject it again, so a trace follows a message across topics
// and processors. Table writes get no span and no headers.
//
// # Metrics
//
// The same quantities as plugin/prometheus, named by OpenTelemetry's
// conventions (dotted names, units as the unit, not in the name):
// goka.processor.messages.processed, goka.processor.callback.duration (s),
// goka.processor.messages.produced, goka.processor.produce.errors,
// goka.processor.produce.duration (s), goka.processor.consumer.lag
// ({message}), goka.processor.consumer.lag.age (s),
// goka.processor.rebalances, goka.processor.rebalance.duration (s),
// goka.processor.partitions.assigned, goka.processor.partitions.standby,
// goka.processor.state, goka.brokers.unreachable,
// goka.table.partition.state, goka.table.recovery.records.done,
// goka.table.recovery.records.remaining, goka.table.recovery.remaining
// (s), goka.table.recoveries, goka.table.recovery.duration (s),
// goka.storage.flush.batches, goka.storage.flush.duration (s),
// goka.view.state, goka.emitter.messages, goka.emitter.errors,
// goka.emitter.duration (s), and reserved for exactly-once and windows
// goka.processor.transaction.commits, .aborts, .duration (s) and
// goka.processor.window.late_records. Attributes: messaging.consumer.group.name,
// messaging.destination.name, messaging.destination.partition.id,
// goka.table, goka.state, goka.produce.kind.
package otel

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/plugin/internal/gauges"
)

const scope = "github.com/e3793d55/goka/plugin/otel"

// Attribute keys.
const (
	AttrGroup     = attribute.Key("messaging.consumer.group.name")
	AttrTopic     = attribute.Key("messaging.destination.name")
	AttrPartition = attribute.Key("messaging.destination.partition.id")
	AttrOffset    = attribute.Key("messaging.kafka.offset")
	AttrKey       = attribute.Key("messaging.kafka.message.key")
	AttrTable     = attribute.Key("goka.table")
	AttrState     = attribute.Key("goka.state")
	AttrKind      = attribute.Key("goka.produce.kind")
)

// Observer is a goka.Observer recording metrics and traces.
type Observer struct {
	gauges.Sources
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator

	processed, callbackFailures, produced, produceErrors metric.Int64Counter
	rebalances, recoveries, flushes, emitted, emitErrors metric.Int64Counter
	txnCommits, txnAborts, late                          metric.Int64Counter
	callbackDur, produceDur, rebalanceDur, recoveryDur   metric.Float64Histogram
	flushDur, emitDur, txnDur                            metric.Float64Histogram
}

// Option configures New.
type Option func(*cfg)

type cfg struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
	pr propagation.TextMapPropagator
}

// MeterProvider sets the meter provider. Default: otel.GetMeterProvider().
func MeterProvider(mp metric.MeterProvider) Option { return func(c *cfg) { c.mp = mp } }

// TracerProvider sets the tracer provider. Default: otel.GetTracerProvider().
func TracerProvider(tp trace.TracerProvider) Option { return func(c *cfg) { c.tp = tp } }

// Propagator sets the propagator of trace context in headers. Default: W3C
// trace context and baggage.
func Propagator(p propagation.TextMapPropagator) Option { return func(c *cfg) { c.pr = p } }

// New returns an observer; it fails if an instrument cannot be created.
func New(opts ...Option) (*Observer, error) {
	c := cfg{mp: otel.GetMeterProvider(), tp: otel.GetTracerProvider(),
		pr: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	for _, o := range opts {
		o(&c)
	}
	o := &Observer{tracer: c.tp.Tracer(scope), propagator: c.pr}
	m := c.mp.Meter(scope)
	var errs []error
	ctr := func(name, unit, desc string) metric.Int64Counter {
		x, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return x
	}
	hist := func(name, desc string) metric.Float64Histogram {
		x, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc))
		errs = append(errs, err)
		return x
	}
	o.processed = ctr("goka.processor.messages.processed", "{message}", "Input messages whose callback returned.")
	o.callbackFailures = ctr("goka.processor.callback.failures", "{callback}", "Callbacks that failed.")
	o.callbackDur = hist("goka.processor.callback.duration", "Duration of input message callbacks.")
	o.produced = ctr("goka.processor.messages.produced", "{message}", "Messages a processor produced and Kafka acknowledged.")
	o.produceErrors = ctr("goka.processor.produce.errors", "{message}", "Messages a processor produced that Kafka refused.")
	o.produceDur = hist("goka.processor.produce.duration", "Time from producing a message to Kafka's answer.")
	o.rebalances = ctr("goka.processor.rebalances", "{rebalance}", "Partition assignments of a processor.")
	o.rebalanceDur = hist("goka.processor.rebalance.duration", "Time from the end of a session to the new assignment.")
	o.recoveries = ctr("goka.table.recoveries", "{recovery}", "Completed recoveries of table partitions.")
	o.recoveryDur = hist("goka.table.recovery.duration", "Duration of completed table partition recoveries.")
	o.flushes = ctr("goka.storage.flush.batches", "{batch}", "Write batches flushed to local storage.")
	o.flushDur = hist("goka.storage.flush.duration", "Duration of local storage flushes.")
	o.emitted = ctr("goka.emitter.messages", "{message}", "Messages an emitter sent and Kafka acknowledged.")
	o.emitErrors = ctr("goka.emitter.errors", "{message}", "Messages an emitter sent that Kafka refused.")
	o.emitDur = hist("goka.emitter.duration", "Time from Emit to Kafka's answer.")
	o.txnCommits = ctr("goka.processor.transaction.commits", "{transaction}", "Committed transactions (exactly-once).")
	o.txnAborts = ctr("goka.processor.transaction.aborts", "{transaction}", "Aborted transactions (exactly-once).")
	o.txnDur = hist("goka.processor.transaction.duration", "Duration of transactions (exactly-once).")
	o.late = ctr("goka.processor.window.late_records", "{record}", "Records a window dropped after its grace period.")

	type gauge struct {
		name, unit, desc string
	}
	names := map[gauges.Kind]gauge{
		gauges.ConsumerLagMessages:      {"goka.processor.consumer.lag", "{message}", "Messages of an input partition not yet processed."},
		gauges.ConsumerLagSeconds:       {"goka.processor.consumer.lag.age", "s", "Age of the last processed message when it was processed."},
		gauges.AssignedPartitions:       {"goka.processor.partitions.assigned", "{partition}", "Partitions a group processes in this program."},
		gauges.StandbyPartitions:        {"goka.processor.partitions.standby", "{partition}", "Hot-standby partitions of a group in this program."},
		gauges.ProcessorState:           {"goka.processor.state", "1", "1 for the processor's current state."},
		gauges.ViewState:                {"goka.view.state", "1", "1 for the view's current state."},
		gauges.BrokersUnreachable:       {"goka.brokers.unreachable", "1", "1 while none of the seed brokers answers."},
		gauges.TablePartitionState:      {"goka.table.partition.state", "1", "goka.PartitionStatus of a table partition (5 running)."},
		gauges.RecoveryRecordsDone:      {"goka.table.recovery.records.done", "{record}", "Records the recovery of a table partition applied."},
		gauges.RecoveryRecordsRemaining: {"goka.table.recovery.records.remaining", "{record}", "Records a recovery still has to apply."},
		gauges.RecoveryRemainingSeconds: {"goka.table.recovery.remaining", "s", "Estimated time a recovery still takes."},
	}
	insts := map[gauges.Kind]metric.Float64ObservableGauge{}
	var all []metric.Observable
	for k, g := range names {
		x, err := m.Float64ObservableGauge(g.name, metric.WithUnit(g.unit), metric.WithDescription(g.desc))
		errs = append(errs, err)
		insts[k] = x
		all = append(all, x)
	}
	_, err := m.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		for _, s := range o.Samples(time.Now()) {
			obs.ObserveFloat64(insts[s.Kind], s.Value, metric.WithAttributes(labelAttrs(s.Labels)...))
		}
		return nil
	}, all...)
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}

func labelAttrs(l gauges.Labels) []attribute.KeyValue {
	var a []attribute.KeyValue
	if l.Group != "" {
		a = append(a, AttrGroup.String(l.Group))
	}
	if l.Topic != "" {
		a = append(a, AttrTopic.String(l.Topic))
	}
	if l.Table != "" {
		a = append(a, AttrTable.String(l.Table))
	}
	if l.Partition != "" {
		a = append(a, AttrPartition.String(l.Partition))
	}
	if l.State != "" {
		a = append(a, AttrState.String(l.State))
	}
	return a
}

// headerCarrier adapts goka.Headers to propagation.TextMapCarrier.
type headerCarrier goka.Headers

func (h headerCarrier) Get(k string) string { return string(h[k]) }
func (h headerCarrier) Set(k, v string)     { h[k] = []byte(v) }
func (h headerCarrier) Keys() []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	return out
}

// OnMessage implements goka.MessageObserver: a consumer span per message,
// child of the trace context in its headers.
func (o *Observer) OnMessage(ctx context.Context, m goka.MessageInfo) (context.Context, func(goka.MessageResult)) {
	parent := o.propagator.Extract(ctx, headerCarrier(m.Headers))
	part := strconv.Itoa(int(m.Partition))
	ctx, span := o.tracer.Start(parent, "process "+m.Topic, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(AttrGroup.String(string(m.Group)), AttrTopic.String(m.Topic), AttrPartition.String(part),
			AttrOffset.Int64(m.Offset), AttrKey.String(m.Key), attribute.String("messaging.operation.type", "process")))
	attrs := metric.WithAttributes(AttrGroup.String(string(m.Group)), AttrTopic.String(m.Topic), AttrPartition.String(part))
	return ctx, func(r goka.MessageResult) {
		bg := context.Background()
		o.processed.Add(bg, 1, attrs)
		o.callbackDur.Record(bg, r.Duration.Seconds(), metric.WithAttributes(AttrGroup.String(string(m.Group)), AttrTopic.String(m.Topic)))
		if r.Err != nil {
			o.callbackFailures.Add(bg, 1, metric.WithAttributes(AttrGroup.String(string(m.Group)), AttrTopic.String(m.Topic)))
			span.RecordError(r.Err)
			span.SetStatus(codes.Error, r.Err.Error())
		}
		span.End()
	}
}

// OnProduce implements goka.ProduceObserver: a producer span per emitted
// message (not per table write), whose context goes into the headers.
func (o *Observer) OnProduce(ctx context.Context, p goka.ProduceInfo) (goka.Headers, func(goka.ProduceResult)) {
	headers := p.Headers
	var span trace.Span
	if p.Kind != goka.ProduceTableWrite {
		attrs := []attribute.KeyValue{AttrTopic.String(p.Topic), AttrKey.String(p.Key), AttrKind.String(p.Kind.String()),
			attribute.String("messaging.operation.type", "send")}
		if p.Group != "" {
			attrs = append(attrs, AttrGroup.String(string(p.Group)))
		}
		ctx, span = o.tracer.Start(ctx, "send "+p.Topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
		headers = p.Headers.Merged(nil) // a copy: p.Headers may be shared
		if headers == nil {
			headers = goka.Headers{}
		}
		o.propagator.Inject(ctx, headerCarrier(headers))
	}
	return headers, func(r goka.ProduceResult) {
		bg := context.Background()
		if span != nil {
			if r.Err != nil {
				span.RecordError(r.Err)
				span.SetStatus(codes.Error, r.Err.Error())
			} else {
				span.SetAttributes(AttrPartition.String(strconv.Itoa(int(r.Partition))), AttrOffset.Int64(r.Offset))
			}
			span.End()
		}
		if p.Kind == goka.ProduceEmitter {
			a := metric.WithAttributes(AttrTopic.String(p.Topic))
			o.emitDur.Record(bg, r.Latency.Seconds(), a)
			if r.Err != nil {
				o.emitErrors.Add(bg, 1, a)
			} else {
				o.emitted.Add(bg, 1, a)
			}
			return
		}
		o.produceDur.Record(bg, r.Latency.Seconds(), metric.WithAttributes(AttrGroup.String(string(p.Group)), AttrKind.String(p.Kind.String())))
		a := metric.WithAttributes(AttrGroup.String(string(p.Group)), AttrTopic.String(p.Topic), AttrKind.String(p.Kind.String()))
		if r.Err != nil {
			o.produceErrors.Add(bg, 1, a)
		} else {
			o.produced.Add(bg, 1, a)
		}
	}
}

// OnRebalance implements goka.RebalanceObserver.
func (o *Observer) OnRebalance(r goka.RebalanceInfo) {
	a := metric.WithAttributes(AttrGroup.String(string(r.Group)))
	o.rebalances.Add(context.Background(), 1, a)
	o.rebalanceDur.Record(context.Background(), r.Duration.Seconds(), a)
}

func tableAttrs(group goka.Group, table string) metric.MeasurementOption {
	return metric.WithAttributes(AttrGroup.String(string(group)), AttrTable.String(table))
}

// OnFlush implements goka.StorageObserver.
func (o *Observer) OnFlush(f goka.FlushInfo) {
	o.flushes.Add(context.Background(), 1, tableAttrs(f.Group, f.Table))
	o.flushDur.Record(context.Background(), f.Duration.Seconds(), tableAttrs(f.Group, f.Table))
}

// OnRecovered implements goka.StorageObserver.
func (o *Observer) OnRecovered(r goka.RecoveredInfo) {
	o.recoveries.Add(context.Background(), 1, tableAttrs(r.Group, r.Table))
	o.recoveryDur.Record(context.Background(), r.Duration.Seconds(), tableAttrs(r.Group, r.Table))
}

// OnTransaction implements goka.TransactionObserver.
func (o *Observer) OnTransaction(t goka.TransactionInfo) {
	a := metric.WithAttributes(AttrGroup.String(string(t.Group)))
	if t.Committed {
		o.txnCommits.Add(context.Background(), 1, a)
	} else {
		o.txnAborts.Add(context.Background(), 1, a)
	}
	o.txnDur.Record(context.Background(), t.Duration.Seconds(), a)
}

// OnLateRecord implements goka.LateRecordObserver.
func (o *Observer) OnLateRecord(r goka.LateRecordInfo) {
	o.late.Add(context.Background(), 1, metric.WithAttributes(AttrGroup.String(string(r.Group)), AttrTopic.String(r.Topic), attribute.String("goka.window", r.Window)))
}
