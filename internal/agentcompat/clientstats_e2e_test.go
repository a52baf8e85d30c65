package agentcompat

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// dropNamed records every trace, and samples those whose root's name does
// not start with "p0:"; a span with a parent follows it, as a Datadog
// sampler does (its drops are recorded, so priority 0).
type dropNamed struct{}

func (dropNamed) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	d := sdktrace.RecordAndSample
	switch {
	case psc.IsValid() && !psc.IsSampled():
		d = sdktrace.RecordOnly
	case !psc.IsValid() && strings.HasPrefix(p.Name, "p0:"):
		d = sdktrace.RecordOnly
	}
	return sdktrace.SamplingResult{Decision: d, Tracestate: psc.TraceState()}
}
func (dropNamed) Description() string { return "dropNamed" }

// shopStatsTraces makes the same traces on every call, ending within the last
// second: priority 1 and 0, errors, every span kind, peer tags, gRPC and
// HTTP status codes, traces continuing a remote parent whose tracestate
// carries a sample rate (ot=th), and Synthetics traffic.
func shopStatsTraces(tracer trace.Tracer) (traces int) {
	base := time.Now().Add(-time.Second)
	at := func(ms int) trace.SpanStartEventOption {
		return trace.WithTimestamp(base.Add(time.Duration(ms) * time.Millisecond))
	}
	remote := func(i int, member string) context.Context {
		ts, err := trace.ParseTraceState(member)
		if err != nil {
			panic(err)
		}
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{0: 0x77, 15: byte(i + 1)}, SpanID: trace.SpanID{0: 0x66, 7: byte(i + 1)},
			TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
		})
		if strings.Contains(member, "s:0") {
			sc = sc.WithTraceFlags(0)
		}
		return trace.ContextWithRemoteSpanContext(context.Background(), sc)
	}
	for i := range 24 {
		name := "GET /cart/{id}"
		if i%4 == 0 {
			name = "p0:" + name
		}
		status := []int{200, 200, 404, 500}[i%4]
		d := 10 + 7*i
		ctx, root := tracer.Start(context.Background(), name, trace.WithSpanKind(trace.SpanKindServer), at(0),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("http.route", "/cart/{id}"),
				attribute.Int("http.response.status_code", status)))
		_, load := tracer.Start(ctx, "load cart", at(1))
		load.End(trace.WithTimestamp(base.Add(time.Duration(2+i%3) * time.Millisecond)))
		_, db := tracer.Start(ctx, "SELECT carts", trace.WithSpanKind(trace.SpanKindClient), at(2),
			trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.String("db.namespace", "shop"),
				attribute.String("db.query.text", "SELECT * FROM carts WHERE id = ?"), attribute.String("server.address", "10.0.3.7")))
		db.End(trace.WithTimestamp(base.Add(time.Duration(3+i%5) * time.Millisecond)))
		_, pay := tracer.Start(ctx, "POST", trace.WithSpanKind(trace.SpanKindClient), at(4),
			trace.WithAttributes(attribute.String("http.request.method", "POST"), attribute.String("peer.service", "payments"),
				attribute.String("url.full", "https://payments/charge"), attribute.Int("http.response.status_code", []int{200, 503}[i%2])))
		if i%2 == 1 {
			pay.SetStatus(codes.Error, "503")
		}
		pay.End(trace.WithTimestamp(base.Add(time.Duration(5+i%7) * time.Millisecond)))
		_, grpc := tracer.Start(ctx, "inventory", trace.WithSpanKind(trace.SpanKindClient), at(5),
			trace.WithAttributes(attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "inventory.Stock"),
				attribute.String("rpc.method", "Reserve"), attribute.Int("rpc.grpc.status_code", []int{0, 5}[i%2])))
		grpc.End(trace.WithTimestamp(base.Add(time.Duration(6+i%4) * time.Millisecond)))
		_, pub := tracer.Start(ctx, "publish", trace.WithSpanKind(trace.SpanKindProducer), at(6),
			trace.WithAttributes(attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation", "publish"),
				attribute.String("messaging.destination.name", "orders")))
		pub.End(trace.WithTimestamp(base.Add(7 * time.Millisecond)))
		if status == 500 {
			root.SetStatus(codes.Error, "500")
		}
		root.End(trace.WithTimestamp(base.Add(time.Duration(d) * time.Millisecond)))
		traces++
	}
	// Consumers continuing producers elsewhere: sampled at a rate (weight 2
	// and 4), kept or not; and Synthetics checks.
	for i := range 12 {
		member := []string{"dd=s:1;t.dm:-0,ot=th:8", "dd=s:0,ot=th:c", "dd=s:1;o:synthetics-browser", "dd=s:0"}[i%4]
		ctx, c := tracer.Start(remote(i, member), "consume", trace.WithSpanKind(trace.SpanKindConsumer), at(10),
			trace.WithAttributes(attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation", "process"),
				attribute.String("messaging.destination.name", "orders")))
		_, w := tracer.Start(ctx, "write", at(11))
		if i%3 == 0 {
			w.SetStatus(codes.Error, "disk full")
		}
		w.End(trace.WithTimestamp(base.Add(time.Duration(12+i) * time.Millisecond)))
		c.End(trace.WithTimestamp(base.Add(time.Duration(15+2*i) * time.Millisecond)))
		traces++
	}
	return traces
}

