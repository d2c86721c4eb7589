// Package router answers key lookups for a fleet of processor instances:
// an instance serves a key from its local table when it owns the key's
// partition and forwards the request to (or redirects the client to) the
// owner otherwise, so every instance answers every key without a full-table
// View on each (Kafka Streams' interactive queries with application.server).
//
// # Routes
//
// Router serves GET /{key} (the key path-escaped; mount it with
// http.StripPrefix and set Config.BasePath to the prefix). The value is written by Config.Encode (JSON by
// default) with status 200; a key without value answers 404.
//
// # Ownership
//
// Config.Locate says which instance owns a key now, by its query address
// (goka's WithQueryAddress). During a rebalance two instances may disagree:
// a forwarded request (header Forwarded-By) is never forwarded again, it
// answers 421 Misdirected Request naming the owner this instance believes
// in (header Owner), and a key whose partition has no owner at the moment
// answers 503 with Retry-After.
//
// # Security
//
// The router answers any key of the table to anyone who reaches it, and
// forwards to the other instances on the caller's behalf: it exposes the
// table's contents. Router is an http.Handler; mount it behind your own
// authentication middleware (see the Example), and give Config.Client
// what the instances need to authenticate to each other.
package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Headers of the router's requests and answers.
const (
	// HeaderForwardedBy marks a forwarded request with the forwarder's
	// address.
	HeaderForwardedBy = "Goka-Forwarded-By"
	// HeaderServedBy names the instance that read the value.
	HeaderServedBy = "Goka-Served-By"
	// HeaderOwner names the owner in 421 and 307 answers.
	HeaderOwner = "Goka-Owner"
)

// Location is who owns a key now: the partition, the query address of the
// active instance (empty if none) and of its standbys.
type Location struct {
	Partition int32
	Active    string
	Standbys  []string
}

// Locator answers who owns a key; a processor's key-owner lookup.
type Locator interface {
	Locate(key string) (Location, error)
}

// LocatorFunc adapts a function to a Locator.
type LocatorFunc func(key string) (Location, error)

// Locate returns fn(key).
func (fn LocatorFunc) Locate(key string) (Location, error) { return fn(key) }

// Config configures a Router.
type Config struct {
	// Self is this instance's query address, as it advertises it.
	// Required.
	Self string
	// Locate says who owns a key. Required.
	Locate Locator
	// Get reads a key from the local table, e.g. Processor.Get; a nil value
	// is no value. Required.
	Get func(key string) (any, error)
	// Redirect answers 307 to the owner instead of forwarding. Default
	// false (forward).
	Redirect bool
	// Client forwards requests. Default http.DefaultClient.
	Client *http.Client
	// Encode writes a value into the answer. Default json.Marshal.
	Encode func(any) ([]byte, error)
	// Scheme of the owners' addresses. Default "http".
	Scheme string
	// BasePath is where every instance mounts the router (the prefix
	// http.StripPrefix removes), used to build the owner's URL. Default ""
	// (the root).
	BasePath string
}

// Router serves key lookups; see the package doc.
type Router struct{ cfg Config }

// New returns a Router with cfg, defaults applied.
func New(cfg Config) (*Router, error) {
	var errs []error
	if cfg.Self == "" {
		errs = append(errs, errors.New("config field Self is empty"))
	}
	if cfg.Locate == nil {
		errs = append(errs, errors.New("config field Locate is nil"))
	}
	if cfg.Get == nil {
		errs = append(errs, errors.New("config field Get is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if cfg.Encode == nil {
		cfg.Encode = json.Marshal
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "http"
	}
	return &Router{cfg: cfg}, nil
}

// ServeHTTP serves GET /{key}.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "only GET", http.StatusMethodNotAllowed)
		return
	}
	key, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/"))
	if err != nil {
		http.Error(w, fmt.Sprintf("bad key: %v", err), http.StatusBadRequest)
		return
	}
	loc, err := rt.cfg.Locate.Locate(key)
	if err != nil {
		http.Error(w, fmt.Sprintf("locate key %q: %v", key, err), http.StatusInternalServerError)
		return
	}
	switch {
	case loc.Active == rt.cfg.Self:
		rt.serveLocal(w, key)
	case loc.Active == "":
		w.Header().Set("Retry-After", "1")
		http.Error(w, fmt.Sprintf("partition %d of key %q has no owner now (rebalancing)", loc.Partition, key), http.StatusServiceUnavailable)
	case r.Header.Get(HeaderForwardedBy) != "":
		w.Header().Set(HeaderOwner, loc.Active)
		http.Error(w, fmt.Sprintf("key %q (partition %d) is owned by %s", key, loc.Partition, loc.Active), http.StatusMisdirectedRequest)
	case rt.cfg.Redirect:
		w.Header().Set(HeaderOwner, loc.Active)
		http.Redirect(w, r, rt.ownerURL(loc.Active, key), http.StatusTemporaryRedirect)
	default:
		rt.forward(w, r, loc.Active, key)
	}
}

func (rt *Router) ownerURL(owner, key string) string {
	return (&url.URL{Scheme: rt.cfg.Scheme, Host: owner, Path: strings.TrimSuffix(rt.cfg.BasePath, "/") + "/" + key}).String()
}

func (rt *Router) serveLocal(w http.ResponseWriter, key string) {
	w.Header().Set(HeaderServedBy, rt.cfg.Self)
	v, err := rt.cfg.Get(key)
	if err != nil {
		http.Error(w, fmt.Sprintf("get key %q: %v", key, err), http.StatusInternalServerError)
		return
	}
	if v == nil {
		http.Error(w, fmt.Sprintf("key %q has no value", key), http.StatusNotFound)
		return
	}
	b, err := rt.cfg.Encode(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode value of key %q: %v", key, err), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b)
}

func (rt *Router) forward(w http.ResponseWriter, r *http.Request, owner, key string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, rt.ownerURL(owner, key), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header.Set(HeaderForwardedBy, rt.cfg.Self)
	resp, err := rt.cfg.Client.Do(req)
	if err != nil {
		http.Error(w, fmt.Sprintf("forward key %q to %s: %v", key, owner, err), http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	for _, h := range []string{"Content-Type", HeaderServedBy, HeaderOwner, "Retry-After"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}
