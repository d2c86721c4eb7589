package goka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// standbyPartition keeps the group table and joined tables of a partition
// that is not assigned to this instance: passive with WithHotStandby
// (followed until the partition is assigned), recover-only with
// WithRecoverAhead.
type standbyPartition struct {
	partitionTables
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// stopStandbys stops sbs, all cancelled first so that they stop in
// parallel, and closes their storages, so that a partition processor can
// open them. Their partition consumers may still be closing (waiting for a
// fetch in flight): p.tablesClosing tracks them, and Run waits for it
// before it closes the consumer. Callers must not hold p.mu: the tables'
// goroutines run the UpdateCallback.
func (p *Processor) stopStandbys(sbs []*standbyPartition) error {
	for _, sb := range sbs {
		sb.cancel()
	}
	var errs []error
	for _, sb := range sbs {
		sb.wg.Wait()
		for _, t := range sb.tables() {
			errs = append(errs, t.CloseStorage())
			tp, closed := topicPartition{t.Topic(), t.Partition()}, make(chan struct{})
			p.closingMu.Lock()
			if p.closingTables == nil {
				p.closingTables = map[topicPartition]chan struct{}{}
			}
			prev := p.closingTables[tp]
			p.closingTables[tp] = closed
			p.closingMu.Unlock()
			p.tablesClosing.Go(func() {
				if prev != nil {
					<-prev // an earlier standby of the partition
				}
				t.WaitClosed()
				p.closingMu.Lock()
				if p.closingTables[tp] == closed {
					delete(p.closingTables, tp)
				}
				p.closingMu.Unlock()
				close(closed)
			})
		}
	}
	return errors.Join(errs...)
}

// standbyMode says which standby partitions a processor keeps.
type standbyMode int

const (
	standbyNone        standbyMode = iota // neither WithHotStandby nor WithRecoverAhead
	standbyRecoverOnce                    // WithRecoverAhead: every partition recovered once before joining
	standbyFollow                         // WithHotStandby: every unassigned partition followed
)

func (p *Processor) standbyMode() standbyMode {
	switch {
	case p.opts.hotStandby:
		return standbyFollow
	case p.opts.recoverAhead:
		return standbyRecoverOnce
	}
	return standbyNone
}

// newStandby opens and starts the tables of partition part.
func (p *Processor) newStandby(ctx context.Context, part int32, follow bool) (*standbyPartition, error) {
	mode := runModeRecoverOnly
	if follow {
		mode = runModePassive
	}
	sb := &standbyPartition{partitionTables: p.newPartitionTables(part, mode)}
	ctx, sb.cancel = context.WithCancel(ctx)
	for _, t := range sb.tables() {
		if err := t.Open(); err != nil {
			sb.cancel()
			_ = sb.closeTables()
			return nil, fmt.Errorf("standby partition %d: %w", part, err)
		}
	}
	for _, t := range sb.tables() {
		sb.wg.Go(func() {
			if err := t.Run(ctx, follow); err != nil {
				p.fail(fmt.Errorf("processor %q: standby table %s/%d: %w", p.graph.Group(), t.Topic(), t.Partition(), err))
			}
		})
	}
	return sb, nil
}

// prepareStandby runs before the processor joins its group: with
// WithRecoverAhead it recovers every partition first; with WithHotStandby
// it starts following every partition.
func (p *Processor) prepareStandby(ctx context.Context) error {
	if p.standbyMode() == standbyNone {
		return nil
	}
	p.changeMu.Lock()
	defer p.changeMu.Unlock()
	err := p.startStandbyLocked(ctx, true)
	p.mu.RLock()
	sbs := make([]*standbyPartition, 0, len(p.standby))
	for _, sb := range p.standby {
		sbs = append(sbs, sb)
	}
	p.mu.RUnlock()
	if err != nil || !p.opts.recoverAhead {
		return err
	}
	for _, sb := range sbs {
		for _, t := range sb.tables() {
			select {
			case <-t.Recovered():
			case <-ctx.Done():
				return nil
			}
		}
	}
	p.log.Printf("goka: processor %q: recovered all %d partitions ahead", p.graph.Group(), len(sbs))
	if p.standbyMode() == standbyRecoverOnce {
		return p.stopStandbys(p.takeAllStandby())
	}
	return nil
}

// startStandbyLocked starts standby tables for every partition neither
// active nor already standing by, when the processor keeps standbys between
// sessions (WithHotStandby); the initial call, before the first session,
// also starts the recover-only partitions of WithRecoverAhead. Callers hold
// p.changeMu; storages are opened with p.mu released.
func (p *Processor) startStandbyLocked(ctx context.Context, initial bool) error {
	switch mode := p.standbyMode(); {
	case mode == standbyNone, mode == standbyRecoverOnce && !initial:
		return nil
	}
	if p.graph.GroupTable() == nil && len(p.graph.JointTables()) == 0 {
		return nil
	}
	p.mu.RLock()
	var missing []int32
	for part := int32(0); part < int32(p.numPartitions); part++ {
		_, active := p.partitions[part]
		_, standing := p.standby[part]
		if !active && !standing {
			missing = append(missing, part)
		}
	}
	p.mu.RUnlock()
	for _, part := range missing {
		sb, err := p.newStandby(ctx, part, p.standbyMode() == standbyFollow)
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.standby[part] = sb
		p.mu.Unlock()
	}
	return nil
}

// takeStandby removes the standby partitions of parts from the processor
// and returns them for the caller to stop outside p.mu.
func (p *Processor) takeStandby(parts []int32) []*standbyPartition {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*standbyPartition
	for _, part := range parts {
		if sb, ok := p.standby[part]; ok {
			out = append(out, sb)
			delete(p.standby, part)
		}
	}
	return out
}

// takeAllStandby is takeStandby of every standby partition.
func (p *Processor) takeAllStandby() []*standbyPartition {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := slices.Collect(maps.Values(p.standby))
	clear(p.standby)
	return out
}

// stopStandby stops every standby partition.
func (p *Processor) stopStandby() error {
	p.changeMu.Lock()
	defer p.changeMu.Unlock()
	return p.stopStandbys(p.takeAllStandby())
}
