package reliability

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// Bounds of the tests. They are generous: a call that blocked on the
// Agent, or a wait that never ended, breaks them by far.
const (
	// waitLimit bounds every wait for a condition.
	waitLimit = 20 * time.Second
	// pollEvery is the interval of the polls of Stats, used only where
	// there is no event to wait on.
	pollEvery = 2 * time.Millisecond
)

// fastRetry retries quickly and gives up after budget, so that a fault
// outlasting it makes the exporter drop, and count, the spans.
func fastRetry(budget time.Duration) ddexport.Option {
	return ddexport.WithRetry(ddexport.RetryConfig{
		Enabled:         true,
		InitialInterval: 5 * time.Millisecond,
		MaxInterval:     20 * time.Millisecond,
		MaxElapsedTime:  budget,
	})
}

// noLeaks registers a goroutine leak check that runs after every other
// cleanup of the test (agents closed, providers shut down). Call it first.
//
// Goroutines get a few seconds to end before the check: net/http's server
// keeps a connection's goroutine up to 500 ms after answering a request
// whose body it did not read (a 413), to let the client see the answer.
// A goroutine that is really leaked is still there after that.
func noLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for goleak.Find() != nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		goleak.VerifyNone(t)
	})
}

// rig is an application as a user builds it: a tracer provider batching
// spans into a ddexport.Exporter, and a slog logger through the ddslog
// Handler, whose records become span events.
type rig struct {
	t      *testing.T
	exp    *ddexport.Exporter
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	logger *slog.Logger

	mu       sync.Mutex
	produced map[uint64]bool // span IDs of the spans ended so far
}

// rigConfig configures newRig.
type rigConfig struct {
	url       string
	batchSize int // MaxExportBatchSize; 0: 100
	queueSize int // MaxQueueSize; 0: 20000, more than any test produces
	// exportTimeout is the processor's ExportTimeout; 0: 30 s.
	exportTimeout time.Duration
	exporter      []ddexport.Option
	provider      []sdktrace.TracerProviderOption
}

// newRig builds a rig sending to c.url. The batch processor's queue holds
// every span a test makes, so that the processor never drops one itself:
// spans it drops are out of the exporter's sight (see docs/RELIABILITY.md).
// The provider is shut down at the end of the test.
func newRig(t *testing.T, c rigConfig) *rig {
	t.Helper()
	opts := append([]ddexport.Option{
		ddexport.WithAgentURL(c.url),
		ddexport.WithContainerID(""),
		ddexport.WithService("reliability"),
		ddexport.WithTimeout(10 * time.Second),
		fastRetry(5 * time.Second),
	}, c.exporter...)
	exp, err := ddexport.New(opts...)
	if err != nil {
		t.Fatalf("ddexport.New: %v", err)
	}
	batch, queue := c.batchSize, c.queueSize
	if batch == 0 {
		batch = 100
	}
	if queue == 0 {
		queue = 20000
	}
	exportTimeout := c.exportTimeout
	if exportTimeout == 0 {
		exportTimeout = 30 * time.Second
	}
	popts := append([]sdktrace.TracerProviderOption{
		sdktrace.WithBatcher(exp,
			sdktrace.WithBatchTimeout(10*time.Millisecond),
			sdktrace.WithMaxExportBatchSize(batch),
			sdktrace.WithMaxQueueSize(queue),
			sdktrace.WithExportTimeout(exportTimeout),
		),
	}, c.provider...)
	tp := sdktrace.NewTracerProvider(popts...)
	r := &rig{
		t:        t,
		exp:      exp,
		tp:       tp,
		tracer:   tp.Tracer("reliability"),
		logger:   slog.New(ddslog.NewHandler(slog.NewJSONHandler(io.Discard, nil), nil)),
		produced: make(map[uint64]bool),
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			t.Errorf("tracer provider shutdown: %v", err)
		}
	})
	return r
}

