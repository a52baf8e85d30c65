package ddtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The msgpack primitives of the decoder, on top of msgpack/v5's low-level
// Decoder: each checks the wire type first, so that errors name what was
// found, reads integers, floats and strings with the Agent's leniency, and
// turns the end of the body into errTruncated.

// refuseNil explains the Agent's most common refusal: a nil where it reads
// a map or array header.
func (d *decoder) refuseNil(field string) error {
	c, err := d.peek()
	if err == nil && c == msgpcode.Nil {
		err = errors.New("nil is refused (the Agent reads a map or array header here): leave " + field + " out when it is empty")
	}
	return err
}

// errorFlag reads a span's error: an int32 (0 or 1), nil is 0, a bool is
// refused.
func (d *decoder) errorFlag() (int32, error) {
	c, err := d.peek()
	if err == nil && (c == msgpcode.True || c == msgpcode.False) {
		err = errors.New("a bool is refused: error is an int32, 0 or 1")
	}
	if err != nil {
		return 0, err
	}
	return d.int32()
}

// peek returns the next wire code without consuming it.
func (d *decoder) peek() (byte, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return 0, eof(err)
	}
	return c, nil
}

// skipNil consumes the next value if it is nil and reports whether it did.
func (d *decoder) skipNil() (bool, error) {
	c, err := d.peek()
	if err != nil || c != msgpcode.Nil {
		return false, err
	}
	return true, eof(d.dec.DecodeNil())
}

func (d *decoder) arrayLen(what string) (int, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	if !isArray(c) {
		return 0, fmt.Errorf("expected %s, got %s", what, codeName(c))
	}
	n, err := d.dec.DecodeArrayLen()
	if err != nil {
		return 0, eof(err)
	}
	// Every element takes at least one byte.
	if n > d.r.Len() {
		return 0, fmt.Errorf("array of %d elements but only %d bytes left: %w", n, d.r.Len(), errTruncated)
	}
	return n, nil
}

func (d *decoder) mapLen(what string) (int, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	if !isMap(c) {
		return 0, fmt.Errorf("expected %s, got %s", what, codeName(c))
	}
	n, err := d.dec.DecodeMapLen()
	if err != nil {
		return 0, eof(err)
	}
	// Every key and value takes at least one byte.
	if n > d.r.Len()/2 {
		return 0, fmt.Errorf("map of %d entries but only %d bytes left: %w", n, d.r.Len(), errTruncated)
	}
	return n, nil
}

// key reads a map key: a string (or bin), never nil. The bytes are a view
// of the body, valid as long as the body.
func (d *decoder) key() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if !isStr(c) && !isBin(c) {
		return nil, fmt.Errorf("expected a string key, got %s", codeName(c))
	}
	return d.view()
}

// str reads a string the way the Agent does: str or bin, nil is "", and
// invalid UTF-8 is repaired with U+FFFD.
func (d *decoder) str() (string, error) {
	c, err := d.peek()
	if err != nil {
		return "", err
	}
	if c == msgpcode.Nil {
		return "", eof(d.dec.DecodeNil())
	}
	if !isStr(c) && !isBin(c) {
		return "", fmt.Errorf("expected a string, got %s", codeName(c))
	}
	b, err := d.view()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return repairUTF8(b), nil
	}
	return string(b), nil
}

// repairUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD,
// one per byte as the Agent does (bytes.ToValidUTF8 would merge a run of
// them into one).
func repairUTF8(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		out = utf8.AppendRune(out, r) // RuneError for an invalid byte
		b = b[n:]
	}
	return string(out)
}

// bin reads a bin value (meta_struct values); nil and str are refused.
func (d *decoder) bin() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if !isBin(c) {
		return nil, fmt.Errorf("expected bin, got %s", codeName(c))
	}
	return d.raw()
}

// raw reads a copy of the bytes of a str or bin whose code was checked.
func (d *decoder) raw() ([]byte, error) {
	b, err := d.view()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// view reads the bytes of a str or bin whose code was checked, as a view of
// the body (the decoder reads straight from the body, so it can skip them).
func (d *decoder) view() ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, eof(err)
	}
	left := d.r.Len()
	if n > left {
		return nil, fmt.Errorf("string of %d bytes but only %d bytes left: %w", n, left, errTruncated)
	}
	if n < 0 { // nil: excluded by the callers' checks
		return nil, nil
	}
	at := len(d.body) - left
	if _, err := d.r.Seek(int64(n), io.SeekCurrent); err != nil {
		return nil, err
	}
	return d.body[at : at+n : at+n], nil
}

func (d *decoder) bool() (bool, error) {
	c, err := d.peek()
	if err != nil {
		return false, err
	}
	if c != msgpcode.True && c != msgpcode.False {
		return false, fmt.Errorf("expected a bool, got %s", codeName(c))
	}
	b, err := d.dec.DecodeBool()
	return b, eof(err)
}

// integer reads any integer encoding and reports whether it is negative
// (then u holds the value as int64 bits).
func (d *decoder) integer(what string) (u uint64, neg bool, err error) {
	c, err := d.peek()
	if err != nil {
		return 0, false, err
	}
	if !isInt(c) {
		return 0, false, fmt.Errorf("expected %s, got %s", what, codeName(c))
	}
	if c == msgpcode.Uint64 || c == msgpcode.Uint32 || c == msgpcode.Uint16 || c == msgpcode.Uint8 || msgpcode.IsFixedNum(c) && c <= msgpcode.PosFixedNumHigh {
		u, err = d.dec.DecodeUint64()
		return u, false, eof(err)
	}
	i, err := d.dec.DecodeInt64()
	return uint64(i), i < 0, eof(err)
}

