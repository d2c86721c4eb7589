// Package monitor serves web pages and JSON statistics of processors and views.
//
// # Usage
//
// Mount a Server on a gorilla/mux router and attach the components:
//
//	root := mux.NewRouter()
//	mon := monitor.NewServer("/monitor", root)
//	mon.AttachProcessor(proc)
//	mon.AttachView(view)
//	http.ListenAndServe(":9095", root)
//
// # Routes
//
// Relative to the base path:
//
//	/                    processors with their edges and codec types, and views
//	/processor/{idx}     statistics of the idx-th attached processor, per partition
//	/view/{idx}          statistics of the idx-th attached view, per partition
//	/data/processor/{idx}  Processor.Stats as JSON
//	/data/view/{idx}       View.Stats as JSON
//
// Indexes count from 0 in the order of attaching. An unknown index or type
// answers 404. The detail pages reload themselves every few seconds.
//
// # Live charts
//
// The detail pages chart consumer lag, throughput and table recovery
// (records loaded and left), polling /data every second, and refresh their
// tables every few seconds. The script and style sheet are embedded in the
// binary and served under /assets/: nothing is loaded from elsewhere.
//
// # Exposed data: put it behind your own authentication
//
// The pages and the JSON show group, topic and table names, offsets and
// statistics to anybody who reaches them; package query, mounted next to
// it, shows table contents. Neither authenticates. Mount them on a router
// of their own and put your middleware in front of it:
//
//	mon := mux.NewRouter()
//	monitor.NewServer("/monitor", mon).AttachProcessor(proc)
//	root.PathPrefix("/monitor").Handler(requireAuth(mon))
//
// See Example (WithAuthentication).
//
// # Differences from Goka
//
// The detail pages are server-rendered tables with SVG charts drawn by a
// small embedded script instead of d3 loaded from the internet; the JSON
// under /data is the same statistics. The data endpoints
// answer with Content-Type application/json and give up after 10 seconds (or
// when the client goes away) while collecting statistics.
package monitor
