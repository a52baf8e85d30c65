package ddexport

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// fuzzInput hands out values from the fuzzer's bytes.
type fuzzInput struct{ b []byte }

func (in *fuzzInput) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *fuzzInput) n(max int) int { return int(in.byte()) % max }

func (in *fuzzInput) u64() uint64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(in.byte())
	}
	return v
}

func (in *fuzzInput) str() string {
	n := in.n(12)
	if n > len(in.b) {
		n = len(in.b)
	}
	s := string(in.b[:n])
	in.b = in.b[n:]
	return s
}

// Keys the mapping treats specially, so that random spans exercise it.
var fuzzKeys = []string{
	"service.name", "operation.name", "resource.name", "span.type", "http.request.method",
	"http.method", "http.route", "url.template", "http.response.status_code", "http.status_code",
	"db.system", "db.system.name", "db.statement", "db.query.text", "db.namespace", "db.name",
	"messaging.system", "messaging.operation", "messaging.destination.name", "rpc.system",
	"rpc.service", "rpc.method", "rpc.grpc.status_code", "faas.trigger", "faas.invoked_name",
	"faas.invoked_provider", "graphql.operation.type", "network.protocol.name",
	"deployment.environment.name", "service.version", "env", "version", "sampling.priority",
	"_dd.measured", "analytics.event", "gen_ai.system", "http.request.header.x", "url.full",
	"server.address", "span.kind", "otel.trace_id", "_dd.p.dm", "error.message", "events",
}

func (in *fuzzInput) value() attribute.Value {
	switch in.n(11) {
	case 0:
		return attribute.BoolValue(in.byte()&1 == 1)
	case 1:
		return attribute.Int64Value(int64(in.u64()))
	case 2:
		return attribute.Float64Value(math.Float64frombits(in.u64()))
	case 3:
		return attribute.StringSliceValue([]string{in.str(), in.str()})
	case 4:
		return attribute.Int64SliceValue([]int64{int64(in.u64())})
	case 5:
		return attribute.Float64SliceValue([]float64{math.Float64frombits(in.u64())})
	case 6:
		return attribute.BoolSliceValue([]bool{in.byte()&1 == 1})
	case 7:
		return attribute.SliceValue(attribute.StringValue(in.str()), attribute.IntValue(in.n(9)))
	case 8:
		return attribute.MapValue(attribute.String(in.str(), in.str()))
	case 9:
		return attribute.ByteSliceValue([]byte(in.str()))
	}
	return attribute.StringValue(in.str())
}

func (in *fuzzInput) attrs() []attribute.KeyValue {
	var kv []attribute.KeyValue
	for range in.n(6) {
		k := in.str()
		if in.byte()&1 == 0 {
			k = fuzzKeys[in.n(len(fuzzKeys))]
		}
		kv = append(kv, attribute.KeyValue{Key: attribute.Key(k), Value: in.value()})
	}
	return kv
}

func fuzzSpans(data []byte) []sdktrace.ReadOnlySpan {
	in := &fuzzInput{b: data}
	res := resource.NewSchemaless(in.attrs()...)
	traces := []trace.TraceID{{1: in.byte(), 15: 1}, {0: in.byte(), 15: 2}}
	var spans []sdktrace.ReadOnlySpan
	for range 1 + in.n(6) {
		tid := traces[in.n(2)]
		s := tracetest.SpanStub{
			Name: in.str(),
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: tid, SpanID: trace.SpanID{7: 1 + in.byte()}, TraceFlags: 1,
			}),
			SpanKind:             trace.SpanKind(in.n(6)),
			StartTime:            time.Unix(1_700_000_000, int64(in.u64()>>40)),
			EndTime:              time.Unix(1_700_000_001, int64(in.u64()>>40)),
			Attributes:           in.attrs(),
			Status:               sdktrace.Status{Code: codes.Code(in.n(3)), Description: in.str()},
			Resource:             res,
			InstrumentationScope: instrumentation.Scope{Name: in.str(), Version: in.str()},
		}
		if in.byte()&1 == 1 {
			s.Parent = s.SpanContext.WithSpanID(trace.SpanID{7: in.byte()}).WithRemote(in.byte()&1 == 1)
		}
		if in.byte()&1 == 1 {
			if ts, err := trace.ParseTraceState("dd=s:" + in.str() + ";o:" + in.str()); err == nil {
				s.SpanContext = s.SpanContext.WithTraceState(ts)
			}
		}
		for range in.n(3) {
			name := "exception"
			if in.byte()&1 == 1 {
				name = in.str()
			}
			s.Events = append(s.Events, sdktrace.Event{
				Name: name, Time: time.Unix(1_700_000_000, int64(in.n(200))), Attributes: in.attrs(),
			})
		}
		for range in.n(3) {
			s.Links = append(s.Links, sdktrace.Link{
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
					TraceID: trace.TraceID{0: in.byte(), 15: in.byte()}, SpanID: trace.SpanID{7: in.byte()},
					TraceFlags: trace.TraceFlags(in.byte()),
				}),
				Attributes: in.attrs(),
			})
		}
		spans = append(spans, s.Snapshot())
	}
	return spans
}

