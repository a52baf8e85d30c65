package ddexport

import (
	"bytes"
	"encoding/json"
	"flag"
	"hash/maphash"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// eventsAndLinks is a span with an event carrying every attribute type and
// two links.
func eventsAndLinks() tracetest.SpanStub {
	s := fxStub()
	ts, err := trace.ParseTraceState("vendor=a,other=b")
	if err != nil {
		panic(err)
	}
	s.Events = []sdktrace.Event{
		{Name: "cache.miss", Time: fxStart.Add(time.Microsecond), DroppedAttributeCount: 2, Attributes: attrs(
			attribute.String("s", "v"),
			attribute.Bool("b", true),
			attribute.Int64("i", -7),
			attribute.Float64("f", 2),
			attribute.Float64("nan", math.NaN()),
			attribute.StringSlice("ss", []string{"x", "y"}),
			attribute.BoolSlice("bs", []bool{false}),
			attribute.Int64Slice("is", []int64{1, 2}),
			attribute.Float64Slice("fs", []float64{1.5}),
			attribute.Slice("mixed", attribute.IntValue(3), attribute.StringSliceValue([]string{"n"})),
			attribute.Map("m", attribute.String("k", "v")),
			attribute.ByteSlice("raw", []byte("hi")),
		)},
		{Name: "bare"},
	}
	s.Links = []sdktrace.Link{
		{
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: fxTraceID, SpanID: trace.SpanID{7: 1}, TraceFlags: trace.FlagsSampled, TraceState: ts,
			}),
			Attributes:            attrs(attribute.String("link.kind", "retry"), attribute.Int("attempt", 2)),
			DroppedAttributeCount: 1,
		},
		{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{15: 3}, SpanID: trace.SpanID{7: 2},
		})},
	}
	return s
}

