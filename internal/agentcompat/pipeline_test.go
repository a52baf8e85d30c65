package agentcompat

import (
	"context"
	"strconv"
	"testing"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestDDExportBatchProcessorSplitsTraces runs ddexport behind the SDK's
// batch span processor with small batches: children end before their root,
// so one trace reaches the Agent as several chunks, most without the
// trace's root. Every chunk must still carry its sampling decision, so that
// the Agent keeps it instead of sampling it again.
func TestDDExportBatchProcessorSplitsTraces(t *testing.T) {
	ra := newRealAgent(t, agentOptions{spanEvents: true})
	exp, err := ddexport.New(ddexport.WithAgentURL(ra.URL()))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(50)),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "batcher"))),
	)
	tracer := tp.Tracer("agentcompat")
	const children = 120
	ctx, root := tracer.Start(context.Background(), "handle", trace.WithSpanKind(trace.SpanKindServer))
	for i := range children {
		_, child := tracer.Start(ctx, "step", trace.WithAttributes(attribute.Int("step", i)))
		child.End()
	}
	root.End()
	sctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	if err := tp.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if st := exp.Stats(); st.SpansExported != children+1 || st.SpansDropped != 0 {
		t.Errorf("exporter stats %+v, want %d spans exported and none dropped", st, children+1)
	}

	p := collect(t, ra, children+1)
	if len(p.spans) != children+1 {
		t.Fatalf("agent wrote %d spans, want %d", len(p.spans), children+1)
	}
	if len(p.chunks) < 3 {
		t.Errorf("agent wrote %d chunks, want the trace split over at least 3 batches", len(p.chunks))
	}
	tid := root.SpanContext().TraceID()
	for _, ch := range p.chunks {
		if ch.DroppedTrace || ch.Priority != 1 {
			t.Errorf("chunk of %d spans: dropped=%v priority=%d, want kept with priority 1", len(ch.Spans), ch.DroppedTrace, ch.Priority)
		}
		var withPriority int
		for _, s := range ch.Spans {
			if s.TraceID != low64(tid) {
				t.Errorf("span %#x: trace %#x, want %#x", s.SpanID, s.TraceID, low64(tid))
			}
			if s.Metrics["_sampling_priority_v1"] == 1 {
				withPriority++
				if got, want := s.Meta["_dd.p.tid"], tid.String()[:16]; got != want {
					t.Errorf("chunk root %#x: _dd.p.tid %q, want %q", s.SpanID, got, want)
				}
			}
		}
		if withPriority == 0 {
			t.Errorf("chunk of %d spans: no span carries _sampling_priority_v1", len(ch.Spans))
		}
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
