package ddexport

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
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
// small constant number of allocations whatever its size.
func TestEncodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const budget = 0
	for _, c := range []struct {
		v      APIVersion
		native bool
	}{{V04, false}, {V04, true}, {V05, false}} {
		for _, n := range []int{1, 100, 512} {
			spans := realisticSpans(n)
			e := newEncoder(c.v, &mapConfig{env: "prod", version: "1.8.2"})
			run := func() {
				e.encode(e.chunks(spans), c.native)
				e.release()
			}
			run()
			if got := testing.AllocsPerRun(20, run); got > budget {
				t.Errorf("%v native=%v, %d spans: %.1f allocations per batch, want at most %d", c.v, c.native, n, got, budget)
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

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
