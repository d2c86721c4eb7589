package monitor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/tester"
	"github.com/e3793d55/goka/web/monitor"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// run runs c until the test ends.
func run(t *testing.T, c interface{ Run(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Errorf("%T did not stop", c)
		}
	})
}

// setup starts a counter processor and a view of its table on a tester,
// consumes two clicks and serves a monitor with both under /monitor.
func setup(t *testing.T) *httptest.Server {
	t.Helper()
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("counter",
		goka.Input("clicks", new(codec.String), func(ctx goka.Context, _ interface{}) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
			ctx.Emit("counts", ctx.Key(), n+1)
		}),
		goka.Persist(new(codec.Int64)),
		goka.Output("counts", new(codec.Int64)),
		goka.Lookup("users-table", new(codec.String)),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	view, err := goka.NewView(nil, "counter-table", new(codec.Int64), goka.WithViewTester(gkt))
	require.NoError(t, err)
	run(t, proc)
	run(t, view)
	gkt.Consume("clicks", "alice", "/home")
	gkt.Consume("clicks", "bob", "/home")

	root := mux.NewRouter()
	mon := monitor.NewServer("/monitor", root)
	mon.AttachProcessor(proc)
	mon.AttachView(view)
	require.Equal(t, "/monitor", mon.BasePath())
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body), resp.Header
}

func TestPages(t *testing.T) {
	srv := setup(t)
	for _, path := range []string{"/monitor", "/monitor/"} {
		status, body, hdr := get(t, srv.URL+path)
		require.Equal(t, http.StatusOK, status, path)
		assert.Contains(t, hdr.Get("Content-Type"), "text/html")
		assert.Contains(t, body, `<a href="/monitor/processor/0">counter</a>`)
		assert.Contains(t, body, "INPUT: clicks &rarr; *codec.String")
		assert.Contains(t, body, "GROUPTABLE: counter-table &rarr; *codec.Int64")
		assert.Contains(t, body, "OUTPUT: counts &rarr; *codec.Int64")
		assert.NotContains(t, body, "LOOP:")
		assert.Contains(t, body, `<a href="/monitor/view/0">counter-table</a>`)
	}

	status, body, _ := get(t, srv.URL+"/monitor/processor/0")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "<h1>Processor counter</h1>")
	assert.Contains(t, body, `<a href="/monitor/data/processor/0">`)
	// An empty table: no stored offset ("none", not Goka's sentinel -3)
	// and nothing left to recover.
	assert.Contains(t, body, "<tr><td>0</td><td>counter-table</td><td>active</td><td>running</td><td>none</td><td>0</td><td>0</td>")
	assert.Contains(t, body, "<tr><td>0</td><td>users-table</td><td>running</td><td>none</td><td>0</td><td>0</td>")
	// The tester's single member got partition 0 under the eager protocol.
	assert.Contains(t, body, "<tr><th>Protocol</th><td>eager</td></tr>")
	assert.Contains(t, body, "<tr><th>Active</th><td>[0]</td></tr>")
	assert.NotContains(t, body, "<tr><th>Warm-up</th>", "cooperative rows under the eager protocol")
	assert.Contains(t, body, `<section id="live" data-source="/monitor/data/processor/0" data-kind="processor"`)
	assert.Contains(t, body, `<script src="/monitor/assets/monitor.js" defer></script>`)
	assert.Contains(t, body, "<td>0</td><td>clicks</td><td>2</td>")
	assert.Contains(t, body, "<td>0</td><td>counts</td><td>2</td>")

	status, body, _ = get(t, srv.URL+"/monitor/view/0")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "<h1>View counter-table</h1>")
	// A followed table shows its consumer's high-water mark once
	// recovered (2: both records are in), not only recovery's.
	assert.Contains(t, body, "<td>0</td><td>running</td><td>1</td><td>2</td><td>0</td>")
	assert.Contains(t, body, `data-kind="view"`)
}

// The chart assets are served from the binary.
func TestAssets(t *testing.T) {
	srv := setup(t)
	for path, want := range map[string]string{
		"/monitor/assets/monitor.js":  "text/javascript",
		"/monitor/assets/monitor.css": "text/css",
	} {
		status, body, hdr := get(t, srv.URL+path)
		require.Equal(t, http.StatusOK, status, path)
		assert.Contains(t, hdr.Get("Content-Type"), want, path)
		assert.NotEmpty(t, body, path)
		// Nothing loaded from elsewhere (the SVG namespace is a name, not a load).
		rest := strings.ReplaceAll(body, `"http://www.w3.org/2000/svg"`, "")
		assert.NotRegexp(t, `https?://|//cdn`, rest, "no remote resources in %s", path)
	}
	status, _, _ := get(t, srv.URL+"/monitor/assets/missing.js")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestData(t *testing.T) {
	srv := setup(t)

	status, body, hdr := get(t, srv.URL+"/monitor/data/processor/0")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	var ps goka.ProcessorStats
	require.NoError(t, json.Unmarshal([]byte(body), &ps))
	require.Contains(t, ps.Group, int32(0))
	p := ps.Group[0]
	require.Contains(t, p.Input, "clicks")
	assert.Equal(t, uint(2), p.Input["clicks"].Count)
	require.Contains(t, p.Output, "counts")
	assert.Equal(t, uint(2), p.Output["counts"].Count)
	require.NotNil(t, p.TableStats)
	assert.Equal(t, goka.PartitionRunning, p.TableStats.Status)

	status, body, _ = get(t, srv.URL+"/monitor/data/view/0")
	require.Equal(t, http.StatusOK, status)
	var vs goka.ViewStats
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	require.Contains(t, vs.Partitions, int32(0))
	assert.Equal(t, goka.PartitionRunning, vs.Partitions[0].Status)
}

func TestNotFound(t *testing.T) {
	srv := setup(t)
	for _, path := range []string{
		"/monitor/processor/1", "/monitor/processor/-1", "/monitor/processor/x",
		"/monitor/view/1", "/monitor/data/processor/1", "/monitor/data/view/1",
		"/monitor/data/emitter/0", "/monitor/data/view/x", "/monitor/unknown",
	} {
		status, _, _ := get(t, srv.URL+path)
		assert.Equal(t, http.StatusNotFound, status, path)
	}
}

func TestEmpty(t *testing.T) {
	root := mux.NewRouter()
	monitor.NewServer("/", root)
	rec := httptest.NewRecorder()
	root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "No processors attached.")
	assert.Contains(t, rec.Body.String(), "No views attached.")
	assert.False(t, strings.Contains(rec.Body.String(), `href="//`), "no protocol-relative links")
}
