package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/seed03c8c003/ddslog/ddexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// capture answers every request in memory. It keeps the body of the first
// traces request and discards the others.
type capture struct{ body []byte }

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		var err error
		if r.URL.Path != "/info" && c.body == nil {
			c.body, err = io.ReadAll(r.Body)
		} else {
			_, err = io.Copy(io.Discard, r.Body)
		}
		if err != nil {
			return nil, err
		}
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader([]byte(`{"rate_by_service":{}}`))),
		Request:    r,
	}, nil
}

// spans returns n spans in traces of three: an HTTP server span, a
// PostgreSQL query under it and an internal span with an event.
func spans(n int) []sdktrace.ReadOnlySpan {
	res := resource.NewSchemaless(
		attribute.String("service.name", "checkout"),
		attribute.String("service.version", "1.8.2"),
		attribute.String("deployment.environment.name", "prod"),
		attribute.String("host.name", "web-7f9c"),
	)
	start := time.Unix(1_700_000_000, 0)
	var out []sdktrace.ReadOnlySpan
	for i := 0; len(out) < n; i++ {
		root := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{0: 0x5f, 2: byte(i >> 8), 3: byte(i), 15: 1}, SpanID: trace.SpanID{0: 1, 7: byte(i)}, TraceFlags: 1})
		for _, s := range []tracetest.SpanStub{
			{
				Name: "GET /api/orders/{id}", SpanContext: root, SpanKind: trace.SpanKindServer,
				StartTime: start, EndTime: start.Add(12 * time.Millisecond), Resource: res,
				InstrumentationScope: instrumentation.Scope{Name: "net/http"},
				Attributes: []attribute.KeyValue{
					attribute.String("http.request.method", "GET"),
					attribute.String("http.route", "/api/orders/{id}"),
					attribute.String("url.path", "/api/orders/8812"),
					attribute.Int("http.response.status_code", 200),
					attribute.String("client.address", "10.1.2.3"),
					attribute.String("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
				},
			},
			{
				Name: "SELECT orders", SpanContext: root.WithSpanID(trace.SpanID{0: 2, 7: byte(i)}), Parent: root,
				SpanKind: trace.SpanKindClient, Resource: res,
				StartTime: start.Add(time.Millisecond), EndTime: start.Add(9 * time.Millisecond),
				Attributes: []attribute.KeyValue{
					attribute.String("db.system.name", "postgresql"),
					attribute.String("db.query.text", "SELECT id, total FROM orders WHERE id = $1"),
				},
			},
			{
				Name: "render", SpanContext: root.WithSpanID(trace.SpanID{0: 3, 7: byte(i)}), Parent: root,
				Resource: res, StartTime: start.Add(9 * time.Millisecond), EndTime: start.Add(11 * time.Millisecond),
				Events: []sdktrace.Event{{Name: "template loaded", Time: start.Add(10 * time.Millisecond),
					Attributes: []attribute.KeyValue{attribute.Int("size", 4096)}}},
			},
		} {
			if len(out) < n {
				out = append(out, s.Snapshot())
			}
		}
	}
	return out
}

func BenchmarkPeer(b *testing.B) {
	for _, n := range []int{100, 512} {
		in := spans(n)
		tr := &capture{}
		exp, err := ddexport.New(ddexport.WithAgentURL("http://agent.invalid:8126"),
			ddexport.WithHTTPClient(&http.Client{Transport: tr}), ddexport.WithContainerID(""))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := exp.ExportSpans(ctx, in); err != nil {
			b.Fatal(err)
		}
		var traces pb.Traces
		if _, err := traces.UnmarshalMsg(tr.body); err != nil {
			b.Fatalf("the Agent's decoder refused ddexport's payload: %v", err)
		}
		b.Run("spans="+strconv.Itoa(n)+"/impl=ddexport", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := exp.ExportSpans(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
		})
		b.Run("spans="+strconv.Itoa(n)+"/impl=msgp", func(b *testing.B) {
			buf := make([]byte, 0, 2*len(tr.body))
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = traces.MarshalMsg(buf[:0])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
		})
		_ = exp.Shutdown(ctx)
	}
}
