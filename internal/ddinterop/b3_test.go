package ddinterop_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/DataDog/dd-trace-go/v2/ddtrace/mocktracer"
	"github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddprop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// b3Styles are the B3 styles, as dd-trace-go's and ddprop's configuration
// name them in DD_TRACE_PROPAGATION_STYLE, and ddprop's propagators.
var b3Styles = []struct {
	name string // dd-trace-go's style name
	p    propagation.TextMapPropagator
}{
	{"b3multi", ddprop.B3Multi{}},
	{"b3 single header", ddprop.B3{}},
}

// b3Result is what a B3 trace context says: B3 carries no origin or tags.
type b3Result struct {
	TraceID     string // 32 hex
	SpanID      uint64
	Sampled     bool
	Priority    int
	HasPriority bool
}

func b3ResultOfOTel(sc trace.SpanContext) b3Result {
	if !sc.IsValid() {
		return b3Result{}
	}
	tid, sid := sc.TraceID(), sc.SpanID()
	prio, ok := ddprop.SamplingPriority(sc)
	return b3Result{TraceID: tid.String(), SpanID: binary.BigEndian.Uint64(sid[:]), Sampled: sc.IsSampled(), Priority: prio, HasPriority: ok}
}

func b3ResultOfDD(sc *tracer.SpanContext) b3Result {
	if sc == nil {
		return b3Result{}
	}
	prio, ok := sc.SamplingPriority()
	return b3Result{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Sampled: ok && prio > 0, Priority: prio, HasPriority: ok}
}

// dd-trace-go continues a trace in a child span and calls a ddslog service
// with B3 headers: ddprop reads what dd-trace-go wrote, in either B3 form,
// as dd-trace-go itself reads it back.
func TestB3DDTraceGoInjectsDDPropExtracts(t *testing.T) {
	mt := mocktracer.Start()
	defer mt.Stop()

	for _, c := range cases() {
		if c.origin != "" {
			continue // B3 carries no origin or tags
		}
		for _, style := range b3Styles {
			t.Run(c.name+"/"+style.name, func(t *testing.T) {
				in := tracer.TextMapCarrier{
					"x-datadog-trace-id":          strconv.FormatUint(c.low, 10),
					"x-datadog-parent-id":         "77",
					"x-datadog-sampling-priority": strconv.Itoa(c.priority),
				}
				if tags := c.allTags(); len(tags) > 0 {
					in["x-datadog-tags"] = strings.Join(tags, ",")
				}
				parent, err := ddPropagator("datadog").Extract(in)
				if err != nil {
					t.Fatalf("dd-trace-go extract: %v", err)
				}
				child := mt.StartSpan("http.client.request", tracer.WithStartSpanConfig(&tracer.StartSpanConfig{Parent: parent}))
				defer child.Finish()

				headers := tracer.TextMapCarrier{}
				if err := ddPropagator(style.name).Inject(child.Context(), headers); err != nil {
					t.Fatalf("dd-trace-go inject: %v", err)
				}
				// B3 carries keep or drop: priorities 1 and 0.
				want := b3Result{TraceID: c.traceHex(), SpanID: child.Context().SpanID(), HasPriority: true}
				if c.priority > 0 {
					want.Sampled, want.Priority = true, 1
				}
				theirs, err := ddPropagator(style.name).Extract(headers)
				if err != nil {
					t.Fatalf("dd-trace-go extract of its own %v: %v", headers, err)
				}
				if diff := cmp.Diff(want, b3ResultOfDD(theirs)); diff != "" {
					t.Fatalf("dd-trace-go read back %v as (-want +got):\n%s", headers, diff)
				}
				for name, p := range map[string]propagation.TextMapPropagator{
					style.name:        style.p,
					"in a Propagator": ddPropagatorFromEnv(t, style.name),
				} {
					ctx := p.Extract(context.Background(), propagation.MapCarrier(headers))
					if diff := cmp.Diff(want, b3ResultOfOTel(trace.SpanContextFromContext(ctx))); diff != "" {
						t.Errorf("ddprop %s extracted from %v (-want +got):\n%s", name, headers, diff)
					}
				}
			})
		}
	}
}

