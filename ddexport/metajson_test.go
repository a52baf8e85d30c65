package ddexport

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// jsonEvent is an event of meta "events", decoded.
type jsonEvent struct {
	Name       string         `json:"name"`
	Attributes map[string]any `json:"attributes"`
}

// decodeMetaJSON decodes meta[key], failing the test when it is over the
// Agent's limit or not valid JSON.
func decodeMetaJSON(t *testing.T, meta map[string]string, key string, v any) {
	t.Helper()
	s := meta[key]
	if len(s) > maxMetaValueLen {
		t.Fatalf("meta %s: %d bytes, over the Agent's %d", key, len(s), maxMetaValueLen)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("meta %s is not valid JSON (%v): %.200s...", key, err, s)
	}
}

// logEvents returns n events of about 200 bytes, as the Handler records log
// lines, with an exception event at every index in exceptions.
func logEvents(n int, exceptions ...int) []sdktrace.Event {
	var out []sdktrace.Event
	for i := range n {
		ev := sdktrace.Event{Name: "log line " + itoa(i), Time: fxStart.Add(time.Duration(i) * time.Millisecond), Attributes: attrs(
			attribute.String("level", "INFO"),
			attribute.String("msg", strings.Repeat("payment step done; ", 8)),
			attribute.Int("i", i),
		)}
		for _, x := range exceptions {
			if x == i {
				ev.Name = "exception"
				ev.Attributes = attrs(attribute.String("exception.message", "failure "+itoa(i)), attribute.Int("i", i))
			}
		}
		out = append(out, ev)
	}
	return out
}

func eventIndexes(events []jsonEvent) []int {
	var out []int
	for _, ev := range events {
		out = append(out, int(ev.Attributes["i"].(float64)))
	}
	return out
}

// TestEventsJSONCapped: the meta "events" of a span with more events than
// 25,000 bytes hold (review finding 8) stays valid JSON under the limit;
// exception events are kept first, then the newest other events, in their
// order; the count of the others is in _dd.span_events.dropped.
func TestEventsJSONCapped(t *testing.T) {
	for _, c := range []struct {
		name       string
		events     []sdktrace.Event
		exceptions []int
	}{
		{"128 log events", logEvents(128), nil},
		{"with exception events early and late", logEvents(300, 3, 10, 250), []int{3, 10, 250}},
	} {
		for _, v := range []APIVersion{V04, V05} {
			s := fxStub()
			s.Events = c.events
			got := encodeOne(t, v, &mapConfig{}, false, s.Snapshot())[0][0]
			var events []jsonEvent
			decodeMetaJSON(t, got.Meta, "events", &events)
			idx := eventIndexes(events)
			// The kept ones: the exception events, and the newest others.
			isExc := func(i int) bool {
				for _, x := range c.exceptions {
					if x == i {
						return true
					}
				}
				return false
			}
			others := len(idx) - len(c.exceptions)
			keep := map[int]bool{}
			for i := len(c.events) - 1; i >= 0; i-- {
				if isExc(i) {
					keep[i] = true
				} else if others > 0 {
					keep[i] = true
					others--
				}
			}
			var want []int
			for i := range c.events {
				if keep[i] {
					want = append(want, i)
				}
			}
			if diff := cmp.Diff(want, idx); diff != "" {
				t.Errorf("%s, %v: kept events (-want +got):\n%s", c.name, v, diff)
			}
			if len(idx) < 50 {
				t.Errorf("%s, %v: only %d events kept", c.name, v, len(idx))
			}
			if d := got.Metrics["_dd.span_events.dropped"]; int(d) != len(c.events)-len(idx) {
				t.Errorf("%s, %v: _dd.span_events.dropped = %v, want %d", c.name, v, d, len(c.events)-len(idx))
			}
		}
	}
}

