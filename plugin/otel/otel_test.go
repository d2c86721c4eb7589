package otel_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	gokaotel "github.com/e3793d55/goka/plugin/otel"
	"github.com/e3793d55/goka/storage"
)

type quiet struct{}

func (quiet) Print(...interface{})          {}
func (quiet) Println(...interface{})        {}
func (quiet) Printf(string, ...interface{}) {}

// TestTraceAcrossProcessors follows n messages emitter → processor A →
// output → processor B, and checks that each message's four spans form
// one trace, each the child of the one before; and the metrics of the
// SDK's in-memory reader against the workload.
func TestTraceAcrossProcessors(t *testing.T) {
	const n = 5
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	goka.ReplaceGlobalConfig(cfg)

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := gokaotel.New(gokaotel.TracerProvider(tp), gokaotel.MeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}

	c, err := kafkatest.New(kafkatest.Topic("otel-in", 2), kafkatest.Topic("otel-mid", 2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.Brokers()
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	tmb := goka.TopicManagerBuilderWithTopicManagerConfig(tmc)
	opts := func(extra ...goka.ProcessorOption) []goka.ProcessorOption {
		return append([]goka.ProcessorOption{goka.WithObserver(obs), goka.WithLogger(quiet{}), goka.WithTopicManagerBuilder(tmb),
			goka.WithStorageBuilder(storage.DefaultBuilder(t.TempDir()))}, extra...)
	}
	received := make(chan string, n)
	a, err := goka.NewProcessor(brokers, goka.DefineGroup("otel-a",
		goka.Input("otel-in", new(codec.String), func(ctx goka.Context, msg interface{}) {
			if !trace.SpanContextFromContext(ctx.Context()).IsValid() {
				ctx.Fail(errNoSpan)
			}
			ctx.Emit("otel-mid", ctx.Key(), msg)
		}),
		goka.Output("otel-mid", new(codec.String)),
	), opts()...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := goka.NewProcessor(brokers, goka.DefineGroup("otel-b",
		goka.Input("otel-mid", new(codec.String), func(ctx goka.Context, msg interface{}) { received <- ctx.Key() }),
	), opts()...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- a.Run(ctx) }()
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}()
	em, err := goka.NewEmitter(brokers, "otel-in", new(codec.String), goka.WithEmitterObserver(obs), goka.WithEmitterLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	// The emitter's span is a child of the caller's.
	rootCtx, root := tp.Tracer("test").Start(context.Background(), "request")
	for i := range n {
		p, err := em.EmitWithContext(rootCtx, string(rune('a'+i)), "v", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := waitPromise(p); err != nil {
			t.Fatal(err)
		}
	}
	root.End()
	if err := em.Finish(); err != nil {
		t.Fatal(err)
	}
	for range n {
		select {
		case <-received:
		case <-time.After(30 * time.Second):
			t.Fatal("processor B did not receive every message")
		}
	}
	// B's span ends right after its callback returned.
	deadline := time.Now().Add(10 * time.Second)
	for len(spans.GetSpans()) < 1+4*n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}

	got := spans.GetSpans()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range got {
		byID[s.SpanContext.SpanID()] = s
	}
	chains := 0
	for _, s := range got {
		if s.Name != "process otel-mid" {
			continue
		}
		want := []string{"process otel-mid", "send otel-mid", "process otel-in", "send otel-in", "request"}
		kinds := []trace.SpanKind{trace.SpanKindConsumer, trace.SpanKindProducer, trace.SpanKindConsumer, trace.SpanKindProducer, trace.SpanKindInternal}
		cur := s
		for i, name := range want {
			if cur.Name != name || cur.SpanKind != kinds[i] {
				t.Fatalf("span %d of the chain: %q (%v), want %q (%v)", i, cur.Name, cur.SpanKind, name, kinds[i])
			}
			if cur.SpanContext.TraceID() != root.SpanContext().TraceID() {
				t.Fatalf("span %q is in trace %v, want %v", cur.Name, cur.SpanContext.TraceID(), root.SpanContext().TraceID())
			}
			if i == len(want)-1 {
				break
			}
			parent, ok := byID[cur.Parent.SpanID()]
			if !ok {
				t.Fatalf("parent of %q not recorded", cur.Name)
			}
			cur = parent
		}
		chains++
	}
	if chains != n {
		t.Fatalf("%d complete chains, want %d (spans: %d)", chains, n, len(got))
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	gauges := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sums[m.Name] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sums[m.Name] += int64(p.Count)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					gauges[m.Name] += p.Value
				}
			}
		}
	}
	for name, want := range map[string]int64{
		"goka.processor.messages.processed": 2 * n,
		"goka.processor.callback.duration":  2 * n,
		"goka.processor.messages.produced":  n,
		"goka.processor.produce.duration":   n,
		"goka.emitter.messages":             n,
		"goka.emitter.duration":             n,
		"goka.processor.rebalances":         2,
	} {
		if sums[name] != want {
			t.Errorf("%s = %d, want %d", name, sums[name], want)
		}
	}
	for name, want := range map[string]float64{
		"goka.processor.partitions.assigned": 4,
		"goka.processor.consumer.lag":        0,
		"goka.processor.state":               2, // both running
	} {
		if gauges[name] != want {
			t.Errorf("%s = %v, want %v", name, gauges[name], want)
		}
	}
	if _, ok := gauges["goka.processor.consumer.lag.age"]; !ok {
		t.Error("goka.processor.consumer.lag.age missing")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

const errNoSpan = errString("callback context carries no span")

func waitPromise(p *goka.Promise) error {
	ch := make(chan error, 1)
	p.Then(func(err error) { ch <- err })
	return <-ch
}
