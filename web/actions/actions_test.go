package actions_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/web/actions"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

type fixture struct {
	srv    *httptest.Server
	client *http.Client
	values chan string // values the block action was started with
	starts atomic.Int32
}

// newFixture serves actions under /actions: block runs until stopped, quick
// fails with value "fail", panic panics.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{values: make(chan string, 100)}
	root := mux.NewRouter()
	as := actions.NewServer("/actions", root)
	require.Equal(t, "/actions", as.BasePath())
	require.NoError(t, as.AttachFuncAction("block", "runs until stopped", func(ctx context.Context, value string) error {
		f.starts.Add(1)
		f.values <- value
		<-ctx.Done()
		return ctx.Err()
	}))
	require.NoError(t, as.AttachAction("quick", actions.FuncActor("fails with value fail", func(_ context.Context, value string) error {
		if value == "fail" {
			return errors.New("boom")
		}
		return nil
	})))
	require.NoError(t, as.AttachFuncAction("panic", "panics", func(context.Context, string) error { panic("oops") }))
	require.EqualError(t, as.AttachFuncAction("block", "", nil), "action with name 'block' is already attached")
	f.srv = httptest.NewServer(root)
	t.Cleanup(f.srv.Close)
	f.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(func() { f.post(t, "/actions/stop/block", nil) })
	return f
}

// post posts form to path and returns the redirect's error parameter.
func (f *fixture) post(t *testing.T, path string, form url.Values) string {
	t.Helper()
	resp, err := f.client.PostForm(f.srv.URL+path, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "/actions/", loc.Path)
	return loc.Query().Get("error")
}

func (f *fixture) index(t *testing.T) string {
	t.Helper()
	resp, err := f.client.Get(f.srv.URL + "/actions")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// row returns the table row of the action.
func (f *fixture) row(t *testing.T, name string) string {
	t.Helper()
	body := f.index(t)
	i := strings.Index(body, "<td>"+name+"<br>")
	require.GreaterOrEqual(t, i, 0, "row of %s in\n%s", name, body)
	return body[i : i+strings.Index(body[i:], "</tr>")]
}

func TestIndex(t *testing.T) {
	f := newFixture(t)
	body := f.index(t)
	assert.Less(t, strings.Index(body, "<td>block<br>"), strings.Index(body, "<td>panic<br>"))
	assert.Less(t, strings.Index(body, "<td>panic<br>"), strings.Index(body, "<td>quick<br>"))
	row := f.row(t, "block")
	assert.Contains(t, row, "<small>runs until stopped</small>")
	assert.Contains(t, row, "<td>not running</td>")
	assert.Contains(t, row, "Started: not started<br>Finished: not finished")
	assert.Contains(t, row, `<form method="POST" action="/actions/start/block">`)
}

func TestStartStop(t *testing.T) {
	f := newFixture(t)
	assert.Empty(t, f.post(t, "/actions/start/block", url.Values{"value": {"v1"}}))
	assert.Equal(t, "v1", <-f.values)
	row := f.row(t, "block")
	assert.Contains(t, row, "<td>running</td>")
	assert.Contains(t, row, "Finished: not finished")
	assert.NotContains(t, row, "Started: not started")
	assert.Contains(t, row, `<form method="POST" action="/actions/stop/block">`)

	assert.Equal(t, "Action 'block' is already running", f.post(t, "/actions/start/block", nil))
	assert.Empty(t, f.post(t, "/actions/stop/block", nil))
	row = f.row(t, "block")
	assert.Contains(t, row, "<td>not running</td>")
	assert.NotContains(t, row, "Finished: not finished")
	assert.Contains(t, row, "<td>context canceled</td>")
	assert.Equal(t, "Action 'block' is not running", f.post(t, "/actions/stop/block", nil))

	// Restarting clears the error.
	assert.Empty(t, f.post(t, "/actions/start/block", url.Values{"value": {"v2"}}))
	assert.Equal(t, "v2", <-f.values)
	assert.Contains(t, f.row(t, "block"), "<td></td>")
	assert.Empty(t, f.post(t, "/actions/stop/block", nil))
}

func TestErrorShown(t *testing.T) {
	f := newFixture(t)
	body := f.index(t)
	assert.NotContains(t, body, `id="error"`)
	assert.Equal(t, "Action 'nosuch' not found", f.post(t, "/actions/start/nosuch", nil))
	assert.Equal(t, "Action 'nosuch' not found", f.post(t, "/actions/stop/nosuch", nil))

	resp, err := f.client.Get(f.srv.URL + "/actions/?" + url.Values{"error": {"Action 'nosuch' not found"}}.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(b), `<p class="error" id="error"><strong>Error:</strong> Action &#39;nosuch&#39; not found</p>`)
}

func TestFailAndPanic(t *testing.T) {
	f := newFixture(t)
	assert.Empty(t, f.post(t, "/actions/start/quick", url.Values{"value": {"fail"}}))
	assert.Empty(t, f.post(t, "/actions/start/panic", nil))
	require.Eventually(t, func() bool {
		return strings.Contains(f.row(t, "quick"), "<td>boom</td>") &&
			strings.Contains(f.row(t, "panic"), "<td>action panic panicked: oops</td>")
	}, 5*time.Second, 5*time.Millisecond)
	assert.Contains(t, f.row(t, "quick"), "<td>not running</td>")

	assert.Empty(t, f.post(t, "/actions/start/quick", nil))
	require.Eventually(t, func() bool {
		row := f.row(t, "quick")
		return strings.Contains(row, "<td>not running</td>") && strings.Contains(row, "<td></td>")
	}, 5*time.Second, 5*time.Millisecond)
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/actions/start/block", "/actions/stop/block"} {
		resp, err := f.client.Get(f.srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, path)
		assert.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
	}
	assert.Zero(t, f.starts.Load())
}

// Concurrent starts run the action once.
func TestConcurrentStart(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.post(t, "/actions/start/block", nil)
		}()
	}
	wg.Wait()
	close(errs)
	started := 0
	for e := range errs {
		if e == "" {
			started++
		} else {
			assert.Equal(t, "Action 'block' is already running", e)
		}
	}
	assert.Equal(t, 1, started)
	<-f.values
	assert.Empty(t, f.post(t, "/actions/stop/block", nil))
	assert.Equal(t, int32(1), f.starts.Load())
}
