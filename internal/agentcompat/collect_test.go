package agentcompat

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	tracesdk "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleakOptions()...)
}

// processed is what the agent's Process wrote, indexed.
type processed struct {
	spans   map[uint64]*pb.Span       // by span ID
	chunkOf map[uint64]*pb.TraceChunk // by span ID
	chunks  []*pb.TraceChunk
}

// collect indexes what the agent wrote after waiting for n spans. It fails
// the test on a span ID seen twice.
func collect(t *testing.T, ra *realAgent, n int) processed {
	t.Helper()
	ra.writer.waitSpans(t, n)
	p := processed{spans: map[uint64]*pb.Span{}, chunkOf: map[uint64]*pb.TraceChunk{}}
	for _, tp := range ra.writer.tracerPayloads() {
		for _, c := range tp.Chunks {
			p.chunks = append(p.chunks, c)
			for _, s := range c.Spans {
				if _, dup := p.spans[s.SpanID]; dup {
					t.Errorf("span %#x written twice", s.SpanID)
				}
				p.spans[s.SpanID] = s
				p.chunkOf[s.SpanID] = c
			}
		}
	}
	return p
}

func low64(id trace.TraceID) uint64  { return binary.BigEndian.Uint64(id[8:]) }
func high64(id trace.TraceID) uint64 { return binary.BigEndian.Uint64(id[:8]) }
func sid64(id trace.SpanID) uint64   { return binary.BigEndian.Uint64(id[:]) }

// view is the part of a Datadog span a corpus expectation speaks of.
type view struct {
	Service  string
	Name     string
	Resource string
	Type     string
	Error    int32
	Meta     map[string]string
	Metrics  map[string]float64
	Present  []string // Absent keys that were found
}

// project keeps of got what w asserts.
func project(w want, meta map[string]string, metrics map[string]float64, service, name, resource, typ string, errCode int32) view {
	v := view{Service: service, Name: name, Resource: resource, Type: typ, Error: errCode}
	if len(w.Meta) > 0 {
		v.Meta = map[string]string{}
		for k := range w.Meta {
			if x, ok := meta[k]; ok {
				v.Meta[k] = x
			}
		}
	}
	if len(w.Metrics) > 0 {
		v.Metrics = map[string]float64{}
		for k := range w.Metrics {
			if x, ok := metrics[k]; ok {
				v.Metrics[k] = x
			}
		}
	}
	for _, k := range w.Absent {
		_, inMeta := meta[k]
		_, inMetrics := metrics[k]
		if inMeta || inMetrics {
			v.Present = append(v.Present, k)
		}
	}
	return v
}

func wantView(w want) view {
	return view{Service: w.Service, Name: w.Name, Resource: w.Resource, Type: w.Type, Error: w.Error, Meta: w.Meta, Metrics: w.Metrics}
}

// ids is the identity and timing of a span.
type ids struct {
	TraceID, SpanID, ParentID uint64
	Start, Duration           int64
}

func wantIDs(s tracetest.SpanStub) ids {
	var parent uint64
	if s.Parent.IsValid() {
		parent = sid64(s.Parent.SpanID())
	}
	return ids{
		TraceID:  low64(s.SpanContext.TraceID()),
		SpanID:   sid64(s.SpanContext.SpanID()),
		ParentID: parent,
		Start:    s.StartTime.UnixNano(),
		Duration: s.EndTime.Sub(s.StartTime).Nanoseconds(),
	}
}

func gotIDs(s *pb.Span) ids {
	return ids{TraceID: s.TraceID, SpanID: s.SpanID, ParentID: s.ParentID, Start: s.Start, Duration: s.Duration}
}

// checkCorpus asserts that every corpus span arrived once, in a kept chunk
// of its own trace with priority AutoKeep, and that its fields are what
// the corpus expects. adjust, when not nil, turns the corpus expectation of
// a span into that of the path under test.
func checkCorpus(t *testing.T, c []corpusSpan, p processed, adjust func(corpusSpan) want) {
	t.Helper()
	if got, want := len(p.spans), len(c); got != want {
		t.Errorf("agent wrote %d spans, want %d", got, want)
	}
	traces := map[uint64]bool{}
	for _, cs := range c {
		traces[low64(cs.stub.SpanContext.TraceID())] = true
	}
	if got, want := len(p.chunks), len(traces); got != want {
		t.Errorf("agent wrote %d chunks, want one per trace: %d", got, want)
	}
	for _, ch := range p.chunks {
		if ch.DroppedTrace || ch.Priority != 1 {
			t.Errorf("chunk of trace %#x: dropped=%v priority=%d, want kept with priority 1", ch.Spans[0].TraceID, ch.DroppedTrace, ch.Priority)
		}
	}
	for _, cs := range c {
		id := sid64(cs.stub.SpanContext.SpanID())
		got, ok := p.spans[id]
		if !ok {
			t.Errorf("span %#x %q: missing", id, cs.stub.Name)
			continue
		}
		if diff := cmp.Diff(wantIDs(cs.stub), gotIDs(got)); diff != "" {
			t.Errorf("span %#x %q: ids (-want +got):\n%s", id, cs.stub.Name, diff)
		}
		for _, s := range p.chunkOf[id].Spans {
			if s.TraceID != got.TraceID {
				t.Errorf("span %#x: in the chunk of trace %#x", id, s.TraceID)
				break
			}
		}
		w := cs.want
		if adjust != nil {
			w = adjust(cs)
		}
		v := project(w, got.Meta, got.Metrics, got.Service, got.Name, got.Resource, got.Type, got.Error)
		if diff := cmp.Diff(wantView(w), v, cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("span %#x %q (-want +got):\n%s", id, cs.stub.Name, diff)
		}
	}
}

