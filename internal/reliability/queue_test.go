package reliability

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

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
