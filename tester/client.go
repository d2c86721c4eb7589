package tester

import "fmt"

// client is one registered processor or view: what it consumes and whether
// it runs. Its fields are guarded by Tester.mu.
type client struct {
	tt *Tester
	id string

	// Processors: group, consumer group and joined tables.
	group string
	cg    *consumerGroup
	joins []string
	// Views: the table.
	table string

	consumers []*consumer
	// stopped is set when the component's Run ended: its consumer group
	// or its own consumer was closed. Stopped components are not waited
	// for.
	stopped bool
}

func (c *client) String() string {
	if c.cg != nil {
		return fmt.Sprintf("processor of group %q (%s)", c.group, c.id)
	}
	return fmt.Sprintf("view of table %q (%s)", c.table, c.id)
}

// hasPartitionConsumer reports whether one of the client's consumers reads
// topic.
func (c *client) hasPartitionConsumer(topic string) bool {
	for _, cons := range c.consumers {
		for _, pc := range cons.pcs {
			if pc.topic == topic {
				return true
			}
		}
	}
	return false
}

// startedLocked reports whether the component runs or ran: a processor
// consumes its inputs and follows its joined tables, a view follows its
// table.
func (c *client) startedLocked() bool {
	if c.stopped {
		return true
	}
	if c.cg != nil {
		if c.cg.closed {
			return true
		}
		if c.cg.session == nil || !c.cg.session.consuming {
			return false
		}
		for _, j := range c.joins {
			if !c.hasPartitionConsumer(j) {
				return false
			}
		}
		return true
	}
	return c.hasPartitionConsumer(c.table)
}

// busyLocked describes what the component has not yet consumed; nothing
// if it is idle or stopped.
func (c *client) busyLocked() []string {
	if c.stopped || (c.cg != nil && c.cg.closed) {
		return nil
	}
	if !c.startedLocked() {
		return []string{c.String() + " is not running"}
	}
	var busy []string
	if c.cg != nil {
		busy = append(busy, c.cg.session.busyLocked()...)
	}
	for _, cons := range c.consumers {
		for _, pc := range cons.pcs {
			if hwm := c.tt.queueLocked(pc.topic).hwm(); pc.applied < hwm {
				busy = append(busy, fmt.Sprintf("%s has applied %d of %d records of table %q", c, pc.applied, hwm, pc.topic))
			}
		}
	}
	return busy
}
