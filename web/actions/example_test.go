package actions_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka/web/actions"
)

// Starting and stopping an action with POST requests, as the page's forms do.
func Example() {
	root := mux.NewRouter()
	as := actions.NewServer("/actions", root)
	started := make(chan string)
	err := as.AttachFuncAction("wait", "waits until stopped", func(ctx context.Context, value string) error {
		started <- value
		<-ctx.Done()
		return ctx.Err()
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	post := func(path string, form url.Values) {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		root.ServeHTTP(rec, req)
		fmt.Println(path, rec.Code, rec.Header().Get("Location"))
	}
	post("/actions/start/wait", url.Values{"value": {"42"}})
	fmt.Println("started with", <-started)
	post("/actions/start/wait", nil)
	post("/actions/stop/wait", nil)
	// Output:
	// /actions/start/wait 302 /actions/
	// started with 42
	// /actions/start/wait 302 /actions/?error=Action+%27wait%27+is+already+running
	// /actions/stop/wait 302 /actions/
}
