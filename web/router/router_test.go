package router_test

import (
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/e3793d55/goka/web/router"
)

// fleet is three instances with fake ownership: partition p of a key (fnv
// mod 3) is owned by instance owner[p]; every instance's table holds only
// the keys of its partitions, so a value found proves the owner read it.
type fleet struct {
	mu      sync.Mutex
	owner   [3]int // partition -> instance, -1 for none
	views   [3][3]int
	servers [3]*httptest.Server
}

func partitionOf(key string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int32(h.Sum32() % 3)
}

func newFleet(t *testing.T, redirect bool) *fleet {
	f := &fleet{owner: [3]int{0, 1, 2}}
	for i := range f.views {
		f.views[i] = f.owner // every instance agrees at first
	}
	var routers [3]*router.Router
	for i := range f.servers {
		f.servers[i] = httptest.NewServer(http.StripPrefix("/keys", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			routers[i].ServeHTTP(w, r)
		})))
		t.Cleanup(f.servers[i].Close)
	}
	for i := range routers {
		rt, err := router.New(router.Config{
			Self:     f.addr(i),
			Redirect: redirect,
			BasePath: "/keys",
			Locate: router.LocatorFunc(func(key string) (router.Location, error) {
				f.mu.Lock()
				defer f.mu.Unlock()
				p := partitionOf(key)
				loc := router.Location{Partition: p}
				if o := f.views[i][p]; o >= 0 {
					loc.Active = f.addr(o)
				}
				return loc, nil
			}),
			Get: func(key string) (any, error) {
				f.mu.Lock()
				defer f.mu.Unlock()
				if f.owner[partitionOf(key)] != i || strings.HasPrefix(key, "missing") {
					return nil, nil
				}
				return map[string]any{"key": key, "by": i}, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		routers[i] = rt
	}
	return f
}

func (f *fleet) addr(i int) string {
	u, _ := url.Parse(f.servers[i].URL)
	return u.Host
}

// answer is a response with its body read and closed.
type answer struct {
	StatusCode int
	Header     http.Header
}

func get(t *testing.T, client *http.Client, base, key string) (answer, string) {
	t.Helper()
	resp, err := client.Get(base + "/keys/" + url.PathEscape(key))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header}, string(b)
}

// Every instance answers every key, read by its owner (keys with / and
// spaces included), and 404 for a key without value.
func TestForwardAcrossThreeInstances(t *testing.T) {
	f := newFleet(t, false)
	keys := []string{"alice", "bob", "carol", "dave", "eve", "frank", "a/b c"}
	for from := range f.servers {
		for _, key := range keys {
			resp, body := get(t, http.DefaultClient, f.servers[from].URL, key)
			owner := f.owner[partitionOf(key)]
			if resp.StatusCode != http.StatusOK || resp.Header.Get(router.HeaderServedBy) != f.addr(owner) {
				t.Fatalf("key %q asked at %d: %d %q served by %q, want owner %d", key, from, resp.StatusCode, body, resp.Header.Get(router.HeaderServedBy), owner)
			}
			if !strings.Contains(body, `"key":"`+key+`"`) {
				t.Fatalf("key %q: body %q", key, body)
			}
		}
		if resp, _ := get(t, http.DefaultClient, f.servers[from].URL, "missing-1"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("missing key: %d", resp.StatusCode)
		}
	}
}

func TestRedirect(t *testing.T) {
	f := newFleet(t, true)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, key := range []string{"alice", "bob", "carol", "dave"} {
		owner := f.owner[partitionOf(key)]
		from := (owner + 1) % 3
		resp, _ := get(t, noFollow, f.servers[from].URL, key)
		if resp.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(resp.Header.Get("Location"), f.addr(owner)) {
			t.Fatalf("key %q: %d location %q, want 307 to %s", key, resp.StatusCode, resp.Header.Get("Location"), f.addr(owner))
		}
		// a client that follows lands on the owner
		resp, _ = get(t, http.DefaultClient, f.servers[from].URL, key)
		if resp.StatusCode != http.StatusOK || resp.Header.Get(router.HeaderServedBy) != f.addr(owner) {
			t.Fatalf("key %q followed: %d by %q", key, resp.StatusCode, resp.Header.Get(router.HeaderServedBy))
		}
	}
}

// During a rebalance: instance 0 still believes instance 1 owns a
// partition that instance 1 believes is instance 2's: the forwarded
// request is not forwarded again (421 naming the owner), and a partition
// without owner answers 503.
func TestRebalanceDisagreement(t *testing.T) {
	f := newFleet(t, false)
	key := "bob"
	p := partitionOf(key)
	f.mu.Lock()
	f.views[0][p], f.views[1][p], f.views[2][p] = 1, 2, -1
	f.mu.Unlock()
	resp, body := get(t, http.DefaultClient, f.servers[0].URL, key)
	if resp.StatusCode != http.StatusMisdirectedRequest || resp.Header.Get(router.HeaderOwner) != f.addr(2) {
		t.Fatalf("disagreement: %d %q owner %q", resp.StatusCode, body, resp.Header.Get(router.HeaderOwner))
	}
	resp, _ = get(t, http.DefaultClient, f.servers[2].URL, key)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("no owner: %d retry %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestNewValidates(t *testing.T) {
	_, err := router.New(router.Config{})
	for _, want := range []string{"Self", "Locate", "Get"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v does not name %s", err, want)
		}
	}
}
