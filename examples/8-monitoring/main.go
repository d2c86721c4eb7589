// Command 8-monitoring serves the statistics of two processors and a view
// over HTTP as JSON, and an action that runs a visitor:
//
//	GET  /stats/processor/counter    Processor.Stats of the counter
//	GET  /stats/processor/enricher   Processor.Stats of the stateless enricher
//	GET  /stats/view                 View.Stats of a view of the counter table
//	POST /actions/reset              VisitAll("reset"): sets every count to 0
//	GET  /metrics                    Prometheus metrics (plugin/prometheus)
//
// and the web UI of the packages web/index, web/monitor and web/query:
//
//	GET  /                           links to the monitor and the query pages
//	GET  /monitor/                   processors with their edges, and the view
//	GET  /monitor/data/processor/0   the counter's stats as JSON (1: the enricher)
//	GET  /query/counter/user-0       user-0's count in the view
//
// The counter counts clicks per user; the enricher is stateless, joins the
// counter's table and emits a line per click. By default the program
// emits some clicks, fetches its own endpoints, prints a summary and exits:
//
//	go run ./examples/8-monitoring
//
// With -keep-running it serves until SIGINT/SIGTERM, and with -emit-every
// it keeps emitting a click at that interval, so that a Prometheus server
// scraping /metrics sees lag and throughput move
// (scripts/prometheus-check.sh):
//
//	curl localhost:9096/stats/processor/counter
package main

import (
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
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/examples/internal/exampleenv"
	"github.com/e3793d55/goka/multierr"
	gokaprom "github.com/e3793d55/goka/plugin/prometheus"
	"github.com/e3793d55/goka/storage"
	"github.com/e3793d55/goka/web/index"
	"github.com/e3793d55/goka/web/monitor"
	"github.com/e3793d55/goka/web/query"
)

var (
	clicks   goka.Stream = "monitoring-clicks"
	enriched goka.Stream = "monitoring-enriched"
	counter  goka.Group  = "monitoring-counter"
	enricher goka.Group  = "monitoring-enricher"
)

const partitions = 4

// emitEvery is the -emit-every flag.
var emitEvery time.Duration

// metrics observes the processors, the view and the emitter.
var metrics = gokaprom.New()

