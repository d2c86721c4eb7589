package goka

import (
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/e3793d55/goka/storage"
)

// ViewOption configures a view.
type ViewOption func(*voptions, Table, Codec)

type voptions struct {
	log              Logger
	clientID         string
	testerClientID   bool // the tester's client ID wins over WithViewClientID
	updateCallback   UpdateCallback
	hasher           func() hash.Hash32
	autoreconnect    bool
	restartable      bool // WithViewRestartable was given: NewView logs its deprecation through the final logger
	backoffResetTime time.Duration
	windowStore      bool // WithViewWindowStore (window_view.go)
	topicWait        time.Duration
	builders         builders
	outageTimeout    time.Duration
	obs              *observers // WithViewObserver; nil: none
	readCommitted    bool       // WithViewReadCommitted (options_eos.go)
	customConsumer   bool       // WithViewConsumerSaramaBuilder was given
}

// DefaultViewTopicWait is how long View.Run waits for a missing table topic
// to be created (see WithViewTopicWait). It covers the usual start-up where
// the processor owning the table creates the topic in its own Run while the
// view starts, plus the topic manager's CreateTopicTimeout.
const DefaultViewTopicWait = 30 * time.Second

func (o *voptions) applyDefaults(topic Table) {
	o.log = DefaultLogger()
	o.clientID = "goka-view-" + string(topic)
	o.updateCallback = DefaultUpdate
	o.hasher = DefaultHasher()
	o.backoffResetTime = 60 * time.Second
	o.topicWait = DefaultViewTopicWait
	o.outageTimeout = DefaultBrokerOutageTimeout
	o.builders = builders{
		// nil storage means: a private directory per view, chosen in NewView.
		consumerSarama: DefaultSaramaConsumerBuilder,
		topicmgr:       DefaultTopicManagerBuilder,
		backoff:        DefaultBackoffBuilder,
	}
}

func (o *voptions) validate() error {
	var errs []error
	check := func(bad bool, field, option string) {
		if bad {
			errs = append(errs, fmt.Errorf("%s not set (%s)", field, option))
		}
	}
	check(o.builders.consumerSarama == nil, "SaramaConsumerBuilder", "WithViewConsumerSaramaBuilder")
	check(o.builders.topicmgr == nil, "TopicManagerBuilder", "WithViewTopicManagerBuilder")
	check(o.builders.backoff == nil, "BackoffBuilder", "WithViewBackoffBuilder")
	check(o.log == nil, "Logger", "WithViewLogger")
	check(o.hasher == nil, "Hasher", "WithViewHasher")
	check(o.updateCallback == nil, "UpdateCallback", "WithViewCallback")
	if o.backoffResetTime < 0 {
		errs = append(errs, fmt.Errorf("BackoffResetTimeout must be >= 0, got %v (WithViewBackoffResetTimeout)", o.backoffResetTime))
	}
	if o.topicWait < 0 {
		errs = append(errs, fmt.Errorf("TopicWait must be >= 0, got %v (WithViewTopicWait)", o.topicWait))
	}
	if o.outageTimeout < 0 {
		errs = append(errs, fmt.Errorf("BrokerOutageTimeout must be >= 0, got %v (WithViewBrokerOutageTimeout)", o.outageTimeout))
	}
	if o.readCommitted && o.customConsumer && !o.testerClientID {
		errs = append(errs, errors.New("ReadCommitted cannot be applied to the consumer of WithViewConsumerSaramaBuilder (WithViewReadCommitted): set Consumer.IsolationLevel = sarama.ReadCommitted in its config"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid view options: %w", errors.Join(errs...))
	}
	return nil
}

// WithViewLogger sets the logger. Default: DefaultLogger().
func WithViewLogger(l Logger) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.log = l }
}

// WithViewCallback sets the callback applying table records to storage.
// Default: DefaultUpdate.
func WithViewCallback(cb UpdateCallback) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.updateCallback = cb }
}

