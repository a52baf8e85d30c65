package ddslog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Span contexts used across the tests.
var (
	traceID64  = trace.TraceID{8: 0x01, 15: 0x02}                   // high half zero
	traceID128 = trace.TraceID{0: 0x5b, 7: 0x01, 8: 0x01, 15: 0x02} // high half non-zero
	spanID     = trace.SpanID{6: 0x12, 7: 0x34}
)

// Their Datadog and OpenTelemetry forms, written out by hand.
const (
	traceID64Dec   = "72057594037927938"                     // 0x0100000000000002
	traceID128Hex  = "5b00000000000001" + "0100000000000002" // all 128 bits
	spanIDDec      = "4660"                                  // 0x1234
	spanIDHex      = "0000000000001234"
	traceID64Hex   = "0000000000000000" + "0100000000000002"
	sampledFlagHex = "01"
)

func spanCtx(tid trace.TraceID, sampled bool) context.Context {
	var flags trace.TraceFlags
	if sampled {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: spanID, TraceFlags: flags})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLines parses every line of JSON output.
func jsonLines(t testing.TB, out string) []map[string]any {
	t.Helper()
	var ms []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("invalid JSON line %q: %v", line, err)
		}
		ms = append(ms, m)
	}
	return ms
}

// newJSON returns a Handler over a JSON handler (without time) writing to
// the returned buffer.
func newJSON(opts *HandlerOptions, jopts *slog.HandlerOptions) (*Handler, *syncBuffer) {
	buf := &syncBuffer{}
	if jopts == nil {
		jopts = &slog.HandlerOptions{}
	}
	if jopts.ReplaceAttr == nil {
		jopts.ReplaceAttr = dropTime
	}
	return NewHandler(slog.NewJSONHandler(buf, jopts), opts), buf
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// recorder returns a tracer provider that records ended spans.
func recorder(t testing.TB) (*tracetest.SpanRecorder, trace.Tracer) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp.Tracer("ddslog-test")
}

// clearEnv unsets the variables NewHandler reads, for the test's duration.
func clearEnv(t *testing.T) {
	for _, v := range []string{envService, envEnv, envVersion, envTraceID128Logging} {
		t.Setenv(v, "")
	}
}

// testTime is a fixed record time.
var testTime = time.Date(2026, 11, 22, 10, 30, 0, 123456789, time.UTC)

// waitWithin waits for wg, and fails the test instead of hanging when that
// takes longer than d.
func waitWithin(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("goroutines still running after %v", d)
	}
}
