package ddtest

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// span is a minimal valid v0.4 span map followed by extra entries.
func span(extra ...kv) val {
	return obj(append([]kv{
		{"service", str("svc")},
		{"name", str("op")},
		{"trace_id", u64(1)},
		{"span_id", u64(2)},
	}, extra...)...)
}

// v04 is a v0.4 body of one chunk holding spans.
func v04(spans ...val) []byte { return encode(arr(arr(spans...))) }

// v05span is a v0.5 span array with the given slots replacing the defaults.
func v05span(slots map[int]val) val {
	def := []val{
		fix(0), fix(1), fix(2), // service, name, resource
		u64(1), u64(2), u64(0), // trace, span, parent
		i64(10), i64(5), i32(0), // start, duration, error
		anyMap(), anyMap(), fix(3), // meta, metrics, type
	}
	for i, v := range slots {
		def[i] = v
	}
	return arr(def...)
}

var v05strings = arr(str("svc"), str("op"), str("res"), str("web"), str("k"), str("v"))

func v05(spans ...val) []byte { return encode(arr(v05strings, arr(arr(spans...)))) }

// attr is a typed span event attribute value.
func attr(t int, kvs ...kv) val { return obj(append([]kv{{"type", fix(t)}}, kvs...)...) }

func event(attrs val) val {
	return obj(kv{"time_unix_nano", u64(1)}, kv{"name", str("e")}, kv{"attributes", attrs})
}

