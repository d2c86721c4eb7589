package templates_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/web/templates"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// Every page parses together with the base templates.
func TestPagesParse(t *testing.T) {
	for _, files := range [][]string{
		{"web/templates/monitor/menu.go.html", "web/templates/monitor/index.go.html"},
		{"web/templates/monitor/menu.go.html", "web/templates/monitor/details_processor.go.html"},
		{"web/templates/monitor/menu.go.html", "web/templates/monitor/details_view.go.html"},
		{"web/templates/query/index.go.html"},
		{"web/templates/actions/index.go.html"},
		{"web/templates/index/index.go.html"},
	} {
		tmpl, err := templates.LoadTemplates(append(append([]string(nil), templates.BaseTemplates...), files...)...)
		require.NoError(t, err, files)
		for _, name := range []string{"base", "head", "menu", "menu_content", "content"} {
			assert.NotNil(t, tmpl.Lookup(name), "%v: %s", files, name)
		}
	}
}

func TestEmbedLoader(t *testing.T) {
	l := templates.NewEmbedLoader()
	long, err := l.LoadTemplates("web/templates/common/base.go.html")
	require.NoError(t, err)
	short, err := l.LoadTemplates("common/base.go.html")
	require.NoError(t, err)
	assert.Equal(t, long, short)
	assert.True(t, strings.HasPrefix(long, `{{define "base"}}`))

	_, err = l.LoadTemplates("web/templates/common/nosuch.go.html")
	assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
	_, err = templates.LoadTemplates("web/templates/common/nosuch.go.html")
	assert.ErrorContains(t, err, "nosuch.go.html")
}

// fakeLoader serves one broken template.
type fakeLoader struct{}

func (fakeLoader) LoadTemplates(string) (string, error) { return `{{define "x"}}`, nil }

func TestParseError(t *testing.T) {
	old := templates.DefaultLoader
	templates.DefaultLoader = fakeLoader{}
	defer func() { templates.DefaultLoader = old }()
	_, err := templates.LoadTemplates("broken.go.html")
	assert.ErrorContains(t, err, "parsing template broken.go.html")
}
