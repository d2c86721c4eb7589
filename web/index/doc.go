// Package index serves a start page that links the other web components
// (monitor, query, actions) mounted on the same router.
//
// # Usage
//
//	root := mux.NewRouter()
//	idx := index.NewServer("/", root)
//	mon := monitor.NewServer("/monitor", root)
//	idx.AddComponent(mon, "Monitor")
//	http.ListenAndServe(":9095", root)
//
// # Routes
//
// The base path lists the added components in the order of adding, each
// linking to its BasePath with a trailing slash.
//
// # Differences from Goka
//
// AddComponent may be called while the server serves. A component mounted on
// "/" links to "/" (Goka's link would be "//").
package index
