package ddexport

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/internal/cputime"
)

var benchResource = resource.NewSchemaless(
	attribute.String("service.name", "checkout"),
	attribute.String("service.version", "1.8.2"),
	attribute.String("deployment.environment.name", "prod"),
	attribute.String("telemetry.sdk.language", "go"),
	attribute.String("telemetry.sdk.name", "opentelemetry"),
	attribute.String("telemetry.sdk.version", "1.47.0"),
	attribute.String("host.name", "web-7f9c"),
)

// realisticSpans returns n realistic spans, by traces of three: an HTTP server
// span with a dozen attributes, a database client span under it, and an
// internal span with an event.
func realisticSpans(n int) []sdktrace.ReadOnlySpan {
	spans := make([]sdktrace.ReadOnlySpan, 0, n)
	start := time.Unix(1_700_000_000, 0)
	scope := instrumentation.Scope{Name: "net/http", Version: "0.60.0"}
	for i := 0; len(spans) < n; i++ {
		tid := trace.TraceID{0: 0x5f, 1: byte(i >> 16), 2: byte(i >> 8), 3: byte(i), 8: 0x7a, 15: byte(i)}
		root := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{0: 1, 7: byte(i)}, TraceFlags: 1})
		stubs := []tracetest.SpanStub{
			{
				Name: "GET /api/orders/{id}", SpanContext: root, SpanKind: trace.SpanKindServer,
				StartTime: start, EndTime: start.Add(12 * time.Millisecond),
				Attributes: attrs(
					attribute.String("http.request.method", "GET"),
					attribute.String("http.route", "/api/orders/{id}"),
					attribute.String("url.path", "/api/orders/8812"),
					attribute.String("url.scheme", "https"),
					attribute.Int("http.response.status_code", 200),
					attribute.String("server.address", "api.example.com"),
					attribute.Int("server.port", 443),
					attribute.String("client.address", "10.1.2.3"),
					attribute.String("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
					attribute.String("network.protocol.version", "1.1"),
					attribute.Int("http.response.body.size", 1832),
				),
				Resource: benchResource, InstrumentationScope: scope,
			},
			{
				Name: "SELECT orders", SpanKind: trace.SpanKindClient,
				SpanContext: root.WithSpanID(trace.SpanID{0: 2, 7: byte(i)}), Parent: root,
				StartTime: start.Add(time.Millisecond), EndTime: start.Add(9 * time.Millisecond),
				Attributes: attrs(
					attribute.String("db.system.name", "postgresql"),
					attribute.String("db.namespace", "shop"),
					attribute.String("db.query.text", "SELECT id, total, status FROM orders WHERE id = $1"),
					attribute.String("db.operation.name", "SELECT"),
					attribute.String("server.address", "db.internal"),
					attribute.Int("server.port", 5432),
				),
				Resource: benchResource, InstrumentationScope: instrumentation.Scope{Name: "database/sql"},
			},
			{
				Name: "render", SpanKind: trace.SpanKindInternal,
				SpanContext: root.WithSpanID(trace.SpanID{0: 3, 7: byte(i)}), Parent: root,
				StartTime: start.Add(9 * time.Millisecond), EndTime: start.Add(11 * time.Millisecond),
				Attributes: attrs(attribute.String("template", "order.html"), attribute.Bool("cache.hit", true)),
				Events: []sdktrace.Event{{Name: "template loaded", Time: start.Add(10 * time.Millisecond), Attributes: attrs(
					attribute.String("template.path", "/srv/templates/order.html"),
					attribute.Int("size", 4096),
				)}},
				Resource: benchResource, InstrumentationScope: instrumentation.Scope{Name: "app"},
			},
		}
		for _, s := range stubs {
			if len(spans) < n {
				spans = append(spans, s.Snapshot())
			}
		}
	}
	return spans
}

// pipelineResource is the resource ddotel.Start gives its tracer provider
// for a service with an environment and a version.
var pipelineResource = resource.NewSchemaless(
	attribute.String("service.name", "checkout"),
	attribute.String("service.version", "1.8.2"),
	attribute.String("deployment.environment.name", "prod"),
	attribute.String("telemetry.sdk.language", "go"),
	attribute.String("telemetry.sdk.name", "opentelemetry"),
	attribute.String("telemetry.sdk.version", "1.47.0"),
)

