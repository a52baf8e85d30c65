package agentcompat

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	tracesdk "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// exportDD sends the corpus with ddexport to the agent's receiver, checks
// that the exporter accounted every span as exported, and returns its
// counters.
func exportDD(t *testing.T, ra *realAgent, c []corpusSpan, opts ...ddexport.Option) ddexport.Stats {
	t.Helper()
	return exportWith(t, ra, c, false, opts...)
}

// exportDDNative is exportDD once the exporter sends native span events:
// its first export waits only briefly for the Agent's /info, which a loaded
// machine may not answer in time, so warm-up spans go first until one
// arrives with native events. The capture is then cleared.
func exportDDNative(t *testing.T, ra *realAgent, c []corpusSpan, opts ...ddexport.Option) ddexport.Stats {
	t.Helper()
	return exportWith(t, ra, c, true, opts...)
}

func exportWith(t *testing.T, ra *realAgent, c []corpusSpan, native bool, opts ...ddexport.Option) ddexport.Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	exp, err := ddexport.New(append([]ddexport.Option{ddexport.WithAgentURL(ra.URL())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	warmups := 0
	for native {
		warmups++
		id := 0xf0000000 + uint64(warmups)
		warm := tracetest.SpanStubs{{
			Name: "warm-up", SpanContext: sc(traceID(0, id), id), SpanKind: trace.SpanKindInternal,
			StartTime: at(-1000), EndTime: at(-999),
			Events: []tracesdk.Event{{Name: "warm-up", Time: at(-1000)}},
		}}
		if err := exp.ExportSpans(ctx, warm.Snapshots()); err != nil {
			t.Fatalf("warm-up export: %v", err)
		}
		ra.writer.waitSpans(t, warmups)
		if ra.writer.nativeEvents(id) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("after %d warm-up spans, ddexport still sends no native span events to an Agent whose /info offers them", warmups)
		}
	}
	ra.writer.reset()
	ra.warmups = warmups
	if err := exp.ExportSpans(ctx, stubs(c).Snapshots()); err != nil {
		t.Errorf("ExportSpans: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	st := exp.Stats()
	if st.SpansExported != uint64(len(c)+warmups) || st.SpansDropped != 0 || st.Rejections != 0 {
		t.Errorf("exporter stats: exported %d, dropped %d (%+v), rejections %d, last error %q; want %d exported, none dropped",
			st.SpansExported, st.SpansDropped, st.Dropped, st.Rejections, st.LastError, len(c)+warmups)
	}
	return st
}

// ddWant turns the corpus expectation of a span (the Agent's own OTLP
// mapping) into what ddexport must produce: the same, plus the deliberate
// differences listed in docs/COMPATIBILITY.md and, unless strict, the
// known mismatches.
func ddWant(roots map[uint64]bool, strict bool) func(corpusSpan) want {
	return func(cs corpusSpan) want {
		w := cs.want
		w.Meta = maps.Clone(w.Meta)
		if w.Meta == nil {
			w.Meta = map[string]string{}
		}
		w.Absent = slices.Clone(w.Absent)
		tid := cs.stub.SpanContext.TraceID()
		// 128-bit trace IDs: the high half rides on the chunk's root span.
		if roots[sid64(cs.stub.SpanContext.SpanID())] {
			if high64(tid) != 0 {
				w.Meta["_dd.p.tid"] = tid.String()[:16]
			} else {
				w.Absent = append(w.Absent, "_dd.p.tid")
			}
		}
		// The error message is error.message, as Datadog tracers and Error
		// Tracking have it, where the Agent's OTLP path writes error.msg.
		for i, k := range w.Absent {
			if k == "error.msg" {
				w.Absent[i] = "error.message"
			}
		}
		w.Absent = append(w.Absent, "error.msg")
		if msg, ok := w.Meta["error.msg"]; ok {
			delete(w.Meta, "error.msg")
			w.Meta["error.message"] = msg
		}
		// A span in error takes its error type, stack and (when the status
		// has no description) message from its exception event.
		if cs.stub.Status.Code == codes.Error {
			for _, e := range cs.stub.Events {
				if e.Name != "exception" {
					continue
				}
				for _, kv := range e.Attributes {
					switch kv.Key {
					case "exception.type":
						w.Meta["error.type"] = kv.Value.AsString()
					case "exception.stacktrace":
						w.Meta["error.stack"] = kv.Value.AsString()
					case "exception.message":
						if cs.stub.Status.Description == "" {
							w.Meta["error.message"] = kv.Value.AsString()
						}
					}
				}
			}
		}
		if !strict {
			w = applyKnown(sid64(cs.stub.SpanContext.SpanID()), w)
		}
		return w
	}
}

// roots returns the span IDs of the corpus spans whose parent is not in
// the corpus: the roots of their chunks.
func roots(c []corpusSpan) map[uint64]bool {
	in := map[uint64]bool{}
	for _, cs := range c {
		in[sid64(cs.stub.SpanContext.SpanID())] = true
	}
	out := map[uint64]bool{}
	for _, cs := range c {
		if !cs.stub.Parent.IsValid() || !in[sid64(cs.stub.Parent.SpanID())] {
			out[sid64(cs.stub.SpanContext.SpanID())] = true
		}
	}
	return out
}

// TestDDExport sends the corpus with ddexport over v0.4 (to an agent with
// and without native span events) and v0.5, through the receiver's
// handlers and the agent's Process, and checks every span.
func TestDDExport(t *testing.T) { testDDExport(t, false) }

func testDDExport(t *testing.T, strict bool) {
	for _, tc := range []struct {
		name       string
		version    ddexport.APIVersion
		spanEvents bool
		native     bool
	}{
		{"v0.4/native-span-events", ddexport.V04, true, true},
		{"v0.4/no-span-events", ddexport.V04, false, false},
		{"v0.5", ddexport.V05, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ra := newRealAgent(t, agentOptions{spanEvents: tc.spanEvents})
			c := corpus()
			if tc.native {
				exportDDNative(t, ra, c, ddexport.WithAPIVersion(tc.version))
			} else {
				exportDD(t, ra, c, ddexport.WithAPIVersion(tc.version))
			}
			path := "/" + tc.version.String() + "/traces"
			for _, code := range ra.Statuses(path) {
				if code != http.StatusOK {
					t.Errorf("%s answered %d", path, code)
				}
			}
			if len(ra.Statuses(path)) == 0 {
				t.Fatalf("no request to %s", path)
			}
			p := collect(t, ra, len(c))
			checkCorpus(t, c, p, ddWant(roots(c), strict))
			ra.checkReceiverStats(t, tc.version.String(), len(c))
			for _, cs := range c {
				got := p.spans[sid64(cs.stub.SpanContext.SpanID())]
				if got == nil {
					continue
				}
				checkEventsAndLinks(t, cs, got, tc.native)
			}
		})
	}
}

// checkEventsAndLinks asserts how span events and links arrived: native,
// or as the "events" and "_dd.span_links" meta JSON of the Agent's OTLP
// path (with the link tracestate the OTLP exporter loses).
func checkEventsAndLinks(t *testing.T, cs corpusSpan, got *pb.Span, native bool) {
	t.Helper()
	name := cs.stub.Name
	if native {
		if diff := cmp.Diff(wantEvents(cs.stub.Events), gotEvents(got.SpanEvents)); diff != "" {
			t.Errorf("span %q: native span events (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(wantLinks(cs.stub.Links), gotLinks(got.SpanLinks)); diff != "" {
			t.Errorf("span %q: native span links (-want +got):\n%s", name, diff)
		}
		for _, k := range []string{"events", "_dd.span_links"} {
			if _, ok := got.Meta[k]; ok {
				t.Errorf("span %q: meta %q sent along with native events and links", name, k)
			}
		}
		return
	}
	if len(got.SpanEvents) > 0 || len(got.SpanLinks) > 0 {
		t.Errorf("span %q: native events or links sent to an agent that did not ask for them", name)
	}
	if diff := cmp.Diff(eventsJSON(cs.stub.Events, true), metaJSON(got.Meta, "events")); diff != "" {
		t.Errorf("span %q: meta events (-want +got):\n%s", name, diff)
	}
	if diff := cmp.Diff(linksJSON(cs.stub.Links, true), metaJSON(got.Meta, "_dd.span_links")); diff != "" {
		t.Errorf("span %q: meta _dd.span_links (-want +got):\n%s", name, diff)
	}
}

// event is a native span event in plain Go values: attribute values are
// string, bool, int64, float64 or []any of those, so that an int sent for
// a double shows.
type event struct {
	Time  uint64
	Name  string
	Attrs map[string]any
}

func wantEvents(events []tracesdk.Event) []event {
	var out []event
	for _, e := range events {
		ev := event{Time: uint64(e.Time.UnixNano()), Name: e.Name}
		for _, kv := range e.Attributes {
			if ev.Attrs == nil {
				ev.Attrs = map[string]any{}
			}
			ev.Attrs[string(kv.Key)] = typedValue(kv.Value)
		}
		out = append(out, ev)
	}
	return out
}

func typedValue(v attribute.Value) any {
	switch v.Type() {
	case attribute.BOOL:
		return v.AsBool()
	case attribute.INT64:
		return v.AsInt64()
	case attribute.FLOAT64:
		return v.AsFloat64()
	case attribute.STRING:
		return v.AsString()
	case attribute.BOOLSLICE:
		return anySlice(v.AsBoolSlice())
	case attribute.INT64SLICE:
		return anySlice(v.AsInt64Slice())
	case attribute.FLOAT64SLICE:
		return anySlice(v.AsFloat64Slice())
	case attribute.STRINGSLICE:
		return anySlice(v.AsStringSlice())
	}
	return "unsupported " + v.Type().String()
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func gotEvents(events []*pb.SpanEvent) []event {
	var out []event
	for _, e := range events {
		ev := event{Time: e.TimeUnixNano, Name: e.Name}
		for k, v := range e.Attributes {
			if ev.Attrs == nil {
				ev.Attrs = map[string]any{}
			}
			ev.Attrs[k] = pbValue(v)
		}
		out = append(out, ev)
	}
	return out
}

func pbValue(v *pb.AttributeAnyValue) any {
	switch v.Type {
	case pb.AttributeAnyValue_STRING_VALUE:
		return v.StringValue
	case pb.AttributeAnyValue_BOOL_VALUE:
		return v.BoolValue
	case pb.AttributeAnyValue_INT_VALUE:
		return v.IntValue
	case pb.AttributeAnyValue_DOUBLE_VALUE:
		return v.DoubleValue
	case pb.AttributeAnyValue_ARRAY_VALUE:
		var out []any
		for _, e := range v.ArrayValue.GetValues() {
			switch e.Type {
			case pb.AttributeArrayValue_STRING_VALUE:
				out = append(out, e.StringValue)
			case pb.AttributeArrayValue_BOOL_VALUE:
				out = append(out, e.BoolValue)
			case pb.AttributeArrayValue_INT_VALUE:
				out = append(out, e.IntValue)
			case pb.AttributeArrayValue_DOUBLE_VALUE:
				out = append(out, e.DoubleValue)
			default:
				out = append(out, "array type "+strconv.Itoa(int(e.Type)))
			}
		}
		return out
	}
	return "type " + strconv.Itoa(int(v.Type))
}

// link is a native span link in plain Go values.
type link struct {
	TraceID, TraceIDHigh, SpanID uint64
	Attrs                        map[string]string
	Tracestate                   string
	Flags                        uint32
}

func wantLinks(links []tracesdk.Link) []link {
	var out []link
	for _, l := range links {
		sc := l.SpanContext
		k := link{
			TraceID:     low64(sc.TraceID()),
			TraceIDHigh: high64(sc.TraceID()),
			SpanID:      sid64(sc.SpanID()),
			Tracestate:  sc.TraceState().String(),
			// W3C trace flags, with bit 31 saying that they are set.
			Flags: uint32(sc.TraceFlags()) | 1<<31,
		}
		for _, kv := range l.Attributes {
			if k.Attrs == nil {
				k.Attrs = map[string]string{}
			}
			k.Attrs[string(kv.Key)] = kv.Value.String()
		}
		out = append(out, k)
	}
	return out
}

func gotLinks(links []*pb.SpanLink) []link {
	var out []link
	for _, l := range links {
		k := link{TraceID: l.TraceID, TraceIDHigh: l.TraceIDHigh, SpanID: l.SpanID, Tracestate: l.Tracestate, Flags: l.Flags}
		if len(l.Attributes) > 0 {
			k.Attrs = l.Attributes
		}
		out = append(out, k)
	}
	return out
}
