// Package query serves web pages to look up keys in tables: any goka.Getter,
// such as View.Get or Processor.Get, attached under a name.
//
// # Usage
//
//	root := mux.NewRouter()
//	qs := query.NewServer("/query", root)
//	if err := qs.AttachSource("user-clicks", view.Get); err != nil { ... }
//	http.ListenAndServe(":9095", root)
//
// # Routes
//
// Relative to the base path:
//
//	/                  a form to choose a source and a key
//	/{name}            the form with source name selected
//	/{name}/{key}      the value of key in source name (the key may contain /)
//
// The form sends GET /?source=name&key=key, which redirects to /{name}/{key}.
// Values are shown through the server's Humanizer, by default as indented
// JSON (DefaultHumanizer); WithHumanizer sets another one.
//
// # Status codes
//
// A value found answers 200. An unknown source or a key without value (the
// getter returns nil) answers 404, a getter or humanizer error 500; all of
// them still render the page with the form and the message.
//
// # Differences from Goka
//
// Goka answers 200 with a warning for unknown sources and keys and 200 with
// an error for failing getters. The form works without JavaScript.
//
// # Exposed data: put it behind your own authentication
//
// The page returns the value of any key of the attached tables to anybody
// who reaches it: it does not authenticate. Mount it on a router of its own
// and put your middleware in front of it, as shown for package monitor
// (its Example_withAuthentication):
//
//	q := mux.NewRouter()
//	srv := query.NewServer("/query", q)
//	err := srv.AttachSource("user-clicks", view.Get)
//	root.PathPrefix("/query").Handler(requireAuth(q))
package query
