package goka

import (
	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/kafka"
)

// CopartitioningStrategy is the consumer-group balance strategy of
// processors: every member gets the same partition numbers of every topic,
// so that a partition's inputs, loop and table meet in one goroutine. The
// topics must have identical partition sets.
var CopartitioningStrategy sarama.BalanceStrategy = &kafka.CopartitionStrategy{}

// StrictCopartitioningStrategy is CopartitioningStrategy that also fails
// when the members subscribe to different sets of topics.
var StrictCopartitioningStrategy sarama.BalanceStrategy = &kafka.CopartitionStrategy{Strict: true}
