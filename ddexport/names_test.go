package ddexport

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// namingSampler records what ddname.FromStart says of every span at its
// start, by span name, and samples everything.
type namingSampler struct {
	service string
	names   map[string]ddname.Names
}

func (s *namingSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	s.names[p.Name] = ddname.FromStart(p.Attributes, p.Kind, p.Name, s.service)
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
}

func (s *namingSampler) Description() string { return "namingSampler" }

// TestFromStartAgreesWithMapping starts real spans with the attributes,
// kind and name of every mapping case (plus cases of its own) and checks
// that what a sampler computes at their start with ddname.FromStart is
// what the mapping names them on the wire, for spans without resource
// attributes.
func TestFromStartAgreesWithMapping(t *testing.T) {
	type startCase struct {
		name  string
		cfg   mapConfig
		kind  trace.SpanKind
		attrs []attribute.KeyValue
	}
	var cases []startCase
	for _, c := range mappingCases() {
		stub := fxStub()
		c.stub(&stub)
		cases = append(cases, startCase{c.name, c.cfg, stub.SpanKind, stub.Attributes})
	}
	long := string(make([]byte, 300))
	cases = append(cases,
		startCase{name: "a duplicated key: the last value", kind: trace.SpanKindClient, attrs: attrs(
			attribute.String("db.system", "redis"), attribute.String("db.system", "postgresql"))},
		startCase{name: "long built name and resource", kind: trace.SpanKindProducer, attrs: attrs(
			attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation", "publish"),
			attribute.String("messaging.destination.name", long))},
		startCase{name: "configured service", cfg: mapConfig{service: "svc"}, kind: trace.SpanKindServer,
			attrs: attrs(attribute.String("http.request.method", "GET"), attribute.String("http.route", "/x"))},
		startCase{name: "numeric and empty values", kind: trace.SpanKindClient, attrs: attrs(
			attribute.Int("rpc.system", 5), attribute.String("rpc.method", ""), attribute.Bool("resource.name", true))},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sampler := &namingSampler{service: c.cfg.service, names: map[string]ddname.Names{}}
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec),
				sdktrace.WithResource(resource.NewSchemaless()))
			_, span := tp.Tracer("test").Start(context.Background(), c.name, trace.WithSpanKind(c.kind), trace.WithAttributes(c.attrs...))
			span.End()
			ended := rec.Ended()
			if len(ended) != 1 {
				t.Fatalf("%d spans ended, want 1", len(ended))
			}
			stub := tracetest.SpanStubFromReadOnlySpan(ended[0])
			stub.Resource = nil
			cfg := c.cfg
			w := encodeOne(t, V04, &cfg, false, stub.Snapshot())[0][0]
			got := ddname.Names{Service: w.Service, Operation: w.Name, Resource: w.Resource, Type: w.Type}
			if diff := cmp.Diff(got, sampler.names[c.name]); diff != "" {
				t.Errorf("FromStart differs from the mapping (-mapping +FromStart):\n%s", diff)
			}
		})
	}
}
