package ddexport

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// marks is what a span says of itself for APM stats.
type marks struct {
	TopLevel, Measured bool
}

func marksOf(s wireSpan) marks {
	return marks{TopLevel: s.Metrics["_dd.top_level"] == 1, Measured: s.Metrics["_dd.measured"] == 1}
}

// TestTopLevelAndMeasured checks the top-level and measured marks of every
// kind of span, with no parent, a parent in the same payload, a local
// parent sent earlier (as behind the SDK's batch processor) and a remote
// parent.
func TestTopLevelAndMeasured(t *testing.T) {
	local := trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: trace.SpanID{7: 1}, TraceFlags: 1})
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: trace.SpanID{7: 2}, TraceFlags: 1, Remote: true})
	type parentCase int
	const (
		none parentCase = iota
		inPayload
		sentEarlier
		remoteParent
	)
	for _, c := range []struct {
		kind   trace.SpanKind
		parent parentCase
		attrs  []attribute.KeyValue
		want   marks
	}{
		{trace.SpanKindInternal, none, nil, marks{TopLevel: true}},
		{trace.SpanKindInternal, inPayload, nil, marks{}},
		{trace.SpanKindInternal, sentEarlier, nil, marks{}},
		{trace.SpanKindInternal, remoteParent, nil, marks{TopLevel: true}},
		{trace.SpanKindUnspecified, sentEarlier, nil, marks{}},
		{trace.SpanKindServer, inPayload, nil, marks{TopLevel: true}},
		{trace.SpanKindServer, sentEarlier, nil, marks{TopLevel: true}},
		{trace.SpanKindConsumer, inPayload, nil, marks{TopLevel: true}},
		{trace.SpanKindClient, inPayload, nil, marks{Measured: true}},
		{trace.SpanKindClient, sentEarlier, nil, marks{Measured: true}},
		{trace.SpanKindProducer, inPayload, nil, marks{Measured: true}},
		{trace.SpanKindClient, none, nil, marks{TopLevel: true, Measured: true}},
		{trace.SpanKindProducer, remoteParent, nil, marks{TopLevel: true, Measured: true}},
		// The attribute adds a mark; it takes none away.
		{trace.SpanKindInternal, inPayload, attrs(attribute.Int("_dd.measured", 1)), marks{Measured: true}},
		{trace.SpanKindClient, inPayload, attrs(attribute.Int("_dd.measured", 0)), marks{Measured: true}},
	} {
		for _, v := range []APIVersion{V04, V05} {
			s := fxStub()
			s.SpanKind = c.kind
			s.Attributes = c.attrs
			spans := []sdktrace.ReadOnlySpan{}
			switch c.parent {
			case inPayload:
				p := fxStub()
				p.SpanContext = local
				spans = append(spans, p.Snapshot())
				s.Parent = local
			case sentEarlier:
				s.Parent = local
			case remoteParent:
				s.Parent = remote
			}
			spans = append(spans, s.Snapshot())
			got := encodeOne(t, v, &mapConfig{}, false, spans...)
			if m := marksOf(got[0][len(spans)-1]); m != c.want {
				t.Errorf("%v: %v span, parent %d: %+v, want %+v", v, c.kind, c.parent, m, c.want)
			}
		}
	}
}

// TestComputedTopLevelHeader checks that every trace request says that the
// spans carry their own top-level marks.
func TestComputedTopLevelHeader(t *testing.T) {
	for _, v := range []APIVersion{V04, V05} {
		agent := ddtest.New(t)
		e, _ := newTestExporter(t, agent, WithAPIVersion(v))
		for range 2 {
			if err := e.ExportSpans(context.Background(), makeSpans(2, 2)); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for _, p := range agent.Payloads() {
			got = append(got, p.Header.Get("Datadog-Client-Computed-Top-Level"))
		}
		if diff := cmp.Diff([]string{"yes", "yes"}, got); diff != "" {
			t.Errorf("%v: Datadog-Client-Computed-Top-Level per request (-want +got):\n%s", v, diff)
		}
	}
}

// TestTopLevelSplitTrace exports one trace the way the SDK's batch
// processor cuts it (children first, in separate payloads) and checks that
// only its server root is marked top-level, whichever payload each span
// rode in.
func TestTopLevelSplitTrace(t *testing.T) {
	root := fxStub()
	root.SpanKind = trace.SpanKindServer
	var batches [][]sdktrace.ReadOnlySpan
	for i := range 4 {
		c := fxStub()
		c.Parent = root.SpanContext
		c.SpanContext = root.SpanContext.WithSpanID(trace.SpanID{7: byte(10 + i)})
		if i%2 == 1 {
			c.SpanKind = trace.SpanKindClient
		}
		batches = append(batches, []sdktrace.ReadOnlySpan{c.Snapshot()})
	}
	batches = append(batches, []sdktrace.ReadOnlySpan{root.Snapshot()})
	var got []marks
	for _, b := range batches {
		got = append(got, marksOf(encodeOne(t, V04, &mapConfig{}, false, b...)[0][0]))
	}
	want := []marks{{}, {Measured: true}, {}, {Measured: true}, {TopLevel: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("marks per span (-want +got):\n%s", diff)
	}
}
