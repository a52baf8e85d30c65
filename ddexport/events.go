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
		xs := v.AsBoolSlice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			e.typedValue(attribute.BoolValue(x))
		}
	case attribute.INT64SLICE:
		xs := v.AsInt64Slice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			e.typedValue(attribute.Int64Value(x))
		}
	case attribute.FLOAT64SLICE:
		xs := v.AsFloat64Slice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			e.typedValue(attribute.Float64Value(x))
		}
	case attribute.STRINGSLICE:
		xs := v.AsStringSlice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			e.typedValue(attribute.StringValue(x))
		}
	case attribute.SLICE:
		xs := v.AsSlice()
		e.b = appendArrayHeader(e.b, uint32(len(xs)))
		for _, x := range xs {
			switch x.Type() {
			case attribute.BOOL, attribute.INT64, attribute.FLOAT64, attribute.STRING:
				e.typedValue(x)
			default: // arrays hold no arrays: nested values travel as text
				e.typedValue(attribute.StringValue(ddname.Text(x)))
			}
		}
	}
}

func unixNano(ev *sdktrace.Event) uint64 {
	if ev.Time.IsZero() {
		return 0
	}
	return uint64(ev.Time.UnixNano())
}

// appendEventsJSON writes events as the Agent's OTLP path does for meta
// "events".
func appendEventsJSON(b []byte, events []sdktrace.Event) []byte {
	b = append(b, '[')
	for i := range events {
		ev := &events[i]
		if i > 0 {
			b = append(b, ',')
		}
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
			b = ddname.AppendJSONString(b, ev.Name)
			wrote = true
		}
		if len(ev.Attributes) > 0 {
			if wrote {
				b = append(b, ',')
			}
			b = append(b, `"attributes":{`...)
			for j, kv := range ev.Attributes {
				if j > 0 {
					b = append(b, ',')
				}
				b = ddname.AppendJSONString(b, string(kv.Key))
				b = append(b, ':')
				b = ddname.AppendJSON(b, kv.Value)
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
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendLinksJSON writes links as the Agent's OTLP path does for meta
// "_dd.span_links" (with proper JSON escaping).
func appendLinksJSON(b []byte, links []sdktrace.Link) []byte {
	b = append(b, '[')
	for i := range links {
		l := &links[i]
		if i > 0 {
			b = append(b, ',')
		}
		tid := l.SpanContext.TraceID()
		sid := l.SpanContext.SpanID()
		b = append(b, `{"trace_id":"`...)
		b = appendHex(b, tid[:])
		b = append(b, `","span_id":"`...)
		b = appendHex(b, sid[:])
		b = append(b, '"')
		if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
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
					b = ddname.AppendJSONString(b, kv.Value.AsString())
				case attribute.BOOL, attribute.INT64, attribute.FLOAT64, attribute.BYTESLICE, attribute.EMPTY:
					// Their text needs no escaping.
					b = append(ddname.AppendText(append(b, '"'), kv.Value), '"')
				default:
					b = ddname.AppendJSONString(b, ddname.Text(kv.Value))
				}
			}
			b = append(b, '}')
		}
		if l.DroppedAttributeCount > 0 {
			b = append(b, `,"dropped_attributes_count":`...)
			b = strconv.AppendInt(b, int64(l.DroppedAttributeCount), 10)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}