// runShopStats sends shopStatsTraces through NewSpanProcessor and an exporter to ra,
// and shuts the pipeline down; it returns the exporter's stats and the
// number of traces.
func runShopStats(t *testing.T, ra *realAgent, opts ...ddexport.Option) (ddexport.Stats, int) {
	t.Helper()
	return runStatsTraces(t, ra, shopStatsTraces, opts...)
}

// runStatsTraces is runShopStats for the traces gen makes.
func runStatsTraces(t *testing.T, ra *realAgent, gen func(trace.Tracer) int, opts ...ddexport.Option) (ddexport.Stats, int) {
	t.Helper()
	exp, err := ddexport.New(append([]ddexport.Option{ddexport.WithAgentURL(ra.URL())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(ddexport.NewSpanProcessor(exp)),
		sdktrace.WithSampler(dropNamed{}),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "shop"),
			attribute.String("deployment.environment.name", "prod"), attribute.String("service.version", "1.2"))),
	)
	n := gen(tp.Tracer("agentcompat"))
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	return exp.Stats(), n
}

// TestClientStatsThroughDDExport is issue 12's proof: the same traces
// (priority 1 and 0, errors, all span kinds, peer tags, sample rates), (a)
// sent whole without client stats, the Agent's own concentrator computing
// their stats, and (b) sent through ddexport with client stats, through the
// Agent's client-stats path, give identical hits, errors, top-level hits
// and duration sums for every key, and latency quantiles (p50, p95, p99)
// within the sketch's accuracy; with (b) the priority-0 traces without
// errors never reach the Agent.
func TestClientStatsThroughDDExport(t *testing.T) {
	// (a) Client stats off: every chunk is sent, the Agent computes stats.
	agentSide := newRealAgent(t, agentOptions{spanEvents: true, convertV1: true})
	statsA, traces := runShopStats(t, agentSide, ddexport.WithClientStats(false))
	agentSide.concentrator.waitTraces(t, traces)
	want := byKey(t, []*pb.StatsPayload{agentSide.concentrator.Flush(true)})
	if statsA.SpansExported != statsA.SpansEnded {
		t.Fatalf("without client stats: %+v, want every span exported", statsA)
	}

	// (b) Client stats on (the real Agent's /info allows them).
	clientSide := newRealAgent(t, agentOptions{spanEvents: true, convertV1: true})
	statsB, _ := runShopStats(t, clientSide)
	got := byKey(t, clientSide.clientStatsOutput(t))
	if statsB.StatsPayloadsSent == 0 || statsB.StatsPayloadsFailed != 0 {
		t.Fatalf("with client stats: %+v, want stats payloads sent, none failed", statsB)
	}
	if statsB.SpansDroppedP0 == 0 || statsB.SpansExported+statsB.SpansDroppedP0 != statsB.SpansEnded {
		t.Errorf("with client stats: %+v, want priority-0 spans dropped and every span accounted for", statsB)
	}
	// The Agent computed nothing itself for payloads that claimed their
	// stats: its concentrator has no hits.
	if own := byKey(t, []*pb.StatsPayload{clientSide.concentrator.Flush(true)}); len(own) != 0 {
		t.Errorf("the Agent computed stats for %d keys of payloads whose stats the client computed", len(own))
	}

	compareStats(t, want, got)
	var hits, weighted uint64
	for k, w := range want {
		hits += w.Hits
		if k.SpanKind == "consumer" {
			weighted += w.Hits
		}
	}
	// The corpus still proves what it should: priority-0 spans counted,
	// weights applied (12 consumers, weighted 2 and 4 for half of them).
	if weighted <= 12 {
		t.Errorf("consumer hits %d: the sample-rate weights did not apply", weighted)
	}
	t.Logf("%d keys, %d hits: identical counts, sketches within 1%%; %d priority-0 spans not sent", len(want), hits, statsB.SpansDroppedP0)
}

