package agentcompat

import (
	"context"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddsample"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestSpanSamplingRulesThroughAgent: a trace Datadog's sampling rejects,
// with a single-span rule keeping its database span, through the span
// processor and the exporter into the real Agent: the Agent drops the trace
// but keeps that span alone, marked with the single-span mechanism and the
// rule's rates — whether the exporter sends the whole chunk (client stats
// off) or only the kept span (client stats on: the rest is dropped in the
// process).
func TestSpanSamplingRulesThroughAgent(t *testing.T) {
	for _, clientStats := range []bool{false, true} {
		t.Run(map[bool]string{false: "client stats off", true: "client stats on"}[clientStats], func(t *testing.T) {
			ra := newRealAgent(t, agentOptions{spanEvents: true})
			rules, err := ddsample.NewSpanSampler(ddsample.SpanRule{Service: "shop", Name: "postgresql.query", SampleRate: 1, MaxPerSecond: 100})
			if err != nil {
				t.Fatal(err)
			}
			sampler, err := ddsample.New(ddsample.WithService("shop"), ddsample.WithSampleRate(0))
			if err != nil {
				t.Fatal(err)
			}
			exp, err := ddexport.New(ddexport.WithAgentURL(ra.URL()), ddexport.WithSpanSampler(rules),
				ddexport.WithClientStats(clientStats))
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(ddexport.NewSpanProcessor(exp)), sdktrace.WithSampler(sampler),
				sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "shop"))))
			tracer := tp.Tracer("agentcompat")
			ctx, root := tracer.Start(context.Background(), "GET /cart", trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", "GET")))
			if root.SpanContext().IsSampled() {
				t.Fatal("the sampler kept the trace; the test needs it rejected")
			}
			_, db := tracer.Start(ctx, "SELECT", trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(attribute.String("db.system.name", "postgresql")))
			db.End()
			_, work := tracer.Start(ctx, "render")
			work.End()
			root.End()
			sctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
			defer cancel()
			if err := tp.Shutdown(sctx); err != nil {
				t.Fatal(err)
			}

			p := collect(t, ra, 1)
			type kept struct {
				Name                     string
				Priority                 int32
				Dropped                  bool
				Mechanism, Rate, MaxRate float64
			}
			var got []kept
			for _, c := range p.chunks {
				for _, s := range c.Spans {
					got = append(got, kept{s.Name, c.Priority, c.DroppedTrace, s.Metrics["_dd.span_sampling.mechanism"],
						s.Metrics["_dd.span_sampling.rule_rate"], s.Metrics["_dd.span_sampling.max_per_second"]})
				}
			}
			sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
			want := []kept{{Name: "postgresql.query", Priority: 2, Mechanism: 8, Rate: 1, MaxRate: 100}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("what the Agent kept (-want +got):\n%s", diff)
			}
			st := exp.Stats()
			if clientStats != (st.SpansDroppedP0 == 2) {
				t.Errorf("client stats %v: %d spans dropped in the process, want 2 exactly when on", clientStats, st.SpansDroppedP0)
			}
		})
	}
}
