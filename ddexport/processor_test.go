package ddexport

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// pipeline is a tracer provider feeding a SpanProcessor that exports to a
// fake agent. Its flush loop ticks only when the test says so.
type pipeline struct {
	tp    *sdktrace.TracerProvider
	proc  *SpanProcessor
	exp   *Exporter
	agent *ddtest.Agent
	ticks chan time.Time
}

// newPipeline builds a pipeline. Without a sampler, every trace is sampled.
func newPipeline(t *testing.T, sampler sdktrace.Sampler, opts ...ProcessorOption) *pipeline {
	t.Helper()
	return newPipelineWith(t, pipelineConfig{sampler: sampler, processor: opts})
}

// pipelineConfig configures newPipelineWith.
type pipelineConfig struct {
	agent     []ddtest.Option
	exporter  []Option
	sampler   sdktrace.Sampler
	processor []ProcessorOption
}

func newPipelineWith(t *testing.T, c pipelineConfig) *pipeline {
	t.Helper()
	agent := ddtest.New(t, c.agent...)
	exp, _ := newTestExporter(t, agent, c.exporter...)
	p := &pipeline{exp: exp, agent: agent, ticks: make(chan time.Time)}
	opts := append([]ProcessorOption{processorOptionFunc(func(c *processorConfig) { c.ticks = p.ticks })}, c.processor...)
	sampler := c.sampler
	p.proc = newSpanProcessor(exp, fakeEnv(nil, false, ""), opts...)
	if sampler == nil {
		sampler = sdktrace.AlwaysSample()
	}
	p.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p.proc), sdktrace.WithSampler(sampler))
	t.Cleanup(func() {
		if err := p.tp.Shutdown(context.Background()); err != nil {
			t.Errorf("provider Shutdown: %v", err)
		}
	})
	return p
}

func (p *pipeline) tracer() trace.Tracer { return p.tp.Tracer("processor-test") }

// flush makes the processor export what it has queued, and waits for it.
func (p *pipeline) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := p.proc.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
}

// tick advances the processor's clock to now and waits until the tick was
// handled.
func (p *pipeline) tick(t *testing.T, now time.Time) {
	t.Helper()
	select {
	case p.ticks <- now:
	case <-time.After(waitTimeout):
		t.Fatal("the flush loop did not take the tick")
	}
	p.flush(t) // handled after the tick: one goroutine takes both in order
}

// shutdown shuts the processor down and fails the test on error.
func (p *pipeline) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := p.proc.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// chunks returns the chunks the agent received, each as the span names in
// wire order.
func (p *pipeline) chunks() [][]string {
	var out [][]string
	for _, pl := range p.agent.Payloads() {
		for _, c := range pl.Chunks {
			var names []string
			for _, s := range c {
				names = append(names, s.Resource)
			}
			out = append(out, names)
		}
	}
	return out
}

const waitTimeout = 30 * time.Second

// checkEnded asserts that every ended span is exported, dropped or still
// buffered, and returns the stats.
func checkEnded(t *testing.T, e *Exporter) Stats {
	t.Helper()
	s := checkAccounting(t, e, e.Stats().SpansExported+e.Stats().SpansDropped)
	if s.SpansEnded != s.SpansExported+s.SpansDropped+s.SpansBuffered {
		t.Errorf("accounting: %d ended != %d exported + %d dropped + %d buffered (%+v)",
			s.SpansEnded, s.SpansExported, s.SpansDropped, s.SpansBuffered, s)
	}
	return s
}

func TestProcessorWholeTraceOneChunk(t *testing.T) {
	p := newPipeline(t, nil)
	tr := p.tracer()
	ctx, root := tr.Start(context.Background(), "root", trace.WithSpanKind(trace.SpanKindServer))
	_, a := tr.Start(ctx, "a")
	actx, b := tr.Start(ctx, "b", trace.WithSpanKind(trace.SpanKindClient))
	_, c := tr.Start(actx, "c")
	a.End()
	c.End()
	p.flush(t)
	if got := p.chunks(); len(got) != 0 {
		t.Fatalf("chunks sent while the trace is open: %v", got)
	}
	b.End()
	root.End()
	p.flush(t)
	// The root is swapped to the front, in constant time.
	want := [][]string{{"root", "c", "b", "a"}}
	if diff := cmp.Diff(want, p.chunks()); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
	p.shutdown(t)
	s := checkEnded(t, p.exp)
	if s.SpansEnded != 4 || s.SpansExported != 4 || s.PartialFlushes != 0 {
		t.Errorf("stats %+v, want 4 spans ended and exported, no partial flush", s)
	}
}

