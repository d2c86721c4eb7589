package browsertest

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/mux"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage"
	"github.com/e3793d55/goka/web/monitor"
)

const (
	clicks      = "bt-clicks"
	counts      = "bt-counts"
	group       = "bt-counter"
	users       = "bt-users-table"
	partitions  = 2
	tableKeys   = 20 // records of the group table before the processors start
	userKeys    = 5  // records of the lookup table
	batch       = 60 // clicks emitted while the page is open
	beforeBlock = 5  // messages a partition processes before its callback blocks
)

// chromium finds the browser binary.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GOKA_BROWSERTEST_OPTIONAL") != "" {
		t.Skip("no Chromium found and GOKA_BROWSERTEST_OPTIONAL is set")
	}
	t.Fatal("no Chromium found: set CHROMIUM or install chromium (apt-get install chromium)")
	return ""
}

// summary is what the charts show, reduced from a ProcessorStats the way
// monitor.js reduces it.
type summary struct {
	Lag, Consumed, Produced, Recovered float64
}

func summarize(s *goka.ProcessorStats) summary {
	var sum summary
	table := func(ts *goka.TableStats) {
		if ts != nil && ts.Input != nil {
			sum.Recovered += float64(ts.Input.Count)
		}
	}
	for _, ps := range s.Group {
		table(ps.TableStats)
		for _, ts := range ps.Joined {
			table(ts)
		}
		for _, in := range ps.Input {
			sum.Lag += float64(max(in.OffsetLag, 0))
			sum.Consumed += float64(in.Count)
		}
		for _, out := range ps.Output {
			sum.Produced += float64(out.Count)
		}
	}
	for _, vs := range s.Lookup {
		for _, ts := range vs.Partitions {
			table(ts)
		}
	}
	return sum
}

// charts is what the page's chart elements carry (monitor.js sets them).
type charts struct {
	Polls     float64 `json:"polls"`
	Lag       float64 `json:"lag"`
	InMax     float64 `json:"inMax"`
	OutMax    float64 `json:"outMax"`
	Consumed  float64 `json:"consumed"`
	Produced  float64 `json:"produced"`
	Recovered float64 `json:"recovered"`
	Tables    string  `json:"tables"`
	Caption   string  `json:"caption"`
}

const readCharts = `(() => {
	const a = (id, k) => Number(document.getElementById(id).getAttribute("data-" + k) || 0);
	return {
		polls: Number(document.getElementById("live").getAttribute("data-polls") || 0),
		lag: a("chart-lag", "lag"),
		inMax: a("chart-throughput", "in-max"),
		outMax: a("chart-throughput", "out-max"),
		consumed: a("chart-throughput", "consumed"),
		produced: a("chart-throughput", "produced"),
		recovered: a("chart-recovery", "recovered"),
		tables: document.getElementById("tables").innerText,
		caption: document.querySelector("#chart-lag figcaption") ? document.querySelector("#chart-lag figcaption").textContent : "",
	};
})()`

// sentinelCell matches a table cell (cells are separated by tabs and
// lines) that holds only -3, the "no offset stored" sentinel (Goka's),
// which the monitor must never show as an offset.
var sentinelCell = regexp.MustCompile(`(^|[\t\n ])-3([\t\n ]|$)`)

