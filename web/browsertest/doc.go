// Package browsertest checks the web monitor in a real browser: headless
// Chromium, driven from Go through the DevTools protocol (chromedp).
//
// # Why a module of its own
//
// chromedp and its dependencies are for this test only; as a Go module of
// its own (with a replace of the root module), it keeps them out of the
// root module's requirements, as the plugins do.
//
// # Running
//
//	cd web/browsertest && go test -count=1 ./...
//
// It needs a Chromium or Chrome binary: $CHROMIUM, or chromium,
// chromium-browser, google-chrome on the PATH (Debian: apt-get install
// chromium). Without one the test fails, unless GOKA_BROWSERTEST_OPTIONAL is
// set, when it skips. The screenshot of the monitor goes to
// $GOKA_BROWSERTEST_OUT (default: the test's temporary directory).
package browsertest