func TestRejections(t *testing.T) {
	nested := func(depth int) val {
		b := bytes.Repeat([]byte{0x91}, depth)
		return rawBytes(append(b, 0xc0)...)
	}
	valid := v04(span())
	tests := []struct {
		name   string
		path   string
		ct     string
		body   []byte
		status int
		reason string // a substring of the recorded reason
	}{
		// Content type and framing.
		{"v04 without content type", "/v0.4/traces", "", valid, 400, `Content-Type "" is not application/msgpack`},
		{"v04 as json", "/v0.4/traces", "application/json", valid, 400, "would decode the body as JSON"},
		{"trailing garbage", "/v0.4/traces", msgpackCT, append(v04(span()), 0xc0), 400, "1 bytes of trailing garbage"},
		{"truncated", "/v0.4/traces", msgpackCT, valid[:len(valid)-3], 400, "body truncated"},
		{"empty body", "/v0.4/traces", msgpackCT, nil, 400, "body truncated"},
		{"array claims more than the body", "/v0.4/traces", msgpackCT, []byte{0xdd, 0x7f, 0xff, 0xff, 0xff}, 400, "payload: array of 2147483647 elements but only 0 bytes left"},
		{"string claims more than the body", "/v0.4/traces", msgpackCT, v04(obj(kv{"service", rawBytes(0xdb, 0x7f, 0xff, 0xff, 0xff)})), 400, "string of 2147483647 bytes"},
		{"payload not an array", "/v0.4/traces", msgpackCT, encode(obj()), 400, "decoding /v0.4/traces payload: expected an array of chunks, got map"},
		{"nil chunk", "/v0.4/traces", msgpackCT, encode(arr(null())), 400, "chunk 0: expected an array of spans (a chunk), got nil"},
		{"span not a map", "/v0.4/traces", msgpackCT, v04(arr()), 400, "chunk 0: span 0: expected a map (a span), got array"},
		{"non-string key", "/v0.4/traces", msgpackCT, v04(anyMap(fix(1), fix(2))), 400, "expected a string key, got uint"},
		{"nil key", "/v0.4/traces", msgpackCT, v04(anyMap(null(), fix(2))), 400, "expected a string key, got nil"},
		{"reserved code", "/v0.4/traces", msgpackCT, v04(span(kv{"x", rawBytes(0xc1)})), 400, `"x": invalid msgpack byte 0xc1`},
		{"deep nesting under an unknown key", "/v0.4/traces", msgpackCT, v04(span(kv{"x", nested(150)})), 400, "nested more than 100 deep"},

		// Span fields.
		{"bool error", "/v0.4/traces", msgpackCT, v04(span(kv{"error", boolean(true)})), 400, `"error": a bool is refused: error is an int32, 0 or 1`},
		{"error overflows int32", "/v0.4/traces", msgpackCT, v04(span(kv{"error", i64(1 << 40)})), 400, "overflows int32"},
		{"start overflows int64", "/v0.4/traces", msgpackCT, v04(span(kv{"start", u64(math.MaxUint64)})), 400, `"start": value 18446744073709551615 overflows int64`},
		{"string trace_id", "/v0.4/traces", msgpackCT, v04(span(kv{"trace_id", str("1")})), 400, `"trace_id": expected an integer, got str`},
		{"float span_id", "/v0.4/traces", msgpackCT, v04(span(kv{"span_id", f64(2)})), 400, `"span_id": expected an integer, got float64`},
		{"int service", "/v0.4/traces", msgpackCT, v04(span(kv{"service", fix(1)})), 400, `"service": expected a string, got uint`},
		{"int meta value", "/v0.4/traces", msgpackCT, v04(span(kv{"meta", obj(kv{"k", fix(1)})})), 400, `"meta": value of "k": expected a string, got uint`},
		{"meta not a map", "/v0.4/traces", msgpackCT, v04(span(kv{"meta", arr()})), 400, `"meta": expected a map, got array`},
		{"float32 metric", "/v0.4/traces", msgpackCT, v04(span(kv{"metrics", obj(kv{"m", f32(1.5)})})), 400, `value of "m": float32 is refused`},
		{"string metric", "/v0.4/traces", msgpackCT, v04(span(kv{"metrics", obj(kv{"m", str("1")})})), 400, `value of "m": expected a float64, got str`},
		{"nil meta_struct", "/v0.4/traces", msgpackCT, v04(span(kv{"meta_struct", null()})), 400, `"meta_struct": nil is refused (the Agent reads a map or array header here): leave meta_struct out when it is empty`},
		{"str meta_struct value", "/v0.4/traces", msgpackCT, v04(span(kv{"meta_struct", obj(kv{"k", str("v")})})), 400, `value of "k": expected bin, got str`},
		{"nil meta_struct value", "/v0.4/traces", msgpackCT, v04(span(kv{"meta_struct", obj(kv{"k", null()})})), 400, `value of "k": expected bin, got nil`},

		{"nil trace_id after a trace_id in the chunk", "/v0.4/traces", msgpackCT, v04(span(), obj(kv{"trace_id", null()}, kv{"span_id", u64(3)})), 400,
			`chunk 0: span 1: "trace_id": nil after trace_id 1 earlier in the chunk: the Agent refuses it`},

		// Span links.
		{"nil span_links", "/v0.4/traces", msgpackCT, v04(span(kv{"span_links", null()})), 400, `"span_links": nil is refused (the Agent reads a map or array header here): leave span_links out when it is empty`},
		{"nil link attributes", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_links", arr(obj(kv{"trace_id", u64(3)}, kv{"attributes", null()}))})), 400, `link 0: "attributes": nil is refused (the Agent reads a map or array header here): leave attributes out when it is empty`},
		{"link flags overflow", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_links", arr(obj(kv{"flags", u64(1 << 33)}))})), 400, `"flags": value 8589934592 overflows uint32`},
		{"nil link trace_id_high", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_links", arr(obj(kv{"trace_id_high", null()}))})), 400, `"trace_id_high": expected an unsigned integer, got nil`},

		// Span events.
		{"nil span_events", "/v0.4/traces", msgpackCT, v04(span(kv{"span_events", null()})), 400, `"span_events": nil is refused`},
		{"nil event attributes", "/v0.4/traces", msgpackCT, v04(span(kv{"span_events", arr(event(null()))})), 400, `event 0: "attributes": nil is refused`},
		{"nil event time", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(obj(kv{"time_unix_nano", null()}))})), 400, `"time_unix_nano": expected an unsigned integer, got nil`},
		{"negative event time", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(obj(kv{"time_unix_nano", i8(-1)}))})), 400, `"time_unix_nano": negative value -1`},
		{"double encoded as int", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"d", attr(3, kv{"double_value", fix(1)})})))})), 400, `value of "d": "double_value": expected a float, got uint`},
		{"int encoded as float", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"i", attr(2, kv{"int_value", f64(1)})})))})), 400, `"int_value": expected an integer, got float64`},
		{"bool encoded as int", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"b", attr(1, kv{"bool_value", fix(1)})})))})), 400, `"bool_value": expected a bool, got uint`},
		{"type and value disagree", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"x", attr(0, kv{"int_value", fix(1)})})))})), 400, `type 0 (string_value) disagrees with the int_value field present`},
		{"double tag with a string value", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"x", attr(3, kv{"string_value", str("1.5")})})))})), 400, `type 3 (double_value) disagrees with the string_value field present`},
		{"unknown attribute type", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"x", attr(9)})))})), 400, "unknown attribute type 9"},
		{"bool attribute type", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"x", obj(kv{"type", boolean(true)})})))})), 400, `"type": expected an integer, got bool`},
		{"array nested in array", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"a", attr(4, kv{"array_value", obj(kv{"values", arr(
				attr(4, kv{"array_value", obj(kv{"values", arr()})}),
			)})})})))})), 400, "arrays nested in arrays are not allowed"},
		{"array tag nested without value", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"a", attr(4, kv{"array_value", obj(kv{"values", arr(attr(4))})})})))})), 400, "arrays nested in arrays are not allowed (type 4 inside array_value)"},
		{"array_value as a plain array", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"a", attr(4, kv{"array_value", arr(attr(0))})})))})), 400, `expected a map {"values": [...]}, got an array`},

		// v0.5.
		{"v05 span of 11", "/v0.5/traces", "", encode(arr(v05strings, arr(arr(arr(fix(0), fix(0), fix(0), u64(1), u64(2), u64(0), i64(1), i64(1), i32(0), anyMap(), anyMap()))))), 400,
			"chunk 0: span 0: a v0.5 span is an array of exactly 12 elements, got 11"},
		{"v05 span of 13", "/v0.5/traces", "", encode(arr(v05strings, arr(arr(arr(fix(0), fix(0), fix(0), u64(1), u64(2), u64(0), i64(1), i64(1), i32(0), anyMap(), anyMap(), fix(0), fix(0)))))), 400,
			"exactly 12 elements, got 13"},
		{"v05 span as a map", "/v0.5/traces", "", encode(arr(v05strings, arr(arr(span())))), 400, "chunk 0: span 0: expected an array of 12 (a span), got map"},
		{"v05 index out of range", "/v0.5/traces", "", v05(v05span(map[int]val{1: fix(6)})), 400, "element 1 (name): string index 6 out of range (the table has 6 strings)"},
		{"v05 nil index", "/v0.5/traces", "", v05(v05span(map[int]val{0: null()})), 400, "element 0 (service): expected a string table index (integer), got nil"},
		{"v05 negative index", "/v0.5/traces", "", v05(v05span(map[int]val{11: i8(-1)})), 400, "element 11 (type): negative value -1"},
		{"v05 meta key out of range", "/v0.5/traces", "", v05(v05span(map[int]val{9: anyMap(fix(100), fix(5))})), 400, "element 9 (meta): key 0: string index 100 out of range"},
		{"v05 nil meta", "/v0.5/traces", "", v05(v05span(map[int]val{9: null()})), 400, "element 9 (meta): expected a map, got nil"},
		{"v05 float32 metric", "/v0.5/traces", "", v05(v05span(map[int]val{10: anyMap(fix(4), f32(1))})), 400, `element 10 (metrics): value of "k": float32 is refused`},
		{"v05 bool error", "/v0.5/traces", "", v05(v05span(map[int]val{8: boolean(false)})), 400, "element 8 (error): a bool is refused: error is an int32, 0 or 1"},
		{"v05 payload of 3", "/v0.5/traces", "", encode(arr(v05strings, arr(), arr())), 400, "a v0.5 payload is an array of 2"},
		{"v05 int in string table", "/v0.5/traces", "", encode(arr(arr(fix(1)), arr())), 400, "string table entry 0: expected a string, got uint"},
		{"v05 trailing garbage", "/v0.5/traces", "", append(v05(v05span(nil)), 1, 2), 400, "2 bytes of trailing garbage"},
		{"v05 truncated", "/v0.5/traces", "", v05(v05span(nil))[:20], 400, "body truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(t)
			status, body := post(t, a, tt.path, tt.ct, tt.body)
			if status != tt.status {
				t.Errorf("status = %d, want %d (body %q)", status, tt.status, body)
			}
			rej := a.Rejections()
			if len(rej) != 1 {
				t.Fatalf("rejections = %v, want 1", rej)
			}
			if rej[0].Status != tt.status || rej[0].Path != tt.path {
				t.Errorf("rejection = %+v, want status %d on %s", rej[0], tt.status, tt.path)
			}
			if !strings.Contains(rej[0].Reason, tt.reason) {
				t.Errorf("reason = %q\nwant it to contain %q", rej[0].Reason, tt.reason)
			}
			if !strings.Contains(body, tt.reason) {
				t.Errorf("response body %q does not give the reason", body)
			}
			if p := a.Payloads(); len(p) != 0 {
				t.Errorf("payloads = %v, want none", p)
			}
			if n := a.Requests(); n != 1 {
				t.Errorf("Requests() = %d, want 1", n)
			}
		})
	}
}

