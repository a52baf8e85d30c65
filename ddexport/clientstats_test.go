package ddexport

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/seed03c8c003/ddslog/internal/stats"
)

// byName records every trace and samples those whose root's name does not
// start with "p0": the others are recorded but not sampled, as a Datadog
// sampler's dropped traces (priority 0).
type byName struct{}

func (byName) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	d := sdktrace.RecordAndSample
	switch {
	case psc.IsValid() && !psc.IsSampled():
		d = sdktrace.RecordOnly
	case !psc.IsValid() && strings.HasPrefix(p.Name, "p0"):
		d = sdktrace.RecordOnly
	}
	return sdktrace.SamplingResult{Decision: d, Tracestate: psc.TraceState()}
}
func (byName) Description() string { return "byName" }

// makeTraces makes n traces named prefix-<i>: a server root and a client
// child calling "db" (a peer.service), the child failing when fail is set.
func (p *pipeline) makeTraces(prefix string, n int, fail bool) {
	tr := p.tracer()
	for range n {
		ctx, root := tr.Start(context.Background(), prefix, trace.WithSpanKind(trace.SpanKindServer))
		_, child := tr.Start(ctx, prefix+" query", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("peer.service", "db")))
		if fail {
			child.SetStatus(codes.Error, "boom")
		}
		child.End()
		root.End()
	}
}

// received sums what the agent received: the resources of the chunks, counted,
// and the client-stats headers of the payloads.
type received struct {
	Chunks          map[string]int // by the resource of the chunk's first span
	ComputedStats   int            // payloads saying so
	Payloads        int
	DroppedP0Traces int64
	DroppedP0Spans  int64
}

func (p *pipeline) received() received {
	s := received{Chunks: map[string]int{}}
	for _, pl := range p.agent.Payloads() {
		s.Payloads++
		h := pl.ClientHeaders()
		if h.ComputedStats {
			s.ComputedStats++
		}
		s.DroppedP0Traces += h.DroppedP0Traces
		s.DroppedP0Spans += h.DroppedP0Spans
		for _, c := range pl.Chunks {
			s.Chunks[c[0].Resource]++
		}
	}
	return s
}

// statsTotals sums the client stats the agent received.
type statsTotals struct {
	Hits, Errors, TopLevelHits uint64
	PeerTags                   []string
}

func (p *pipeline) statsTotals() statsTotals {
	var t statsTotals
	seen := map[string]bool{}
	for _, pl := range p.agent.Stats() {
		for _, b := range pl.Stats {
			for _, g := range b.Stats {
				t.Hits += g.Hits
				t.Errors += g.Errors
				t.TopLevelHits += g.TopLevelHits
				for _, tag := range g.PeerTags {
					if !seen[tag] {
						seen[tag] = true
						t.PeerTags = append(t.PeerTags, tag)
					}
				}
			}
		}
	}
	sort.Strings(t.PeerTags)
	return t
}

// checkEndedP0 is checkEnded counting the priority-0 drops.
func checkEndedP0(t *testing.T, e *Exporter) Stats {
	t.Helper()
	s := e.Stats()
	if s.SpansEnded != s.SpansExported+s.SpansDropped+s.SpansDroppedP0+s.SpansBuffered {
		t.Errorf("accounting: %d ended != %d exported + %d dropped + %d dropped at priority 0 + %d buffered",
			s.SpansEnded, s.SpansExported, s.SpansDropped, s.SpansDroppedP0, s.SpansBuffered)
	}
	if s.SpansDropped != s.Dropped.total() {
		t.Errorf("SpansDropped %d is not the sum of the reasons %+v", s.SpansDropped, s.Dropped)
	}
	return s
}

