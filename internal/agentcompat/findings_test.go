package agentcompat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	tracesdk "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// agentSpan is a span as the Agent wrote it, by either processing path.
type agentSpan struct {
	meta     func(k string) (string, bool)
	metric   func(k string) (float64, bool)
	priority int32
	dropped  bool
}

// findSpan returns the span id as the Agent wrote it, after waiting for n
// spans.
func findSpan(t *testing.T, ra *realAgent, n int, id uint64) agentSpan {
	t.Helper()
	ra.writer.waitSpans(t, n)
	for _, p := range ra.writer.tracerPayloads() {
		for _, ch := range p.Chunks {
			for _, s := range ch.Spans {
				if s.SpanID == id {
					return agentSpan{
						meta:     func(k string) (string, bool) { v, ok := s.Meta[k]; return v, ok },
						metric:   func(k string) (float64, bool) { v, ok := s.Metrics[k]; return v, ok },
						priority: ch.Priority, dropped: ch.DroppedTrace,
					}
				}
			}
		}
	}
	for _, p := range ra.writer.sampledV1() {
		for _, ch := range p.TracerPayload.Chunks {
			for _, s := range ch.Spans {
				if s.SpanID() == id {
					return agentSpan{
						meta: func(k string) (string, bool) {
							if v, ok := s.GetAttribute(k); !ok || v == nil {
								return "", false
							}
							return s.GetAttributeAsString(k)
						},
						metric: func(k string) (float64, bool) {
							if v, ok := s.GetAttribute(k); !ok || v == nil {
								return 0, false
							}
							return s.GetAttributeAsFloat64(k)
						},
						priority: ch.Priority, dropped: ch.DroppedTrace,
					}
				}
			}
		}
	}
	t.Fatalf("span %#x is not in the Agent's output", id)
	return agentSpan{}
}

// bothPaths runs f against an Agent on the classic processing path and on
// the default (idx) one.
func bothPaths(t *testing.T, o agentOptions, f func(t *testing.T, ra *realAgent)) {
	for _, convertV1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "classic-path", true: "default-path"}[convertV1], func(t *testing.T) {
			o.convertV1 = convertV1
			f(t, newRealAgent(t, o))
		})
	}
}

// remoteChild is a server span continuing a trace from a remote, sampled
// parent whose tracestate is ts.
func remoteChild(t *testing.T, tid trace.TraceID, id uint64, ts string) tracetest.SpanStub {
	t.Helper()
	state, err := trace.ParseTraceState(ts)
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: spanID(0x77), TraceFlags: trace.FlagsSampled, TraceState: state, Remote: true,
	})
	return tracetest.SpanStub{
		Name: "handle", SpanContext: parent.WithSpanID(spanID(id)).WithRemote(false), Parent: parent,
		SpanKind: trace.SpanKindServer, StartTime: at(8000), EndTime: at(8001),
		Resource: resource.NewSchemaless(attribute.String("service.name", "downstream")),
	}
}

// TestDDExportSampledSpanKept is review finding 2 against the real Agent: a
// span the SDK sampled, continuing a trace whose dd= member says s:0 (or
// s:-1, with a rule's t.dm), reached the Agent with that priority and was
// dropped. It must be kept, with priority 1 and _dd.p.dm -0, as ddprop
// tells downstream services.
func TestDDExportSampledSpanKept(t *testing.T) {
	bothPaths(t, agentOptions{spanEvents: true}, func(t *testing.T, ra *realAgent) {
		c := []corpusSpan{
			{stub: remoteChild(t, traceID(0x6553e4fa_00000000, 0x1), 0xa001, "dd=s:0")},
			{stub: remoteChild(t, traceID(0x6553e4fa_00000000, 0x2), 0xa002, "dd=s:-1;t.dm:-3")},
		}
		exportDD(t, ra, c)
		type kept struct {
			Priority      int32
			Dropped       bool
			PriorityTag   float64
			DecisionMaker string
		}
		for _, id := range []uint64{0xa001, 0xa002} {
			s := findSpan(t, ra, len(c), id)
			p, _ := s.metric("_sampling_priority_v1")
			dm, _ := s.meta("_dd.p.dm")
			if diff := cmp.Diff(kept{1, false, 1, "-0"}, kept{s.priority, s.dropped, p, dm}); diff != "" {
				t.Errorf("span %#x (-want +got):\n%s", id, diff)
			}
		}
	})
}

// TestDDExportParentIDReachesAgent is review finding 4 against the real
// Agent: the last Datadog parent (p: of the dd= member) of a span whose
// parent is remote reaches the Agent's output as _dd.parent_id.
func TestDDExportParentIDReachesAgent(t *testing.T) {
	bothPaths(t, agentOptions{spanEvents: true}, func(t *testing.T, ra *realAgent) {
		exportDD(t, ra, []corpusSpan{{stub: remoteChild(t, traceID(0x6553e4fb_00000000, 0x1), 0xb001, "dd=s:1;p:00f067aa0ba902b7")}})
		got, ok := findSpan(t, ra, 1, 0xb001).meta("_dd.parent_id")
		if !ok || got != "00f067aa0ba902b7" {
			t.Errorf("_dd.parent_id = %q (present %v), want 00f067aa0ba902b7", got, ok)
		}
	})
}

