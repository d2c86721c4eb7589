package goka_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
)

// Every validation message names the option that sets the bad field, in one
// style per component.
func TestOptionValidationMessages(t *testing.T) {
	brokers := []string{"127.0.0.1:1"}
	proc := func(opts ...goka.ProcessorOption) error {
		_, err := goka.NewProcessor(brokers, countGraph("opts", "input"), opts...)
		return err
	}
	view := func(opts ...goka.ViewOption) error {
		_, err := goka.NewView(brokers, "opts-table", new(codec.String), opts...)
		return err
	}
	emitter := func(opts ...goka.EmitterOption) error {
		_, err := goka.NewEmitter(brokers, "opts-stream", new(codec.String), opts...)
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"processor storage", proc(goka.WithStorageBuilder(nil)), "StorageBuilder not set (WithStorageBuilder)"},
		{"processor consumer", proc(goka.WithConsumerSaramaBuilder(nil)), "SaramaConsumerBuilder not set (WithConsumerSaramaBuilder)"},
		{"processor logger", proc(goka.WithLogger(nil)), "Logger not set (WithLogger)"},
		{"processor update callback", proc(goka.WithUpdateCallback(nil)), "UpdateCallback not set (WithUpdateCallback)"},
		{"processor channel size", proc(goka.WithPartitionChannelSize(-1)), "PartitionChannelSize must be >= 0, got -1 (WithPartitionChannelSize)"},
		{"processor nil handling", proc(goka.WithNilHandling(7)), "invalid NilHandling 7 (WithNilHandling)"},
		{"processor flush interval", proc(goka.WithStorageFlushInterval(0)), "StorageFlushInterval must be > 0, got 0s (WithStorageFlushInterval)"},
		{"view logger", view(goka.WithViewLogger(nil)), "Logger not set (WithViewLogger)"},
		{"view callback", view(goka.WithViewCallback(nil)), "UpdateCallback not set (WithViewCallback)"},
		{"view topic wait", view(goka.WithViewTopicWait(-time.Second)), "TopicWait must be >= 0, got -1s (WithViewTopicWait)"},
		{"view outage timeout", view(goka.WithViewBrokerOutageTimeout(-time.Second)), "BrokerOutageTimeout must be >= 0, got -1s (WithViewBrokerOutageTimeout)"},
		{"emitter producer", emitter(goka.WithEmitterProducerBuilder(nil)), "ProducerBuilder not set (WithEmitterProducerBuilder)"},
		{"emitter logger", emitter(goka.WithEmitterLogger(nil)), "Logger not set (WithEmitterLogger)"},
		{"emitter hasher", emitter(goka.WithEmitterHasher(nil)), "Hasher not set (WithEmitterHasher)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.err, tc.want)
		})
	}
}

// The deprecation of WithViewRestartable reaches the logger the options
// chose, whichever comes first, once.
func TestViewRestartableLogsDeprecationToFinalLogger(t *testing.T) {
	const deprecated = "WithViewRestartable is deprecated"
	for _, tc := range []struct {
		name  string
		opts  func(l goka.Logger) []goka.ViewOption
		lines int
	}{
		{"restartable first", func(l goka.Logger) []goka.ViewOption {
			return []goka.ViewOption{goka.WithViewRestartable(), goka.WithViewLogger(l)}
		}, 1},
		{"logger first", func(l goka.Logger) []goka.ViewOption {
			return []goka.ViewOption{goka.WithViewLogger(l), goka.WithViewRestartable()}
		}, 1},
		{"given twice", func(l goka.Logger) []goka.ViewOption {
			return []goka.ViewOption{goka.WithViewRestartable(), goka.WithViewLogger(l), goka.WithViewRestartable()}
		}, 1},
		{"auto reconnect", func(l goka.Logger) []goka.ViewOption {
			return []goka.ViewOption{goka.WithViewAutoReconnect(), goka.WithViewLogger(l)}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := new(recordingLogger)
			_, err := goka.NewView([]string{"127.0.0.1:1"}, "restartable-table", new(codec.String), tc.opts(l)...)
			require.NoError(t, err)
			n := 0
			for _, line := range l.all() {
				if strings.Contains(line, deprecated) {
					n++
				}
			}
			require.Equal(t, tc.lines, n, "lines: %q", l.all())
		})
	}
}
