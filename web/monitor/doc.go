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
// # Differences from Goka
//
// The detail pages are server-rendered tables instead of d3 charts fed by
// JavaScript; the JSON under /data is the same statistics. The data endpoints
// answer with Content-Type application/json and give up after 10 seconds (or
// when the client goes away) while collecting statistics.
package monitor
