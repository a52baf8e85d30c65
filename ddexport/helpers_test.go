package ddexport

import (
	"context"
	"encoding/binary"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// clock is a fake clock for retries: waiting advances it at once and
// records how long was asked.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.waits = append(c.waits, d)
	return nil
}

func (c *clock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// newTestExporter returns an exporter sending to agent, isolated from the
// process environment, with a fake clock and no jitter. It is shut down at
// the end of the test.
func newTestExporter(t testing.TB, agent *ddtest.Agent, opts ...Option) (*Exporter, *clock) {
	t.Helper()
	all := append([]Option{WithAgentURL(agent.URL()), WithContainerID("")}, opts...)
	e, err := newExporter(fakeEnv(nil, false, ""), all...)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	e.now, e.wait = c.now, c.wait
	e.jitter = func(d time.Duration) time.Duration { return d }
	t.Cleanup(func() {
		if err := e.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return e, c
}

// makeSpans returns traces×perTrace spans: each trace is a root and its
// children, trace IDs and span IDs non-zero and distinct.
func makeSpans(traces, perTrace int) []sdktrace.ReadOnlySpan {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var out []sdktrace.ReadOnlySpan
	for i := range traces {
		var tid trace.TraceID
		binary.BigEndian.PutUint64(tid[:8], 0xabc)
		binary.BigEndian.PutUint64(tid[8:], uint64(i+1))
		var root trace.SpanContext
		for j := range perTrace {
			var sid trace.SpanID
			binary.BigEndian.PutUint64(sid[:], uint64(i*1000+j+1))
			sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
			stub := tracetest.SpanStub{
				Name:        "op",
				SpanContext: sc,
				StartTime:   start,
				EndTime:     start.Add(time.Millisecond),
			}
			if j == 0 {
				root = sc
			} else {
				stub.Parent = root
			}
			out = append(out, stub.Snapshot())
		}
	}
	return out
}

// checkAccounting fails the test unless every span handed to the exporter
// is counted exactly once.
func checkAccounting(t *testing.T, e *Exporter, handed uint64) Stats {
	t.Helper()
	s := e.Stats()
	if s.SpansExported+s.SpansDropped != handed {
		t.Errorf("exported %d + dropped %d = %d, want %d spans handed over (stats %+v)",
			s.SpansExported, s.SpansDropped, s.SpansExported+s.SpansDropped, handed, s)
	}
	if s.SpansDropped != s.Dropped.total() {
		t.Errorf("SpansDropped %d is not the sum of the reasons %+v", s.SpansDropped, s.Dropped)
	}
	return s
}

// startedTransport signals each request it starts, then lets it go on.
type startedTransport struct {
	next    http.RoundTripper
	started chan struct{}
}

func (s startedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case s.started <- struct{}{}:
	default:
	}
	return s.next.RoundTrip(r)
}

// waitLimit bounds every wait of a test on another goroutine, so that a
// regression fails with a message instead of hanging until go test's own
// timeout. It bounds nothing's speed: it is generous for a loaded machine
// under the race detector.
const waitLimit = 30 * time.Second

// receive returns the next value of ch, or fails the test when none comes
// within waitLimit; what says what was awaited.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", waitLimit, what)
		panic("unreachable")
	}
}

// send sends v on ch, or fails the test when nobody takes it within
// waitLimit.
func send[T any](t testing.TB, ch chan<- T, v T, what string) {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	select {
	case ch <- v:
	case <-timer.C:
		t.Fatalf("waited %v to hand over %s", waitLimit, what)
	}
}

// waitUntil polls cond, yielding between polls, until it holds; it fails
// the test when it does not within waitLimit.
func waitUntil(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", waitLimit, what)
		}
		runtime.Gosched()
	}
}

// waitGroup waits for wg, or fails the test when it is not done within
// waitLimit.
func waitGroup(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	receive(t, done, what)
}
