package query

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/web/internal/page"
)

const indexTemplate = "web/templates/query/index.go.html"

// Humanizer returns the human readable representation of a value.
type Humanizer interface {
	// Humanize returns a human readable representation of the supplied value.
	Humanize(interface{}) (string, error)
}

// HumanizerFunc adapts a function to a Humanizer.
type HumanizerFunc func(interface{}) (string, error)

// Humanize returns fn(val).
func (fn HumanizerFunc) Humanize(val interface{}) (string, error) {
	return fn(val)
}

// DefaultHumanizer returns a Humanizer that gives the indented JSON of a value.
func DefaultHumanizer() Humanizer {
	return HumanizerFunc(func(val interface{}) (string, error) {
		b, err := json.MarshalIndent(val, "", "  ")
		if err != nil {
			return "", err
		}
		return string(b), nil
	})
}

// Server serves the query pages of the attached sources.
type Server struct {
	log       goka.Logger
	humanizer Humanizer
	basePath  string
	prefix    string

	m       sync.RWMutex
	sources map[string]goka.Getter
}

// Option configures a Server.
type Option func(s *Server)

// WithHumanizer sets the Humanizer for the values shown. By default it is
// DefaultHumanizer().
func WithHumanizer(h Humanizer) Option {
	return func(s *Server) { s.humanizer = h }
}

// WithLogger sets the logger for errors while rendering. By default it is
// goka.DefaultLogger().
func WithLogger(l goka.Logger) Option {
	return func(s *Server) { s.log = l }
}

// NewServer creates a Server and mounts its routes on router under basePath.
func NewServer(basePath string, router *mux.Router, opts ...Option) *Server {
	s := &Server{
		log:       goka.DefaultLogger(),
		humanizer: DefaultHumanizer(),
		basePath:  basePath,
		prefix:    page.Prefix(basePath),
		sources:   make(map[string]goka.Getter),
	}
	for _, opt := range opts {
		opt(s)
	}
	sub := page.Subrouter(router, basePath, s.index)
	sub.HandleFunc("/{name}", s.source)
	sub.HandleFunc("/{name}/{key:.*}", s.key)
	return s
}

// BasePath returns the path the server is mounted on.
func (s *Server) BasePath() string {
	return s.basePath
}

// AttachSource adds a getter under name. It fails if the name is taken.
func (s *Server) AttachSource(name string, getter goka.Getter) error {
	s.m.Lock()
	defer s.m.Unlock()
	if _, exists := s.sources[name]; exists {
		return fmt.Errorf("source with name '%s' is already attached", name)
	}
	s.sources[name] = getter
	return nil
}

func (s *Server) getter(name string) goka.Getter {
	s.m.RLock()
	defer s.m.RUnlock()
	return s.sources[name]
}

func (s *Server) sourceNames() []string {
	s.m.RLock()
	defer s.m.RUnlock()
	names := make([]string, 0, len(s.sources))
	for name := range s.sources {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// params are the parameters of every page, with the first source selected.
func (s *Server) params() map[string]interface{} {
	params := map[string]interface{}{
		"page_title": "Query",
		"base_path":  s.prefix,
	}
	if names := s.sourceNames(); len(names) > 0 {
		params["sources"] = names
		params["selected_source"] = names[0]
	}
	return params
}

func (s *Server) render(w http.ResponseWriter, status int, params map[string]interface{}) {
	page.Render(w, s.log, status, params, indexTemplate)
}

// index shows the form, or redirects a submitted form to the key's page.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	source, key := r.FormValue("source"), r.FormValue("key")
	if source != "" && key != "" {
		http.Redirect(w, r, s.prefix+"/"+url.PathEscape(source)+"/"+url.PathEscape(key), http.StatusFound)
		return
	}
	s.render(w, http.StatusOK, s.params())
}

func (s *Server) source(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	params := s.params()
	if s.getter(name) == nil {
		params["warning"] = fmt.Sprintf("Source '%s' not found!", name)
		s.render(w, http.StatusNotFound, params)
		return
	}
	params["selected_source"] = name
	s.render(w, http.StatusOK, params)
}

func (s *Server) key(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	name, key := vars["name"], strings.TrimSpace(vars["key"])
	params := s.params()
	getter := s.getter(name)
	if getter == nil {
		params["error"] = fmt.Sprintf("Source '%s' not found!", name)
		s.render(w, http.StatusNotFound, params)
		return
	}
	params["selected_source"] = name
	params["key"] = key
	value, err := getter(key)
	if err != nil {
		params["error"] = fmt.Sprintf("error getting key: %v", err)
		s.render(w, http.StatusInternalServerError, params)
		return
	}
	if value == nil {
		params["warning"] = fmt.Sprintf("Key '%s' not found!", key)
		s.render(w, http.StatusNotFound, params)
		return
	}
	data, err := s.humanizer.Humanize(value)
	if err != nil {
		params["error"] = fmt.Sprintf("error marshaling value: %v", err)
		s.render(w, http.StatusInternalServerError, params)
		return
	}
	params["found"] = true
	params["value"] = data
	s.render(w, http.StatusOK, params)
}
