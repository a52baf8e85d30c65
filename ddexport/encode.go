package ddexport

import (
	"encoding/binary"
	"math"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Buffers that grew past these sizes are dropped by release, so that one
// large batch does not pin its memory for the life of the exporter.
const (
	maxKeptBuf   = 4 << 20
	maxKeptSpans = 8192
)

// encoder converts OpenTelemetry spans into Datadog Agent payloads. It owns
// reused, capped buffers and is not safe for concurrent use.
type encoder struct {
	version APIVersion
	cfg     *mapConfig

	buf []byte // the request body

	// chunks storage: spans regrouped by trace, and the chunk slices.
	spans    []sdktrace.ReadOnlySpan
	chunkOut [][]sdktrace.ReadOnlySpan
	chunkOf  []int32
	counts   []int32
	byTrace  map[trace.TraceID]int32
}

// newEncoder returns an encoder for the given wire version and mapping
// configuration.
func newEncoder(v APIVersion, cfg *mapConfig) *encoder {
	if cfg == nil {
		cfg = &mapConfig{}
	}
	return &encoder{version: v, cfg: cfg, byTrace: make(map[trace.TraceID]int32)}
}

// chunks groups spans by trace ID: one chunk per trace ID, chunks in order of
// first appearance, spans in input order. The result reuses the encoder's
// memory and is valid until the next call to chunks or release.
func (e *encoder) chunks(spans []sdktrace.ReadOnlySpan) [][]sdktrace.ReadOnlySpan {
	clear(e.byTrace)
	e.chunkOf = e.chunkOf[:0]
	e.counts = e.counts[:0]
	for _, s := range spans {
		if s == nil {
			e.chunkOf = append(e.chunkOf, -1)
			continue
		}
		tid := s.SpanContext().TraceID()
		c, ok := e.byTrace[tid]
		if !ok {
			c = int32(len(e.counts))
			e.byTrace[tid] = c
			e.counts = append(e.counts, 0)
		}
		e.counts[c]++
		e.chunkOf = append(e.chunkOf, c)
	}
	// Counting sort: turn counts into start offsets, then place each span.
	n := int32(0)
	e.chunkOut = e.chunkOut[:0]
	for i, c := range e.counts {
		e.counts[i] = n
		n += c
	}
	e.spans = growSpans(e.spans, int(n))
	next := e.counts // reused as the running insertion offset
	for i, s := range spans {
		c := e.chunkOf[i]
		if c < 0 {
			continue
		}
		e.spans[next[c]] = s
		next[c]++
	}
	start := int32(0)
	for _, end := range next {
		e.chunkOut = append(e.chunkOut, e.spans[start:end:end])
		start = end
	}
	return e.chunkOut
}

func growSpans(s []sdktrace.ReadOnlySpan, n int) []sdktrace.ReadOnlySpan {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]sdktrace.ReadOnlySpan, n)
}

// encode converts and encodes the given chunks into one request body for
// e.version. nativeEvents selects native span_events/span_links (v0.4 only,
// when the Agent's /info says it understands them); otherwise events and
// links travel as meta JSON. The body is valid until the next call to encode
// or release.
func (e *encoder) encode(chunks [][]sdktrace.ReadOnlySpan, nativeEvents bool) []byte {
	b := e.buf[:0]
	b = appendArrayHeader(b, uint32(len(chunks)))
	for _, c := range chunks {
		b = appendArrayHeader(b, uint32(len(c)))
		for _, s := range c {
			b = e.appendSpanV04(b, s)
		}
	}
	e.buf = b
	return b
}

// release drops every reference to spans (ExportSpans must not retain them)
// and shrinks buffers that grew past their cap.
func (e *encoder) release() {
	clear(e.spans)
	clear(e.chunkOut)
	e.chunkOut = e.chunkOut[:0]
	clear(e.byTrace)
	if cap(e.spans) > maxKeptSpans {
		e.spans, e.chunkOut, e.chunkOf, e.counts = nil, nil, nil, nil
		e.byTrace = make(map[trace.TraceID]int32)
	}
	if cap(e.buf) > maxKeptBuf {
		e.buf = nil
	}
}

// appendSpanV04 writes one span as a v0.4 map.
func (e *encoder) appendSpanV04(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	tid := sc.TraceID()
	sid := sc.SpanID()
	b = appendMapHeader(b, 12)
	b = appendString(b, "service")
	b = appendString(b, e.serviceOf(s))
	b = appendString(b, "name")
	b = appendString(b, s.Name())
	b = appendString(b, "resource")
	b = appendString(b, s.Name())
	b = appendString(b, "type")
	b = appendString(b, "custom")
	b = appendString(b, "trace_id")
	b = appendUint64(b, binary.BigEndian.Uint64(tid[8:]))
	b = appendString(b, "span_id")
	b = appendUint64(b, binary.BigEndian.Uint64(sid[:]))
	b = appendString(b, "parent_id")
	psid := s.Parent().SpanID()
	b = appendUint64(b, binary.BigEndian.Uint64(psid[:]))
	b = appendString(b, "start")
	b = appendInt64(b, s.StartTime().UnixNano())
	b = appendString(b, "duration")
	b = appendInt64(b, s.EndTime().Sub(s.StartTime()).Nanoseconds())
	b = appendString(b, "error")
	errv := int64(0)
	if s.Status().Code == 1 {
		errv = 1
	}
	b = appendInt64(b, errv)
	attrs := s.Attributes()
	nMeta, nMetrics := 0, 0
	for _, kv := range attrs {
		if isMetric(kv.Value.Type()) {
			nMetrics++
		} else {
			nMeta++
		}
	}
	b = appendString(b, "meta")
	b = appendMapHeader(b, uint32(nMeta))
	for _, kv := range attrs {
		if !isMetric(kv.Value.Type()) {
			b = appendString(b, string(kv.Key))
			b = appendString(b, kv.Value.Emit())
		}
	}
	b = appendString(b, "metrics")
	b = appendMapHeader(b, uint32(nMetrics))
	for _, kv := range attrs {
		if isMetric(kv.Value.Type()) {
			b = appendString(b, string(kv.Key))
			b = appendFloat64(b, metricValue(kv.Value))
		}
	}
	return b
}

// msgpack writers. Integers use the smallest encoding; floats are always
// float64; strings are written as str (never bin).

func appendArrayHeader(b []byte, n uint32) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	default:
		return append(b, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendMapHeader(b []byte, n uint32) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	default:
		return append(b, 0xdf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendString(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}

func appendUint64(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return append(b, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, 0xcf, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

func appendInt64(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint64(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return append(b, 0xd1, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return append(b, 0xd2, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, 0xd3, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

func appendFloat64(b []byte, f float64) []byte {
	v := math.Float64bits(f)
	return append(b, 0xcb, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}
