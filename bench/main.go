// Command bench measures the throughput, recovery speed and memory of goka
// against the raw Sarama ceiling on the same broker and data, in one run.
//
// # Usage
//
//	go run ./bench -n 1000000 -keys 10000 -partitions 10 -out results.json
//
// Without KAFKA_BROKERS (or -brokers) it starts the embedded broker of
// package kafkatest in a separate process, so that the broker's memory and
// CPU are not counted against the library.
//
// # Workloads
//
// Every workload runs in its own child process (this binary re-executed),
// so that its peak RSS is its own. In order:
//
//   - ceiling-produce: raw Sarama AsyncProducer writes n messages.
//   - emit: a goka Emitter writes the n input messages.
//   - ceiling-consume-produce: raw Sarama partition consumers read the input
//     and an AsyncProducer writes one message per input.
//   - process-leveldb: a counting processor (LevelDB storage) reads the input
//     and writes one table update per message.
//   - process-memory: the same with memory storage.
//   - ceiling-consume: raw Sarama partition consumers read the table topic.
//   - view-recovery-leveldb: a View recovers the table into LevelDB.
//   - processor-recovery-leveldb: a processor of the same group with an empty
//     storage directory recovers its table.
//   - process-leveldb-eos, process-memory-eos, latency-leveldb,
//     latency-leveldb-eos: exactly-once, see eos.go.
//
// Producer settings are goka.DefaultConfig's for both the library and the
// ceiling, so the ratio measures the library, not a different batching.
//
// # Output
//
// A table on stdout and, with -out, a JSON file {"workloads": [...]}: each
// entry has name, msgs_per_sec, ceiling_msgs_per_sec, ratio, peak_rss_bytes
// and first_message_ms.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"
)

// params is the workload shape, shared by the parent and its children.
type params struct {
	n          int
	keys       int
	partitions int
	valueSize  int
	brokers    []string
	dir        string
	run        string // prefix of this run's topics and groups
	rep        int    // repetition of the workload, from 0
	budget     int64  // -memory-budget: bytes of LevelDB buffers in all; 0 none
	timeBudget int64  // -time-store-budget: bytes per partition of each time store; 0 the group's builder
}

// profiles are the file prefixes of the profiles to write.
type profiles struct{ cpu, mem string }

// result is what a child reports on its last stdout line.
type result struct {
	Name           string  `json:"name"`
	Messages       int     `json:"messages"`
	Seconds        float64 `json:"seconds"`
	FirstMessageMs float64 `json:"first_message_ms"`
	// CPUSeconds is the CPU time of the child until its measurement ended
	// (process and recovery workloads, so that checking the counts
	// afterwards is not counted), else of the whole child, set by the
	// parent.
	CPUSeconds float64 `json:"cpu_seconds"`
	// AllocBytes and Allocs are the heap bytes and objects the child
	// allocated until its measurement ended, as CPUSeconds, or else until
	// the workload returned (the ceilings, emit, the window workloads).
	AllocBytes uint64 `json:"alloc_bytes,omitempty"`
	Allocs     uint64 `json:"allocs,omitempty"`
	// CommittedSeconds is the time from the first message until the input
	// offsets are committed (process and kstreams workloads; 0 otherwise).
	CommittedSeconds float64 `json:"committed_seconds,omitempty"`
	// Latency from emit to the output being readable committed (latency
	// workloads), after the warm-up, and the largest latency of the
	// warm-up's messages; WarmupMaxAckMs is the largest time the emitter
	// waited for the broker to acknowledge a warm-up message.
	LatencyP50Ms   float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms   float64 `json:"latency_p99_ms,omitempty"`
	WarmupMaxMs    float64 `json:"warmup_max_ms,omitempty"`
	WarmupMaxAckMs float64 `json:"warmup_max_ack_ms,omitempty"`
}

