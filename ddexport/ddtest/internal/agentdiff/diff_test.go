package agentdiff

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"testing"

	"github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace/idx"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// agentDecode decodes body the way the Agent's receiver does by default
// since 7.84 (payloads converted to the internal format as they are read).
func agentDecode(v05 bool, body []byte) (tp *idx.InternalTracerPayload, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("agent decoder panicked: %v", r)
		}
	}()
	tp = new(idx.InternalTracerPayload)
	if v05 {
		err = tp.UnmarshalMsgDictionary(body)
	} else {
		_, err = tp.UnmarshalMsgConverted(body)
	}
	return tp, err
}

// fakeDecode sends body to a ddtest agent and returns the decoded payload,
// or the reason it was refused.
func fakeDecode(t testing.TB, a *ddtest.Agent, v05 bool, body []byte) (*ddtest.Payload, string) {
	t.Helper()
	a.Reset()
	path := "/v0.4/traces"
	if v05 {
		path = "/v0.5/traces"
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, a.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/msgpack")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		p := a.Payloads()[0]
		kept = a.Spans()
		return &p, ""
	}
	r := a.Rejections()
	if len(r) != 1 {
		t.Fatalf("status %d without a rejection", resp.StatusCode)
	}
	return nil, r[0].Reason
}

// kept is what the last accepted payload left in ddtest's Spans.
var kept []ddtest.Span

// compareKept checks ddtest's view of each chunk's trace against the
// Agent's: the chunks it keeps (ProcessV1 drops those with no spans or a
// zero span_id) and the trace ID each chunk gets.
func compareKept(t *testing.T, agent *idx.InternalTracerPayload) {
	t.Helper()
	var want []uint64
	for _, c := range agent.Chunks {
		var n int
		drop := false
		for _, s := range c.Spans {
			if s == nil {
				continue
			}
			n++
			drop = drop || s.SpanID() == 0
		}
		if n == 0 || drop {
			continue
		}
		for range n {
			want = append(want, c.LegacyTraceID())
		}
	}
	var got []uint64
	for _, s := range kept {
		got = append(got, s.TraceID)
	}
	if a, b := fmt.Sprint(want), fmt.Sprint(got); a != b {
		t.Errorf("trace IDs of the kept spans: agent %s, ddtest %s", a, b)
	}
}

// compare checks that both decoders read the same spans.
func compare(t *testing.T, fake *ddtest.Payload, agent *idx.InternalTracerPayload) {
	t.Helper()
	if len(fake.Chunks) != len(agent.Chunks) {
		t.Fatalf("chunks: ddtest %d, agent %d", len(fake.Chunks), len(agent.Chunks))
	}
	for i, c := range agent.Chunks {
		var spans []*idx.InternalSpan
		for _, s := range c.Spans {
			if s != nil { // the Agent drops nil spans later
				spans = append(spans, s)
			}
		}
		fc := fake.Chunks[i]
		if len(fc) != len(spans) {
			t.Fatalf("chunk %d: ddtest %d spans, agent %d", i, len(fc), len(spans))
		}
		for j, s := range spans {
			f := fc[j]
			got := fmt.Sprint(s.Service(), "|", s.Name(), "|", s.Resource(), "|", s.Type(), "|",
				s.SpanID(), "|", s.ParentID(), "|", int64(s.Start()), "|", int64(s.Duration()), "|", s.Error(),
				"|", len(s.Events()), "|", len(s.Links()))
			want := fmt.Sprint(f.Service, "|", f.Name, "|", f.Resource, "|", f.Type, "|",
				f.SpanID, "|", f.ParentID, "|", f.Start, "|", f.Duration, "|", f.Error != 0,
				"|", len(f.SpanEvents), "|", len(f.SpanLinks))
			if got != want {
				t.Errorf("chunk %d span %d:\n agent  %s\n ddtest %s", i, j, got, want)
			}
			compareEvents(t, i, j, f.SpanEvents, s)
			compareLinks(t, i, j, f.SpanLinks, s)
			// The internal format keeps meta and metrics in one map keyed
			// by string table refs, in which "" is no key: compare what it
			// can hold.
			attrs := byName(s)
			for k, v := range f.Meta {
				if _, both := f.Metrics[k]; both || k == "" {
					continue
				}
				var av string
				var ok bool
				switch a, found := attrs[k]; {
				case fieldKeys[k]:
					av, ok = s.GetAttributeAsString(k)
				case found && a == nil:
					continue // named by two refs
				case found:
					av, ok = a.AsString(s.Strings), true
				}
				if !ok || av != v {
					t.Errorf("chunk %d span %d: meta %q: agent %q (%v), ddtest %q", i, j, k, av, ok, v)
				}
			}
			for k, v := range f.Metrics {
				if k == "" {
					continue
				}
				a, ok := attrs[k]
				if ok && a == nil {
					continue // named by two refs
				}
				var av float64
				if ok {
					var err error
					av, err = a.AsDoubleValue(s.Strings)
					ok = err == nil
				}
				if !ok || av != v && !(math.IsNaN(av) && math.IsNaN(v)) {
					t.Errorf("chunk %d span %d: metric %q: agent %v (%v), ddtest %v", i, j, k, av, ok, v)
				}
			}
		}
	}
}