// uint64 reads IDs: any integer (a negative one is taken as its two's
// complement, like the Agent), nil is 0.
func (d *decoder) uint64() (uint64, error) {
	if isNil, err := d.skipNil(); err != nil || isNil {
		return 0, err
	}
	u, _, err := d.integer("an integer")
	return u, err
}

// strictUint64 reads a non-negative integer; nil is refused.
func (d *decoder) strictUint64() (uint64, error) {
	u, neg, err := d.integer("an unsigned integer")
	if err == nil && neg {
		err = fmt.Errorf("negative value %d where an unsigned integer is expected", int64(u))
	}
	return u, err
}

func (d *decoder) uint32() (uint32, error) {
	u, err := d.strictUint64()
	if err == nil && u > math.MaxUint32 {
		err = fmt.Errorf("value %d overflows uint32", u)
	}
	return uint32(u), err
}

// int64 reads any integer that fits int64; nil is 0.
func (d *decoder) int64() (int64, error) {
	if isNil, err := d.skipNil(); err != nil || isNil {
		return 0, err
	}
	return d.strictInt64()
}

// strictInt64 reads any integer that fits int64; nil is refused.
func (d *decoder) strictInt64() (int64, error) {
	u, neg, err := d.integer("an integer")
	if err == nil && !neg && u > math.MaxInt64 {
		err = fmt.Errorf("value %d overflows int64", u)
	}
	return int64(u), err
}

// int32 reads any integer that fits int32; nil is 0; a bool is refused.
func (d *decoder) int32() (int32, error) {
	i, err := d.int64()
	if err == nil && (i < math.MinInt32 || i > math.MaxInt32) {
		err = fmt.Errorf("value %d overflows int32", i)
	}
	return int32(i), err
}

// float64 reads a metric: float64 or any integer, nil is 0; float32 is
// refused, like the Agent does.
func (d *decoder) float64() (float64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	switch {
	case c == msgpcode.Nil:
		return 0, eof(d.dec.DecodeNil())
	case c == msgpcode.Double:
		f, err := d.dec.DecodeFloat64()
		return f, eof(err)
	case isInt(c):
		u, neg, err := d.integer("a number")
		if neg {
			return float64(int64(u)), err
		}
		return float64(u), err
	case c == msgpcode.Float:
		return 0, errors.New("float32 is refused: encode metrics as float64")
	}
	return 0, fmt.Errorf("expected a float64, got %s", codeName(c))
}

// double reads a double_value: float64 or float32 (the Agent widens it);
// an integer is refused.
func (d *decoder) double() (float64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	if c != msgpcode.Double && c != msgpcode.Float {
		return 0, fmt.Errorf("expected a float, got %s", codeName(c))
	}
	f, err := d.dec.DecodeFloat64()
	return f, eof(err)
}

// skip skips one value of any type, refusing to nest deeper than maxDepth.
func (d *decoder) skip(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("values nested more than %d deep", maxDepth)
	}
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch {
	case isArray(c):
		n, err := d.arrayLen("an array")
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case isMap(c):
		n, err := d.mapLen("a map")
		if err != nil {
			return err
		}
		for i := 0; i < 2*n; i++ {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case isStr(c) || isBin(c):
		n, err := d.dec.DecodeBytesLen()
		if err != nil {
			return eof(err)
		}
		if n > d.r.Len() {
			return errTruncated
		}
		_, err = d.r.Seek(int64(n), io.SeekCurrent)
		return err
	}
	if c == 0xc1 {
		return errors.New("invalid msgpack byte 0xc1 (never used by the format)")
	}
	return eof(d.dec.Skip())
}

// prealloc bounds a capacity taken from a length on the wire: the length
// was checked against the bytes left, but one byte on the wire can become
// a large struct.
func prealloc(n int) int { return min(n, 1024) }

// eof maps the end of the body to errTruncated.
func eof(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return err
}

func isArray(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

func isMap(c byte) bool {
	return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32
}

func isStr(c byte) bool {
	return msgpcode.IsFixedString(c) || c == msgpcode.Str8 || c == msgpcode.Str16 || c == msgpcode.Str32
}

func isBin(c byte) bool {
	return c == msgpcode.Bin8 || c == msgpcode.Bin16 || c == msgpcode.Bin32
}

func isInt(c byte) bool {
	if msgpcode.IsFixedNum(c) {
		return true
	}
	switch c {
	case msgpcode.Uint8, msgpcode.Uint16, msgpcode.Uint32, msgpcode.Uint64,
		msgpcode.Int8, msgpcode.Int16, msgpcode.Int32, msgpcode.Int64:
		return true
	}
	return false
}

// codeName names a msgpack wire type for error messages.
func codeName(c byte) string {
	switch {
	case c == msgpcode.Nil:
		return "nil"
	case c == msgpcode.True || c == msgpcode.False:
		return "bool"
	case msgpcode.IsFixedNum(c) && c <= msgpcode.PosFixedNumHigh,
		c == msgpcode.Uint8, c == msgpcode.Uint16, c == msgpcode.Uint32, c == msgpcode.Uint64:
		return "uint"
	case isInt(c):
		return "int"
	case c == msgpcode.Float:
		return "float32"
	case c == msgpcode.Double:
		return "float64"
	case isStr(c):
		return "str"
	case isBin(c):
		return "bin"
	case isArray(c):
		return "array"
	case isMap(c):
		return "map"
	}
	return "msgpack type 0x" + strconv.FormatUint(uint64(c), 16)
}
