package actions

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/web/internal/page"
)

// Server serves the page of the attached actions.
type Server struct {
	log      goka.Logger
	basePath string
	prefix   string

	m       sync.RWMutex
	actions map[string]*action
}

// Option configures a Server.
type Option func(s *Server)

// WithLogger sets the logger for errors while rendering. By default it is
// goka.DefaultLogger().
func WithLogger(l goka.Logger) Option {
	return func(s *Server) { s.log = l }
}

// NewServer creates a Server and mounts its routes on router under basePath.
func NewServer(basePath string, router *mux.Router, opts ...Option) *Server {
	s := &Server{
		log:      goka.DefaultLogger(),
		basePath: basePath,
		prefix:   page.Prefix(basePath),
		actions:  make(map[string]*action),
	}
	for _, opt := range opts {
		opt(s)
	}
	sub := page.Subrouter(router, basePath, s.index)
	sub.HandleFunc("/start/{action:.*}", s.startAction).Methods(http.MethodPost)
	sub.HandleFunc("/stop/{action:.*}", s.stopAction).Methods(http.MethodPost)
	// A subrouter answers 404 to a wrong method; say 405.
	sub.HandleFunc("/{op:start|stop}/{action:.*}", methodNotAllowed)
	return s
}

// BasePath returns the path the server is mounted on.
func (s *Server) BasePath() string {
	return s.basePath
}

// AttachAction adds an action under name. It fails if the name is taken.
func (s *Server) AttachAction(name string, actor Actor) error {
	s.m.Lock()
	defer s.m.Unlock()
	if _, exists := s.actions[name]; exists {
		return fmt.Errorf("action with name '%s' is already attached", name)
	}
	s.actions[name] = &action{name: name, actor: actor}
	return nil
}

// AttachFuncAction adds FuncActor(description, actor) under name.
func (s *Server) AttachFuncAction(name, description string, actor func(ctx context.Context, value string) error) error {
	return s.AttachAction(name, FuncActor(description, actor))
}

func (s *Server) action(name string) *action {
	s.m.RLock()
	defer s.m.RUnlock()
	return s.actions[name]
}

func (s *Server) sortedActions() []*action {
	s.m.RLock()
	defer s.m.RUnlock()
	actions := make([]*action, 0, len(s.actions))
	for _, a := range s.actions {
		actions = append(actions, a)
	}
	sort.Slice(actions, func(i, j int) bool { return actions[i].name < actions[j].name })
	return actions
}

func (s *Server) startAction(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["action"]
	a := s.action(name)
	switch {
	case a == nil:
		s.redirect(w, r, fmt.Sprintf("Action '%s' not found", name))
	case !a.start(r.FormValue("value")):
		s.redirect(w, r, fmt.Sprintf("Action '%s' is already running", name))
	default:
		s.redirect(w, r, "")
	}
}

func (s *Server) stopAction(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["action"]
	a := s.action(name)
	switch {
	case a == nil:
		s.redirect(w, r, fmt.Sprintf("Action '%s' not found", name))
	case !a.stop():
		s.redirect(w, r, fmt.Sprintf("Action '%s' is not running", name))
	default:
		s.redirect(w, r, "")
	}
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "use POST", http.StatusMethodNotAllowed)
}

// redirect sends the client to the index page, with errMessage if not empty.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, errMessage string) {
	target := s.prefix + "/"
	if errMessage != "" {
		target += "?" + url.Values{"error": {errMessage}}.Encode()
	}
	http.Redirect(w, r, target, http.StatusFound)
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	params := map[string]interface{}{
		"page_title": "Actions",
		"base_path":  s.prefix,
		"actions":    s.sortedActions(),
		"error":      r.URL.Query().Get("error"),
	}
	page.Render(w, s.log, http.StatusOK, params, "web/templates/actions/index.go.html")
}
