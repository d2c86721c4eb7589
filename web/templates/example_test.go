package templates_test

import (
	"fmt"
	"log"
	"os"

	"github.com/e3793d55/goka/web/templates"
)

// Rendering the index page's content with the embedded templates.
func ExampleLoadTemplates() {
	tmpl, err := templates.LoadTemplates(append(templates.BaseTemplates, "web/templates/index/index.go.html")...)
	if err != nil {
		log.Fatal(err)
	}
	err = tmpl.ExecuteTemplate(os.Stdout, "content", map[string]interface{}{
		"components": []struct{ Name, BasePath string }{{"Monitor", "/monitor"}},
	})
	fmt.Println(err)
	// Output:
	// <h1>Goka</h1>
	//
	// <ul id="components">
	// <li><a href="/monitor/">Monitor</a></li>
	//
	// </ul>
	//
	// <nil>
}
