package agentcompat

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddprop"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// shopSpan is one span of the shop trace: its name, kind and parent (by
// name, "" for the root), and what Datadog must make of it.
type shopSpan struct {
	name, parent string
	kind         trace.SpanKind
	attrs        []attribute.KeyValue
}

// shopTrace is a request to a shop service: a server root, internal spans,
// client spans (HTTP, database) and a producer, some nested.
var shopTrace = []shopSpan{
	{"GET /checkout", "", trace.SpanKindServer, []attribute.KeyValue{
		attribute.String("http.request.method", "GET"), attribute.String("http.route", "/checkout"),
		attribute.Int("http.response.status_code", 200),
	}},
	{"validate cart", "GET /checkout", trace.SpanKindInternal, nil},
	{"SELECT cart", "validate cart", trace.SpanKindClient, []attribute.KeyValue{
		attribute.String("db.system.name", "postgresql"), attribute.String("db.query.text", "SELECT * FROM carts WHERE id = $1"),
	}},
	{"reserve stock", "GET /checkout", trace.SpanKindClient, []attribute.KeyValue{
		attribute.String("http.request.method", "POST"), attribute.String("url.full", "http://stock/reserve"),
	}},
	{"charge", "GET /checkout", trace.SpanKindInternal, nil},
	{"POST /payments", "charge", trace.SpanKindClient, []attribute.KeyValue{
		attribute.String("http.request.method", "POST"), attribute.String("url.full", "http://payments/charge"),
	}},
	{"publish order", "charge", trace.SpanKindProducer, []attribute.KeyValue{
		attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation", "publish"),
		attribute.String("messaging.destination.name", "orders"),
	}},
	{"render", "GET /checkout", trace.SpanKindInternal, nil},
}

// runShop runs the shop trace through the OpenTelemetry SDK, behind its
// batch span processor with batches of two spans, into ddexport and the
// real Agent. The request continues a trace from W3C headers that carry
// Datadog state (priority 2 by a rule, an origin, a propagated tag, the
// last Datadog parent), extracted by ddprop. It returns the trace ID and
// the span names by span ID.
func runShop(t *testing.T, ra *realAgent) (trace.TraceID, map[uint64]string) {
	t.Helper()
	exp, err := ddexport.New(ddexport.WithAgentURL(ra.URL()))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(2)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "shop"))),
	)
	tracer := tp.Tracer("agentcompat")
	ctx := ddprop.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{
		"traceparent": "00-5f0e9d6a3c1b4a2f9e8d7c6b5a493827-00f067aa0ba902b7-01",
		"tracestate":  "dd=s:2;o:rum;p:00f067aa0ba902b7;t.dm:-3;t.usr.id:u~1",
	})
	ctxs := map[string]context.Context{"": ctx}
	spans := map[string]trace.Span{}
	for _, s := range shopTrace {
		ctxs[s.name], spans[s.name] = tracer.Start(ctxs[s.parent], s.name, trace.WithSpanKind(s.kind), trace.WithAttributes(s.attrs...))
	}
	// Children end before their parents.
	for i := len(shopTrace) - 1; i >= 0; i-- {
		spans[shopTrace[i].name].End()
	}
	sctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	if err := tp.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if st := exp.Stats(); st.SpansExported != uint64(len(shopTrace)) || st.SpansDropped != 0 {
		t.Errorf("exporter stats %+v, want %d spans exported and none dropped", st, len(shopTrace))
	}
	names := map[uint64]string{}
	for n, s := range spans {
		names[sid64(s.SpanContext().SpanID())] = n
	}
	return spans[shopTrace[0].name].SpanContext().TraceID(), names
}

// shopMarks is what the Agent must show of a shop span: the top-level and
// measured marks by the span-kind rule, and, on the roots of the chunks the
// batch processor made, the trace's decision and tags.
type shopMarks struct {
	TopLevel, Measured       bool
	Priority                 float64
	DecisionMaker, Origin    string
	UserID, TraceIDHigh, Rep string
}

func wantShopMarks(s shopSpan, chunkRoot bool, tid trace.TraceID) shopMarks {
	m := shopMarks{
		TopLevel: s.parent == "" || s.kind == trace.SpanKindServer || s.kind == trace.SpanKindConsumer,
		Measured: s.kind == trace.SpanKindClient || s.kind == trace.SpanKindProducer,
	}
	if chunkRoot {
		m.Priority, m.DecisionMaker, m.Origin, m.UserID = 2, "-3", "rum", "u=1"
		m.TraceIDHigh = tid.String()[:16]
	}
	if s.parent == "" {
		m.Rep = "00f067aa0ba902b7" // the remote parent's p:
	}
	return m
}