// compareThroughDDExport sends the traces gen makes (a) without client
// stats, the Agent's own concentrator computing their stats, and (b) with
// client stats through the Agent's client-stats path, and fails the test
// unless both give the same stats for every key. It returns the Agent's.
func compareThroughDDExport(t *testing.T, gen func(trace.Tracer) int) map[statsKey]*statsValue {
	t.Helper()
	agentSide := newRealAgent(t, agentOptions{spanEvents: true, convertV1: true})
	_, traces := runStatsTraces(t, agentSide, gen, ddexport.WithClientStats(false))
	agentSide.concentrator.waitTraces(t, traces)
	want := byKey(t, []*pb.StatsPayload{agentSide.concentrator.Flush(true)})

	clientSide := newRealAgent(t, agentOptions{spanEvents: true, convertV1: true})
	statsB, _ := runStatsTraces(t, clientSide, gen)
	if statsB.StatsPayloadsSent == 0 || statsB.StatsPayloadsFailed != 0 {
		t.Fatalf("with client stats: %+v, want stats payloads sent, none failed", statsB)
	}
	got := byKey(t, clientSide.clientStatsOutput(t))
	compareStats(t, want, got)
	return want
}

// peerStatsTraces makes traces whose peer tags the Agent normalizes before
// it computes stats: peer.service and _dd.base_service as services (lower
// case, invalid characters replaced), and _dd.base_service, one of the
// Agent's default peer tag keys, on a client span.
func peerStatsTraces(tracer trace.Tracer) (traces int) {
	base := time.Now().Add(-time.Second)
	at := func(ms int) trace.SpanStartEventOption {
		return trace.WithTimestamp(base.Add(time.Duration(ms) * time.Millisecond))
	}
	end := func(s trace.Span, ms int) { s.End(trace.WithTimestamp(base.Add(time.Duration(ms) * time.Millisecond))) }
	for i := range 4 {
		ctx, root := tracer.Start(context.Background(), "GET /orders", trace.WithSpanKind(trace.SpanKindServer), at(0))
		_, pay := tracer.Start(ctx, "POST", trace.WithSpanKind(trace.SpanKindClient), at(1),
			trace.WithAttributes(attribute.String("http.request.method", "POST"),
				attribute.String("peer.service", []string{"Payments API", "payments-api"}[i%2])))
		end(pay, 3+i)
		_, legacy := tracer.Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient), at(2),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("peer.service", "stock"),
				attribute.String("_dd.base_service", "Shop-Legacy")))
		end(legacy, 4+i)
		_, price := tracer.Start(ctx, "price", at(3),
			trace.WithAttributes(attribute.Int("_dd.measured", 1), attribute.String("_dd.base_service", "Shop Core!")))
		end(price, 5+i)
		end(root, 10+i)
		traces++
	}
	return traces
}