func TestEventsAndLinksAsJSON(t *testing.T) {
	for _, v := range []APIVersion{V04, V05} {
		t.Run(v.String(), func(t *testing.T) {
			got := encodeOne(t, v, &mapConfig{}, true, eventsAndLinks().Snapshot())
			want := fxWant()
			want.Meta["events"] = `[{"time_unix_nano":1700000000000001123,"name":"cache.miss","attributes":{` +
				`"s":"v","b":true,"i":-7,"f":2,"nan":"NaN","ss":["x","y"],"bs":[false],"is":[1,2],"fs":[1.5],` +
				`"mixed":[3,["n"]],"m":{"k":"v"},"raw":"aGk="},"dropped_attributes_count":2},{"name":"bare"}]`
			want.Meta["_dd.span_links"] = `[{"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0000000000000001",` +
				`"tracestate":"vendor=a,other=b","attributes":{"link.kind":"retry","attempt":"2"},"dropped_attributes_count":1},` +
				`{"trace_id":"00000000000000000000000000000003","span_id":"0000000000000002"}]`
			if v == V04 {
				// Native events were asked for: only v0.5 falls back to JSON.
				t.Skip("covered by TestNativeEventsAndLinks")
			}
			if diff := cmp.Diff([][]wireSpan{{want}}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, k := range []string{"events", "_dd.span_links"} {
				if !json.Valid([]byte(got[0][0].Meta[k])) {
					t.Errorf("meta %s is not valid JSON: %s", k, got[0][0].Meta[k])
				}
			}
		})
	}
	t.Run("v0.4 without native events", func(t *testing.T) {
		got := encodeOne(t, V04, &mapConfig{}, false, eventsAndLinks().Snapshot())
		v05 := encodeOne(t, V05, &mapConfig{}, false, eventsAndLinks().Snapshot())
		if diff := cmp.Diff(v05, got); diff != "" {
			t.Errorf("v0.4 JSON mode differs from v0.5 (-v0.5 +v0.4):\n%s", diff)
		}
	})
}

func TestNativeEventsAndLinks(t *testing.T) {
	got := encodeOne(t, V04, &mapConfig{}, true, eventsAndLinks().Snapshot())
	want := fxWant()
	str := func(s string) wireValue { return wireValue{Type: 0, String: s} }
	want.SpanEvents = []wireEvent{
		{TimeUnixNano: uint64(fxStart.Add(time.Microsecond).UnixNano()), Name: "cache.miss", Attributes: map[string]wireValue{
			"s":   str("v"),
			"b":   {Type: 1, Bool: true},
			"i":   {Type: 2, Int: -7},
			"f":   {Type: 3, Double: 2},
			"nan": {Type: 3, Double: math.NaN()},
			"ss":  {Type: 4, Array: []wireValue{str("x"), str("y")}},
			"bs":  {Type: 4, Array: []wireValue{{Type: 1, Bool: false}}},
			"is":  {Type: 4, Array: []wireValue{{Type: 2, Int: 1}, {Type: 2, Int: 2}}},
			"fs":  {Type: 4, Array: []wireValue{{Type: 3, Double: 1.5}}},
			"mixed": {Type: 4, Array: []wireValue{
				{Type: 2, Int: 3}, str(`["n"]`),
			}},
			"m":   str(`{"k":"v"}`),
			"raw": str("aGk="),
		}},
		{Name: "bare"},
	}
	want.SpanLinks = []wireLink{
		{
			TraceID: fxTraceLow, TraceIDHigh: 0x0102030405060708, SpanID: 1,
			Attributes: map[string]string{"link.kind": "retry", "attempt": "2"},
			Tracestate: "vendor=a,other=b", Flags: 1 | 1<<31,
		},
		{TraceID: 3, SpanID: 2, Flags: 1 << 31},
	}
	if diff := cmp.Diff([][]wireSpan{{want}}, got, cmp.Comparer(func(a, b float64) bool {
		return a == b || math.IsNaN(a) && math.IsNaN(b)
	})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// trio is a local root, its child and a grandchild, plus a span of another
// trace whose parent is remote.
func trio() []sdktrace.ReadOnlySpan {
	ctx := func(tid trace.TraceID, sid byte) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{7: sid}, TraceFlags: 1})
	}
	other := trace.TraceID{0: 0xaa, 15: 0xbb}
	mk := func(name string, sc, parent trace.SpanContext) sdktrace.ReadOnlySpan {
		s := fxStub()
		s.Name = name
		s.SpanContext = sc
		s.Parent = parent
		return s.Snapshot()
	}
	return []sdktrace.ReadOnlySpan{
		mk("child", ctx(fxTraceID, 2), ctx(fxTraceID, 1)),
		mk("remote-child", ctx(other, 5), ctx(other, 4).WithRemote(true)),
		mk("root", ctx(fxTraceID, 1), trace.SpanContext{}),
		mk("grandchild", ctx(fxTraceID, 3), ctx(fxTraceID, 2)),
	}
}