// TestProcessorInterleavedTraces runs many traces at once from many
// goroutines: each reaches the agent as exactly one chunk, whole, its local
// root first.
func TestProcessorInterleavedTraces(t *testing.T) {
	const goroutines, traces, children = 8, 25, 6
	p := newPipeline(t, nil, WithBatchSpans(64))
	tr := p.tracer()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range traces {
				ctx, root := tr.Start(context.Background(), fmt.Sprintf("root-%d-%d", g, i))
				var spans []trace.Span
				for j := range children {
					_, s := tr.Start(ctx, fmt.Sprintf("child-%d", j))
					spans = append(spans, s)
				}
				// Out of order: a child last.
				root.End()
				for _, s := range spans {
					s.End()
				}
			}
		}()
	}
	wg.Wait()
	p.shutdown(t)
	total := goroutines * traces * (children + 1)
	s := checkEnded(t, p.exp)
	if s.SpansExported != uint64(total) || s.SpansDropped != 0 {
		t.Fatalf("stats %+v, want %d exported, none dropped", s, total)
	}
	chunks := 0
	seen := map[uint64]bool{}
	for _, pl := range p.agent.Payloads() {
		for _, c := range pl.Chunks {
			chunks++
			tid := c[0].TraceID
			if seen[tid] {
				t.Errorf("trace %x split over several chunks", tid)
			}
			seen[tid] = true
			if len(c) != children+1 {
				t.Errorf("chunk of trace %x has %d spans, want %d", tid, len(c), children+1)
			}
			if !strings.HasPrefix(c[0].Resource, "root-") || c[0].ParentID != 0 {
				t.Errorf("chunk of trace %x starts with %q (parent %x), want its root", tid, c[0].Resource, c[0].ParentID)
			}
			for _, s := range c {
				if s.TraceID != tid {
					t.Errorf("span %x of trace %x in the chunk of trace %x", s.SpanID, s.TraceID, tid)
				}
			}
		}
	}
	if chunks != goroutines*traces {
		t.Errorf("%d chunks, want %d", chunks, goroutines*traces)
	}
}

// TestProcessorRemoteParents: spans continuing remote parents are local
// roots; two requests of the same trace handled one after the other are two
// chunks.
func TestProcessorRemoteParents(t *testing.T) {
	p := newPipeline(t, nil)
	tr := p.tracer()
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{9}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	for i := range 2 {
		ctx, root := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), fmt.Sprintf("request-%d", i))
		_, child := tr.Start(ctx, fmt.Sprintf("work-%d", i))
		child.End()
		root.End()
	}
	p.flush(t)
	want := [][]string{{"request-0", "work-0"}, {"request-1", "work-1"}}
	if diff := cmp.Diff(want, p.chunks()); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
}

// recordOnly records every trace without sampling it, as a Datadog sampler
// does for the traces it drops.
type recordOnly struct{}

func (recordOnly) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}
func (recordOnly) Description() string { return "recordOnly" }

// TestProcessorSendsUnsampledSpans: the SDK's processors discard spans
// that are recorded but not sampled; this one sends them.
func TestProcessorSendsUnsampledSpans(t *testing.T) {
	p := newPipeline(t, recordOnly{})
	tr := p.tracer()
	ctx, root := tr.Start(context.Background(), "dropped")
	_, child := tr.Start(ctx, "child")
	if root.SpanContext().IsSampled() || !root.IsRecording() {
		t.Fatal("want a recording, unsampled span")
	}
	child.End()
	root.End()
	p.flush(t)
	if diff := cmp.Diff([][]string{{"dropped", "child"}}, p.chunks()); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
}

