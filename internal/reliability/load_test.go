package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// TestLoad: several goroutines, as fast as they can, each make a fixed
// number of traces of two spans, with log lines and span events, through
// the batch processor to the agent. Every span arrives exactly once, none
// is dropped, the agent refuses nothing, every span carries its events,
// and the heap after GC is back near where it started.
func TestLoad(t *testing.T) {
	noLeaks(t)
	const (
		workers   = 4
		perWorker = loadTraces
		spans     = workers * perWorker * 2
	)
	agent := ddtest.New(t)
	r := newRig(t, rigConfig{url: agent.URL(), batchSize: 512})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]uint64, 0, perWorker*2)
			logger := r.logger.With("worker", w)
			for i := range perWorker {
				ctx, parent := r.tracer.Start(context.Background(), "request")
				logger.InfoContext(ctx, "request started", "i", i, "path", "/checkout")
				cctx, child := r.tracer.Start(ctx, "query")
				ddslog.AddEvent(cctx, "rows", "n", i)
				logger.DebugContext(cctx, "not an event at Info") // below EventLevel
				if i%10 == 0 {
					logger.ErrorContext(cctx, "query failed", "err", errors.New("timeout"))
				}
				child.End()
				logger.InfoContext(ctx, "request done", "status", 200)
				parent.End()
				ids = append(ids, spanID(parent.SpanContext().SpanID()), spanID(child.SpanContext().SpanID()))
			}
			r.mu.Lock()
			for _, id := range ids {
				r.produced[id] = true
			}
			r.mu.Unlock()
		}()
	}
	wg.Wait()
	produced := time.Since(start)
	r.flush()
	elapsed := time.Since(start)
	t.Logf("%d spans with %d log lines: produced in %v, delivered in %v", spans, workers*perWorker*3+workers*perWorker/10, produced, elapsed)

	s := r.account(agent)
	wantDropped(t, ddexport.DropReasons{}, s)
	if s.SpansExported != spans {
		t.Errorf("exported %d spans, want %d", s.SpansExported, spans)
	}
	noRejections(t, agent)

	// Events: 2 on each parent; on each child 1, plus the error record and
	// its exception event on every tenth. They are native, or meta JSON in
	// the payloads sent before the agent's /info answered.
	var events, errs int
	for _, sp := range agent.Spans() {
		events += len(sp.SpanEvents)
		if v, ok := sp.Meta["events"]; ok {
			var evs []json.RawMessage
			if err := json.Unmarshal([]byte(v), &evs); err != nil {
				t.Fatalf("meta events: %v", err)
			}
			events += len(evs)
		}
		errs += int(sp.Error)
	}
	if want := workers*perWorker*3 + workers*perWorker/10*2; events != want {
		t.Errorf("%d span events, want %d", events, want)
	}
	if want := workers * perWorker / 10; errs != want {
		t.Errorf("%d spans with error, want %d", errs, want)
	}

	// The heap after GC: what the agent holds is let go first.
	agent.Reset()
	runtime.GC()
	runtime.ReadMemStats(&after)
	const limit = 16 << 20
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > limit {
		t.Errorf("heap grew by %d bytes after GC (%d → %d), over %d", grown, before.HeapAlloc, after.HeapAlloc, limit)
	} else {
		t.Logf("heap after GC: %d → %d bytes", before.HeapAlloc, after.HeapAlloc)
	}
}