func TestChunksAndRoots(t *testing.T) {
	for _, v := range []APIVersion{V04, V05} {
		t.Run(v.String(), func(t *testing.T) {
			got := encodeOne(t, v, &mapConfig{}, false, trio()...)
			type row struct {
				Resource string
				Parent   uint64
				Root     bool
			}
			var rows [][]row
			for _, c := range got {
				var r []row
				for _, s := range c {
					_, dm := s.Meta["_dd.p.dm"]
					_, tid := s.Meta["_dd.p.tid"]
					_, prio := s.Metrics["_sampling_priority_v1"]
					if dm != prio || dm != tid {
						t.Errorf("%s: root markers disagree: dm %v, tid %v, priority %v", s.Resource, dm, tid, prio)
					}
					r = append(r, row{s.Resource, s.ParentID, dm})
				}
				rows = append(rows, r)
			}
			want := [][]row{
				{{"child", 1, false}, {"root", 0, true}, {"grandchild", 2, false}},
				{{"remote-child", 4, true}},
			}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestBigChunkRoots covers root detection in chunks large enough to use
// the span ID set.
func TestBigChunkRoots(t *testing.T) {
	var spans []sdktrace.ReadOnlySpan
	for i := 1; i <= 40; i++ {
		s := fxStub()
		s.SpanContext = s.SpanContext.WithSpanID(trace.SpanID{6: byte(i >> 8), 7: byte(i)})
		if i > 1 && i != 20 { // 1 is the root, 20 has a parent elsewhere
			s.Parent = s.SpanContext.WithSpanID(trace.SpanID{7: byte(i - 1)})
		} else if i == 20 {
			s.Parent = s.SpanContext.WithSpanID(trace.SpanID{7: 200})
		}
		spans = append(spans, s.Snapshot())
	}
	got := encodeOne(t, V04, &mapConfig{}, false, spans...)
	var roots []uint64
	for _, s := range got[0] {
		if _, ok := s.Meta["_dd.p.dm"]; ok {
			roots = append(roots, s.SpanID)
		}
	}
	if diff := cmp.Diff([]uint64{1, 20}, roots); diff != "" {
		t.Errorf("roots (-want +got):\n%s", diff)
	}
}

// TestSubRanges checks the exporter's use: chunks once, then encode on any
// sub-range, repeatedly, with the same result as encoding all at once.
func TestSubRanges(t *testing.T) {
	for _, v := range []APIVersion{V04, V05} {
		t.Run(v.String(), func(t *testing.T) {
			all := encodeOne(t, v, &mapConfig{}, false, trio()...)
			e := newEncoder(v, &mapConfig{})
			chunks := e.chunks(trio())
			dec := decodeV04
			if v == V05 {
				dec = decodeV05
			}
			var got [][]wireSpan
			for i := range chunks {
				part, err := dec(e.encode(chunks[i:i+1], false))
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, part...)
			}
			again, err := dec(e.encode(chunks, false))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("halves differ from the whole (-whole +halves):\n%s", diff)
			}
			if diff := cmp.Diff(all, again); diff != "" {
				t.Errorf("re-encoding differs (-first +again):\n%s", diff)
			}
		})
	}
}

func TestChunksGrouping(t *testing.T) {
	e := newEncoder(V04, &mapConfig{})
	a, b := trace.TraceID{1}, trace.TraceID{2}
	mk := func(tid trace.TraceID, sid byte) sdktrace.ReadOnlySpan {
		s := fxStub()
		s.SpanContext = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{7: sid}})
		return s.Snapshot()
	}
	in := []sdktrace.ReadOnlySpan{mk(a, 1), mk(b, 2), nil, mk(a, 3), mk(b, 4), mk(a, 5)}
	ids := func(chunks [][]sdktrace.ReadOnlySpan) [][]byte {
		var out [][]byte
		for _, c := range chunks {
			var r []byte
			for _, s := range c {
				r = append(r, s.SpanContext().SpanID()[7])
			}
			out = append(out, r)
		}
		return out
	}
	chunks := e.chunks(in)
	if diff := cmp.Diff([][]byte{{1, 3, 5}, {2, 4}}, ids(chunks)); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
	// The chunks are capped: appending to one must not overwrite the next.
	_ = append(chunks[0], in[1])
	if got := chunks[1][0].SpanContext().SpanID()[7]; got != 2 {
		t.Errorf("appending to chunk 0 overwrote chunk 1: %d", got)
	}
	// A second call reuses the memory and regroups.
	if diff := cmp.Diff([][]byte{{2}}, ids(e.chunks(in[1:2]))); diff != "" {
		t.Errorf("second call (-want +got):\n%s", diff)
	}
	if got := e.chunks(nil); len(got) != 0 {
		t.Errorf("chunks(nil) = %d chunks", len(got))
	}
	if got := newEncoder(V04, nil).encode(nil, false); !bytes.Equal(got, []byte{0x90}) {
		t.Errorf("empty v0.4 body = %x", got)
	}
	if got := newEncoder(V05, nil).encode(nil, false); !bytes.Equal(got, []byte{0x92, 0x91, 0xa0, 0x90}) {
		t.Errorf("empty v0.5 body = %x", got)
	}
}

