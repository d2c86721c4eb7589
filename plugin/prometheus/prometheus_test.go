package prometheus_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	gokaprom "github.com/e3793d55/goka/plugin/prometheus"
	"github.com/e3793d55/goka/storage"
)

type quiet struct{}

func (quiet) Print(...interface{})          {}
func (quiet) Println(...interface{})        {}
func (quiet) Printf(string, ...interface{}) {}

// scrape fetches h's /metrics and parses it with Prometheus' text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// sum adds the values of family name whose labels include want.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	total, found := 0.0, false
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total, found
}

// TestMetricsKnownWorkload runs an emitter, a counting processor and a
// view on the embedded broker and checks the scraped metrics against the
// workload: n messages over 2 partitions, each a table write and an emit.
func TestMetricsKnownWorkload(t *testing.T) {
	const n = 40
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	m := gokaprom.New()
	m.CountRetries(cfg)
	goka.ReplaceGlobalConfig(cfg)

	c, err := kafkatest.New(kafkatest.Topic("prom-in", 2), kafkatest.Topic("prom-out", 2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.Brokers()
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	tmb := goka.TopicManagerBuilderWithTopicManagerConfig(tmc)

	proc, err := goka.NewProcessor(brokers, goka.DefineGroup("prom-group",
		goka.Input("prom-in", new(codec.String), func(ctx goka.Context, msg interface{}) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
			ctx.Emit("prom-out", ctx.Key(), msg)
		}),
		goka.Output("prom-out", new(codec.String)),
		goka.Persist(new(codec.Int64)),
	), goka.WithObserver(m), goka.WithLogger(quiet{}), goka.WithTopicManagerBuilder(tmb),
		goka.WithStorageBuilder(storage.DefaultBuilder(t.TempDir())), goka.WithStorageFlushInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- proc.Run(ctx) }()
	defer func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}()
	em, err := goka.NewEmitter(brokers, "prom-in", new(codec.String), goka.WithEmitterObserver(m), goka.WithEmitterLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := em.EmitSync(string(rune('a'+i%8)), "v"); err != nil {
			t.Fatal(err)
		}
	}
	if err := em.Finish(); err != nil {
		t.Fatal(err)
	}
	h := m.Handler()
	waitFor := func(what string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			fams := scrape(t, h)
			if cond(fams) {
				return fams
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	g := map[string]string{"group": "prom-group"}
	waitFor("all table writes", func(f map[string]*dto.MetricFamily) bool {
		v, _ := sum(f, "goka_processor_messages_produced_total", map[string]string{"group": "prom-group", "kind": "table"})
		return v == n
	})

	view, err := goka.NewView(brokers, goka.GroupTable("prom-group"), new(codec.Int64), goka.WithViewObserver(m),
		goka.WithViewLogger(quiet{}), goka.WithViewTopicManagerBuilder(tmb), goka.WithViewStorageBuilder(storage.DefaultBuilder(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- view.Run(ctx) }()
	fams := waitFor("the view running", func(f map[string]*dto.MetricFamily) bool {
		v, _ := sum(f, "goka_view_state", map[string]string{"table": "prom-group-table", "state": "running"})
		fl, _ := sum(f, "goka_storage_flush_batches_total", g)
		return v == 1 && fl > 0
	})

	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"goka_processor_messages_processed_total", map[string]string{"group": "prom-group", "topic": "prom-in"}, n},
		{"goka_processor_callback_duration_seconds", map[string]string{"group": "prom-group", "topic": "prom-in"}, n},
		{"goka_processor_messages_produced_total", map[string]string{"group": "prom-group", "topic": "prom-out", "kind": "emit"}, n},
		{"goka_processor_produce_latency_seconds", g, 2 * n},
		{"goka_processor_produce_errors_total", g, 0},
		{"goka_processor_callback_failures_total", g, 0},
		{"goka_emitter_messages_total", map[string]string{"topic": "prom-in"}, n},
		{"goka_emitter_latency_seconds", map[string]string{"topic": "prom-in"}, n},
		{"goka_emitter_errors_total", nil, 0},
		{"goka_processor_consumer_lag_messages", map[string]string{"group": "prom-group", "topic": "prom-in"}, 0},
		{"goka_processor_assigned_partitions", g, 2},
		{"goka_processor_standby_partitions", g, 0},
		{"goka_processor_rebalances_total", g, 1},
		{"goka_processor_rebalance_duration_seconds", g, 1},
		{"goka_processor_state", map[string]string{"group": "prom-group", "state": "running"}, 1},
		{"goka_processor_brokers_unreachable", g, 0},
		{"goka_table_recovery_records_done", map[string]string{"group": "", "table": "prom-group-table"}, n},
		{"goka_table_recovery_records_remaining", map[string]string{"table": "prom-group-table"}, 0},
		{"goka_table_recoveries_total", map[string]string{"group": "", "table": "prom-group-table"}, 2},
		{"goka_table_partition_state", map[string]string{"group": "", "table": "prom-group-table"}, 2 * float64(goka.PartitionRunning)},
		{"goka_producer_retries_total", nil, 0},
	} {
		got, found := sum(fams, tc.name, tc.labels)
		// Metric vectors without a sample are absent: fine for a 0.
		if !found && tc.want != 0 {
			t.Errorf("%s%v: missing", tc.name, tc.labels)
			continue
		}
		if got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if v, _ := sum(fams, "goka_processor_consumer_lag_seconds", g); v <= 0 {
		t.Errorf("goka_processor_consumer_lag_seconds = %v, want > 0 (the age of the last message)", v)
	}
	// HELP and TYPE follow Prometheus' conventions.
	for name, typ := range map[string]dto.MetricType{
		"goka_processor_messages_processed_total":  dto.MetricType_COUNTER,
		"goka_processor_callback_duration_seconds": dto.MetricType_HISTOGRAM,
		"goka_processor_consumer_lag_messages":     dto.MetricType_GAUGE,
	} {
		if f := fams[name]; f == nil || f.GetType() != typ || f.GetHelp() == "" {
			t.Errorf("%s: type %v help %q, want %v with help", name, f.GetType(), f.GetHelp(), typ)
		}
	}
}

func TestReservedMetrics(t *testing.T) {
	m := gokaprom.New()
	m.OnTransaction(goka.TransactionInfo{Group: "g", Committed: true, Duration: time.Millisecond})
	m.OnTransaction(goka.TransactionInfo{Group: "g", Committed: false})
	m.OnLateRecord(goka.LateRecordInfo{Group: "g", Topic: "t", Window: "w"})
	fams := scrape(t, m.Handler())
	for name, want := range map[string]float64{
		"goka_processor_transaction_commits_total":    1,
		"goka_processor_transaction_aborts_total":     1,
		"goka_processor_transaction_duration_seconds": 2,
		"goka_processor_window_late_records_total":    1,
	} {
		if got, _ := sum(fams, name, map[string]string{"group": "g"}); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestTransactionMetrics: an exactly-once processor's commits show in
// goka_processor_transaction_commits_total and its duration histogram.
func TestTransactionMetrics(t *testing.T) {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	goka.ReplaceGlobalConfig(cfg)
	m := gokaprom.New()
	c, err := kafkatest.New(kafkatest.Topic("prom-eos-in", 2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.Brokers()
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	proc, err := goka.NewProcessor(brokers, goka.DefineGroup("prom-eos",
		goka.Input("prom-eos-in", new(codec.String), func(ctx goka.Context, msg interface{}) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	), goka.WithObserver(m), goka.WithLogger(quiet{}), goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithStorageBuilder(storage.DefaultBuilder(t.TempDir())), goka.WithProcessingGuarantee(goka.ExactlyOnce))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	em, err := goka.NewEmitter(brokers, "prom-eos-in", new(codec.String), goka.WithEmitterLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := em.EmitSync(string(rune('a'+i%4)), "v"); err != nil {
			t.Fatal(err)
		}
	}
	if err := em.Finish(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams := scrape(t, m.Handler())
		commits, _ := sum(fams, "goka_processor_transaction_commits_total", map[string]string{"group": "prom-eos"})
		f := fams["goka_processor_transaction_duration_seconds"]
		if commits > 0 && f != nil && len(f.GetMetric()) > 0 && f.GetMetric()[0].GetHistogram().GetSampleCount() >= uint64(commits) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no transaction commits in the metrics: %v", commits)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