func TestProcessorPartialFlush(t *testing.T) {
	p := newPipeline(t, nil, WithPartialFlush(3))
	tr := p.tracer()
	ctx, root := tr.Start(context.Background(), "root")
	for i := range 7 {
		_, s := tr.Start(ctx, fmt.Sprintf("c%d", i))
		s.End()
	}
	p.flush(t)
	want := [][]string{{"c0", "c1", "c2"}, {"c3", "c4", "c5"}}
	if diff := cmp.Diff(want, p.chunks()); diff != "" {
		t.Errorf("chunks before the root ends (-want +got):\n%s", diff)
	}
	root.End()
	p.flush(t)
	want = append(want, []string{"root", "c6"})
	if diff := cmp.Diff(want, p.chunks()); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
	if s := checkEnded(t, p.exp); s.PartialFlushes != 2 {
		t.Errorf("PartialFlushes = %d, want 2", s.PartialFlushes)
	}
	// Every chunk, partial or not, carries the trace's decision and its
	// trace-level tags on its roots (spans whose parent is not in it).
	tid := root.SpanContext().TraceID()
	for _, pl := range p.agent.Payloads() {
		for _, c := range pl.Chunks {
			in := map[uint64]bool{}
			for _, s := range c {
				in[s.SpanID] = true
			}
			for _, s := range c {
				if in[s.ParentID] {
					continue
				}
				got := [3]string{strconv.FormatFloat(s.Metrics["_sampling_priority_v1"], 'g', -1, 64), s.Meta["_dd.p.dm"], s.Meta["_dd.p.tid"]}
				if want := [3]string{"1", "-0", tid.String()[:16]}; got != want {
					t.Errorf("chunk root %q: priority, _dd.p.dm, _dd.p.tid = %q, want %q", s.Resource, got, want)
				}
			}
		}
	}
}

// TestProcessorTraceCap: without partial flush, a trace reaching the hard
// cap is sent ahead all the same.
func TestProcessorTraceCap(t *testing.T) {
	p := newPipeline(t, nil, WithMaxTraceSpans(4))
	tr := p.tracer()
	ctx, root := tr.Start(context.Background(), "root")
	for i := range 5 {
		_, s := tr.Start(ctx, fmt.Sprintf("c%d", i))
		s.End()
	}
	root.End()
	p.flush(t)
	want := [][]string{{"c0", "c1", "c2", "c3"}, {"root", "c4"}}
	if diff := cmp.Diff(want, p.chunks()); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
}

func TestPartialFlushFromEnv(t *testing.T) {
	h := &errorHandler{}
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(h)
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	tests := []struct {
		vars     map[string]string
		want     int  // partialAt; the hard cap when off
		reported bool // a malformed value, reported through otel.Handle
	}{
		{nil, DefaultMaxTraceSpans, false},
		{map[string]string{envPartialFlushEnabled: "false", envPartialFlushMin: "5"}, DefaultMaxTraceSpans, false},
		{map[string]string{envPartialFlushEnabled: "true"}, DefaultPartialFlushMinSpans, false},
		{map[string]string{envPartialFlushEnabled: "1", envPartialFlushMin: "300"}, 300, false},
		{map[string]string{envPartialFlushEnabled: "true", envPartialFlushMin: "0"}, DefaultPartialFlushMinSpans, true},
		{map[string]string{envPartialFlushEnabled: "true", envPartialFlushMin: "100000"}, DefaultPartialFlushMinSpans, true},
		{map[string]string{envPartialFlushEnabled: "true", envPartialFlushMin: "many"}, DefaultPartialFlushMinSpans, true},
		{map[string]string{envPartialFlushEnabled: "yes", envPartialFlushMin: "5"}, DefaultMaxTraceSpans, true},
	}
	for _, tt := range tests {
		before := len(h.got())
		p := newSpanProcessor(&Exporter{}, fakeEnv(tt.vars, false, ""), processorOptionFunc(func(c *processorConfig) { c.disableFlushLoop = true }))
		if p.partialAt != tt.want {
			t.Errorf("%v: partial flush at %d spans, want %d", tt.vars, p.partialAt, tt.want)
		}
		if reported := len(h.got()) > before; reported != tt.reported {
			t.Errorf("%v: reported %v, want %v (%v)", tt.vars, reported, tt.reported, h.got())
		}
	}
	// The option beats the variables, on and off.
	vars := map[string]string{envPartialFlushEnabled: "true", envPartialFlushMin: "300"}
	for opt, want := range map[int]int{0: DefaultMaxTraceSpans, 7: 7} {
		p := newSpanProcessor(&Exporter{}, fakeEnv(vars, false, ""), WithPartialFlush(opt),
			processorOptionFunc(func(c *processorConfig) { c.disableFlushLoop = true }))
		if p.partialAt != want {
			t.Errorf("WithPartialFlush(%d) over the variables: at %d spans, want %d", opt, p.partialAt, want)
		}
	}
}

