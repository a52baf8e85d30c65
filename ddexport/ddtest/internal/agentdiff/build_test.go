package agentdiff

import (
	"bytes"

	"github.com/vmihailenco/msgpack/v5"
)

// val writes one msgpack value with exact wire types.
type val func(e *msgpack.Encoder)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func str(s string) val   { return func(e *msgpack.Encoder) { must(e.EncodeString(s)) } }
func u64(u uint64) val   { return func(e *msgpack.Encoder) { must(e.EncodeUint64(u)) } }
func u8(u uint8) val     { return func(e *msgpack.Encoder) { must(e.EncodeUint8(u)) } }
func i64(i int64) val    { return func(e *msgpack.Encoder) { must(e.EncodeInt64(i)) } }
func i8(i int8) val      { return func(e *msgpack.Encoder) { must(e.EncodeInt8(i)) } }
func i32(i int32) val    { return func(e *msgpack.Encoder) { must(e.EncodeInt32(i)) } }
func fix(i int) val      { return func(e *msgpack.Encoder) { must(e.EncodeInt(int64(i))) } }
func f64(f float64) val  { return func(e *msgpack.Encoder) { must(e.EncodeFloat64(f)) } }
func f32(f float32) val  { return func(e *msgpack.Encoder) { must(e.EncodeFloat32(f)) } }
func boolean(b bool) val { return func(e *msgpack.Encoder) { must(e.EncodeBool(b)) } }
func bin(b []byte) val   { return func(e *msgpack.Encoder) { must(e.EncodeBytes(b)) } }
func null() val          { return func(e *msgpack.Encoder) { must(e.EncodeNil()) } }
func rawBytes(b ...byte) val {
	return func(e *msgpack.Encoder) { _, err := e.Writer().Write(b); must(err) }
}

func arr(vs ...val) val {
	return func(e *msgpack.Encoder) {
		must(e.EncodeArrayLen(len(vs)))
		for _, v := range vs {
			v(e)
		}
	}
}

type kv struct {
	k string
	v val
}

func obj(kvs ...kv) val {
	return func(e *msgpack.Encoder) {
		must(e.EncodeMapLen(len(kvs)))
		for _, p := range kvs {
			must(e.EncodeString(p.k))
			p.v(e)
		}
	}
}

// anyMap is a map with keys of any wire type: key, value, key, value...
func anyMap(pairs ...val) val {
	return func(e *msgpack.Encoder) {
		must(e.EncodeMapLen(len(pairs) / 2))
		for _, v := range pairs {
			v(e)
		}
	}
}

func encode(vs ...val) []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	for _, v := range vs {
		v(e)
	}
	return buf.Bytes()
}

func span(extra ...kv) val {
	return obj(append([]kv{
		{"service", str("svc")},
		{"name", str("op")},
		{"trace_id", u64(1)},
		{"span_id", u64(2)},
	}, extra...)...)
}

func v04(spans ...val) []byte { return encode(arr(arr(spans...))) }

func attr(t int, kvs ...kv) val { return obj(append([]kv{{"type", fix(t)}}, kvs...)...) }

func event(attrs val) val {
	return obj(kv{"time_unix_nano", u64(1)}, kv{"name", str("e")}, kv{"attributes", attrs})
}

func events(attrs val) []byte { return v04(span(kv{"span_events", arr(event(attrs))})) }

func link(kvs ...kv) []byte { return v04(span(kv{"span_links", arr(obj(kvs...))})) }

var v05strings = arr(str("svc"), str("op"), str("res"), str("web"), str("k"), str("v"))

func v05span(slots map[int]val) val {
	def := []val{
		fix(0), fix(1), fix(2),
		u64(1), u64(2), u64(0),
		i64(10), i64(5), fix(0),
		anyMap(), anyMap(), fix(3),
	}
	for i, v := range slots {
		def[i] = v
	}
	return arr(def...)
}

func v05(spans ...val) []byte { return encode(arr(v05strings, arr(arr(spans...)))) }
