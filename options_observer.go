package goka

import (
	"context"
	"log/slog"

	"github.com/IBM/sarama"
)

// WithObserver adds observers of the processor: each of its hooks (see
// Observer) that o implements is called. The option may be given more
// than once, e.g. for metrics and tracing; observers are called in the
// order given. The processor's lookup views get the observers too.
// Default: none, and then observing costs a nil check per event. Not in
// Goka.
func WithObserver(o ...Observer) ProcessorOption {
	return func(po *poptions, gg *GroupGraph) {
		for _, x := range o {
			addObserver(&po.obs, x)
		}
	}
}

// WithViewObserver adds observers of the view, as WithObserver does for a
// processor. Default: none. Not in Goka.
func WithViewObserver(o ...Observer) ViewOption {
	return func(vo *voptions, topic Table, codec Codec) {
		for _, x := range o {
			addObserver(&vo.obs, x)
		}
	}
}

// WithEmitterObserver adds observers of the emitter, as WithObserver does
// for a processor; an emitter calls ProduceObserver only. Default: none.
// Not in Goka.
func WithEmitterObserver(o ...Observer) EmitterOption {
	return func(eo *eoptions, topic Stream, codec Codec) {
		for _, x := range o {
			addObserver(&eo.obs, x)
		}
	}
}

// withViewObservers hands a processor's observers to its lookup views.
func withViewObservers(obs *observers) ViewOption {
	return func(vo *voptions, topic Table, codec Codec) { vo.obs = obs }
}

// WithSlogLogger sets the processor's logger to l through SlogLogger.
// Default: DefaultLogger(). Not in Goka.
func WithSlogLogger(l *slog.Logger) ProcessorOption { return WithLogger(SlogLogger(l)) }

// WithViewSlogLogger sets the view's logger to l through SlogLogger.
// Default: DefaultLogger(). Not in Goka.
func WithViewSlogLogger(l *slog.Logger) ViewOption { return WithViewLogger(SlogLogger(l)) }

// WithEmitterSlogLogger sets the emitter's logger to l through SlogLogger.
// Default: DefaultLogger(). Not in Goka.
func WithEmitterSlogLogger(l *slog.Logger) EmitterOption { return WithEmitterLogger(SlogLogger(l)) }

// emitObserved produces with the emitter's observers around the message.
func (e *Emitter) emitObserved(ctx context.Context, key string, data []byte, headers Headers) *Promise {
	headers, span := e.opts.obs.beginProduce(ctx, "", ProduceEmitter, e.topic, key, headers)
	return e.producer.EmitWithHeaders(e.topic, key, data, headers).ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
		span.end(msg, err)
		e.inflight.Done()
	})
}