// ddPropagatorFromEnv returns ddprop's Propagator for the style named as
// DD_TRACE_PROPAGATION_STYLE names it.
func ddPropagatorFromEnv(t *testing.T, style string) *ddprop.Propagator {
	t.Helper()
	p, err := ddprop.FromEnv(func(k string) (string, bool) {
		if k == "DD_TRACE_PROPAGATION_STYLE" {
			return style, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A ddslog service calls one traced by dd-trace-go with B3 headers:
// dd-trace-go reads what ddprop wrote, in either B3 form.
func TestB3DDPropInjectsDDTraceGoExtracts(t *testing.T) {
	for _, c := range cases() {
		if c.origin != "" {
			continue
		}
		for _, style := range b3Styles {
			t.Run(c.name+"/"+style.name, func(t *testing.T) {
				st := ddprop.State{Priority: c.priority, HasPriority: true}
				ts, err := st.Insert(trace.TraceState{})
				if err != nil {
					t.Fatal(err)
				}
				var cfg trace.SpanContextConfig
				binary.BigEndian.PutUint64(cfg.TraceID[:8], c.high)
				binary.BigEndian.PutUint64(cfg.TraceID[8:], c.low)
				binary.BigEndian.PutUint64(cfg.SpanID[:], 0x00f067aa0ba902b7)
				if c.priority > 0 {
					cfg.TraceFlags = trace.FlagsSampled
				}
				cfg.TraceState = ts
				ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(cfg))

				for name, p := range map[string]propagation.TextMapPropagator{
					style.name:        style.p,
					"in a Propagator": ddPropagatorFromEnv(t, style.name),
				} {
					headers := propagation.MapCarrier{}
					p.Inject(ctx, headers)
					sc, err := ddPropagator(style.name).Extract(tracer.TextMapCarrier(headers))
					if err != nil {
						t.Fatalf("dd-trace-go extract from %v (ddprop %s): %v", headers, name, err)
					}
					want := b3Result{TraceID: c.traceHex(), SpanID: 0x00f067aa0ba902b7, HasPriority: true}
					if c.priority > 0 {
						want.Sampled, want.Priority = true, 1
					}
					if diff := cmp.Diff(want, b3ResultOfDD(sc)); diff != "" {
						t.Errorf("dd-trace-go extracted from %v (ddprop %s) (-want +got):\n%s", headers, name, diff)
					}
				}
			})
		}
	}
}

// Hand-made B3 headers, valid and not: ddprop and dd-trace-go agree on the
// trace context they hold, apart from the differences ddprop documents.
func TestB3HeadersReadAlike(t *testing.T) {
	const (
		tid64  = "8a3c1e5f00b2d4e6"
		tid128 = "6512a4c700000000" + tid64
		sid    = "00f067aa0ba902b7"
	)
	for _, tc := range []struct {
		name    string
		style   string
		headers map[string]string
		differs string // why ddprop differs on purpose, or ""
	}{
		{name: "multi, 64-bit, sampled", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid64, "x-b3-spanid": sid, "x-b3-sampled": "1"}},
		{name: "multi, 128-bit, not sampled", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid128, "x-b3-spanid": sid, "x-b3-sampled": "0"}},
		{name: "multi, no decision", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid128, "x-b3-spanid": sid}},
		{name: "multi, priority 2", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid64, "x-b3-spanid": sid, "x-b3-sampled": "2"}},
		{name: "multi, priority -1", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid64, "x-b3-spanid": sid, "x-b3-sampled": "-1"}},
		{name: "multi, uppercase", style: "b3multi", headers: map[string]string{"x-b3-traceid": strings.ToUpper(tid128), "x-b3-spanid": strings.ToUpper(sid), "x-b3-sampled": "1"}},
		{name: "multi, short IDs", style: "b3multi", headers: map[string]string{"x-b3-traceid": "abc", "x-b3-spanid": "12", "x-b3-sampled": "1"}},
		{name: "multi, 32 digits with a zero high half", style: "b3multi", headers: map[string]string{"x-b3-traceid": "0000000000000000" + tid64, "x-b3-spanid": sid}},
		{name: "multi, over 32 digits", style: "b3multi", headers: map[string]string{"x-b3-traceid": "ff" + tid128, "x-b3-spanid": sid}},
		{name: "multi, zero trace ID", style: "b3multi", headers: map[string]string{"x-b3-traceid": "0000000000000000", "x-b3-spanid": sid}},
		{name: "multi, zero span ID", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid64, "x-b3-spanid": "0"}},
		{name: "multi, no span ID", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid64}},
		{name: "multi, non-hex trace ID", style: "b3multi", headers: map[string]string{"x-b3-traceid": "xyz", "x-b3-spanid": sid}},
		{name: "multi, non-hex high half", style: "b3multi", headers: map[string]string{"x-b3-traceid": "zz" + tid128[2:], "x-b3-spanid": sid},
			differs: "ddprop rejects the trace ID; dd-trace-go reads the high half as zero"},
		{name: "multi, non-hex span ID", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid64, "x-b3-spanid": "xyz"}},
		{name: "multi, sampled true", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid64, "x-b3-spanid": sid, "x-b3-sampled": "true"},
			differs: "ddprop reads true as 1, as the B3 specification asks; dd-trace-go rejects it"},
		{name: "multi, debug flag", style: "b3multi", headers: map[string]string{"x-b3-traceid": tid64, "x-b3-spanid": sid, "x-b3-flags": "1"},
			differs: "ddprop reads the debug flag as a keep; dd-trace-go ignores it"},
		{name: "single, sampled", style: "b3 single header", headers: map[string]string{"b3": tid64 + "-" + sid + "-1"}},
		{name: "single, 128-bit, not sampled, with parent", style: "b3 single header", headers: map[string]string{"b3": tid128 + "-" + sid + "-0-0000000000000001"}},
		{name: "single, debug", style: "b3 single header", headers: map[string]string{"b3": tid64 + "-" + sid + "-d"}},
		{name: "single, no decision", style: "b3 single header", headers: map[string]string{"b3": tid128 + "-" + sid}},
		{name: "single, empty decision", style: "b3 single header", headers: map[string]string{"b3": tid128 + "-" + sid + "-"}},
		{name: "single, uppercase", style: "b3 single header", headers: map[string]string{"b3": strings.ToUpper(tid128+"-"+sid) + "-1"}},
		{name: "single, bad decision", style: "b3 single header", headers: map[string]string{"b3": tid64 + "-" + sid + "-true"}},
		{name: "single, decision alone", style: "b3 single header", headers: map[string]string{"b3": "1"}},
		{name: "single, zero trace ID", style: "b3 single header", headers: map[string]string{"b3": "0-" + sid + "-1"}},
		{name: "single, zero span ID", style: "b3 single header", headers: map[string]string{"b3": tid64 + "-0-1"}},
		{name: "single, non-hex span ID", style: "b3 single header", headers: map[string]string{"b3": tid64 + "-x-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var theirs b3Result
			if sc, err := ddPropagator(tc.style).Extract(tracer.TextMapCarrier(tc.headers)); err == nil {
				theirs = b3ResultOfDD(sc)
			}
			ours := b3ResultOfOTel(trace.SpanContextFromContext(
				ddPropagatorFromEnv(t, tc.style).Extract(context.Background(), propagation.MapCarrier(tc.headers))))
			if tc.differs != "" {
				if ours == theirs {
					t.Errorf("documented difference (%s) no longer seen: both give %+v", tc.differs, ours)
				}
				return
			}
			if diff := cmp.Diff(theirs, ours); diff != "" {
				t.Errorf("%v (-dd-trace-go +ddprop):\n%s", tc.headers, diff)
			}
		})
	}
}