// TestClientStats: with an Agent that allows it, the spans' stats are
// computed here and sent to /v0.6/stats (priority 0 included), every trace
// payload says so, priority-0 chunks are not sent unless a span failed,
// and the drops are reported in the headers and counted apart from
// failures.
func TestClientStats(t *testing.T) {
	p := newPipelineWith(t, pipelineConfig{
		agent:   []ddtest.Option{ddtest.WithClientStats(true, true), ddtest.WithPeerTags("peer.service")},
		sampler: byName{},
	})
	p.makeTraces("kept", 5, false)
	p.makeTraces("p0", 5, false)
	p.makeTraces("p0-error", 1, true)
	p.flush(t)

	got := p.received()
	want := received{Chunks: map[string]int{"kept": 5, "p0-error": 1}, ComputedStats: got.Payloads, Payloads: got.Payloads,
		DroppedP0Traces: 5, DroppedP0Spans: 10}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trace payloads (-want +got):\n%s", diff)
	}
	// Every span of the 11 traces is counted: roots are top-level, the
	// client children measured (with their peer tag).
	wantStats := statsTotals{Hits: 22, Errors: 1, TopLevelHits: 11, PeerTags: []string{"peer.service:db"}}
	if diff := cmp.Diff(wantStats, p.statsTotals()); diff != "" {
		t.Errorf("client stats (-want +got):\n%s", diff)
	}
	p.shutdown(t)
	s := checkEndedP0(t, p.exp)
	if s.SpansDroppedP0 != 10 || s.TracesDroppedP0 != 5 || s.SpansDropped != 0 || s.FailedExports != 0 || s.StatsPayloadsSent == 0 {
		t.Errorf("stats %+v: want 10 spans of 5 traces dropped at priority 0, no failure, stats sent", s)
	}
}

// TestClientStatsOff: without the Agent's permission, or turned off here,
// no stats are computed, no payload claims them, and every trace is sent.
func TestClientStatsOff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		agent    []ddtest.Option
		exporter []Option
	}{
		{"no stats endpoint", []ddtest.Option{ddtest.WithClientStats(false, true)}, nil},
		{"no client_drop_p0s", []ddtest.Option{ddtest.WithClientStats(true, false)}, nil},
		{"WithClientStats(false)", []ddtest.Option{ddtest.WithClientStats(true, true)}, []Option{WithClientStats(false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipelineWith(t, pipelineConfig{agent: tc.agent, exporter: tc.exporter, sampler: byName{}})
			p.makeTraces("kept", 2, false)
			p.makeTraces("p0", 2, false)
			p.flush(t)
			got := p.received()
			want := received{Chunks: map[string]int{"kept": 2, "p0": 2}, Payloads: got.Payloads}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("trace payloads (-want +got):\n%s", diff)
			}
			if n := len(p.agent.Stats()); n != 0 {
				t.Errorf("%d stats payloads, want none", n)
			}
		})
	}
}

func TestClientStatsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		value string
		opts  []Option
		want  bool
		err   bool
	}{
		{"", nil, true, false},
		{"true", nil, true, false},
		{"false", nil, false, false},
		{"0", []Option{WithClientStats(true)}, true, false},
		{"true", []Option{WithClientStats(false)}, false, false},
		{"maybe", nil, false, true},
	} {
		e, err := newExporter(fakeEnv(map[string]string{envStatsComputation: tc.value}, false, ""),
			append([]Option{WithAgentURL("http://localhost:8126")}, tc.opts...)...)
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), envStatsComputation) {
				t.Errorf("%s=%q: error %v, want one naming the variable", envStatsComputation, tc.value, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := e.css != nil; got != tc.want {
			t.Errorf("%s=%q %d options: client stats %v, want %v", envStatsComputation, tc.value, len(tc.opts), got, tc.want)
		}
		_ = e.Shutdown(context.Background())
	}
}

// TestClientStatsSwitchedOff: when the Agent stops allowing client stats,
// priority-0 traces are sent again, without the header, and the stats of
// what was sent while they were on are still delivered: neither traces nor
// stats are lost.
func TestClientStatsSwitchedOff(t *testing.T) {
	p := newPipelineWith(t, pipelineConfig{agent: []ddtest.Option{ddtest.WithClientStats(true, true)}, sampler: byName{}})
	tick, checks, _ := discoveryHarness(p.exp)
	p.makeTraces("kept", 1, false)
	p.makeTraces("p0", 1, false)
	p.flush(t)
	receive(t, checks, "the first /info check")

	p.agent.SetClientStats(true, false)
	send(t, tick, time.Now(), "the next /info check's tick")
	if c := receive(t, checks, "the /info check after the change"); !c.ok {
		t.Fatal("the /info check failed")
	}
	before := p.statsTotals() // ForceFlush sent the stats so far
	p.agent.Reset()
	p.makeTraces("kept-after", 1, false)
	p.makeTraces("p0-after", 1, false)
	p.flush(t)

	got := p.received()
	want := received{Chunks: map[string]int{"kept-after": 1, "p0-after": 1}, Payloads: got.Payloads}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trace payloads once the Agent withdrew client stats (-want +got):\n%s", diff)
	}
	p.shutdown(t)
	// The 4 spans sent with computed stats are in the stats; those after,
	// the Agent computes itself.
	if hits := before.Hits + p.statsTotals().Hits; hits != 4 {
		t.Errorf("client stats count %d hits, want the 4 spans of the payloads that claimed them", hits)
	}
	checkEndedP0(t, p.exp)
}