// TestDDExportBatchProcessorSplitsTraces runs ddexport behind the SDK's
// batch span processor with batches of two spans: children end before
// their root, so the shop trace reaches the Agent as several chunks, most
// without the trace's root. After the real Agent's processing, span by
// span, _top_level must be exactly on the service entry (the server root)
// — without ddexport's own marks and Datadog-Client-Computed-Top-Level, the
// Agent marks the first span of every chunk — and _dd.measured on the
// client and producer spans; and every chunk root must carry the trace's
// decision (priority 2 by rule -3, kept) and tags, so that the Agent keeps
// every chunk instead of sampling it again. Both receiver paths.
func TestDDExportBatchProcessorSplitsTraces(t *testing.T) {
	for _, convertV1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "classic-path", true: "default-path"}[convertV1], func(t *testing.T) {
			ra := newRealAgent(t, agentOptions{spanEvents: true, convertV1: convertV1})
			tid, names := runShop(t, ra)
			ra.writer.waitSpans(t, len(shopTrace))
			type got struct {
				span  shopMarks
				chunk string
			}
			byName := map[string]got{}
			var chunks int
			check := func(chunk int, dropped bool, priority int32, id uint64, parentInChunk bool, m shopMarks) {
				name := names[id]
				if dropped || priority != 2 {
					t.Errorf("chunk %d: dropped=%v priority=%d, want kept with priority 2", chunk, dropped, priority)
				}
				if _, dup := byName[name]; dup {
					t.Errorf("span %q written twice", name)
				}
				byName[name] = got{m, strconv.FormatBool(!parentInChunk)}
			}
			for _, p := range ra.writer.tracerPayloads() {
				for _, ch := range p.Chunks {
					chunks++
					ids := map[uint64]bool{}
					for _, s := range ch.Spans {
						ids[s.SpanID] = true
					}
					for _, s := range ch.Spans {
						check(chunks, ch.DroppedTrace, ch.Priority, s.SpanID, ids[s.ParentID], shopMarks{
							TopLevel: s.Metrics["_top_level"] == 1, Measured: s.Metrics["_dd.measured"] == 1,
							Priority: s.Metrics["_sampling_priority_v1"], DecisionMaker: s.Meta["_dd.p.dm"],
							Origin: s.Meta["_dd.origin"], UserID: s.Meta["_dd.p.usr.id"], TraceIDHigh: s.Meta["_dd.p.tid"],
							Rep: s.Meta["_dd.parent_id"],
						})
					}
				}
			}
			for _, p := range ra.writer.sampledV1() {
				for _, ch := range p.TracerPayload.Chunks {
					chunks++
					ids := map[uint64]bool{}
					for _, s := range ch.Spans {
						ids[s.SpanID()] = true
					}
					for _, s := range ch.Spans {
						f := func(k string) float64 { v, _ := s.GetAttributeAsFloat64(k); return v }
						str := func(k string) string { v, _ := s.GetAttributeAsString(k); return v }
						check(chunks, ch.DroppedTrace, ch.Priority, s.SpanID(), ids[s.ParentID()], shopMarks{
							TopLevel: f("_top_level") == 1, Measured: f("_dd.measured") == 1,
							Priority: f("_sampling_priority_v1"), DecisionMaker: str("_dd.p.dm"),
							Origin: str("_dd.origin"), UserID: str("_dd.p.usr.id"),
							// The idx form keeps the 128-bit trace ID in the chunk.
							TraceIDHigh: hex16(binary.BigEndian.Uint64(ch.TraceID[:8])),
							Rep:         str("_dd.parent_id"),
						})
					}
				}
			}
			if chunks < len(shopTrace)/2 {
				t.Errorf("agent wrote %d chunks, want the trace cut in batches of 2: at least %d", chunks, len(shopTrace)/2)
			}
			wrong := 0
			for _, s := range shopTrace {
				g, ok := byName[s.name]
				if !ok {
					t.Errorf("span %q missing", s.name)
					continue
				}
				want := wantShopMarks(s, g.chunk == "true", tid)
				if convertV1 {
					want.TraceIDHigh = tid.String()[:16] // on every span: the chunk's
				}
				if want.TopLevel != g.span.TopLevel {
					wrong++
				}
				if diff := cmp.Diff(want, g.span); diff != "" {
					t.Errorf("span %q (chunk root: %s) (-want +got):\n%s", s.name, g.chunk, diff)
				}
			}
			if wrong != 0 {
				t.Errorf("%d spans with a wrong top-level mark", wrong)
			}
		})
	}
}