func TestReleaseDropsSpansAndCapsBuffers(t *testing.T) {
	for _, v := range []APIVersion{V04, V05} {
		t.Run(v.String(), func(t *testing.T) {
			e := newEncoder(v, &mapConfig{})
			spans := trio()
			e.encode(e.chunks(spans), true)
			e.release()
			for i, s := range e.spans[:cap(e.spans)] {
				if s != nil {
					t.Errorf("span %d still referenced after release", i)
				}
			}
			for i, c := range e.chunkOut[:cap(e.chunkOut)] {
				if c != nil {
					t.Errorf("chunk %d still referenced after release", i)
				}
			}
			if e.sp != (ddname.Slots{}) || e.exc != (exceptionInfo{}) || e.res != nil || e.resKeys != nil || len(e.seen.keys) != 0 {
				t.Error("per-span state kept after release")
			}
			for _, k := range e.seen.keys[:cap(e.seen.keys)] {
				if k != (keyParts{}) {
					t.Fatal("key set still references attribute keys")
				}
			}
			if cap(e.buf) == 0 {
				t.Error("a small buffer was not kept for reuse")
			}

			// One huge span makes the body grow past the cap: release drops it.
			big := fxStub()
			big.Attributes = attrs(attribute.String("blob", string(make([]byte, maxKeptBytes+1))))
			e.encode(e.chunks([]sdktrace.ReadOnlySpan{big.Snapshot()}), false)
			e.release()
			if cap(e.buf) > maxKeptBytes || cap(e.body) > maxKeptBytes || cap(e.strs.arena) > maxKeptBytes {
				t.Errorf("buffers kept past the cap: buf %d, body %d, arena %d", cap(e.buf), cap(e.body), cap(e.strs.arena))
			}
		})
	}
}

