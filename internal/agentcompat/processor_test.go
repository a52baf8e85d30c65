package agentcompat

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// storeSpan is one span of a store trace: its name, its parent's name ("" for
// the local root), its kind and start attributes, and whether it ends in
// error.
type storeSpan struct {
	name, parent string
	kind         trace.SpanKind
	attrs        []attribute.KeyValue
	err          bool
}

// storeTrace is one local trace of the store service.
type storeTrace struct {
	spans []storeSpan
	// remote is the tracestate of the remote parent the trace continues,
	// "" for a new trace. The parent is sampled when its priority (s:) is
	// positive.
	remote string
	// priority is what the Agent must find on the trace's chunk behind
	// ddexport's span processor: 1 for a new trace that is kept, 0 for
	// one recorded without being sampled, the remote parent's otherwise.
	priority int32
}

func (tr storeTrace) sampled() bool { return tr.priority > 0 }

// storeRequest is a request to the store: a server root with internal
// children ("load cart", "render"), database and HTTP client spans, a
// producer, and a consumer waiting for a reply. errSpan names the
// span that ends in error, if any.
func storeRequest(errSpan string) []storeSpan {
	s := []storeSpan{
		{name: "GET /cart", kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
			attribute.String("http.request.method", "GET"), attribute.String("http.route", "/cart"),
			attribute.Int("http.response.status_code", 200)}},
		{name: "load cart", parent: "GET /cart", kind: trace.SpanKindInternal},
		{name: "SELECT carts", parent: "load cart", kind: trace.SpanKindClient, attrs: []attribute.KeyValue{
			attribute.String("db.system.name", "postgresql"), attribute.String("db.query.text", "SELECT * FROM carts WHERE id = $1")}},
		{name: "render", parent: "GET /cart", kind: trace.SpanKindInternal},
		{name: "charge", parent: "GET /cart", kind: trace.SpanKindClient, attrs: []attribute.KeyValue{
			attribute.String("http.request.method", "POST"), attribute.String("url.template", "/charge"),
			attribute.String("url.full", "http://payments/charge")}},
		{name: "publish order", parent: "GET /cart", kind: trace.SpanKindProducer, attrs: []attribute.KeyValue{
			attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation", "publish"),
			attribute.String("messaging.destination.name", "orders")}},
		{name: "await confirmation", parent: "GET /cart", kind: trace.SpanKindConsumer, attrs: []attribute.KeyValue{
			attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation", "receive"),
			attribute.String("messaging.destination.name", "confirmations")}},
	}
	for i := range s {
		s[i].err = s[i].name == errSpan
	}
	return s
}

// storeConsumer processes an order published elsewhere.
func storeConsumer() []storeSpan {
	return []storeSpan{
		{name: "process order", kind: trace.SpanKindConsumer, attrs: []attribute.KeyValue{
			attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation", "process"),
			attribute.String("messaging.destination.name", "orders")}},
		{name: "write order", parent: "process order", kind: trace.SpanKindInternal},
		{name: "INSERT orders", parent: "write order", kind: trace.SpanKindClient, attrs: []attribute.KeyValue{
			attribute.String("db.system.name", "postgresql"), attribute.String("db.query.text", "INSERT INTO orders VALUES ($1)")}},
	}
}

// storeJob is a background job continuing a trace from elsewhere: an
// internal span under a remote parent, and a client call.
func storeJob() []storeSpan {
	return []storeSpan{
		{name: "retry payment", kind: trace.SpanKindInternal},
		{name: "charge", parent: "retry payment", kind: trace.SpanKindClient, attrs: []attribute.KeyValue{
			attribute.String("http.request.method", "POST"), attribute.String("url.template", "/charge"),
			attribute.String("url.full", "http://payments/charge")}},
	}
}

// storeTraces are the traces of the store service: requests kept, with
// and without errors, and recorded without being sampled; requests,
// consumers and jobs continuing remote parents that kept (s:1, s:2) or
// dropped (s:0, s:-1) their trace.
func storeTraces() []storeTrace {
	return []storeTrace{
		{spans: storeRequest(""), priority: 1},
		{spans: storeRequest("charge"), priority: 1},
		{spans: storeRequest("GET /cart"), priority: 1},
		{spans: storeRequest(""), priority: 1},
		{spans: storeRequest(""), priority: 0},
		{spans: storeRequest(""), priority: 0},
		{spans: storeRequest("SELECT carts"), remote: "dd=s:1;p:00f067aa0ba902b7;t.dm:-1", priority: 1},
		{spans: storeRequest(""), remote: "dd=s:0;p:00f067aa0ba902b7", priority: 0},
		{spans: storeConsumer(), remote: "dd=s:2;t.dm:-4", priority: 2},
		{spans: storeConsumer(), remote: "dd=s:0", priority: 0},
		{spans: storeJob(), remote: "dd=s:1;t.dm:-0", priority: 1},
		{spans: storeJob(), remote: "dd=s:-1", priority: -1},
	}
}

