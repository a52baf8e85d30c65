package ddtest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// This file is the agent's msgpack reader. It follows the Datadog Agent's
// own decoders (the v0.4 span converter and the v0.5 dictionary decoder)
// rule by rule; doc.go lists the rules and where this reader is stricter.

// maxDepth bounds the nesting of values skipped under unknown keys, so that
// a hostile body cannot exhaust the stack.
const maxDepth = 100

// errTruncated reports a body that ends in the middle of a value.
var errTruncated = errors.New("body truncated: it ends in the middle of a value")

// chunk is one decoded chunk with what the Agent derives from it.
type chunk struct {
	spans []Span
	// traceID is the chunk's trace ID as the Agent (7.84+) sees it: the
	// trace_id of the last span that carries one.
	traceID uint64
}

// decoder reads one request body. The body is held in memory (bounded by the
// body limit), which lets every length claim be checked against the bytes
// that remain before anything is allocated for it.
type decoder struct {
	body []byte
	r    *bytes.Reader
	dec  *msgpack.Decoder
}

func newDecoder(body []byte) *decoder {
	r := bytes.NewReader(body)
	return &decoder{body: body, r: r, dec: msgpack.NewDecoder(r)}
}

// decodeV04 decodes a /v0.4/traces body: an array of chunks, each an array
// of span maps.
func decodeV04(body []byte) ([]chunk, error) {
	d := newDecoder(body)
	chunks, err := d.payloadV04()
	return chunks, d.locate(err)
}

// decodeV05 decodes a /v0.5/traces body: [ [strings...], [ [span...], ... ] ]
// where each span is an array of exactly 12 elements.
func decodeV05(body []byte) ([]chunk, error) {
	d := newDecoder(body)
	chunks, err := d.payloadV05()
	return chunks, d.locate(err)
}

// locate adds to err where in the body the decoder stopped: at the value
// found wrong, or just after it when it was wrong once read.
func (d *decoder) locate(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (at byte offset %d of %d)", err, len(d.body)-d.r.Len(), len(d.body))
}

