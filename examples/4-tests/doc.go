// Package tests shows how to unit-test processors with package tester,
// without Kafka: the tests in this directory are the example. Run them
// with
//
//	go test ./examples/4-tests
package tests
