package reliability

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// handed counts the spans the batch processor hands to the exporter.
type handed struct {
	sdktrace.SpanExporter
	n atomic.Uint64
}

func (h *handed) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	h.n.Add(uint64(len(spans)))
	return h.SpanExporter.ExportSpans(ctx, spans)
}

// TestAgentHangsMemoryBounded: with the SDK's default queue (2048 spans)
// and an Agent that holds every request for 30 s, an application ending
// 20,000 spans is not held up and its heap stays bounded: the batch
// processor drops what its queue cannot hold. Those drops happen before
// the exporter and are not in its Stats; every span the exporter was
// handed is in them exactly once.
func TestAgentHangsMemoryBounded(t *testing.T) {
	noLeaks(t)
	agent := ddtest.New(t)
	agent.SetDelay(30 * time.Second)
	exp, err := ddexport.New(ddexport.WithAgentURL(agent.URL()), ddexport.WithContainerID(""),
		ddexport.WithTimeout(30*time.Second), fastRetry(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	h := &handed{SpanExporter: exp}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(h)) // the SDK's defaults
	tracer := tp.Tracer("reliability")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 20000
	start := time.Now()
	for i := range n {
		_, span := tracer.Start(context.Background(), "work")
		span.SetAttributes(attribute.Int("i", i))
		span.End()
	}
	if d, limit := time.Since(start), 2*time.Second*slowdown; d > limit {
		t.Errorf("%d spans took %v (limit %v) while the agent hangs", n, d, limit)
	}
	if _, err := agent.WaitRequests(ctxWait(t), 1); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	const limit = 32 << 20
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > limit {
		t.Errorf("heap grew by %d bytes while the agent hangs, over %d", grown, limit)
	} else {
		t.Logf("heap after GC while the agent hangs: %d → %d bytes", before.HeapAlloc, after.HeapAlloc)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		_ = exp.Shutdown(ctx)
	}
	var got uint64
	var s ddexport.Stats
	deadline := time.Now().Add(waitLimit)
	for {
		got = h.n.Load()
		s = exp.Stats()
		if s.SpansExported+s.SpansDropped == got || time.Now().After(deadline) {
			break
		}
		time.Sleep(pollEvery)
	}
	if s.SpansExported+s.SpansDropped != got {
		t.Errorf("the exporter was handed %d spans, counts %d exported + %d dropped", got, s.SpansExported, s.SpansDropped)
	}
	// The queue (2048) plus the batch being exported (512) at most.
	if got > 2048+512 || got == 0 {
		t.Errorf("the exporter was handed %d of %d spans; want at most the queue and one batch", got, n)
	}
	t.Logf("%d spans ended; %d handed to the exporter (%d dropped there at shutdown); %d dropped by the SDK's full queue",
		n, got, s.SpansDropped, n-got)
}

// TestProcessorStalledAgentLeakedSpans: through ddexport.NewSpanProcessor,
// with an Agent that holds every request and one trace in five leaking a
// span that is never ended, an application ending tens of thousands of
// spans is not held up, its heap stays bounded (the processor's buffer cap,
// and the maximum trace age that forgets leaked traces), and once the
// processor is shut down every span that ended is exported or dropped,
// counted.
func TestProcessorStalledAgentLeakedSpans(t *testing.T) {
	noLeaks(t)
	agent := ddtest.New(t)
	agent.SetDelay(30 * time.Second)
	exp, err := ddexport.New(ddexport.WithAgentURL(agent.URL()), ddexport.WithContainerID(""),
		ddexport.WithTimeout(30*time.Second), fastRetry(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	const maxBuffered = 5000
	proc := ddexport.NewSpanProcessor(exp,
		ddexport.WithMaxBufferedSpans(maxBuffered),
		ddexport.WithFlushInterval(10*time.Millisecond),
		ddexport.WithMaxTraceAge(100*time.Millisecond))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(proc))
	tracer := tp.Tracer("reliability")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const traces = 10000
	var leaked []trace.Span
	start := time.Now()
	for i := range traces {
		ctx, root := tracer.Start(context.Background(), "request")
		_, child := tracer.Start(ctx, "work")
		child.SetAttributes(attribute.Int("i", i))
		child.End()
		if i%5 == 0 {
			_, l := tracer.Start(ctx, "leaked") // never ended
			leaked = append(leaked, l)
		}
		root.End()
	}
	if d, limit := time.Since(start), 2*time.Second*slowdown; d > limit {
		t.Errorf("%d traces took %v (limit %v) while the agent hangs", traces, d, limit)
	}
	// The leaked traces are forgotten once they are too old.
	deadline := time.Now().Add(waitLimit)
	for exp.Stats().TracesExpired < traces/5 && time.Now().Before(deadline) {
		time.Sleep(pollEvery)
	}
	s := exp.Stats()
	if s.TracesExpired != traces/5 {
		t.Errorf("%d traces expired, want the %d with a leaked span", s.TracesExpired, traces/5)
	}
	if s.SpansBuffered > maxBuffered {
		t.Errorf("%d spans buffered, over the cap of %d", s.SpansBuffered, maxBuffered)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	const limit = 32 << 20
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > limit {
		t.Errorf("heap grew by %d bytes while the agent hangs, over %d", grown, limit)
	} else {
		t.Logf("heap after GC while the agent hangs: %d → %d bytes", before.HeapAlloc, after.HeapAlloc)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = tp.Shutdown(ctx) // cut short: the agent never answers
	s = exp.Stats()
	if s.SpansBuffered != 0 || s.SpansEnded != s.SpansExported+s.SpansDropped {
		t.Errorf("after shutdown: %d ended != %d exported + %d dropped (%d buffered); stats %+v",
			s.SpansEnded, s.SpansExported, s.SpansDropped, s.SpansBuffered, s)
	}
	if want := uint64(2 * traces); s.SpansEnded != want {
		t.Errorf("%d spans ended, want %d", s.SpansEnded, want)
	}
	if s.Dropped.BufferFull == 0 || s.TracesShed == 0 {
		t.Errorf("stats %+v: want whole traces shed for the full buffer while the agent hangs", s)
	}
	t.Logf("%d spans ended: %d exported, %d dropped (%+v); %d traces shed, %d expired; %d leaked spans still open",
		s.SpansEnded, s.SpansExported, s.SpansDropped, s.Dropped, s.TracesShed, s.TracesExpired, len(leaked))
}