// dropKey marks the local root of a new trace the processor pipeline's
// sampler records without sampling.
const dropKey = "store.drop"

// storeSampler decides for the store traces: a new trace is sampled
// unless its root has dropKey (then it is recorded only, so priority 0);
// a span under a parent, remote or local, follows the parent's sampled
// flag, recorded either way. With all, it samples everything: the SDK's
// batch processor sends nothing else.
type storeSampler struct{ all bool }

func (s storeSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	sampled := psc.IsSampled()
	if !psc.IsValid() {
		sampled = true
		for _, kv := range p.Attributes {
			if kv.Key == dropKey && kv.Value.AsBool() {
				sampled = false
			}
		}
	}
	d := sdktrace.RecordOnly
	if sampled || s.all {
		d = sdktrace.RecordAndSample
	}
	return sdktrace.SamplingResult{Decision: d, Tracestate: psc.TraceState()}
}

func (s storeSampler) Description() string { return "storeSampler" }

// storeRef locates a span among storeTraces.
type storeRef struct{ trace, span int }

// withoutClientStats turns ddexport's client-side stats off, for the
// tests whose point is that every chunk, priority 0 included, reaches the
// Agent and that the Agent computes the stats: with client stats on (the
// default where the Agent allows them, as this one does) the exporter
// computes them itself and sends no priority-0 chunk.
func withoutClientStats(t *testing.T) {
	t.Setenv("DD_TRACE_STATS_COMPUTATION_ENABLED", "false")
}

