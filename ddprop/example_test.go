package ddprop_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/seed03c8c003/ddslog/ddprop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// A request from a service traced by a Datadog tracer continues its trace:
// the span context carries the trace and parent IDs, and the dd= tracestate
// member carries the sampling priority, origin and propagated tags.
func Example() {
	p, err := ddprop.FromEnv(func(string) (string, bool) { return "", false })
	if err != nil {
		fmt.Println(err)
	}

	req, _ := http.NewRequest(http.MethodGet, "http://example.com", nil)
	req.Header.Set("X-Datadog-Trace-Id", "1234567890123456789")
	req.Header.Set("X-Datadog-Parent-Id", "987654321")
	req.Header.Set("X-Datadog-Sampling-Priority", "2")
	req.Header.Set("X-Datadog-Origin", "synthetics")
	req.Header.Set("X-Datadog-Tags", "_dd.p.dm=-4,_dd.p.tid=640cfd8d00000000")

	ctx := p.Extract(context.Background(), propagation.HeaderCarrier(req.Header))
	sc := trace.SpanContextFromContext(ctx)
	priority, _ := ddprop.SamplingPriority(sc)
	origin, _ := ddprop.Origin(sc)
	dm, _ := ddprop.PropagatedTag(sc, "_dd.p.dm")
	fmt.Println("trace:", sc.TraceID(), "parent:", sc.SpanID(), "sampled:", sc.IsSampled())
	fmt.Println("priority:", priority, "origin:", origin, "decision maker:", dm)
	fmt.Println("tracestate:", sc.TraceState())

	// Passing the context on writes both Datadog and W3C headers.
	out := propagation.MapCarrier{}
	p.Inject(ctx, out)
	for _, k := range []string{"x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority", "x-datadog-tags", "traceparent", "tracestate"} {
		fmt.Printf("%s: %s\n", k, out.Get(k))
	}
	// Output:
	// trace: 640cfd8d00000000112210f47de98115 parent: 000000003ade68b1 sampled: true
	// priority: 2 origin: synthetics decision maker: -4
	// tracestate: dd=s:2;o:synthetics;t.dm:-4
	// x-datadog-trace-id: 1234567890123456789
	// x-datadog-parent-id: 987654321
	// x-datadog-sampling-priority: 2
	// x-datadog-tags: _dd.p.dm=-4,_dd.p.tid=640cfd8d00000000
	// traceparent: 00-640cfd8d00000000112210f47de98115-000000003ade68b1-01
	// tracestate: dd=s:2;o:synthetics;t.dm:-4
}

// A State writes the dd= member, for example from a sampler that records a
// user keep decision.
func ExampleState_Insert() {
	vendors, _ := trace.ParseTraceState("rojo=00f067aa0ba902b7")
	st := ddprop.State{Priority: 2, HasPriority: true}
	st.SetTag("_dd.p.dm", "-4")
	ts, err := st.Insert(vendors)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ts)
	// Output: dd=s:2;t.dm:-4,rojo=00f067aa0ba902b7
}

// A service traced with Zipkin's B3 headers calls this one, and this one
// calls the next with B3 too: configured as Datadog tracers are, b3 in
// DD_TRACE_PROPAGATION_STYLE is the multiple X-B3-* headers.
func ExampleB3Multi() {
	env := map[string]string{"DD_TRACE_PROPAGATION_STYLE": "datadog,tracecontext,b3"}
	p, err := ddprop.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		fmt.Println(err)
	}
	fmt.Println("styles:", p.ExtractStyles())

	in := propagation.MapCarrier{
		"x-b3-traceid": "640cfd8d00000000112210f47de98115",
		"x-b3-spanid":  "000000003ade68b1",
		"x-b3-sampled": "1",
	}
	ctx := p.Extract(context.Background(), in)
	sc := trace.SpanContextFromContext(ctx)
	priority, _ := ddprop.SamplingPriority(sc)
	fmt.Println("trace:", sc.TraceID(), "parent:", sc.SpanID(), "sampled:", sc.IsSampled(), "priority:", priority)

	out := propagation.MapCarrier{}
	ddprop.B3Multi{}.Inject(ctx, out)
	ddprop.B3{}.Inject(ctx, out)
	for _, k := range []string{"x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "b3"} {
		fmt.Printf("%s: %s\n", k, out.Get(k))
	}
	// Output:
	// styles: [datadog tracecontext b3multi]
	// trace: 640cfd8d00000000112210f47de98115 parent: 000000003ade68b1 sampled: true priority: 1
	// x-b3-traceid: 640cfd8d00000000112210f47de98115
	// x-b3-spanid: 000000003ade68b1
	// x-b3-sampled: 1
	// b3: 640cfd8d00000000112210f47de98115-000000003ade68b1-1
}
