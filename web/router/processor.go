package router

import (
	"errors"

	"github.com/e3793d55/goka"
)

// ProcessorLocator locates keys with p.KeyOwner: p must run with the
// cooperative strategy (goka.WithCooperativeRebalance) and a query address
// (goka.WithQueryAddress) on every instance. Before p has its group's
// first assignment a key has no owner (the router answers 503 with
// Retry-After).
func ProcessorLocator(p *goka.Processor) Locator {
	return LocatorFunc(func(key string) (Location, error) {
		o, err := p.KeyOwner(key)
		if errors.Is(err, goka.ErrNoAssignment) {
			return Location{}, nil
		}
		if err != nil {
			return Location{}, err
		}
		loc := Location{Partition: o.Partition, Active: o.Active.QueryAddress}
		for _, s := range o.Standbys {
			loc.Standbys = append(loc.Standbys, s.QueryAddress)
		}
		return loc, nil
	})
}
