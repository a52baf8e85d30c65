package ddotel

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/internal/cputime"
)

// memAgent answers every request in memory: /info as a default Agent
// without client stats, traces with an empty rate_by_service.
type memAgent struct{}

func (memAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	body := `{"rate_by_service":{}}`
	if r.URL.Path == "/info" {
		body = `{"endpoints":["/v0.4/traces"],"span_events":true}`
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(body)),
		Header: http.Header{}, Request: r}, nil
}

// BenchmarkPipeline compares, end to end, a 10-span trace with a log line
// per span (through ddslog's handler, as a span event) — started, logged,
// ended and exported to an in-memory Agent — through the span processor
// Start installs and through the SDK's batch processor, in one run. The
// final flush is timed, so that every trace's export is counted. Compare
// with `benchstat -col /proc`.
func BenchmarkPipeline(b *testing.B) {
	for _, proc := range []string{"ddexport", "batch"} {
		b.Run("proc="+proc, func(b *testing.B) {
			exp, err := ddexport.New(ddexport.WithAgentURL("http://agent.invalid:8126"), ddexport.WithContainerID(""),
				ddexport.WithHTTPClient(&http.Client{Transport: memAgent{}}))
			if err != nil {
				b.Fatal(err)
			}
			var sp sdktrace.SpanProcessor
			if proc == "batch" {
				sp = sdktrace.NewBatchSpanProcessor(exp)
			} else {
				sp = ddexport.NewSpanProcessor(exp)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithSampler(sdktrace.AlwaysSample()),
				sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "shop"))))
			tr := tp.Tracer("bench")
			logger := slog.New(ddslog.NewHandler(slog.NewJSONHandler(io.Discard, nil), nil))
			ctx := context.Background()
			traceOnce := func() {
				rctx, root := tr.Start(ctx, "GET /orders/{id}", trace.WithSpanKind(trace.SpanKindServer),
					trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("http.route", "/orders/{id}")))
				logger.InfoContext(rctx, "request", "path", "/orders/7")
				for i := range 9 {
					kind := trace.SpanKindInternal
					if i%3 == 2 {
						kind = trace.SpanKindClient
					}
					sctx, s := tr.Start(rctx, "step", trace.WithSpanKind(kind), trace.WithAttributes(attribute.Int("step", i)))
					logger.InfoContext(sctx, "step done", "step", i, "ok", true)
					s.End()
				}
				root.End()
			}
			traceOnce()
			if err := tp.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, _ := cputime.Used()
			// A loop to b.N, not b.Loop: b.Loop stops the timer when it
			// returns false, which would leave the final flush untimed.
			for range b.N {
				traceOnce()
			}
			if err := tp.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if cpu1, ok := cputime.Used(); ok {
				b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
			if err := tp.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			// The batch processor drops what its queue cannot hold before
			// the exporter sees it: count what reached the Agent.
			s := exp.Stats()
			spans := 10 * (b.N + 1) // the warm-up trace too
			b.ReportMetric(100*float64(spans-int(s.SpansExported))/float64(spans), "lost-%")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10), "ns/span")
		})
	}
}
