package pebble_test

import (
	"testing"

	"github.com/e3793d55/goka/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }
