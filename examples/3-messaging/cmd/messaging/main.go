// Command messaging runs the messaging example: the processors (blocker,
// collector, detector, filter, translator), the HTTP service, and a short
// scenario that uses them, then exits:
//
//	go run ./examples/3-messaging/cmd/messaging
//
// With -keep-running it keeps serving after the scenario:
//
//	curl -d '{"to":"bob","content":"ciao"}' localhost:8080/alice/send
//	curl localhost:8080/bob/feed
//
// With a shared broker (go run ./cmd/devbroker) the processors can run in
// separate programs, e.g. -processors=filter in one terminal and
// -processors=blocker,collector,detector,translator in another.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/e3793d55/goka"
	messaging "github.com/e3793d55/goka/examples/3-messaging"
	"github.com/e3793d55/goka/examples/3-messaging/blocker"
	"github.com/e3793d55/goka/examples/3-messaging/collector"
	"github.com/e3793d55/goka/examples/3-messaging/detector"
	"github.com/e3793d55/goka/examples/3-messaging/filter"
	"github.com/e3793d55/goka/examples/3-messaging/service"
	"github.com/e3793d55/goka/examples/3-messaging/translator"
	"github.com/e3793d55/goka/examples/internal/exampleenv"
	"github.com/e3793d55/goka/multierr"
	"github.com/e3793d55/goka/storage"
)

const partitions = 10

var graphs = map[string]func() *goka.GroupGraph{
	"blocker":    blocker.Graph,
	"collector":  collector.Graph,
	"detector":   detector.Graph,
	"filter":     filter.Graph,
	"translator": translator.Graph,
}

func main() {
	addr := flag.String("addr", "localhost:8080", "address of the HTTP service")
	procs := flag.String("processors", "blocker,collector,detector,filter,translator", "processors to run in this program")
	keep := flag.Bool("keep-running", false, "keep running after the scenario until SIGINT/SIGTERM")
	flag.Parse()
	if err := run(*addr, strings.Split(*procs, ","), *keep); err != nil {
		log.Fatal(err)
	}
}

func run(addr string, procs []string, keepRunning bool) error {
	ctx, stop := exampleenv.SignalContext()
	defer stop()
	brokers, closeBroker, err := exampleenv.Brokers(partitions)
	if err != nil {
		return err
	}
	defer closeBroker()
	tmc := exampleenv.Configure()
	tmb := goka.TopicManagerBuilderWithTopicManagerConfig(tmc)
	// The streams must exist and be copartitioned before the processors and
	// views start: the filter joins message_sent with blocker-table.
	if err := exampleenv.EnsureStreams(brokers, tmc, partitions,
		messaging.SentStream, messaging.ReceivedStream, blocker.Stream, translator.Stream); err != nil {
		return err
	}
	if err := exampleenv.EnsureTables(brokers, tmc, partitions, blocker.Table, collector.Table, detector.Table, translator.Table); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "goka-3-messaging-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	running := map[string]*goka.Processor{}
	for _, name := range procs {
		graph, ok := graphs[name]
		if !ok {
			return fmt.Errorf("unknown processor %q in -processors", name)
		}
		p, err := goka.NewProcessor(brokers, graph(),
			goka.WithTopicManagerBuilder(tmb),
			goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, name))))
		if err != nil {
			return err
		}
		running[name] = p
	}
	views := map[goka.Table]*goka.View{}
	for table, c := range map[goka.Table]goka.Codec{
		collector.Table:  new(messaging.MessageListCodec),
		blocker.Table:    new(blocker.BlockValueCodec),
		translator.Table: new(translator.ValueCodec),
	} {
		v, err := goka.NewView(brokers, table, c,
			goka.WithViewTopicManagerBuilder(tmb),
			goka.WithViewStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, "view-"+string(table)))))
		if err != nil {
			return err
		}
		views[table] = v
	}
	emitter, err := goka.NewEmitter(brokers, messaging.SentStream, new(messaging.MessageCodec))
	if err != nil {
		return err
	}
	defer emitter.Finish() //nolint:errcheck // errors were returned by EmitSync
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: service.Handler(emitter, views[collector.Table]), ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("service at http://%s (processors: %s)\n", ln.Addr(), strings.Join(procs, ", "))

	grp, gctx := multierr.NewErrGroup(ctx)
	runCtx, cancel := context.WithCancel(gctx)
	defer cancel()
	for _, p := range running {
		grp.Go(func() error { return p.Run(runCtx) })
	}
	for _, v := range views {
		grp.Go(func() error { return v.Run(runCtx) })
	}
	grp.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	grp.Go(func() error {
		<-runCtx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		return srv.Shutdown(sctx)
	})
	grp.Go(func() error {
		defer func() {
			if !keepRunning {
				cancel()
			}
		}()
		s := &scenario{base: "http://" + ln.Addr().String(), brokers: brokers, procs: running, views: views}
		if err := s.run(runCtx); err != nil {
			if runCtx.Err() != nil {
				return nil // stopped by a signal
			}
			return fmt.Errorf("scenario: %w", err)
		}
		if keepRunning {
			fmt.Println("running; press Ctrl-C to stop")
		}
		return nil
	})
	return grp.Wait().ErrorOrNil()
}

// scenario drives the example through the service and prints what
// happens.
type scenario struct {
	base    string
	brokers []string
	procs   map[string]*goka.Processor
	views   map[goka.Table]*goka.View
}

func (s *scenario) run(ctx context.Context) error {
	for _, p := range s.procs {
		if err := p.WaitForReadyContext(ctx); err != nil {
			return err
		}
	}

	// 1. Teach the translator two words and wait until the filter's lookup
	// table has them, so that the next message is translated.
	words := map[string]string{"ciao": "hello", "mondo": "world"}
	if err := emitAll(s.brokers, translator.Stream, new(translator.ValueCodec), words); err != nil {
		return err
	}
	if err := exampleenv.WaitFor(ctx, "translations", func() bool {
		for w, t := range words {
			if v, _ := s.views[translator.Table].Get(w); v != t {
				return false
			}
		}
		return s.filterKnowsWords(ctx, len(words))
	}); err != nil {
		return err
	}
	fmt.Println("translator knows: ciao → hello, mondo → world")

	// 2. Alice writes to Bob in Italian; Bob reads English.
	if err := s.send("alice", "bob", "ciao mondo"); err != nil {
		return err
	}
	var feed []messaging.Message
	if err := exampleenv.WaitFor(ctx, "bob's feed", func() bool {
		feed = s.feed("bob")
		return slices.ContainsFunc(feed, func(m messaging.Message) bool { return m.From == "alice" })
	}); err != nil {
		return err
	}
	for _, m := range feed {
		fmt.Printf("bob received from %s: %s\n", m.From, m.Content)
	}

	// 3. A spammer sends many messages and gets nothing back: the detector
	// blocks it, and the filter drops its messages from then on.
	for i := range 2 * detector.MinMessages {
		if err := s.send("spammer", fmt.Sprintf("user-%d", i), "buy now"); err != nil {
			return err
		}
	}
	if err := exampleenv.WaitFor(ctx, "the spammer to be blocked", func() bool {
		v, _ := s.views[blocker.Table].Get("spammer")
		b, _ := v.(*blocker.BlockValue)
		return b != nil && b.Blocked
	}); err != nil {
		return err
	}
	fmt.Println("the detector blocked spammer")
	return nil
}

// filterKnowsWords reports whether the local filter's lookup table has read
// n records; true if the filter runs elsewhere.
func (s *scenario) filterKnowsWords(ctx context.Context, n int) bool {
	p, ok := s.procs["filter"]
	if !ok {
		return true
	}
	var read uint
	if vs := p.StatsWithContext(ctx).Lookup[string(translator.Table)]; vs != nil {
		for _, ts := range vs.Partitions {
			read += ts.Input.Count
		}
	}
	return read >= uint(n)
}

func (s *scenario) send(from, to, content string) error {
	body, err := json.Marshal(messaging.Message{To: to, Content: content})
	if err != nil {
		return err
	}
	resp, err := http.Post(s.base+"/"+from+"/send", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("send: %s: %s", resp.Status, out)
	}
	return nil
}

func (s *scenario) feed(user string) []messaging.Message {
	resp, err := http.Get(s.base + "/" + user + "/feed")
	if err != nil {
		return nil
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	var feed []messaging.Message
	_ = json.NewDecoder(resp.Body).Decode(&feed)
	return feed
}

func emitAll(brokers []string, topic goka.Stream, c goka.Codec, kv map[string]string) error {
	e, err := goka.NewEmitter(brokers, topic, c)
	if err != nil {
		return err
	}
	for k, v := range kv {
		if err := e.EmitSync(k, v); err != nil {
			_ = e.Finish()
			return err
		}
	}
	return e.Finish()
}
