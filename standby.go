package goka

import (
	"context"
	"errors"
	"fmt"
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

// stop stops the goroutines and closes the storages.
func (sb *standbyPartition) stop() error {
	sb.cancel()
	sb.wg.Wait()
	return sb.closeTables()
}

// newStandby opens and starts the tables of partition part. Callers hold
// p.mu.
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
		sb.wg.Add(1)
		go func(t *partitionTable) {
			defer sb.wg.Done()
			if err := t.Run(ctx, follow); err != nil {
				p.fail(fmt.Errorf("processor %q: standby table %s/%d: %w", p.graph.Group(), t.Topic(), t.Partition(), err))
			}
		}(t)
	}
	return sb, nil
}

// prepareStandby runs before the processor joins its group: with
// WithRecoverAhead it recovers every partition first; with WithHotStandby
// it starts following every partition.
func (p *Processor) prepareStandby(ctx context.Context) error {
	if !p.opts.hotStandby && !p.opts.recoverAhead {
		return nil
	}
	p.mu.Lock()
	err := p.startStandby(ctx, true)
	sbs := make([]*standbyPartition, 0, len(p.standby))
	for _, sb := range p.standby {
		sbs = append(sbs, sb)
	}
	p.mu.Unlock()
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
	if !p.opts.hotStandby {
		return p.stopStandby()
	}
	return nil
}

// startStandby starts standby tables for every partition neither active
// nor already standing by. Callers hold p.mu.
func (p *Processor) startStandby(ctx context.Context, initial bool) error {
	if !p.opts.hotStandby && (!initial || !p.opts.recoverAhead) {
		return nil
	}
	if p.graph.GroupTable() == nil && len(p.graph.JointTables()) == 0 {
		return nil
	}
	for part := int32(0); part < int32(p.numPartitions); part++ {
		if _, ok := p.partitions[part]; ok {
			continue
		}
		if _, ok := p.standby[part]; ok {
			continue
		}
		sb, err := p.newStandby(ctx, part, p.opts.hotStandby)
		if err != nil {
			return err
		}
		p.standby[part] = sb
	}
	return nil
}

// releaseStandby stops the standby tables of part so that an active
// partition processor can open its storages. Callers hold p.mu.
func (p *Processor) releaseStandby(part int32) error {
	sb, ok := p.standby[part]
	if !ok {
		return nil
	}
	delete(p.standby, part)
	return sb.stop()
}

// stopStandby stops every standby partition.
func (p *Processor) stopStandby() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for part := range p.standby {
		errs = append(errs, p.releaseStandby(part))
	}
	return errors.Join(errs...)
}