func (d *decoder) payloadV04() ([]chunk, error) {
	n, err := d.arrayLen("an array of chunks")
	if err != nil {
		return nil, err
	}
	chunks := make([]chunk, 0, prealloc(n))
	for i := 0; i < n; i++ {
		c, err := d.chunkV04()
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		chunks = append(chunks, c)
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return chunks, nil
}

func (d *decoder) payloadV05() ([]chunk, error) {
	n, err := d.arrayLen("an array of 2 (string table, chunks)")
	if err != nil {
		return nil, err
	}
	if n != 2 {
		return nil, fmt.Errorf("a v0.5 payload is an array of 2 (string table, chunks), got an array of %d", n)
	}
	n, err = d.arrayLen("an array of strings")
	if err != nil {
		return nil, fmt.Errorf("string table: %w", err)
	}
	dict := make([]string, 0, prealloc(n))
	for i := 0; i < n; i++ {
		str, err := d.str()
		if err != nil {
			return nil, fmt.Errorf("string table entry %d: %w", i, err)
		}
		dict = append(dict, str)
	}
	n, err = d.arrayLen("an array of chunks")
	if err != nil {
		return nil, fmt.Errorf("chunks: %w", err)
	}
	chunks := make([]chunk, 0, prealloc(n))
	for i := 0; i < n; i++ {
		c, err := d.chunkV05(dict)
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		chunks = append(chunks, c)
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return chunks, nil
}

// end rejects bytes after the payload. The Agent ignores them; a fake agent
// that accepted them would hide an encoder bug.
func (d *decoder) end() error {
	if n := d.r.Len(); n > 0 {
		return fmt.Errorf("%d bytes of trailing garbage after the payload", n)
	}
	return nil
}

func (d *decoder) chunkV04() (chunk, error) {
	n, err := d.arrayLen("an array of spans (a chunk)")
	if err != nil {
		return chunk{}, err
	}
	var c chunk
	for i := 0; i < n; i++ {
		// The Agent accepts a nil span in a chunk and drops it.
		if nilNext, err := d.skipNil(); err != nil {
			return chunk{}, fmt.Errorf("span %d: %w", i, err)
		} else if nilNext {
			continue
		}
		s, err := d.spanV04(&c.traceID)
		if err != nil {
			return chunk{}, fmt.Errorf("span %d: %w", i, err)
		}
		c.spans = append(c.spans, s)
	}
	return c, nil
}

// spanV04 reads a span map. chunkTrace is the chunk's trace ID so far: each
// trace_id read replaces it, as in the Agent.
func (d *decoder) spanV04(chunkTrace *uint64) (s Span, err error) {
	n, err := d.mapLen("a map (a span)")
	if err != nil {
		return s, err
	}
	for i := 0; i < n; i++ {
		key, err := d.key()
		if err != nil {
			return s, fmt.Errorf("key %d: %w", i, err)
		}
		if err := d.spanField(&s, key, chunkTrace); err != nil {
			return s, fmt.Errorf("%q: %w", key, err)
		}
	}
	return s, nil
}

func (d *decoder) spanField(s *Span, key []byte, chunkTrace *uint64) error {
	var err error
	switch string(key) {
	case "service":
		s.Service, err = d.str()
	case "name":
		s.Name, err = d.str()
	case "resource":
		s.Resource, err = d.str()
	case "type":
		s.Type, err = d.str()
	case "trace_id":
		var isNil bool
		switch isNil, err = d.skipNil(); {
		case err != nil:
		case isNil && *chunkTrace != 0:
			// The Agent refuses this when trace_id is the span's last key
			// (and lets it pass otherwise); refused here wherever it is.
			err = fmt.Errorf("nil after trace_id %d earlier in the chunk: the Agent refuses it", *chunkTrace)
		case isNil:
			// As if absent.
		default:
			s.TraceID, err = d.uint64()
			*chunkTrace = s.TraceID
		}
	case "span_id":
		s.SpanID, err = d.uint64()
	case "parent_id":
		s.ParentID, err = d.uint64()
	case "start":
		s.Start, err = d.int64()
	case "duration":
		s.Duration, err = d.int64()
	case "error":
		s.Error, err = d.errorFlag()
	case "meta":
		s.Meta, err = d.stringMap(true)
	case "metrics":
		s.Metrics, err = d.metrics(true)
	case "meta_struct":
		if err = d.refuseNil("meta_struct"); err == nil {
			s.MetaStruct, err = d.metaStruct()
		}
	case "span_links":
		if err = d.refuseNil("span_links"); err == nil {
			s.SpanLinks, err = d.spanLinks()
		}
	case "span_events":
		if err = d.refuseNil("span_events"); err == nil {
			s.SpanEvents, err = d.spanEvents()
		}
	default:
		// The Agent skips keys it does not know.
		err = d.skip(0)
	}
	return err
}

func (d *decoder) chunkV05(dict []string) (chunk, error) {
	n, err := d.arrayLen("an array of spans (a chunk)")
	if err != nil {
		return chunk{}, err
	}
	var c chunk
	for i := 0; i < n; i++ {
		s, err := d.spanV05(dict)
		if err != nil {
			return chunk{}, fmt.Errorf("span %d: %w", i, err)
		}
		c.traceID = s.TraceID
		c.spans = append(c.spans, s)
	}
	return c, nil
}

// v0.5 span slots, in wire order.
var v05Slots = [12]string{
	"service", "name", "resource", "trace_id", "span_id", "parent_id",
	"start", "duration", "error", "meta", "metrics", "type",
}

func (d *decoder) spanV05(dict []string) (Span, error) {
	var s Span
	n, err := d.arrayLen("an array of 12 (a span)")
	if err != nil {
		return s, err
	}
	if n != 12 {
		return s, fmt.Errorf("a v0.5 span is an array of exactly 12 elements, got %d", n)
	}
	for slot, name := range v05Slots {
		switch slot {
		case 0:
			s.Service, err = d.index(dict)
		case 1:
			s.Name, err = d.index(dict)
		case 2:
			s.Resource, err = d.index(dict)
		case 3:
			s.TraceID, err = d.uint64()
		case 4:
			s.SpanID, err = d.uint64()
		case 5:
			s.ParentID, err = d.uint64()
		case 6:
			s.Start, err = d.int64()
		case 7:
			s.Duration, err = d.int64()
		case 8:
			s.Error, err = d.errorFlag()
		case 9:
			s.Meta, err = d.indexMap(dict)
		case 10:
			s.Metrics, err = d.indexMetrics(dict)
		case 11:
			s.Type, err = d.index(dict)
		}
		if err != nil {
			return s, fmt.Errorf("element %d (%s): %w", slot, name, err)
		}
	}
	return s, nil
}

// index reads a v0.5 string table index: a non-negative integer below the
// table's length (nil is not an index).
func (d *decoder) index(dict []string) (string, error) {
	c, err := d.peek()
	if err != nil {
		return "", err
	}
	if !isInt(c) {
		return "", fmt.Errorf("expected a string table index (integer), got %s", codeName(c))
	}
	u, err := d.uint32()
	if err != nil {
		return "", err
	}
	if int64(u) >= int64(len(dict)) {
		return "", fmt.Errorf("string index %d out of range (the table has %d strings)", u, len(dict))
	}
	return dict[u], nil
}

func (d *decoder) indexMap(dict []string) (map[string]string, error) {
	index := func() (string, error) { return d.index(dict) }
	return decodeMap(d, index, index)
}

func (d *decoder) indexMetrics(dict []string) (map[string]float64, error) {
	return decodeMap(d, func() (string, error) { return d.index(dict) }, d.float64)
}

// stringMap reads a map[string]string; nil is an empty map when nilOK.
func (d *decoder) stringMap(nilOK bool) (map[string]string, error) {
	if nilOK {
		if isNil, err := d.skipNil(); err != nil || isNil {
			return nil, err
		}
	}
	return decodeMap(d, d.str, d.str)
}

func (d *decoder) metrics(nilOK bool) (map[string]float64, error) {
	if nilOK {
		if isNil, err := d.skipNil(); err != nil || isNil {
			return nil, err
		}
	}
	return decodeMap(d, d.str, d.float64)
}

// metaStruct reads meta_struct: a map of string to bin. nil is rejected,
// like the Agent does.
func (d *decoder) metaStruct() (map[string][]byte, error) {
	return decodeMap(d, d.str, d.bin)
}

// decodeMap reads a map with key and value decoders; an empty map is nil.
func decodeMap[V any](d *decoder, key func() (string, error), value func() (V, error)) (map[string]V, error) {
	n, err := d.mapLen("a map")
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	m := make(map[string]V, prealloc(n))
	for i := 0; i < n; i++ {
		k, err := key()
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		v, err := value()
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
		m[k] = v
	}
	return m, nil
}

func (d *decoder) spanLinks() ([]SpanLink, error) { return skipNilArray(d, "link", d.spanLink) }

// skipNilArray decodes an array of elements, skipping nil ones as the Agent
// does; what names an element in errors.
func skipNilArray[T any](d *decoder, what string, elem func() (T, error)) ([]T, error) {
	n, err := d.arrayLen("an array")
	if err != nil {
		return nil, err
	}
	var out []T
	for i := 0; i < n; i++ {
		if isNil, err := d.skipNil(); err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, i, err)
		} else if isNil {
			continue
		}
		v, err := elem()
		if err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, i, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (d *decoder) spanLink() (SpanLink, error) {
	var l SpanLink
	n, err := d.mapLen("a map (a span link)")
	if err != nil {
		return l, err
	}
	for i := 0; i < n; i++ {
		key, err := d.key()
		if err != nil {
			return l, fmt.Errorf("key %d: %w", i, err)
		}
		switch string(key) {
		case "trace_id":
			l.TraceID, err = d.uint64()
		case "trace_id_high":
			l.TraceIDHigh, err = d.strictUint64()
		case "span_id":
			l.SpanID, err = d.uint64()
		case "attributes":
			if err = d.refuseNil("attributes"); err == nil {
				l.Attributes, err = d.stringMap(false)
			}
		case "tracestate":
			l.Tracestate, err = d.str()
		case "flags":
			l.Flags, err = d.uint32()
		default:
			err = d.skip(0)
		}
		if err != nil {
			return l, fmt.Errorf("%q: %w", key, err)
		}
	}
	return l, nil
}

func (d *decoder) spanEvents() ([]SpanEvent, error) { return skipNilArray(d, "event", d.spanEvent) }

func (d *decoder) spanEvent() (SpanEvent, error) {
	var e SpanEvent
	n, err := d.mapLen("a map (a span event)")
	if err != nil {
		return e, err
	}
	for i := 0; i < n; i++ {
		key, err := d.key()
		if err != nil {
			return e, fmt.Errorf("key %d: %w", i, err)
		}
		switch string(key) {
		case "time_unix_nano":
			e.TimeUnixNano, err = d.strictUint64()
		case "name":
			e.Name, err = d.str()
		case "attributes":
			if err = d.refuseNil("attributes"); err == nil {
				e.Attributes, err = d.attributes()
			}
		default:
			err = d.skip(0)
		}
		if err != nil {
			return e, fmt.Errorf("%q: %w", key, err)
		}
	}
	return e, nil
}

func (d *decoder) attributes() (map[string]AttributeValue, error) {
	n, err := d.mapLen("a map")
	if err != nil {
		return nil, err
	}
	var m map[string]AttributeValue
	for i := 0; i < n; i++ {
		k, err := d.str()
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		// The Agent accepts a nil value and keeps no value for the key.
		if isNil, err := d.skipNil(); err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		} else if isNil {
			continue
		}
		v, err := d.attributeValue(false)
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
		if m == nil {
			m = make(map[string]AttributeValue, prealloc(n))
		}
		m[k] = v
	}
	return m, nil
}

// Value fields of a typed attribute, as a bit set.
const (
	hasString = 1 << iota
	hasBool
	hasInt
	hasDouble
	hasArray
)

// valueField names the value field that goes with each type tag.
var valueField = [...]string{
	StringType: "string_value",
	BoolType:   "bool_value",
	IntType:    "int_value",
	DoubleType: "double_value",
	ArrayType:  "array_value",
}

// attributeValue reads {"type": t, "<t>_value": v}. inArray is set for the
// elements of an array value, which may not be arrays themselves.
func (d *decoder) attributeValue(inArray bool) (AttributeValue, error) {
	var v AttributeValue
	n, err := d.mapLen(`a map {"type": ..., "<type>_value": ...}`)
	if err != nil {
		return v, err
	}
	var present int
	for i := 0; i < n; i++ {
		key, err := d.key()
		if err != nil {
			return v, fmt.Errorf("key %d: %w", i, err)
		}
		switch string(key) {
		case "type":
			var t int32
			t, err = d.int32()
			v.Type = AttributeType(t)
		case "string_value":
			present |= hasString
			v.StringValue, err = d.str()
		case "bool_value":
			present |= hasBool
			v.BoolValue, err = d.bool()
		case "int_value":
			present |= hasInt
			v.IntValue, err = d.strictInt64()
		case "double_value":
			present |= hasDouble
			v.DoubleValue, err = d.double()
		case "array_value":
			if inArray {
				return v, errors.New(`"array_value": arrays nested in arrays are not allowed`)
			}
			present |= hasArray
			v.ArrayValue, err = d.arrayValue()
		default:
			err = d.skip(0)
		}
		if err != nil {
			return v, fmt.Errorf("%q: %w", key, err)
		}
	}
	if v.Type < StringType || v.Type > ArrayType {
		return v, fmt.Errorf("unknown attribute type %d (want 0 string, 1 bool, 2 int, 3 double or 4 array)", v.Type)
	}
	if inArray && v.Type == ArrayType {
		return v, errors.New("arrays nested in arrays are not allowed (type 4 inside array_value)")
	}
	// A missing value field is the zero value (encoders omit empty ones);
	// a value field of another type means the encoder and the tag disagree.
	if other := present &^ (1 << v.Type); other != 0 {
		for t, name := range valueField {
			if other&(1<<t) != 0 {
				return v, fmt.Errorf("type %d (%s) disagrees with the %s field present", v.Type, valueField[v.Type], name)
			}
		}
	}
	return v, nil
}

// arrayValue reads {"values": [attribute value, ...]}; nil is no array.
func (d *decoder) arrayValue() ([]AttributeValue, error) {
	if isNil, err := d.skipNil(); err != nil || isNil {
		return nil, err
	}
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if isArray(c) {
		return nil, errors.New(`expected a map {"values": [...]}, got an array (the Agent reads array_value as a map)`)
	}
	n, err := d.mapLen("a map")
	if err != nil {
		return nil, err
	}
	var values []AttributeValue
	for i := 0; i < n; i++ {
		key, err := d.key()
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if string(key) != "values" {
			if err := d.skip(0); err != nil {
				return nil, fmt.Errorf("%q: %w", key, err)
			}
			continue
		}
		m, err := d.arrayLen("an array")
		if err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		values = values[:0]
		for j := 0; j < m; j++ {
			if isNil, err := d.skipNil(); err != nil {
				return nil, fmt.Errorf("values[%d]: %w", j, err)
			} else if isNil {
				continue
			}
			v, err := d.attributeValue(true)
			if err != nil {
				return nil, fmt.Errorf("values[%d]: %w", j, err)
			}
			values = append(values, v)
		}
	}
	if len(values) == 0 {
		return nil, nil
	}
	return values, nil
}
