package agentcompat

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"testing"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/seed03c8c003/ddslog/ddexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	tracesdk "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// shown is a span as Datadog shows it, for the differential comparison:
// every field the two paths must agree on, with events and links decoded
// whichever way they travelled.
type shown struct {
	Service  string
	Name     string
	Resource string
	Type     string
	Error    int32
	Meta     map[string]string
	Metrics  map[string]float64
	Events   any
	Links    any
}

// The deliberate differences between ddexport and the Agent's own OTLP
// path, each documented in docs/COMPATIBILITY.md. Keys listed here are
// taken out of the ddexport side (and, for chunk data, of both sides)
// before the comparison; TestDDExport asserts their values.
var (
	// ddexportOnlyMeta is information the Agent's OTLP path loses.
	ddexportOnlyMeta = []string{
		"_dd.p.tid",   // high 64 bits of the 128-bit trace ID
		"error.type",  // from the exception event
		"error.stack", // from the exception event
	}
	// chunkMeta and chunkMetrics carry the sampling decision; the two paths
	// put them on different spans of the chunk (the OTLP receiver on the
	// first span it converted), and the decision maker differs: the Agent's
	// OTLP receiver decides itself (-9), ddexport passes the SDK's decision.
	chunkMeta    = []string{"_dd.p.dm"}
	chunkMetrics = []string{"_sampling_priority_v1"}
	// ddexportOnlyMetrics are ddexport's own marks, which the Agent turns
	// into its own (_dd.top_level into _top_level): compared through those.
	ddexportOnlyMetrics = []string{"_dd.top_level"}
)

// topLevelDifference reports whether ddexport deliberately marks span cs
// top-level where the Agent's span-kind rule does not: a span under a
// remote parent, of another kind than server or consumer, is a service
// entry for Datadog's tracers and for ddexport.
func topLevelDifference(cs corpusSpan) bool {
	k := cs.stub.SpanKind
	return cs.stub.Parent.IsValid() && cs.stub.Parent.IsRemote() && k != trace.SpanKindServer && k != trace.SpanKindConsumer
}

// otlpShown is a span of the OTLP path as shown.
func otlpShown(s *pb.Span) shown {
	v := shown{
		Service: s.Service, Name: s.Name, Resource: s.Resource, Type: s.Type, Error: s.Error,
		Meta: maps.Clone(s.Meta), Metrics: maps.Clone(s.Metrics),
	}
	v.Events = metaJSON(v.Meta, "events")
	v.Links = metaJSON(v.Meta, "_dd.span_links")
	delete(v.Meta, "events")
	delete(v.Meta, "_dd.span_links")
	for _, k := range chunkMeta {
		delete(v.Meta, k)
	}
	for _, k := range chunkMetrics {
		delete(v.Metrics, k)
	}
	return v
}

// ddShown is a span of the ddexport path as shown, with the deliberate
// differences taken out.
func ddShown(s *pb.Span, cs corpusSpan) shown {
	v := shown{
		Service: s.Service, Name: s.Name, Resource: s.Resource, Type: s.Type, Error: s.Error,
		Meta: maps.Clone(s.Meta), Metrics: maps.Clone(s.Metrics),
	}
	if len(s.SpanEvents) > 0 {
		v.Events = nativeEventsJSON(s.SpanEvents)
	} else {
		v.Events = metaJSON(v.Meta, "events")
	}
	if len(s.SpanLinks) > 0 {
		v.Links = nativeLinksJSON(s.SpanLinks)
	} else {
		v.Links = metaJSON(v.Meta, "_dd.span_links")
	}
	v.Links = withoutTracestate(v.Links)
	// Non-finite floats: ddexport writes them into JSON as strings; the
	// Agent cannot encode them and writes "redacted" (event attributes) or
	// an empty string (slice attributes in meta).
	v.Events = redactNonFinite(v.Events, cs.stub.Events)
	for _, kv := range cs.stub.Attributes {
		if kv.Value.Type() == attribute.FLOAT64SLICE && slices.ContainsFunc(kv.Value.AsFloat64Slice(), nonFinite) {
			if _, ok := v.Meta[string(kv.Key)]; ok {
				v.Meta[string(kv.Key)] = ""
			}
		}
	}
	delete(v.Meta, "events")
	delete(v.Meta, "_dd.span_links")
	for _, k := range ddexportOnlyMeta {
		delete(v.Meta, k)
	}
	for _, k := range chunkMeta {
		delete(v.Meta, k)
	}
	for _, k := range chunkMetrics {
		delete(v.Metrics, k)
	}
	for _, k := range ddexportOnlyMetrics {
		delete(v.Metrics, k)
	}
	if topLevelDifference(cs) {
		delete(v.Metrics, "_top_level")
	}
	// error.message (Datadog tracers, Error Tracking) for error.msg (the
	// Agent's OTLP path); a message taken from the exception event when the
	// status has none is ddexport's own.
	if msg, ok := v.Meta["error.message"]; ok {
		delete(v.Meta, "error.message")
		if !messageFromException(cs) {
			v.Meta["error.msg"] = msg
		}
	}
	return v
}

