package monitor

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/web/internal/page"
)

const (
	menuTemplate = "web/templates/monitor/menu.go.html"
	liveTemplate = "web/templates/monitor/live.go.html"
	// pollMillis is how often the charts of the detail pages fetch the
	// statistics (monitor.js).
	pollMillis = 1000
	// statsTimeout bounds collecting the statistics of one component.
	statsTimeout = 10 * time.Second
)

// assets are the script and style sheet of the live charts, served under
// /assets/ from the binary: the pages work without internet access.
//
//go:embed assets
var assets embed.FS

// Server serves the monitoring pages of the attached processors and views.
type Server struct {
	log      goka.Logger
	basePath string
	prefix   string

	m          sync.RWMutex
	processors []*goka.Processor
	views      []*goka.View
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
	s := &Server{log: goka.DefaultLogger(), basePath: basePath, prefix: page.Prefix(basePath)}
	for _, opt := range opts {
		opt(s)
	}
	sub := page.Subrouter(router, basePath, s.index)
	sub.HandleFunc("/processor/{idx}", s.renderProcessor)
	sub.HandleFunc("/view/{idx}", s.renderView)
	sub.HandleFunc("/data/{type}/{idx}", s.renderData)
	sub.PathPrefix("/assets/").Handler(http.StripPrefix(s.prefix, http.FileServerFS(assets)))
	return s
}

// BasePath returns the path the server is mounted on.
func (s *Server) BasePath() string {
	return s.basePath
}

// AttachProcessor adds a processor to the monitor.
func (s *Server) AttachProcessor(processor *goka.Processor) {
	s.m.Lock()
	defer s.m.Unlock()
	s.processors = append(s.processors, processor)
}

// AttachView adds a view to the monitor.
func (s *Server) AttachView(view *goka.View) {
	s.m.Lock()
	defer s.m.Unlock()
	s.views = append(s.views, view)
}

// components returns copies of the attached processors and views.
func (s *Server) components() ([]*goka.Processor, []*goka.View) {
	s.m.RLock()
	defer s.m.RUnlock()
	return append([]*goka.Processor(nil), s.processors...), append([]*goka.View(nil), s.views...)
}

func (s *Server) params(title string) map[string]interface{} {
	procs, views := s.components()
	return map[string]interface{}{
		"base_path":  s.prefix,
		"page_title": title,
		"processors": procs,
		"views":      views,
	}
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	page.Render(w, s.log, http.StatusOK, s.params("Monitor"), menuTemplate, "web/templates/monitor/index.go.html")
}

// index returns the idx variable of the request if it is in [0, n).
func index(r *http.Request, n int) (int, bool) {
	idx, err := strconv.Atoi(mux.Vars(r)["idx"])
	return idx, err == nil && idx >= 0 && idx < n
}

func (s *Server) processor(r *http.Request) *goka.Processor {
	procs, _ := s.components()
	idx, ok := index(r, len(procs))
	if !ok {
		return nil
	}
	return procs[idx]
}

func (s *Server) view(r *http.Request) *goka.View {
	_, views := s.components()
	idx, ok := index(r, len(views))
	if !ok {
		return nil
	}
	return views[idx]
}

// live adds what the live charts of a detail page need: the statistics they
// poll (dataPath, relative to the base path), their kind and the assets.
func (s *Server) live(params map[string]interface{}, kind, dataPath string) {
	params["kind"] = kind
	params["data_path"] = s.prefix + dataPath
	params["poll_ms"] = pollMillis
	params["scripts"] = []string{s.prefix + "/assets/monitor.js"}
	params["stylesheets"] = []string{s.prefix + "/assets/monitor.css"}
}

func (s *Server) renderData(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), statsTimeout)
	defer cancel()
	var stats interface{}
	switch mux.Vars(r)["type"] {
	case "processor":
		if p := s.processor(r); p != nil {
			stats = p.StatsWithContext(ctx)
		}
	case "view":
		if v := s.view(r); v != nil {
			stats = v.Stats(ctx)
		}
	}
	if stats == nil {
		http.NotFound(w, r)
		return
	}
	b, err := json.Marshal(stats)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (s *Server) renderProcessor(w http.ResponseWriter, r *http.Request) {
	p := s.processor(r)
	if p == nil {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), statsTimeout)
	defer cancel()
	group := p.Graph().Group()
	params := s.params(fmt.Sprintf("Processor details for %s", group))
	params["title"] = group
	s.live(params, "processor", "/data/processor/"+mux.Vars(r)["idx"])
	stats := p.StatsWithContext(ctx)
	tables, inputs, outputs := processorRows(stats, string(goka.GroupTable(group)))
	params["tables"], params["inputs"], params["outputs"] = tables, inputs, outputs
	params["lookups"] = lookupRows(stats)
	params["assignment"] = stats.Assignment
	page.Render(w, s.log, http.StatusOK, params, menuTemplate, liveTemplate, "web/templates/monitor/details_processor.go.html")
}

func (s *Server) renderView(w http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	if v == nil {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), statsTimeout)
	defer cancel()
	params := s.params(fmt.Sprintf("View details for %s", v.Topic()))
	params["title"] = v.Topic()
	s.live(params, "view", "/data/view/"+mux.Vars(r)["idx"])
	var tables []tableRow
	if stats := v.Stats(ctx); stats != nil {
		for _, part := range sortedKeys(stats.Partitions) {
			tables = append(tables, newTableRow(part, v.Topic(), stats.Partitions[part]))
		}
	}
	params["tables"] = tables
	page.Render(w, s.log, http.StatusOK, params, menuTemplate, liveTemplate, "web/templates/monitor/details_view.go.html")
}