// TestEventsJSONUnderLimitUnchanged: events that fit are all written, and
// no count of dropped events.
func TestEventsJSONUnderLimitUnchanged(t *testing.T) {
	s := fxStub()
	s.Events = logEvents(90)
	got := encodeOne(t, V05, &mapConfig{}, false, s.Snapshot())[0][0]
	if len(got.Meta["events"]) > maxMetaValueLen || len(got.Meta["events"]) < maxMetaValueLen-5000 {
		t.Fatalf("the test needs events just under the limit: %d bytes", len(got.Meta["events"]))
	}
	var events []jsonEvent
	decodeMetaJSON(t, got.Meta, "events", &events)
	if len(events) != 90 {
		t.Errorf("%d events, want 90", len(events))
	}
	if _, ok := got.Metrics["_dd.span_events.dropped"]; ok {
		t.Error("_dd.span_events.dropped written when nothing was dropped")
	}
}

// TestEventsJSONHugeException: an exception event too large alone (a long
// stack trace) is kept with its strings cut at a character, leaving room
// for the other events; every string in the JSON stays valid.
func TestEventsJSONHugeException(t *testing.T) {
	// Escapes and multi-byte characters everywhere, so that every cut
	// position is close to one.
	unit := "é\"\\\n世<\xff>🙂 frame.go:12\t"
	stack := strings.Repeat(unit, 40_000/len(unit))
	for _, others := range []int{0, 3, 200} {
		s := fxStub()
		s.Status.Code = 2 // Error
		s.Events = append(logEvents(others), sdktrace.Event{Name: "exception", Attributes: attrs(
			attribute.String("exception.type", "*errors.errorString"),
			attribute.String("exception.stacktrace", stack),
			attribute.StringSlice("exception.list", []string{stack, "x"}),
			attribute.Int("i", -1),
		)})
		got := encodeOne(t, V05, &mapConfig{}, false, s.Snapshot())[0][0]
		var events []jsonEvent
		decodeMetaJSON(t, got.Meta, "events", &events)
		exc := events[len(events)-1]
		if exc.Name != "exception" {
			t.Fatalf("%d others: the exception event was not kept", others)
		}
		cut, _ := exc.Attributes["exception.stacktrace"].(string)
		body, ok := strings.CutSuffix(cut, "...")
		if !ok || len(body) == 0 || !strings.HasPrefix(strings.ToValidUTF8(stack, "\uFFFD"), body) {
			t.Errorf("%d others: the stack trace is not a cut prefix of the original: %.80q", others, cut)
		}
		if !utf8.ValidString(cut) {
			t.Errorf("%d others: cut stack trace is not valid UTF-8", others)
		}
		if others == 3 && len(events) != 4 {
			t.Errorf("3 small events and a huge exception: %d events kept, want all 4", len(events))
		}
		if others == 200 && len(events) < 20 {
			t.Errorf("200 small events and a huge exception: only %d events kept", len(events))
		}
		if d := int(got.Metrics["_dd.span_events.dropped"]); d != others+1-len(events) {
			t.Errorf("%d others: _dd.span_events.dropped = %d, want %d", others, d, others+1-len(events))
		}
	}
}

// TestEventsJSONNothingFits: an event whose attribute keys alone are over
// the limit cannot be written: no events meta, all of them counted.
func TestEventsJSONNothingFits(t *testing.T) {
	var many []attribute.KeyValue
	for i := range 3000 {
		many = append(many, attribute.Bool("attribute.key."+itoa(i), true))
	}
	s := fxStub()
	s.Events = []sdktrace.Event{{Name: "huge", Attributes: many}}
	got := encodeOne(t, V04, &mapConfig{}, false, s.Snapshot())[0][0]
	if _, ok := got.Meta["events"]; ok {
		t.Error("meta events written")
	}
	if got.Metrics["_dd.span_events.dropped"] != 1 {
		t.Errorf("_dd.span_events.dropped = %v, want 1", got.Metrics["_dd.span_events.dropped"])
	}
}

