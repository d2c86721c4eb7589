package kafka

import (
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// A broker answers the requests of one connection in order, one at a
// time (Kafka mutes a connection until its request is answered; kfake
// too). sarama's client keeps one connection per broker, so a consumer
// group's JoinGroup and SyncGroup, which the coordinator holds until
// every member has rejoined, queue the fetches of every partition that
// broker leads behind them: each rebalance stops the partitions a
// cooperative member keeps, for as long as the group takes to rejoin (up
// to a heartbeat interval and more). The Java client talks to the
// coordinator on a connection of its own for this reason.
//
// NewConsumerGroup gives the group's coordinator requests (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch) a
// connection of their own, so that fetches go on through a rebalance.

// NewConsumerGroup returns a consumer group on a new client of cfg whose
// coordinator requests use a connection of their own. Closing the group
// closes the client and that connection.
func NewConsumerGroup(brokers []string, group string, cfg *sarama.Config) (sarama.ConsumerGroup, error) {
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return nil, err
	}
	cc := &coordinatorClient{Client: client, group: group}
	cg, err := sarama.NewConsumerGroupFromClient(group, cc)
	if err != nil {
		return nil, errors.Join(err, cc.Close())
	}
	return &ownClientGroup{ConsumerGroup: cg, client: cc}, nil
}

// ownClientGroup closes its client after the group:
// sarama.NewConsumerGroupFromClient leaves the client open.
type ownClientGroup struct {
	sarama.ConsumerGroup
	client sarama.Client
}

func (g *ownClientGroup) Close() error {
	return errors.Join(g.ConsumerGroup.Close(), g.client.Close())
}

// coordinatorClient is a sarama.Client whose Coordinator of its group is
// a broker connection of its own, opened on first use and again after
// sarama closed it (it closes a coordinator that failed a request).
type coordinatorClient struct {
	sarama.Client
	group string

	mu  sync.Mutex // guards own
	own *sarama.Broker
}

// Coordinator returns the dedicated connection to group's coordinator;
// other groups' coordinators are the client's shared connections.
func (c *coordinatorClient) Coordinator(group string) (*sarama.Broker, error) {
	shared, err := c.Client.Coordinator(group)
	if err != nil || group != c.group {
		return shared, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.own != nil && c.own.Addr() == shared.Addr() {
		// Connected waits for a connection still being opened.
		if ok, _ := c.own.Connected(); ok {
			return c.own, nil
		}
	}
	if c.own != nil {
		// Closed by sarama, failed to connect or moved: a new one. A
		// broker already closed answers ErrNotConnected here.
		_ = c.own.Close()
	}
	own := sarama.NewBroker(shared.Addr())
	if err := own.Open(c.Config()); err != nil && !errors.Is(err, sarama.ErrAlreadyConnected) {
		return nil, fmt.Errorf("connecting to the coordinator %s of group %q: %w", shared.Addr(), group, err)
	}
	c.own = own
	return own, nil
}

// Close closes the dedicated connection and the client.
func (c *coordinatorClient) Close() error {
	c.mu.Lock()
	own := c.own
	c.own = nil
	c.mu.Unlock()
	var err error
	if own != nil {
		if cerr := own.Close(); cerr != nil && !errors.Is(cerr, sarama.ErrNotConnected) {
			err = cerr
		}
	}
	return errors.Join(err, c.Client.Close())
}
