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

// result is what both sides agree a trace context says.
type result struct {
	TraceID     string // 32 hex
	SpanID      uint64
	Sampled     bool
	Priority    int
	HasPriority bool
	Origin      string
	Tags        []string // "key=value", sorted; _dd.p.tid included
	LastParent  string   // 16 hex, or ""
}

// interopCase is one trace context: 64- or 128-bit, a priority, and
// optionally an origin and propagated tags.
type interopCase struct {
	name     string
	high     uint64 // high 64 bits of the trace ID; 0 for a 64-bit ID
	low      uint64
	priority int
	origin   string
	tags     []string // _dd.p.* other than tid, "key=value"
}

func (c interopCase) traceHex() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], c.high)
	binary.BigEndian.PutUint64(b[8:], c.low)
	return fmt.Sprintf("%x", b)
}

// allTags returns the tags as x-datadog-tags holds them, tid included.
func (c interopCase) allTags() []string {
	tags := slices.Clone(c.tags)
	if c.high != 0 {
		tags = append(tags, fmt.Sprintf("_dd.p.tid=%016x", c.high))
	}
	slices.Sort(tags)
	return tags
}

func cases() []interopCase {
	var out []interopCase
	for _, bits := range []int{64, 128} {
		for _, prio := range []int{-1, 0, 1, 2} {
			for _, extras := range []bool{false, true} {
				c := interopCase{
					name:     fmt.Sprintf("%d-bit/priority %d", bits, prio),
					low:      0x8a3c1e5f00b2d4e6 + uint64(prio+1),
					priority: prio,
				}
				if bits == 128 {
					c.high = 0x6512a4c700000000
				}
				if extras {
					c.name += "/origin and tags"
					c.origin = "synthetics-browser"
					c.tags = []string{"_dd.p.usr.id=dXNlci00Mg==", "_dd.p.team=apm-core"}
					// Datadog tracers only carry a decision maker with a
					// keep decision.
					if prio > 0 {
						c.tags = append(c.tags, "_dd.p.dm=-4")
					}
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// ddPropagator returns dd-trace-go's own propagator for the given styles,
// with Datadog's default x-datadog-tags limit.
func ddPropagator(styles string) tracer.Propagator {
	extractFirst := false
	return tracer.NewPropagator(&tracer.PropagatorConfig{
		MaxTagsHeaderLen: 512,
		InjectStyle:      styles,
		ExtractStyle:     styles,
		// Fixed here so that DD_TRACE_PROPAGATION_* in the environment
		// cannot change what is compared.
		BehaviorExtract: "continue",
		ExtractFirst:    &extractFirst,
	})
}

// resultOfOTel reads what ddprop extracted.
func resultOfOTel(sc trace.SpanContext) result {
	if !sc.IsValid() {
		return result{}
	}
	tid, sid := sc.TraceID(), sc.SpanID()
	st, _ := ddprop.ParseState(sc.TraceState())
	r := result{
		TraceID:     tid.String(),
		SpanID:      binary.BigEndian.Uint64(sid[:]),
		Sampled:     sc.IsSampled(),
		Priority:    st.Priority,
		HasPriority: st.HasPriority,
		Origin:      st.Origin,
	}
	for _, t := range st.Tags {
		r.Tags = append(r.Tags, t.Key+"="+t.Value)
	}
	if tid[0]|tid[1]|tid[2]|tid[3]|tid[4]|tid[5]|tid[6]|tid[7] != 0 {
		r.Tags = append(r.Tags, "_dd.p.tid="+tid.String()[:16])
	}
	slices.Sort(r.Tags)
	if st.LastParent.IsValid() {
		r.LastParent = st.LastParent.String()
	}
	return r
}

// resultOfDD reads what dd-trace-go extracted: IDs and priority from its
// SpanContext, origin and tags from its own Datadog re-injection, and the
// last parent from its own tracestate re-injection.
func resultOfDD(t *testing.T, sc *tracer.SpanContext) result {
	t.Helper()
	if sc == nil {
		return result{}
	}
	prio, ok := sc.SamplingPriority()
	r := result{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Priority: prio, HasPriority: ok, Sampled: ok && prio > 0}
	out := tracer.TextMapCarrier{}
	if err := ddPropagator("datadog,tracecontext").Inject(sc, out); err != nil {
		t.Fatalf("dd-trace-go re-inject: %v", err)
	}
	r.Origin = out["x-datadog-origin"]
	if h := out["x-datadog-tags"]; h != "" {
		r.Tags = strings.Split(h, ",")
		slices.Sort(r.Tags)
	}
	for _, f := range strings.Split(strings.TrimPrefix(strings.Split(out["tracestate"], ",")[0], "dd="), ";") {
		if p, ok := strings.CutPrefix(f, "p:"); ok {
			r.LastParent = p
		}
	}
	return r
}

// dd-trace-go continues a trace (from Datadog headers it received) in a
// child span and calls a ddslog service: ddprop extracts what dd-trace-go
// injected, with each style.
func TestDDTraceGoInjectsDDPropExtracts(t *testing.T) {
	mt := mocktracer.Start()
	defer mt.Stop()

	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			in := tracer.TextMapCarrier{
				"x-datadog-trace-id":          strconv.FormatUint(c.low, 10),
				"x-datadog-parent-id":         "77",
				"x-datadog-sampling-priority": strconv.Itoa(c.priority),
			}
			if c.origin != "" {
				in["x-datadog-origin"] = c.origin
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
			if err := ddPropagator("datadog,tracecontext").Inject(child.Context(), headers); err != nil {
				t.Fatalf("dd-trace-go inject: %v", err)
			}
			want := result{
				TraceID:     c.traceHex(),
				SpanID:      child.Context().SpanID(),
				Sampled:     c.priority > 0,
				Priority:    c.priority,
				HasPriority: true,
				Origin:      c.origin,
				Tags:        c.allTags(),
			}
			wantW3C := want
			wantW3C.LastParent = fmt.Sprintf("%016x", child.Context().SpanID())

			for _, tc := range []struct {
				name string
				p    propagation.TextMapPropagator
				want result
			}{
				{"datadog", ddprop.Datadog{}, want},
				{"tracecontext", ddprop.TraceContext{}, wantW3C},
				{"default", ddprop.New(), want},
			} {
				ctx := tc.p.Extract(context.Background(), propagation.MapCarrier(headers))
				if diff := cmp.Diff(tc.want, resultOfOTel(trace.SpanContextFromContext(ctx))); diff != "" {
					t.Errorf("ddprop %s extracted from %v (-want +got):\n%s", tc.name, headers, diff)
				}
			}
		})
	}
}

// A ddslog service calls one traced by dd-trace-go: dd-trace-go extracts
// what ddprop injected, with each style.
func TestDDPropInjectsDDTraceGoExtracts(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			st := ddprop.State{Priority: c.priority, HasPriority: true, Origin: c.origin}
			for _, kv := range c.tags {
				k, v, _ := strings.Cut(kv, "=")
				st.SetTag(k, v)
			}
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

			headers := propagation.MapCarrier{}
			ddprop.New().Inject(ctx, headers)

			want := result{
				TraceID:     c.traceHex(),
				SpanID:      0x00f067aa0ba902b7,
				Sampled:     c.priority > 0,
				Priority:    c.priority,
				HasPriority: true,
				Origin:      c.origin,
				Tags:        c.allTags(),
			}
			for _, tc := range []struct {
				styles     string
				lastParent string
			}{
				// A context dd-trace-go extracted from Datadog headers alone
				// counts as local: it writes p: as its own span.
				{"datadog", "00f067aa0ba902b7"},
				// From tracecontext it keeps the p: ddprop sent.
				{"tracecontext", "00f067aa0ba902b7"},
				// From both with one parent, the context is remote with no
				// other Datadog parent: no p:.
				{"datadog,tracecontext", ""},
			} {
				styles := tc.styles
				want.LastParent = tc.lastParent
				sc, err := ddPropagator(styles).Extract(tracer.TextMapCarrier(headers))
				if err != nil {
					t.Fatalf("dd-trace-go %s extract from %v: %v", styles, headers, err)
				}
				if diff := cmp.Diff(want, resultOfDD(t, sc)); diff != "" {
					t.Errorf("dd-trace-go %s extracted from %v (-want +got):\n%s", styles, headers, diff)
				}
			}
		})
	}
}