// fieldKeys are the meta keys the internal format keeps as span fields,
// not attributes; GetAttributeAsString reads them.
var fieldKeys = map[string]bool{"env": true, "version": true, "component": true, "span.kind": true}

// byName returns the span's attributes by name, read through their refs:
// a v0.5 string table may repeat a string, and the table's lookup (used by
// GetAttributeAs...) then finds only one of its refs. A name that two refs
// of the span carry maps to nil.
func byName(s *idx.InternalSpan) map[string]*idx.AnyValue {
	out := make(map[string]*idx.AnyValue, len(s.Attributes()))
	for ref, v := range s.Attributes() {
		name := s.Strings.Get(ref)
		if _, dup := out[name]; dup {
			out[name] = nil
			continue
		}
		out[name] = v
	}
	return out
}

func compareEvents(t *testing.T, i, j int, fake []ddtest.SpanEvent, s *idx.InternalSpan) {
	t.Helper()
	agent := s.Events()
	if len(agent) != len(fake) {
		return // reported with the span
	}
	for k, e := range agent {
		got := ddtest.SpanEvent{TimeUnixNano: e.Time(), Name: e.Name(), Attributes: attributes(e.Attributes(), e.Strings)}
		if a, b := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", fake[k]); a != b {
			t.Errorf("chunk %d span %d event %d:\n agent  %s\n ddtest %s", i, j, k, a, b)
		}
	}
}

func compareLinks(t *testing.T, i, j int, fake []ddtest.SpanLink, s *idx.InternalSpan) {
	t.Helper()
	agent := s.Links()
	if len(agent) != len(fake) {
		return // reported with the span
	}
	for k, l := range agent {
		got := ddtest.SpanLink{
			TraceID:     binary.BigEndian.Uint64(l.TraceID()[8:]),
			TraceIDHigh: binary.BigEndian.Uint64(l.TraceID()[:8]),
			SpanID:      l.SpanID(),
			Tracestate:  l.Tracestate(),
			Flags:       l.Flags(),
		}
		for ref, v := range l.Attributes() {
			if got.Attributes == nil {
				got.Attributes = map[string]string{}
			}
			got.Attributes[l.Strings.Get(ref)] = v.AsString(l.Strings)
		}
		if a, b := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", fake[k]); a != b {
			t.Errorf("chunk %d span %d link %d:\n agent  %s\n ddtest %s", i, j, k, a, b)
		}
	}
}

// attributes converts the Agent's typed attributes; nil values, which the
// Agent keeps and ddtest skips, are left out.
func attributes(m map[uint32]*idx.AnyValue, st *idx.StringTable) map[string]ddtest.AttributeValue {
	var out map[string]ddtest.AttributeValue
	for ref, v := range m {
		if v == nil {
			continue
		}
		if out == nil {
			out = map[string]ddtest.AttributeValue{}
		}
		out[st.Get(ref)] = value(v, st)
	}
	return out
}

