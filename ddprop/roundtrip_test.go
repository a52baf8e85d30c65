package ddprop

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// randomSpanContext returns a valid local span context with a random
// 64- or 128-bit trace ID, a random consistent priority, and sometimes an
// origin and propagated tags, all in the alphabet both formats carry.
func randomSpanContext(r *rand.Rand) (trace.SpanContext, State) {
	var cfg trace.SpanContextConfig
	for !cfg.TraceID.IsValid() {
		for i := 8; i < 16; i++ {
			cfg.TraceID[i] = byte(r.IntN(256))
		}
		if r.IntN(2) == 0 {
			for i := 0; i < 8; i++ {
				cfg.TraceID[i] = byte(r.IntN(256))
			}
		}
	}
	for !cfg.SpanID.IsValid() {
		for i := range cfg.SpanID {
			cfg.SpanID[i] = byte(r.IntN(256))
		}
	}
	st := State{Priority: r.IntN(4) - 1, HasPriority: true}
	if st.Priority > 0 {
		cfg.TraceFlags = trace.FlagsSampled
	}
	word := func() string {
		const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=+@!"
		b := make([]byte, 1+r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	if r.IntN(2) == 0 {
		st.Origin = strings.ReplaceAll(word(), "=", "x")
	}
	for n := r.IntN(5); n > 0; n-- {
		st.SetTag("_dd.p."+strings.ReplaceAll(word(), "=", "k"), word())
	}
	ts, err := st.Insert(trace.TraceState{})
	if err != nil {
		panic(err)
	}
	cfg.TraceState = ts
	return trace.NewSpanContext(cfg), st
}

// A span context injected by any style and extracted by the same style
// comes back as the same trace, parent, decision, origin and tags.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	styles := map[string]propagation.TextMapPropagator{
		"datadog":      Datadog{},
		"tracecontext": TraceContext{},
		"default":      New(),
	}
	for i := 0; i < 2000; i++ {
		sc, st := randomSpanContext(r)
		ctx := trace.ContextWithSpanContext(context.Background(), sc)
		for name, p := range styles {
			carrier := propagation.MapCarrier{}
			p.Inject(ctx, carrier)
			got := trace.SpanContextFromContext(p.Extract(context.Background(), carrier))
			gotState, _ := ParseState(got.TraceState())
			gotState.LastParent = trace.SpanID{} // p: is the injecting span for W3C
			want := viewOf(sc)
			want.Remote = true
			gotView := viewOf(got)
			want.TraceState, gotView.TraceState = "", ""
			if diff := cmp.Diff(want, gotView); diff != "" {
				t.Fatalf("%s, case %d %v: span context (-want +got):\n%s", name, i, carrier, diff)
			}
			if diff := cmp.Diff(st, gotState); diff != "" {
				t.Fatalf("%s, case %d %v: state (-want +got):\n%s", name, i, carrier, diff)
			}
			// Through tracecontext alone, p: names the injecting span. (When
			// Datadog headers win with the same parent, there is no p:.)
			if name == "tracecontext" {
				if lp, _ := LastParent(got); lp != sc.SpanID() {
					t.Fatalf("%s, case %d: p: %s, want the injecting span %s", name, i, lp, sc.SpanID())
				}
			}
		}
	}
}

// A context extracted from Datadog headers and passed on unchanged (as a
// proxy does) produces the same Datadog headers.
func TestRoundTripHeaders(t *testing.T) {
	for _, prio := range []int{-1, 0, 1, 2} {
		in := propagation.MapCarrier{
			"x-datadog-trace-id":          "1234567890123456789",
			"x-datadog-parent-id":         "987654321",
			"x-datadog-sampling-priority": strconv.Itoa(prio),
			"x-datadog-origin":            "synthetics",
			"x-datadog-tags":              "_dd.p.dm=-4,_dd.p.usr.id=dXNlcg==,_dd.p.tid=" + tid128,
		}
		ctx := Datadog{}.Extract(context.Background(), in)
		out := propagation.MapCarrier{}
		Datadog{}.Inject(ctx, out)
		if diff := cmp.Diff(in, out); diff != "" {
			t.Errorf("priority %d: headers (-in +out):\n%s", prio, diff)
		}
	}
}