// TestLenient checks the wire variations the Agent accepts.
func TestLenient(t *testing.T) {
	base := Span{Service: "svc", Name: "op", TraceID: 1, SpanID: 2}
	with := func(f func(s *Span)) []Span {
		s := base
		f(&s)
		return []Span{s}
	}
	tests := []struct {
		name string
		path string
		ct   string
		body []byte
		want []Span
	}{
		{"integers of any width", "/v0.4/traces", msgpackCT,
			v04(obj(kv{"trace_id", u8(1)}, kv{"span_id", i32(2)}, kv{"parent_id", fix(3)}, kv{"start", u32(4)}, kv{"duration", i8(5)}, kv{"error", u64(1)})),
			[]Span{{TraceID: 1, SpanID: 2, ParentID: 3, Start: 4, Duration: 5, Error: 1}}},
		{"negative id is two's complement", "/v0.4/traces", msgpackCT,
			v04(obj(kv{"trace_id", i8(-1)}, kv{"span_id", u64(2)})),
			[]Span{{TraceID: math.MaxUint64, SpanID: 2}}},
		{"nil trace_id as the chunk's first", "/v0.4/traces", msgpackCT,
			v04(obj(kv{"trace_id", null()}, kv{"span_id", u64(2)}), span(kv{"span_id", u64(3)})),
			[]Span{{TraceID: 1, SpanID: 2}, {Service: "svc", Name: "op", TraceID: 1, SpanID: 3}}},
		{"nil strings, ints and maps", "/v0.4/traces", msgpackCT,
			v04(span(kv{"resource", null()}, kv{"type", null()}, kv{"parent_id", null()}, kv{"error", null()}, kv{"meta", null()}, kv{"metrics", null()})),
			[]Span{base}},
		{"empty maps and arrays decode as nil", "/v0.4/traces", msgpackCT,
			v04(span(kv{"meta", obj()}, kv{"metrics", obj()}, kv{"meta_struct", obj()}, kv{"span_links", arr()}, kv{"span_events", arr()})),
			[]Span{base}},
		{"bin strings", "/v0.4/traces", msgpackCT,
			v04(span(kv{"resource", binStr("res")}, kv{"meta", anyMap(binStr("k"), binStr("v"))})),
			with(func(s *Span) { s.Resource = "res"; s.Meta = map[string]string{"k": "v"} })},
		{"nil meta key and value", "/v0.4/traces", msgpackCT,
			v04(span(kv{"meta", anyMap(null(), null())})),
			with(func(s *Span) { s.Meta = map[string]string{"": ""} })},
		{"integer and nil metrics", "/v0.4/traces", msgpackCT,
			v04(span(kv{"metrics", obj(kv{"a", fix(-3)}, kv{"b", u64(7)}, kv{"c", null()}, kv{"d", f64(0.5)})})),
			with(func(s *Span) { s.Metrics = map[string]float64{"a": -3, "b": 7, "c": 0, "d": 0.5} })},
		{"invalid utf-8 repaired", "/v0.4/traces", msgpackCT,
			v04(span(kv{"resource", str("a\xffb\xfe\xfe\xe2\x82c")})),
			with(func(s *Span) { s.Resource = "a\uFFFDb\uFFFD\uFFFD\uFFFD\uFFFDc" })},
		{"unknown keys skipped", "/v0.4/traces", msgpackCT,
			v04(span(kv{"x", obj(kv{"y", arr(fix(1), ext8())})}, kv{"z", binStr("zz")}, kv{"w", f32(1)})),
			[]Span{base}},
		{"nil span, link, event and attribute value skipped", "/v0.4/traces", msgpackCT,
			v04(null(), span(
				kv{"span_links", arr(null(), obj(kv{"span_id", u64(9)}))},
				kv{"span_events", arr(null(), event(obj(kv{"n", null()}, kv{"s", attr(0, kv{"string_value", str("v")})})))},
			)),
			with(func(s *Span) {
				s.SpanLinks = []SpanLink{{SpanID: 9}}
				s.SpanEvents = []SpanEvent{{TimeUnixNano: 1, Name: "e", Attributes: map[string]AttributeValue{"s": {Type: StringType, StringValue: "v"}}}}
			})},
		{"missing value field is the zero value", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"d", attr(3)}, kv{"b", attr(1)}, kv{"e", attr(4, kv{"array_value", null()})})))})),
			with(func(s *Span) {
				s.SpanEvents = []SpanEvent{{TimeUnixNano: 1, Name: "e", Attributes: map[string]AttributeValue{
					"d": {Type: DoubleType}, "b": {Type: BoolType}, "e": {Type: ArrayType},
				}}}
			})},
		{"float32 double_value widened", "/v0.4/traces", msgpackCT,
			v04(span(kv{"span_events", arr(event(obj(kv{"d", attr(3, kv{"double_value", f32(1.5)})})))})),
			with(func(s *Span) {
				s.SpanEvents = []SpanEvent{{TimeUnixNano: 1, Name: "e", Attributes: map[string]AttributeValue{"d": {Type: DoubleType, DoubleValue: 1.5}}}}
			})},
		{"content type parameters", "/v0.4/traces", "application/msgpack; charset=utf-8", v04(span()), []Span{base}},
		{"v05 content type ignored", "/v0.5/traces", "text/plain", v05(v05span(map[int]val{2: fix(0)})),
			[]Span{{Service: "svc", Name: "op", Resource: "svc", Type: "web", TraceID: 1, SpanID: 2, Start: 10, Duration: 5}}},
		{"v05 nil string table entry", "/v0.5/traces", "",
			encode(arr(arr(null()), arr(arr(arr(fix(0), fix(0), fix(0), fix(1), fix(2), fix(0), fix(0), fix(0), fix(0), anyMap(), anyMap(), fix(0)))))),
			[]Span{{TraceID: 1, SpanID: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(t)
			if status, body := post(t, a, tt.path, tt.ct, tt.body); status != http.StatusOK {
				t.Fatalf("status = %d: %s", status, body)
			}
			if diff := cmp.Diff(tt.want, a.Spans()); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
		})
	}
}