// Datadog and W3C headers for the same trace with different parents (a
// W3C-only hop in between): ddprop settles them as dd-trace-go does. The
// W3C parent wins, and the Datadog parent is kept as the last Datadog
// parent, which both re-inject as tracestate p:.
func TestConflictingParentsSettledAlike(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tracestate string
	}{
		{"no p in tracestate: the Datadog parent", "dd=s:2;t.dm:-4,rojo=00f067aa0ba902b7"},
		{"p in tracestate wins", "dd=s:2;p:000000000000abcd;t.dm:-4,rojo=00f067aa0ba902b7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{
				"x-datadog-trace-id":          strconv.FormatUint(0x8a3c1e5f00b2d4e6, 10),
				"x-datadog-parent-id":         "77",
				"x-datadog-sampling-priority": "2",
				"x-datadog-origin":            "rum",
				"x-datadog-tags":              "_dd.p.dm=-4,_dd.p.tid=6512a4c700000000",
				"traceparent":                 "00-6512a4c7000000008a3c1e5f00b2d4e6-00000000000001c8-01",
				"tracestate":                  tc.tracestate,
			}

			dd, err := ddPropagator("datadog,tracecontext").Extract(tracer.TextMapCarrier(headers))
			if err != nil {
				t.Fatal(err)
			}
			ddOut := tracer.TextMapCarrier{}
			if err := ddPropagator("tracecontext").Inject(dd, ddOut); err != nil {
				t.Fatal(err)
			}

			ctx := ddprop.New().Extract(context.Background(), propagation.MapCarrier(headers))
			ours := propagation.MapCarrier{}
			ddprop.TraceContext{}.Inject(ctx, ours)

			// dd-trace-go also writes t.tid; ddprop leaves it to the trace ID.
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

// dropField removes fields starting with prefix from the dd= member of a
// tracestate and sorts the member's t.* fields, whose order dd-trace-go
// does not fix.
func dropField(tracestate, prefix string) string {
	members := strings.Split(tracestate, ",")
	for i, m := range members {
		v, ok := strings.CutPrefix(m, "dd=")
		if !ok {
			continue
		}
		var head, tags []string
		for _, f := range strings.Split(v, ";") {
			switch {
			case strings.HasPrefix(f, prefix):
			case strings.HasPrefix(f, "t."):
				tags = append(tags, f)
			default:
				head = append(head, f)
			}
		}
		slices.Sort(tags)
		members[i] = "dd=" + strings.Join(append(head, tags...), ";")
	}
	return strings.Join(members, ",")
}

// Malformed or oversized Datadog headers: ddprop and dd-trace-go agree on
// whether there is a trace context and on its trace ID, apart from the
// differences ddprop documents.
func TestMalformedDatadogHeadersAlike(t *testing.T) {
	base := map[string]string{
		"x-datadog-trace-id":          "1234567890123456789",
		"x-datadog-parent-id":         "987654321",
		"x-datadog-sampling-priority": "1",
	}
	for _, tc := range []struct {
		name    string
		set     map[string]string
		drop    string
		differs string // why ddprop differs on purpose, or ""
	}{
		{name: "valid"},
		{name: "non-numeric trace ID", set: map[string]string{"x-datadog-trace-id": "abc"}},
		{name: "zero trace ID", set: map[string]string{"x-datadog-trace-id": "0"}},
		{name: "zero low half under a tid", set: map[string]string{"x-datadog-trace-id": "0", "x-datadog-tags": "_dd.p.tid=640cfd8d00000000"}},
		{name: "trace ID overflow", set: map[string]string{"x-datadog-trace-id": "18446744073709551616"}},
		{name: "negative trace ID", set: map[string]string{"x-datadog-trace-id": "-5"}},
		{name: "non-numeric parent ID", set: map[string]string{"x-datadog-parent-id": "x1"}},
		{name: "zero parent ID", set: map[string]string{"x-datadog-parent-id": "0"}},
		{name: "missing parent ID", drop: "x-datadog-parent-id"},
		{name: "non-numeric priority", set: map[string]string{"x-datadog-sampling-priority": "keep"}},
		{name: "no priority", drop: "x-datadog-sampling-priority"},
		{name: "oversized tags", set: map[string]string{"x-datadog-tags": "_dd.p.tid=640cfd8d00000000,_dd.p.x=" + strings.Repeat("y", 500)}},
		{name: "undecodable tags", set: map[string]string{"x-datadog-tags": "_dd.p.dm=-4,,"}},
		{name: "valid tid", set: map[string]string{"x-datadog-tags": "_dd.p.tid=640cfd8d00000000"}},
		{name: "uppercase tid", set: map[string]string{"x-datadog-tags": "_dd.p.tid=640CFD8D00000000"},
			differs: "ddprop rejects a bad _dd.p.tid; dd-trace-go keeps the 64-bit trace"},
		{name: "synthetics without parent ID", set: map[string]string{"x-datadog-origin": "synthetics"}, drop: "x-datadog-parent-id",
			differs: "an OpenTelemetry span context needs a parent ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			for k, v := range base {
				h[k] = v
			}
			for k, v := range tc.set {
				h[k] = v
			}
			delete(h, tc.drop)

			theirs := ""
			if sc, err := ddPropagator("datadog").Extract(tracer.TextMapCarrier(h)); err == nil && sc != nil {
				theirs = sc.TraceID()
			}
			ours := ""
			if sc := trace.SpanContextFromContext(ddprop.Datadog{}.Extract(context.Background(), propagation.MapCarrier(h))); sc.IsValid() {
				ours = sc.TraceID().String()
			}
			if tc.differs != "" {
				if ours == theirs {
					t.Errorf("documented difference (%s) no longer seen: both give %q", tc.differs, ours)
				}
				return
			}
			if ours != theirs {
				t.Errorf("trace ID: dd-trace-go %q, ddprop %q", theirs, ours)
			}
		})
	}
}

