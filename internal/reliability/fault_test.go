package reliability

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/seed03c8c003/ddslog/ddotel"
)

// TestAgentAbsentThenAppears: the Agent's port is chosen first and nothing
// listens on it; an Agent appears there later. Spans whose retries end
// before it appears are dropped as Failed; spans still being retried when
// it appears are delivered; later spans flow.
func TestAgentAbsentThenAppears(t *testing.T) {
	noLeaks(t)
	addr := freeAddr(t)
	r := newRig(t, rigConfig{url: "http://" + addr, exporter: []ddexport.Option{fastRetry(500 * time.Millisecond)}})

	// No Agent: every attempt is refused, then the spans are dropped.
	r.produce(100, time.Second)
	r.flush()
	s := r.exp.Stats()
	wantDropped(t, ddexport.DropReasons{Failed: 100}, s)
	if !strings.Contains(s.LastError, "connection refused") {
		t.Errorf("LastError = %q, want the connection error", s.LastError)
	}

	// Spans pending while the Agent appears: delivered by a retry.
	before := s.Requests
	r.produce(100, time.Second)
	r.waitStats("a failed attempt", func(s ddexport.Stats) bool { return s.Requests >= before+2 })
	agent := ddtest.New(t)
	startProxy(t, addr, hostPort(agent.URL()))
	r.flush()

	// And from now on everything flows.
	r.produce(100, time.Second)
	r.flush()
	s = r.account(agent)
	wantDropped(t, ddexport.DropReasons{Failed: 100}, s)
	if s.SpansExported != 200 {
		t.Errorf("exported %d spans, want 200", s.SpansExported)
	}
	noRejections(t, agent)
}

// TestAgentRestart: the Agent, on a unix socket, stops while the
// application keeps producing spans, and starts again on the same socket.
// Spans produced meanwhile are delivered by retries or dropped as Failed,
// each counted once.
func TestAgentRestart(t *testing.T) {
	noLeaks(t)
	path := socketPath(t)
	a1, err := ddtest.Start(ddtest.WithUnixSocket(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a1.Close() })
	r := newRig(t, rigConfig{url: "unix://" + path, batchSize: 20, exporter: []ddexport.Option{fastRetry(200 * time.Millisecond)}})

	// A producer that never stops for the Agent.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r.produce(10, time.Second)
			time.Sleep(time.Millisecond) // a steady stream, not a flood
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	ctx := ctxWait(t)
	if _, err := a1.WaitSpans(ctx, 200); err != nil {
		t.Fatalf("first agent: %v", err)
	}
	if err := a1.Close(); err != nil {
		t.Fatalf("stopping the agent: %v", err)
	}
	// The Agent is gone: payloads fail until their retries give up.
	r.waitStats("spans dropped while the agent is down", func(s ddexport.Stats) bool { return s.Dropped.Failed > 0 })

	a2, err := ddtest.Start(ddtest.WithUnixSocket(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a2.Close() })
	if _, err := a2.WaitSpans(ctx, 200); err != nil {
		t.Fatalf("restarted agent: %v", err)
	}
	close(stop)
	wg.Wait()
	r.flush()

	s := r.account(a1, a2)
	if s.Dropped.Failed == 0 || s.Dropped.Failed != s.SpansDropped {
		t.Errorf("want drops only as Failed, some; got %+v", s.Dropped)
	}
	noRejections(t, a1, a2)
}

// TestAgentSlowerThanTimeout: the Agent holds every request for 30 s while
// the request timeout is 100 ms. Payloads are dropped as Failed after their
// retries; when the Agent is fast again, the rest is delivered. The fake
// Agent drops a payload whose client has gone, so the accounting is exact
// (a real Agent that had already read it might still keep it: see
// docs/RELIABILITY.md).
func TestAgentSlowerThanTimeout(t *testing.T) {
	noLeaks(t)
	agent := ddtest.New(t)
	agent.SetDelay(30 * time.Second)
	r := newRig(t, rigConfig{
		url:      agent.URL(),
		exporter: []ddexport.Option{ddexport.WithTimeout(100 * time.Millisecond), fastRetry(300 * time.Millisecond)},
	})

	r.produce(1000, time.Second)
	r.waitStats("a payload dropped after timeouts", func(s ddexport.Stats) bool { return s.Dropped.Failed > 0 })
	agent.SetDelay(0)
	r.flush()
	r.produce(100, time.Second)
	r.flush()

	s := r.account(agent)
	if s.SpansExported < 100 || s.Dropped.Failed == 0 || s.Dropped.Failed != s.SpansDropped {
		t.Errorf("want some spans exported and the rest dropped as Failed; got %+v", s)
	}
	if !strings.Contains(s.LastError, "deadline") && !strings.Contains(s.LastError, "Timeout") {
		t.Errorf("LastError = %q, want a timeout", s.LastError)
	}
	noRejections(t, agent)
}