// TestClientStatsDeliveryFailure: a stats payload that cannot be delivered
// turns client stats off, so that priority-0 traces reach the Agent, which
// then computes their stats itself.
func TestClientStatsDeliveryFailure(t *testing.T) {
	p := newPipelineWith(t, pipelineConfig{
		agent:    []ddtest.Option{ddtest.WithClientStats(true, true)},
		exporter: []Option{WithRetry(RetryConfig{})},
		sampler:  byName{},
	})
	h := &errorHandler{}
	setErrorHandler(t, h)
	p.agent.FailNextStats(1, http.StatusBadRequest)
	p.makeTraces("p0", 1, false)
	p.flush(t) // the stats payload fails
	p.makeTraces("p0-after", 1, false)
	p.flush(t)
	got := p.received()
	if got.Chunks["p0-after"] != 1 || got.Chunks["p0"] != 0 {
		t.Errorf("chunks %v: want the priority-0 trace after the failure sent, the one before dropped", got.Chunks)
	}
	s := checkEndedP0(t, p.exp)
	if s.StatsPayloadsFailed != 1 {
		t.Errorf("StatsPayloadsFailed = %d, want 1", s.StatsPayloadsFailed)
	}
	if len(h.got()) == 0 {
		t.Error("the failure was not reported through otel.Handle")
	}
}

// keepNamed is a SpanSampler keeping the spans whose operation name is
// keep.
type keepNamed struct {
	keep string
	mu   sync.Mutex
	seen []string // service/name of the spans asked about
}

func (k *keepNamed) SampleSpan(service, name string, _ uint64) (float64, float64, bool) {
	k.mu.Lock()
	k.seen = append(k.seen, service+"/"+name)
	k.mu.Unlock()
	return 0.5, 10, name == k.keep
}

// TestSpanSampler: a span of a priority-0 trace kept by a single-span rule
// carries the rule's mark and rates; with client stats it is the only span
// of its trace sent, without them the whole chunk is.
func TestSpanSampler(t *testing.T) {
	for _, stats := range []bool{true, false} {
		t.Run(map[bool]string{true: "client stats", false: "no client stats"}[stats], func(t *testing.T) {
			ss := &keepNamed{keep: "client.request"}
			p := newPipelineWith(t, pipelineConfig{
				agent:    []ddtest.Option{ddtest.WithClientStats(stats, stats)},
				exporter: []Option{WithSpanSampler(ss), WithService("shop")},
				sampler:  byName{},
			})
			p.makeTraces("p0", 1, false)
			p.makeTraces("kept", 1, false)
			p.flush(t)
			type mark struct {
				Name                     string
				Mechanism, Rate, MaxRate float64
			}
			var got []mark
			for _, s := range p.agent.Spans() {
				if strings.HasPrefix(s.Resource, "p0") {
					got = append(got, mark{s.Name, s.Metrics["_dd.span_sampling.mechanism"],
						s.Metrics["_dd.span_sampling.rule_rate"], s.Metrics["_dd.span_sampling.max_per_second"]})
				}
			}
			sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
			want := []mark{{"client.request", 8, 0.5, 10}}
			if !stats {
				want = append(want, mark{Name: "server.request"})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("spans of the priority-0 trace (-want +got):\n%s", diff)
			}
			// Asked about the spans of the priority-0 trace only.
			ss.mu.Lock()
			defer ss.mu.Unlock()
			sort.Strings(ss.seen)
			if diff := cmp.Diff([]string{"shop/client.request", "shop/server.request"}, ss.seen); diff != "" {
				t.Errorf("spans asked about (-want +got):\n%s", diff)
			}
		})
	}
}

