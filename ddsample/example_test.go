package ddsample_test

import (
	"context"
	"fmt"
	"log"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddsample"
)

// The environment of a service: health checks dropped, checkout kept,
// the rest at the Agent's rates.
var env = map[string]string{
	"DD_SERVICE":              "shop",
	"DD_TRACE_SAMPLING_RULES": `[{"resource":"GET /health","sample_rate":0},{"name":"checkout","sample_rate":1}]`,
}

func Example() {
	s, err := ddsample.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		log.Fatal(err)
	}
	// In a program: ddexport's exporter feeds the Agent's rates, with
	// exp.SubscribeRates(s.UpdateRates), behind ddexport's span processor.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("example")

	for _, start := range []struct {
		name string
		opts []trace.SpanStartOption
	}{
		{"GET /health", []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}},
		{"POST /cart", []trace.SpanStartOption{trace.WithAttributes(attribute.String("operation.name", "checkout"))}},
		{"GET /items", nil},
		{"GET /health", []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(ddsample.KeepAttribute())}},
	} {
		_, span := tr.Start(context.Background(), start.name, start.opts...)
		sc := span.SpanContext()
		fmt.Printf("%-12s sampled=%-5t %s\n", start.name, sc.IsSampled(), sc.TraceState())
		span.End()
	}
	// Output:
	// GET /health  sampled=false dd=s:-1;t.ksr:0
	// POST /cart   sampled=true  dd=s:2;t.dm:-3;t.ksr:1
	// GET /items   sampled=true  dd=s:1;t.dm:-1
	// GET /health  sampled=true  dd=s:2;t.dm:-4
}

func ExampleManualKeep() {
	s, err := ddsample.New(ddsample.WithSampleRate(0)) // drop everything
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s))
	defer tp.Shutdown(context.Background())

	ctx, span := tp.Tracer("example").Start(context.Background(), "job")
	// Later, something makes this trace worth keeping: the exporter sends
	// the span's chunk with priority 2. The span context keeps the decision
	// made at start.
	ddsample.ManualKeep(ctx)
	fmt.Println("recording:", span.IsRecording(), "sampled:", span.SpanContext().IsSampled())
	for _, kv := range span.(sdktrace.ReadOnlySpan).Attributes() {
		fmt.Println(kv.Key, kv.Value.String())
	}
	span.End()
	// Output:
	// recording: true sampled: false
	// _dd.rule_psr 0
	// sampling.priority 2
}
