package ddexport

import (
	"errors"
	"fmt"
	"math"
)

// A strict decoder for the payloads the encoder writes, independent of the
// encoder's code. It rejects everything the Agent rejects (nil arrays and
// maps where the Agent wants values, float32 metrics, booleans as error,
// non-string keys), and more: duplicate keys, unknown or missing span
// fields, array values holding arrays, and trailing bytes.

type wireSpan struct {
	Service    string
	Name       string
	Resource   string
	Type       string
	TraceID    uint64
	SpanID     uint64
	ParentID   uint64
	Start      int64
	Duration   int64
	Error      int32
	Meta       map[string]string
	Metrics    map[string]float64
	SpanLinks  []wireLink
	SpanEvents []wireEvent
}

type wireLink struct {
	TraceID     uint64
	TraceIDHigh uint64
	SpanID      uint64
	Attributes  map[string]string
	Tracestate  string
	Flags       uint32
}

type wireEvent struct {
	TimeUnixNano uint64
	Name         string
	Attributes   map[string]wireValue
}

// wireValue is a typed native span event attribute.
type wireValue struct {
	Type   int
	String string
	Bool   bool
	Int    int64
	Double float64
	Array  []wireValue
}

type reader struct {
	b   []byte
	off int
}

var errShort = errors.New("unexpected end of payload")

func (r *reader) fail(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", r.off, fmt.Sprintf(format, args...))
}

func (r *reader) next() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || r.off+n > len(r.b) {
		return nil, errShort
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

func (r *reader) be(n int) (uint64, error) {
	p, err := r.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (r *reader) arrayLen() (int, error) {
	c, err := r.next()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x90:
		return int(c & 0x0f), nil
	case c == 0xdc:
		n, err := r.be(2)
		return int(n), err
	case c == 0xdd:
		n, err := r.be(4)
		return int(n), err
	case c == 0xc0:
		return 0, r.fail("nil where an array is required")
	}
	return 0, r.fail("want array, got 0x%02x", c)
}

func (r *reader) mapLen() (int, error) {
	c, err := r.next()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x80:
		return int(c & 0x0f), nil
	case c == 0xde:
		n, err := r.be(2)
		return int(n), err
	case c == 0xdf:
		n, err := r.be(4)
		return int(n), err
	case c == 0xc0:
		return 0, r.fail("nil where a map is required")
	}
	return 0, r.fail("want map, got 0x%02x", c)
}

func (r *reader) str() (string, error) {
	c, err := r.next()
	if err != nil {
		return "", err
	}
	var n uint64
	switch {
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, err = r.be(1)
	case c == 0xda:
		n, err = r.be(2)
	case c == 0xdb:
		n, err = r.be(4)
	default:
		return "", r.fail("want str, got 0x%02x", c)
	}
	if err != nil {
		return "", err
	}
	p, err := r.take(int(n))
	return string(p), err
}

// uint reads a non-negative integer of any width.
func (r *reader) uint() (uint64, error) {
	c, err := r.next()
	if err != nil {
		return 0, err
	}
	switch {
	case c < 0x80:
		return uint64(c), nil
	case c == 0xcc:
		return r.be(1)
	case c == 0xcd:
		return r.be(2)
	case c == 0xce:
		return r.be(4)
	case c == 0xcf:
		return r.be(8)
	case c >= 0xd0 && c <= 0xd3 || c >= 0xe0:
		r.off--
		v, err := r.int()
		if err != nil {
			return 0, err
		}
		if v < 0 {
			return 0, r.fail("negative value %d where an unsigned one is required", v)
		}
		return uint64(v), nil
	}
	return 0, r.fail("want integer, got 0x%02x", c)
}

func (r *reader) int() (int64, error) {
	c, err := r.next()
	if err != nil {
		return 0, err
	}
	switch {
	case c < 0x80:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c == 0xd0:
		v, err := r.be(1)
		return int64(int8(v)), err
	case c == 0xd1:
		v, err := r.be(2)
		return int64(int16(v)), err
	case c == 0xd2:
		v, err := r.be(4)
		return int64(int32(v)), err
	case c == 0xd3:
		v, err := r.be(8)
		return int64(v), err
	case c == 0xcc, c == 0xcd, c == 0xce, c == 0xcf:
		r.off--
		v, err := r.uint()
		if err != nil {
			return 0, err
		}
		if v > math.MaxInt64 {
			return 0, r.fail("integer %d overflows int64", v)
		}
		return int64(v), nil
	}
	return 0, r.fail("want integer, got 0x%02x", c)
}

func (r *reader) float64() (float64, error) {
	c, err := r.next()
	if err != nil {
		return 0, err
	}
	if c != 0xcb {
		return 0, r.fail("want float64, got 0x%02x", c)
	}
	v, err := r.be(8)
	return math.Float64frombits(v), err
}

func (r *reader) bool() (bool, error) {
	c, err := r.next()
	if err != nil {
		return false, err
	}
	switch c {
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	}
	return false, r.fail("want bool, got 0x%02x", c)
}

