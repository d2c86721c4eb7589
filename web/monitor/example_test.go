package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/tester"
	"github.com/e3793d55/goka/web/monitor"
)

// logT stands in for the *testing.T a test passes to tester.New.
type logT struct{}

func (logT) Errorf(format string, args ...interface{}) { log.Printf(format, args...) }
func (logT) Fatalf(format string, args ...interface{}) { log.Fatalf(format, args...) }
func (logT) Fatal(args ...interface{})                 { log.Fatal(args...) }

// A processor's statistics as JSON from the monitor's data endpoint.
func Example() {
	gkt := tester.New(logT{})
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("counter",
		goka.Input("clicks", new(codec.String), func(ctx goka.Context, _ interface{}) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	), goka.WithTester(gkt))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	gkt.Consume("clicks", "alice", "/home")

	root := mux.NewRouter()
	mon := monitor.NewServer("/monitor", root)
	mon.AttachProcessor(proc)

	rec := httptest.NewRecorder()
	root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/monitor/data/processor/0", nil))
	var stats goka.ProcessorStats
	if err := json.Unmarshal(rec.Body.Bytes(), &stats); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Code, "clicks read:", stats.Group[0].Input["clicks"].Count)
	// Output:
	// 200 clicks read: 1
}

// requireToken is the user's own middleware: here a bearer token.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// The monitor shows statistics to anyone who reaches it: mount it on a
// router of its own behind an authentication check.
func Example_withAuthentication() {
	gkt := tester.New(logT{})
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("counter",
		goka.Input("clicks", new(codec.String), func(ctx goka.Context, _ interface{}) {}),
	), goka.WithTester(gkt))
	if err != nil {
		log.Fatal(err)
	}

	mon := mux.NewRouter()
	monitor.NewServer("/monitor", mon).AttachProcessor(proc)
	root := mux.NewRouter()
	root.PathPrefix("/monitor").Handler(requireToken("s3cret", mon))

	for _, auth := range []string{"", "Bearer wrong", "Bearer s3cret"} {
		for _, path := range []string{"/monitor/", "/monitor/data/processor/0"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			root.ServeHTTP(rec, req)
			fmt.Printf("%q %s: %d\n", auth, path, rec.Code)
		}
	}
	// Output:
	// "" /monitor/: 401
	// "" /monitor/data/processor/0: 401
	// "Bearer wrong" /monitor/: 401
	// "Bearer wrong" /monitor/data/processor/0: 401
	// "Bearer s3cret" /monitor/: 200
	// "Bearer s3cret" /monitor/data/processor/0: 200
}
