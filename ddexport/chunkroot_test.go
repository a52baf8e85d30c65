package ddexport

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddprop"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// decision is what a chunk root says of its trace's sampling.
type decision struct {
	Priority      float64
	DecisionMaker string // "" when absent
}

func decisionOf(s wireSpan) decision {
	return decision{Priority: s.Metrics["_sampling_priority_v1"], DecisionMaker: s.Meta["_dd.p.dm"]}
}

// withTraceState returns stub s with the tracestate ts (W3C form) and the
// sampled flag.
func withTraceState(t *testing.T, s sdktrace.ReadOnlySpan, ts string, sampled bool) sdktrace.ReadOnlySpan {
	t.Helper()
	stub := tracetest.SpanStubFromReadOnlySpan(s)
	state, err := trace.ParseTraceState(ts)
	if err != nil {
		t.Fatal(err)
	}
	flags := trace.TraceFlags(0)
	if sampled {
		flags = trace.FlagsSampled
	}
	stub.SpanContext = stub.SpanContext.WithTraceState(state).WithTraceFlags(flags)
	return stub.Snapshot()
}

// TestChunkRootDecisionLikeDDProp checks the sampling decision of chunk
// roots against ddprop, which settles a dd= member that disagrees with the
// sampled flag as Datadog's tracers do (internal/ddinterop proves it
// against dd-trace-go): for every carried priority, with and without a
// decision maker, sampled or not, the root carries the priority ddprop's
// W3C extraction gives, and the decision maker it keeps (-0 when none)
// only when the trace is kept. A sampled span whose member says s:0 or s:-1
// goes out with priority 1 (review finding 2: it was sent with s: and
// dropped by the Agent).
func TestChunkRootDecisionLikeDDProp(t *testing.T) {
	for _, s := range []string{"", "-1", "0", "1", "2"} {
		for _, dm := range []string{"", "-3"} {
			for _, sampled := range []bool{false, true} {
				var fields []string
				if s != "" {
					fields = append(fields, "s:"+s)
				}
				if dm != "" {
					fields = append(fields, "t.dm:"+dm)
				}
				ts := ""
				if len(fields) > 0 {
					ts = "dd=" + strings.Join(fields, ";")
				}
				name := fmt.Sprintf("%q sampled=%v", ts, sampled)
				t.Run(name, func(t *testing.T) {
					// What ddprop makes of the same context.
					flags := "00"
					if sampled {
						flags = "01"
					}
					carrier := propagation.MapCarrier{
						"traceparent": "00-0102030405060708090a0b0c0d0e0f10-1112131415161718-" + flags,
						"tracestate":  ts,
					}
					sc := trace.SpanContextFromContext(ddprop.TraceContext{}.Extract(context.Background(), carrier))
					if !sc.IsValid() {
						t.Fatal("ddprop extracted no span context")
					}
					st, _ := ddprop.ParseState(sc.TraceState())
					want := decision{Priority: float64(st.Priority)}
					if st.Priority > 0 {
						want.DecisionMaker, _ = st.Tag("_dd.p.dm")
						if want.DecisionMaker == "" {
							want.DecisionMaker = "-0"
						}
					}
					for _, v := range []APIVersion{V04, V05} {
						span := withTraceState(t, fxStub().Snapshot(), ts, sampled)
						got := decisionOf(encodeOne(t, v, &mapConfig{}, false, span)[0][0])
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("%v (-ddprop +ddexport):\n%s", v, diff)
						}
					}
				})
			}
		}
	}
}

