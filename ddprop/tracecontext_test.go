package ddprop

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestTraceContextInject(t *testing.T) {
	tp := func(traceID, spanID, flags string) string { return "00-" + traceID + "-" + spanID + "-" + flags }
	tests := []struct {
		name string
		sc   trace.SpanContext
		want map[string]string
	}{
		{name: "invalid span context", sc: trace.SpanContext{}, want: map[string]string{}},
		{
			name: "local span, no member: p is the span itself, kept by default",
			sc:   spanContext(t, trace64, span1, true, false, ""),
			want: map[string]string{"traceparent": tp(trace64, span1, "01"), "tracestate": "dd=s:1;p:" + span1 + ";t.dm:-0"},
		},
		{
			name: "local span, not sampled",
			sc:   spanContext(t, trace128, span1, false, false, ""),
			want: map[string]string{"traceparent": tp(trace128, span1, "00"), "tracestate": "dd=s:0;p:" + span1},
		},
		{
			name: "remote span context passed on keeps its p",
			sc:   spanContext(t, trace64, span1, true, true, "dd=s:2;p:00000000000000aa"),
			want: map[string]string{"traceparent": tp(trace64, span1, "01"), "tracestate": "dd=s:2;p:00000000000000aa"},
		},
		{
			name: "remote span context without p",
			sc:   spanContext(t, trace64, span1, false, true, "dd=s:-1"),
			want: map[string]string{"traceparent": tp(trace64, span1, "00"), "tracestate": "dd=s:-1"},
		},
		{
			name: "priority disagreeing with the flag gives way",
			sc:   spanContext(t, trace64, span1, false, false, "dd=s:2;t.dm:-4"),
			want: map[string]string{"traceparent": tp(trace64, span1, "00"), "tracestate": "dd=s:0;p:" + span1},
		},
		{
			name: "a rejected priority the flag overrides: kept by default",
			sc:   spanContext(t, trace64, span1, true, false, "dd=s:-1;o:rum;t.dm:-4;t.usr.id:u"),
			want: map[string]string{"traceparent": tp(trace64, span1, "01"), "tracestate": "dd=s:1;o:rum;p:" + span1 + ";t.dm:-0;t.usr.id:u"},
		},
		{
			name: "an origin that leaves no room for p is left out, p is written",
			sc:   spanContext(t, trace64, span1, true, false, "dd=s:1;o:"+strings.Repeat("o", 240)),
			want: map[string]string{"traceparent": tp(trace64, span1, "01"), "tracestate": "dd=s:1;p:" + span1},
		},
		{
			name: "origin, tags and other vendors kept, dd first",
			sc: spanContext(t, trace128, span2, true, false,
				"rojo=00f067aa0ba902b7,dd=s:2;o:synthetics~x;p:00000000000000aa;t.dm:-4;t.usr.id:a~b;t.tid:"+tid128+";x:unknown,congo=t61rcWkgMzE"),
			want: map[string]string{
				"traceparent": tp(trace128, span2, "01"),
				"tracestate":  "dd=s:2;o:synthetics~x;p:" + span2 + ";t.dm:-4;t.usr.id:a~b,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			carrier := propagation.MapCarrier{}
			TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), tt.sc), carrier)
			if diff := cmp.Diff(tt.want, map[string]string(carrier)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTraceContextExtract(t *testing.T) {
	tp := func(traceID, spanID, flags string) string { return "00-" + traceID + "-" + spanID + "-" + flags }
	sc := func(traceID string, sampled bool, ts string) scView {
		return scView{TraceID: traceID, SpanID: span1, Sampled: sampled, Remote: true, TraceState: ts}
	}
	tests := []struct {
		name        string
		traceparent string
		tracestate  string
		want        scView
	}{
		{name: "no headers"},
		{name: "sampled, no tracestate", traceparent: tp(trace64, span1, "01"), want: sc(trace64, true, "dd=s:1")},
		{name: "not sampled, no tracestate", traceparent: tp(trace128, span1, "00"), want: sc(trace128, false, "dd=s:0")},
		{name: "s:-1 not sampled", traceparent: tp(trace64, span1, "00"), tracestate: "dd=s:-1", want: sc(trace64, false, "dd=s:-1")},
		{name: "s:0 not sampled", traceparent: tp(trace64, span1, "00"), tracestate: "dd=s:0", want: sc(trace64, false, "dd=s:0")},
		{name: "s:1 sampled", traceparent: tp(trace64, span1, "01"), tracestate: "dd=s:1", want: sc(trace64, true, "dd=s:1")},
		{name: "s:2 sampled", traceparent: tp(trace64, span1, "01"), tracestate: "dd=s:2", want: sc(trace64, true, "dd=s:2")},
		{
			name: "sampled with s:-1: keep, decision maker -0", traceparent: tp(trace64, span1, "01"),
			tracestate: "dd=s:-1;t.dm:-4", want: sc(trace64, true, "dd=s:1;t.dm:-0"),
		},
		{
			name: "sampled with s:0: keep, decision maker -0", traceparent: tp(trace64, span1, "01"),
			tracestate: "dd=s:0", want: sc(trace64, true, "dd=s:1;t.dm:-0"),
		},
		{
			name: "not sampled with s:2: reject, no decision maker", traceparent: tp(trace64, span1, "00"),
			tracestate: "dd=s:2;t.dm:-4;t.usr.id:x", want: sc(trace64, false, "dd=s:0;t.usr.id:x"),
		},
		{
			name: "non-numeric s: the flag decides", traceparent: tp(trace64, span1, "01"),
			tracestate: "dd=s:x;o:rum", want: sc(trace64, true, "dd=s:1;o:rum"),
		},
		{
			name: "everything, other vendors kept in order", traceparent: tp(trace128, span1, "01"),
			tracestate: "rojo=00f067aa0ba902b7,dd=s:2;o:synthetics~x;p:00000000000000AA;t.dm:-4;t.tid:" + tid128 + ";unknown:1;junk,congo=t61rcWkgMzE",
			want:       sc(trace128, true, "dd=s:2;o:synthetics~x;p:00000000000000aa;t.dm:-4,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
		},
		{
			name: "matching t.tid for a 64-bit trace", traceparent: tp(trace64, span1, "01"),
			tracestate: "dd=s:1;t.tid:0000000000000000", want: sc(trace64, true, "dd=s:1"),
		},
		{
			name: "bad p is dropped", traceparent: tp(trace64, span1, "01"),
			tracestate: "dd=s:1;p:xyz", want: sc(trace64, true, "dd=s:1"),
		},
		{
			name: "invalid tracestate is ignored, traceparent kept", traceparent: tp(trace64, span1, "01"),
			tracestate: "dd=s:1,dd=s:2", want: sc(trace64, true, "dd=s:1"),
		},

		{
			name: "a malformed member is left out, the dd= member still read", traceparent: tp(trace64, span1, "01"),
			tracestate: "rojo=00f0=67aa, dd=s:2;o:rum;t.dm:-4 ,Congo=1,bare,congo=t61rcWkgMzE,dd=s:-1",
			want:       sc(trace64, true, "dd=s:2;o:rum;t.dm:-4,congo=t61rcWkgMzE"),
		},
		{
			name: "a member over 256 bytes is left out", traceparent: tp(trace64, span1, "00"),
			tracestate: "dd=s:-1;o:rum,rojo=" + strings.Repeat("x", 257) + ",congo=1",
			want:       sc(trace64, false, "dd=s:-1;o:rum,congo=1"),
		},
		{
			name: "members past the 32nd are left out", traceparent: tp(trace64, span1, "01"),
			tracestate: "dd=s:2," + members(1, 33),
			want:       sc(trace64, true, "dd=s:2,"+members(1, 31)),
		},

		// Malformed: nothing is extracted.
		{name: "t.tid mismatch", traceparent: tp(trace128, span1, "01"), tracestate: "dd=s:1;t.tid:640cfd8d00000001"},
		{name: "t.tid on a 64-bit trace", traceparent: tp(trace64, span1, "01"), tracestate: "dd=s:1;t.tid:" + tid128},
		{name: "t.tid uppercase", traceparent: tp(trace128, span1, "01"), tracestate: "dd=s:1;t.tid:640CFD8D00000000"},
		{name: "zero trace ID", traceparent: tp(strings.Repeat("0", 32), span1, "01")},
		{name: "zero span ID", traceparent: tp(trace64, strings.Repeat("0", 16), "01")},
		{name: "short trace ID", traceparent: tp(trace64[1:], span1, "01")},
		{name: "uppercase trace ID", traceparent: tp(strings.ToUpper(trace128), span1, "01")},
		{name: "version ff", traceparent: "ff-" + trace64 + "-" + span1 + "-01"},
		{name: "garbage", traceparent: "not a traceparent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			carrier := propagation.MapCarrier{}
			if tt.traceparent != "" {
				carrier.Set("traceparent", tt.traceparent)
			}
			if tt.tracestate != "" {
				carrier.Set("tracestate", tt.tracestate)
			}
			ctx := TraceContext{}.Extract(context.Background(), carrier)
			if diff := cmp.Diff(tt.want, viewFrom(ctx)); diff != "" {
				t.Errorf("span context (-want +got):\n%s", diff)
			}
		})
	}
}

// members returns the tracestate members v<from>=x to v<to>=x.
func members(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		b.WriteString("v" + strconv.Itoa(i) + "=x")
	}
	return b.String()
}