// nativeEventsJSON renders native span events as the Agent's OTLP path
// renders events in meta.
func nativeEventsJSON(events []*pb.SpanEvent) any {
	out := make([]any, 0, len(events))
	for _, e := range events {
		m := map[string]any{"time_unix_nano": float64(e.TimeUnixNano), "name": e.Name}
		if len(e.Attributes) > 0 {
			attrs := map[string]any{}
			for k, v := range e.Attributes {
				attrs[k] = jsonOf(pbValue(v))
			}
			m["attributes"] = attrs
		}
		out = append(out, m)
	}
	return out
}

// nativeLinksJSON renders native span links as the Agent's OTLP path
// renders links in meta.
func nativeLinksJSON(links []*pb.SpanLink) any {
	out := make([]any, 0, len(links))
	for _, l := range links {
		m := map[string]any{
			"trace_id": hex16(l.TraceIDHigh) + hex16(l.TraceID),
			"span_id":  hex16(l.SpanID),
		}
		if l.Tracestate != "" {
			m["tracestate"] = l.Tracestate
		}
		if len(l.Attributes) > 0 {
			attrs := map[string]any{}
			for k, v := range l.Attributes {
				attrs[k] = v
			}
			m["attributes"] = attrs
		}
		out = append(out, m)
	}
	return out
}

// withoutTracestate drops the link tracestate, which the OpenTelemetry Go
// OTLP exporter does not send.
func withoutTracestate(links any) any {
	l, ok := links.([]any)
	if !ok {
		return links
	}
	out := make([]any, len(l))
	for i, x := range l {
		if m, ok := x.(map[string]any); ok {
			m = maps.Clone(m)
			delete(m, "tracestate")
			x = m
		}
		out[i] = x
	}
	return out
}

// TestDifferentialOTLP sends the same corpus through the Agent's OTLP
// receiver and with ddexport, and requires every span to show the same in
// both, but for the deliberate differences above.
func TestDifferentialOTLP(t *testing.T) { testDifferentialOTLP(t, false) }

func testDifferentialOTLP(t *testing.T, strict bool) { differential(t, corpus(), strict) }

// differential is TestDifferentialOTLP on the corpus c; with strict, the
// known mismatches are not applied.
func differential(t *testing.T, c []corpusSpan, strict bool) {
	// The reference marks top-level and measured spans by span kind, the
	// rule ddexport follows (a default 7.85 Agent has that feature off and
	// computes top-level per chunk: docs/COMPATIBILITY.md).
	ref := newRealAgent(t, agentOptions{spanEvents: true, topLevelBySpanKind: true})
	exportOTLP(t, ref, c)
	want := collect(t, ref, len(c))

	for _, tc := range []struct {
		name       string
		version    ddexport.APIVersion
		spanEvents bool
	}{
		{"v0.4/native-span-events", ddexport.V04, true},
		{"v0.4/no-span-events", ddexport.V04, false},
		{"v0.5", ddexport.V05, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ra := newRealAgent(t, agentOptions{spanEvents: tc.spanEvents})
			if tc.spanEvents && tc.version == ddexport.V04 {
				exportDDNative(t, ra, c, ddexport.WithAPIVersion(tc.version))
			} else {
				exportDD(t, ra, c, ddexport.WithAPIVersion(tc.version))
			}
			got := collect(t, ra, len(c))
			for _, cs := range c {
				id := sid64(cs.stub.SpanContext.SpanID())
				o, d := want.spans[id], got.spans[id]
				if o == nil || d == nil {
					t.Errorf("span %#x %q: in OTLP path %v, in ddexport path %v", id, cs.stub.Name, o != nil, d != nil)
					continue
				}
				// The Agent turned ddexport's marks into its own.
				if d.Metrics["_dd.top_level"] != d.Metrics["_top_level"] {
					t.Errorf("span %#x %q: _dd.top_level %v but _top_level %v after the Agent", id, cs.stub.Name, d.Metrics["_dd.top_level"], d.Metrics["_top_level"])
				}
				if topLevelDifference(cs) && d.Metrics["_top_level"] != 1 {
					t.Errorf("span %#x %q under a remote parent: not top-level", id, cs.stub.Name)
				}
				dv := ddShown(d, cs)
				if !strict {
					for _, p := range applyKnownShown(id, &dv) {
						t.Errorf("span %#x %q: %s", id, cs.stub.Name, p)
					}
				}
				if diff := cmp.Diff(otlpShown(o), dv, cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); diff != "" {
					t.Errorf("span %#x %q (-OTLP path +ddexport):\n%s", id, cs.stub.Name, diff)
				}
			}
			// The sampling decision: both keep every chunk with priority 1.
			for id, ch := range got.chunkOf {
				if o := want.chunkOf[id]; o != nil && (o.Priority != ch.Priority || o.DroppedTrace != ch.DroppedTrace) {
					t.Errorf("span %#x: chunk priority %d dropped %v, OTLP path %d %v", id, ch.Priority, ch.DroppedTrace, o.Priority, o.DroppedTrace)
				}
			}
		})
	}
}