// TestChunkRootDecision covers what ddprop does not see: a decision set by
// hand on a span of the chunk, and which spans carry the decision.
func TestChunkRootDecision(t *testing.T) {
	root := fxStub()
	child := fxStub()
	child.Parent = root.SpanContext
	child.SpanContext = root.SpanContext.WithSpanID(trace.SpanID{7: 2})
	orphan := fxStub() // its parent was sent in an earlier payload
	orphan.Parent = root.SpanContext.WithSpanID(trace.SpanID{7: 9})
	orphan.SpanContext = root.SpanContext.WithSpanID(trace.SpanID{7: 3})
	for _, c := range []struct {
		name    string
		ts      string
		sampled bool
		attrs   map[int][]attribute.KeyValue // by span: root, child, orphan
		want    []decision                   // by span
	}{
		{
			name: "kept by default", sampled: true,
			want: []decision{{1, "-0"}, {}, {1, "-0"}},
		},
		{
			name: "dropped by default", sampled: false,
			want: []decision{{0, ""}, {}, {0, ""}},
		},
		{
			name: "manual keep on a later span", ts: "dd=s:0;t.dm:-1", sampled: false,
			attrs: map[int][]attribute.KeyValue{1: attrs(attribute.Int("sampling.priority", 2))},
			want:  []decision{{2, "-4"}, {Priority: 2}, {2, "-4"}},
		},
		{
			name: "manual drop on the root", ts: "dd=s:1;t.dm:-3", sampled: true,
			attrs: map[int][]attribute.KeyValue{0: attrs(attribute.Int("sampling.priority", -1))},
			want:  []decision{{-1, ""}, {}, {-1, ""}},
		},
		{
			name: "the last manual decision wins", sampled: true,
			attrs: map[int][]attribute.KeyValue{
				1: attrs(attribute.Int("sampling.priority", 2)),
				2: attrs(attribute.Float64("sampling.priority", 0)),
			},
			want: []decision{{0, ""}, {Priority: 2}, {0, ""}},
		},
		{
			name: "_sampling_priority_v1 set by hand, as the Agent reads it", sampled: false,
			attrs: map[int][]attribute.KeyValue{1: attrs(attribute.Int("_sampling_priority_v1", 1))},
			want:  []decision{{1, "-4"}, {Priority: 1}, {1, "-4"}},
		},
		{
			name: "manual.keep on a later span, as dd-trace-go's tag", ts: "dd=s:0;t.dm:-1", sampled: false,
			attrs: map[int][]attribute.KeyValue{1: attrs(attribute.Bool("manual.keep", true))},
			want:  []decision{{2, "-4"}, {}, {2, "-4"}},
		},
		{
			name: "manual.drop on the root", ts: "dd=s:2;t.dm:-3", sampled: true,
			attrs: map[int][]attribute.KeyValue{0: attrs(attribute.Bool("manual.drop", true))},
			want:  []decision{{-1, ""}, {}, {-1, ""}},
		},
		{
			name: "manual.keep false or as text is no decision", sampled: true,
			attrs: map[int][]attribute.KeyValue{
				0: attrs(attribute.Bool("manual.keep", false)),
				1: attrs(attribute.String("manual.drop", "true")),
			},
			want: []decision{{1, "-0"}, {}, {1, "-0"}},
		},
		{
			name: "a textual priority is no decision", sampled: true,
			attrs: map[int][]attribute.KeyValue{1: attrs(attribute.String("sampling.priority", "-1"))},
			want:  []decision{{1, "-0"}, {}, {1, "-0"}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var spans []sdktrace.ReadOnlySpan
			for i, s := range []tracetest.SpanStub{root, child, orphan} {
				s.Attributes = c.attrs[i]
				spans = append(spans, withTraceState(t, s.Snapshot(), c.ts, c.sampled))
			}
			// In this order, and as a span processor hands them over:
			// children first, the root last.
			for _, order := range [][]int{{0, 1, 2}, {1, 2, 0}} {
				var in []sdktrace.ReadOnlySpan
				for _, i := range order {
					in = append(in, spans[i])
				}
				got := encodeOne(t, V04, &mapConfig{}, false, in...)[0]
				gotD := make([]decision, 3)
				for j, s := range got {
					gotD[order[j]] = decisionOf(s)
				}
				if diff := cmp.Diff(c.want, gotD); diff != "" {
					t.Errorf("order %v: root, child, orphan (-want +got):\n%s", order, diff)
				}
			}
		})
	}
}