// TestLinksJSONCapped: meta "_dd.span_links" stays valid JSON under the
// limit; the first links are kept, in order; the first one is cut when it
// is too large alone; the count of the others is in _dd.span_links.dropped.
func TestLinksJSONCapped(t *testing.T) {
	link := func(i int, value string) sdktrace.Link {
		return sdktrace.Link{
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: trace.SpanID{6: byte(i >> 8), 7: byte(i)}}),
			Attributes:  attrs(attribute.String("v", value), attribute.Int("i", i), attribute.ByteSlice("b", []byte(value))),
		}
	}
	type jsonLink struct {
		Attributes map[string]string `json:"attributes"`
	}
	for _, c := range []struct {
		name    string
		links   []sdktrace.Link
		minKept int
	}{
		{"many links", func() (ls []sdktrace.Link) {
			for i := range 400 {
				ls = append(ls, link(i, strings.Repeat("ab", 60)))
			}
			return ls
		}(), 50},
		{"one huge link", []sdktrace.Link{link(0, strings.Repeat("é\"", 20_000))}, 1},
	} {
		s := fxStub()
		s.Links = c.links
		got := encodeOne(t, V05, &mapConfig{}, false, s.Snapshot())[0][0]
		var links []jsonLink
		decodeMetaJSON(t, got.Meta, "_dd.span_links", &links)
		if len(links) < c.minKept {
			t.Errorf("%s: %d links kept", c.name, len(links))
		}
		for i, l := range links {
			if l.Attributes["i"] != itoa(i) {
				t.Errorf("%s: link %d is link %s: the first ones must be kept, in order", c.name, i, l.Attributes["i"])
				break
			}
		}
		if d := int(got.Metrics["_dd.span_links.dropped"]); d != len(c.links)-len(links) {
			t.Errorf("%s: _dd.span_links.dropped = %d, want %d", c.name, d, len(c.links)-len(links))
		}
	}
}

// TestJSONStringCut cuts a string full of escapes and multi-byte
// characters at every length: the JSON is always valid, and decodes to a
// prefix of the string (invalid bytes read as U+FFFD) and "...".
func TestJSONStringCut(t *testing.T) {
	s := "a\"b\\c\n\x01é世🙂\xff<&>\u2028z"
	valid := strings.ToValidUTF8(s, "\uFFFD")
	for max := range len(s) + 1 {
		b := ddname.AppendJSONStringCut(nil, s, max)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("max %d: %s is not valid JSON: %v", max, b, err)
		}
		body, cut := strings.CutSuffix(got, "...")
		if max < len(s) && (!cut || len(body) > max*3) {
			t.Errorf("max %d: %q is not a cut string", max, got)
		}
		if !strings.HasPrefix(valid, body) && !strings.HasPrefix(s, body) {
			t.Errorf("max %d: %q is not a prefix of %q", max, body, valid)
		}
	}
}

// TestNativeEventsNotCapped: native span events are not meta, and are not
// cut.
func TestNativeEventsNotCapped(t *testing.T) {
	s := fxStub()
	s.Events = logEvents(200)
	got := encodeOne(t, V04, &mapConfig{}, true, s.Snapshot())[0][0]
	if len(got.SpanEvents) != 200 {
		t.Errorf("%d native events, want 200", len(got.SpanEvents))
	}
	if _, ok := got.Metrics["_dd.span_events.dropped"]; ok {
		t.Error("_dd.span_events.dropped written for native events")
	}
}

// TestEncodeAllocsCappedJSON: cutting events and links to the Agent's
// limit costs no allocation either, once the encoder is warm.
func TestEncodeAllocsCappedJSON(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	var spans []sdktrace.ReadOnlySpan
	for i := range 8 {
		s := fxStub()
		s.SpanContext = s.SpanContext.WithSpanID(trace.SpanID{7: byte(i + 1)})
		s.Events = append(logEvents(300, 5), sdktrace.Event{Name: "exception", Attributes: attrs(
			attribute.String("exception.stacktrace", strings.Repeat("é\"frame\n", 5000)))})
		for j := range 300 {
			s.Links = append(s.Links, sdktrace.Link{
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: trace.SpanID{6: byte(j >> 8), 7: byte(j)}}),
				Attributes:  attrs(attribute.String("v", strings.Repeat("x", 100))),
			})
		}
		spans = append(spans, s.Snapshot())
	}
	for _, v := range []APIVersion{V04, V05} {
		e := newEncoder(v, &mapConfig{})
		run := func() {
			e.encode(e.chunks(spans), false)
			e.release()
		}
		run()
		if got := testing.AllocsPerRun(10, run); got > 0 {
			t.Errorf("%v: %.1f allocations per batch, want 0", v, got)
		}
	}
}
