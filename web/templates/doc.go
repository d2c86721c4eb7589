// Package templates holds the HTML templates of the web packages (monitor,
// query, actions and index), embedded in the binary with embed, and loads them.
//
// # Usage
//
// A page is the base templates plus one content template, named like the
// files in Goka's repository:
//
//	tmpl, err := templates.LoadTemplates(append(templates.BaseTemplates, "web/templates/query/index.go.html")...)
//	err = tmpl.ExecuteTemplate(w, "base", params)
//
// "base" renders "head" (title from params["page_title"]), "menu" (with the
// block "menu_content", empty by default) and "content", which the content
// template defines. Templates are parsed in the order given, so a later file
// can redefine a block of an earlier one.
//
// # Loaders
//
// LoadTemplates reads the files through DefaultLoader, an EmbedLoader. Only
// the last directory and the file name of a path are used, so
// "web/templates/query/index.go.html" and "query/index.go.html" name the same
// embedded file. Replace DefaultLoader with another Loader to serve edited
// templates from disk while working on them.
//
// # Differences from Goka
//
// The pages are plain HTML with a little inline CSS: no Bootstrap, jQuery or
// d3 from CDNs, and no live charts. LoadTemplates parses the files in the
// order given (Goka parses them in map order).
package templates