var nanEqual = cmp.Comparer(func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) })

// FuzzEncode encodes random spans in every format, decodes them strictly,
// and checks the formats agree with each other and with the input.
func FuzzEncode(f *testing.F) {
	f.Add([]byte("seed"))
	f.Add([]byte{3, 0, 1, 7, 'h', 't', 't', 'p', 5, 1, 2, 3, 4, 200, 9, 9, 0xff, 0xfe, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		spans := fuzzSpans(data)
		e4 := newEncoder(V04, &mapConfig{service: "svc", env: "env", tags: []tag{{"team", "x"}}})
		e5 := newEncoder(V05, &mapConfig{service: "svc", env: "env", tags: []tag{{"team", "x"}}})
		chunks := e4.chunks(spans)
		v04, err := decodeV04(e4.encode(chunks, false))
		if err != nil {
			t.Fatalf("v0.4: %v", err)
		}
		v05, err := decodeV05(e5.encode(e5.chunks(spans), false))
		if err != nil {
			t.Fatalf("v0.5: %v", err)
		}
		if diff := cmp.Diff(v04, v05, nanEqual); diff != "" {
			t.Fatalf("v0.4 and v0.5 disagree (-v0.4 +v0.5):\n%s", diff)
		}
		native, err := decodeV04(e4.encode(chunks, true))
		if err != nil {
			t.Fatalf("v0.4 native: %v", err)
		}
		if len(native) != len(chunks) || len(v04) != len(chunks) {
			t.Fatalf("%d chunks in, %d and %d out", len(chunks), len(v04), len(native))
		}
		for i, c := range chunks {
			if len(native[i]) != len(c) || len(v04[i]) != len(c) {
				t.Fatalf("chunk %d: %d spans in, %d and %d out", i, len(c), len(v04[i]), len(native[i]))
			}
			for j, s := range c {
				got, nat := v04[i][j], native[i][j]
				sid, pid, tid := s.SpanContext().SpanID(), s.Parent().SpanID(), s.SpanContext().TraceID()
				want := [6]int64{
					int64(be64(tid[8:])), int64(be64(sid[:])), int64(be64(pid[:])),
					s.StartTime().UnixNano(), s.EndTime().Sub(s.StartTime()).Nanoseconds(), 0,
				}
				if s.Status().Code == codes.Error {
					want[5] = 1
				}
				for _, g := range []wireSpan{got, nat} {
					have := [6]int64{int64(g.TraceID), int64(g.SpanID), int64(g.ParentID), g.Start, g.Duration, int64(g.Error)}
					if have != want {
						t.Fatalf("span %d/%d: fields %v, want %v", i, j, have, want)
					}
				}
				if len(nat.SpanEvents) != len(s.Events()) || len(nat.SpanLinks) != len(s.Links()) {
					t.Fatalf("span %d/%d: %d events and %d links, want %d and %d", i, j,
						len(nat.SpanEvents), len(nat.SpanLinks), len(s.Events()), len(s.Links()))
				}
				// An attribute may be called "events": only ours must be JSON.
				if ev := got.Meta["events"]; len(s.Events()) > 0 && !json.Valid([]byte(ev)) {
					t.Fatalf("span %d/%d: meta events is not JSON: %q", i, j, ev)
				}
				if l := got.Meta["_dd.span_links"]; len(s.Links()) > 0 && !json.Valid([]byte(l)) {
					t.Fatalf("span %d/%d: meta _dd.span_links is not JSON: %q", i, j, l)
				}
				if got.Meta["otel.trace_id"] != string(appendHex(nil, tid[:])) {
					t.Fatalf("span %d/%d: otel.trace_id %q", i, j, got.Meta["otel.trace_id"])
				}
			}
		}
		e4.release()
		e5.release()
	})
}
