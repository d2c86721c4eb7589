package query_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/web/query"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// mapGetter is a goka.Getter over a map; the key "fail" fails.
func mapGetter(m map[string]interface{}) func(string) (interface{}, error) {
	return func(key string) (interface{}, error) {
		if key == "fail" {
			return nil, errors.New("storage is gone")
		}
		return m[key], nil
	}
}

type user struct {
	Name   string `json:"name"`
	Clicks int    `json:"clicks"`
}

func newServer(t *testing.T, opts ...query.Option) *httptest.Server {
	t.Helper()
	root := mux.NewRouter()
	qs := query.NewServer("/query", root, opts...)
	require.Equal(t, "/query", qs.BasePath())
	require.NoError(t, qs.AttachSource("users", mapGetter(map[string]interface{}{
		"alice":     user{"Alice", 3},
		"a/b c":     user{"Slash", 1},
		"unmarshal": func() {},
	})))
	require.NoError(t, qs.AttachSource("counts", mapGetter(map[string]interface{}{"bob": 7})))
	require.EqualError(t, qs.AttachSource("users", mapGetter(nil)), "source with name 'users' is already attached")
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestIndex(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/query", "/query/"} {
		status, body := get(t, srv.URL+path)
		require.Equal(t, http.StatusOK, status, path)
		assert.Contains(t, body, `<option selected>counts</option>`, "first source selected")
		assert.Contains(t, body, `<option>users</option>`)
		assert.Contains(t, body, `<a href="/query/users">users</a>`)
		assert.Contains(t, body, `<form method="GET" action="/query/">`)
	}
	status, body := get(t, srv.URL+"/query/users")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `<option selected>users</option>`)
}

func TestFound(t *testing.T) {
	srv := newServer(t)
	status, body := get(t, srv.URL+"/query/users/alice")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "<h2>users: alice</h2>")
	assert.Contains(t, body, "<pre id=\"value\">{\n  &#34;name&#34;: &#34;Alice&#34;,\n  &#34;clicks&#34;: 3\n}</pre>")

	status, body = get(t, srv.URL+"/query/counts/bob")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `<pre id="value">7</pre>`)
}

func TestForm(t *testing.T) {
	srv := newServer(t)
	// The client follows the redirect to /query/users/a%2Fb%20c.
	status, body := get(t, srv.URL+"/query/?source=users&key=a%2Fb+c")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "<h2>users: a/b c</h2>")
	assert.Contains(t, body, "Slash")
}

func TestNotFound(t *testing.T) {
	srv := newServer(t)
	status, body := get(t, srv.URL+"/query/users/carol")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, body, "Key &#39;carol&#39; not found!")
	assert.NotContains(t, body, `id="value"`)

	status, body = get(t, srv.URL+"/query/nosuch/alice")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, body, "Source &#39;nosuch&#39; not found!")

	status, body = get(t, srv.URL+"/query/nosuch")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, body, "Source &#39;nosuch&#39; not found!")
}

func TestErrors(t *testing.T) {
	srv := newServer(t)
	status, body := get(t, srv.URL+"/query/users/fail")
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Contains(t, body, "error getting key: storage is gone")

	status, body = get(t, srv.URL+"/query/users/unmarshal")
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Contains(t, body, "error marshaling value")
}

func TestHumanizer(t *testing.T) {
	srv := newServer(t, query.WithHumanizer(query.HumanizerFunc(func(v interface{}) (string, error) {
		return fmt.Sprintf("%+v", v), nil
	})))
	status, body := get(t, srv.URL+"/query/users/alice")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `<pre id="value">{Name:Alice Clicks:3}</pre>`)
}

func TestNoSources(t *testing.T) {
	root := mux.NewRouter()
	query.NewServer("/", root)
	rec := httptest.NewRecorder()
	root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "No sources found!")
}

func TestDefaultHumanizer(t *testing.T) {
	s, err := query.DefaultHumanizer().Humanize(map[string]int{"a": 1})
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"a\": 1\n}", s)
	_, err = query.DefaultHumanizer().Humanize(make(chan int))
	assert.Error(t, err)
}