// TestLargeMaps covers map headers patched to 16 and 32 bits.
func TestLargeMaps(t *testing.T) {
	// The attributes, plus _dd.top_level and _sampling_priority_v1: 15
	// entries (the largest fixmap), 16, and beyond 16 bits.
	for _, n := range []int{13, 14, 300, 70000} {
		s := fxStub()
		s.Resource = nil
		s.InstrumentationScope.Name, s.InstrumentationScope.Version = "", ""
		for i := range n {
			s.Attributes = append(s.Attributes, attribute.Int("k"+itoa(i), i))
		}
		for _, v := range []APIVersion{V04, V05} {
			got := encodeOne(t, v, &mapConfig{}, false, s.Snapshot())
			if m := len(got[0][0].Metrics); m != n+2 {
				t.Errorf("%v, %d attributes: %d metrics", v, n, m)
			}
			if got[0][0].Metrics["k"+itoa(n-1)] != float64(n-1) {
				t.Errorf("%v, %d attributes: last metric wrong", v, n)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestV05IsSmaller(t *testing.T) {
	spans := realisticSpans(100)
	v04 := newEncoder(V04, &mapConfig{}).encode(newEncoder(V04, &mapConfig{}).chunks(spans), false)
	n04 := len(v04)
	e := newEncoder(V05, &mapConfig{})
	n05 := len(e.encode(e.chunks(spans), false))
	if float64(n05) > 0.6*float64(n04) {
		t.Errorf("v0.5 payload is %d bytes, %.0f%% of v0.4's %d (budget 60%%)", n05, 100*float64(n05)/float64(n04), n04)
	}
}

func TestStringTable(t *testing.T) {
	tab := strtab{seed: maphash.MakeSeed()}
	want := map[string]uint32{}
	for i := range 1000 {
		s := itoa(i % 300)
		idx := tab.index(s)
		if j, ok := want[s]; ok && j != idx {
			t.Fatalf("%q indexed %d then %d", s, j, idx)
		}
		want[s] = idx
		if b := tab.indexBytes([]byte(s)); b != idx {
			t.Fatalf("%q: bytes index %d, string index %d", s, b, idx)
		}
		if got := string(tab.at(int(idx))); got != s {
			t.Fatalf("entry %d = %q, want %q", idx, got, s)
		}
	}
	if len(tab.offs) != 300 {
		t.Errorf("%d entries, want 300", len(tab.offs))
	}
	tab.reset()
	if tab.index("x") != 0 {
		t.Error("reset table does not start at 0")
	}
}

// Golden payloads: a realistic batch, decoded and rendered as JSON.

func goldenSpans() []sdktrace.ReadOnlySpan {
	spans := realisticSpans(3)
	withEvents := eventsAndLinks()
	var kept []attribute.KeyValue
	for _, kv := range withEvents.Events[0].Attributes {
		if kv.Key != "nan" { // JSON has no NaN to render it in the golden file
			kept = append(kept, kv)
		}
	}
	withEvents.Events[0].Attributes = kept
	spans = append(spans, withEvents.Snapshot())
	errored := fxStub()
	errored.Name = "charge"
	errored.Status = sdktrace.Status{Code: codes.Error, Description: "declined"}
	errored.Events = []sdktrace.Event{{Name: "exception", Time: fxStart, Attributes: attrs(
		attribute.String("exception.type", "*errors.errorString"),
		attribute.String("exception.message", "declined"),
	)}}
	return append(spans, errored.Snapshot())
}

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		file   string
		v      APIVersion
		native bool
	}{
		{"v04.json", V04, false},
		{"v04_native.json", V04, true},
		{"v05.json", V05, false},
	} {
		t.Run(c.file, func(t *testing.T) {
			got := encodeOne(t, c.v, &mapConfig{env: "test", version: "1.0.0"}, c.native, goldenSpans()...)
			rendered, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			rendered = append(rendered, '\n')
			path := filepath.Join("testdata", c.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, rendered, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(rendered)); diff != "" {
				t.Errorf("payload differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestLinkJSONEscaping(t *testing.T) {
	ts, err := trace.ParseTraceState(`vendor=a"b\c<d>`)
	if err != nil {
		t.Fatal(err)
	}
	s := fxStub()
	s.Links = []sdktrace.Link{{
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: trace.SpanID{7: 1}, TraceState: ts}),
		Attributes:  attrs(attribute.StringSlice("list", []string{`q"`}), attribute.Float64("f", 1e-9), attribute.ByteSlice("b", []byte{0xff})),
	}}
	got := encodeOne(t, V05, &mapConfig{}, false, s.Snapshot())
	var links []struct {
		TraceID    string            `json:"trace_id"`
		SpanID     string            `json:"span_id"`
		Tracestate string            `json:"tracestate"`
		Attributes map[string]string `json:"attributes"`
	}
	raw := got[0][0].Meta["_dd.span_links"]
	if err := json.Unmarshal([]byte(raw), &links); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	want := []struct {
		TraceID    string            `json:"trace_id"`
		SpanID     string            `json:"span_id"`
		Tracestate string            `json:"tracestate"`
		Attributes map[string]string `json:"attributes"`
	}{{
		TraceID: "0102030405060708090a0b0c0d0e0f10", SpanID: "0000000000000001", Tracestate: `vendor=a"b\c<d>`,
		Attributes: map[string]string{"list": `["q\""]`, "f": "1e-9", "b": "/w=="},
	}}
	if diff := cmp.Diff(want, links); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSampleRate(t *testing.T) {
	for raw, want := range map[string]float64{
		"ot=th:0":               1,
		"ot=th:8":               0.5,
		"ot=th:c":               0.25,
		"ot=th:fffffffffffff8":  1 - float64(0xfffffffffffff8)/(1<<56),
		"ot=p:0":                1,
		"ot=p:4":                1.0 / 16,
		"ot=p:2;th:8":           0.5,
		"ot=p:63":               -1,
		"ot=th:zz":              -1,
		"ot=th:123456789012345": -1,
		"ot=rv:12":              -1,
		"dd=s:1":                -1,
	} {
		ts, err := trace.ParseTraceState(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got, ok := sampleRate(ts)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("sampleRate(%s) = %v, want %v", raw, got, want)
		}
	}
}

// TestEncoderPoolKeepsEncoders checks that idle encoders, whose buffers
// have grown to their batches, survive garbage collections (a sync.Pool
// would drop them), and that at most maxIdleEncoders are kept.
func TestEncoderPoolKeepsEncoders(t *testing.T) {
	made := 0
	p := encoderPool{New: func() any { made++; return newEncoder(V04, nil) }}
	first := p.Get()
	p.Put(first)
	runtime.GC()
	runtime.GC()
	if got := p.Get(); got != first || made != 1 {
		t.Errorf("after two collections: got a new encoder (%d made), want the idle one", made)
	}

	var all []any
	for range maxIdleEncoders + 2 {
		all = append(all, p.Get())
	}
	for _, e := range all {
		p.Put(e)
	}
	if len(p.idle) != maxIdleEncoders {
		t.Errorf("%d encoders kept, want %d", len(p.idle), maxIdleEncoders)
	}
}
