package goka

import (
	"fmt"
	"sync"
)

// State is the state of a processor or of a partition processor.
type State int

// States of a Processor. A processor goes Idle → Starting, then through
// Setup → Running → Stopping for every consumer-group generation, and ends
// Stopped.
const (
	ProcStateIdle State = iota
	ProcStateStarting
	ProcStateSetup
	ProcStateRunning
	ProcStateStopping
	ProcStateStopped
)

// States of one partition of a processor.
const (
	PPStateIdle State = iota
	PPStateRecovering
	PPStateRunning
	PPStateStopping
	PPStateStopped
)

// StateReader reads and observes a state.
type StateReader interface {
	State() State
	IsState(State) bool
	WaitForStateMin(state State) <-chan struct{}
	WaitForState(state State) <-chan struct{}
	ObserveStateChange() *StateChangeObserver
}

// Signal is a state machine whose state changes can be waited for and
// observed. It is safe for concurrent use.
type Signal struct {
	m         sync.RWMutex
	state     State
	allowed   map[State]bool
	waiters   []*waiter
	observers []*StateChangeObserver
}

type waiter struct {
	done     chan struct{}
	state    State
	minState bool
}

// StateChangeObserver receives the states of a Signal. Its channel has a
// buffer of one and receives the current state first. A slow observer never
// blocks its signal: it misses intermediate states and reads the newest one.
// Call Stop when done to detach it.
type StateChangeObserver struct {
	c    chan State
	stop func()
	once sync.Once
}

// C returns the channel of states.
func (o *StateChangeObserver) C() <-chan State { return o.c }

// Stop detaches the observer from its signal and closes its channel.
func (o *StateChangeObserver) Stop() {
	o.once.Do(func() {
		o.stop()
	})
}

// NewSignal returns a signal that may take the given states; it starts in
// the first one.
func NewSignal(states ...State) *Signal {
	s := &Signal{allowed: make(map[State]bool, len(states))}
	for _, st := range states {
		s.allowed[st] = true
	}
	if len(states) > 0 {
		s.state = states[0]
	}
	return s
}

// SetState sets the state; it panics on a state not given to NewSignal.
// Setting the current state again notifies nobody.
func (s *Signal) SetState(state State) *Signal {
	s.m.Lock()
	defer s.m.Unlock()
	if !s.allowed[state] {
		panic(fmt.Sprintf("goka: signal: invalid state %d", state))
	}
	if s.state == state {
		return s
	}
	s.state = state
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		if w.state == state || (w.minState && state >= w.state) {
			close(w.done)
			continue
		}
		kept = append(kept, w)
	}
	for i := len(kept); i < len(s.waiters); i++ {
		s.waiters[i] = nil
	}
	s.waiters = kept
	// Observers never block a state change: a slow observer's buffered,
	// unread state is replaced by the newest one.
	for _, o := range s.observers {
		select {
		case o.c <- state:
		default:
			select {
			case <-o.c:
			default:
			}
			o.c <- state
		}
	}
	return s
}

// State returns the current state.
func (s *Signal) State() State {
	s.m.RLock()
	defer s.m.RUnlock()
	return s.state
}

// IsState reports whether the current state is state.
func (s *Signal) IsState(state State) bool { return s.State() == state }

// WaitForStateMin returns a channel closed once the state is at least state.
func (s *Signal) WaitForStateMin(state State) <-chan struct{} {
	c, _ := s.wait(state, true)
	return c
}

// WaitForStateMinWithCleanup is WaitForStateMin with a function that drops
// the waiter when the caller stops waiting early.
func (s *Signal) WaitForStateMinWithCleanup(state State) (<-chan struct{}, func()) {
	return s.wait(state, true)
}

// WaitForState returns a channel closed once the state is state.
func (s *Signal) WaitForState(state State) <-chan struct{} {
	c, _ := s.wait(state, false)
	return c
}

func (s *Signal) wait(state State, minState bool) (<-chan struct{}, func()) {
	s.m.Lock()
	defer s.m.Unlock()
	w := &waiter{done: make(chan struct{}), state: state, minState: minState}
	if s.state == state || (minState && s.state >= state) {
		close(w.done)
		return w.done, func() {}
	}
	s.waiters = append(s.waiters, w)
	return w.done, func() {
		s.m.Lock()
		defer s.m.Unlock()
		for i, o := range s.waiters {
			if o == w {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				return
			}
		}
	}
}

// ObserveStateChange returns an observer that receives the current state
// and every later change.
func (s *Signal) ObserveStateChange() *StateChangeObserver {
	s.m.Lock()
	defer s.m.Unlock()
	o := &StateChangeObserver{c: make(chan State, 1)}
	o.stop = func() {
		s.m.Lock()
		defer s.m.Unlock()
		for i, x := range s.observers {
			if x == o {
				s.observers = append(s.observers[:i], s.observers[i+1:]...)
				break
			}
		}
		close(o.c)
	}
	o.c <- s.state
	s.observers = append(s.observers, o)
	return o
}
