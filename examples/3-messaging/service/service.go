// Package service is the HTTP front end of the messaging example: it sends
// messages with an emitter and serves feeds from a view of the collector
// table.
//
//	POST /{user}/send  {"to": "bob", "content": "ciao"}
//	GET  /{user}/feed  [{"from": "alice", "to": "bob", "content": "hello"}, …]
package service

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/e3793d55/goka"
	messaging "github.com/e3793d55/goka/examples/3-messaging"
)

// Handler returns the service's handler. It sends with emitter (to
// messaging.SentStream) and reads feeds from collectorView.
func Handler(emitter *goka.Emitter, collectorView *goka.View) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{user}/send", func(w http.ResponseWriter, r *http.Request) {
		var m messaging.Message
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err == nil {
			err = json.Unmarshal(body, &m)
		}
		if err != nil {
			http.Error(w, fmt.Sprintf("bad message: %v", err), http.StatusBadRequest)
			return
		}
		m.From = r.PathValue("user")
		if m.To == "" {
			http.Error(w, `bad message: "to" is missing`, http.StatusBadRequest)
			return
		}
		if err := emitter.EmitSync(m.From, &m); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintf(w, "sent %s → %s: %s\n", m.From, m.To, m.Content)
	})
	mux.HandleFunc("GET /{user}/feed", func(w http.ResponseWriter, r *http.Request) {
		v, err := collectorView.Get(r.PathValue("user"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		feed, _ := v.([]messaging.Message)
		if feed == nil {
			feed = []messaging.Message{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(feed)
	})
	return mux
}