// TestProcessorLeakedSpan: a trace whose root never ends is sent as a
// partial chunk once it is too old, and forgotten; a span of it that ends
// later is sent alone.
func TestProcessorLeakedSpan(t *testing.T) {
	const age = time.Minute
	p := newPipeline(t, nil, WithMaxTraceAge(age))
	tr := p.tracer()
	start := time.Unix(p.proc.now.Load()/1e9, 0)
	ctx, leaked := tr.Start(context.Background(), "leaked")
	_, late := tr.Start(ctx, "late")
	_, a := tr.Start(ctx, "a")
	a.End()
	p.tick(t, start.Add(age/2))
	if got := p.chunks(); len(got) != 0 {
		t.Fatalf("chunks sent before the trace's age: %v", got)
	}
	p.tick(t, start.Add(age+time.Second))
	if diff := cmp.Diff([][]string{{"a"}}, p.chunks()); diff != "" {
		t.Errorf("chunks once the trace is too old (-want +got):\n%s", diff)
	}
	s := checkEnded(t, p.exp)
	if s.TracesExpired != 1 || s.SpansBuffered != 0 {
		t.Errorf("stats %+v: want one trace expired, nothing buffered", s)
	}
	if n := p.proc.liveTraces(); n != 0 {
		t.Errorf("%d live traces after the sweep, want 0", n)
	}
	late.End()
	p.flush(t)
	if diff := cmp.Diff([][]string{{"a"}, {"late"}}, p.chunks()); diff != "" {
		t.Errorf("chunks after a late span (-want +got):\n%s", diff)
	}
	_ = leaked // never ended
	p.shutdown(t)
	if s := checkEnded(t, p.exp); s.SpansOpenAtShutdown != 0 {
		t.Errorf("SpansOpenAtShutdown = %d: the expired trace is forgotten", s.SpansOpenAtShutdown)
	}
}

// liveTraces counts the traces in the registry.
func (p *SpanProcessor) liveTraces() int {
	n := 0
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		n += len(sh.traces)
		sh.mu.Unlock()
	}
	return n
}

// TestProcessorShutdownWithOpenSpans: Shutdown sends complete chunks and
// the finished spans of incomplete traces, counts the spans still open,
// and drops (counting them) spans that end afterwards.
func TestProcessorShutdownWithOpenSpans(t *testing.T) {
	p := newPipeline(t, nil)
	tr := p.tracer()
	ctx, open := tr.Start(context.Background(), "open")
	_, done := tr.Start(ctx, "done")
	_, stillOpen := tr.Start(ctx, "still-open")
	done.End()
	_, whole := tr.Start(context.Background(), "whole")
	whole.End()
	p.shutdown(t)
	got := p.chunks()
	sort.Slice(got, func(i, j int) bool { return got[i][0] < got[j][0] })
	if diff := cmp.Diff([][]string{{"done"}, {"whole"}}, got); diff != "" {
		t.Errorf("chunks at shutdown (-want +got):\n%s", diff)
	}
	stillOpen.End()
	open.End()
	s := checkEnded(t, p.exp)
	want := Stats{SpansEnded: 4, SpansExported: 2, SpansDropped: 2, SpansOpenAtShutdown: 2, PartialFlushes: 1}
	got2 := Stats{SpansEnded: s.SpansEnded, SpansExported: s.SpansExported, SpansDropped: s.Dropped.Shutdown,
		SpansOpenAtShutdown: s.SpansOpenAtShutdown, PartialFlushes: s.PartialFlushes}
	if diff := cmp.Diff(want, got2); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	// Idempotent.
	p.shutdown(t)
}