// TestProcessorExportTimeout: the Agent hangs and the exporter's own
// limits are long (30 s request timeout, 30 s retry budget), but the batch
// processor gives each export 200 ms. Each export returns by then, its
// spans counted as Canceled; when the Agent answers again, spans flow.
func TestProcessorExportTimeout(t *testing.T) {
	noLeaks(t)
	agent := ddtest.New(t)
	agent.SetDelay(30 * time.Second)
	r := newRig(t, rigConfig{
		url:           agent.URL(),
		exportTimeout: 200 * time.Millisecond,
		exporter:      []ddexport.Option{ddexport.WithTimeout(30 * time.Second), fastRetry(30 * time.Second)},
	})
	r.produce(100, time.Second)
	start := time.Now()
	r.flush()
	// At most two batches (the batch timer may cut the 100 spans in two).
	if d := time.Since(start); d > 2*200*time.Millisecond+2*time.Second {
		t.Errorf("flush took %v: an export outlived the processor's 200 ms timeout", d)
	}
	s := r.exp.Stats()
	wantDropped(t, ddexport.DropReasons{Canceled: 100}, s)
	if !strings.Contains(s.LastError, "processor export timeout") {
		t.Errorf("LastError = %q, want the processor's timeout as the cause", s.LastError)
	}

	agent.SetDelay(0)
	r.produce(100, time.Second)
	r.flush()
	s = r.account(agent)
	wantDropped(t, ddexport.DropReasons{Canceled: 100}, s)
	if s.SpansExported != 100 {
		t.Errorf("exported %d spans after the agent came back, want 100", s.SpansExported)
	}
}

// TestConnectionClosedMidRequest: the Agent closes the connection of three
// requests without answering. The exporter retries on a new connection and
// loses nothing.
func TestConnectionClosedMidRequest(t *testing.T) {
	noLeaks(t)
	agent := ddtest.New(t)
	r := newRig(t, rigConfig{url: agent.URL()})
	agent.DropNext(3)
	r.produce(300, time.Second)
	r.flush()

	s := r.account(agent)
	wantDropped(t, ddexport.DropReasons{}, s)
	if s.Retries < 3 {
		t.Errorf("Retries = %d, want at least 3", s.Retries)
	}
	if got := agent.Requests(); uint64(got) != s.Requests {
		t.Errorf("the agent saw %d requests, the exporter counts %d", got, s.Requests)
	}
	noRejections(t, agent)
}

// TestRetryAfter: 429 and 503 with Retry-After. The exporter waits as long
// as asked and delivers everything; when the wait asked for is longer than
// the retry budget, it drops the payload at once (counted as Failed)
// instead of waiting, and the next payload goes through.
func TestRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			noLeaks(t)
			agent := ddtest.New(t)
			r := newRig(t, rigConfig{url: agent.URL(), exporter: []ddexport.Option{fastRetry(3 * time.Second)}})

			// Retry-After within the budget: honoured.
			agent.FailNext(1, status, time.Second)
			start := time.Now() // before the first attempt, which may come during produce
			r.produce(50, time.Second)
			r.flush()
			if d := time.Since(start); d < time.Second {
				t.Errorf("delivered after %v: Retry-After: 1 was not honoured", d)
			}
			s := r.account(agent)
			wantDropped(t, ddexport.DropReasons{}, s)
			if s.Retries != 1 {
				t.Errorf("Retries = %d, want 1", s.Retries)
			}

			// Retry-After beyond the budget: dropped without waiting.
			agent.FailNext(1, status, 10*time.Second)
			r.produce(50, time.Second)
			start = time.Now()
			r.flush()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("flush took %v: the exporter waited for a Retry-After beyond its budget", d)
			}
			s = r.exp.Stats()
			if s.Dropped.Failed == 0 {
				t.Errorf("want the refused payload dropped as Failed; got %+v", s.Dropped)
			}

			// Recovered.
			r.produce(50, time.Second)
			r.flush()
			s = r.account(agent)
			wantDropped(t, ddexport.DropReasons{Failed: s.Dropped.Failed}, s)
			if s.SpansExported < 100 {
				t.Errorf("exported %d spans, want at least 100", s.SpansExported)
			}
			noRejections(t, agent)
		})
	}
}