// setErrorHandler routes otel.Handle to h until the test ends.
func setErrorHandler(t *testing.T, h *errorHandler) {
	t.Helper()
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(h)
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
}

// peerTagKeys are peer tag keys as a default Agent lists them (a subset).
var peerTagKeys = stats.NewPeerTagKeys([]string{
	"_dd.base_service", "db.instance", "db.name", "db.system", "http.server_name",
	"net.peer.name", "peer.hostname", "peer.service", "rpc.service", "server.address",
})

// withPriority returns spans with the sampled flag set on every keepEvery-th
// trace (by trace ID) only: the others are priority 0.
func withPriority(spans []sdktrace.ReadOnlySpan, keepEvery int) []sdktrace.ReadOnlySpan {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	traces := map[trace.TraceID]int{}
	for i, s := range spans {
		tid := s.SpanContext().TraceID()
		n, ok := traces[tid]
		if !ok {
			n = len(traces)
			traces[tid] = n
		}
		stub := tracetest.SpanStubFromReadOnlySpan(s)
		flags := trace.TraceFlags(0)
		if n%keepEvery == 0 {
			flags = trace.FlagsSampled
		}
		stub.SpanContext = stub.SpanContext.WithTraceFlags(flags)
		if stub.Parent.IsValid() {
			stub.Parent = stub.Parent.WithTraceFlags(flags)
		}
		out[i] = stub.Snapshot()
	}
	return out
}

// TestClientStatsAllocations: counting a batch of realistic spans in the
// client-side stats, and dropping its priority-0 chunks, allocates nothing
// in steady state.
func TestClientStatsAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL("http://localhost:8126"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	enc := newEncoder(e.version, e.cfg)
	for _, keep := range []int{1, 10} {
		chunks := enc.chunks(withPriority(realisticSpans(300), keep))
		r := run{e: e, enc: enc}
		r.prepare(chunks, true, peerTagKeys) // the groups, the buffers
		if n := testing.AllocsPerRun(50, func() { r.prepare(chunks, true, peerTagKeys) }); n != 0 {
			t.Errorf("one trace in %d kept: %v allocations per batch of 300 spans, want 0", keep, n)
		}
	}
}

// BenchmarkClientStats measures what client-side stats cost per span: the
// names and meta values the stats need, the concentrator's Add, and the
// priority-0 drop rule, on realistic spans (one trace in ten kept).
func BenchmarkClientStats(b *testing.B) {
	e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL("http://localhost:8126"))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	enc := newEncoder(e.version, e.cfg)
	const n = 300
	chunks := enc.chunks(withPriority(realisticSpans(n), 10))
	r := run{e: e, enc: enc}
	// One batch first, as TestClientStatsAllocations does: the groups and
	// buffers it creates are not the steady state measured here.
	r.prepare(chunks, true, peerTagKeys)
	b.ReportAllocs()
	for b.Loop() {
		r.prepare(chunks, true, peerTagKeys)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}

// statsAgent is an in-memory Agent that allows client stats and counts the
// bytes it is sent, by endpoint.
type statsAgent struct {
	mu    sync.Mutex
	bytes map[string]int
}

func (a *statsAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	n := 0
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		n = len(b)
		_ = r.Body.Close()
	}
	a.mu.Lock()
	a.bytes[r.URL.Path] += n
	a.mu.Unlock()
	body := `{"rate_by_service":{}}`
	switch r.URL.Path {
	case "/info":
		body = `{"endpoints":["/v0.4/traces","/v0.6/stats"],"client_drop_p0s":true,"span_events":true}`
	case "/v0.6/stats":
		body = ""
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(body)),
		Header: http.Header{}, Request: r}, nil
}

