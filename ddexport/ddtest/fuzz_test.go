package ddtest

import (
	"bytes"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vmihailenco/msgpack/v5"
)

// The fuzz targets feed arbitrary bodies to the decoders. A body must never
// panic them; a body they accept must decode to structs that keep the
// package's invariants and that survive a re-encoding unchanged.

func FuzzDecodeV04(f *testing.F) {
	full, _ := fullV04()
	f.Add(encode(arr(arr(full))))
	f.Add(v04(span(kv{"meta", obj(kv{"k", str("v")})}, kv{"metrics", obj(kv{"m", f64(1)})})))
	f.Add(v04(null(), span(kv{"span_links", arr(null())})))
	f.Add(encode(arr(arr(), arr(span(kv{"span_id", u64(0)})))))
	f.Add([]byte{0x91, 0x91, 0x80})
	f.Fuzz(func(t *testing.T, body []byte) {
		chunks, err := decodeV04(body)
		if err != nil {
			return
		}
		check(t, chunks)
		again, err := decodeV04(encodeV04(chunks))
		if err != nil {
			t.Fatalf("re-encoded payload rejected: %v", err)
		}
		if diff := cmp.Diff(spansOf(chunks), spansOf(again), cmpopts.EquateNaNs()); diff != "" {
			t.Fatalf("re-encoded payload decodes differently (-first +second):\n%s", diff)
		}
	})
}

func FuzzDecodeV05(f *testing.F) {
	f.Add(v05(v05span(nil)))
	f.Add(v05(v05span(map[int]val{9: anyMap(fix(4), fix(5)), 10: anyMap(fix(4), f64(2))})))
	f.Add(encode(arr(arr(), arr())))
	f.Fuzz(func(t *testing.T, body []byte) {
		chunks, err := decodeV05(body)
		if err != nil {
			return
		}
		check(t, chunks)
		again, err := decodeV05(encodeV05(chunks))
		if err != nil {
			t.Fatalf("re-encoded payload rejected: %v", err)
		}
		if diff := cmp.Diff(spansOf(chunks), spansOf(again), cmpopts.EquateNaNs()); diff != "" {
			t.Fatalf("re-encoded payload decodes differently (-first +second):\n%s", diff)
		}
	})
}

func spansOf(chunks []chunk) [][]Span {
	out := make([][]Span, len(chunks))
	for i, c := range chunks {
		out[i] = c.spans
	}
	return out
}

// check verifies the invariants of decoded spans: empty maps and slices are
// nil, attribute values are well typed, and every chunk knows its trace.
func check(t *testing.T, chunks []chunk) {
	t.Helper()
	for _, c := range chunks {
		if c.spans != nil && len(c.spans) == 0 {
			t.Fatal("empty non-nil chunk")
		}
		for _, s := range c.spans {
			if s.Meta != nil && len(s.Meta) == 0 || s.Metrics != nil && len(s.Metrics) == 0 ||
				s.MetaStruct != nil && len(s.MetaStruct) == 0 || s.SpanLinks != nil && len(s.SpanLinks) == 0 ||
				s.SpanEvents != nil && len(s.SpanEvents) == 0 {
				t.Fatalf("empty non-nil map or slice in %+v", s)
			}
			for _, l := range s.SpanLinks {
				if l.Attributes != nil && len(l.Attributes) == 0 {
					t.Fatalf("empty non-nil link attributes in %+v", l)
				}
			}
			for _, e := range s.SpanEvents {
				if e.Attributes != nil && len(e.Attributes) == 0 {
					t.Fatalf("empty non-nil event attributes in %+v", e)
				}
				for k, v := range e.Attributes {
					checkValue(t, k, v, false)
				}
			}
		}
	}
}