// runStore runs storeTraces through the OpenTelemetry SDK into ddexport
// and ra: behind ddexport's span processor (partial flush off), sampled as
// each trace says; or, with batch, behind the SDK's batch processor in
// batches of two spans, every trace sampled. Spans of different traces end
// interleaved, children before parents. It returns every span's place in
// storeTraces by span ID, and the number of spans.
func runStore(t *testing.T, ra *realAgent, traces []storeTrace, batch bool) (map[uint64]storeRef, int) {
	t.Helper()
	withoutClientStats(t)
	exp, err := ddexport.New(ddexport.WithAgentURL(ra.URL()))
	if err != nil {
		t.Fatal(err)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "store"),
			attribute.String("deployment.environment.name", "prod"))),
		sdktrace.WithSampler(storeSampler{all: batch}),
	}
	if batch {
		opts = append(opts, sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(2)))
	} else {
		opts = append(opts, sdktrace.WithSpanProcessor(ddexport.NewSpanProcessor(exp, ddexport.WithPartialFlush(0))))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	tracer := tp.Tracer("agentcompat")

	refs := map[uint64]storeRef{}
	started := make([][]trace.Span, len(traces))
	total := 0
	for i, tr := range traces {
		ctx := context.Background()
		if tr.remote != "" {
			ts, err := trace.ParseTraceState(tr.remote)
			if err != nil {
				t.Fatal(err)
			}
			cfg := trace.SpanContextConfig{
				TraceID: trace.TraceID{0: 0x5e, 14: 0x5e, 15: byte(i + 1)}, SpanID: spanID(0x77),
				TraceState: ts, Remote: true,
			}
			if tr.sampled() {
				cfg.TraceFlags = trace.FlagsSampled
			}
			ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(cfg))
		}
		ctxs := map[string]context.Context{"": ctx}
		for j, s := range tr.spans {
			attrs := s.attrs
			if s.parent == "" && tr.remote == "" && !tr.sampled() {
				attrs = append(attrs[:len(attrs):len(attrs)], attribute.Bool(dropKey, true))
			}
			var span trace.Span
			ctxs[s.name], span = tracer.Start(ctxs[s.parent], s.name, trace.WithSpanKind(s.kind), trace.WithAttributes(attrs...))
			if s.err {
				span.SetStatus(codes.Error, "failed")
			}
			started[i] = append(started[i], span)
			refs[sid64(span.SpanContext().SpanID())] = storeRef{i, j}
			total++
		}
	}
	// One span of each trace in turn, children before parents.
	for left := true; left; {
		left = false
		for i := range started {
			if n := len(started[i]); n > 0 {
				started[i][n-1].End()
				started[i] = started[i][:n-1]
				left = true
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if st := exp.Stats(); st.SpansExported != uint64(total) || st.SpansDropped != 0 {
		t.Errorf("exporter stats %+v, want %d spans exported and none dropped", st, total)
	}
	return refs, total
}

// storeMarks are the marks a store span must carry after the Agent: _top_level
// when it has no parent, a remote parent, or is a server or consumer span
// (the span-kind rule ddexport applies to every span); _dd.measured when it
// is a client or producer span.
type storeMarks struct{ TopLevel, Measured bool }

func wantStoreMarks(s storeSpan) storeMarks {
	return storeMarks{
		TopLevel: s.parent == "" || s.kind == trace.SpanKindServer || s.kind == trace.SpanKindConsumer,
		Measured: s.kind == trace.SpanKindClient || s.kind == trace.SpanKindProducer,
	}
}

// checkStoreMarks checks every span of traces, found once among chunks:
// its top-level and measured marks, counting the spans whose top-level
// mark is wrong.
func checkStoreMarks(t *testing.T, traces []storeTrace, refs map[uint64]storeRef, chunks []seenChunk) {
	t.Helper()
	seen := map[uint64]bool{}
	wrong := 0
	for _, ch := range chunks {
		for _, s := range ch.spans {
			ref, ok := refs[s.id]
			if !ok {
				t.Errorf("span %#x %q is not a store span", s.id, s.name)
				continue
			}
			if seen[s.id] {
				t.Errorf("span %#x given twice", s.id)
			}
			seen[s.id] = true
			tr := traces[ref.trace]
			def := tr.spans[ref.span]
			want := wantStoreMarks(def)
			got := storeMarks{TopLevel: s.metricIs("_top_level", 1), Measured: s.metricIs("_dd.measured", 1)}
			if got.TopLevel != want.TopLevel {
				wrong++
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("trace %d (remote parent %q), span %q: marks (-want +got):\n%s", ref.trace, tr.remote, def.name, diff)
			}
		}
	}
	if len(seen) != len(refs) {
		t.Errorf("the Agent had %d of the %d spans", len(seen), len(refs))
	}
	if wrong != 0 {
		t.Errorf("%d spans with a wrong top-level mark", wrong)
	}
}

// TestDDExportSpanProcessorWholeTraces is issue 10's proof for the span
// processor, through the real default Agent (both receiver paths): the
// store's traces (a server root with internal, client, producer and
// consumer children; consumers and jobs under remote parents; 5 of the 12
// recorded but not sampled, priority 0 or -1) sent through
// ddexport.NewSpanProcessor with partial flush off reach the Agent as
// exactly one chunk per local trace, local root first, every chunk
// included: the receiver counts each by its priority, and the Agent's
// concentrator is given each. Span by span after the Agent's processing,
// _top_level is exactly on the local roots (no parent or a remote one) and
// the server and consumer spans, _dd.measured on the client and producer
// spans. The Agent keeps exactly the chunks of priority > 0. The same
// traces through the SDK's batch processor in batches of two spans (the
// trace cut into many chunks) also carry no wrong mark, and the APM stats
// the Agent computes from the two pipelines are identical: hits, top-level
// hits and errors for every key, the unsampled traces counted in the
// processor's as the batch processor's sampled ones are. Internal spans
// that are not local roots get no stats.
func TestDDExportSpanProcessorWholeTraces(t *testing.T) {
	traces := storeTraces()
	for _, convertV1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "classic-path", true: "default-path"}[convertV1], func(t *testing.T) {
			testStorePipelines(t, traces, agentOptions{spanEvents: true, convertV1: convertV1})
		})
	}
}

