package reliability

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// zeroIDs is a broken IDGenerator: every ID is zero.
type zeroIDs struct{}

func (zeroIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	return trace.TraceID{}, trace.SpanID{}
}

func (zeroIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return trace.SpanID{} }

// TestZeroSpanIDAccounted: a span whose span ID is zero (from a broken
// IDGenerator, or a hand-made ReadOnlySpan) is dropped by the Agent with its
// whole chunk after the Agent answered 200. The exporter must not count it
// as exported: either it drops it itself, with a reason, or the Agent keeps
// it: ddexport drops it, counted as invalid.
func TestZeroSpanIDAccounted(t *testing.T) {
	now := time.Now()
	valid := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled})
	zeroSpan := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{2}, TraceFlags: trace.FlagsSampled})
	for _, tc := range []struct {
		name   string
		export func(t *testing.T, exp *ddexport.Exporter) int // returns the spans given
	}{
		{"hand-made span", func(t *testing.T, exp *ddexport.Exporter) int {
			stubs := tracetest.SpanStubs{
				{Name: "zero span ID", SpanContext: zeroSpan, StartTime: now, EndTime: now},
				{Name: "valid", SpanContext: valid, StartTime: now, EndTime: now},
			}
			_ = exp.ExportSpans(ctxWait(t), stubs.Snapshots())
			return len(stubs)
		}},
		{"zero IDGenerator", func(t *testing.T, exp *ddexport.Exporter) int {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithIDGenerator(zeroIDs{}))
			_, span := tp.Tracer("reliability").Start(context.Background(), "zero IDs")
			span.End()
			if err := tp.ForceFlush(ctxWait(t)); err != nil {
				t.Fatal(err)
			}
			return 1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			agent := ddtest.New(t)
			exp, err := ddexport.New(ddexport.WithAgentURL(agent.URL()), ddexport.WithContainerID(""))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
			n := tc.export(t, exp)

			s := exp.Stats()
			if s.Dropped.Invalid != 1 {
				t.Errorf("Dropped.Invalid = %d, want the 1 span with a zero ID", s.Dropped.Invalid)
			}
			if s.SpansExported+s.SpansDropped != uint64(n) {
				t.Errorf("exported %d + dropped %d != %d given", s.SpansExported, s.SpansDropped, n)
			}
			kept := len(agent.Spans())
			if uint64(kept) != s.SpansExported {
				var notes []string
				for _, p := range agent.Payloads() {
					notes = append(notes, p.Notes...)
				}
				t.Errorf("the exporter counts %d spans exported, the agent kept %d; agent notes: %q", s.SpansExported, kept, notes)
			}
		})
	}
}