// TestProcessorBufferFull: with the agent stalled, traces past the buffer
// cap are dropped whole and counted, OnEnd never waits, and nothing is lost
// unaccounted.
func TestProcessorBufferFull(t *testing.T) {
	p := newPipeline(t, nil, WithMaxBufferedSpans(10), WithBatchSpans(1))
	p.agent.SetDelay(time.Hour) // every export hangs until shutdown
	tr := p.tracer()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for range 20 {
			ctx, root := tr.Start(context.Background(), "root")
			_, c := tr.Start(ctx, "child")
			c.End()
			root.End()
		}
	}()
	select {
	case <-ended:
	case <-time.After(waitTimeout):
		t.Fatal("ending spans waited for the stalled agent")
	}
	s := checkEnded(t, p.exp)
	if s.SpansBuffered > 10 {
		t.Errorf("%d spans buffered, over the cap of 10", s.SpansBuffered)
	}
	if s.Dropped.BufferFull == 0 || s.TracesShed == 0 || s.Dropped.BufferFull%2 != 0 {
		t.Errorf("stats %+v: want whole traces (2 spans each) dropped for the full buffer", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = p.proc.Shutdown(ctx) // cut short: the agent never answers
	s = checkEnded(t, p.exp)
	if s.SpansBuffered != 0 || s.SpansEnded != 40 || s.SpansExported+s.SpansDropped != 40 {
		t.Errorf("after shutdown %+v: want all 40 spans exported or dropped", s)
	}
}

// TestProcessorForceFlushWaits: ForceFlush returns once complete traces are
// at the agent, and leaves incomplete ones.
func TestProcessorForceFlushWaits(t *testing.T) {
	p := newPipeline(t, nil)
	tr := p.tracer()
	_, a := tr.Start(context.Background(), "complete")
	a.End()
	ctx, b := tr.Start(context.Background(), "incomplete")
	_, c := tr.Start(ctx, "child")
	c.End()
	p.flush(t)
	if diff := cmp.Diff([][]string{{"complete"}}, p.chunks()); diff != "" {
		t.Errorf("chunks after ForceFlush (-want +got):\n%s", diff)
	}
	b.End()
}

// TestProcessorReportsFailureOnce: while the Agent keeps failing, the
// failure is reported through otel.Handle once, not on every flush (each
// of which drops a different number of spans, with or without retries);
// after a success, a new failure is reported again.
func TestProcessorReportsFailureOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		retry RetryConfig
	}{
		{"no retries", RetryConfig{}},
		{"retries", RetryConfig{Enabled: true, MaxElapsedTime: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipelineWith(t, pipelineConfig{exporter: []Option{WithRetry(tc.retry)}})
			h := &errorHandler{}
			setErrorHandler(t, h)
			tr := p.tracer()
			traces := func(n int) {
				for range n {
					_, s := tr.Start(context.Background(), "op")
					s.End()
				}
				p.flush(t)
			}
			p.agent.FailNext(1000, http.StatusServiceUnavailable, 0)
			for n := 1; n <= 3; n++ {
				traces(n) // 1, 2, then 3 spans dropped
			}
			if got := len(h.got()); got != 1 {
				t.Errorf("%d reports while the Agent kept failing, want 1: %v", got, h.got())
			}
			p.agent.FailNext(0, 0, 0)
			traces(1)
			p.agent.FailNext(1000, http.StatusServiceUnavailable, 0)
			traces(2)
			if got := len(h.got()); got != 2 {
				t.Errorf("%d reports after a success and a new failure, want 2: %v", got, h.got())
			}
		})
	}
}

// TestProcessorAccountingUnderLoad checks exact accounting with many
// goroutines, a small buffer and agent faults, under the race detector.
func TestProcessorAccountingUnderLoad(t *testing.T) {
	p := newPipeline(t, nil, WithMaxBufferedSpans(200), WithBatchSpans(50), WithPartialFlush(5))
	p.agent.FailNext(3, 500, 0)
	tr := p.tracer()
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				ctx, root := tr.Start(context.Background(), "root")
				for range 8 {
					_, c := tr.Start(ctx, "c")
					c.End()
				}
				root.End()
			}
		}()
	}
	wg.Wait()
	p.shutdown(t)
	s := checkEnded(t, p.exp)
	if s.SpansEnded != 6*100*9 || s.SpansBuffered != 0 {
		t.Errorf("stats %+v: want %d spans ended, none buffered", s, 6*100*9)
	}
	if got := uint64(len(p.agent.Spans())); got != s.SpansExported {
		t.Errorf("the agent kept %d spans, the exporter counts %d exported", got, s.SpansExported)
	}
}