// B3 headers first, then a traceparent of the same trace with another
// parent (a W3C-only hop in between), with and without Datadog headers:
// ddprop settles the parent and re-injects tracestate as dd-trace-go does.
func TestB3ThenTraceContextSettledAlike(t *testing.T) {
	const (
		tid128 = "6512a4c7000000008a3c1e5f00b2d4e6"
		w3cSID = "00000000000001c8"
	)
	for _, withDatadog := range []bool{false, true} {
		for _, tracestate := range []string{"rojo=00f067aa0ba902b7", "dd=s:2;p:000000000000abcd;t.dm:-4,rojo=00f067aa0ba902b7"} {
			t.Run(fmt.Sprintf("datadog headers %v/%s", withDatadog, tracestate), func(t *testing.T) {
				headers := map[string]string{
					"x-b3-traceid": tid128,
					"x-b3-spanid":  "00f067aa0ba902b7",
					"x-b3-sampled": "1",
					"traceparent":  "00-" + tid128 + "-" + w3cSID + "-01",
					"tracestate":   tracestate,
				}
				if withDatadog {
					headers["x-datadog-trace-id"] = strconv.FormatUint(0x8a3c1e5f00b2d4e6, 10)
					headers["x-datadog-parent-id"] = "77"
					headers["x-datadog-sampling-priority"] = "1"
					headers["x-datadog-tags"] = "_dd.p.tid=6512a4c700000000"
				}
				const styles = "b3multi,tracecontext,datadog"
				dd, err := ddPropagator(styles).Extract(tracer.TextMapCarrier(headers))
				if err != nil {
					t.Fatal(err)
				}
				ddOut := tracer.TextMapCarrier{}
				if err := ddPropagator("tracecontext").Inject(dd, ddOut); err != nil {
					t.Fatal(err)
				}

				ctx := ddPropagatorFromEnv(t, styles).Extract(context.Background(), propagation.MapCarrier(headers))
				ours := propagation.MapCarrier{}
				ddprop.TraceContext{}.Inject(ctx, ours)

				theirs := map[string]string{"traceparent": ddOut["traceparent"], "tracestate": dropField(ddOut["tracestate"], "t.tid:")}
				if diff := cmp.Diff(theirs, map[string]string(ours)); diff != "" {
					t.Errorf("re-injected W3C headers (-dd-trace-go +ddprop):\n%s", diff)
				}
				if got, want := trace.SpanContextFromContext(ctx).SpanID(), dd.SpanID(); binary.BigEndian.Uint64(got[:]) != want {
					t.Errorf("parent span ID = %s, dd-trace-go has %016x", got, want)
				}
			})
		}
	}
}

