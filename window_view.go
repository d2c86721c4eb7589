package goka

import (
	"fmt"
	"time"

	"github.com/e3793d55/goka/internal/table"
	"github.com/e3793d55/goka/internal/window"
)

// WithViewWindowStore makes the view a view of a group's time store: its
// table must be WindowTable(group) and its codec the aggregate codec of the
// group's Windowed edge; View.Windows then queries it. The view keeps
// every window the changelog holds (it does not purge). Default: off (a
// plain table view).
func WithViewWindowStore() ViewOption {
	return func(o *voptions, _ Table, _ Codec) { o.windowStore = true }
}

// windowApply makes cfg apply time-store records when the view is a
// window-store view.
func (o *voptions) windowApply(cfg *table.Config) {
	if o.windowStore {
		cfg.Apply = windowApply(window.Spec{})
	}
}

// Windows returns the windows of key whose start is in [from, to], oldest
// first, from a view created with WithViewWindowStore.
func (v *View) Windows(key string, from, to time.Time) ([]WindowValue, error) {
	if !v.opts.windowStore {
		return nil, fmt.Errorf("view of %q: Windows needs WithViewWindowStore", v.topic)
	}
	p, err := v.partitionFor(key)
	if err != nil {
		return nil, err
	}
	return readWindows(p, v.codec, key, from, to)
}