// ext8 is an ext value, which only an unknown key may hold.
func ext8() val { return rawBytes(0xd4, 0x01, 0x00) }

// TestLengthClaimsDoNotAllocate: a length on the wire, even one the body
// could hold, does not make the decoder allocate in proportion before the
// elements are read.
func TestLengthClaimsDoNotAllocate(t *testing.T) {
	const n = 1 << 20
	tests := map[string][]byte{
		// An array of 2^20 chunks whose first is nil (refused).
		"chunks": append([]byte{0xdd, 0x00, 0x10, 0x00, 0x00}, bytes.Repeat([]byte{0xc0}, n)...),
		// A meta map of 2^19 entries whose first value is an int (refused).
		"meta": v04(span(kv{"meta", rawBytes(append([]byte{0xdf, 0x00, 0x08, 0x00, 0x00, 0xa1, 'k', 0x01}, bytes.Repeat([]byte{0xc0}, n)...)...)})),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := decodeV04(body); err == nil {
				t.Fatal("decoded")
			}
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
				t.Errorf("decoding allocated %d bytes, want under 1 MiB", got)
			}
		})
	}
}

// TestErrorOffset: a refusal says where in the body the decoder stopped.
func TestErrorOffset(t *testing.T) {
	valid := v04(span())
	boolErr := v04(span(kv{"error", boolean(true)}))
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"at the bad value", boolErr, fmt.Sprintf("(at byte offset %d of %d)", len(boolErr)-1, len(boolErr))},
		{"after the payload", append(valid, 0xc0, 0xc0), fmt.Sprintf("2 bytes of trailing garbage after the payload (at byte offset %d of %d)", len(valid), len(valid)+2)},
		{"at the end", valid[:len(valid)-1], fmt.Sprintf("(at byte offset %d of %d)", len(valid)-1, len(valid)-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeV04(tt.body)
			if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to end with %q", err, tt.want)
			}
		})
	}
}
