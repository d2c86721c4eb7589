// Package kafka is goka's Kafka plumbing: the topic manager (topic checks
// and creation, offsets, the recovery end probe), the list of transient
// broker errors, key partitioning and the copartitioning balance strategy.
// It never imports the root package; the root re-exports what users need.
//
// # Contexts
//
// sarama's calls take no context. Every method with a ctx runs its sarama
// calls so that cancelling ctx returns at once: the call goes on in a
// goroutine owned by the TopicManager until the sarama config's own
// timeouts (Net.*Timeout, Metadata.Retry, Consumer.MaxWaitTime) end it, and
// Close, which closes the connections, waits for it. The retry sleeps and
// polls select on ctx. The methods without ctx use context.Background().
//
// # Errors
//
// The sentinels ErrTopicNotFound, ErrNotCopartitioned, ErrNilConfig,
// ErrNoBrokers and ErrBrokerUnreachable are re-exported by goka with the
// same values, so errors.Is works on either name. A failing metadata
// request is reported as that error, never as ErrTopicNotFound.
package kafka
