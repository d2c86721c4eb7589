// Package prometheus exposes the metrics of Goka processors, views and
// emitters to Prometheus (github.com/prometheus/client_golang). It is its
// own Go module, so that the core module requires no Prometheus library.
//
// # Use
//
//	m := prometheus.New()
//	registry.MustRegister(m)     // or serve m.Handler() on /metrics
//	p, _ := goka.NewProcessor(brokers, graph, goka.WithObserver(m))
//	v, _ := goka.NewView(brokers, "table", codec, goka.WithViewObserver(m))
//	e, _ := goka.NewEmitter(brokers, "topic", codec, goka.WithEmitterObserver(m))
//
// # Metrics
//
// Counters and histograms are updated by the observer hooks; gauges (lag,
// partitions, states, recovery progress) are read from Processor.Stats and
// View.Stats at scrape time. Names follow Prometheus' conventions
// (namespace goka, _total counters, units in names, durations in seconds):
//
//	goka_processor_messages_processed_total{group,topic,partition}
//	goka_processor_callback_duration_seconds{group,topic}        histogram
//	goka_processor_callback_failures_total{group,topic}
//	goka_processor_messages_produced_total{group,topic,kind}     kind: emit, loopback, table
//	goka_processor_produce_errors_total{group,topic,kind}
//	goka_processor_produce_latency_seconds{group,kind}           histogram
//	goka_producer_retries_total                                  with CountRetries
//	goka_processor_consumer_lag_messages{group,topic,partition}
//	goka_processor_consumer_lag_seconds{group,topic,partition}
//	goka_processor_rebalances_total{group}
//	goka_processor_rebalance_duration_seconds{group}             histogram
//	goka_processor_assigned_partitions{group}
//	goka_processor_standby_partitions{group}
//	goka_processor_state{group,state}
//	goka_processor_brokers_unreachable{group}
//	goka_table_partition_state{group,table,partition}            goka.PartitionStatus
//	goka_table_recovery_records_done{group,table,partition}
//	goka_table_recovery_records_remaining{group,table,partition}
//	goka_table_recovery_remaining_seconds{group,table,partition}
//	goka_table_recoveries_total{group,table}
//	goka_table_recovery_duration_seconds{group,table}            histogram
//	goka_storage_flush_batches_total{group,table}
//	goka_storage_flush_errors_total{group,table}
//	goka_storage_flush_duration_seconds{group,table}             histogram
//	goka_view_state{table,state}
//	goka_view_brokers_unreachable{table}
//	goka_emitter_messages_total{topic}
//	goka_emitter_errors_total{topic}
//	goka_emitter_latency_seconds{topic}                          histogram
//	goka_processor_transaction_commits_total{group}              exactly-once
//	goka_processor_transaction_aborts_total{group}               exactly-once
//	goka_processor_transaction_duration_seconds{group}           exactly-once, histogram
//	goka_processor_window_late_records_total{group,topic,window} windows
//
// The group label is empty for tables of views. grafana-dashboard.json in
// this directory is a Grafana dashboard of these metrics.
package prometheus

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/plugin/internal/gauges"
)

// Metrics is a goka.Observer and a prometheus.Collector. One Metrics may
// observe any number of processors, views and emitters.
type Metrics struct {
	gauges.Sources

	processed, callbackFailures, produced, produceErrors *prom.CounterVec
	callbackDuration, produceLatency                     *prom.HistogramVec
	retries                                              prom.Counter
	rebalances                                           *prom.CounterVec
	rebalanceDuration                                    *prom.HistogramVec
	recoveries, flushes, flushErrors                     *prom.CounterVec
	recoveryDuration, flushDuration                      *prom.HistogramVec
	emitted, emitErrors                                  *prom.CounterVec
	emitLatency                                          *prom.HistogramVec
	txnCommits, txnAborts, lateRecords                   *prom.CounterVec
	txnDuration                                          *prom.HistogramVec
	gaugeDescs                                           [gaugeKinds]*prom.Desc
	gaugeLabels                                          [gaugeKinds][]string
	collectors                                           []prom.Collector
}

const gaugeKinds = 11 // len(gauges.Kinds())

