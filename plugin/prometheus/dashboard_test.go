package prometheus_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"

	gokaprom "github.com/e3793d55/goka/plugin/prometheus"
)

// TestDashboardNamesExist checks that every metric the Grafana dashboard
// queries is one the plugin exports.
func TestDashboardNamesExist(t *testing.T) {
	data, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prom.Desc, 100)
	gokaprom.New().Describe(ch)
	close(ch)
	exported := map[string]bool{}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for desc := range ch {
		exported[fqName.FindStringSubmatch(desc.String())[1]] = true
	}
	names := regexp.MustCompile(`goka_[a-z_]+`)
	queried := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, n := range names.FindAllString(tg.Expr, -1) {
				queried++
				if !exported[strings.TrimSuffix(n, "_bucket")] {
					t.Errorf("panel %q queries %s, which the plugin does not export", p.Title, n)
				}
			}
		}
	}
	if queried < 20 {
		t.Errorf("the dashboard queries only %d metrics", queried)
	}
}