// fakeSpan is a started span as OnStart sees it.
type fakeSpan struct {
	sdktrace.ReadWriteSpan
	sc trace.SpanContext
}

func (f fakeSpan) SpanContext() trace.SpanContext { return f.sc }

// TestProcessorAllocations: filing an ended span allocates nothing in
// steady state.
func TestProcessorAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	p := newSpanProcessor(&Exporter{}, fakeEnv(nil, false, ""), processorOptionFunc(func(c *processorConfig) { c.disableFlushLoop = true }))
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[8:], 42)
	root := tracetest.SpanStub{SpanContext: spanCtx(tid, 1)}.Snapshot()
	child := tracetest.SpanStub{SpanContext: spanCtx(tid, 2), Parent: spanCtx(tid, 1)}.Snapshot()
	var start sdktrace.ReadWriteSpan = fakeSpan{sc: root.SpanContext()}
	cycle := func() {
		p.OnStart(context.Background(), start)
		p.OnStart(context.Background(), start)
		p.OnEnd(child)
		p.OnEnd(root)
		p.flushQueueTo(func([]*liveTrace) {})
	}
	for range 10 {
		cycle() // warm the pools and the map
	}
	if n := testing.AllocsPerRun(1000, cycle); n != 0 {
		t.Errorf("%v allocations per trace of two spans, want 0", n)
	}
}

// flushQueueTo empties the queue into f, as the control loop would, and
// recycles what it held, without exporting.
func (p *SpanProcessor) flushQueueTo(f func([]*liveTrace)) {
	p.qmu.Lock()
	q := p.queue
	p.queue, p.queued = p.queue[len(q):], 0
	p.qmu.Unlock()
	f(q)
	n := 0
	for _, c := range q {
		n += len(c.spans)
		p.recycle(c)
	}
	p.release(n)
	clear(q)
	p.qmu.Lock()
	p.queue = q[:0]
	p.qmu.Unlock()
}

func spanCtx(tid trace.TraceID, id uint64) trace.SpanContext {
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], id)
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
}

// BenchmarkProcessor compares the cost of tracing 10-span traces (start,
// attributes, end) through this span processor and through the SDK's batch
// processor, both exporting to an in-memory agent; each iteration is one
// trace, and the export of every trace is included (a final flush is timed).
// Compare with `benchstat -col /proc`.
func BenchmarkProcessor(b *testing.B) {
	for _, name := range []string{"ddexport", "batch"} {
		b.Run("proc="+name, func(b *testing.B) {
			e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL("http://agent.invalid:8126"),
				WithService("bench"), WithHTTPClient(&http.Client{Transport: sinkTransport{}}))
			if err != nil {
				b.Fatal(err)
			}
			var sp sdktrace.SpanProcessor
			if name == "ddexport" {
				sp = newSpanProcessor(e, fakeEnv(nil, false, ""))
			} else {
				sp = sdktrace.NewBatchSpanProcessor(e)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
			tr := tp.Tracer("bench")
			ctx := context.Background()
			traceOnce := func() {
				rctx, root := tr.Start(ctx, "GET /orders/{id}", trace.WithSpanKind(trace.SpanKindServer),
					trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("http.route", "/orders/{id}")))
				for i := range 9 {
					kind := trace.SpanKindInternal
					if i%3 == 2 {
						kind = trace.SpanKindClient
					}
					_, s := tr.Start(rctx, "step", trace.WithSpanKind(kind), trace.WithAttributes(attribute.Int("step", i)))
					s.End()
				}
				root.End()
			}
			traceOnce()
			if err := tp.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			// A loop to b.N, not b.Loop: b.Loop stops the timer when it
			// returns false, which would leave the final flush untimed.
			for range b.N {
				traceOnce()
			}
			if err := tp.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := tp.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			s := e.Stats()
			b.ReportMetric(float64(s.SpansDropped), "dropped")
		})
	}
}

