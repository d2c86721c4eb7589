package templates

import (
	"embed"
	"fmt"
	"path"
)

// files are the templates, one directory per web package.
//
//go:embed common monitor query actions index
var files embed.FS

// DefaultLoader is the loader LoadTemplates uses.
var DefaultLoader Loader = &EmbedLoader{}

// Loader returns the content of a template file.
type Loader interface {
	LoadTemplates(filename string) (string, error)
}

// EmbedLoader loads the templates embedded in this package.
type EmbedLoader struct{}

// NewEmbedLoader returns an EmbedLoader.
func NewEmbedLoader() *EmbedLoader {
	return &EmbedLoader{}
}

// LoadTemplates returns the content of the embedded file named by the last
// directory and the base name of filename, such as "query/index.go.html" for
// "web/templates/query/index.go.html".
func (l *EmbedLoader) LoadTemplates(filename string) (string, error) {
	name := path.Join(path.Base(path.Dir(filename)), path.Base(filename))
	b, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("reading embedded template %s: %w", filename, err)
	}
	return string(b), nil
}
