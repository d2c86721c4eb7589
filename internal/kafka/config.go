package kafka

import (
	"fmt"
	"time"
)

// Logger gets the topic manager's log lines.
type Logger interface {
	Printf(format string, args ...any)
}

// MismatchBehavior says what the topic manager does when an existing topic
// differs from what was requested.
type MismatchBehavior int

// The mismatch behaviours; their values are those of goka's
// TMConfigMismatchBehavior constants.
const (
	// MismatchIgnore accepts the difference silently.
	MismatchIgnore MismatchBehavior = 0
	// MismatchWarn logs the difference.
	MismatchWarn MismatchBehavior = 1
	// MismatchFail returns an error.
	MismatchFail MismatchBehavior = 2
)

// Config configures a TopicManager. It mirrors goka's TopicManagerConfig.
type Config struct {
	// Logger gets the log lines. Default (nil): they are dropped.
	Logger Logger
	Table  struct {
		// Replication is the replication factor of new table topics.
		// Default: 2.
		Replication int
		// CleanupPolicy of new table topics. Default: "compact".
		CleanupPolicy string
	}
	Stream struct {
		// Replication is the replication factor of new stream topics.
		// Default: 2.
		Replication int
		// Retention of new stream topics. Default: 1 h.
		Retention time.Duration
		// CleanupPolicy of new stream topics. Default: "delete".
		CleanupPolicy string
	}
	// CreateTopicTimeout bounds the wait for a created topic to show up in
	// the metadata; 0 means no wait. Default: 10 s.
	CreateTopicTimeout time.Duration
	// MismatchBehavior says what to do when an existing topic differs from
	// the request. Default: MismatchIgnore.
	MismatchBehavior MismatchBehavior
	// NoCreate makes Ensure* return an error instead of creating a missing
	// topic. Default: false.
	NoCreate bool
}

// DefaultConfig returns the defaults (Goka's), without a logger.
func DefaultConfig() Config {
	var c Config
	c.Table.Replication = 2
	c.Table.CleanupPolicy = "compact"
	c.Stream.Replication = 2
	c.Stream.Retention = time.Hour
	c.Stream.CleanupPolicy = "delete"
	c.CreateTopicTimeout = 10 * time.Second
	return c
}

func (c *Config) validate() error {
	switch {
	case c.Table.Replication < 1:
		return fmt.Errorf("topic manager config: Table.Replication must be >= 1, got %d", c.Table.Replication)
	case c.Stream.Replication < 1:
		return fmt.Errorf("topic manager config: Stream.Replication must be >= 1, got %d", c.Stream.Replication)
	case c.CreateTopicTimeout < 0:
		return fmt.Errorf("topic manager config: CreateTopicTimeout must be >= 0, got %v", c.CreateTopicTimeout)
	case c.MismatchBehavior < MismatchIgnore || c.MismatchBehavior > MismatchFail:
		return fmt.Errorf("topic manager config: invalid MismatchBehavior %d", c.MismatchBehavior)
	}
	return nil
}

type discard struct{}

func (discard) Printf(string, ...any) {}