// workload is one row of the output.
type workload struct {
	Name       string  `json:"name"`
	Messages   int     `json:"messages"`
	Seconds    float64 `json:"seconds"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	// CommittedMsgsPerSec counts until the input offsets are committed.
	CommittedMsgsPerSec float64 `json:"committed_msgs_per_sec,omitempty"`
	Ceiling             string  `json:"ceiling,omitempty"`
	CeilingMsgsPerSec   float64 `json:"ceiling_msgs_per_sec,omitempty"`
	Ratio               float64 `json:"ratio,omitempty"`
	PeakRSSBytes        int64   `json:"peak_rss_bytes"`
	FirstMessageMs      float64 `json:"first_message_ms"`
	Runs                int     `json:"runs"`
	// CPU time of the workload's process per message (user + system, the
	// broker not included). Unlike msgs/s it hardly depends on what else
	// the machine runs, so it compares library and ceiling well on a
	// shared machine.
	CPUMicrosPerMsg        float64 `json:"cpu_us_per_msg"`
	CeilingCPUMicrosPerMsg float64 `json:"ceiling_cpu_us_per_msg,omitempty"`
	// Heap bytes and objects allocated per message (the garbage the GC
	// collects; with a small live heap it decides how often the GC runs).
	AllocBytesPerMsg float64 `json:"alloc_bytes_per_msg,omitempty"`
	AllocsPerMsg     float64 `json:"allocs_per_msg,omitempty"`
	LatencyP50Ms     float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms     float64 `json:"latency_p99_ms,omitempty"`
	WarmupMaxMs      float64 `json:"warmup_max_ms,omitempty"`
	WarmupMaxAckMs   float64 `json:"warmup_max_ack_ms,omitempty"`
}

type report struct {
	Machine    machine    `json:"machine"`
	Params     jsonParams `json:"params"`
	Workloads  []workload `json:"workloads"`
	Broker     string     `json:"broker"`
	StartedAt  time.Time  `json:"started_at"`
	DurationS  float64    `json:"duration_s"`
	GoVersion  string     `json:"go_version"`
	Collection string     `json:"collection"`
}

type jsonParams struct {
	N          int `json:"n"`
	Keys       int `json:"keys"`
	Partitions int `json:"partitions"`
	ValueSize  int `json:"value_size"`
}

type machine struct {
	CPUs int    `json:"cpus"`
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// groups are the workloads in order: each group's ceiling and the library
// workloads measured against it. Every library run comes right after a
// ceiling run of its own, so that both see the same load of a shared
// machine and the same fill of the broker; the ratio reported is the
// median of these pairs' ratios. A group reads what the previous one
// wrote.
var groups = []struct {
	ceiling string
	lib     []string
}{
	{"ceiling-produce", []string{"emit"}},
	{"ceiling-consume-produce", []string{"process-leveldb", "process-memory", "process-leveldb-eos", "process-memory-eos"}},
	{"ceiling-consume", []string{"view-recovery-leveldb", "processor-recovery-leveldb"}},
	{"", []string{"latency-leveldb", "latency-leveldb-eos"}},
	// window.go: the ratio is windowed / plain counting on the same input.
	{"window-plain-count", []string{"window-tumbling-count"}},
}

// selectWorkloads parses -only against groups (the default workloads or
// those of -kstreams): nil for all. It refuses unknown names, and workloads
// that read the input without emit, which writes it (each run has topics
// of its own, so no earlier run's input is there).
func selectWorkloads(only string) (map[string]bool, error) {
	if only == "" {
		return nil, nil
	}
	readsInput := map[string]bool{} // name → reads emit's input
	for _, g := range groups {
		reads := g.ceiling == "ceiling-consume-produce" || g.ceiling == "ceiling-consume"
		if g.ceiling != "" {
			readsInput[g.ceiling] = reads
		}
		for _, name := range g.lib {
			readsInput[name] = reads
		}
	}
	selected := map[string]bool{}
	for _, name := range strings.Split(only, ",") {
		if name == "" {
			continue
		}
		if _, ok := readsInput[name]; !ok {
			return nil, fmt.Errorf("-only: unknown workload %q", name)
		}
		selected[name] = true
	}
	for name := range selected {
		if readsInput[name] && !selected["emit"] {
			return nil, fmt.Errorf("-only: %s reads the input that emit writes: add emit", name)
		}
	}
	return selected, nil
}

// runs collects the repetitions of one workload.
type runs struct {
	name    string
	ceiling *runs
	results []result
	paired  []float64 // rate of the ceiling run just before each result
	pairedC []float64 // CPU µs per message of that ceiling run
	rss     int64
}

func (r *runs) rate(i int) float64 { return float64(r.results[i].Messages) / r.results[i].Seconds }

func (r *runs) cpuPerMsg(i int) float64 {
	return 1e6 * r.results[i].CPUSeconds / float64(r.results[i].Messages)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// row summarises the repetitions: median rate, median ratio to the
// ceiling run of the same repetition, peak RSS of all.
func (r *runs) row() workload {
	var rates, ratios, secs, firsts, cpus, committed, p50s, p99s, warm, warmAck, allocB, allocN []float64
	for i, res := range r.results {
		rates = append(rates, r.rate(i))
		if res.CommittedSeconds > 0 {
			committed = append(committed, float64(res.Messages)/res.CommittedSeconds)
		}
		cpus = append(cpus, r.cpuPerMsg(i))
		secs = append(secs, res.Seconds)
		firsts = append(firsts, res.FirstMessageMs)
		p50s = append(p50s, res.LatencyP50Ms)
		p99s = append(p99s, res.LatencyP99Ms)
		warm = append(warm, res.WarmupMaxMs)
		warmAck = append(warmAck, res.WarmupMaxAckMs)
		allocB = append(allocB, float64(res.AllocBytes)/float64(res.Messages))
		allocN = append(allocN, float64(res.Allocs)/float64(res.Messages))
		if r.ceiling != nil && i < len(r.paired) {
			ratios = append(ratios, r.rate(i)/r.paired[i])
		}
	}
	w := workload{
		Name:                r.name,
		Messages:            r.results[0].Messages,
		Seconds:             median(secs),
		MsgsPerSec:          median(rates),
		PeakRSSBytes:        r.rss,
		FirstMessageMs:      median(firsts),
		Runs:                len(r.results),
		CPUMicrosPerMsg:     median(cpus),
		CommittedMsgsPerSec: median(committed),
		LatencyP50Ms:        median(p50s),
		LatencyP99Ms:        median(p99s),
		WarmupMaxMs:         median(warm),
		WarmupMaxAckMs:      median(warmAck),
		AllocBytesPerMsg:    median(allocB),
		AllocsPerMsg:        median(allocN),
	}
	if r.ceiling != nil {
		w.Ceiling = r.ceiling.name
		w.CeilingMsgsPerSec = median(r.paired)
		w.CeilingCPUMicrosPerMsg = median(r.pairedC)
		w.Ratio = median(ratios)
	}
	return w
}

func main() {
	var (
		p         params
		brokers   string
		out       string
		child     string
		serve     bool
		only      string
		cpuprof   string
		memprof   string
		keepGoing bool
		repeat    int
		kstreams  bool
	)
	flag.IntVar(&p.n, "n", 1_000_000, "number of input messages")
	flag.IntVar(&p.keys, "keys", 10_000, "number of distinct keys")
	flag.IntVar(&p.partitions, "partitions", 10, "partitions of every topic")
	flag.IntVar(&p.valueSize, "value-size", 16, "bytes per input value")
	flag.Int64Var(&p.budget, "memory-budget", 0, "bytes of the LevelDB buffers of all partitions of a LevelDB workload (storage.WithMemoryBudget); the consumers' fetches are bounded by goka.DefaultConfig (Consumer.Fetch.MaxBytes per request); 0: goleveldb's defaults")
	flag.Int64Var(&p.timeBudget, "time-store-budget", 1<<20, "bytes per partition of the window workloads' time stores (goka.WithTimeStorageBuilder with storage.WithMemoryBudget); 0: the group's storage builder, goleveldb's defaults")
	flag.StringVar(&brokers, "brokers", os.Getenv("KAFKA_BROKERS"), "comma-separated brokers (default $KAFKA_BROKERS, else an embedded broker)")
	flag.StringVar(&out, "out", "", "write the results as JSON to this file")
	flag.StringVar(&only, "only", "", "comma-separated workloads to run (with emit, which writes the input, whenever a processing, consuming or recovery workload is listed); default all")
	flag.StringVar(&cpuprof, "cpuprofile", "", "write a CPU profile of each workload to <file>.<workload>")
	flag.StringVar(&memprof, "memprofile", "", "write a heap profile of each workload, taken when its measurement ends, to <file>.<workload>")
	flag.IntVar(&repeat, "repeat", 3, "runs of each workload, alternating with its ceiling; medians are reported")
	flag.BoolVar(&kstreams, "kstreams", false, "run the Kafka Streams comparison (bench/kstreams, built with mvn) instead of the default workloads")
	flag.StringVar(&kstreamsDir, "kstreams-dir", "bench/kstreams/target", "directory of the built Kafka Streams program (kstreams-bench.jar and lib/)")
	flag.BoolVar(&keepGoing, "keep-going", false, "continue after a failed workload")
	flag.StringVar(&child, "child", "", "internal: run one workload in this process")
	flag.StringVar(&p.dir, "dir", "", "internal: directory for storages")
	flag.StringVar(&p.run, "run", "", "internal: prefix of this run's topics and groups")
	flag.IntVar(&p.rep, "rep", 0, "internal: repetition of the workload")
	flag.BoolVar(&serve, "serve-broker", false, "internal: serve an embedded broker until stdin closes")
	flag.Parse()
	if brokers != "" {
		p.brokers = strings.Split(brokers, ",")
	}

	var err error
	switch {
	case serve:
		err = serveBroker(p)
	case child != "":
		err = runChild(child, p, cpuprof, memprof)
	default:
		if kstreams {
			groups = kstreamsGroups
		}
		err = runParent(p, out, only, profiles{cpuprof, memprof}, keepGoing, repeat)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func runParent(p params, out, only string, prof profiles, keepGoing bool, repeat int) error {
	if p.n <= 0 || p.keys <= 0 || p.partitions <= 0 || p.valueSize <= 0 {
		return errors.New("-n, -keys, -partitions and -value-size must be positive")
	}
	started := time.Now()
	brokerDesc := "KAFKA_BROKERS " + strings.Join(p.brokers, ",")
	if len(p.brokers) == 0 {
		brokers, stop, err := startBroker(p)
		if err != nil {
			return err
		}
		defer stop()
		p.brokers = brokers
		brokerDesc = "embedded kfake broker (separate process)"
	}
	dir, err := os.MkdirTemp("", "goka-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	p.dir = dir
	// Fresh topics and groups per run, so that a shared broker's leftovers
	// cannot mix into the figures.
	p.run = fmt.Sprintf("bench-%d", time.Now().UnixNano())

	selected, err := selectWorkloads(only)
	if err != nil {
		return err
	}
	if err := createTopics(p, repeat); err != nil {
		return err
	}
	// A signal stops the run between workloads; the deferred cleanup runs.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	fmt.Printf("goka bench: n=%d keys=%d partitions=%d value-size=%d, %s, %d CPUs\n",
		p.n, p.keys, p.partitions, p.valueSize, brokerDesc, runtime.NumCPU())
	var (
		all    []*runs
		failed []error
	)
	for _, g := range groups {
		if g.ceiling == "" {
			// Paced workloads: no ceiling to compare with.
			for _, name := range g.lib {
				if len(selected) > 0 && !selected[name] {
					continue
				}
				m := &runs{name: name}
				for rep := 0; rep < max(repeat, 1); rep++ {
					q := p
					q.rep = rep
					q.dir = filepath.Join(p.dir, fmt.Sprintf("%s-%d", name, rep))
					res, rss, err := runWorkload(name, q, prof)
					if err != nil {
						failed = append(failed, fmt.Errorf("workload %s: %w", name, err))
						break
					}
					m.results = append(m.results, res)
					m.rss = max(m.rss, rss)
					fmt.Printf("  %-28s run %d: p50 %.1f ms, p99 %.1f ms (warm-up: largest latency %.1f ms, largest emitter acknowledgement %.1f ms)\n", name, rep+1, res.LatencyP50Ms, res.LatencyP99Ms, res.WarmupMaxMs, res.WarmupMaxAckMs)
				}
				if len(m.results) > 0 {
					all = append(all, m)
				}
			}
			continue
		}
		ceil := &runs{name: g.ceiling}
		members := []*runs{ceil}
		for _, name := range g.lib {
			if len(selected) == 0 || selected[name] {
				members = append(members, &runs{name: name, ceiling: ceil})
			}
		}
		if len(selected) > 0 && !selected[g.ceiling] && len(members) == 1 {
			continue
		}
		var gerr error
		// Every library run follows a ceiling run of its own: the broker
		// slows down as it fills, so a ceiling measured once before all
		// library runs would favour the first of them.
		one := func(m *runs, rep int) error {
			select {
			case <-sigs:
				return errors.New("interrupted")
			default:
			}
			q := p
			q.rep = rep
			q.dir = filepath.Join(p.dir, fmt.Sprintf("%s-%d-%d", m.name, rep, len(m.results)))
			res, rss, err := runWorkload(m.name, q, prof)
			if err != nil {
				return fmt.Errorf("workload %s: %w", m.name, err)
			}
			m.results = append(m.results, res)
			m.rss = max(m.rss, rss)
			last := len(m.results) - 1
			fmt.Printf("  %-28s run %d: %9.0f msgs/s  (%.2fs)\n", m.name, rep+1, m.rate(last), res.Seconds)
			return nil
		}
	reps:
		for rep := 0; rep < max(repeat, 1); rep++ {
			if len(members) == 1 {
				if gerr = one(ceil, rep); gerr != nil {
					break reps
				}
			}
			for _, m := range members[1:] {
				if gerr = one(ceil, rep); gerr != nil {
					break reps
				}
				if gerr = one(m, rep); gerr != nil {
					break reps
				}
				m.paired = append(m.paired, ceil.rate(len(ceil.results)-1))
				m.pairedC = append(m.pairedC, ceil.cpuPerMsg(len(ceil.results)-1))
			}
		}
		if gerr != nil {
			if !keepGoing {
				return gerr
			}
			fmt.Fprintln(os.Stderr, "bench:", gerr)
			failed = append(failed, gerr)
		}
		for _, m := range members {
			if len(m.results) > 0 {
				all = append(all, m)
			}
		}
	}
	var rows []workload
	for _, r := range all {
		rows = append(rows, r.row())
	}

	// The JSON's workloads are the library's; ceilings are reported beside
	// them.
	var lib []workload
	for _, r := range rows {
		if !strings.HasPrefix(r.Name, "ceiling-") {
			lib = append(lib, r)
		}
	}
	if err := printTable(os.Stdout, rows); err != nil {
		return err
	}
	if out != "" {
		rep := report{
			Machine:    machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH},
			Params:     jsonParams{N: p.n, Keys: p.keys, Partitions: p.partitions, ValueSize: p.valueSize},
			Workloads:  lib,
			Broker:     brokerDesc,
			StartedAt:  started.UTC(),
			DurationS:  time.Since(started).Seconds(),
			GoVersion:  runtime.Version(),
			Collection: "ceilings: " + ceilingsText(rows),
		}
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	return errors.Join(failed...)
}

func ceilingsText(rows []workload) string {
	var parts []string
	for _, r := range rows {
		if strings.HasPrefix(r.Name, "ceiling-") {
			parts = append(parts, fmt.Sprintf("%s=%.0f msgs/s", r.Name, r.MsgsPerSec))
		}
	}
	return strings.Join(parts, ", ")
}

func printTable(w io.Writer, rows []workload) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if _, err := fmt.Fprintln(tw, "\nworkload\tmsgs/s\tcommitted msgs/s\tceiling msgs/s\tratio\tCPU µs/msg\tceiling CPU µs/msg\tpeak RSS MB\tfirst msg ms\tB/msg\tallocs/msg\t"); err != nil {
		return err
	}
	for _, r := range rows {
		ceil, ratio, ceilCPU := "", "", ""
		if r.Ceiling != "" {
			ceil = fmt.Sprintf("%.0f", r.CeilingMsgsPerSec)
			ratio = fmt.Sprintf("%.0f %%", 100*r.Ratio)
			ceilCPU = fmt.Sprintf("%.2f", r.CeilingCPUMicrosPerMsg)
		}
		committed := ""
		if r.CommittedMsgsPerSec > 0 {
			committed = fmt.Sprintf("%.0f", r.CommittedMsgsPerSec)
		}
		if _, err := fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%.2f\t%s\t%.0f\t%.0f\t%.0f\t%.1f\t\n", r.Name, r.MsgsPerSec, committed, ceil, ratio,
			r.CPUMicrosPerMsg, ceilCPU, float64(r.PeakRSSBytes)/(1<<20), r.FirstMessageMs, r.AllocBytesPerMsg, r.AllocsPerMsg); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// runWorkload re-executes this binary for one workload and returns its
// result and peak RSS.
func runWorkload(name string, p params, prof profiles) (result, int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, 0, err
	}
	args := []string{
		"-child", name,
		"-n", fmt.Sprint(p.n), "-keys", fmt.Sprint(p.keys),
		"-partitions", fmt.Sprint(p.partitions), "-value-size", fmt.Sprint(p.valueSize),
		"-brokers", strings.Join(p.brokers, ","), "-dir", p.dir, "-run", p.run, "-rep", fmt.Sprint(p.rep),
		"-memory-budget", fmt.Sprint(p.budget), "-time-store-budget", fmt.Sprint(p.timeBudget),
	}
	if prof.cpu != "" {
		args = append(args, "-cpuprofile", prof.cpu)
	}
	if prof.mem != "" {
		args = append(args, "-memprofile", prof.mem)
	}
	cmd := exec.Command(exe, args...)
	isKStreams := strings.HasPrefix(name, "kstreams-")
	if isKStreams {
		if cmd, err = kstreamsCommand(name, p); err != nil {
			return result{}, 0, err
		}
	}
	cmd.Stderr = os.Stderr
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		return result{}, 0, fmt.Errorf("child: %w", err)
	}
	rss := maxRSSBytes(cmd.ProcessState.SysUsage())
	cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		return result{}, 0, fmt.Errorf("child output %q: %w", stdout.String(), err)
	}
	if res.CPUSeconds == 0 {
		// The workload did not report its CPU time at the end of its
		// measurement (the ceilings, emit, Kafka Streams): all of the
		// process's.
		res.CPUSeconds = cpu
	}
	if isKStreams {
		if err := checkKStreamsDump(p); err != nil {
			return result{}, 0, fmt.Errorf("kafka streams store: %w", err)
		}
	}
	return res, rss, nil
}

// startBroker starts `bench -serve-broker` and reads its addresses.
func startBroker(p params) ([]string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe, "-serve-broker", "-partitions", fmt.Sprint(p.partitions))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() {
		_ = stdin.Close() // the broker exits when its stdin closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("embedded broker did not start: %w", err)
	}
	addrs, ok := strings.CutPrefix(strings.TrimSpace(line), "BROKERS ")
	if !ok {
		stop()
		return nil, nil, fmt.Errorf("embedded broker printed %q", line)
	}
	return strings.Split(addrs, ","), stop, nil
}

// createTopics creates the input and ceiling topics with the configured
// partitions; table topics are created by the processors.
func createTopics(p params, repeat int) error {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_0_0_0
	admin, err := sarama.NewClusterAdmin(p.brokers, cfg)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", p.brokers, err)
	}
	defer func() { _ = admin.Close() }()
	topics := []string{p.input(), p.ceilingProduce(), p.ceilingOutput(), p.windowInput()}
	for i := 1; i < repeat; i++ {
		q := p
		q.rep = i
		topics = append(topics, q.emitTopic())
	}
	for _, t := range topics {
		err := admin.CreateTopic(t, &sarama.TopicDetail{NumPartitions: int32(p.partitions), ReplicationFactor: 1}, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("creating %s: %w", t, err)
		}
	}
	return nil
}
