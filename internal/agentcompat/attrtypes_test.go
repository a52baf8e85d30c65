package agentcompat

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	tracesdk "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// attrTypeSpans are spans whose attributes have unusual types for their
// keys: numbers, booleans and slices where the conventions say strings,
// slices and maps with characters JSON may escape. Each is its own trace.
func attrTypeSpans() []corpusSpan {
	var c []corpusSpan
	n := uint64(0)
	add := func(s tracetest.SpanStub) {
		n++
		s.SpanContext = sc(traceID(0x6553e4ab_00000000, n), 0xb000+n)
		if s.Resource == nil {
			s.Resource = resource.NewSchemaless(attribute.String("service.name", "types"))
		}
		s.StartTime, s.EndTime = at(12_000), at(12_010)
		c = append(c, corpusSpan{stub: s})
	}
	// Looked-up keys with values that are not strings: the Agent's
	// semantic lookups read string values only.
	add(tracetest.SpanStub{Name: "numeric resource names", SpanKind: trace.SpanKindServer, Resource: resource.NewSchemaless(
		attribute.Int("service.name", 42), attribute.Float64("service.version", 1.5), attribute.Int("deployment.environment.name", 7))})
	add(tracetest.SpanStub{Name: "boolean HTTP method", SpanKind: trace.SpanKindServer, Attributes: []attribute.KeyValue{
		attribute.Bool("http.request.method", true), attribute.Int("http.route", 5)}})
	add(tracetest.SpanStub{Name: "numeric database", SpanKind: trace.SpanKindClient, Attributes: []attribute.KeyValue{
		attribute.Int("db.system", 3), attribute.Int("db.statement", 9), attribute.Int("db.namespace", 7)}})
	add(tracetest.SpanStub{Name: "numeric overrides", SpanKind: trace.SpanKindInternal, Attributes: []attribute.KeyValue{
		attribute.Int("operation.name", 3), attribute.Int("resource.name", 4), attribute.Bool("span.type", true)}})
	add(tracetest.SpanStub{Name: "boolean messaging", SpanKind: trace.SpanKindConsumer, Attributes: []attribute.KeyValue{
		attribute.Int("messaging.system", 3), attribute.Bool("messaging.operation", true)}})
	add(tracetest.SpanStub{Name: "numeric RPC", SpanKind: trace.SpanKindClient, Attributes: []attribute.KeyValue{
		attribute.Int("rpc.system", 3), attribute.Int("rpc.service", 4), attribute.Int("rpc.method", 5)}})
	add(tracetest.SpanStub{Name: "slice service", SpanKind: trace.SpanKindServer, Attributes: []attribute.KeyValue{
		attribute.StringSlice("service.name", []string{"a"}), attribute.Float64("deployment.environment", 2.5),
		attribute.Bool("service.version", false)}})
	add(tracetest.SpanStub{Name: "odd gRPC codes", SpanKind: trace.SpanKindClient, Attributes: []attribute.KeyValue{
		attribute.String("rpc.system", "grpc"), attribute.Float64("rpc.grpc.status_code", 5), attribute.Bool("grpc.code", true),
		attribute.Int("rpc.grpc.status.code", 14)}})
	// Slices and maps become JSON text in meta, as pdata's AsString writes
	// it: without HTML escaping.
	add(tracetest.SpanStub{Name: "JSON text", SpanKind: trace.SpanKindInternal, Resource: resource.NewSchemaless(
		attribute.String("service.name", "types"), attribute.StringSlice("res.list", []string{"<x>", "a&b"})),
		InstrumentationScope: instrumentation.Scope{Name: "lib", Attributes: attribute.NewSet(attribute.StringSlice("scope.list", []string{"<s>"}))},
		Attributes: []attribute.KeyValue{
			attribute.StringSlice("list", []string{"<a>", "b&c", "\u2028"}),
			attribute.Map("map", attribute.String("z", "<1>"), attribute.Int("a", 2), attribute.Float64("f", 1.5)),
			attribute.Slice("mixed", attribute.StringValue("x>"), attribute.Int64Value(1), attribute.BoolValue(true),
				attribute.ByteSliceValue([]byte{1, 2, 0xff})),
			attribute.ByteSlice("bytes", []byte{0, 1, 2, 0xff}),
			attribute.StringSlice("empty.list", nil),
			attribute.Map("empty.map"),
		}})
	// An error named from the textual HTTP status code: the Agent reads
	// the meta http.status_code, the first of the two in attribute order.
	add(tracetest.SpanStub{Name: "two textual status codes", SpanKind: trace.SpanKindServer, Status: tracesdk.Status{Code: codes.Error},
		Attributes: []attribute.KeyValue{attribute.String("http.request.method", "GET"),
			attribute.String("http.response.status_code", "404"), attribute.String("http.status_code", "500")}})
	// _dd.measured is read as an integer only, http.status_code as an
	// integer or text; metrics come from the span's numbers only.
	add(tracetest.SpanStub{Name: "measured as text", SpanKind: trace.SpanKindInternal, Attributes: []attribute.KeyValue{
		attribute.String("_dd.measured", "1")}})
	add(tracetest.SpanStub{Name: "doubles on the resource", SpanKind: trace.SpanKindInternal, Resource: resource.NewSchemaless(
		attribute.String("service.name", "types"), attribute.Float64("_dd.measured", 1), attribute.Float64("http.status_code", 200))})
	add(tracetest.SpanStub{Name: "status code double and integer", SpanKind: trace.SpanKindServer, Attributes: []attribute.KeyValue{
		attribute.Float64("http.status_code", 201), attribute.Int("http.response.status_code", 202)}})
	add(tracetest.SpanStub{Name: "measured as a double", SpanKind: trace.SpanKindInternal, Attributes: []attribute.KeyValue{
		attribute.Float64("_dd.measured", 1)}})
	// An empty string attribute yields its meta key to a later value of
	// that key, from the span (a renamed key) or its resource; it keeps the
	// key when nothing else sets it, and blocks the derived version, env
	// and db.name.
	add(tracetest.SpanStub{Name: "empty values", SpanKind: trace.SpanKindServer, Resource: resource.NewSchemaless(
		attribute.String("service.name", "types"), attribute.String("host.name", "h1"), attribute.String("db.name", "orders"),
		attribute.String("deployment.environment.name", "prod")),
		Attributes: []attribute.KeyValue{
			attribute.String("host.name", ""), attribute.String("http.method", ""), attribute.String("http.request.method", "GET"),
			attribute.String("db.name", ""), attribute.String("only.empty", ""), attribute.String("env", ""),
		}})
	add(tracetest.SpanStub{Name: "empty db.name", SpanKind: trace.SpanKindClient, Attributes: []attribute.KeyValue{
		attribute.String("db.system", "postgresql"), attribute.String("db.name", ""), attribute.String("db.namespace", "shop"),
		attribute.String("version", "")}})
	return c
}

// TestDifferentialAttributeTypes sends attrTypeSpans through the Agent's
// OTLP receiver and with ddexport (v0.4 with and without native span
// events, v0.5), and requires every span to show the same in both but for
// the deliberate differences of TestDifferentialOTLP.
func TestDifferentialAttributeTypes(t *testing.T) { differential(t, attrTypeSpans(), false) }