func value(v *idx.AnyValue, st *idx.StringTable) ddtest.AttributeValue {
	switch x := v.Value.(type) {
	case *idx.AnyValue_StringValueRef:
		return ddtest.AttributeValue{Type: ddtest.StringType, StringValue: st.Get(x.StringValueRef)}
	case *idx.AnyValue_BoolValue:
		return ddtest.AttributeValue{Type: ddtest.BoolType, BoolValue: x.BoolValue}
	case *idx.AnyValue_IntValue:
		return ddtest.AttributeValue{Type: ddtest.IntType, IntValue: x.IntValue}
	case *idx.AnyValue_DoubleValue:
		return ddtest.AttributeValue{Type: ddtest.DoubleType, DoubleValue: x.DoubleValue}
	case *idx.AnyValue_ArrayValue:
		out := ddtest.AttributeValue{Type: ddtest.ArrayType}
		if x.ArrayValue != nil {
			for _, e := range x.ArrayValue.Values {
				if e != nil {
					out.ArrayValue = append(out.ArrayValue, value(e, st))
				}
			}
		}
		return out
	}
	return ddtest.AttributeValue{Type: -1} // no value: ddtest never accepts it
}

// A case is a payload and how the two decoders must answer it.
type diffCase struct {
	name string
	v05  bool
	body []byte
	// stricter marks a payload ddtest refuses on purpose while the Agent
	// takes it (the list in ddtest's package doc).
	stricter bool
}

