package index_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/web/actions"
	"github.com/e3793d55/goka/web/index"
	"github.com/e3793d55/goka/web/monitor"
	"github.com/e3793d55/goka/web/query"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

type path string

func (p path) BasePath() string { return string(p) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// The index links the components mounted on the same router, and the links
// lead to their pages.
func TestLinks(t *testing.T) {
	root := mux.NewRouter()
	idx := index.NewServer("/", root)
	idx.AddComponent(monitor.NewServer("/monitor", root), "Monitor")
	idx.AddComponent(query.NewServer("/query/", root), "Query")
	idx.AddComponent(actions.NewServer("/actions", root), "Actions")
	idx.AddComponent(path("/"), "Home")
	srv := httptest.NewServer(root)
	defer srv.Close()

	status, body := get(t, srv.URL+"/")
	require.Equal(t, http.StatusOK, status)
	for _, link := range []string{
		`<li><a href="/monitor/">Monitor</a></li>`,
		`<li><a href="/query/">Query</a></li>`,
		`<li><a href="/actions/">Actions</a></li>`,
		`<li><a href="/">Home</a></li>`,
	} {
		assert.Contains(t, body, link)
	}
	for _, p := range []string{"/monitor/", "/query/", "/actions/", "/"} {
		status, _ := get(t, srv.URL+p)
		assert.Equal(t, http.StatusOK, status, p)
	}
	status, _ = get(t, srv.URL+"/nosuch")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestSubPath(t *testing.T) {
	root := mux.NewRouter()
	index.NewServer("/ui", root)
	srv := httptest.NewServer(root)
	defer srv.Close()
	for _, p := range []string{"/ui", "/ui/"} {
		status, body := get(t, srv.URL+p)
		require.Equal(t, http.StatusOK, status, p)
		assert.Contains(t, body, "No components added.")
	}
}