// TestPayloadTooLarge: the Agent's body limit is 64 KiB. Batches above it
// are answered 413 and split until they fit; one span alone above the
// limit is dropped as TooLarge, and nothing else is lost.
func TestPayloadTooLarge(t *testing.T) {
	noLeaks(t)
	agent := ddtest.New(t, ddtest.WithBodyLimit(64<<10))
	r := newRig(t, rigConfig{url: agent.URL(), batchSize: 1000})

	r.produce(500, time.Second)
	ctx, big := r.tracer.Start(context.Background(), "big")
	r.logger.InfoContext(ctx, "large value", "blob", strings.Repeat("x", 100<<10))
	big.End()
	r.mu.Lock()
	r.produced[spanID(big.SpanContext().SpanID())] = true
	r.mu.Unlock()
	r.produce(500, time.Second)
	r.flush()

	s := r.account(agent)
	wantDropped(t, ddexport.DropReasons{TooLarge: 1}, s)
	if s.Splits == 0 {
		t.Error("no payload was split")
	}
	for _, rej := range agent.Rejections() {
		if rej.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("unexpected rejection %+v", rej)
		}
	}
	if s.Rejections != uint64(len(agent.Rejections())) {
		t.Errorf("Rejections = %d, the agent refused %d", s.Rejections, len(agent.Rejections()))
	}
}

// TestBadRequestOnOnePayload: the Agent answers 400 to one payload among
// many. Its spans are dropped as Rejected, without retry, the cause is
// reported once to the OpenTelemetry error handler, and every other payload
// is delivered.
func TestBadRequestOnOnePayload(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	var reported []error
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}))
	t.Cleanup(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) })

	agent := ddtest.New(t)
	r := newRig(t, rigConfig{url: agent.URL()})
	r.produce(200, time.Second)
	r.flush()
	agent.FailNext(1, http.StatusBadRequest, 0)
	r.produce(100, time.Second)
	r.flush()
	r.produce(200, time.Second)
	r.flush()

	s := r.account(agent)
	if s.Dropped.Rejected == 0 || s.Dropped.Rejected > 100 {
		t.Errorf("Rejected = %d, want the spans of one payload (1 to 100)", s.Dropped.Rejected)
	}
	wantDropped(t, ddexport.DropReasons{Rejected: s.Dropped.Rejected}, s)
	if s.Retries != 0 || s.Rejections != 1 || s.FailedExports != 1 {
		t.Errorf("want 1 rejection, 1 failed export, no retry; got %+v", s)
	}
	mu.Lock()
	defer mu.Unlock()
	var dropped int
	for _, err := range reported {
		// The SDK's batch processor hands every failed export to the
		// handler too; the exporter's own report is "payload dropped".
		if strings.Contains(err.Error(), "payload dropped") {
			dropped++
		}
	}
	if dropped != 1 {
		t.Errorf("the 400 was reported %d times to the error handler, want once: %v", dropped, reported)
	}
}

// TestUnixSocketRemoved: the Agent's socket file is removed while it runs.
// The open connection still works; once it is cut, new connections fail
// and payloads are dropped as Failed; when an Agent listens at the path
// again, spans flow again.
func TestUnixSocketRemoved(t *testing.T) {
	noLeaks(t)
	path := socketPath(t)
	a1 := ddtest.New(t, ddtest.WithUnixSocket(path))
	r := newRig(t, rigConfig{url: "unix://" + path, exporter: []ddexport.Option{fastRetry(300 * time.Millisecond)}})

	r.produce(100, time.Second)
	r.flush()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	a1.DropNext(1 << 20) // cut the open connection: the exporter must dial again
	r.produce(100, time.Second)
	r.flush()
	s := r.exp.Stats()
	wantDropped(t, ddexport.DropReasons{Failed: 100}, s)
	if !strings.Contains(s.LastError, "no such file") && !strings.Contains(s.LastError, "reset") {
		t.Errorf("LastError = %q, want the missing socket or the cut connection", s.LastError)
	}

	a2 := ddtest.New(t, ddtest.WithUnixSocket(path)) // closed before a1
	r.produce(100, time.Second)
	r.flush()
	s = r.account(a1, a2)
	wantDropped(t, ddexport.DropReasons{Failed: 100}, s)
	if s.SpansExported != 200 {
		t.Errorf("exported %d spans, want 200", s.SpansExported)
	}
	noRejections(t, a1, a2)
}

