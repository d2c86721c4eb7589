package index

import (
	"net/http"
	"sync"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/web/internal/page"
)

// ComponentPathProvider is a component with a base path, such as the servers
// of the packages monitor, query and actions.
type ComponentPathProvider interface {
	BasePath() string
}

// component is a link on the index page.
type component struct {
	Name     string
	BasePath string // without trailing slash
}

// Server serves the index page.
type Server struct {
	log      goka.Logger
	basePath string

	m          sync.RWMutex
	components []component
}

// NewServer creates a Server and mounts its page on router at basePath.
func NewServer(basePath string, router *mux.Router) *Server {
	s := &Server{log: goka.DefaultLogger(), basePath: basePath}
	page.Subrouter(router, basePath, s.index)
	return s
}

// AddComponent adds a link named name to the component's base path.
func (s *Server) AddComponent(pathProvider ComponentPathProvider, name string) {
	s.m.Lock()
	defer s.m.Unlock()
	s.components = append(s.components, component{Name: name, BasePath: page.Prefix(pathProvider.BasePath())})
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	s.m.RLock()
	components := append([]component(nil), s.components...)
	s.m.RUnlock()
	params := map[string]interface{}{
		"page_title": "Goka",
		"base_path":  page.Prefix(s.basePath),
		"components": components,
	}
	page.Render(w, s.log, http.StatusOK, params, "web/templates/index/index.go.html")
}