// The B3 names in the configuration variables mean the same headers to
// ddprop.FromEnv as to dd-trace-go: "b3" is the multiple headers in
// DD_TRACE_PROPAGATION_STYLE and the single header in OTEL_PROPAGATORS.
func TestB3StyleNamesAlike(t *testing.T) {
	mt := mocktracer.Start()
	defer mt.Stop()
	parent, err := ddPropagator("datadog").Extract(tracer.TextMapCarrier{
		"x-datadog-trace-id": "1", "x-datadog-parent-id": "2", "x-datadog-sampling-priority": "1"})
	if err != nil {
		t.Fatal(err)
	}
	span := mt.StartSpan("op", tracer.WithStartSpanConfig(&tracer.StartSpanConfig{Parent: parent}))
	defer span.Finish()

	for _, tc := range []struct{ variable, value string }{
		{"DD_TRACE_PROPAGATION_STYLE", "b3"},
		{"DD_TRACE_PROPAGATION_STYLE", "b3multi"},
		{"DD_TRACE_PROPAGATION_STYLE", "b3 single header"},
		{"DD_TRACE_PROPAGATION_STYLE", "datadog,b3multi,b3 single header"},
		{"OTEL_PROPAGATORS", "b3"},
		{"OTEL_PROPAGATORS", "b3multi"},
		{"OTEL_PROPAGATORS", "tracecontext,b3"},
	} {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			for _, v := range []string{"DD_TRACE_PROPAGATION_STYLE", "DD_TRACE_PROPAGATION_STYLE_INJECT",
				"DD_TRACE_PROPAGATION_STYLE_EXTRACT", "OTEL_PROPAGATORS"} {
				t.Setenv(v, "")
			}
			t.Setenv(tc.variable, tc.value)
			extractFirst := false
			theirs := tracer.TextMapCarrier{}
			if err := tracer.NewPropagator(&tracer.PropagatorConfig{BehaviorExtract: "continue", ExtractFirst: &extractFirst}).
				Inject(span.Context(), theirs); err != nil {
				t.Fatal(err)
			}
			p, err := ddprop.FromEnv(nil)
			if err != nil {
				t.Fatal(err)
			}
			var cfg trace.SpanContextConfig
			cfg.TraceID[15], cfg.SpanID[7], cfg.TraceFlags = 1, 1, trace.FlagsSampled
			// Priority 1 carried without a decision maker, as in dd-trace-go's
			// span (a keep decided here would add _dd.p.dm=-0).
			if cfg.TraceState, err = (ddprop.State{Priority: 1, HasPriority: true}).Insert(trace.TraceState{}); err != nil {
				t.Fatal(err)
			}
			ours := propagation.MapCarrier{}
			p.Inject(trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(cfg)), ours)
			if diff := cmp.Diff(headerNames(theirs), headerNames(ours)); diff != "" {
				t.Errorf("headers written (-dd-trace-go +ddprop):\n%s", diff)
			}
		})
	}
}

func headerNames[M ~map[string]string](m M) []string {
	var names []string
	for k := range m {
		names = append(names, strings.ToLower(k))
	}
	slices.Sort(names)
	return names
}
