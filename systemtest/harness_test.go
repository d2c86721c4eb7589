package systemtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	goka "github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
	"github.com/e3793d55/goka/systemtest/internal/stcfg"
	"github.com/e3793d55/goka/systemtest/kafkaenv"
)

// exactlyOnce runs the scenarios with goka.ExactlyOnce:
// GOKA_SYSTEMTEST_GUARANTEE=exactly-once (make systemtest runs them under
// both guarantees). The processors then run with ExactlyOnce, the views
// read committed, and a duplicate is a failure unless the load's emitter
// retried a message (which puts it into the input twice).
var exactlyOnce = os.Getenv("GOKA_SYSTEMTEST_GUARANTEE") == "exactly-once"

// cooperative runs the processors with goka.WithCooperativeRebalance and
// one standby replica: GOKA_SYSTEMTEST_REBALANCE=cooperative (make
// systemtest runs scenarios a, b and i so, at-least-once).
var cooperative = os.Getenv("GOKA_SYSTEMTEST_REBALANCE") == "cooperative"

func TestMain(m *testing.M) {
	if kafkaenv.Enabled() {
		// Every component of this process uses the test configuration.
		goka.ReplaceGlobalConfig(stcfg.Config(false))
	}
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ---------------------------------------------------------------- stnode

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// stnodeBinary builds systemtest/cmd/stnode once per test binary.
func stnodeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "goka-systemtest-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "stnode")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/e3793d55/goka/systemtest/cmd/stnode").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building stnode: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// node is one stnode process.
type node struct {
	t       *testing.T
	name    string
	args    []string
	cmd     *exec.Cmd
	stdin   *os.File
	logPath string

	mu     sync.Mutex
	events []string
	notify chan struct{} // closed and replaced on every event

	exited  chan struct{}
	exitErr error
	killed  bool // stopped by the test
}

// startNode starts stnode with args; its stderr goes to a log file in the
// test's temporary directory, shown when the test fails.
func startNode(t *testing.T, name string, args ...string) *node {
	t.Helper()
	bin := stnodeBinary(t)
	if exactlyOnce {
		args = append(args, "-guarantee", "exactly-once")
	}
	if cooperative && len(args) > 0 && args[0] == "proc" {
		args = append(args, "-rebalance", "cooperative", "-standbys", "1")
	}
	logPath := filepath.Join(t.TempDir(), name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, name: name, args: args, logPath: logPath, notify: make(chan struct{}), exited: make(chan struct{})}
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stderr = logf
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	n.cmd.Stdin = stdinR
	n.stdin = stdinW
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	_ = stdinR.Close()
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			n.mu.Lock()
			n.events = append(n.events, sc.Text())
			close(n.notify)
			n.notify = make(chan struct{})
			n.mu.Unlock()
		}
		n.exitErr = n.cmd.Wait()
		_ = logf.Close()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			n.dumpLog(40)
		}
	})
	return n
}

func (n *node) dumpLog(lines int) {
	data, _ := os.ReadFile(n.logPath)
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	n.t.Logf("---- last lines of %s (%s):\n%s", n.name, strings.Join(n.args, " "), strings.Join(all, "\n"))
}

// kill kills the process with SIGKILL and waits until it is gone.
func (n *node) kill() {
	n.signal(syscall.SIGKILL)
}

// term stops the process with SIGTERM and waits until it is gone.
func (n *node) term() {
	n.signal(syscall.SIGTERM)
}

func (n *node) signal(sig syscall.Signal) {
	select {
	case <-n.exited:
		return
	default:
	}
	n.mu.Lock()
	n.killed = true
	n.mu.Unlock()
	_ = n.cmd.Process.Signal(sig)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.t.Errorf("%s did not exit within 30s after %v; killing it", n.name, sig)
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// alive fails the test if the process ended without being stopped by the test.
func (n *node) checkAlive() {
	n.t.Helper()
	select {
	case <-n.exited:
		n.mu.Lock()
		killed := n.killed
		n.mu.Unlock()
		if !killed {
			n.t.Errorf("%s exited by itself: %v", n.name, n.exitErr)
		}
	default:
	}
}

// waitEvent waits for an event line with prefix after the first skip
// events and returns it with its index.
func (n *node) waitEvent(prefix string, from int, timeout time.Duration) (string, int) {
	n.t.Helper()
	deadline := time.After(timeout)
	for {
		n.mu.Lock()
		for i := from; i < len(n.events); i++ {
			if strings.HasPrefix(n.events[i], prefix) {
				ev := n.events[i]
				n.mu.Unlock()
				return ev, i
			}
		}
		ch := n.notify
		n.mu.Unlock()
		select {
		case <-ch:
		case <-n.exited:
			n.t.Fatalf("%s exited (%v) while waiting for %q", n.name, n.exitErr, prefix)
		case <-deadline:
			n.t.Fatalf("%s: no %q after %v (events %v)", n.name, prefix, timeout, n.eventList())
		}
	}
}

func (n *node) eventList() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.events...)
}

