package blocker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/e3793d55/goka/examples/3-messaging/blocker"
	"github.com/e3793d55/goka/examples/3-messaging/internal/msgtest"
	"github.com/e3793d55/goka/tester"
)

func TestBlockAndUnblock(t *testing.T) {
	gkt := tester.New(t)
	msgtest.Run(t, gkt, blocker.Graph())

	assert.Nil(t, gkt.TableValue(blocker.Table, "bob"))
	gkt.Consume(string(blocker.Stream), "bob", &blocker.BlockEvent{})
	assert.Equal(t, &blocker.BlockValue{Blocked: true}, gkt.TableValue(blocker.Table, "bob"))
	gkt.Consume(string(blocker.Stream), "bob", &blocker.BlockEvent{Unblock: true})
	assert.Equal(t, &blocker.BlockValue{Blocked: false}, gkt.TableValue(blocker.Table, "bob"))
	assert.Nil(t, gkt.TableValue(blocker.Table, "alice"), "other users are untouched")
}