// produce ends n spans, each with a log record through the Handler (a span
// event), and fails the test if that took longer than limit (times
// slowdown): the exporter must never make the application wait.
func (r *rig) produce(n int, limit time.Duration) {
	r.t.Helper()
	limit *= slowdown
	ids := make([]uint64, 0, n)
	start := time.Now()
	for i := range n {
		ctx, span := r.tracer.Start(context.Background(), "work")
		r.logger.InfoContext(ctx, "step", "i", i)
		span.End()
		ids = append(ids, spanID(span.SpanContext().SpanID()))
	}
	if d := time.Since(start); d > limit {
		r.t.Errorf("ending %d spans with a log line each took %v, over %v: the application was held up", n, d, limit)
	}
	r.mu.Lock()
	for _, id := range ids {
		r.produced[id] = true
	}
	r.mu.Unlock()
}

// flush waits until every span ended so far went through the exporter
// (accepted or dropped). An export error is expected where spans are
// dropped, and is not a failure here: Stats says what happened.
func (r *rig) flush() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := r.tp.ForceFlush(ctx); err != nil && ctx.Err() != nil {
		r.t.Fatalf("ForceFlush: %v", err)
	}
}

// count returns how many spans were produced.
func (r *rig) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.produced)
}

// waitStats polls the exporter's Stats until ok holds, and fails the test
// if it does not within waitLimit. Used where there is no event to wait on.
func (r *rig) waitStats(what string, ok func(ddexport.Stats) bool) ddexport.Stats {
	r.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		s := r.exp.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for %s: gave up; stats %+v", what, s)
		}
		time.Sleep(pollEvery)
	}
}

// account checks the accounting, once every produced span went through the
// exporter: each was exported or dropped exactly once, and the agents
// received each exported span exactly once and nothing else. It returns
// the Stats, for the caller to check the drop reasons.
func (r *rig) account(agents ...*ddtest.Agent) ddexport.Stats {
	r.t.Helper()
	s, seen := r.received(agents)
	for id, k := range seen {
		if k > 1 {
			r.t.Errorf("the agent received span %d %d times", id, k)
		}
	}
	if uint64(len(seen)) != s.SpansExported {
		r.t.Errorf("the agent received %d distinct spans, the exporter counts %d exported", len(seen), s.SpansExported)
	}
	return s
}

// received checks that exported and dropped spans add up to the spans
// produced, and that the agents received only produced spans; it returns
// the Stats and how many times each span ID arrived.
func (r *rig) received(agents []*ddtest.Agent) (ddexport.Stats, map[uint64]int) {
	r.t.Helper()
	s := r.exp.Stats()
	n := uint64(r.count())
	if s.SpansExported+s.SpansDropped != n {
		r.t.Errorf("exported %d + dropped %d != %d spans produced; stats %+v", s.SpansExported, s.SpansDropped, n, s)
	}
	seen := make(map[uint64]int)
	for _, a := range agents {
		for _, sp := range a.Spans() {
			seen[sp.SpanID]++
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range seen {
		if !r.produced[id] {
			r.t.Errorf("the agent received span %d, which was never produced", id)
		}
	}
	return s, seen
}

// wantDropped compares drop reasons.
func wantDropped(t *testing.T, want ddexport.DropReasons, s ddexport.Stats) {
	t.Helper()
	if diff := cmp.Diff(want, s.Dropped); diff != "" {
		t.Errorf("drop reasons (-want +got):\n%s\nlast error: %s", diff, s.LastError)
	}
}

// noRejections fails the test if an agent refused a request.
func noRejections(t *testing.T, agents ...*ddtest.Agent) {
	t.Helper()
	for _, a := range agents {
		if rej := a.Rejections(); len(rej) > 0 {
			t.Errorf("the agent refused %d requests; first: %+v", len(rej), rej[0])
		}
	}
}

func spanID(id trace.SpanID) uint64 { return binary.BigEndian.Uint64(id[:]) }

// ctxWait returns a context bounded by waitLimit.
func ctxWait(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// socketPath returns a path for a unix socket, short enough for the
// platform's limit on socket paths.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ddrel")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "apm.socket")
}

// freeAddr returns a loopback address with no listener: a port chosen by
// the system, then released.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
