package service_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	messaging "github.com/e3793d55/goka/examples/3-messaging"
	"github.com/e3793d55/goka/examples/3-messaging/collector"
	"github.com/e3793d55/goka/examples/3-messaging/internal/msgtest"
	"github.com/e3793d55/goka/examples/3-messaging/service"
	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/tester"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// TestService sends through the HTTP API and reads the feed that the
// collector builds, all on a tester.
func TestService(t *testing.T) {
	gkt := tester.New(t)
	emitter, err := goka.NewEmitter(nil, messaging.SentStream, new(messaging.MessageCodec), goka.WithEmitterTester(gkt))
	require.NoError(t, err)
	view, err := goka.NewView(nil, collector.Table, new(messaging.MessageListCodec), goka.WithViewTester(gkt))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- view.Run(ctx) }()
	// Registered before the processors' clean-ups, so it runs after them:
	// the emitter finishes once everything has stopped.
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, emitter.Finish())
	})
	// Without the filter, forward sent messages to the collector as they are.
	msgtest.Run(t, gkt, goka.DefineGroup("forward",
		goka.Input(messaging.SentStream, new(messaging.MessageCodec), func(ctx goka.Context, msg interface{}) {
			ctx.Emit(messaging.ReceivedStream, msg.(*messaging.Message).To, msg)
		}),
		goka.Output(messaging.ReceivedStream, new(messaging.MessageCodec)),
	))
	msgtest.Run(t, gkt, collector.Graph())

	select {
	case <-view.WaitRunning():
	case <-time.After(10 * time.Second):
		t.Fatal("the view does not run")
	}
	srv := httptest.NewServer(service.Handler(emitter, view))
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}

	code, body := do("GET", "/bob/feed", "")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `[]`, body)

	code, body = do("POST", "/alice/send", `{"to":"bob","content":"hi"}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "sent alice → bob: hi\n", body)
	code, body = do("GET", "/bob/feed", "")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `[{"from":"alice","to":"bob","content":"hi"}]`, body)

	code, body = do("POST", "/alice/send", `{"content":"to nobody"}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, `"to" is missing`)
	code, _ = do("POST", "/alice/send", `not json`)
	assert.Equal(t, http.StatusBadRequest, code)
}