var cases = []diffCase{
	// Accepted by both.
	{name: "minimal", body: v04(span())},
	{name: "integers of any width", body: v04(obj(kv{"trace_id", u8(1)}, kv{"span_id", i8(2)}, kv{"start", fix(3)}, kv{"duration", u8(4)}, kv{"error", u64(1)}))},
	{name: "negative id", body: v04(obj(kv{"trace_id", i8(-1)}, kv{"span_id", i8(-2)}))},
	{name: "nil strings and numbers", body: v04(span(kv{"resource", null()}, kv{"type", null()}, kv{"parent_id", null()}, kv{"error", null()}, kv{"start", null()}))},
	{name: "nil meta and metrics", body: v04(span(kv{"meta", null()}, kv{"metrics", null()}))},
	{name: "bin strings", body: v04(span(kv{"resource", bin([]byte("r"))}, kv{"meta", anyMap(bin([]byte("k")), bin([]byte("v")))}))},
	{name: "nil meta key and value", body: v04(span(kv{"meta", anyMap(null(), null())}))},
	{name: "integer and nil metrics", body: v04(span(kv{"metrics", obj(kv{"a", fix(-3)}, kv{"b", u64(7)}, kv{"c", null()})}))},
	{name: "invalid utf-8", body: v04(span(kv{"resource", str("a\xffb\xfe\xfe\xe2\x82c")}, kv{"meta", obj(kv{"k", str("\xfe\xff")})}))},
	{name: "v05 invalid utf-8", v05: true, body: encode(arr(arr(str("\xff\xfex"), str("\xe2\x82")), arr(arr(v05span(map[int]val{0: fix(0), 1: fix(1), 2: fix(0), 11: fix(1)})))))},
	{name: "unknown keys", body: v04(span(kv{"x", obj(kv{"y", arr(fix(1), rawBytes(0xd4, 1, 0))})}, kv{"z", f32(1)}))},
	{name: "nil span", body: v04(null(), span())},
	{name: "nil link and event", body: v04(span(kv{"span_links", arr(null())}, kv{"span_events", arr(null())}))},
	{name: "nil event attribute value", body: events(obj(kv{"n", null()}))},
	{name: "missing value field", body: events(obj(kv{"d", attr(3)}))},
	{name: "every attribute type", body: events(obj(
		kv{"s", attr(0, kv{"string_value", str("x")})},
		kv{"b", attr(1, kv{"bool_value", boolean(true)})},
		kv{"i", attr(2, kv{"int_value", i64(-5)})},
		kv{"u", attr(2, kv{"int_value", u8(5)})},
		kv{"d", attr(3, kv{"double_value", f64(2.5)})},
		kv{"a", attr(4, kv{"array_value", obj(kv{"values", arr(attr(0, kv{"string_value", str("y")}), attr(3, kv{"double_value", f64(1)}))})})},
		kv{"", attr(0, kv{"string_value", str("empty key")})},
	))},
	{name: "float32 double_value", body: events(obj(kv{"d", attr(3, kv{"double_value", f32(1.5)})}))},
	{name: "nil array_value", body: events(obj(kv{"a", attr(4, kv{"array_value", null()})}))},
	{name: "array with nil element", body: events(obj(kv{"a", attr(4, kv{"array_value", obj(kv{"values", arr(null(), attr(0, kv{"string_value", str("x")}))})})}))},
	{name: "full link", body: link(kv{"trace_id", u64(1)}, kv{"trace_id_high", u64(2)}, kv{"span_id", u64(3)}, kv{"attributes", obj(kv{"a", str("b")})}, kv{"tracestate", str("t")}, kv{"flags", u64(1 << 31)})},
	{name: "nil trace_id first in the chunk", body: v04(obj(kv{"span_id", u64(3)}, kv{"trace_id", null()}), span())},
	{name: "nil link fields", body: link(kv{"trace_id", null()}, kv{"span_id", null()}, kv{"tracestate", null()})},
	{name: "bin keys", body: v04(anyMap(bin([]byte("service")), str("s"), bin([]byte("span_id")), u64(2)))},
	{name: "duplicate keys", body: v04(span(kv{"service", str("b")}, kv{"meta", obj(kv{"k", str("1")}, kv{"k", str("2")})}))},
	{name: "huge uint metric", body: v04(span(kv{"metrics", obj(kv{"m", u64(math.MaxUint64)})}))},
	{name: "negative start", body: v04(span(kv{"start", i64(-5)}, kv{"duration", i8(-1)}))},
	{name: "signed encodings of unsigned fields", body: v04(span(
		kv{"span_events", arr(obj(kv{"time_unix_nano", i8(5)}, kv{"attributes", obj(kv{"t", obj(kv{"type", u8(2)}, kv{"int_value", u64(7)})})}))},
		kv{"span_links", arr(obj(kv{"trace_id_high", i8(3)}, kv{"flags", i64(1 << 31)}))},
	))},
	{name: "bin string_value and nil type", body: events(obj(kv{"s", obj(kv{"type", null()}, kv{"string_value", bin([]byte("x"))})}))},
	{name: "nil attribute key", body: v04(span(kv{"span_events", arr(obj(kv{"attributes", anyMap(null(), attr(0, kv{"string_value", str("x")}))}))}))},
	{name: "v05 wide index encodings", v05: true, body: v05(v05span(map[int]val{0: u64(0), 1: i64(1), 2: u8(2)}))},
	{name: "empty chunk", body: encode(arr(arr()))},
	{name: "span_id 0", body: v04(span(kv{"span_id", u64(0)}))},
	{name: "two traces in a chunk", body: v04(span(), span(kv{"trace_id", u64(9)}))},
	{name: "span without trace_id last", body: v04(span(kv{"trace_id", u64(7)}), obj(kv{"span_id", u64(5)}))},
	{name: "v05 two traces in a chunk", v05: true, body: v05(v05span(map[int]val{3: u64(7)}), v05span(map[int]val{3: u64(8), 4: u64(3)}))},
	{name: "mixed chunks", body: encode(arr(arr(span()), arr(), arr(span(kv{"span_id", u64(0)})), arr(null()), arr(span(kv{"trace_id", u64(4)}), span(kv{"trace_id", u64(5)}))))},
	{name: "v05 minimal", v05: true, body: v05(v05span(nil))},
	{name: "v05 meta and metrics", v05: true, body: v05(v05span(map[int]val{9: anyMap(fix(4), fix(5)), 10: anyMap(fix(4), f64(2))}))},
	{name: "v05 nil string", v05: true, body: encode(arr(arr(null()), arr(arr(arr(fix(0), fix(0), fix(0), fix(1), fix(2), fix(0), fix(0), fix(0), fix(0), anyMap(), anyMap(), fix(0))))))},
	{name: "v05 repeated strings in the table", v05: true, body: encode(arr(arr(str("svc"), str("op"), str("res"), str("web"), str("k"), str("k"), str("m"), str("m")),
		arr(arr(v05span(map[int]val{9: anyMap(fix(6), fix(0)), 10: anyMap(fix(4), f64(2))})))))},
	{name: "v05 nil numbers", v05: true, body: v05(v05span(map[int]val{3: null(), 5: null(), 6: null(), 8: null()}))},

	// Refused by both.
	{name: "payload not an array", body: encode(obj())},
	{name: "nil chunk", body: encode(arr(null()))},
	{name: "span not a map", body: v04(arr())},
	{name: "non-string key", body: v04(anyMap(fix(1), fix(2)))},
	{name: "nil key", body: v04(anyMap(null(), fix(2)))},
	{name: "truncated", body: v04(span())[:10]},
	{name: "empty body", body: nil},
	{name: "bool error", body: v04(span(kv{"error", boolean(true)}))},
	{name: "error overflows int32", body: v04(span(kv{"error", i64(1 << 40)}))},
	{name: "start overflows int64", body: v04(span(kv{"start", u64(math.MaxUint64)}))},
	{name: "string trace_id", body: v04(span(kv{"trace_id", str("1")}))},
	{name: "float span_id", body: v04(span(kv{"span_id", f64(2)}))},
	{name: "int service", body: v04(span(kv{"service", fix(1)}))},
	{name: "int meta value", body: v04(span(kv{"meta", obj(kv{"k", fix(1)})}))},
	{name: "float32 metric", body: v04(span(kv{"metrics", obj(kv{"m", f32(1.5)})}))},
	{name: "string metric", body: v04(span(kv{"metrics", obj(kv{"m", str("1")})}))},
	{name: "bool metric", body: v04(span(kv{"metrics", obj(kv{"m", boolean(true)})}))},
	{name: "nil meta_struct", body: v04(span(kv{"meta_struct", null()}))},
	{name: "str meta_struct value", body: v04(span(kv{"meta_struct", obj(kv{"k", str("v")})}))},
	{name: "nil meta_struct value", body: v04(span(kv{"meta_struct", obj(kv{"k", null()})}))},
	{name: "nil span_links", body: v04(span(kv{"span_links", null()}))},
	{name: "nil span_events", body: v04(span(kv{"span_events", null()}))},
	{name: "nil link attributes", body: link(kv{"attributes", null()})},
	{name: "link flags overflow", body: link(kv{"flags", u64(1 << 33)})},
	{name: "nil link trace_id_high", body: link(kv{"trace_id_high", null()})},
	{name: "negative link trace_id_high", body: link(kv{"trace_id_high", i8(-1)})},
	{name: "nil event attributes", body: events(null())},
	{name: "nil event time", body: v04(span(kv{"span_events", arr(obj(kv{"time_unix_nano", null()}))}))},
	{name: "negative event time", body: v04(span(kv{"span_events", arr(obj(kv{"time_unix_nano", i8(-1)}))}))},
	{name: "double encoded as int", body: events(obj(kv{"d", attr(3, kv{"double_value", fix(1)})}))},
	{name: "int encoded as float", body: events(obj(kv{"i", attr(2, kv{"int_value", f64(1)})}))},
	{name: "bool encoded as int", body: events(obj(kv{"b", attr(1, kv{"bool_value", fix(1)})}))},
	{name: "bool attribute type", body: events(obj(kv{"x", obj(kv{"type", boolean(true)})}))},
	{name: "array_value as a plain array", body: events(obj(kv{"a", attr(4, kv{"array_value", arr(attr(0))})}))},
	{name: "v05 span of 11", v05: true, body: encode(arr(v05strings, arr(arr(arr(fix(0), fix(0), fix(0), u64(1), u64(2), u64(0), i64(1), i64(1), fix(0), anyMap(), anyMap())))))},
	{name: "v05 span as a map", v05: true, body: encode(arr(v05strings, arr(arr(span()))))},
	{name: "v05 index out of range", v05: true, body: v05(v05span(map[int]val{1: fix(6)}))},
	{name: "v05 nil index", v05: true, body: v05(v05span(map[int]val{0: null()}))},
	{name: "v05 negative index", v05: true, body: v05(v05span(map[int]val{11: i8(-1)}))},
	{name: "v05 nil meta", v05: true, body: v05(v05span(map[int]val{9: null()}))},
	{name: "v05 float32 metric", v05: true, body: v05(v05span(map[int]val{10: anyMap(fix(4), f32(1))}))},
	{name: "v05 bool error", v05: true, body: v05(v05span(map[int]val{8: boolean(false)}))},
	{name: "v05 int in string table", v05: true, body: encode(arr(arr(fix(1)), arr()))},
	{name: "v05 truncated", v05: true, body: v05(v05span(nil))[:20]},
	{name: "int_value above int64", body: events(obj(kv{"i", attr(2, kv{"int_value", u64(math.MaxUint64)})}))},
	{name: "nil double_value", body: events(obj(kv{"d", attr(3, kv{"double_value", null()})}))},
	{name: "nil bool_value", body: events(obj(kv{"b", attr(1, kv{"bool_value", null()})}))},
	{name: "nil int_value", body: events(obj(kv{"i", attr(2, kv{"int_value", null()})}))},
	{name: "nil link flags", body: link(kv{"flags", null()})},
	{name: "v05 index above uint32", v05: true, body: v05(v05span(map[int]val{0: u64(1 << 32)}))},
	{name: "duration above int64", body: v04(span(kv{"duration", u64(1 << 63)}))},
	{name: "nil trace_id last, after a trace_id", body: v04(span(), obj(kv{"span_id", u64(3)}, kv{"trace_id", null()}))},

	// Refused by ddtest only, on purpose.
	{name: "nil trace_id not last, after a trace_id", body: v04(span(), obj(kv{"trace_id", null()}, kv{"span_id", u64(3)})), stricter: true},
	{name: "trailing garbage", body: append(v04(span()), 0xc0), stricter: true},
	{name: "v05 trailing garbage", v05: true, body: append(v05(v05span(nil)), 1), stricter: true},
	{name: "v05 payload of 3", v05: true, body: encode(arr(v05strings, arr(), arr())), stricter: true},
	{name: "unknown attribute type", body: events(obj(kv{"x", attr(9)})), stricter: true},
	{name: "type and value disagree", body: events(obj(kv{"x", attr(0, kv{"int_value", fix(1)})})), stricter: true},
	{name: "array nested in array", body: events(obj(kv{"a", attr(4, kv{"array_value", obj(kv{"values", arr(
		attr(4, kv{"array_value", obj(kv{"values", arr(attr(0))})}),
	)})})})), stricter: true},
}