var (
	_ prom.Collector            = (*Metrics)(nil)
	_ goka.ProcessorRunObserver = (*Metrics)(nil)
	_ goka.ViewRunObserver      = (*Metrics)(nil)
	_ goka.MessageObserver      = (*Metrics)(nil)
	_ goka.ProduceObserver      = (*Metrics)(nil)
	_ goka.RebalanceObserver    = (*Metrics)(nil)
	_ goka.StorageObserver      = (*Metrics)(nil)
	_ goka.TransactionObserver  = (*Metrics)(nil)
	_ goka.LateRecordObserver   = (*Metrics)(nil)
)

// Option configures New.
type Option func(*config)

type config struct {
	buckets []float64
	labels  prom.Labels
}

// Buckets sets the buckets of every duration histogram, in seconds.
// Default: prometheus.DefBuckets from 0.5 ms: 0.0005, 0.001, ... 10.
func Buckets(b ...float64) Option { return func(c *config) { c.buckets = b } }

// ConstLabels adds labels to every metric, e.g. an instance name.
// Default: none.
func ConstLabels(l map[string]string) Option { return func(c *config) { c.labels = l } }

// New returns metrics that are exported once registered with a
// prometheus.Registerer (or served by Handler).
func New(opts ...Option) *Metrics {
	c := config{buckets: append([]float64{0.0005}, prom.DefBuckets...)}
	for _, o := range opts {
		o(&c)
	}
	m := &Metrics{}
	counter := func(name, help string, labels ...string) *prom.CounterVec {
		v := prom.NewCounterVec(prom.CounterOpts{Namespace: "goka", Name: name, Help: help, ConstLabels: c.labels}, labels)
		m.collectors = append(m.collectors, v)
		return v
	}
	hist := func(name, help string, labels ...string) *prom.HistogramVec {
		v := prom.NewHistogramVec(prom.HistogramOpts{Namespace: "goka", Name: name, Help: help, ConstLabels: c.labels, Buckets: c.buckets}, labels)
		m.collectors = append(m.collectors, v)
		return v
	}
	m.processed = counter("processor_messages_processed_total", "Input messages whose callback returned.", "group", "topic", "partition")
	m.callbackFailures = counter("processor_callback_failures_total", "Callbacks that failed (panic, Context.Fail).", "group", "topic")
	m.callbackDuration = hist("processor_callback_duration_seconds", "Duration of input message callbacks.", "group", "topic")
	m.produced = counter("processor_messages_produced_total", "Messages a processor produced and Kafka acknowledged, by kind (emit, loopback, table).", "group", "topic", "kind")
	m.produceErrors = counter("processor_produce_errors_total", "Messages a processor produced that Kafka refused.", "group", "topic", "kind")
	m.produceLatency = hist("processor_produce_latency_seconds", "Time from producing a message to Kafka's answer.", "group", "kind")
	m.retries = prom.NewCounter(prom.CounterOpts{Namespace: "goka", Name: "producer_retries_total", Help: "Produce retries of sarama configs instrumented with CountRetries.", ConstLabels: c.labels})
	m.collectors = append(m.collectors, m.retries)
	m.rebalances = counter("processor_rebalances_total", "Partition assignments of a processor.", "group")
	m.rebalanceDuration = hist("processor_rebalance_duration_seconds", "Time from the end of a session (or joining) to the new assignment.", "group")
	m.recoveries = counter("table_recoveries_total", "Completed recoveries of table partitions.", "group", "table")
	m.recoveryDuration = hist("table_recovery_duration_seconds", "Duration of completed table partition recoveries.", "group", "table")
	m.flushes = counter("storage_flush_batches_total", "Write batches flushed to local storage.", "group", "table")
	m.flushErrors = counter("storage_flush_errors_total", "Failed flushes of local storage.", "group", "table")
	m.flushDuration = hist("storage_flush_duration_seconds", "Duration of local storage flushes.", "group", "table")
	m.emitted = counter("emitter_messages_total", "Messages an emitter sent and Kafka acknowledged.", "topic")
	m.emitErrors = counter("emitter_errors_total", "Messages an emitter sent that Kafka refused.", "topic")
	m.emitLatency = hist("emitter_latency_seconds", "Time from Emit to Kafka's answer.", "topic")
	m.txnCommits = counter("processor_transaction_commits_total", "Committed transactions (exactly-once).", "group")
	m.txnAborts = counter("processor_transaction_aborts_total", "Aborted transactions (exactly-once).", "group")
	m.txnDuration = hist("processor_transaction_duration_seconds", "Duration of transactions (exactly-once).", "group")
	m.lateRecords = counter("processor_window_late_records_total", "Records dropped by a window because they arrived after its grace period.", "group", "topic", "window")

	desc := func(k gauges.Kind, name, help string, labels ...string) {
		m.gaugeDescs[k] = prom.NewDesc("goka_"+name, help, labels, c.labels)
		m.gaugeLabels[k] = labels
	}
	desc(gauges.ConsumerLagMessages, "processor_consumer_lag_messages", "Messages of an input partition not yet processed.", "group", "topic", "partition")
	desc(gauges.ConsumerLagSeconds, "processor_consumer_lag_seconds", "Age of the last processed message of an input partition when it was processed.", "group", "topic", "partition")
	desc(gauges.AssignedPartitions, "processor_assigned_partitions", "Partitions a group processes in this program.", "group")
	desc(gauges.StandbyPartitions, "processor_standby_partitions", "Hot-standby partitions a group keeps in this program.", "group")
	desc(gauges.ProcessorState, "processor_state", "1 for the processor's current state.", "group", "state")
	desc(gauges.ViewState, "view_state", "1 for the view's current state.", "table", "state")
	desc(gauges.TablePartitionState, "table_partition_state", "State of a table partition: 0 stopped, 1 initializing, 2 connecting, 3 recovering, 4 preparing, 5 running.", "group", "table", "partition")
	desc(gauges.RecoveryRecordsDone, "table_recovery_records_done", "Records the current or last recovery of a table partition applied.", "group", "table", "partition")
	desc(gauges.RecoveryRecordsRemaining, "table_recovery_records_remaining", "Records a table partition's recovery still has to apply.", "group", "table", "partition")
	desc(gauges.RecoveryRemainingSeconds, "table_recovery_remaining_seconds", "Estimated time a table partition's recovery still takes.", "group", "table", "partition")
	m.gaugeDescs[gauges.BrokersUnreachable] = nil // two names, see Collect
	return m
}