// WithViewStorageBuilder sets the storage of the view. Default: LevelDB in
// a directory of its own under DefaultViewStoragePath(), unique per view
// instance, so that two views of one table in one process do not clash
// (Goka shares one directory; pass storage.DefaultBuilder(DefaultViewStoragePath())
// to get Goka's layout and keep the local copy across restarts).
func WithViewStorageBuilder(sb storage.Builder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.storage = sb }
}

// WithViewConsumerSaramaBuilder sets the consumer builder. Default:
// DefaultSaramaConsumerBuilder.
func WithViewConsumerSaramaBuilder(cgb SaramaConsumerBuilder) ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		o.builders.consumerSarama = cgb
		o.customConsumer = true
	}
}

// WithViewTopicManagerBuilder sets the topic manager builder. Default:
// DefaultTopicManagerBuilder.
func WithViewTopicManagerBuilder(tmb TopicManagerBuilder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.topicmgr = tmb }
}

// WithViewBackoffBuilder sets the backoff between reconnection attempts.
// Default: DefaultBackoffBuilder.
func WithViewBackoffBuilder(bb BackoffBuilder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.backoff = bb }
}

// WithViewHasher sets the hash mapping keys to partitions. Default:
// DefaultHasher().
func WithViewHasher(hasher func() hash.Hash32) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.hasher = hasher }
}

// WithViewClientID sets the Kafka client ID. Default: "goka-view-<table>".
// After WithViewTester it is ignored: the tester finds its views by the
// client ID it handed out (Goka breaks in that order).
func WithViewClientID(clientID string) ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		if !o.testerClientID {
			o.clientID = clientID
		}
	}
}

// WithViewRestartable is a deprecated alias of WithViewAutoReconnect, kept
// for Goka compatibility.
//
// Deprecated: use WithViewAutoReconnect.
func WithViewRestartable() ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		o.restartable = true
		o.autoreconnect = true
	}
}

// WithViewAutoReconnect makes Run retry with backoff after a connection
// error instead of returning it. Default: off.
func WithViewAutoReconnect() ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.autoreconnect = true }
}

// WithViewBackoffResetTimeout sets how long a connection must stay healthy
// before the backoff resets. Default: 60 s.
func WithViewBackoffResetTimeout(duration time.Duration) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.backoffResetTime = duration }
}

// WithViewTopicWait sets how long Run waits for the table topic when it
// does not exist yet, polling the topic manager, before it returns an error
// wrapping ErrTopicNotFound. Goka checks the topic in NewView, after
// NewProcessor has created it; here constructors do no network I/O and the
// processor creates its table in Run, so a view started together with the
// processor of its table waits for the topic instead of failing. 0 fails at
// once. Lookup tables of a processor use the default. Default:
// DefaultViewTopicWait (30 s).
func WithViewTopicWait(d time.Duration) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.topicWait = d }
}

// WithViewTester replaces Kafka and the storage with the tester's fakes.
func WithViewTester(t Tester) ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		o.builders.storage = t.StorageBuilder()
		o.builders.topicmgr = t.TopicManagerBuilder()
		o.builders.consumerSarama = t.ConsumerBuilder()
		o.clientID = t.RegisterView(table, codec)
		o.testerClientID = true
	}
}

// WithViewBrokerOutageTimeout sets how long a view without
// WithViewAutoReconnect rides out an outage of all its brokers. While it
// runs, the view opens a TCP connection to one of its seed brokers every
// second; when none accepts, it shows the outage (ViewStateConnecting,
// ViewStats.Brokers), stops its consumers and reconnects as soon as a
// broker answers, and when none answered for d, Run returns an error
// wrapping ErrBrokerUnreachable that names the brokers. 0 rides out any
// outage. With WithViewAutoReconnect the view rides out any outage, as if
// d were 0. Views run by the tester do not probe. Default:
// DefaultBrokerOutageTimeout (15 s). Not in Goka, whose view keeps
// "running" without brokers.
func WithViewBrokerOutageTimeout(d time.Duration) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.outageTimeout = d }
}
