package mocks

// The mockgen version is pinned here and in the Makefile's MOCKGEN_VERSION.
//go:generate go run go.uber.org/mock/mockgen@v0.6.0 -destination=storage.go -package=mocks -mock_names=Storage=MockStorage,Iterator=MockIterator github.com/e3793d55/goka/storage Storage,Iterator
//go:generate go run go.uber.org/mock/mockgen@v0.6.0 -destination=goka.go -package=mocks github.com/e3793d55/goka TopicManager,Producer,Broker
//go:generate go run go.uber.org/mock/mockgen@v0.6.0 -destination=sarama.go -package=mocks github.com/IBM/sarama ConsumerGroup,ConsumerGroupSession,ConsumerGroupClaim,Client,ClusterAdmin