// A traceparent's sampled flag and the dd= member's s: can disagree (a
// non-Datadog hop made its own decision): ddprop settles priority and
// decision maker as dd-trace-go does.
func TestTraceContextPrioritySettledAlike(t *testing.T) {
	for _, flags := range []string{"00", "01"} {
		for _, s := range []string{"", "s:-1;", "s:0;", "s:1;", "s:2;", "s:x;"} {
			for _, dm := range []string{"", "t.dm:-4;"} {
				tracestate := strings.TrimSuffix("dd="+s+"o:rum;"+dm, ";") + ",rojo=00f067aa0ba902b7"
				headers := map[string]string{
					"traceparent": "00-00000000000000008a3c1e5f00b2d4e6-00000000000001c8-" + flags,
					"tracestate":  tracestate,
				}
				t.Run(flags+"/"+tracestate, func(t *testing.T) {
					sc, err := ddPropagator("tracecontext").Extract(tracer.TextMapCarrier(headers))
					if err != nil {
						t.Fatal(err)
					}
					theirs := resultOfDD(t, sc)
					ours := resultOfOTel(trace.SpanContextFromContext(
						ddprop.TraceContext{}.Extract(context.Background(), propagation.MapCarrier(headers))))
					theirs.LastParent, ours.LastParent = "", ""
					if diff := cmp.Diff(theirs, ours); diff != "" {
						t.Errorf("(-dd-trace-go +ddprop):\n%s", diff)
					}
				})
			}
		}
	}
}

