package router_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/e3793d55/goka/web/router"
)

// The router exposes table contents: mount it behind an authentication
// check of your own.
func Example_withAuthentication() {
	rt, err := router.New(router.Config{
		Self:   "127.0.0.1:8080",
		Locate: router.LocatorFunc(func(string) (router.Location, error) { return router.Location{Active: "127.0.0.1:8080"}, nil }),
		Get:    func(key string) (any, error) { return 42, nil },
	})
	if err != nil {
		panic(err)
	}
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer secret" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(auth(rt))
	defer srv.Close()
	for _, token := range []string{"", "Bearer wrong", "Bearer secret"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/user-1", nil)
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 401
	// 401
	// 200
}
