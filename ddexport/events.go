package ddexport

import (
	"strconv"

	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Span events and links: native (v0.4 span_events and span_links, when the
// Agent's /info offers them) or as the meta JSON of the Agent's OTLP path
// (events, _dd.span_links).

func (e *encoder) writeNativeLinks(links []sdktrace.Link) {
	e.b = appendArrayHeader(e.b, uint32(len(links)))
	for _, l := range links {
		tid := l.SpanContext.TraceID()
		sid := l.SpanContext.SpanID()
		high := be64(tid[:8])
		ts := l.SpanContext.TraceState()
		n := uint32(3) // trace_id, span_id, flags
		if high != 0 {
			n++
		}
		if len(l.Attributes) > 0 {
			n++
		}
		if ts.Len() > 0 {
			n++
		}
		e.b = appendMapHeader(e.b, n)
		e.key("trace_id")
		e.b = appendUint64(e.b, be64(tid[8:]))
		if high != 0 {
			e.key("trace_id_high")
			e.b = appendUint64(e.b, high)
		}
		e.key("span_id")
		e.b = appendUint64(e.b, be64(sid[:]))
		if len(l.Attributes) > 0 {
			e.key("attributes")
			e.openMap()
			for _, kv := range l.Attributes {
				e.metaValue(string(kv.Key), "", kv.Value)
			}
			e.closeMap()
		}
		if ts.Len() > 0 {
			e.key("tracestate")
			e.scratch = appendTraceState(e.scratch[:0], ts)
			e.strb(e.scratch)
		}
		e.key("flags")
		e.b = appendUint64(e.b, uint64(l.SpanContext.TraceFlags())|1<<31)
	}
}

func (e *encoder) writeNativeEvents(events []sdktrace.Event) {
	e.b = appendArrayHeader(e.b, uint32(len(events)))
	for i := range events {
		ev := &events[i]
		n := uint32(2)
		if len(ev.Attributes) > 0 {
			n++
		}
		e.b = appendMapHeader(e.b, n)
		e.key("time_unix_nano")
		e.b = appendUint64(e.b, unixNano(ev))
		e.key("name")
		e.str(ev.Name)
		if len(ev.Attributes) > 0 {
			e.key("attributes")
			e.openMap()
			for _, kv := range ev.Attributes {
				if e.add(string(kv.Key), "") {
					e.typedValue(kv.Value)
				}
			}
			e.closeMap()
		}
	}
}

// typedValue writes a native span event attribute value.
func (e *encoder) typedValue(v attribute.Value) {
	b := e.b
	switch v.Type() {
	case attribute.BOOL:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 1)
		b = appendString(b, "bool_value")
		b = appendBool(b, v.AsBool())
	case attribute.INT64:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 2)
		b = appendString(b, "int_value")
		b = appendInt64(b, v.AsInt64())
	case attribute.FLOAT64:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 3)
		b = appendString(b, "double_value")
		b = appendFloat64(b, v.AsFloat64())
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE, attribute.SLICE:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 4)
		b = appendString(b, "array_value")
		b = append(b, 0x81)
		b = appendString(b, "values")
		e.b = b
		e.typedArray(v)
		return
	case attribute.STRING:
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 0)
		b = appendString(b, "string_value")
		b = appendString(b, v.AsString())
	default: // bytes, maps and empty values travel as their text
		b = append(b, 0x82)
		b = appendString(b, "type")
		b = append(b, 0)
		b = appendString(b, "string_value")
		e.scratch = ddname.AppendText(e.scratch[:0], v)
		b = appendStringBytes(b, e.scratch)
	}
	e.b = b
}