func TestAgainstAgent(t *testing.T) {
	a := ddtest.New(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, agentErr := agentDecode(tc.v05, tc.body)
			fake, reason := fakeDecode(t, a, tc.v05, tc.body)
			switch {
			case tc.stricter:
				if agentErr != nil || fake != nil {
					t.Errorf("want the Agent to accept (got %v) and ddtest to refuse (got %q)", agentErr, reason)
				}
			case agentErr != nil && fake != nil:
				t.Errorf("the Agent refuses (%v), ddtest accepts", agentErr)
			case agentErr == nil && fake == nil:
				t.Errorf("the Agent accepts, ddtest refuses: %s", reason)
			case fake != nil:
				compare(t, fake, tp)
				compareKept(t, tp)
			}
		})
	}
}

// FuzzAgainstAgent: whatever ddtest accepts, the Agent accepts too, and
// both read the same spans. (The converse holds except for the documented
// stricter rules, which a fuzzer cannot tell apart; TestAgainstAgent
// covers them.)
func FuzzAgainstAgent(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.v05, tc.body)
	}
	a := ddtest.New(f)
	f.Fuzz(func(t *testing.T, v05 bool, body []byte) {
		tp, agentErr := agentDecode(v05, body)
		fake, _ := fakeDecode(t, a, v05, body)
		if fake == nil {
			return
		}
		if agentErr != nil {
			t.Fatalf("ddtest accepts what the Agent refuses: %v", agentErr)
		}
		compare(t, fake, tp)
		compareKept(t, tp)
	})
}