func checkValue(t *testing.T, k string, v AttributeValue, inArray bool) {
	t.Helper()
	zero := AttributeValue{Type: v.Type}
	switch v.Type {
	case StringType:
		zero.StringValue = v.StringValue
	case BoolType:
		zero.BoolValue = v.BoolValue
	case IntType:
		zero.IntValue = v.IntValue
	case DoubleType:
		zero.DoubleValue = v.DoubleValue
	case ArrayType:
		if inArray {
			t.Fatalf("attribute %q: array inside an array", k)
		}
		if v.ArrayValue != nil && len(v.ArrayValue) == 0 {
			t.Fatalf("attribute %q: empty non-nil array", k)
		}
		for _, e := range v.ArrayValue {
			checkValue(t, k, e, true)
		}
		zero.ArrayValue = v.ArrayValue
	default:
		t.Fatalf("attribute %q: type %d", k, v.Type)
	}
	if diff := cmp.Diff(zero, v, cmpopts.EquateNaNs()); diff != "" {
		t.Fatalf("attribute %q carries a value of another type:\n%s", k, diff)
	}
}

// encodeV04 is a straightforward v0.4 encoder, independent of the decoder.
func encodeV04(chunks []chunk) []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	must(e.EncodeArrayLen(len(chunks)))
	for _, c := range chunks {
		must(e.EncodeArrayLen(len(c.spans)))
		for _, s := range c.spans {
			encodeSpanV04(e, s)
		}
	}
	return buf.Bytes()
}

func encodeSpanV04(e *msgpack.Encoder, s Span) {
	must(e.EncodeMapLen(15))
	str := func(k, v string) { must(e.EncodeString(k)); must(e.EncodeString(v)) }
	str("service", s.Service)
	str("name", s.Name)
	str("resource", s.Resource)
	str("type", s.Type)
	u := func(k string, v uint64) { must(e.EncodeString(k)); must(e.EncodeUint(v)) }
	u("trace_id", s.TraceID)
	u("span_id", s.SpanID)
	u("parent_id", s.ParentID)
	i := func(k string, v int64) { must(e.EncodeString(k)); must(e.EncodeInt(v)) }
	i("start", s.Start)
	i("duration", s.Duration)
	i("error", int64(s.Error))
	must(e.EncodeString("meta"))
	encodeStringMap(e, s.Meta)
	must(e.EncodeString("metrics"))
	must(e.EncodeMapLen(len(s.Metrics)))
	for _, k := range sortedKeys(s.Metrics) {
		must(e.EncodeString(k))
		must(e.EncodeFloat64(s.Metrics[k]))
	}
	must(e.EncodeString("meta_struct"))
	must(e.EncodeMapLen(len(s.MetaStruct)))
	for _, k := range sortedKeys(s.MetaStruct) {
		must(e.EncodeString(k))
		must(e.EncodeBytes(s.MetaStruct[k]))
	}
	must(e.EncodeString("span_links"))
	must(e.EncodeArrayLen(len(s.SpanLinks)))
	for _, l := range s.SpanLinks {
		must(e.EncodeMapLen(6))
		u("trace_id", l.TraceID)
		u("trace_id_high", l.TraceIDHigh)
		u("span_id", l.SpanID)
		must(e.EncodeString("attributes"))
		encodeStringMap(e, l.Attributes)
		str("tracestate", l.Tracestate)
		u("flags", uint64(l.Flags))
	}
	must(e.EncodeString("span_events"))
	must(e.EncodeArrayLen(len(s.SpanEvents)))
	for _, ev := range s.SpanEvents {
		must(e.EncodeMapLen(3))
		u("time_unix_nano", ev.TimeUnixNano)
		str("name", ev.Name)
		must(e.EncodeString("attributes"))
		must(e.EncodeMapLen(len(ev.Attributes)))
		for _, k := range sortedKeys(ev.Attributes) {
			must(e.EncodeString(k))
			encodeValue(e, ev.Attributes[k])
		}
	}
}

func encodeValue(e *msgpack.Encoder, v AttributeValue) {
	must(e.EncodeMapLen(2))
	must(e.EncodeString("type"))
	must(e.EncodeInt(int64(v.Type)))
	switch v.Type {
	case StringType:
		must(e.EncodeString("string_value"))
		must(e.EncodeString(v.StringValue))
	case BoolType:
		must(e.EncodeString("bool_value"))
		must(e.EncodeBool(v.BoolValue))
	case IntType:
		must(e.EncodeString("int_value"))
		must(e.EncodeInt(v.IntValue))
	case DoubleType:
		must(e.EncodeString("double_value"))
		must(e.EncodeFloat64(v.DoubleValue))
	case ArrayType:
		must(e.EncodeString("array_value"))
		must(e.EncodeMapLen(1))
		must(e.EncodeString("values"))
		must(e.EncodeArrayLen(len(v.ArrayValue)))
		for _, a := range v.ArrayValue {
			encodeValue(e, a)
		}
	}
}