func main() {
	addr := flag.String("addr", "localhost:9096", "address of the HTTP server")
	keep := flag.Bool("keep-running", false, "keep serving after the demo until SIGINT/SIGTERM")
	messages := flag.Int("messages", 40, "number of clicks to emit")
	flag.DurationVar(&emitEvery, "emit-every", 0, "with -keep-running: emit a click at this interval (0: none)")
	flag.Parse()
	if err := run(*addr, *messages, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(addr string, messages int, keepRunning bool) error {
	ctx, stop := exampleenv.SignalContext()
	defer stop()
	brokers, closeBroker, err := exampleenv.Brokers(partitions)
	if err != nil {
		return err
	}
	defer closeBroker()
	tmc := exampleenv.Configure()
	tmb := goka.TopicManagerBuilderWithTopicManagerConfig(tmc)
	if err := exampleenv.EnsureStreams(brokers, tmc, partitions, clicks, enriched); err != nil {
		return err
	}
	// The enricher joins the counter's table, so it must exist first.
	if err := exampleenv.EnsureTables(brokers, tmc, partitions, goka.GroupTable(counter)); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "goka-8-monitoring-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cnt, err := goka.NewProcessor(brokers, goka.DefineGroup(counter,
		goka.Input(clicks, new(codec.String), func(ctx goka.Context, _ interface{}) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
		}),
		goka.Visitor("reset", func(ctx goka.Context, meta interface{}) { ctx.SetValue(meta) }),
		goka.Persist(new(codec.Int64)),
	), goka.WithObserver(metrics), goka.WithTopicManagerBuilder(tmb), goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, "counter"))))
	if err != nil {
		return err
	}
	enr, err := goka.NewProcessor(brokers, goka.DefineGroup(enricher,
		goka.Input(clicks, new(codec.String), func(ctx goka.Context, msg interface{}) {
			n, _ := ctx.Join(goka.GroupTable(counter)).(int64)
			ctx.Emit(enriched, ctx.Key(), fmt.Sprintf("%v (about %d clicks so far)", msg, n))
		}),
		goka.Join(goka.GroupTable(counter), new(codec.Int64)),
		goka.Output(enriched, new(codec.String)),
	), goka.WithObserver(metrics), goka.WithTopicManagerBuilder(tmb), goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, "enricher"))))
	if err != nil {
		return err
	}
	view, err := goka.NewView(brokers, goka.GroupTable(counter), new(codec.Int64),
		goka.WithViewObserver(metrics), goka.WithViewTopicManagerBuilder(tmb), goka.WithViewStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, "view"))))
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	h, err := handler(cnt, enr, view)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Printf("serving %s/stats/processor/counter, …/enricher, /stats/view, POST /actions/reset\n", base)
	fmt.Printf("web UI at %s/ (monitor at /monitor/, queries at /query/)\n", base)

	grp, gctx := multierr.NewErrGroup(ctx)
	runCtx, cancel := context.WithCancel(gctx)
	defer cancel()
	grp.Go(func() error { return cnt.Run(runCtx) })
	grp.Go(func() error { return enr.Run(runCtx) })
	grp.Go(func() error { return view.Run(runCtx) })
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
		if !keepRunning {
			defer cancel()
		}
		err := demo(runCtx, brokers, base, cnt, enr, view, messages)
		if runCtx.Err() != nil {
			return nil // stopped by a signal or a failing component
		}
		if err == nil && keepRunning {
			fmt.Println("running; press Ctrl-C to stop")
			if emitEvery > 0 {
				return emitForever(runCtx, brokers, emitEvery)
			}
		}
		return err
	})
	return grp.Wait().ErrorOrNil()
}

func handler(cnt, enr *goka.Processor, view *goka.View) (http.Handler, error) {
	sm := http.NewServeMux()
	serveJSON := func(w http.ResponseWriter, v interface{}) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
	}
	procs := map[string]*goka.Processor{"counter": cnt, "enricher": enr}
	sm.HandleFunc("GET /stats/processor/{name}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := procs[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		serveJSON(w, p.StatsWithContext(r.Context()))
	})
	sm.Handle("GET /metrics", metrics.Handler())
	sm.HandleFunc("GET /stats/view", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, view.Stats(r.Context()))
	})
	sm.HandleFunc("POST /actions/reset", func(w http.ResponseWriter, r *http.Request) {
		n, err := cnt.VisitAllWithStats(r.Context(), "reset", int64(0))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		serveJSON(w, map[string]int64{"visited": n})
	})

	// Everything else goes to the web UI on a gorilla/mux router.
	root := mux.NewRouter()
	idx := index.NewServer("/", root)
	mon := monitor.NewServer("/monitor", root)
	mon.AttachProcessor(cnt)
	mon.AttachProcessor(enr)
	mon.AttachView(view)
	idx.AddComponent(mon, "Monitor")
	qs := query.NewServer("/query", root)
	if err := qs.AttachSource("counter", view.Get); err != nil {
		return nil, err
	}
	idx.AddComponent(qs, "Query")
	sm.Handle("/", root)
	return sm, nil
}