// A tracestate whose dd= member is sound but which also holds a member the
// W3C grammar rejects (another vendor's mistake), or more than 32 members:
// dd-trace-go still reads the dd= member (priority, decision maker, origin,
// tags, last parent), and so must ddprop, rather than fall back on the
// sampled flag alone and lose the origin and tags.
func TestMalformedTracestateAlike(t *testing.T) {
	const dd = "dd=s:2;o:synthetics;p:000000000000abcd;t.dm:-4;t.usr.id:dXNlcg~~"
	many := []string{dd}
	for i := range 32 {
		many = append(many, fmt.Sprintf("v%d=x", i))
	}
	for _, tc := range []struct {
		name       string
		tracestate string
	}{
		{"a value with =", dd + ",rojo=00f0=67aa"},
		{"a value over 256 bytes", dd + ",rojo=" + strings.Repeat("x", 300)},
		{"an upper-case key", dd + ",Rojo=1"},
		{"a member without =", "rojo," + dd},
		{"a key given twice", "rojo=1," + dd + ",rojo=2"},
		{"33 members", strings.Join(many, ",")},
	} {
		for _, flags := range []string{"00", "01"} {
			headers := map[string]string{
				"traceparent": "00-6512a4c7000000008a3c1e5f00b2d4e6-00000000000001c8-" + flags,
				"tracestate":  tc.tracestate,
			}
			t.Run(tc.name+"/"+flags, func(t *testing.T) {
				sc, err := ddPropagator("tracecontext").Extract(tracer.TextMapCarrier(headers))
				if err != nil {
					t.Fatal(err)
				}
				theirs := resultOfDD(t, sc)
				theirs.LastParent = "" // dd-trace-go writes its own p: on re-injection
				oursSC := trace.SpanContextFromContext(ddprop.TraceContext{}.Extract(context.Background(), propagation.MapCarrier(headers)))
				ours := resultOfOTel(oursSC)
				if ours.LastParent != "000000000000abcd" {
					t.Errorf("last parent %q, want the tracestate's 000000000000abcd", ours.LastParent)
				}
				ours.LastParent = ""
				if diff := cmp.Diff(theirs, ours); diff != "" {
					t.Errorf("(-dd-trace-go +ddprop):\n%s", diff)
				}
			})
		}
	}
}