// send writes a command line to the process.
func (n *node) send(line string) {
	n.t.Helper()
	if _, err := fmt.Fprintln(n.stdin, line); err != nil {
		n.t.Fatalf("%s: writing %q: %v", n.name, line, err)
	}
}

// ---------------------------------------------------------------- topics

func uniqueName(what string) string {
	return fmt.Sprintf("st-%s-%d", what, time.Now().UnixNano()%1e10)
}

// newAdmin returns a cluster admin, retrying for a while: right after a
// broker was killed, sarama's admin calls fail for a few seconds.
func newAdmin(t *testing.T, brokers []string) sarama.ClusterAdmin {
	t.Helper()
	var (
		admin sarama.ClusterAdmin
		err   error
	)
	retry(t, 30*time.Second, "connecting admin", func() error {
		admin, err = sarama.NewClusterAdmin(brokers, stcfg.Config(false))
		return err
	})
	t.Cleanup(func() { _ = admin.Close() })
	return admin
}

// createTopic creates topic and deletes it when the test ends (the deletion
// is registered first, so it also runs if creating the topic fails).
func createTopic(t *testing.T, brokers []string, topic string, partitions int32, rf int16, cfg map[string]string) {
	t.Helper()
	deleteTopics(t, brokers, topic)
	admin := newAdmin(t, brokers)
	entries := map[string]*string{}
	for k, v := range cfg {
		v := v
		entries[k] = &v
	}
	retry(t, 30*time.Second, "creating topic "+topic, func() error {
		err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: rf, ConfigEntries: entries}, false)
		if errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return nil
		}
		return err
	})
	waitTopic(t, brokers, topic, int(partitions))
}

// deleteTopics deletes topics at the end of the test (best effort), so that
// repeated runs on one broker do not pile them up.
func deleteTopics(t *testing.T, brokers []string, topics ...string) {
	t.Cleanup(func() {
		admin, err := sarama.NewClusterAdmin(brokers, stcfg.Config(false))
		if err != nil {
			return
		}
		defer func() { _ = admin.Close() }()
		for _, topic := range topics {
			_ = admin.DeleteTopic(topic)
		}
	})
}

func waitTopic(t *testing.T, brokers []string, topic string, partitions int) {
	t.Helper()
	client, err := sarama.NewClient(brokers, stcfg.Config(false))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer func() { _ = client.Close() }()
	retry(t, 30*time.Second, "waiting for topic "+topic, func() error {
		if err := client.RefreshMetadata(topic); err != nil {
			return err
		}
		ps, err := client.Partitions(topic)
		if err != nil {
			return err
		}
		if len(ps) != partitions {
			return fmt.Errorf("%d partitions, want %d", len(ps), partitions)
		}
		for _, p := range ps {
			if _, err := client.Leader(topic, p); err != nil {
				return err
			}
		}
		return nil
	})
}

func retry(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v (retried for %v)", what, err, timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- load

// load emits sequence numbers to a topic at a steady rate and remembers what
// was acknowledged: per key the highest sequence number and the number of
// distinct ones. A failed emit is retried until it is acknowledged, as an
// at-least-once producer would, so input may hold duplicates.
type load struct {
	t       *testing.T
	emitter *goka.Emitter
	keys    []string

	mu      sync.Mutex
	seq     int64
	lastSeq map[string]int64
	count   map[string]int64
	acked   int64
	failed  int64
	pending int64
	retries chan [2]string

	brokers []string
	topic   string
}

func newLoad(t *testing.T, brokers []string, topic string, numKeys int, opts ...goka.EmitterOption) *load {
	t.Helper()
	em, err := goka.NewEmitter(brokers, goka.Stream(topic), new(codec.String), opts...)
	if err != nil {
		t.Fatalf("NewEmitter(%s): %v", topic, err)
	}
	l := &load{t: t, emitter: em, lastSeq: map[string]int64{}, count: map[string]int64{}, retries: make(chan [2]string, 1<<20), brokers: brokers, topic: topic}
	for i := 0; i < numKeys; i++ {
		l.keys = append(l.keys, fmt.Sprintf("key-%04d", i))
	}
	return l
}

func (l *load) emit(key, val string) {
	l.mu.Lock()
	l.pending++
	l.mu.Unlock()
	p, err := l.emitter.Emit(key, val)
	if err != nil {
		l.t.Errorf("Emit(%s): %v", key, err)
		return
	}
	p.Then(func(err error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.pending--
		if err != nil {
			l.failed++
			l.retries <- [2]string{key, val}
			return
		}
		seq, _ := strconv.ParseInt(val, 10, 64)
		l.acked++
		l.count[key]++
		if seq > l.lastSeq[key] {
			l.lastSeq[key] = seq
		}
	})
}

// run emits n messages at rate messages per second (round-robin over the
// keys) and returns once all of them are acknowledged.
func (l *load) run(ctx context.Context, n int, rate int) {
	const tick = 10 * time.Millisecond
	perTick := max(1, rate/100)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	sent := 0
	for sent < n {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for i := 0; i < perTick && sent < n; i++ {
			l.mu.Lock()
			l.seq++
			seq := l.seq
			l.mu.Unlock()
			l.emit(l.keys[int(seq)%len(l.keys)], strconv.FormatInt(seq, 10))
			sent++
		}
		l.resend()
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		l.resend()
		l.mu.Lock()
		pending := l.pending + int64(len(l.retries))
		l.mu.Unlock()
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			l.t.Errorf("load: %d messages still not acknowledged after 3 minutes", pending)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *load) resend() {
	for {
		select {
		case r := <-l.retries:
			l.emit(r[0], r[1])
		default:
			return
		}
	}
}

func (l *load) finish() {
	if err := l.emitter.Finish(); err != nil {
		l.t.Errorf("Finish: %v", err)
	}
}

// snapshot returns the highest acknowledged sequence number per key.
func (l *load) snapshot() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.lastSeq))
	for k, v := range l.lastSeq {
		out[k] = v
	}
	return out
}