// TestProcessorConcurrentShutdownBoundedByItsContext: a Shutdown called
// while another is still exporting returns when its own ctx is done, with
// the ctx's error, instead of waiting for the first; once the first has
// finished, later calls return nil at once.
func TestProcessorConcurrentShutdownBoundedByItsContext(t *testing.T) {
	p := newPipeline(t, nil)
	setErrorHandler(t, &errorHandler{}) // the cut export is reported
	p.agent.SetDelay(time.Hour)         // the first Shutdown's export hangs
	_, s := p.tracer().Start(context.Background(), "op")
	s.End()
	firstCtx, cancelFirst := context.WithCancel(context.Background())
	defer cancelFirst()
	firstDone := make(chan error, 1)
	go func() { firstDone <- p.proc.Shutdown(firstCtx) }()
	// The first Shutdown is exporting once the agent has the request.
	wctx, wcancel := context.WithTimeout(context.Background(), waitTimeout)
	defer wcancel()
	if _, err := p.agent.WaitRequests(wctx, 1); err != nil {
		t.Fatalf("the first Shutdown did not export: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	go func() { second <- p.proc.Shutdown(ctx) }()
	select {
	case err := <-second:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("second Shutdown = %v, want its context's deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the second Shutdown outlived its context by seconds: it waits for the first")
	}
	cancelFirst()
	select {
	case <-firstDone:
	case <-time.After(waitTimeout):
		t.Fatal("the first Shutdown did not return once cancelled")
	}
	select {
	case err := <-second:
		t.Logf("second Shutdown returned late: %v", err)
	default:
	}
	if err := p.proc.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after the first finished = %v, want nil", err)
	}
	checkEnded(t, p.exp)
}

// TestProcessorRejectionReportedOnce: a payload the Agent refuses (400) is
// reported through otel.Handle once per cause, as by the exporter alone,
// not a second time by the processor, nor again after exports succeeded in
// between.
func TestProcessorRejectionReportedOnce(t *testing.T) {
	p := newPipeline(t, nil)
	h := &errorHandler{}
	setErrorHandler(t, h)
	export := func(fail int) {
		t.Helper()
		if fail != 0 {
			p.agent.FailNext(1, fail, 0)
		}
		_, s := p.tracer().Start(context.Background(), "op")
		s.End()
		p.flush(t)
	}
	export(http.StatusBadRequest)
	export(0)
	export(http.StatusBadRequest)
	export(http.StatusForbidden)
	var got []string
	for _, err := range h.got() {
		got = append(got, err.Error())
	}
	want := []string{
		"ddexport: payload dropped: agent answered 400 Bad Request: failure injected by ddtest",
		"ddexport: payload dropped: agent answered 403 Forbidden: failure injected by ddtest",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("otel.Handle reports (-want +got):\n%s", diff)
	}
	if s := checkEnded(t, p.exp); s.Dropped.Rejected != 3 || s.SpansExported != 1 {
		t.Errorf("stats %+v: want 3 spans rejected, 1 exported", s)
	}
}

// TestProcessorOpenAtShutdownCountsShedTraces: the spans still open at
// Shutdown are counted in SpansOpenAtShutdown whether or not their trace
// was shed for the full buffer; once they end they are dropped at
// shutdown.
func TestProcessorOpenAtShutdownCountsShedTraces(t *testing.T) {
	p := newPipeline(t, nil, WithMaxBufferedSpans(1))
	tr := p.tracer()
	ctx, root := tr.Start(context.Background(), "root")
	_, a := tr.Start(ctx, "a")
	_, b := tr.Start(ctx, "b")
	_, open := tr.Start(ctx, "open")
	a.End() // buffered: the cap is reached
	b.End() // over the cap: the trace is shed
	if s := p.exp.Stats(); s.TracesShed != 1 {
		t.Fatalf("stats %+v: want the trace shed", s)
	}
	p.shutdown(t)
	open.End()
	root.End()
	s := checkEnded(t, p.exp)
	want := Stats{SpansEnded: 4, SpansOpenAtShutdown: 2, TracesShed: 1}
	want.Dropped.BufferFull, want.Dropped.Shutdown = 2, 2
	got := Stats{SpansEnded: s.SpansEnded, SpansOpenAtShutdown: s.SpansOpenAtShutdown, TracesShed: s.TracesShed, Dropped: s.Dropped}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}