func encodeStringMap(e *msgpack.Encoder, m map[string]string) {
	must(e.EncodeMapLen(len(m)))
	for _, k := range sortedKeys(m) {
		must(e.EncodeString(k))
		must(e.EncodeString(m[k]))
	}
}

// encodeV05 is a straightforward v0.5 encoder with a string table.
func encodeV05(chunks []chunk) []byte {
	idx := map[string]int{}
	var table []string
	ref := func(s string) int {
		if i, ok := idx[s]; ok {
			return i
		}
		idx[s] = len(table)
		table = append(table, s)
		return len(table) - 1
	}
	var body bytes.Buffer
	e := msgpack.NewEncoder(&body)
	must(e.EncodeArrayLen(len(chunks)))
	for _, c := range chunks {
		must(e.EncodeArrayLen(len(c.spans)))
		for _, s := range c.spans {
			must(e.EncodeArrayLen(12))
			must(e.EncodeInt(int64(ref(s.Service))))
			must(e.EncodeInt(int64(ref(s.Name))))
			must(e.EncodeInt(int64(ref(s.Resource))))
			must(e.EncodeUint(s.TraceID))
			must(e.EncodeUint(s.SpanID))
			must(e.EncodeUint(s.ParentID))
			must(e.EncodeInt(s.Start))
			must(e.EncodeInt(s.Duration))
			must(e.EncodeInt(int64(s.Error)))
			must(e.EncodeMapLen(len(s.Meta)))
			for _, k := range sortedKeys(s.Meta) {
				must(e.EncodeInt(int64(ref(k))))
				must(e.EncodeInt(int64(ref(s.Meta[k]))))
			}
			must(e.EncodeMapLen(len(s.Metrics)))
			for _, k := range sortedKeys(s.Metrics) {
				must(e.EncodeInt(int64(ref(k))))
				must(e.EncodeFloat64(s.Metrics[k]))
			}
			must(e.EncodeInt(int64(ref(s.Type))))
		}
	}
	var out bytes.Buffer
	o := msgpack.NewEncoder(&out)
	must(o.EncodeArrayLen(2))
	must(o.EncodeArrayLen(len(table)))
	for _, s := range table {
		must(o.EncodeString(s))
	}
	out.Write(body.Bytes())
	return out.Bytes()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func FuzzDecodeStats(f *testing.F) {
	f.Add(encode(statsBody(kv{"Stats", arr(bucket(kv{"Stats", arr(group(f), group(f, kv{"PeerTags", arr(str("a:b"))}))}))})))
	f.Add(encode(statsBody()))
	f.Add(encode(obj(kv{"Stats", arr(obj())})))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeStats(body)
		if err != nil {
			return
		}
		again, err := decodeStats(encodeStats(p))
		if err != nil {
			t.Fatalf("re-encoded payload rejected: %v", err)
		}
		if diff := cmp.Diff(p, again); diff != "" {
			t.Fatalf("re-encoded payload decodes differently (-first +second):\n%s", diff)
		}
	})
}