// TestChunkRootTags checks the trace tags of chunk roots: every _dd.p.*
// tag of the dd= member (values decoded), the origin, the trace ID's high
// bits; nothing on other spans; a span's own attribute of the same key
// wins; and every map stays free of duplicate keys, with many attributes
// too (the strict decoder refuses duplicates).
func TestChunkRootTags(t *testing.T) {
	const ts = "dd=s:2;o:synthetics~x;p:00000000000000aa;t.dm:-3;t.usr.id:a~b;t.ksr:0.5;t.tid:ffffffffffffffff;t.x:1;t.x:2;t.ksr:0.7;t.empty:"
	root := fxStub()
	child := fxStub()
	child.Parent = root.SpanContext
	child.SpanContext = root.SpanContext.WithSpanID(trace.SpanID{7: 2})
	wantRoot := map[string]string{
		"_dd.p.dm":     "-3",
		"_dd.p.usr.id": "a=b",
		"_dd.p.ksr":    "0.5",
		"_dd.p.x":      "1", // the first of duplicated fields
		"_dd.origin":   "synthetics=x",
		"_dd.p.tid":    "0102030405060708",
	}
	keys := []string{"_dd.p.dm", "_dd.p.usr.id", "_dd.p.ksr", "_dd.p.x", "_dd.origin", "_dd.p.tid", "_dd.p.empty", "_dd.p.s"}
	pick := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for _, k := range keys {
			if v, ok := m[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	for _, many := range []bool{false, true} {
		for _, v := range []APIVersion{V04, V05} {
			r, c := root, child
			if many {
				for i := range 40 {
					r.Attributes = append(r.Attributes, attribute.String("k"+itoa(i), "v"))
				}
			}
			r.Attributes = append(r.Attributes, attribute.String("_dd.p.ksr", "mine"))
			got := encodeOne(t, v, &mapConfig{}, false,
				withTraceState(t, r.Snapshot(), ts, true), withTraceState(t, c.Snapshot(), ts, true))[0]
			want := maps.Clone(wantRoot)
			want["_dd.p.ksr"] = "mine"
			if diff := cmp.Diff(want, pick(got[0].Meta)); diff != "" {
				t.Errorf("%v, many=%v: root (-want +got):\n%s", v, many, diff)
			}
			if diff := cmp.Diff(map[string]string{}, pick(got[1].Meta)); diff != "" {
				t.Errorf("%v, many=%v: child (-want +got):\n%s", v, many, diff)
			}
		}
	}
}

// TestParentID checks _dd.parent_id, dd-trace-go's rule (v2.12,
// tracer.go and textmap.go): a span started from an extracted context
// records the p: of its dd= member, and nothing when there is none. Here:
// a span whose parent is remote.
func TestParentID(t *testing.T) {
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: trace.SpanID{7: 0x99}, TraceFlags: 1, Remote: true})
	local := remote.WithRemote(false)
	for _, c := range []struct {
		name   string
		parent trace.SpanContext
		ts     string
		want   string // "" for absent
	}{
		{"remote parent", remote, "dd=s:1;p:00f067aa0ba902b7", "00f067aa0ba902b7"},
		{"upper case is written lower case", remote, "dd=s:1;p:00F067AA0BA902B7", "00f067aa0ba902b7"},
		{"zero, as a tracer sent it", remote, "dd=p:0000000000000000", "0000000000000000"},
		{"no p:", remote, "dd=s:1;o:rum", ""},
		{"no dd member", remote, "other=x", ""},
		{"not 16 hex digits", remote, "dd=p:00f067aa0ba902b", ""},
		{"not hex", remote, "dd=p:00f067aa0ba902bz", ""},
		{"local parent in another payload", local, "dd=s:1;p:00f067aa0ba902b7", ""},
		{"no parent", trace.SpanContext{}, "dd=s:1;p:00f067aa0ba902b7", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := fxStub()
			s.Parent = c.parent
			for _, v := range []APIVersion{V04, V05} {
				got := encodeOne(t, v, &mapConfig{}, false, withTraceState(t, s.Snapshot(), c.ts, true))[0][0]
				if got.Meta["_dd.parent_id"] != c.want {
					t.Errorf("%v: _dd.parent_id = %q, want %q", v, got.Meta["_dd.parent_id"], c.want)
				}
			}
		})
	}
}

// TestParentIDThroughDDProp follows p: from W3C headers, through ddprop's
// extraction and the SDK, to the span that continues the trace: only that
// span, the local root, records it; its child does not.
func TestParentIDThroughDDProp(t *testing.T) {
	carrier := propagation.MapCarrier{
		"traceparent": "00-0102030405060708090a0b0c0d0e0f10-1112131415161718-01",
		"tracestate":  "dd=s:2;p:00f067aa0ba902b7;t.dm:-4",
	}
	ctx := ddprop.TraceContext{}.Extract(context.Background(), carrier)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, root := tp.Tracer("test").Start(ctx, "root", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tp.Tracer("test").Start(ctx, "child")
	child.End()
	root.End()
	spans := rec.Ended()
	for _, batch := range [][]sdktrace.ReadOnlySpan{spans, spans[:1], spans[1:]} {
		got := map[string]string{}
		for _, s := range encodeOne(t, V04, &mapConfig{}, false, batch...)[0] {
			got[s.Resource] = s.Meta["_dd.parent_id"]
		}
		want := map[string]string{}
		for _, s := range batch {
			want[s.Name()] = ""
			if s.Name() == "root" {
				want["root"] = "00f067aa0ba902b7"
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("_dd.parent_id by span (-want +got):\n%s", diff)
		}
	}
}