// demo emits clicks, waits until the view has counted them, and prints
// what the HTTP endpoints say.
func demo(ctx context.Context, brokers []string, base string, cnt, enr *goka.Processor, view *goka.View, messages int) error {
	for _, p := range []*goka.Processor{cnt, enr} {
		if err := p.WaitForReadyContext(ctx); err != nil {
			return err
		}
	}
	e, err := goka.NewEmitter(brokers, clicks, new(codec.String), goka.WithEmitterObserver(metrics))
	if err != nil {
		return err
	}
	for i := range messages {
		if _, err := e.Emit(fmt.Sprintf("user-%d", i%partitions), "click"); err != nil {
			_ = e.Finish()
			return err
		}
	}
	if err := e.Finish(); err != nil {
		return err
	}
	// Wait for the enricher too, so that its stats count every click. (An
	// input is counted when its callback starts, an output when emitted.)
	if err := exampleenv.WaitFor(ctx, "the clicks to be processed", func() bool {
		var ps goka.ProcessorStats
		if err := getJSON(base+"/stats/processor/enricher", &ps); err != nil {
			return false
		}
		var out uint
		for _, p := range ps.Group {
			if o := p.Output[string(enriched)]; o != nil {
				out += o.Count
			}
		}
		return out >= uint(messages) && total(view) >= int64(messages)
	}); err != nil {
		return err
	}

	for _, name := range []string{"counter", "enricher"} {
		var ps goka.ProcessorStats
		if err := getJSON(base+"/stats/processor/"+name, &ps); err != nil {
			return err
		}
		var in, out, writes uint
		for _, p := range ps.Group {
			for _, s := range p.Input {
				in += s.Count
			}
			for _, s := range p.Output {
				out += s.Count
			}
			if p.TableStats != nil {
				writes += p.TableStats.Writes.Count
			}
		}
		fmt.Printf("%s: %d partitions, %d messages in, %d out, %d table writes, %d joined tables\n",
			name, len(ps.Group), in, out, writes, joined(ps))
	}
	var vs goka.ViewStats
	if err := getJSON(base+"/stats/view", &vs); err != nil {
		return err
	}
	running := 0
	for _, t := range vs.Partitions {
		if t.Status == goka.PartitionRunning {
			running++
		}
	}
	fmt.Printf("view: %d of %d partitions running\n", running, len(vs.Partitions))
	if err := checkWebUI(base); err != nil {
		return err
	}

	resp, err := http.Post(base+"/actions/reset", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	var visited map[string]int64
	if err := json.NewDecoder(resp.Body).Decode(&visited); err != nil {
		return fmt.Errorf("reset: %s: %w", resp.Status, err)
	}
	fmt.Printf("reset: visited %d keys\n", visited["visited"])
	return nil
}

// emitForever emits a click every interval until ctx ends.
func emitForever(ctx context.Context, brokers []string, every time.Duration) error {
	e, err := goka.NewEmitter(brokers, clicks, new(codec.String), goka.WithEmitterObserver(metrics))
	if err != nil {
		return err
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return e.Finish()
		case <-tick.C:
		}
		if _, err := e.Emit(fmt.Sprintf("user-%d", i%partitions), "click"); err != nil {
			return errors.Join(err, e.Finish())
		}
	}
}

// checkWebUI fetches pages of the web UI and prints what they say.
func checkWebUI(base string) error {
	status := func(path string) (int, string, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close() //nolint:errcheck // read-only
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	code, body, err := status("/")
	if err != nil {
		return err
	}
	links := 0
	for _, link := range []string{`href="/monitor/"`, `href="/query/"`} {
		if strings.Contains(body, link) {
			links++
		}
	}
	var ps goka.ProcessorStats
	if err := getJSON(base+"/monitor/data/processor/0", &ps); err != nil {
		return err
	}
	found, _, err := status("/query/counter/user-0")
	if err != nil {
		return err
	}
	missing, _, err := status("/query/counter/nobody")
	if err != nil {
		return err
	}
	_, metricsBody, err := status("/metrics")
	if err != nil {
		return err
	}
	fmt.Printf("metrics: goka_processor_messages_processed_total exported: %v\n", strings.Contains(metricsBody, "goka_processor_messages_processed_total{"))
	fmt.Printf("web: index %d with %d links, monitor data of %d partitions, query %d, unknown key %d\n",
		code, links, len(ps.Group), found, missing)
	return nil
}

func joined(ps goka.ProcessorStats) int {
	for _, p := range ps.Group {
		return len(p.Joined)
	}
	return 0
}

func total(view *goka.View) int64 {
	var n int64
	for u := range partitions {
		v, _ := view.Get(fmt.Sprintf("user-%d", u))
		c, _ := v.(int64)
		n += c
	}
	return n
}

func getJSON(url string, v interface{}) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