func testStorePipelines(t *testing.T, traces []storeTrace, o agentOptions) {
	// The span processor.
	ra := newRealAgent(t, o)
	refs, total := runStore(t, ra, traces, false)
	ra.concentrator.waitInputSpans(t, total)
	chunks := ra.concentrator.statsInputChunks()
	checkStoreMarks(t, traces, refs, chunks)
	checkWholeChunks(t, traces, refs, chunks, "given to the concentrator")
	received, byPriority := ra.receiverCounts("v0.4")
	wantByPriority := map[string]int64{}
	kept, keptSpans := 0, 0
	for _, tr := range traces {
		wantByPriority[strconv.Itoa(int(tr.priority))]++
		if tr.sampled() {
			kept++
			keptSpans += len(tr.spans)
		}
	}
	if diff := cmp.Diff(wantByPriority, byPriority); diff != "" || received != int64(len(traces)) {
		t.Errorf("the receiver counted %d chunks, want %d; by priority (-want +got):\n%s", received, len(traces), diff)
	}
	// The default path writes after it computes the stats.
	ra.writer.waitSpans(t, keptSpans)
	keptChunks := ra.writer.keptChunks()
	checkWholeChunks(t, traces, refs, keptChunks, "kept")
	if len(keptChunks) != kept {
		t.Errorf("the Agent kept %d chunks, want the %d of priority > 0", len(keptChunks), kept)
	}
	processorStats := byKey(t, []*pb.StatsPayload{ra.concentrator.Flush(true)})

	// The SDK's batch processor, to another Agent on the same path.
	rb := newRealAgent(t, o)
	refsB, totalB := runStore(t, rb, traces, true)
	rb.concentrator.waitInputSpans(t, totalB)
	chunksB := rb.concentrator.statsInputChunks()
	checkStoreMarks(t, traces, refsB, chunksB)
	if len(chunksB) <= len(traces) {
		t.Errorf("the batch processor made %d chunks of %d traces, want them cut", len(chunksB), len(traces))
	}
	batchStats := byKey(t, []*pb.StatsPayload{rb.concentrator.Flush(true)})

	compareStoreStats(t, traces, processorStats, batchStats)
	t.Logf("span processor: %d chunks given to the Agent's concentrator, %d kept; batch processor: %d chunks; %d stats keys",
		len(chunks), len(keptChunks), len(chunksB), len(processorStats))
}

// checkWholeChunks checks that chunks hold whole local traces: one chunk
// per trace among them, its local root first, with every span of the
// trace, and the trace's priority as the Agent read it; a chunk the
// Agent's sampling dropped is reported.
func checkWholeChunks(t *testing.T, traces []storeTrace, refs map[uint64]storeRef, chunks []seenChunk, what string) {
	t.Helper()
	perTrace := map[int]int{}
	for _, ch := range chunks {
		if len(ch.spans) == 0 {
			t.Errorf("an empty chunk %s", what)
			continue
		}
		first := refs[ch.spans[0].id]
		perTrace[first.trace]++
		tr := traces[first.trace]
		if first.span != 0 {
			t.Errorf("trace %d: chunk %s starts with %q, want the local root %q", first.trace, what, tr.spans[first.span].name, tr.spans[0].name)
		}
		if ch.priority != tr.priority || ch.dropped {
			t.Errorf("trace %d: chunk %s has priority %d (dropped %v), want %d", first.trace, what, ch.priority, ch.dropped, tr.priority)
		}
		if len(ch.spans) != len(tr.spans) {
			t.Errorf("trace %d: chunk %s has %d spans, want the whole local trace: %d", first.trace, what, len(ch.spans), len(tr.spans))
		}
		for _, s := range ch.spans {
			if r := refs[s.id]; r.trace != first.trace {
				t.Errorf("trace %d: chunk %s holds span %q of trace %d", first.trace, what, traces[r.trace].spans[r.span].name, r.trace)
			}
		}
	}
	for i, n := range perTrace {
		if n != 1 {
			t.Errorf("trace %d: %d chunks %s, want 1", i, n, what)
		}
	}
}

// compareStoreStats checks that the APM stats the Agent computed from the
// span processor's chunks equal those from the batch processor's, key by
// key (hits, top-level hits, errors; durations differ, the spans being
// timed anew), that the unsampled traces count in them, and that the only
// internal spans with stats are the local roots.
func compareStoreStats(t *testing.T, traces []storeTrace, processor, batch map[statsKey]*statsValue) {
	t.Helper()
	type counts struct{ Hits, TopLevelHits, Errors uint64 }
	flat := func(m map[statsKey]*statsValue) map[string]counts {
		out := map[string]counts{}
		for k, v := range m {
			out[fmt.Sprintf("%+v", k)] = counts{v.Hits, v.TopLevelHits, v.Errors}
		}
		return out
	}
	if diff := cmp.Diff(flat(batch), flat(processor)); diff != "" {
		t.Errorf("APM stats by key (-batch processor +span processor):\n%s", diff)
	}
	servers, internal := 0, []string{}
	for k, v := range processor {
		if k.SpanKind == "server" {
			servers += int(v.TopLevelHits)
		}
		if k.SpanKind == "internal" {
			internal = append(internal, k.Resource)
		}
	}
	wantServers := 0
	for _, tr := range traces {
		if tr.spans[0].kind == trace.SpanKindServer {
			wantServers++
		}
	}
	if servers != wantServers {
		t.Errorf("server top-level hits %d, want one per request, unsampled ones included: %d", servers, wantServers)
	}
	sort.Strings(internal)
	if diff := cmp.Diff([]string{"retry payment"}, internal); diff != "" {
		t.Errorf("internal spans with stats (-want +got):\n%s", diff)
	}
}