func (e *encoder) typedArray(v attribute.Value) {
	switch v.Type() {
	case attribute.BOOLSLICE:
		typedValues(e, v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		typedValues(e, v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		typedValues(e, v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		typedValues(e, v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		typedValues(e, v.AsSlice(), func(x attribute.Value) attribute.Value {
			switch x.Type() {
			case attribute.BOOL, attribute.INT64, attribute.FLOAT64, attribute.STRING:
				return x
			default: // arrays hold no arrays: nested values travel as text
				return attribute.StringValue(ddname.Text(x))
			}
		})
	}
}

// typedValues writes xs as an array of typed values, each made by value.
func typedValues[T any](e *encoder, xs []T, value func(T) attribute.Value) {
	e.b = appendArrayHeader(e.b, uint32(len(xs)))
	for _, x := range xs {
		e.typedValue(value(x))
	}
}

func unixNano(ev *sdktrace.Event) uint64 {
	if ev.Time.IsZero() {
		return 0
	}
	return uint64(ev.Time.UnixNano())
}

// maxMetaValueLen is the Agent's limit on a meta value: it cuts a longer
// one and appends "..." (agent/truncator.go), which would leave the JSON
// of events or links unreadable, and all of them lost.
const maxMetaValueLen = 25_000

// eventsJSON sets e.json to events as the Agent's OTLP path renders them in
// meta "events", at most maxMetaValueLen bytes. When they do not all fit,
// events are kept whole in this order of preference while they fit:
// exception events, newest first, then the others, newest first (newest:
// last added); the kept ones keep their order. The first of them, when it
// does not fit even alone, is kept with its string values cut (at a
// character, marked "...") to fit the room the others leave, at least half.
// It returns how many events were left out, and false when there is
// nothing to write.
func (e *encoder) eventsJSON(events []sdktrace.Event) (dropped int, ok bool) {
	b := append(e.json[:0], '[')
	e.ends = e.ends[:0]
	for i := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEventJSON(b, &events[i], -1)
		e.ends = append(e.ends, int32(len(b)))
	}
	e.json = append(b, ']')
	if len(e.json) <= maxMetaValueLen {
		return 0, true
	}
	e.order = e.order[:0]
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Name == "exception" {
			e.order = append(e.order, int32(i))
		}
	}
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Name != "exception" {
			e.order = append(e.order, int32(i))
		}
	}
	return e.fitJSON(len(events), func(b []byte, i, max int) []byte { return appendEventJSON(b, &events[i], max) })
}

// linksJSON is eventsJSON for meta "_dd.span_links": links are preferred
// in their order (the first one cut when it does not fit alone).
func (e *encoder) linksJSON(links []sdktrace.Link) (dropped int, ok bool) {
	b := append(e.json[:0], '[')
	e.ends = e.ends[:0]
	for i := range links {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLinkJSON(b, &links[i], -1)
		e.ends = append(e.ends, int32(len(b)))
	}
	e.json = append(b, ']')
	if len(e.json) <= maxMetaValueLen {
		return 0, true
	}
	e.order = e.order[:0]
	for i := range links {
		e.order = append(e.order, int32(i))
	}
	return e.fitJSON(len(links), func(b []byte, i, max int) []byte { return appendLinkJSON(b, &links[i], max) })
}

// fitJSON cuts e.json, a JSON array of n items over maxMetaValueLen bytes
// (e.ends holds where each item ends), to fit. Items are kept whole, in the
// preference order e.order, while they fit; the preferred item, when it
// does not fit even alone, is rendered again by render with its strings
// cut, to fit the room the others leave (at least half).
func (e *encoder) fitJSON(n int, render func(b []byte, i, max int) []byte) (dropped int, ok bool) {
	start := func(i int) int {
		if i == 0 {
			return 1
		}
		return int(e.ends[i-1]) + 1 // after the comma
	}
	const budget = maxMetaValueLen - len("[]")
	if cap(e.keep) < n {
		e.keep = make([]bool, n)
	}
	e.keep = e.keep[:n]
	clear(e.keep)
	cut, cutMax := -1, 0
	used, kept := 0, 0
	for k, i := range e.order {
		size := int(e.ends[i]) - start(int(i))
		if kept > 0 {
			size++ // a comma
		}
		if used+size <= budget {
			e.keep[i] = true
			used += size
			kept++
			continue
		}
		if k > 0 {
			continue
		}
		// The preferred item is too large alone: cut its strings.
		others := len(e.json) - len("[]") - size
		room := budget - min(others, budget/2)
		measure := func(max int) int {
			e.jsonTmp = render(e.jsonTmp[:0], int(i), max)
			return len(e.jsonTmp)
		}
		if measure(0) > room {
			continue
		}
		lo, hi := 0, size // the longest cut that fits
		for lo < hi {
			if mid := lo + (hi-lo+1)/2; measure(mid) <= room {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		cut, cutMax = int(i), lo
		used += measure(lo)
		kept++
	}
	if kept == 0 {
		return n, false
	}
	out := append(e.jsonTmp[:0], '[')
	for i := range n {
		if !e.keep[i] && i != cut {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		if i == cut {
			out = render(out, i, cutMax)
		} else {
			out = append(out, e.json[start(i):e.ends[i]]...)
		}
	}
	e.json, e.jsonTmp = append(out, ']'), e.json
	return n - kept, true
}

// appendEventJSON appends ev as the Agent's OTLP path renders an event in
// meta "events". With max >= 0, its string values are cut to max bytes.
func appendEventJSON(b []byte, ev *sdktrace.Event, max int) []byte {
	b = append(b, '{')
	wrote := false
	if t := unixNano(ev); t != 0 {
		b = append(b, `"time_unix_nano":`...)
		b = strconv.AppendUint(b, t, 10)
		wrote = true
	}
	if ev.Name != "" {
		if wrote {
			b = append(b, ',')
		}
		b = append(b, `"name":`...)
		b = ddname.AppendJSONStringCut(b, ev.Name, max)
		wrote = true
	}
	if len(ev.Attributes) > 0 {
		if wrote {
			b = append(b, ',')
		}
		b = append(b, `"attributes":{`...)
		for j := range ev.Attributes {
			kv := &ev.Attributes[j]
			if j > 0 {
				b = append(b, ',')
			}
			b = ddname.AppendJSONString(b, string(kv.Key))
			b = append(b, ':')
			b = ddname.AppendJSONCut(b, kv.Value, max)
		}
		b = append(b, '}')
		wrote = true
	}
	if ev.DroppedAttributeCount > 0 {
		if wrote {
			b = append(b, ',')
		}
		b = append(b, `"dropped_attributes_count":`...)
		b = strconv.AppendInt(b, int64(ev.DroppedAttributeCount), 10)
	}
	return append(b, '}')
}

// appendLinkJSON appends l as the Agent's OTLP path renders a link in meta
// "_dd.span_links" (with proper JSON escaping). With max >= 0, its
// attribute values are cut to max bytes.
func appendLinkJSON(b []byte, l *sdktrace.Link, max int) []byte {
	tid := l.SpanContext.TraceID()
	sid := l.SpanContext.SpanID()
	b = append(b, `{"trace_id":"`...)
	b = appendHex(b, tid[:])
	b = append(b, `","span_id":"`...)
	b = appendHex(b, sid[:])
	b = append(b, '"')
	if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
		// At most 512 bytes (W3C): never cut.
		b = append(b, `,"tracestate":"`...)
		first := true
		ts.Walk(func(k, v string) bool {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = ddname.AppendJSONStringBody(b, k)
			b = append(b, '=')
			b = ddname.AppendJSONStringBody(b, v)
			return true
		})
		b = append(b, '"')
	}
	if len(l.Attributes) > 0 {
		b = append(b, `,"attributes":{`...)
		for j, kv := range l.Attributes {
			if j > 0 {
				b = append(b, ',')
			}
			b = ddname.AppendJSONString(b, string(kv.Key))
			b = append(b, ':')
			switch kv.Value.Type() {
			case attribute.STRING:
				b = ddname.AppendJSONStringCut(b, kv.Value.AsString(), max)
			case attribute.BOOL, attribute.INT64, attribute.FLOAT64, attribute.EMPTY:
				// Their text needs no escaping.
				b = append(ddname.AppendText(append(b, '"'), kv.Value), '"')
			case attribute.BYTESLICE:
				b = ddname.AppendJSONCut(b, kv.Value, max)
			default:
				b = ddname.AppendJSONStringCut(b, ddname.Text(kv.Value), max)
			}
		}
		b = append(b, '}')
	}
	if l.DroppedAttributeCount > 0 {
		b = append(b, `,"dropped_attributes_count":`...)
		b = strconv.AppendInt(b, int64(l.DroppedAttributeCount), 10)
	}
	return append(b, '}')
}
