// Package actions serves a web page to start and stop named, long-running
// actions, such as a Processor.VisitAll, with an optional string value.
//
// # Usage
//
//	root := mux.NewRouter()
//	as := actions.NewServer("/actions", root)
//	err := as.AttachFuncAction("reset", "sets every count to the value", func(ctx context.Context, value string) error {
//		return proc.VisitAll(ctx, "reset", value)
//	})
//	http.ListenAndServe(":9095", root)
//
// # Routes
//
// Relative to the base path:
//
//	/                   the actions with state, start and finish times and last error
//	POST /start/{name}  starts the action with the form value "value"
//	POST /stop/{name}   cancels the action's context and waits for it to return
//
// Both POST routes redirect (302) to the base path, with ?error=... when the
// action is unknown, already running (start) or not running (stop). Other
// methods on them answer 405.
//
// # Running
//
// An action runs in a goroutine of its own with a context that only Stop
// cancels: it outlives the request that started it. Starting and checking
// whether an action runs is one step, so two concurrent starts run it once.
// A panic in an action is recovered and shown as its error.
//
// # Differences from Goka
//
// Goka's start restarts a running action when it races with another start;
// here the second start reports "already running". The error of the previous
// run is cleared when the action starts again. The error in the redirect is
// URL-encoded.
package actions