var (
	procUnreachable = "goka_processor_brokers_unreachable"
	viewUnreachable = "goka_view_brokers_unreachable"
)

// labelValue returns the value of the label name in l.
func labelValue(l gauges.Labels, name string) string {
	switch name {
	case "group":
		return l.Group
	case "topic":
		return l.Topic
	case "table":
		return l.Table
	case "partition":
		return l.Partition
	}
	return l.State
}

// Handler serves the metrics of m alone, e.g. on /metrics.
func (m *Metrics) Handler() http.Handler {
	reg := prom.NewRegistry()
	reg.MustRegister(m)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// CountRetries makes sarama count its produce retries in
// goka_producer_retries_total, through cfg.Producer.Retry.BackoffFunc
// (keeping its backoff). sarama reports retries nowhere else. Call it on
// the config given to goka.ReplaceGlobalConfig or a ...WithConfig builder.
func (m *Metrics) CountRetries(cfg *sarama.Config) {
	orig, backoff := cfg.Producer.Retry.BackoffFunc, cfg.Producer.Retry.Backoff
	cfg.Producer.Retry.BackoffFunc = func(retries, maxRetries int) time.Duration {
		m.retries.Inc()
		if orig != nil {
			return orig(retries, maxRetries)
		}
		return backoff
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prom.Desc) {
	for _, c := range m.collectors {
		c.Describe(ch)
	}
	for _, d := range m.gaugeDescs {
		if d != nil {
			ch <- d
		}
	}
	ch <- unreachableDesc(procUnreachable, "group")
	ch <- unreachableDesc(viewUnreachable, "table")
}

func unreachableDesc(name, label string) *prom.Desc {
	return prom.NewDesc(name, "1 while none of the seed brokers answers.", []string{label}, nil)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prom.Metric) {
	for _, c := range m.collectors {
		c.Collect(ch)
	}
	for _, s := range m.Samples(time.Now()) {
		if s.Kind == gauges.BrokersUnreachable {
			if s.Labels.Group != "" {
				ch <- prom.MustNewConstMetric(unreachableDesc(procUnreachable, "group"), prom.GaugeValue, s.Value, s.Labels.Group)
			} else {
				ch <- prom.MustNewConstMetric(unreachableDesc(viewUnreachable, "table"), prom.GaugeValue, s.Value, s.Labels.Table)
			}
			continue
		}
		names := m.gaugeLabels[s.Kind]
		vals := make([]string, len(names))
		for i, name := range names {
			vals[i] = labelValue(s.Labels, name)
		}
		ch <- prom.MustNewConstMetric(m.gaugeDescs[s.Kind], prom.GaugeValue, s.Value, vals...)
	}
}

// OnMessage implements goka.MessageObserver.
func (m *Metrics) OnMessage(ctx context.Context, msg goka.MessageInfo) (context.Context, func(goka.MessageResult)) {
	group := string(msg.Group)
	return ctx, func(r goka.MessageResult) {
		m.processed.WithLabelValues(group, msg.Topic, strconv.Itoa(int(msg.Partition))).Inc()
		m.callbackDuration.WithLabelValues(group, msg.Topic).Observe(r.Duration.Seconds())
		if r.Err != nil {
			m.callbackFailures.WithLabelValues(group, msg.Topic).Inc()
		}
	}
}

// OnProduce implements goka.ProduceObserver.
func (m *Metrics) OnProduce(_ context.Context, p goka.ProduceInfo) (goka.Headers, func(goka.ProduceResult)) {
	if p.Kind == goka.ProduceEmitter {
		return p.Headers, func(r goka.ProduceResult) {
			m.emitLatency.WithLabelValues(p.Topic).Observe(r.Latency.Seconds())
			if r.Err != nil {
				m.emitErrors.WithLabelValues(p.Topic).Inc()
				return
			}
			m.emitted.WithLabelValues(p.Topic).Inc()
		}
	}
	group, kind := string(p.Group), p.Kind.String()
	return p.Headers, func(r goka.ProduceResult) {
		m.produceLatency.WithLabelValues(group, kind).Observe(r.Latency.Seconds())
		if r.Err != nil {
			m.produceErrors.WithLabelValues(group, p.Topic, kind).Inc()
			return
		}
		m.produced.WithLabelValues(group, p.Topic, kind).Inc()
	}
}

// OnRebalance implements goka.RebalanceObserver.
func (m *Metrics) OnRebalance(r goka.RebalanceInfo) {
	m.rebalances.WithLabelValues(string(r.Group)).Inc()
	m.rebalanceDuration.WithLabelValues(string(r.Group)).Observe(r.Duration.Seconds())
}

// OnFlush implements goka.StorageObserver.
func (m *Metrics) OnFlush(f goka.FlushInfo) {
	m.flushes.WithLabelValues(string(f.Group), f.Table).Inc()
	m.flushDuration.WithLabelValues(string(f.Group), f.Table).Observe(f.Duration.Seconds())
	if f.Err != nil {
		m.flushErrors.WithLabelValues(string(f.Group), f.Table).Inc()
	}
}

// OnRecovered implements goka.StorageObserver.
func (m *Metrics) OnRecovered(r goka.RecoveredInfo) {
	m.recoveries.WithLabelValues(string(r.Group), r.Table).Inc()
	m.recoveryDuration.WithLabelValues(string(r.Group), r.Table).Observe(r.Duration.Seconds())
}

// OnTransaction implements goka.TransactionObserver.
func (m *Metrics) OnTransaction(t goka.TransactionInfo) {
	g := string(t.Group)
	if t.Committed {
		m.txnCommits.WithLabelValues(g).Inc()
	} else {
		m.txnAborts.WithLabelValues(g).Inc()
	}
	m.txnDuration.WithLabelValues(g).Observe(t.Duration.Seconds())
}

// OnLateRecord implements goka.LateRecordObserver.
func (m *Metrics) OnLateRecord(r goka.LateRecordInfo) {
	m.lateRecords.WithLabelValues(string(r.Group), r.Topic, r.Window).Inc()
}
