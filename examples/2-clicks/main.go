// Command 2-clicks runs an emitter that produces clicks of a few users, a
// processor that counts them per user in a JSON-encoded group table, and an
// HTTP server that serves the counts from a view:
//
//	go run ./examples/2-clicks
//	curl localhost:9095/user-3
//
// It runs until SIGINT/SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/examples/internal/exampleenv"
	"github.com/e3793d55/goka/multierr"
	"github.com/e3793d55/goka/storage"
)

var (
	topic goka.Stream = "user-click"
	group goka.Group  = "mini-group"
)

// user is the value of the group table: the clicks of one user.
type user struct {
	Clicks int `json:"clicks"`
}

// userCodec encodes users as JSON, to show a codec of one's own.
type userCodec struct{}

func (userCodec) Encode(value interface{}) ([]byte, error) {
	if _, ok := value.(*user); !ok {
		return nil, fmt.Errorf("codec requires value *user, got %T", value)
	}
	return json.Marshal(value)
}

func (userCodec) Decode(data []byte) (interface{}, error) {
	var u user
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("unmarshaling user: %w", err)
	}
	return &u, nil
}

func main() {
	addr := flag.String("addr", "localhost:9095", "address of the HTTP server")
	users := flag.Int("users", 10, "number of users clicking")
	interval := flag.Duration("interval", 100*time.Millisecond, "time between two clicks")
	flag.Parse()
	if err := run(*addr, *users, *interval); err != nil {
		log.Fatal(err)
	}
}

func run(addr string, users int, interval time.Duration) error {
	ctx, stop := exampleenv.SignalContext()
	defer stop()
	brokers, closeBroker, err := exampleenv.Brokers(10)
	if err != nil {
		return err
	}
	defer closeBroker()
	tmc := exampleenv.Configure()
	if err := exampleenv.EnsureStreams(brokers, tmc, 10, topic); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "goka-2-clicks-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	p, err := goka.NewProcessor(brokers,
		goka.DefineGroup(group,
			goka.Input(topic, new(codec.String), count),
			goka.Persist(new(userCodec)),
		),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithStorageBuilder(storage.DefaultBuilder(dir+"/processor")),
	)
	if err != nil {
		return err
	}
	view, err := goka.NewView(brokers, goka.GroupTable(group), new(userCodec),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithViewStorageBuilder(storage.DefaultBuilder(dir+"/view")))
	if err != nil {
		return err
	}
	emitter, err := goka.NewEmitter(brokers, topic, new(codec.String))
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = emitter.Finish()
		return err
	}
	srv := &http.Server{Handler: handler(view), ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("serving http://%s/user-0 … /user-%d\n", ln.Addr(), users-1)

	grp, ctx := multierr.NewErrGroup(ctx)
	grp.Go(func() error { return p.Run(ctx) })
	grp.Go(func() error {
		// The processor creates its table topic; the view needs it.
		if p.WaitForReadyContext(ctx) == nil {
			return view.Run(ctx)
		}
		return nil // stopped before the processor was ready; Run says why

	})
	grp.Go(func() error {
		defer emitter.Finish() //nolint:errcheck // the emitter's errors were returned by Emit
		return emitClicks(ctx, emitter, users, interval)
	})
	grp.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	grp.Go(func() error {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	})
	return grp.Wait().ErrorOrNil()
}

// count increments the clicks of the message's user.
func count(ctx goka.Context, _ interface{}) {
	u, _ := ctx.Value().(*user)
	if u == nil {
		u = new(user)
	}
	u.Clicks++
	ctx.SetValue(u)
}

// emitClicks emits a click of the next user every interval until ctx ends.
func emitClicks(ctx context.Context, emitter *goka.Emitter, users int, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := emitter.Emit(fmt.Sprintf("user-%d", i%users), time.Now().String()); err != nil {
			return err
		}
	}
}

// handler serves GET /{user} from the view: the user's clicks as JSON, or
// 404 if the user has not clicked yet.
func handler(view *goka.View) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{user}", func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("user")
		value, err := view.Get(key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		u, ok := value.(*user)
		if !ok {
			http.Error(w, fmt.Sprintf("no clicks of %q yet", key), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(u)
	})
	return mux
}
