package ddprop

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// FuzzExtract feeds arbitrary headers to every propagator. Extraction never
// panics, and whatever it yields is fully valid: a remote span context whose
// tracestate is well formed, whose dd= member fits Datadog's limit and has
// no t.tid, whose priority agrees with the sampled flag, and which every
// style can inject and extract again as the same trace and parent.
func FuzzExtract(f *testing.F) {
	f.Add("258", "255", "2", "synthetics", "_dd.p.dm=-4,_dd.p.tid="+tid128, "", "")
	f.Add("258", "255", "1", "", "", w3cSame, "dd=s:2;o:rum;p:00000000000000aa;t.dm:-4,rojo=1")
	f.Add("258", "255", "-1", "", "_dd.p.tid="+tid128, w3cSame, "dd=s:-1;t.tid:"+tid128)
	f.Add("x", "0", "keep", "a=b;c", "_dd.p.tid=XYZ,,=", "00-zz", "dd=s:x;t.tid:1")
	f.Add("-1", "-1", "", "o o", strings.Repeat("_dd.p.a=b,", 60), "00-"+trace64+"-"+span1+"-00", "dd=s:1")
	f.Add("18446744073709551616", "1", "0", "", "", "00-"+trace128+"-"+span1+"-01-extra", "dd=t.tid:640cfd8d00000001")
	f.Add(trace128, span1, "1", "1", "", "00-"+trace128+"-"+span2+"-01", "rojo=1")
	f.Add("ABC", "0FF", "d", "", "-"+span2, "", "")
	f.Fuzz(func(t *testing.T, traceID, parentID, priority, origin, tags, traceparent, tracestate string) {
		carrier := propagation.MapCarrier{}
		for k, v := range map[string]string{
			"x-datadog-trace-id": traceID, "x-datadog-parent-id": parentID,
			"x-datadog-sampling-priority": priority, "x-datadog-origin": origin, "x-datadog-tags": tags,
			"traceparent": traceparent, "tracestate": tracestate,
			// The same inputs as B3: IDs in hex, a sampling state.
			"x-b3-traceid": traceID, "x-b3-spanid": parentID, "x-b3-sampled": priority, "x-b3-flags": origin,
			"b3": traceID + "-" + parentID + "-" + priority + tags,
		} {
			if v != "" {
				carrier[k] = v
			}
		}
		for name, p := range map[string]propagation.TextMapPropagator{
			"datadog":      Datadog{},
			"tracecontext": TraceContext{},
			"default":      New(),
			"w3c first":    New(WithExtractStyles(StyleTraceContext, StyleDatadog)),
			"b3":           B3{},
			"b3multi":      B3Multi{},
			"b3 first":     New(WithExtractStyles(StyleB3, StyleB3Multi, StyleTraceContext, StyleDatadog)),
		} {
			ctx := p.Extract(context.Background(), carrier)
			sc := trace.SpanContextFromContext(ctx)
			if sc.Equal(trace.SpanContext{}) {
				continue
			}
			checkValid(t, name, sc)
		}
	})
}

func checkValid(t *testing.T, name string, sc trace.SpanContext) {
	t.Helper()
	if !sc.IsValid() || !sc.IsRemote() {
		t.Fatalf("%s: span context valid=%v remote=%v", name, sc.IsValid(), sc.IsRemote())
	}
	ts := sc.TraceState().String()
	reparsed, err := trace.ParseTraceState(ts)
	if err != nil || reparsed.String() != ts {
		t.Fatalf("%s: tracestate %q does not parse back: %v", name, ts, err)
	}
	if v := sc.TraceState().Get("dd"); len("dd=")+len(v) > 256 {
		t.Fatalf("%s: dd= member is %d bytes", name, len("dd=")+len(v))
	}
	if _, _, hasTID := parseStateValue(sc.TraceState().Get("dd")); hasTID {
		t.Fatalf("%s: dd= member %q carries t.tid", name, ts)
	}
	st, _ := ParseState(sc.TraceState())
	if st.HasPriority && (st.Priority > 0) != sc.IsSampled() {
		t.Fatalf("%s: priority %d but sampled=%v", name, st.Priority, sc.IsSampled())
	}
	if !st.HasPriority && sc.IsSampled() {
		t.Fatalf("%s: sampled without a priority", name)
	}
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), sc)
	for _, p := range []propagation.TextMapPropagator{Datadog{}, TraceContext{}, New(), B3{}, B3Multi{}} {
		out := propagation.MapCarrier{}
		p.Inject(ctx, out)
		again := trace.SpanContextFromContext(p.Extract(context.Background(), out))
		if again.TraceID() != sc.TraceID() || again.SpanID() != sc.SpanID() || again.IsSampled() != sc.IsSampled() {
			t.Fatalf("%s: re-injected %v, extracted %s/%s sampled=%v, want %s/%s sampled=%v", name, out,
				again.TraceID(), again.SpanID(), again.IsSampled(), sc.TraceID(), sc.SpanID(), sc.IsSampled())
		}
	}
}
