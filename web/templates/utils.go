package templates

import (
	"fmt"
	"html/template"
)

// BaseTemplates are the templates of every page: "base", "head" and "menu".
var BaseTemplates = []string{
	"web/templates/common/base.go.html",
	"web/templates/common/head.go.html",
	"web/templates/common/menu.go.html",
}

// LoadTemplates loads the files through DefaultLoader and parses them, in
// order, into one template set named "base".
func LoadTemplates(filenames ...string) (*template.Template, error) {
	tmpl := template.New("base")
	for _, name := range filenames {
		content, err := DefaultLoader.LoadTemplates(name)
		if err != nil {
			return nil, err
		}
		if _, err := tmpl.Parse(content); err != nil {
			return nil, fmt.Errorf("parsing template %s: %w", name, err)
		}
	}
	return tmpl, nil
}
