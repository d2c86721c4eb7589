package actions

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Actor is an action that can be started from the web page.
type Actor interface {
	// RunAction runs the action until it is done or ctx is canceled.
	RunAction(ctx context.Context, value string) error
	// Description is shown next to the action's name.
	Description() string
}

type funcActor struct {
	description string
	actor       func(ctx context.Context, value string) error
}

// FuncActor returns an Actor that runs actor.
func FuncActor(description string, actor func(ctx context.Context, value string) error) Actor {
	return &funcActor{description: description, actor: actor}
}

// RunAction calls the function.
func (fa *funcActor) RunAction(ctx context.Context, value string) error {
	return fa.actor(ctx, value)
}

// Description returns the description.
func (fa *funcActor) Description() string {
	return fa.description
}

// action is the state of an attached actor. Its exported methods are for the
// template.
type action struct {
	name  string
	actor Actor

	mu       sync.Mutex
	running  bool
	cancel   context.CancelFunc
	done     chan struct{}
	started  time.Time
	finished time.Time
	runErr   error
}

// Name returns the name the action is attached with.
func (a *action) Name() string { return a.name }

// Description returns the actor's description.
func (a *action) Description() string { return a.actor.Description() }

// IsRunning reports whether the action runs.
func (a *action) IsRunning() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running
}

// StartTime returns the last start time in RFC 3339 or "not started".
func (a *action) StartTime() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started.IsZero() {
		return "not started"
	}
	return a.started.Format(time.RFC3339)
}

// FinishedTime returns the last finish time in RFC 3339 or "not finished".
func (a *action) FinishedTime() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.finished.IsZero() {
		return "not finished"
	}
	return a.finished.Format(time.RFC3339)
}

// Error returns the error of the last run.
func (a *action) Error() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runErr
}

// start runs the action in a goroutine unless it is running, and reports
// whether it started it.
func (a *action) start(value string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.running, a.cancel, a.done = true, cancel, done
	a.started, a.finished, a.runErr = time.Now(), time.Time{}, nil
	go func() {
		defer close(done)
		defer cancel()
		err := a.run(ctx, value)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.running, a.finished, a.runErr = false, time.Now(), err
	}()
	return true
}

// run runs the actor and turns a panic into an error.
func (a *action) run(ctx context.Context, value string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("action %s panicked: %v", a.name, r)
		}
	}()
	return a.actor.RunAction(ctx, value)
}

// stop cancels a running action and waits for it to return. It reports
// whether the action was running.
func (a *action) stop() bool {
	a.mu.Lock()
	if !a.running {
		a.mu.Unlock()
		return false
	}
	a.cancel()
	done := a.done
	a.mu.Unlock()
	<-done
	return true
}