// jsonOf is v as encoding/json decodes it into an any.
func jsonOf(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return "not JSON: " + err.Error()
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return "not JSON: " + err.Error()
	}
	return out
}

// hex16 is v as 16 lowercase hex digits.
func hex16(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

func nonFinite(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

// redactNonFinite replaces, in events rendered as JSON, the attributes
// whose value holds a non-finite float with "redacted".
func redactNonFinite(events any, stub []tracesdk.Event) any {
	list, ok := events.([]any)
	if !ok || len(list) != len(stub) {
		return events
	}
	for i, e := range stub {
		m, ok := list[i].(map[string]any)
		if !ok {
			continue
		}
		attrs, ok := m["attributes"].(map[string]any)
		if !ok {
			continue
		}
		for _, kv := range e.Attributes {
			switch {
			case kv.Value.Type() == attribute.FLOAT64 && nonFinite(kv.Value.AsFloat64()),
				kv.Value.Type() == attribute.FLOAT64SLICE && slices.ContainsFunc(kv.Value.AsFloat64Slice(), nonFinite):
				attrs[string(kv.Key)] = "redacted"
			}
		}
	}
	return events
}

// messageFromException reports whether ddexport takes the error message of
// the span from an exception event: the span is in error, its status has
// no description, and it has an exception event with a message.
func messageFromException(cs corpusSpan) bool {
	if cs.stub.Status.Code != codes.Error || cs.stub.Status.Description != "" {
		return false
	}
	for _, e := range cs.stub.Events {
		if e.Name != "exception" {
			continue
		}
		for _, kv := range e.Attributes {
			if kv.Key == "exception.message" {
				return true
			}
		}
	}
	return false
}

// TestDifferentialTopLevel compares the top-level and measured marks of
// spans of every kind, without a parent, under a parent in the same
// request, and under a remote parent, between the Agent's OTLP path with
// its span-kind rule (enable_otlp_compute_top_level_by_span_kind) and
// ddexport's own marks taken by a default Agent (classic and default
// processing paths). They agree but for the deliberate difference: a span
// under a remote parent is top-level for ddexport whatever its kind.
func TestDifferentialTopLevel(t *testing.T) {
	kinds := []trace.SpanKind{trace.SpanKindUnspecified, trace.SpanKindInternal, trace.SpanKindServer,
		trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer}
	res := resource.NewSchemaless(attribute.String("service.name", "marks"))
	var c []corpusSpan
	n := uint64(0)
	for _, k := range kinds {
		for _, pc := range []string{"no parent", "local parent", "remote parent"} {
			n++
			tid := traceID(0x6553e4fd_00000000, n)
			s := tracetest.SpanStub{
				Name: k.String() + ", " + pc, SpanContext: sc(tid, 0xd000+4*n), SpanKind: k,
				StartTime: at(10_000), EndTime: at(10_001), Resource: res,
			}
			switch pc {
			case "local parent":
				s.Parent = sc(tid, 0xd001+4*n)
				c = append(c, corpusSpan{stub: tracetest.SpanStub{
					Name: "parent", SpanContext: s.Parent, SpanKind: trace.SpanKindInternal,
					StartTime: at(10_000), EndTime: at(10_002), Resource: res,
				}})
			case "remote parent":
				s.Parent = remote(tid, 0xd002+4*n)
			}
			c = append(c, corpusSpan{stub: s})
		}
	}
	type marks struct{ TopLevel, Measured bool }
	markOf := func(m map[string]float64) marks {
		return marks{m["_top_level"] == 1, m["_dd.measured"] == 1}
	}
	ref := newRealAgent(t, agentOptions{spanEvents: true, topLevelBySpanKind: true})
	exportOTLP(t, ref, c)
	want := collect(t, ref, len(c))
	bothPaths(t, agentOptions{spanEvents: true}, func(t *testing.T, ra *realAgent) {
		exportDD(t, ra, c)
		for _, cs := range c {
			id := sid64(cs.stub.SpanContext.SpanID())
			o := markOf(want.spans[id].Metrics)
			s := findSpan(t, ra, len(c), id)
			top, _ := s.metric("_top_level")
			measured, _ := s.metric("_dd.measured")
			d := marks{top == 1, measured == 1}
			if topLevelDifference(cs) {
				if !d.TopLevel {
					t.Errorf("span %q: not top-level", cs.stub.Name)
				}
				d.TopLevel = o.TopLevel
			}
			if d != o {
				t.Errorf("span %q: ddexport %+v, OTLP path %+v", cs.stub.Name, d, o)
			}
		}
	})
}