// BenchmarkClientStatsBytes compares the bytes sent to the Agent per 1,000
// spans of 10-span traces when one trace in ten is kept: every trace sent
// (client stats off), or the kept ones and the stats (on).
func BenchmarkClientStatsBytes(b *testing.B) {
	spans := withPriority(exportBenchSpans(1000), 10)
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "stats=off", true: "stats=on"}[on], func(b *testing.B) {
			agent := &statsAgent{bytes: map[string]int{}}
			e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL("http://agent.invalid:8126"),
				WithHTTPClient(&http.Client{Transport: agent}), WithClientStats(on))
			if err != nil {
				b.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			enc := newEncoder(e.version, e.cfg)
			chunks := enc.chunks(spans)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := e.exportChunks(ctx, chunks); err != nil {
					b.Fatal(err)
				}
				e.flushStats(ctx, time.Now(), true)
			}
			agent.mu.Lock()
			defer agent.mu.Unlock()
			traces, stats := agent.bytes["/v0.4/traces"], agent.bytes["/v0.6/stats"]
			b.ReportMetric(float64(traces)/float64(b.N), "trace-B/1000spans")
			b.ReportMetric(float64(stats)/float64(b.N), "stats-B/1000spans")
			b.ReportMetric(float64(traces+stats)/float64(b.N), "wire-B/1000spans")
		})
	}
}

// TestClientStatsFlushedAtShutdown: Shutdown sends every client stat still
// buffered, the current bucket included.
func TestClientStatsFlushedAtShutdown(t *testing.T) {
	p := newPipelineWith(t, pipelineConfig{agent: []ddtest.Option{ddtest.WithClientStats(true, true)}, sampler: byName{}})
	p.makeTraces("kept", 2, false)
	p.makeTraces("p0", 3, false)
	p.shutdown(t)
	if got := p.statsTotals(); got.Hits != 10 || got.TopLevelHits != 5 {
		t.Errorf("stats after Shutdown %+v, want the 10 spans (5 top-level) of the 5 traces", got)
	}
	if s := checkEndedP0(t, p.exp); s.SpansDroppedP0 != 6 {
		t.Errorf("SpansDroppedP0 = %d, want 6", s.SpansDroppedP0)
	}
}

// TestClientStatsAnalyticsKeepsWhatTheWireMarks: of a priority-0 trace, the
// spans kept for App Analytics are exactly those sent with _dd1.sr.eausr
// (libdatadog's rule reads the wire): an analytics.event that the mapping
// writes as that metric (a boolean, or text that parses as one) keeps its
// span; a numeric one, which the mapping writes as a metric of its own
// name, does not.
func TestClientStatsAnalyticsKeepsWhatTheWireMarks(t *testing.T) {
	p := newPipelineWith(t, pipelineConfig{agent: []ddtest.Option{ddtest.WithClientStats(true, true)}, sampler: byName{}})
	tr := p.tracer()
	for _, v := range []attribute.Value{
		attribute.BoolValue(true), attribute.StringValue("false"), attribute.IntValue(1), attribute.IntValue(0),
		attribute.Float64Value(1), attribute.StringValue("yes"),
	} {
		ctx, root := tr.Start(context.Background(), "p0", trace.WithSpanKind(trace.SpanKindServer))
		_, child := tr.Start(ctx, "analytics "+v.String(), trace.WithAttributes(attribute.KeyValue{Key: "analytics.event", Value: v}))
		child.End()
		root.End()
	}
	p.flush(t)
	var sent []string
	for _, s := range p.agent.Spans() {
		_, marked := s.Metrics["_dd1.sr.eausr"]
		sent = append(sent, s.Resource)
		if !marked {
			t.Errorf("span %q of a priority-0 trace sent without _dd1.sr.eausr (metrics %v)", s.Resource, s.Metrics)
		}
	}
	sort.Strings(sent)
	if diff := cmp.Diff([]string{"analytics false", "analytics true"}, sent); diff != "" {
		t.Errorf("spans sent of the priority-0 traces (-want +got):\n%s", diff)
	}
	p.shutdown(t)
	if s := checkEndedP0(t, p.exp); s.SpansDroppedP0 != 10 || s.TracesDroppedP0 != 4 {
		t.Errorf("SpansDroppedP0 = %d, TracesDroppedP0 = %d: want 10 spans, 4 traces", s.SpansDroppedP0, s.TracesDroppedP0)
	}
}