// exportOTLP sends the corpus with the OpenTelemetry SDK's own OTLP/HTTP
// exporter to the agent's OTLP receiver.
func exportOTLP(t *testing.T, ra *realAgent, c []corpusSpan) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(ra.OTLPURL()+"/v1/traces"), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	// Protobuf strings must be valid UTF-8: the OTLP exporter refuses the
	// whole batch otherwise. The OTLP reference gets the strings repaired the
	// way the Agent's msgpack decoder repairs them.
	ss := stubs(c)
	for i := range ss {
		ss[i] = validUTF8Stub(ss[i])
	}
	if err := exp.ExportSpans(ctx, ss.Snapshots()); err != nil {
		t.Fatalf("OTLP export: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// validUTF8 replaces every byte of s that is not part of valid UTF-8 with
// U+FFFD, one replacement per byte, as the Agent's decoder does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// validUTF8Stub repairs the span name and string attributes of s.
func validUTF8Stub(s tracetest.SpanStub) tracetest.SpanStub {
	s.Name = validUTF8(s.Name)
	attrs := make([]attribute.KeyValue, len(s.Attributes))
	for i, kv := range s.Attributes {
		if kv.Value.Type() == attribute.STRING {
			kv.Value = attribute.StringValue(validUTF8(kv.Value.AsString()))
		}
		attrs[i] = kv
	}
	s.Attributes = attrs
	return s
}

// eventJSON is one span event as the Agent's OTLP path renders it in the
// "events" meta: {"time_unix_nano", "name", "attributes"}.
// ddexport says how non-finite floats are rendered: by ddexport (the
// strings "NaN", "Infinity", "-Infinity") or by the Agent ("redacted" for
// the whole attribute).
func eventsJSON(events []tracesdk.Event, ddexport bool) any {
	if len(events) == 0 {
		return nil
	}
	out := make([]any, 0, len(events))
	for _, e := range events {
		m := map[string]any{"time_unix_nano": float64(e.Time.UnixNano()), "name": e.Name}
		if len(e.Attributes) > 0 {
			attrs := map[string]any{}
			for _, kv := range e.Attributes {
				attrs[string(kv.Key)] = jsonValue(kv.Value, ddexport)
			}
			m["attributes"] = attrs
		}
		out = append(out, m)
	}
	return out
}

// jsonValue is v as encoding/json decodes it into an any. A value JSON
// cannot hold (a non-finite float) is "redacted", as the Agent's
// transform.MarshalEvents writes it, or for ddexport has its non-finite
// floats as strings.
func jsonValue(v attribute.Value, ddexport bool) any {
	raw := v.AsInterface()
	if ddexport {
		switch v.Type() {
		case attribute.FLOAT64:
			raw = finiteOrString(v.AsFloat64())
		case attribute.FLOAT64SLICE:
			fs := v.AsFloat64Slice()
			out := make([]any, len(fs))
			for i, f := range fs {
				out[i] = finiteOrString(f)
			}
			raw = out
		}
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return "redacted"
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return "not JSON: " + err.Error()
	}
	return out
}

// finiteOrString is f, or ddexport's string for a non-finite f.
func finiteOrString(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// linksJSON is the span links as the Agent's OTLP path renders them in
// "_dd.span_links". The OpenTelemetry Go OTLP exporter does not send a
// link's tracestate, so the OTLP reference has none: tracestate says
// whether to expect it.
func linksJSON(links []tracesdk.Link, tracestate bool) any {
	if len(links) == 0 {
		return nil
	}
	out := make([]any, 0, len(links))
	for _, l := range links {
		tid := l.SpanContext.TraceID()
		sid := l.SpanContext.SpanID()
		m := map[string]any{"trace_id": hex.EncodeToString(tid[:]), "span_id": hex.EncodeToString(sid[:])}
		if ts := l.SpanContext.TraceState().String(); ts != "" && tracestate {
			m["tracestate"] = ts
		}
		if len(l.Attributes) > 0 {
			attrs := map[string]any{}
			for _, kv := range l.Attributes {
				attrs[string(kv.Key)] = kv.Value.String()
			}
			m["attributes"] = attrs
		}
		out = append(out, m)
	}
	return out
}

// decodeJSON decodes s, or returns s itself when it is not JSON.
func decodeJSON(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "not JSON: " + s
	}
	return v
}

// exportTimeout bounds one export of the corpus.
const exportTimeout = 60 * time.Second
