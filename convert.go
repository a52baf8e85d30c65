package ddslog

import (
	"encoding"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// This file holds the one conversion from slog values to OpenTelemetry
// attributes, used by the Handler's span events and by the span helpers.
// The table is in doc.go; keep the two in step.

// converter accumulates the attributes of one span event. Keys under open
// groups ("g.h.key") are written into keyBuf and turned into strings with a
// single allocation by finish.
type converter struct {
	kvs    []attribute.KeyValue
	keyBuf []byte
	// patches are the kvs whose keys are keyBuf[start:end].
	patches []keyPatch
	// prefix is scratch space for group prefixes.
	prefix []byte
}

type keyPatch struct{ kv, start, end int }

// Buffers above these sizes are not kept in the pool, so that one huge
// record does not pin memory for the life of the process.
const (
	maxPooledKVs    = 256
	maxPooledKeyBuf = 4 << 10
)

var converterPool = sync.Pool{New: func() any { return new(converter) }}

func getConverter() *converter { return converterPool.Get().(*converter) }

func (c *converter) free() {
	if cap(c.kvs) > maxPooledKVs || cap(c.keyBuf) > maxPooledKeyBuf || cap(c.patches) > maxPooledKVs {
		return
	}
	clear(c.kvs) // drop references to strings and slices
	c.kvs = c.kvs[:0]
	c.keyBuf = c.keyBuf[:0]
	c.patches = c.patches[:0]
	c.prefix = c.prefix[:0]
	converterPool.Put(c)
}

// finish resolves the group-prefixed keys and returns the attributes. They
// stay valid until free.
func (c *converter) finish() []attribute.KeyValue {
	if len(c.patches) > 0 {
		keys := string(c.keyBuf)
		for _, p := range c.patches {
			c.kvs[p.kv].Key = attribute.Key(keys[p.start:p.end])
		}
		c.patches = c.patches[:0]
		c.keyBuf = c.keyBuf[:0]
	}
	return c.kvs
}

// add appends the attributes for a under prefix: the open groups, each
// followed by a dot ("g.h.").
func (c *converter) add(prefix string, a slog.Attr) {
	c.prefix = append(c.prefix[:0], prefix...)
	c.addAttr(c.prefix, a)
}

// addAttr is add with the prefix in memory the converter owns, which it
// extends in place for nested groups. Groups are flattened into
// dotted keys; an empty group key inlines its attributes; attributes with an
// empty key and empty groups are dropped, as slog handlers drop them.
func (c *converter) addAttr(prefix []byte, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		attrs := v.Group()
		if len(attrs) == 0 {
			return
		}
		if a.Key != "" {
			prefix = append(append(prefix, a.Key...), '.')
		}
		for _, ga := range attrs {
			c.addAttr(prefix, ga)
		}
		return
	}
	if a.Key == "" {
		return
	}
	kv := attribute.KeyValue{Key: attribute.Key(a.Key), Value: valueOf(v)}
	if len(prefix) > 0 {
		start := len(c.keyBuf)
		c.keyBuf = append(append(c.keyBuf, prefix...), a.Key...)
		c.patches = append(c.patches, keyPatch{kv: len(c.kvs), start: start, end: len(c.keyBuf)})
	}
	c.kvs = append(c.kvs, kv)
}

// appendAttrs converts attrs for a handler's WithAttrs, under the given group
// prefix; the keys are allocated here, once per WithAttrs call.
func appendAttrs(dst []attribute.KeyValue, prefix string, attrs []slog.Attr) []attribute.KeyValue {
	c := getConverter()
	defer c.free()
	for _, a := range attrs {
		c.add(prefix, a)
	}
	return append(dst, c.finish()...)
}

// valueOf converts a resolved, non-group slog value.
func valueOf(v slog.Value) attribute.Value {
	switch v.Kind() {
	case slog.KindString:
		return attribute.StringValue(v.String())
	case slog.KindInt64:
		return attribute.Int64Value(v.Int64())
	case slog.KindUint64:
		u := v.Uint64()
		if u <= math.MaxInt64 {
			return attribute.Int64Value(int64(u))
		}
		// Exact, rather than wrapped or rounded.
		return attribute.StringValue(strconv.FormatUint(u, 10))
	case slog.KindFloat64:
		return attribute.Float64Value(v.Float64())
	case slog.KindBool:
		return attribute.BoolValue(v.Bool())
	case slog.KindDuration:
		return attribute.Int64Value(int64(v.Duration()))
	case slog.KindTime:
		return attribute.StringValue(v.Time().Format(time.RFC3339Nano))
	default: // slog.KindAny; LogValuers and groups are handled by the caller
		return anyValue(v.Any())
	}
}

// anyValue converts the value of a slog.KindAny Value. User methods (Error,
// String, MarshalText) may panic; the panic becomes the value, as slog's own
// handlers do.
func anyValue(x any) (v attribute.Value) {
	defer func() {
		if r := recover(); r != nil {
			v = attribute.StringValue(panicValue(x, r))
		}
	}()
	switch x := x.(type) {
	case nil:
		return attribute.StringValue("<nil>")
	case error:
		return attribute.StringValue(x.Error())
	case []string:
		return attribute.StringSliceValue(x)
	case []bool:
		return attribute.BoolSliceValue(x)
	case []int:
		return attribute.IntSliceValue(x)
	case []int64:
		return attribute.Int64SliceValue(x)
	case []float64:
		return attribute.Float64SliceValue(x)
	case []byte:
		return attribute.StringValue(string(x))
	case fmt.Stringer:
		return attribute.StringValue(x.String())
	case encoding.TextMarshaler:
		b, err := x.MarshalText()
		if err != nil {
			return attribute.StringValue("!ERROR:" + err.Error())
		}
		return attribute.StringValue(string(b))
	default:
		return attribute.StringValue(fmt.Sprintf("%+v", x))
	}
}

// panicValue describes a panic raised while converting x: "<nil>" for a nil
// pointer whose method does not guard against nil, like fmt and slog.
func panicValue(x any, r any) string {
	if v := reflect.ValueOf(x); v.Kind() == reflect.Pointer && v.IsNil() {
		return "<nil>"
	}
	return fmt.Sprintf("!PANIC: %v", r)
}

// findError returns the first error value among attrs, looking into groups.
func findError(attrs func(func(slog.Attr) bool)) error {
	var found error
	attrs(func(a slog.Attr) bool {
		found = errorIn(a)
		return found == nil
	})
	return found
}

// errorIn returns the first error value in a, looking into groups.
func errorIn(a slog.Attr) error {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindAny:
		if err, ok := v.Any().(error); ok && err != nil {
			return err
		}
	case slog.KindGroup:
		for _, ga := range v.Group() {
			if err := errorIn(ga); err != nil {
				return err
			}
		}
	}
	return nil
}