// pipelineSpans returns the spans of n traces as ddotel.Start's pipeline
// hands them to the exporter in the nested bench module's end-to-end
// benchmark: 10 spans per trace (an HTTP server root with internal,
// database, cache and HTTP client children), a few semantic-convention
// attributes each, one span event per span (the log line, as ddslog's
// handler records it), the Datadog sampler's tracestate on every span and
// its rate on the root, local root first, then the children in the order
// they ended.
func pipelineSpans(n int) []sdktrace.ReadOnlySpan {
	type shape struct {
		parent int
		kind   trace.SpanKind
		name   string
		msg    string
		attrs  []attribute.KeyValue
	}
	const (
		qOrders = "SELECT id, total FROM orders WHERE id = $1"
		qItems  = "SELECT sku, qty FROM order_items WHERE order_id = $1"
	)
	db := func(system, query, host string) []attribute.KeyValue {
		return attrs(attribute.String("db.system.name", system), attribute.String("db.query.text", query),
			attribute.String("db.namespace", "shop"), attribute.String("server.address", host))
	}
	call := func(method, url string, status int, host string) []attribute.KeyValue {
		return attrs(attribute.String("http.request.method", method), attribute.String("url.full", url),
			attribute.Int("http.response.status_code", status), attribute.String("server.address", host))
	}
	shapes := [...]shape{
		{-1, trace.SpanKindServer, "GET /api/orders/{id}", "request received", attrs(
			attribute.String("http.request.method", "GET"), attribute.String("http.route", "/api/orders/{id}"),
			attribute.String("url.path", "/api/orders/8812"), attribute.Int("http.response.status_code", 200),
			attribute.String("client.address", "10.1.2.3"), attribute.Float64("_dd.agent_psr", 1))},
		{0, trace.SpanKindInternal, "auth.verify", "token verified", attrs(
			attribute.String("auth.method", "jwt"), attribute.String("enduser.id", "u-1842"))},
		{0, trace.SpanKindClient, "SELECT orders", "order loaded", db("postgresql", qOrders, "db-1")},
		{0, trace.SpanKindClient, "SELECT order_items", "items loaded", db("postgresql", qItems, "db-1")},
		{0, trace.SpanKindInternal, "pricing.compute", "price computed", attrs(
			attribute.Int("pricing.items", 3), attribute.String("pricing.currency", "EUR"))},
		{4, trace.SpanKindClient, "GET", "stock checked", call("GET", "http://inventory:8080/v1/stock/42", 200, "inventory")},
		{4, trace.SpanKindClient, "GET", "tax rate fetched", call("GET", "http://tax:8080/v2/rates/EU", 200, "tax")},
		{0, trace.SpanKindClient, "GET", "cache read", attrs(attribute.String("db.system.name", "redis"),
			attribute.String("db.query.text", "GET order:8812"), attribute.String("server.address", "cache-1"))},
		{0, trace.SpanKindInternal, "render", "response rendered", attrs(
			attribute.String("template", "order.json"), attribute.Int("bytes", 5120))},
		{0, trace.SpanKindClient, "POST", "audit event sent", call("POST", "http://audit:8080/v1/events", 202, "audit")},
	}
	ts, err := trace.ParseTraceState("dd=s:1;t.dm:-1")
	if err != nil {
		panic(err)
	}
	scope := instrumentation.Scope{Name: "bench"}
	start := time.Unix(1_700_000_000, 0)
	out := make([]sdktrace.ReadOnlySpan, 0, n*len(shapes))
	for t := range n {
		tid := trace.TraceID{0: 0x71, 1: byte(t >> 16), 2: byte(t >> 8), 3: byte(t), 8: 0x27, 15: byte(t)}
		var scs [len(shapes)]trace.SpanContext
		stubs := make([]tracetest.SpanStub, len(shapes))
		for i, sh := range shapes {
			scs[i] = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid,
				SpanID: trace.SpanID{0: 0x42, 6: byte(t), 7: byte(i + 1)}, TraceFlags: 1, TraceState: ts})
			var parent trace.SpanContext
			if sh.parent >= 0 {
				parent = scs[sh.parent]
			}
			at := start.Add(time.Duration(i) * 10 * time.Microsecond)
			stubs[i] = tracetest.SpanStub{
				Name: sh.name, SpanContext: scs[i], Parent: parent, SpanKind: sh.kind,
				StartTime: at, EndTime: start.Add(time.Duration(200-i) * time.Microsecond),
				Attributes: sh.attrs,
				Events: []sdktrace.Event{{Name: sh.msg, Time: at.Add(time.Microsecond), Attributes: attrs(
					attribute.String("step", sh.name), attribute.Int("n", i), attribute.String("level", "INFO"))}},
				Resource: pipelineResource, InstrumentationScope: scope,
			}
		}
		// As the span processor hands a trace over: the local root first,
		// then the children in the order they ended (the last started
		// first).
		out = append(out, stubs[0].Snapshot())
		for i := len(stubs) - 1; i > 0; i-- {
			out = append(out, stubs[i].Snapshot())
		}
	}
	return out
}

// BenchmarkEncodePipeline measures converting and encoding the spans of
// pipelineSpans, the encoder reused: one trace, and 100 traces (about the
// span processor's batch of DefaultBatchSpans). events=json is how the
// events travel to an Agent that does not announce native span events
// (the bench module's in-memory Agent); events=native is v0.4 with native
// span events.
//
//	go test -run '^$' -bench BenchmarkEncodePipeline -count 10 ./ddexport > enc.txt
//	benchstat -col /events enc.txt
func BenchmarkEncodePipeline(b *testing.B) {
	for _, traces := range []int{1, 100} {
		for _, native := range []bool{false, true} {
			events := "json"
			if native {
				events = "native"
			}
			b.Run(fmt.Sprintf("spans=%d/events=%s", traces*10, events), func(b *testing.B) {
				spans := pipelineSpans(traces)
				e := newEncoder(V04, &mapConfig{service: "checkout", env: "prod", version: "1.8.2"})
				chunks := make([][]sdktrace.ReadOnlySpan, traces)
				for i := range chunks {
					chunks[i] = spans[i*10 : (i+1)*10]
				}
				size := len(e.encode(e.validChunks(chunks), native))
				e.release()
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					size = len(e.encode(e.validChunks(chunks), native))
					e.release()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*len(spans)), "cpu-ns/span")
				b.ReportMetric(float64(size)/float64(len(spans)), "B/span")
			})
		}
	}
}