// TestDDExportDatadogTraceState checks that the Datadog member of the W3C
// tracestate (as set by Datadog propagation) reaches the Agent as the
// chunk's sampling priority, decision maker and origin.
func TestDDExportDatadogTraceState(t *testing.T) {
	ra := newRealAgent(t, agentOptions{spanEvents: true})
	tid := traceID(0x6553e4f8_00000000, 0x1)
	ts, err := trace.ParseTraceState("dd=s:2;o:synthetics;t.dm:-4,other=x")
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: spanID(0x99), TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
	})
	span := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: spanID(0x8001), TraceFlags: trace.FlagsSampled, TraceState: ts,
	})
	c := []corpusSpan{{stub: tracetest.SpanStub{
		Name: "synthetic check", SpanContext: span, Parent: parent, SpanKind: trace.SpanKindServer,
		StartTime: at(6000), EndTime: at(6001),
		Resource: resource.NewSchemaless(attribute.String("service.name", "checks")),
	}}}
	exportDD(t, ra, c)
	p := collect(t, ra, 1)
	got, ok := p.spans[0x8001]
	if !ok {
		t.Fatal("span missing")
	}
	ch := p.chunkOf[0x8001]
	type decision struct {
		Priority       int32
		Dropped        bool
		Origin         string
		DecisionMaker  string
		PriorityMetric string
		Tracestate     string
	}
	want := decision{Priority: 2, Origin: "synthetics", DecisionMaker: "-4", PriorityMetric: "2", Tracestate: "dd=s:2;o:synthetics;t.dm:-4,other=x"}
	gotD := decision{
		Priority: ch.Priority, Dropped: ch.DroppedTrace, Origin: ch.Origin,
		DecisionMaker:  got.Meta["_dd.p.dm"],
		PriorityMetric: strconv.FormatFloat(got.Metrics["_sampling_priority_v1"], 'g', -1, 64),
		Tracestate:     got.Meta["w3c.tracestate"],
	}
	if diff := cmp.Diff(want, gotD); diff != "" {
		t.Errorf("sampling decision (-want +got):\n%s", diff)
	}
}

// TestDDExportOptions checks the exporter's service, env, version and tags
// options as the Agent shows them: they fill in what the spans and their
// resource do not say, and never override it.
func TestDDExportOptions(t *testing.T) {
	ra := newRealAgent(t, agentOptions{spanEvents: true})
	tid := traceID(0x6553e4f9_00000000, 0x2)
	mk := func(id uint64, res *resource.Resource, attrs ...attribute.KeyValue) corpusSpan {
		return corpusSpan{stub: tracetest.SpanStub{
			Name: "work", SpanContext: sc(tid, id), SpanKind: trace.SpanKindInternal,
			StartTime: at(7000), EndTime: at(7001), Resource: res, Attributes: attrs,
		}}
	}
	c := []corpusSpan{
		mk(0x9001, resource.NewSchemaless()),
		mk(0x9002, resource.NewSchemaless(attribute.String("service.name", "unknown_service:agentcompat.test"))),
		mk(0x9003, resource.NewSchemaless(
			attribute.String("service.name", "explicit"),
			attribute.String("deployment.environment.name", "prod"),
			attribute.String("service.version", "1.0.0"),
		), attribute.String("team", "payments")),
	}
	exportDD(t, ra, c,
		ddexport.WithService("configured"),
		ddexport.WithEnv("qa"),
		ddexport.WithVersion("9.9.9"),
		ddexport.WithTags(map[string]string{"team": "core", "region": "eu"}),
	)
	p := collect(t, ra, len(c))
	type shownOpts struct{ Service, Env, Version, Team, Region string }
	show := func(s *pb.Span) shownOpts {
		if s == nil {
			return shownOpts{}
		}
		return shownOpts{s.Service, s.Meta["env"], s.Meta["version"], s.Meta["team"], s.Meta["region"]}
	}
	for id, want := range map[uint64]shownOpts{
		0x9001: {"configured", "qa", "9.9.9", "core", "eu"},
		0x9002: {"configured", "qa", "9.9.9", "core", "eu"},
		0x9003: {"explicit", "prod", "1.0.0", "payments", "eu"},
	} {
		if diff := cmp.Diff(want, show(p.spans[id])); diff != "" {
			t.Errorf("span %#x (-want +got):\n%s", id, diff)
		}
	}
}