// TestClientStatsPeerTagsNormalized: peer tags come out of client stats as
// the Agent's own stats have them, normalized.
func TestClientStatsPeerTagsNormalized(t *testing.T) {
	want := compareThroughDDExport(t, peerStatsTraces)
	var tags []string
	for k := range want {
		if k.PeerTags != "" {
			tags = append(tags, k.PeerTags)
		}
	}
	sort.Strings(tags)
	// The corpus still proves what it should.
	wantTags := []string{"_dd.base_service:shop-legacy,peer.service:stock", "_dd.base_service:shop_core", "peer.service:payments-api", "peer.service:payments_api"}
	if diff := cmp.Diff(wantTags, tags); diff != "" {
		t.Errorf("the Agent's peer tags (-want +got):\n%s", diff)
	}
}

// markStatsTraces makes traces whose spans carry, as attributes, the
// metrics by which the Agent decides what its stats count: _dd.top_level
// and _top_level on internal spans (top-level: counted), and
// _dd.partial_version on a server span (a long-running span's snapshot:
// not counted).
func markStatsTraces(tracer trace.Tracer) (traces int) {
	base := time.Now().Add(-time.Second)
	at := func(ms int) trace.SpanStartEventOption {
		return trace.WithTimestamp(base.Add(time.Duration(ms) * time.Millisecond))
	}
	end := func(s trace.Span, ms int) { s.End(trace.WithTimestamp(base.Add(time.Duration(ms) * time.Millisecond))) }
	for i := range 3 {
		ctx, root := tracer.Start(context.Background(), "GET /orders", trace.WithSpanKind(trace.SpanKindServer), at(0))
		_, a := tracer.Start(ctx, "load", at(1), trace.WithAttributes(attribute.Int("_dd.top_level", 1)))
		end(a, 3+i)
		_, b := tracer.Start(ctx, "render", at(2), trace.WithAttributes(attribute.Float64("_top_level", 1)))
		end(b, 4+i)
		end(root, 10+i)
		traces++
	}
	_, job := tracer.Start(context.Background(), "nightly", trace.WithSpanKind(trace.SpanKindServer), at(0),
		trace.WithAttributes(attribute.Int("_dd.partial_version", 0)))
	end(job, 20)
	return traces + 1
}

// TestClientStatsTopLevelAndPartialMarks: spans marked top-level, or as
// partial snapshots, by their attributes are counted in client stats as
// the Agent counts them.
func TestClientStatsTopLevelAndPartialMarks(t *testing.T) {
	want := compareThroughDDExport(t, markStatsTraces)
	// The corpus still proves what it should.
	var names []string
	for k, v := range want {
		if v.TopLevelHits > 0 {
			names = append(names, k.Resource)
		}
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"GET /orders", "load", "render"}, names); diff != "" {
		t.Errorf("the Agent's top-level resources (-want +got):\n%s", diff)
	}
}

// hugeStatsTraces makes traces with values the Agent cuts before it
// computes stats: a span type over 100 bytes, a peer tag value over
// 25,000 bytes.
func hugeStatsTraces(tracer trace.Tracer) (traces int) {
	base := time.Now().Add(-time.Second)
	at := func(ms int) trace.SpanStartEventOption {
		return trace.WithTimestamp(base.Add(time.Duration(ms) * time.Millisecond))
	}
	end := func(s trace.Span, ms int) { s.End(trace.WithTimestamp(base.Add(time.Duration(ms) * time.Millisecond))) }
	ctx, root := tracer.Start(context.Background(), "GET /orders", trace.WithSpanKind(trace.SpanKindServer), at(0),
		trace.WithAttributes(attribute.String("span.type", strings.Repeat("wé", 50))))
	_, db := tracer.Start(ctx, "SELECT", trace.WithSpanKind(trace.SpanKindClient), at(1),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.String("db.namespace", strings.Repeat("orders-", 5000))))
	end(db, 3)
	end(root, 10)
	return 1
}

// TestClientStatsHugeValues: values the Agent cuts before it computes stats
// come out of client stats cut alike.
func TestClientStatsHugeValues(t *testing.T) {
	want := compareThroughDDExport(t, hugeStatsTraces)
	// The corpus still proves what it should.
	var cut int
	for k := range want {
		if len(k.Type) == 100 || strings.Contains(k.PeerTags, "ord...,") {
			cut++
		}
	}
	if cut != 2 {
		t.Errorf("%d keys with cut values, want 2: %v", cut, want)
	}
}