// TestShutdownDeadline: the Agent hangs for 30 s on every request, and so
// does the exporter (30 s timeout). Ending 10,000 spans, each with a log
// line, and writing 10,000 more log lines stay fast. Shutdown with a 200 ms
// deadline returns by then, and every pending span is counted as dropped at
// shutdown.
func TestShutdownDeadline(t *testing.T) {
	noLeaks(t)
	agent := ddtest.New(t)
	agent.SetDelay(30 * time.Second)
	r := newRig(t, rigConfig{url: agent.URL(), batchSize: 512, exporter: []ddexport.Option{
		ddexport.WithTimeout(30 * time.Second),
		fastRetry(30 * time.Second),
	}})
	r.produce(100, time.Second)
	if _, err := agent.WaitRequests(ctxWait(t), 1); err != nil {
		t.Fatal(err)
	}

	// The exporter is stuck in a request: the application is not.
	start := time.Now()
	r.produce(10000, 2*time.Second)
	t.Logf("10000 spans, each with a log line, while the agent hangs: %v", time.Since(start))
	ctx, span := r.tracer.Start(context.Background(), "logging")
	start = time.Now()
	for i := range 10000 {
		r.logger.InfoContext(ctx, "hello", "i", i)
	}
	if d, limit := time.Since(start), 2*time.Second*slowdown; d > limit {
		t.Errorf("10000 log lines took %v (limit %v) while the agent hangs", d, limit)
	} else {
		t.Logf("10000 log lines while the agent hangs: %v", d)
	}
	span.End()
	r.mu.Lock()
	r.produced[spanID(span.SpanContext().SpanID())] = true
	r.mu.Unlock()

	const deadline = 200 * time.Millisecond
	sctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start = time.Now()
	// What ddotel's shutdown does: the batch processor gives up at the
	// deadline but leaves its export running; Exporter.Shutdown cuts it.
	err := r.tp.Shutdown(sctx)
	if err != nil {
		err = errors.Join(err, r.exp.Shutdown(sctx))
	}
	if d := time.Since(start); d > deadline+time.Second {
		t.Errorf("Shutdown took %v with a %v deadline", d, deadline)
	} else {
		t.Logf("Shutdown with a %v deadline returned after %v", deadline, d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want the deadline error", err)
	}
	// The processor hands what it still queues to the stopped exporter,
	// which counts it at once.
	n := uint64(r.count())
	s := r.waitStats("every span accounted for", func(s ddexport.Stats) bool {
		return s.SpansExported+s.SpansDropped == n
	})
	wantDropped(t, ddexport.DropReasons{Shutdown: n}, s)
	r.account(agent)
}

// TestStartShutdownDeadline: the same through ddotel.Start, as a program
// uses it: the shutdown function returns by its deadline while the Agent
// hangs with a payload, and leaves no goroutine behind.
func TestStartShutdownDeadline(t *testing.T) {
	noLeaks(t)
	agent := ddtest.New(t)
	agent.SetDelay(30 * time.Second)
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	shutdown, err := ddotel.Start(context.Background(), ddotel.WithoutLogs(), ddotel.WithService("reliability"),
		ddotel.WithExporterOptions(ddexport.WithAgentURL(agent.URL()), ddexport.WithContainerID(""), ddexport.WithTimeout(30*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	tracer := otel.Tracer("reliability")
	start := time.Now()
	for range 1000 { // more than one batch of the SDK's default 512
		_, span := tracer.Start(context.Background(), "work")
		span.End()
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("1000 spans took %v", d)
	}
	if _, err := agent.WaitRequests(ctxWait(t), 1); err != nil {
		t.Fatal(err)
	}
	const deadline = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start = time.Now()
	err = shutdown(ctx)
	if d := time.Since(start); d > deadline+time.Second {
		t.Errorf("shutdown took %v with a %v deadline", d, deadline)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown: %v, want the deadline error", err)
	}
}