// keys reads a map header and calls f for each key, rejecting duplicates.
func (r *reader) keys(f func(k string) error) error {
	n, err := r.mapLen()
	if err != nil {
		return err
	}
	seen := make(map[string]bool, n)
	for range n {
		k, err := r.str()
		if err != nil {
			return err
		}
		if seen[k] {
			return r.fail("duplicate key %q", k)
		}
		seen[k] = true
		if err := f(k); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

func (r *reader) end() error {
	if r.off != len(r.b) {
		return r.fail("%d trailing bytes", len(r.b)-r.off)
	}
	return nil
}

// decodeV04 decodes a /v0.4/traces body.
func decodeV04(body []byte) ([][]wireSpan, error) {
	r := &reader{b: body}
	n, err := r.arrayLen()
	if err != nil {
		return nil, err
	}
	chunks := make([][]wireSpan, 0, n)
	for range n {
		m, err := r.arrayLen()
		if err != nil {
			return nil, err
		}
		c := make([]wireSpan, 0, m)
		for range m {
			s, err := r.spanV04()
			if err != nil {
				return nil, err
			}
			c = append(c, s)
		}
		chunks = append(chunks, c)
	}
	return chunks, r.end()
}

var requiredFields = []string{"service", "name", "resource", "type", "trace_id", "span_id",
	"parent_id", "start", "duration", "error", "meta", "metrics"}

func (r *reader) spanV04() (wireSpan, error) {
	var s wireSpan
	got := map[string]bool{}
	err := r.keys(func(k string) error {
		got[k] = true
		var err error
		switch k {
		case "service":
			s.Service, err = r.str()
		case "name":
			s.Name, err = r.str()
		case "resource":
			s.Resource, err = r.str()
		case "type":
			s.Type, err = r.str()
		case "trace_id":
			s.TraceID, err = r.uint()
		case "span_id":
			s.SpanID, err = r.uint()
		case "parent_id":
			s.ParentID, err = r.uint()
		case "start":
			s.Start, err = r.int()
		case "duration":
			s.Duration, err = r.int()
		case "error":
			var v int64
			v, err = r.int()
			if err == nil && (v < math.MinInt32 || v > math.MaxInt32) {
				err = r.fail("error %d overflows int32", v)
			}
			s.Error = int32(v)
		case "meta":
			s.Meta, err = r.stringMap()
		case "metrics":
			s.Metrics = map[string]float64{}
			err = r.keys(func(k string) error {
				f, err := r.float64()
				s.Metrics[k] = f
				return err
			})
		case "span_links":
			s.SpanLinks, err = r.links()
		case "span_events":
			s.SpanEvents, err = r.events()
		default:
			err = r.fail("unknown span field %q", k)
		}
		return err
	})
	if err != nil {
		return s, err
	}
	for _, f := range requiredFields {
		if !got[f] {
			return s, r.fail("span without %q", f)
		}
	}
	return s, nil
}

func (r *reader) stringMap() (map[string]string, error) {
	m := map[string]string{}
	err := r.keys(func(k string) error {
		v, err := r.str()
		m[k] = v
		return err
	})
	return m, err
}

func (r *reader) links() ([]wireLink, error) {
	n, err := r.arrayLen()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, r.fail("empty span_links: leave the key out")
	}
	out := make([]wireLink, n)
	for i := range out {
		l := &out[i]
		got := map[string]bool{}
		err := r.keys(func(k string) error {
			got[k] = true
			var err error
			switch k {
			case "trace_id":
				l.TraceID, err = r.uint()
			case "trace_id_high":
				l.TraceIDHigh, err = r.uint()
			case "span_id":
				l.SpanID, err = r.uint()
			case "attributes":
				l.Attributes, err = r.stringMap()
				if err == nil && len(l.Attributes) == 0 {
					err = r.fail("empty link attributes: leave the key out")
				}
			case "tracestate":
				l.Tracestate, err = r.str()
			case "flags":
				var v uint64
				v, err = r.uint()
				if err == nil && v > math.MaxUint32 {
					err = r.fail("flags %d overflow uint32", v)
				}
				l.Flags = uint32(v)
			default:
				err = r.fail("unknown link field %q", k)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if !got["trace_id"] || !got["span_id"] {
			return nil, r.fail("link without trace_id or span_id")
		}
	}
	return out, nil
}

func (r *reader) events() ([]wireEvent, error) {
	n, err := r.arrayLen()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, r.fail("empty span_events: leave the key out")
	}
	out := make([]wireEvent, n)
	for i := range out {
		ev := &out[i]
		err := r.keys(func(k string) error {
			var err error
			switch k {
			case "time_unix_nano":
				ev.TimeUnixNano, err = r.uint()
			case "name":
				ev.Name, err = r.str()
			case "attributes":
				ev.Attributes = map[string]wireValue{}
				err = r.keys(func(k string) error {
					v, err := r.typed(true)
					ev.Attributes[k] = v
					return err
				})
				if err == nil && len(ev.Attributes) == 0 {
					err = r.fail("empty event attributes: leave the key out")
				}
			default:
				err = r.fail("unknown event field %q", k)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// typed reads a typed attribute value; arrays are allowed only at the top.
func (r *reader) typed(top bool) (wireValue, error) {
	var v wireValue
	fields := map[string]bool{}
	hasType := false
	err := r.keys(func(k string) error {
		fields[k] = true
		var err error
		switch k {
		case "type":
			var t int64
			t, err = r.int()
			v.Type = int(t)
			hasType = true
		case "string_value":
			v.String, err = r.str()
		case "bool_value":
			v.Bool, err = r.bool()
		case "int_value":
			v.Int, err = r.int()
		case "double_value":
			v.Double, err = r.float64()
		case "array_value":
			if !top {
				return r.fail("array inside an array")
			}
			err = r.keys(func(k string) error {
				if k != "values" {
					return r.fail("unknown array field %q", k)
				}
				n, err := r.arrayLen()
				if err != nil {
					return err
				}
				v.Array = make([]wireValue, 0, n)
				for range n {
					x, err := r.typed(false)
					if err != nil {
						return err
					}
					v.Array = append(v.Array, x)
				}
				return nil
			})
		default:
			err = r.fail("unknown attribute field %q", k)
		}
		return err
	})
	if err != nil {
		return v, err
	}
	want := map[int]string{0: "string_value", 1: "bool_value", 2: "int_value", 3: "double_value", 4: "array_value"}[v.Type]
	if !hasType || want == "" || !fields[want] || len(fields) != 2 {
		return v, r.fail("attribute of type %d with fields %v", v.Type, fields)
	}
	return v, nil
}

// decodeV05 decodes a /v0.5/traces body into the same shape as v0.4.
func decodeV05(body []byte) ([][]wireSpan, error) {
	r := &reader{b: body}
	n, err := r.arrayLen()
	if err != nil {
		return nil, err
	}
	if n != 2 {
		return nil, r.fail("payload array of %d elements, want 2", n)
	}
	n, err = r.arrayLen()
	if err != nil {
		return nil, err
	}
	dict := make([]string, n)
	for i := range dict {
		if dict[i], err = r.str(); err != nil {
			return nil, err
		}
	}
	idx := func() (string, error) {
		i, err := r.uint()
		if err != nil {
			return "", err
		}
		if i >= uint64(len(dict)) {
			return "", r.fail("string index %d out of range %d", i, len(dict))
		}
		return dict[i], nil
	}
	n, err = r.arrayLen()
	if err != nil {
		return nil, err
	}
	chunks := make([][]wireSpan, 0, n)
	for range n {
		m, err := r.arrayLen()
		if err != nil {
			return nil, err
		}
		c := make([]wireSpan, 0, m)
		for range m {
			f, err := r.arrayLen()
			if err != nil {
				return nil, err
			}
			if f != 12 {
				return nil, r.fail("span of %d elements, want 12", f)
			}
			var s wireSpan
			if s.Service, err = idx(); err != nil {
				return nil, err
			}
			if s.Name, err = idx(); err != nil {
				return nil, err
			}
			if s.Resource, err = idx(); err != nil {
				return nil, err
			}
			if s.TraceID, err = r.uint(); err != nil {
				return nil, err
			}
			if s.SpanID, err = r.uint(); err != nil {
				return nil, err
			}
			if s.ParentID, err = r.uint(); err != nil {
				return nil, err
			}
			if s.Start, err = r.int(); err != nil {
				return nil, err
			}
			if s.Duration, err = r.int(); err != nil {
				return nil, err
			}
			e, err := r.int()
			if err != nil {
				return nil, err
			}
			if e < math.MinInt32 || e > math.MaxInt32 {
				return nil, r.fail("error %d overflows int32", e)
			}
			s.Error = int32(e)
			s.Meta = map[string]string{}
			mn, err := r.mapLen()
			if err != nil {
				return nil, err
			}
			for range mn {
				k, err := idx()
				if err != nil {
					return nil, err
				}
				v, err := idx()
				if err != nil {
					return nil, err
				}
				if _, dup := s.Meta[k]; dup {
					return nil, r.fail("duplicate meta key %q", k)
				}
				s.Meta[k] = v
			}
			s.Metrics = map[string]float64{}
			mn, err = r.mapLen()
			if err != nil {
				return nil, err
			}
			for range mn {
				k, err := idx()
				if err != nil {
					return nil, err
				}
				v, err := r.float64()
				if err != nil {
					return nil, err
				}
				if _, dup := s.Metrics[k]; dup {
					return nil, r.fail("duplicate metrics key %q", k)
				}
				s.Metrics[k] = v
			}
			if s.Type, err = idx(); err != nil {
				return nil, err
			}
			c = append(c, s)
		}
		chunks = append(chunks, c)
	}
	return chunks, r.end()
}