// x-datadog-tags under Datadog's 512-byte limit but past what the 256-byte
// dd= member (where ddprop keeps the tags) can hold: the decision maker
// must survive, whatever its place in the header, as it does in
// dd-trace-go, and a tag ddprop leaves out where dd-trace-go passes it on
// must be reported as a propagation error rather than lost silently.
func TestLongDatadogTagsCarriedAlike(t *testing.T) {
	long := "_dd.p.usr.id=" + strings.Repeat("a", 230)
	for _, tc := range []struct {
		name string
		tags string
	}{
		{"decision maker first", "_dd.p.dm=-4," + long},
		{"decision maker last", long + ",_dd.p.dm=-4"},
		{"decision maker last, 128-bit", long + ",_dd.p.dm=-4,_dd.p.tid=6512a4c700000000"},
		{"all fit", "_dd.p.usr.id=dXNlcg==,_dd.p.dm=-4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{
				"x-datadog-trace-id":          "1234567890123456789",
				"x-datadog-parent-id":         "987654321",
				"x-datadog-sampling-priority": "2",
				"x-datadog-origin":            "rum",
				"x-datadog-tags":              tc.tags,
			}
			sc, err := ddPropagator("datadog").Extract(tracer.TextMapCarrier(headers))
			if err != nil {
				t.Fatal(err)
			}
			theirs := resultOfDD(t, sc)

			ctx := ddprop.New().Extract(context.Background(), propagation.MapCarrier(headers))
			ours := resultOfOTel(trace.SpanContextFromContext(ctx))

			if !slices.Contains(ours.Tags, "_dd.p.dm=-4") {
				t.Errorf("ddprop lost the decision maker: tags %q, dd-trace-go %q", ours.Tags, theirs.Tags)
			}
			var lost []string
			for _, tag := range theirs.Tags {
				if !slices.Contains(ours.Tags, tag) {
					lost = append(lost, tag)
				}
			}
			perr := ddprop.PropagationError(ctx)
			if len(lost) > 0 && perr != "extract_max_size" {
				t.Errorf("ddprop left out %q, which dd-trace-go passes on, and reports propagation error %q, want extract_max_size", lost, perr)
			}
			if len(lost) == 0 && perr != "" {
				t.Errorf("ddprop kept every tag and reports propagation error %q", perr)
			}
		})
	}
}
