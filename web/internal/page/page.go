// Package page renders the pages of the web packages and holds what their
// servers share.
//
// # Rendering
//
// Render loads the base templates plus the given ones, executes "base" into a
// buffer and only then writes the status and the page, so that a template
// error gives a 500 instead of half a page.
package page

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/web/templates"
)

// Render writes the page made of the base templates and files with params and
// status. Errors are answered with 500 and logged to log.
func Render(w http.ResponseWriter, log goka.Logger, status int, params map[string]interface{}, files ...string) {
	tmpl, err := templates.LoadTemplates(append(append([]string(nil), templates.BaseTemplates...), files...)...)
	if err != nil {
		log.Printf("web: loading templates: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "base", params); err != nil {
		log.Printf("web: rendering %v: %v", files, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// Prefix is basePath without trailing slashes, to build links: "/" gives "".
func Prefix(basePath string) string {
	return strings.TrimRight(basePath, "/")
}

// Subrouter returns a subrouter of router for basePath, and registers index
// for the base path both with and without a trailing slash.
func Subrouter(router *mux.Router, basePath string, index http.HandlerFunc) *mux.Router {
	sub := router.PathPrefix(basePath).Subrouter()
	sub.HandleFunc("/", index)
	if p := Prefix(basePath); p != "" {
		router.HandleFunc(p, index)
	}
	return sub
}