// BenchmarkEncode measures converting and encoding whole batches, the
// encoder reused as the exporter reuses it: chunks, encode, release.
func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct {
		name   string
		v      APIVersion
		native bool
	}{{"v0.4", V04, false}, {"v0.4-native", V04, true}, {"v0.5", V05, false}} {
		for _, n := range []int{1, 100, 512} {
			b.Run(fmt.Sprintf("%s/spans=%d", c.name, n), func(b *testing.B) {
				spans := realisticSpans(n)
				e := newEncoder(c.v, &mapConfig{env: "prod", version: "1.8.2"})
				// One batch first, so that the numbers are the steady state
				// (b.Loop resets the timer and allocation counters).
				size := len(e.encode(e.chunks(spans), c.native))
				e.release()
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					size = len(e.encode(e.chunks(spans), c.native))
					e.release()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
				// CPU time is steadier than wall time on a busy machine.
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/span")
				b.ReportMetric(float64(size)/float64(n), "B/span")
			})
		}
	}
}

// TestEncodeAllocs asserts that, the encoder warmed up, a batch costs a
// small constant number of allocations whatever its size, for the spans of
// BenchmarkEncode and of BenchmarkEncodePipeline.
func TestEncodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const budget = 0
	inputs := []struct {
		name  string
		spans []sdktrace.ReadOnlySpan
	}{
		{"realistic/1", realisticSpans(1)},
		{"realistic/100", realisticSpans(100)},
		{"realistic/512", realisticSpans(512)},
		{"pipeline/10", pipelineSpans(1)},
		{"pipeline/1000", pipelineSpans(100)},
	}
	for _, c := range []struct {
		v      APIVersion
		native bool
	}{{V04, false}, {V04, true}, {V05, false}} {
		for _, in := range inputs {
			e := newEncoder(c.v, &mapConfig{env: "prod", version: "1.8.2"})
			run := func() {
				e.encode(e.chunks(in.spans), c.native)
				e.release()
			}
			run()
			if got := testing.AllocsPerRun(20, run); got > budget {
				t.Errorf("%v native=%v, %s spans: %.1f allocations per batch, want at most %d", c.v, c.native, in.name, got, budget)
			}
		}
	}
}

// TestEncodeAllocsRarerPaths covers what realistic batches do not: W3C
// tracestate with a Datadog member, links, errors with exception events,
// gRPC with a numeric status code.
func TestEncodeAllocsRarerPaths(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	ts, err := trace.ParseTraceState(`dd=s:2;o:rum~1;p:00000000000000aa;t.dm:-4;t.usr.id:a~b;t.ksr:0.5,vendor=a"b\\c`)
	if err != nil {
		t.Fatal(err)
	}
	var spans []sdktrace.ReadOnlySpan
	for i := range 64 {
		s := fxStub()
		s.SpanContext = s.SpanContext.WithTraceState(ts).WithSpanID(trace.SpanID{7: byte(i + 1)})
		s.Status = sdktrace.Status{Code: codes.Error, Description: "failed"}
		s.SpanKind = trace.SpanKindClient
		s.Attributes = attrs(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", "shop.Cart"),
			attribute.String("rpc.method", "Add"),
			attribute.Int("rpc.grpc.status_code", 14),
		)
		s.Events = []sdktrace.Event{{Name: "exception", Time: fxStart, Attributes: attrs(
			attribute.String("exception.type", "E"), attribute.String("exception.message", "m"),
			attribute.String("exception.stacktrace", "s"), attribute.Int("n", 1), attribute.Bool("b", true),
		)}}
		s.Links = []sdktrace.Link{{
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: trace.SpanID{7: 99}, TraceState: ts}),
			Attributes:  attrs(attribute.String("k", "v"), attribute.Int("n", 1), attribute.Float64("f", 0.5)),
		}}
		spans = append(spans, s.Snapshot())
	}
	for _, c := range []struct {
		v      APIVersion
		native bool
	}{{V04, false}, {V04, true}, {V05, false}} {
		e := newEncoder(c.v, &mapConfig{tags: []tag{{"team", "x"}}})
		run := func() {
			e.encode(e.chunks(spans), c.native)
			e.release()
		}
		run()
		if got := testing.AllocsPerRun(20, run); got > 0 {
			t.Errorf("%v native=%v: %.1f allocations per batch, want 0", c.v, c.native, got)
		}
	}
}

// cpuTime returns the process's user and system CPU time (0 where the
// platform cannot tell).
func cpuTime() time.Duration { d, _ := cputime.Used(); return d }
