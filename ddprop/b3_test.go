package ddprop

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestB3Extract(t *testing.T) {
	const (
		tid64  = "0000000000000102" // the low half of trace64 and trace128
		tidHex = tid128 + tid64     // trace128 in 32 digits
	)
	unsampled := scView{TraceID: trace64, SpanID: span1, Remote: true}
	kept := scView{TraceID: trace64, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:1"}
	dropped := scView{TraceID: trace64, SpanID: span1, Remote: true, TraceState: "dd=s:0"}
	tests := []struct {
		name   string
		header string
		want   scView
	}{
		{"no sampling state: the decision is left open", tid64 + "-" + span1, unsampled},
		{"empty sampling state", tid64 + "-" + span1 + "-", unsampled},
		{"sampled", tid64 + "-" + span1 + "-1", kept},
		{"debug is a keep", tid64 + "-" + span1 + "-d", kept},
		{"not sampled", tid64 + "-" + span1 + "-0", dropped},
		{"parent span ID ignored", tid64 + "-" + span1 + "-1-" + span2, kept},
		{"anything after the parent ignored", tid64 + "-" + span1 + "-1-zz-zz", kept},
		{"128-bit trace ID", tidHex + "-" + span1 + "-1",
			scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:1"}},
		{"32 digits with a zero high half: 64-bit", "0000000000000000" + tid64 + "-" + span1, unsampled},
		{"short IDs", "102-ff", unsampled},
		{"uppercase hex", tid128[:8] + "00000000" + tid64 + "-00000000000000FF-1",
			scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:1"}},
		{"over 32 digits: the last 32, as Datadog tracers read them", "ab" + tidHex + "-" + span1, scView{TraceID: trace128, SpanID: span1, Remote: true}},
		{"span ID with leading zeros past 16 digits", tid64 + "-0" + span1, unsampled},
		{"bad sampling state", tid64 + "-" + span1 + "-2", scView{}},
		{"sampling state alone", "1", scView{}},
		{"trace ID alone", tid64, scView{}},
		{"zero trace ID", "0000000000000000-" + span1 + "-1", scView{}},
		{"zero span ID", tid64 + "-0000000000000000-1", scView{}},
		{"empty trace ID", "-" + span1, scView{}},
		{"empty span ID", tid64 + "--1", scView{}},
		{"non-hex trace ID", "000000000000010g-" + span1, scView{}},
		{"non-hex high half", "zz" + tid128[2:] + tid64 + "-" + span1, scView{}},
		{"span ID over 64 bits", tid64 + "-1" + span1, scView{}},
		{"signed span ID", tid64 + "-+ff", scView{}},
		{"missing", "", scView{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := B3{}.Extract(context.Background(), propagation.MapCarrier{"b3": tt.header})
			if diff := cmp.Diff(tt.want, viewFrom(ctx)); diff != "" {
				t.Errorf("b3: %s: span context (-want +got):\n%s", tt.header, diff)
			}
		})
	}
}

func TestB3MultiExtract(t *testing.T) {
	const tid64 = "0000000000000102"
	unsampled := scView{TraceID: trace64, SpanID: span1, Remote: true}
	withPriority := func(p string) scView {
		v := scView{TraceID: trace64, SpanID: span1, Remote: true, TraceState: "dd=s:" + p}
		v.Sampled = !strings.HasPrefix(p, "-") && p != "0"
		return v
	}
	tests := []struct {
		name    string
		headers map[string]string
		want    scView
	}{
		{"no X-B3-Sampled: the decision is left open", map[string]string{}, unsampled},
		{"sampled", map[string]string{"x-b3-sampled": "1"}, withPriority("1")},
		{"not sampled", map[string]string{"x-b3-sampled": "0"}, withPriority("0")},
		{"a Datadog priority, read as dd-trace-go reads it", map[string]string{"x-b3-sampled": "2"}, withPriority("2")},
		{"a user reject", map[string]string{"x-b3-sampled": "-1"}, withPriority("-1")},
		{"true, from older B3 tracers", map[string]string{"x-b3-sampled": "true"}, withPriority("1")},
		{"false, from older B3 tracers", map[string]string{"x-b3-sampled": "false"}, withPriority("0")},
		{"debug flag without X-B3-Sampled: keep", map[string]string{"x-b3-flags": "1"}, withPriority("1")},
		{"X-B3-Sampled beats the debug flag", map[string]string{"x-b3-flags": "1", "x-b3-sampled": "0"}, withPriority("0")},
		{"other flags ignored", map[string]string{"x-b3-flags": "0"}, unsampled},
		{"128-bit trace ID", map[string]string{"x-b3-traceid": trace128, "x-b3-sampled": "1"},
			scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:1"}},
		{"bad X-B3-Sampled", map[string]string{"x-b3-sampled": "yes"}, scView{}},
		{"no span ID", map[string]string{"x-b3-spanid": ""}, scView{}},
		{"no trace ID", map[string]string{"x-b3-traceid": ""}, scView{}},
		{"zero trace ID", map[string]string{"x-b3-traceid": "0000000000000000"}, scView{}},
		{"zero span ID", map[string]string{"x-b3-spanid": "0"}, scView{}},
		{"non-hex span ID", map[string]string{"x-b3-spanid": "xyz"}, scView{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			carrier := propagation.MapCarrier{"x-b3-traceid": tid64, "x-b3-spanid": span1}
			for k, v := range tt.headers {
				if v == "" {
					delete(carrier, k)
				} else {
					carrier[k] = v
				}
			}
			ctx := B3Multi{}.Extract(context.Background(), carrier)
			if diff := cmp.Diff(tt.want, viewFrom(ctx)); diff != "" {
				t.Errorf("%v: span context (-want +got):\n%s", carrier, diff)
			}
		})
	}
}

func TestB3Inject(t *testing.T) {
	const tid64 = "0000000000000102"
	tests := []struct {
		name      string
		sc        trace.SpanContext
		single    string
		multi     map[string]string
		wantEmpty bool
	}{
		{name: "64-bit, sampled", sc: spanContext(t, trace64, span1, true, false, "dd=s:2;o:rum;t.dm:-4"),
			single: tid64 + "-" + span1 + "-1",
			multi:  map[string]string{"x-b3-traceid": tid64, "x-b3-spanid": span1, "x-b3-sampled": "1"}},
		{name: "128-bit, not sampled", sc: spanContext(t, trace128, span1, false, false, "dd=s:-1"),
			single: trace128 + "-" + span1 + "-0",
			multi:  map[string]string{"x-b3-traceid": trace128, "x-b3-spanid": span1, "x-b3-sampled": "0"}},
		{name: "the sampled flag beats a disagreeing priority", sc: spanContext(t, trace64, span2, false, true, "dd=s:2"),
			single: tid64 + "-" + span2 + "-0",
			multi:  map[string]string{"x-b3-traceid": tid64, "x-b3-spanid": span2, "x-b3-sampled": "0"}},
		{name: "no span context", sc: trace.SpanContext{}, wantEmpty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := trace.ContextWithSpanContext(context.Background(), tt.sc)
			single, multi := propagation.MapCarrier{}, propagation.MapCarrier{}
			B3{}.Inject(ctx, single)
			B3Multi{}.Inject(ctx, multi)
			if tt.wantEmpty {
				if len(single)+len(multi) != 0 {
					t.Errorf("wrote %v and %v for an invalid span context", single, multi)
				}
				return
			}
			if diff := cmp.Diff(map[string]string{"b3": tt.single}, map[string]string(single)); diff != "" {
				t.Errorf("B3 (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.multi, map[string]string(multi)); diff != "" {
				t.Errorf("B3Multi (-want +got):\n%s", diff)
			}
			// What was injected reads back as the same trace, parent and
			// decision.
			for name, p := range map[string]propagation.TextMapPropagator{"b3": B3{}, "b3multi": B3Multi{}} {
				carrier := single
				if name == "b3multi" {
					carrier = multi
				}
				got := trace.SpanContextFromContext(p.Extract(context.Background(), carrier))
				if got.TraceID() != tt.sc.TraceID() || got.SpanID() != tt.sc.SpanID() || got.IsSampled() != tt.sc.IsSampled() {
					t.Errorf("%s: extracted %s/%s sampled=%v from %v", name, got.TraceID(), got.SpanID(), got.IsSampled(), carrier)
				}
			}
		})
	}
	if diff := cmp.Diff([]string{"b3"}, B3{}.Fields()); diff != "" {
		t.Errorf("B3 fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"x-b3-traceid", "x-b3-spanid", "x-b3-sampled"}, B3Multi{}.Fields()); diff != "" {
		t.Errorf("B3Multi fields (-want +got):\n%s", diff)
	}
}

// B3 through a Propagator: first style wins, and a later tracecontext of
// the same trace contributes as it does after Datadog headers.
func TestPropagatorExtractB3(t *testing.T) {
	b3Multi := func(kv ...string) map[string]string {
		m := map[string]string{"x-b3-traceid": trace128, "x-b3-spanid": span1, "x-b3-sampled": "1"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	b3Kept := scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:1"}
	dd := scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:2;o:rum;t.dm:-4"}
	b3Then := []Style{StyleB3Multi, StyleTraceContext, StyleDatadog}
	tests := []struct {
		name    string
		styles  []Style
		headers map[string]string
		want    scView
	}{
		{name: "b3multi alone", styles: b3Then, headers: b3Multi(), want: b3Kept},
		{name: "b3 single alone", styles: []Style{StyleB3}, headers: map[string]string{"b3": trace128 + "-" + span1 + "-1"}, want: b3Kept},
		{name: "b3 single is not b3multi", styles: []Style{StyleB3}, headers: b3Multi()},
		{name: "b3multi is not b3 single", styles: []Style{StyleB3Multi}, headers: map[string]string{"b3": trace128 + "-" + span1 + "-1"}},
		{name: "Datadog first wins over b3", styles: []Style{StyleDatadog, StyleB3Multi},
			headers: mergeMaps(ddHeaders(), b3Multi("x-b3-spanid", span2, "x-b3-sampled", "0")), want: dd},
		{name: "b3 first wins over Datadog", styles: []Style{StyleB3Multi, StyleDatadog},
			headers: mergeMaps(ddHeaders(), b3Multi("x-b3-spanid", span2, "x-b3-sampled", "0")),
			want:    scView{TraceID: trace128, SpanID: span2, Remote: true, TraceState: "dd=s:0"}},
		{name: "malformed b3: the next style is tried", styles: []Style{StyleB3Multi, StyleDatadog},
			headers: mergeMaps(ddHeaders(), b3Multi("x-b3-sampled", "maybe")), want: dd},
		{name: "b3, then tracecontext of the same trace and parent: W3C vendors kept", styles: b3Then,
			headers: b3Multi("traceparent", "00-"+trace128+"-"+span1+"-01", "tracestate", "dd=s:2;o:x,rojo=1"),
			want:    scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:1,rojo=1"}},
		{name: "b3, then tracecontext with another parent, no Datadog headers: the b3 parent stays", styles: b3Then,
			headers: b3Multi("traceparent", w3cSame, "tracestate", "rojo=1"),
			want:    scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:1,rojo=1"}},
		{name: "b3, then tracecontext with another parent and Datadog headers: W3C parent, Datadog's as p", styles: b3Then,
			headers: mergeMaps(ddHeaders("x-datadog-parent-id", "4096"), b3Multi("traceparent", w3cSame, "tracestate", "rojo=1")),
			want: scView{TraceID: trace128, SpanID: span2, Sampled: true, Remote: true,
				TraceState: "dd=s:1;p:0000000000001000,rojo=1"}},
		{name: "Datadog headers count only when datadog is an extract style", styles: []Style{StyleB3Multi, StyleTraceContext},
			headers: mergeMaps(ddHeaders("x-datadog-parent-id", "4096"), b3Multi("traceparent", w3cSame, "tracestate", "rojo=1")),
			want:    scView{TraceID: trace128, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:1,rojo=1"}},
		{name: "b3, then tracecontext of another trace: ignored", styles: b3Then,
			headers: b3Multi("traceparent", w3cOther, "tracestate", "rojo=1"), want: b3Kept},
		{name: "tracecontext first wins over b3", styles: []Style{StyleTraceContext, StyleB3},
			headers: map[string]string{"b3": trace128 + "-" + span1 + "-0", "traceparent": w3cSame},
			want:    scView{TraceID: trace128, SpanID: span2, Sampled: true, Remote: true, TraceState: "dd=s:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := New(WithExtractStyles(tt.styles...)).Extract(context.Background(), propagation.MapCarrier(tt.headers))
			if diff := cmp.Diff(tt.want, viewFrom(ctx)); diff != "" {
				t.Errorf("span context (-want +got):\n%s", diff)
			}
			if got := PropagationError(ctx); got != "" {
				t.Errorf("PropagationError = %q from b3", got)
			}
		})
	}
}

func mergeMaps(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
