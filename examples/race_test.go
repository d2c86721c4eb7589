//go:build race

package examples_test

// raceEnabled makes the examples be built with -race when the tests are:
// a race in an example or in the library under it fails the example.
const raceEnabled = true