// TestMonitorInBrowser loads the monitor of a running processor in headless
// Chromium and waits until its charts show the processor's lag, throughput
// and recovered records, non-zero and equal to what Stats says, and its
// tables the lookup table and a standby partition. Any JavaScript console
// error or exception fails it. The screenshot is saved.
func TestMonitorInBrowser(t *testing.T) {
	bin := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	cluster, err := kafkatest.New(kafkatest.Topic(clicks, partitions), kafkatest.Topic(counts, partitions))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.Brokers()
	opts := cluster.GokaOptions()

	// Tables with data, so that the processor and its lookup recover records.
	fill(t, brokers, opts, string(goka.GroupTable(group)), tableKeys)
	fill(t, brokers, opts, users, userKeys)

	gate := make(chan struct{})
	var closeGate sync.Once
	release := func() { closeGate.Do(func() { close(gate) }) }
	defer release()

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	start := func(p *goka.Processor) {
		wg.Go(func() {
			if err := p.Run(runCtx); err != nil {
				errs <- err
			}
		})
	}
	defer func() {
		release()
		stop()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("processor: %v", err)
		}
	}()

	// The monitored processor keeps the partition it is not assigned as a
	// hot standby; the other instance takes that partition.
	monitored := newProcessor(t, brokers, opts, gate, goka.WithHotStandby())
	start(monitored)
	if err := monitored.WaitForReadyContext(ctx); err != nil {
		t.Fatal(err)
	}
	other := newProcessor(t, brokers, opts, gate)
	start(other)
	waitFor(t, ctx, "one active and one standby partition", func() bool {
		var active, standby int
		for _, ps := range monitored.Stats().Group {
			if ps.TableStats == nil || ps.TableStats.Status != goka.PartitionRunning {
				return false
			}
			if ps.TableStats.RunMode == 0 {
				active++
			} else {
				standby++
			}
		}
		return active == 1 && standby == 1
	})

	root := mux.NewRouter()
	mon := monitor.NewServer("/monitor", root)
	mon.AttachProcessor(monitored)
	srv := httptest.NewServer(root)
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1000))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	var mu sync.Mutex
	var consoleErrors []string
	chromedp.ListenTarget(browser, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				msg = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError {
				msg = "log: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if msg != "" {
			mu.Lock()
			consoleErrors = append(consoleErrors, msg)
			mu.Unlock()
		}
	})

	if err := chromedp.Run(browser, cdplog.Enable(), chromedp.Navigate(srv.URL+"/monitor/processor/0"),
		chromedp.WaitVisible("#chart-lag svg", chromedp.ByQuery)); err != nil {
		t.Fatalf("loading the monitor: %v", err)
	}
	var c charts
	waitBrowser(t, ctx, browser, &c, "a first poll", func() bool { return c.Polls >= 1 })

	// Now the clicks: one batch, so that each partition's first fetch sees
	// all of them and the lag of the message its callback blocks on is
	// the rest of the batch.
	em, err := goka.NewEmitter(brokers, clicks, new(codec.String), opts.Emitter...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		if _, err := em.Emit(fmt.Sprintf("user-%d", i), "click"); err != nil {
			t.Fatal(err)
		}
	}
	if err := em.Finish(); err != nil {
		t.Fatal(err)
	}

	var want summary
	waitBrowser(t, ctx, browser, &c, "charts with non-zero values matching Stats", func() bool {
		want = summarize(monitored.Stats())
		return c.Lag > 0 && c.InMax > 0 && c.OutMax > 0 && c.Recovered > 0 &&
			c.Lag == want.Lag && c.Consumed == want.Consumed && c.Produced == want.Produced &&
			c.Recovered == want.Recovered && want.Consumed >= beforeBlock
	})
	t.Logf("charts: lag %v, consumed %v (max %.1f/s), produced %v (max %.1f/s), recovered %v; Stats: %+v",
		c.Lag, c.Consumed, c.InMax, c.Produced, c.OutMax, c.Recovered, want)
	if want.Recovered < tableKeys/2 {
		t.Errorf("recovered %v records, want at least the %d of one partition and its standby", want.Recovered, tableKeys/2)
	}
	// The tables, refreshed by the page, show the standby partition and the
	// lookup table, and no cell shows the offset sentinel -3 (a cell,
	// not a substring: the member ID's random hex may follow a "-3").
	waitBrowser(t, ctx, browser, &c, "tables with the standby partition and the lookup table", func() bool {
		return strings.Contains(c.Tables, "standby") && strings.Contains(c.Tables, users) &&
			!sentinelCell.MatchString(c.Tables)
	})
	if !strings.Contains(c.Caption, "lag") {
		t.Errorf("lag chart caption %q", c.Caption)
	}

	var png []byte
	if err := chromedp.Run(browser, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 1000 {
		t.Fatalf("screenshot of %d bytes", len(png))
	}
	dir := os.Getenv("GOKA_BROWSERTEST_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "monitor.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))

	mu.Lock()
	defer mu.Unlock()
	for _, e := range consoleErrors {
		t.Errorf("browser: %s", e)
	}
}

// newProcessor returns a counter of clicks whose callback, from the
// (beforeBlock+1)-th message of a partition on, waits for gate.
func newProcessor(t *testing.T, brokers []string, opts kafkatest.GokaOptions, gate <-chan struct{}, extra ...goka.ProcessorOption) *goka.Processor {
	t.Helper()
	var seen [partitions]atomic.Int64
	g := goka.DefineGroup(group,
		goka.Input(clicks, new(codec.String), func(ctx goka.Context, _ any) {
			if seen[ctx.Partition()].Add(1) > beforeBlock {
				<-gate
			}
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
			ctx.Emit(counts, ctx.Key(), n+1)
		}),
		goka.Lookup(users, new(codec.String)),
		goka.Output(counts, new(codec.Int64)),
		goka.Persist(new(codec.Int64)),
	)
	p, err := goka.NewProcessor(brokers, g, append(append(opts.Processor,
		goka.WithStorageBuilder(storage.MemoryBuilder())), extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fill creates the table topic and writes n records to it.
func fill(t *testing.T, brokers []string, opts kafkatest.GokaOptions, table string, n int) {
	t.Helper()
	tm, err := goka.NewTopicManager(brokers, opts.Config, opts.TopicManagerConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := tm.EnsureTableExists(table, partitions); err != nil {
		t.Fatal(err)
	}
	if err := tm.Close(); err != nil {
		t.Fatal(err)
	}
	var c goka.Codec = new(codec.Int64)
	var value any = int64(1)
	if table == users {
		c, value = new(codec.String), "name"
	}
	em, err := goka.NewEmitter(brokers, goka.Stream(table), c, opts.Emitter...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := em.EmitSync(fmt.Sprintf("key-%d", i), value); err != nil {
			t.Fatal(err)
		}
	}
	if err := em.Finish(); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitBrowser reads the charts into c until cond holds.
func waitBrowser(t *testing.T, ctx context.Context, browser context.Context, c *charts, what string, cond func() bool) {
	t.Helper()
	for {
		if err := chromedp.Run(browser, chromedp.Evaluate(readCharts, c)); err != nil {
			if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				t.Fatalf("waiting for %s: %v (last: %+v)", what, err, *c)
			}
			t.Fatalf("reading the charts: %v", err)
		}
		if cond() {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last: %+v)", what, ctx.Err(), *c)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
