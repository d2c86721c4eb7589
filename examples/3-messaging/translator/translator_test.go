package translator_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/e3793d55/goka/examples/3-messaging/internal/msgtest"
	"github.com/e3793d55/goka/examples/3-messaging/translator"
	"github.com/e3793d55/goka/tester"
)

func TestTranslate(t *testing.T) {
	gkt := tester.New(t)
	msgtest.Run(t, gkt, translator.Graph())

	gkt.Consume(string(translator.Stream), "ciao", "hello")
	gkt.Consume(string(translator.Stream), "ciao", "hi")
	assert.Equal(t, "hi", gkt.TableValue(translator.Table, "ciao"), "the last translation wins")
	assert.Equal(t, []string{"ciao"}, gkt.GetTableKeys(translator.Table))
}