// encodeStats encodes p with every key, as dd-trace-go does; absent
// summaries stay absent.
func encodeStats(p StatsPayload) []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	strs := func(vs []string) {
		must(e.EncodeArrayLen(len(vs)))
		for _, v := range vs {
			must(e.EncodeString(v))
		}
	}
	must(e.EncodeMapLen(16))
	for _, f := range []struct {
		k string
		v func()
	}{
		{"Hostname", func() { must(e.EncodeString(p.Hostname)) }},
		{"Env", func() { must(e.EncodeString(p.Env)) }},
		{"Version", func() { must(e.EncodeString(p.Version)) }},
		{"Stats", func() {
			must(e.EncodeArrayLen(len(p.Stats)))
			for _, b := range p.Stats {
				must(e.EncodeMapLen(4))
				must(e.EncodeString("Start"))
				must(e.EncodeUint64(b.Start))
				must(e.EncodeString("Duration"))
				must(e.EncodeUint64(b.Duration))
				must(e.EncodeString("AgentTimeShift"))
				must(e.EncodeInt64(b.AgentTimeShift))
				must(e.EncodeString("Stats"))
				must(e.EncodeArrayLen(len(b.Stats)))
				for _, g := range b.Stats {
					encodeGroup(e, g, strs)
				}
			}
		}},
		{"Lang", func() { must(e.EncodeString(p.Lang)) }},
		{"TracerVersion", func() { must(e.EncodeString(p.TracerVersion)) }},
		{"RuntimeID", func() { must(e.EncodeString(p.RuntimeID)) }},
		{"Sequence", func() { must(e.EncodeUint64(p.Sequence)) }},
		{"AgentAggregation", func() { must(e.EncodeString(p.AgentAggregation)) }},
		{"Service", func() { must(e.EncodeString(p.Service)) }},
		{"ContainerID", func() { must(e.EncodeString(p.ContainerID)) }},
		{"Tags", func() { strs(p.Tags) }},
		{"GitCommitSha", func() { must(e.EncodeString(p.GitCommitSha)) }},
		{"ImageTag", func() { must(e.EncodeString(p.ImageTag)) }},
		{"ProcessTagsHash", func() { must(e.EncodeUint64(p.ProcessTagsHash)) }},
		{"ProcessTags", func() { must(e.EncodeString(p.ProcessTags)) }},
	} {
		must(e.EncodeString(f.k))
		f.v()
	}
	return buf.Bytes()
}

func encodeGroup(e *msgpack.Encoder, g GroupedStats, strs func([]string)) {
	n := 20
	if g.OkSummary != nil {
		n++
	}
	if g.ErrorSummary != nil {
		n++
	}
	must(e.EncodeMapLen(n))
	for _, f := range []struct {
		k string
		v func()
	}{
		{"Service", func() { must(e.EncodeString(g.Service)) }},
		{"Name", func() { must(e.EncodeString(g.Name)) }},
		{"Resource", func() { must(e.EncodeString(g.Resource)) }},
		{"HTTPStatusCode", func() { must(e.EncodeUint32(g.HTTPStatusCode)) }},
		{"Type", func() { must(e.EncodeString(g.Type)) }},
		{"DBType", func() { must(e.EncodeString(g.DBType)) }},
		{"Hits", func() { must(e.EncodeUint64(g.Hits)) }},
		{"Errors", func() { must(e.EncodeUint64(g.Errors)) }},
		{"Duration", func() { must(e.EncodeUint64(g.Duration)) }},
		{"Synthetics", func() { must(e.EncodeBool(g.Synthetics)) }},
		{"TopLevelHits", func() { must(e.EncodeUint64(g.TopLevelHits)) }},
		{"SpanKind", func() { must(e.EncodeString(g.SpanKind)) }},
		{"PeerTags", func() { strs(g.PeerTags) }},
		{"IsTraceRoot", func() { must(e.EncodeInt32(g.IsTraceRoot)) }},
		{"GRPCStatusCode", func() { must(e.EncodeString(g.GRPCStatusCode)) }},
		{"HTTPMethod", func() { must(e.EncodeString(g.HTTPMethod)) }},
		{"HTTPEndpoint", func() { must(e.EncodeString(g.HTTPEndpoint)) }},
		{"srv_src", func() { must(e.EncodeString(g.ServiceSource)) }},
		{"SpanDerivedPrimaryTags", func() { strs(g.SpanDerivedPrimaryTags) }},
		{"AdditionalMetricTags", func() { strs(g.AdditionalMetricTags) }},
	} {
		must(e.EncodeString(f.k))
		f.v()
	}
	for _, s := range []struct {
		k string
		v Sketch
	}{{"OkSummary", g.OkSummary}, {"ErrorSummary", g.ErrorSummary}} {
		if s.v != nil {
			must(e.EncodeString(s.k))
			must(e.EncodeBytes(s.v))
		}
	}
}
