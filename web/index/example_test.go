package index_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka/web/index"
	"github.com/e3793d55/goka/web/monitor"
	"github.com/e3793d55/goka/web/query"
)

// An index page linking a monitor and a query server.
func Example() {
	root := mux.NewRouter()
	idx := index.NewServer("/", root)
	idx.AddComponent(monitor.NewServer("/monitor", root), "Monitor")
	idx.AddComponent(query.NewServer("/query", root), "Query")

	rec := httptest.NewRecorder()
	root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(rec.Code)
	for _, link := range regexp.MustCompile(`<a href="[^"]*">[^<]*</a>`).FindAllString(rec.Body.String(), -1) {
		fmt.Println(link)
	}
	// Output:
	// 200
	// <a href="/monitor/">Monitor</a>
	// <a href="/query/">Query</a>
}