// TestDDExportEventsJSONAfterAgent is review finding 8 against the real
// Agent: a span with many large events (and a long exception stack) sent
// with events as meta JSON (v0.5, and v0.4 to an Agent without native
// events) still has valid JSON events after the Agent's truncation, the
// exception event among them, and the count of the events left out.
func TestDDExportEventsJSONAfterAgent(t *testing.T) {
	var events []tracesdk.Event
	for i := range 300 {
		events = append(events, tracesdk.Event{Name: "log", Time: at(9000 + i), Attributes: []attribute.KeyValue{
			attribute.String("msg", strings.Repeat("step done; ", 16)), attribute.Int("i", i),
		}})
	}
	events = append(events, tracesdk.Event{Name: "exception", Time: at(9400), Attributes: []attribute.KeyValue{
		attribute.String("exception.type", "*errors.errorString"),
		attribute.String("exception.stacktrace", strings.Repeat("main.handle()\n\t/src/main.go:42 +0x1d é\n", 1000)),
	}})
	tid := traceID(0x6553e4fc_00000000, 0x1)
	span := tracetest.SpanStub{
		Name: "busy", SpanContext: sc(tid, 0xc001), SpanKind: trace.SpanKindInternal,
		StartTime: at(9000), EndTime: at(9500), Events: events,
		Resource: resource.NewSchemaless(attribute.String("service.name", "chatty")),
	}
	for _, tc := range []struct {
		name       string
		version    ddexport.APIVersion
		spanEvents bool
	}{{"v0.5", ddexport.V05, true}, {"v0.4/no-span-events", ddexport.V04, false}} {
		t.Run(tc.name, func(t *testing.T) {
			bothPaths(t, agentOptions{spanEvents: tc.spanEvents}, func(t *testing.T, ra *realAgent) {
				exportDD(t, ra, []corpusSpan{{stub: span}}, ddexport.WithAPIVersion(tc.version))
				s := findSpan(t, ra, 1, 0xc001)
				raw, _ := s.meta("events")
				var got []struct {
					Name string `json:"name"`
				}
				if err := json.Unmarshal([]byte(raw), &got); err != nil {
					t.Fatalf("events after the Agent are not valid JSON (%v): %d bytes, ending %q", err, len(raw), raw[max(0, len(raw)-40):])
				}
				if len(got) < 20 || got[len(got)-1].Name != "exception" {
					t.Errorf("%d events kept, the last %q: want many, and the exception event", len(got), got[len(got)-1].Name)
				}
				dropped, _ := s.metric("_dd.span_events.dropped")
				if int(dropped)+len(got) != len(events) {
					t.Errorf("_dd.span_events.dropped = %v with %d events kept, want %d in all", dropped, len(got), len(events))
				}
			})
		})
	}
}

// TestDDExportTraceSplitOverThePayloadCap: a trace larger than the payload
// cap goes out as several chunks of its spans. After the real Agent, every
// span is there, every chunk keeps the trace's decision (priority 2, kept),
// and only the local root is a service entry: the chunks without it make
// no spurious _top_level of their roots.
func TestDDExportTraceSplitOverThePayloadCap(t *testing.T) {
	bothPaths(t, agentOptions{spanEvents: true}, func(t *testing.T, ra *realAgent) {
		tid := traceID(0x6553e4fc_00000000, 0x1)
		state, err := trace.ParseTraceState("dd=s:2;t.dm:-4")
		if err != nil {
			t.Fatal(err)
		}
		ctxOf := func(id uint64) trace.SpanContext { return sc(tid, id).WithTraceState(state) }
		res := resource.NewSchemaless(attribute.String("service.name", "bulk"))
		c := []corpusSpan{{stub: tracetest.SpanStub{
			Name: "import", SpanContext: ctxOf(0xc000), SpanKind: trace.SpanKindServer,
			StartTime: at(9000), EndTime: at(9100), Resource: res,
		}}}
		for i := range uint64(12) {
			c = append(c, corpusSpan{stub: tracetest.SpanStub{
				Name: "row", SpanContext: ctxOf(0xc001 + i), Parent: ctxOf(0xc000), SpanKind: trace.SpanKindInternal,
				StartTime: at(9001), EndTime: at(9002), Resource: res,
				Attributes: []attribute.KeyValue{attribute.String("row.payload", strings.Repeat("r", 200))},
			}})
		}
		s := exportDD(t, ra, c, ddexport.WithMaxPayloadBytes(1500))
		if s.Splits == 0 || s.SpansExported != uint64(len(c)) || s.SpansDropped != 0 {
			t.Fatalf("stats %+v: want the trace split and all %d spans exported", s, len(c))
		}
		type marks struct {
			Priority int32
			Dropped  bool
			TopLevel bool
		}
		for i, cs := range c {
			id := 0xc000 + uint64(i)
			sp := findSpan(t, ra, len(c), id)
			top, _ := sp.metric("_top_level")
			want := marks{Priority: 2, TopLevel: !cs.stub.Parent.IsValid()}
			if diff := cmp.Diff(want, marks{sp.priority, sp.dropped, top == 1}); diff != "" {
				t.Errorf("span %#x (-want +got):\n%s", id, diff)
			}
		}
	})
}
