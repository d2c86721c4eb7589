package goka

import "fmt"

// punctuate runs the callback of e for the multiple at; with a parent (the
// message that moved the stream time) it completes with it.
func (ts *timeState) punctuate(e *punctuateEdge, at int64, parent *cbContext) {
	pc := ts.childContext(parent, "", at, fmt.Sprintf("punctuation %v at %d", e.kind, at))
	t := pc.timestamp
	err := ts.pp.runCallback(func(Context, any) { e.cb(pc, t) }, pc, nil)
	pc.callbackReturned(err)
}
