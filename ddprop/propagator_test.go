package ddprop

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

const (
	// Datadog headers and a traceparent for the same 128-bit trace, with
	// different parents (span1 = 255 from Datadog, span2 from W3C).
	ddTrace128 = "258"
	w3cSame    = "00-" + trace128 + "-" + span2 + "-01"
	w3cOther   = "00-" + "11111111111111111111111111111111" + "-" + span2 + "-01"
)

func ddHeaders(kv ...string) map[string]string {
	m := map[string]string{
		"x-datadog-trace-id":          ddTrace128,
		"x-datadog-parent-id":         "255",
		"x-datadog-sampling-priority": "2",
		"x-datadog-origin":            "rum",
		"x-datadog-tags":              "_dd.p.dm=-4,_dd.p.tid=" + tid128,
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestPropagatorExtract(t *testing.T) {
	dd := scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:2;o:rum;t.dm:-4"}
	tests := []struct {
		name    string
		styles  []Style
		headers map[string]string
		want    scView
		wantErr string
	}{
		{name: "nothing", styles: defaultStyles[:], headers: map[string]string{}},
		{name: "datadog only", styles: defaultStyles[:], headers: ddHeaders(), want: dd},
		{
			name: "tracecontext only", styles: defaultStyles[:],
			headers: map[string]string{"traceparent": w3cSame, "tracestate": "dd=s:1;p:00000000000000aa,rojo=1"},
			want:    scView{TraceID: trace128, SpanID: span2, Sampled: true, Remote: true, TraceState: "dd=s:1;p:00000000000000aa,rojo=1"},
		},
		{
			name: "same trace: tracecontext parent wins, Datadog parent becomes p", styles: defaultStyles[:],
			headers: ddHeaders("traceparent", w3cSame, "tracestate", "rojo=1,dd=s:1;o:other;t.dm:-1,congo=2"),
			want: scView{TraceID: trace128, SpanID: span2, Sampled: true, Remote: true,
				TraceState: "dd=s:2;o:rum;p:" + span1 + ";t.dm:-4,rojo=1,congo=2"},
		},
		{
			name: "same trace: the tracestate's p wins over the Datadog parent", styles: defaultStyles[:],
			headers: ddHeaders("traceparent", w3cSame, "tracestate", "dd=s:2;p:00000000000000aa"),
			want: scView{TraceID: trace128, SpanID: span2, Sampled: true, Remote: true,
				TraceState: "dd=s:2;o:rum;p:00000000000000aa;t.dm:-4"},
		},
		{
			name: "same trace and parent: Datadog data, W3C vendors", styles: defaultStyles[:],
			headers: ddHeaders("traceparent", "00-"+trace128+"-"+span1+"-01", "tracestate", "dd=s:2;p:00000000000000aa,rojo=1"),
			want:    scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:2;o:rum;t.dm:-4,rojo=1"},
		},
		{
			name: "same trace, traceparent not sampled: Datadog's decision stands", styles: defaultStyles[:],
			headers: ddHeaders("traceparent", "00-"+trace128+"-"+span2+"-00"),
			want:    scView{TraceID: trace128, SpanID: span2, Sampled: true, Remote: true, TraceState: "dd=s:2;o:rum;p:" + span1 + ";t.dm:-4"},
		},
		{
			name: "different trace IDs: first style wins", styles: defaultStyles[:],
			headers: ddHeaders("traceparent", w3cOther, "tracestate", "rojo=1"),
			want:    dd,
		},
		{
			name: "64-bit Datadog, 128-bit W3C with the same low bits: different traces", styles: defaultStyles[:],
			headers: ddHeaders("x-datadog-tags", "_dd.p.dm=-4", "traceparent", w3cSame),
			want:    scView{TraceID: trace64, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:2;o:rum;t.dm:-4"},
		},
		{
			name: "tracecontext first wins, Datadog ignored", styles: []Style{StyleTraceContext, StyleDatadog},
			headers: ddHeaders("traceparent", w3cSame, "tracestate", "rojo=1"),
			want:    scView{TraceID: trace128, SpanID: span2, Sampled: true, Remote: true, TraceState: "dd=s:1,rojo=1"},
		},
		{
			name: "malformed Datadog: tracecontext is tried", styles: defaultStyles[:],
			headers: ddHeaders("x-datadog-trace-id", "x", "traceparent", w3cSame),
			want:    scView{TraceID: trace128, SpanID: span2, Sampled: true, Remote: true, TraceState: "dd=s:1"},
		},
		{
			name: "bad tid: tracecontext is tried", styles: defaultStyles[:],
			headers: ddHeaders("x-datadog-tags", "_dd.p.tid=XYZ", "traceparent", w3cSame),
			want:    scView{TraceID: trace128, SpanID: span2, Sampled: true, Remote: true, TraceState: "dd=s:1"},
		},
		{
			name: "malformed tracecontext first: Datadog is tried", styles: []Style{StyleTraceContext, StyleDatadog},
			headers: ddHeaders("traceparent", w3cSame, "tracestate", "dd=s:1;t.tid:0000000000000001"),
			want:    dd,
		},
		{
			name: "oversized Datadog tags: trace kept, error reported", styles: defaultStyles[:],
			headers: ddHeaders("x-datadog-tags", longTagHeader(600)),
			want:    scView{TraceID: trace64, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:2;o:rum"},
			wantErr: "extract_max_size",
		},
		{
			name: "same trace, Datadog without priority: no decision is made up", styles: defaultStyles[:],
			headers: map[string]string{"x-datadog-trace-id": ddTrace128, "x-datadog-parent-id": "255",
				"x-datadog-tags": "_dd.p.tid=" + tid128, "traceparent": w3cSame, "tracestate": "dd=s:1,rojo=1"},
			want: scView{TraceID: trace128, SpanID: span2, Remote: true, TraceState: "dd=p:" + span1 + ",rojo=1"},
		},
		{
			name: "same trace, W3C rejected for its t.tid: Datadog alone", styles: defaultStyles[:],
			headers: ddHeaders("traceparent", w3cSame, "tracestate", "dd=s:1;t.tid:0000000000000001,rojo=1"),
			want:    dd,
		},
		{name: "datadog only style ignores W3C", styles: []Style{StyleDatadog}, headers: map[string]string{"traceparent": w3cSame}},
		{name: "tracecontext only style ignores Datadog", styles: []Style{StyleTraceContext}, headers: ddHeaders()},
		{name: "none", styles: []Style{}, headers: ddHeaders("traceparent", w3cSame)},
		{name: "baggage only", styles: []Style{StyleBaggage}, headers: ddHeaders("traceparent", w3cSame)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(WithExtractStyles(tt.styles...))
			ctx := p.Extract(context.Background(), propagation.MapCarrier(tt.headers))
			if diff := cmp.Diff(tt.want, viewFrom(ctx)); diff != "" {
				t.Errorf("span context (-want +got):\n%s", diff)
			}
			if got := PropagationError(ctx); got != tt.wantErr {
				t.Errorf("PropagationError = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// An extraction that finds nothing leaves the caller's span context alone.
func TestPropagatorExtractKeepsExisting(t *testing.T) {
	existing := spanContext(t, trace64, span2, true, false, "")
	ctx := trace.ContextWithSpanContext(context.Background(), existing)
	got := New().Extract(ctx, propagation.MapCarrier{"x-datadog-trace-id": "0", "x-datadog-parent-id": "1"})
	if diff := cmp.Diff(viewOf(existing), viewFrom(got)); diff != "" {
		t.Errorf("span context (-want +got):\n%s", diff)
	}
}

func TestPropagatorBaggage(t *testing.T) {
	m, err := baggage.NewMember("user", "alice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := baggage.New(m)
	if err != nil {
		t.Fatal(err)
	}
	ctx := baggage.ContextWithBaggage(context.Background(), b)
	ctx = trace.ContextWithSpanContext(ctx, spanContext(t, trace64, span1, true, false, ""))

	for _, tc := range []struct {
		name        string
		styles      []Style
		wantHeader  string
		wantBaggage string
	}{
		{name: "default", styles: defaultStyles[:], wantHeader: "user=alice", wantBaggage: "user=alice"},
		{name: "baggage only", styles: []Style{StyleBaggage}, wantHeader: "user=alice", wantBaggage: "user=alice"},
		{name: "without baggage", styles: []Style{StyleDatadog, StyleTraceContext}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(WithInjectStyles(tc.styles...), WithExtractStyles(tc.styles...))
			carrier := propagation.MapCarrier{}
			p.Inject(ctx, carrier)
			if got := carrier.Get("baggage"); got != tc.wantHeader {
				t.Errorf("baggage header = %q, want %q", got, tc.wantHeader)
			}
			carrier.Set("baggage", "user=alice")
			got := baggage.FromContext(p.Extract(context.Background(), carrier)).String()
			if got != tc.wantBaggage {
				t.Errorf("extracted baggage = %q, want %q", got, tc.wantBaggage)
			}
		})
	}
}

func TestPropagatorInject(t *testing.T) {
	sc := spanContext(t, trace128, span1, true, false, "dd=s:2;o:rum;t.dm:-4,rojo=1")
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	all := map[string]string{
		"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "2",
		"x-datadog-origin": "rum", "x-datadog-tags": "_dd.p.dm=-4,_dd.p.tid=" + tid128,
		"traceparent":  "00-" + trace128 + "-" + span1 + "-01",
		"tracestate":   "dd=s:2;o:rum;p:" + span1 + ";t.dm:-4,rojo=1",
		"b3":           trace128 + "-" + span1 + "-1",
		"x-b3-traceid": trace128, "x-b3-spanid": span1, "x-b3-sampled": "1",
	}
	pick := func(keys ...string) map[string]string {
		m := map[string]string{}
		for _, k := range keys {
			m[k] = all[k]
		}
		return m
	}
	ddKeys := []string{"x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority", "x-datadog-origin", "x-datadog-tags"}
	for _, tc := range []struct {
		name       string
		p          *Propagator
		want       map[string]string
		wantFields []string
	}{
		{name: "default", p: New(), want: pick(append(ddKeys, "traceparent", "tracestate")...),
			wantFields: append(append(ddKeys[:len(ddKeys):len(ddKeys)], "traceparent", "tracestate"), "baggage")},
		{name: "datadog", p: New(WithInjectStyles(StyleDatadog)), want: pick(ddKeys...), wantFields: ddKeys},
		{name: "tracecontext", p: New(WithInjectStyles(StyleTraceContext)), want: pick("traceparent", "tracestate"),
			wantFields: []string{"traceparent", "tracestate"}},
		{name: "b3multi and b3", p: New(WithInjectStyles(StyleB3Multi, StyleB3)),
			want:       pick("x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "b3"),
			wantFields: []string{"x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "b3"}},
		{name: "every style", p: New(WithInjectStyles(StyleDatadog, StyleTraceContext, StyleBaggage, StyleB3Multi, StyleB3)), want: all,
			wantFields: append(append(ddKeys[:len(ddKeys):len(ddKeys)], "traceparent", "tracestate", "baggage"),
				"x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "b3")},
		{name: "none", p: New(WithInjectStyles()), want: map[string]string{}},
		{name: "zero value", p: &Propagator{}, want: map[string]string{}},
		{name: "duplicates and unknown styles ignored", p: New(WithInjectStyles(StyleTraceContext, 0, StyleTraceContext, 99)),
			want: pick("traceparent", "tracestate"), wantFields: []string{"traceparent", "tracestate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			carrier := propagation.MapCarrier{}
			tc.p.Inject(ctx, carrier)
			if diff := cmp.Diff(tc.want, map[string]string(carrier)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFields, tc.p.Fields()); diff != "" {
				t.Errorf("Fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStyleString(t *testing.T) {
	got := []string{StyleDatadog.String(), StyleTraceContext.String(), StyleBaggage.String(),
		StyleB3Multi.String(), StyleB3.String(), Style(0).String(), Style(6).String()}
	want := []string{"datadog", "tracecontext", "baggage", "b3multi", "b3 single header", "unknown", "unknown"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A span context whose sampled flag disagrees with its dd= priority (the
// OpenTelemetry SDK decided otherwise) goes out with the decision and the
// decision maker that the W3C extraction of the same flag and member gives
// (the rule Datadog tracers apply, which internal/ddinterop checks against
// dd-trace-go): a keep over a carried reject is made by default, _dd.p.dm
// -0, and a reject carries no decision maker. Without a carried priority,
// a keep is made by default too, as ddexport records it on the chunk root.
func TestInjectSettlesLikeExtract(t *testing.T) {
	for _, s := range []string{"", "s:-1", "s:0", "s:1", "s:2"} {
		for _, dm := range []string{"", "t.dm:-4"} {
			for _, sampled := range []bool{false, true} {
				member := strings.Trim(s+";"+dm, ";")
				ts := ""
				if member != "" {
					ts = "dd=" + member
				}
				t.Run(fmt.Sprintf("%q sampled=%v", ts, sampled), func(t *testing.T) {
					flags := "00"
					if sampled {
						flags = "01"
					}
					extracted := trace.SpanContextFromContext(TraceContext{}.Extract(context.Background(), propagation.MapCarrier{
						"traceparent": "00-" + trace64 + "-" + span1 + "-" + flags, "tracestate": ts,
					}))
					want, _ := ParseState(extracted.TraceState())
					wantDM, _ := want.Tag(dmKey)
					if s == "" && sampled && wantDM == "" {
						wantDM = "-0"
					}

					ctx := trace.ContextWithSpanContext(context.Background(), spanContext(t, trace64, span2, sampled, false, ts))
					carrier := propagation.MapCarrier{}
					New(WithInjectStyles(StyleDatadog, StyleTraceContext)).Inject(ctx, carrier)

					gotW3C, _ := ParseState(mustTraceState(t, carrier.Get("tracestate")))
					gotDM, _ := gotW3C.Tag(dmKey)
					if gotW3C.Priority != want.Priority || gotDM != wantDM {
						t.Errorf("tracestate %q: priority %d, _dd.p.dm %q; want %d, %q", carrier.Get("tracestate"), gotW3C.Priority, gotDM, want.Priority, wantDM)
					}
					wantTags := ""
					if wantDM != "" {
						wantTags = "_dd.p.dm=" + wantDM
					}
					if got, want := carrier.Get("x-datadog-sampling-priority"), strconv.Itoa(want.Priority); got != want {
						t.Errorf("x-datadog-sampling-priority = %s, want %s", got, want)
					}
					if got := carrier.Get("x-datadog-tags"); got != wantTags {
						t.Errorf("x-datadog-tags = %q, want %q", got, wantTags)
					}
				})
			}
		}
	}
}

func mustTraceState(t *testing.T, s string) trace.TraceState {
	t.Helper()
	ts, err := trace.ParseTraceState(s)
	if err != nil {
		t.Fatalf("tracestate %q: %v", s, err)
	}
	return ts
}
