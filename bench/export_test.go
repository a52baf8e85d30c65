package bench

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddotel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// pipelineSpans returns the spans of n traceShape traces exactly as
// ddotel.Start's pipeline (its sampler, ddslog's handler recording each log
// line as a span event) hands them to its exporter: for each trace, the
// local root first, then the other spans in the order they ended, as the
// span processor files them.
func pipelineSpans(tb testing.TB, n int) []sdktrace.ReadOnlySpan {
	tb.Helper()
	rec := tracetest.NewSpanRecorder()
	p := startDDSlogPipeline(tb, newMemAgent(), io.Discard,
		ddotel.WithTracerProviderOptions(sdktrace.WithSpanProcessor(rec)))
	for range n {
		p.trace(context.Background())
	}
	if _, err := drain(p, newMemAgent()); err != nil {
		tb.Fatal(err)
	}
	ended := rec.Ended()
	if len(ended) != n*len(traceShape) {
		tb.Fatalf("recorded %d spans, want %d", len(ended), n*len(traceShape))
	}
	out := make([]sdktrace.ReadOnlySpan, 0, len(ended))
	for t := range n {
		spans := ended[t*len(traceShape) : (t+1)*len(traceShape)]
		root := spans[len(spans)-1] // children end first
		if root.Parent().IsValid() {
			tb.Fatalf("span %q, ended last in its trace, has a parent", root.Name())
		}
		out = append(append(out, root), spans[:len(spans)-1]...)
	}
	return out
}

// BenchmarkExport measures what one export goroutine sustains: ddexport's
// exporter converting, encoding and sending (an HTTP round trip to the
// in-memory Agent) the spans of 100 traceShape traces per call, about the
// span processor's batch. The spans are those ddotel.Start's pipeline
// makes, with its log lines as span events. It reports the CPU time per
// span (garbage collection included) and the spans per second of CPU time
// that makes: the export capacity of one core. ExportSpans also groups the
// spans by trace ID, which the span processor's own export skips.
//
//	go test -run '^$' -bench BenchmarkExport -count 10 . > export.txt
//	benchstat export.txt
func BenchmarkExport(b *testing.B) {
	const traces = 100
	spans := pipelineSpans(b, traces)
	agent := newMemAgent()
	exp, err := ddexport.New(ddexport.WithAgentURL(agentURL), ddexport.WithHTTPClient(agent.client()),
		ddexport.WithService(service), ddexport.WithEnv(env), ddexport.WithVersion(version))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	defer func() {
		if err := exp.Shutdown(ctx); err != nil {
			b.Error(err)
		}
	}()
	// The first export waits for the Agent's /info answer.
	if err := exp.ExportSpans(ctx, spans); err != nil {
		b.Fatal(err)
	}
	b.Run("spans="+strconv.Itoa(len(spans))+"/impl=ddexport", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime(b)
		for b.Loop() {
			if err := exp.ExportSpans(ctx, spans); err != nil {
				b.Fatal(err)
			}
		}
		cpu := cpuTime(b) - cpu0
		n := float64(b.N * len(spans))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/span")
		b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/span")
		b.ReportMetric(n/cpu.Seconds(), "spans/cpu-s")
	})
	if st := agent.stats(); st.err != nil || st.chunks == 0 || st.chunks%traces != 0 {
		b.Fatalf("the agent received %d chunks (error: %v), want a multiple of %d", st.chunks, st.err, traces)
	}
}