func (l *load) stats() (acked, failed int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, l.failed
}

// ---------------------------------------------------------------- checking

// tableView follows a processor's table in the test process.
type tableView struct {
	t    *testing.T
	view *goka.View
	done chan error
}

func newTableView(t *testing.T, brokers []string, table string) *tableView {
	t.Helper()
	opts := []goka.ViewOption{
		goka.WithViewStorageBuilder(storage.MemoryBuilder()),
		goka.WithViewAutoReconnect(),
		goka.WithViewBackoffBuilder(stcfg.Backoff),
		goka.WithViewClientID("systemtest-check"),
	}
	if exactlyOnce {
		opts = append(opts, goka.WithViewReadCommitted())
	}
	v, err := goka.NewView(brokers, goka.Table(table), new(codec.String), opts...)
	if err != nil {
		t.Fatalf("NewView(%s): %v", table, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tv := &tableView{t: t, view: v, done: make(chan error, 1)}
	go func() { tv.done <- v.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-tv.done:
			if err != nil {
				t.Errorf("view of %s: %v", table, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("view of %s did not stop within 30s", table)
		}
	})
	select {
	case <-v.WaitRunning():
	case err := <-tv.done:
		t.Fatalf("view of %s: %v", table, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("view of %s not running after 60s", table)
	}
	return tv
}

// state returns max and count of key.
func (tv *tableView) state(key string) (int64, int64) {
	v, err := tv.view.Get(key)
	if err != nil || v == nil {
		return -1, 0
	}
	a, b, _ := strings.Cut(v.(string), ":")
	maxSeq, _ := strconv.ParseInt(a, 10, 64)
	count, _ := strconv.ParseInt(b, 10, 64)
	return maxSeq, count
}

// behind returns the keys whose table maximum is below want.
func (tv *tableView) behind(want map[string]int64) []string {
	var out []string
	for k, seq := range want {
		if m, _ := tv.state(k); m < seq {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// waitCaughtUp waits until the table holds, for every key, at least the
// sequence number in want, and returns how long that took.
func (tv *tableView) waitCaughtUp(want map[string]int64, timeout time.Duration) time.Duration {
	tv.t.Helper()
	start := time.Now()
	for {
		b := tv.behind(want)
		if len(b) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			k := b[0]
			m, _ := tv.state(k)
			tv.t.Fatalf("table not caught up after %v: %d of %d keys behind (e.g. %s: max %d, want %d): messages lost or processing stuck",
				timeout, len(b), len(want), k, m, want[k])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// result compares the final table with what the load emitted: every key's
// maximum must be exact (idempotent processing) and its count at least the
// number of acknowledged messages (counting processing: at least once).
// It logs and returns the messages in, out and the duplicates.
type result struct {
	in, out, dups, emitRetries int64
	// inputDups are records the emitter wrote twice (exactly-once runs:
	// counted from the input topic).
	inputDups int64
}

// inputRecords counts the records of every key in topic.
func inputRecords(t *testing.T, brokers []string, topic string) map[string]int64 {
	t.Helper()
	client, err := sarama.NewClient(brokers, stcfg.Config(false))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, p := range parts {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if hwm == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for done := false; !done; {
			select {
			case msg := <-pc.Messages():
				out[string(msg.Key)]++
				done = msg.Offset >= hwm-1
			case <-time.After(30 * time.Second):
				t.Fatalf("reading %s/%d timed out", topic, p)
			}
		}
		_ = pc.Close()
	}
	return out
}

func (tv *tableView) check(l *load, timeout time.Duration) result {
	tv.t.Helper()
	want := l.snapshot()
	tv.waitCaughtUp(want, timeout)
	// Counting lags the maxima only on the same record; give it a moment.
	l.mu.Lock()
	counts := make(map[string]int64, len(l.count))
	for k, v := range l.count {
		counts[k] = v
	}
	acked, failed := l.acked, l.failed
	l.mu.Unlock()
	var r result
	r.in, r.emitRetries = acked, failed
	lost := 0
	for k, n := range counts {
		m, c := tv.state(k)
		if m != want[k] {
			tv.t.Errorf("key %s: max %d, want exactly %d", k, m, want[k])
		}
		r.out += c
		if c < n {
			lost++
			if lost <= 5 {
				tv.t.Errorf("key %s: processed %d times, but %d messages were acknowledged: messages lost", k, c, n)
			}
		} else {
			r.dups += c - n
		}
	}
	if lost > 0 {
		tv.t.Fatalf("%d keys lost messages", lost)
	}
	if exactlyOnce {
		// The emitter may have written a message twice (a retry after a
		// lost acknowledgement, by sarama or by the load), which
		// exactly-once rightly counts twice: the exact count of a key is
		// its number of records in the input topic.
		in := inputRecords(tv.t, l.brokers, l.topic)
		var inDups, wrong int64
		r.dups = 0
		for k, n := range counts {
			inDups += in[k] - n
			_, c := tv.state(k)
			if c != in[k] {
				wrong++
				if wrong <= 5 {
					tv.t.Errorf("exactly-once: key %s processed %d times, the input holds %d records of it", k, c, in[k])
				}
			}
			r.dups += max(c-in[k], 0)
		}
		r.inputDups = inDups
		if wrong > 0 {
			tv.t.Errorf("exactly-once: %d keys not counted exactly", wrong)
		}
	}
	return r
}

// guaranteeNote is what a RESULT line adds to a scenario's name under
// exactly-once: the input records the emitter wrote twice, which the
// processor counts as messages of their own.
func guaranteeNote(r result) string {
	if !exactlyOnce {
		return ""
	}
	return fmt.Sprintf(" [exactly-once; input records written twice by the emitter: %d]", r.inputDups)
}

func logResult(t *testing.T, name string, r result, recovery time.Duration, began time.Time) {
	t.Helper()
	name += guaranteeNote(r) + cooperativeNote()
	t.Logf("RESULT %s: messages in %d, processed %d, duplicates %d (%.2f%%), emit retries %d, recovery %v, run time %v",
		name, r.in, r.out, r.dups, 100*float64(r.dups)/float64(max(r.in, 1)), r.emitRetries,
		recovery.Round(100*time.Millisecond), time.Since(began).Round(100*time.Millisecond))
}

// logHanging reports how the processors of nodes ended hanging
// transactions (eos_hanging.go), from their logs: committed, aborted or
// left alone per their coordinator's log.
func logHanging(t *testing.T, name string, nodes []*node) {
	t.Helper()
	var committed, aborted, left int
	for _, n := range nodes {
		data, _ := os.ReadFile(n.logPath)
		for _, line := range strings.Split(string(data), "\n") {
			switch {
			case strings.Contains(line, "committed the hanging transaction"):
				committed++
			case strings.Contains(line, "aborted the hanging transaction"):
				aborted++
			case strings.Contains(line, "left the hanging transaction"):
				left++
			}
		}
	}
	t.Logf("RESULT %s: hanging transactions (per partition) committed %d, aborted %d, left alone %d", name, committed, aborted, left)
}

// cooperativeNote names the cooperative runs in RESULT lines.
func cooperativeNote() string {
	if cooperative {
		return " (cooperative, 1 standby)"
	}
	return ""
}

// brokers returns the single broker's addresses, or skips.
func brokers(t *testing.T) []string {
	t.Helper()
	kafkaenv.SkipUnlessEnabled(t)
	return kafkaenv.MustBrokers(t)
}

// managedSingle skips unless scripts/kafka.sh runs the single broker (the
// test restarts it or uses its proxy listener).
func managedSingle(t *testing.T) {
	t.Helper()
	if os.Getenv(kafkaenv.EnvBrokers) != "" || !kafkaenv.Running(kafkaenv.Single) {
		t.Skip("needs the single broker of scripts/kafka.sh (run `make kafka-up` and set GOKA_SYSTEMTEST=1 without KAFKA_BROKERS)")
	}
}
