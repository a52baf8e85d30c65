package ddprop

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func BenchmarkInject(b *testing.B) {
	sc := spanContext(b, trace128, span1, true, true, "dd=s:2;o:rum;t.dm:-4;t.usr.id:u42,rojo=00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	for _, bc := range []struct {
		name string
		p    propagation.TextMapPropagator
	}{
		{"datadog", Datadog{}},
		{"tracecontext", TraceContext{}},
		{"default", New()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			carrier := propagation.MapCarrier{}
			b.ReportAllocs()
			for b.Loop() {
				bc.p.Inject(ctx, carrier)
			}
		})
	}
}

func BenchmarkExtract(b *testing.B) {
	carrier := propagation.MapCarrier{}
	New().Inject(trace.ContextWithSpanContext(context.Background(),
		spanContext(b, trace128, span1, true, true, "dd=s:2;o:rum;t.dm:-4;t.usr.id:u42,rojo=00f067aa0ba902b7")), carrier)
	for _, bc := range []struct {
		name string
		p    propagation.TextMapPropagator
	}{
		{"datadog", Datadog{}},
		{"tracecontext", TraceContext{}},
		{"default", New()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.p.Extract(context.Background(), carrier)
			}
		})
	}
}
