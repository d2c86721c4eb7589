package query_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/tester"
	"github.com/e3793d55/goka/web/query"
)

// logT stands in for the *testing.T a test passes to tester.New.
type logT struct{}

func (logT) Errorf(format string, args ...interface{}) { log.Printf(format, args...) }
func (logT) Fatalf(format string, args ...interface{}) { log.Fatalf(format, args...) }
func (logT) Fatal(args ...interface{})                 { log.Fatal(args...) }

// Looking up keys of a view's table.
func Example() {
	gkt := tester.New(logT{})
	view, err := goka.NewView(nil, "counts", new(codec.Int64), goka.WithViewTester(gkt))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- view.Run(ctx) }()
	defer func() { cancel(); <-done }()
	gkt.SetTableValue("counts", "alice", int64(3))

	root := mux.NewRouter()
	qs := query.NewServer("/query", root)
	if err := qs.AttachSource("counts", view.Get); err != nil {
		log.Fatal(err)
	}

	value := regexp.MustCompile(`<pre id="value">(.*)</pre>`)
	for _, path := range []string{"/query/counts/alice", "/query/counts/bob"} {
		rec := httptest.NewRecorder()
		root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code, value.FindStringSubmatch(rec.Body.String()))
	}
	// Output:
	// /query/counts/alice 200 [<pre id="value">3</pre> 3]
	// /query/counts/bob 404 []
}
