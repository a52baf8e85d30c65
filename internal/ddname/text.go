package ddname

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// Text is AppendText as a string; strings and booleans cost nothing.
func Text(v attribute.Value) string {
	if v.Type() == attribute.STRING {
		return v.AsString() // the common case, inlined
	}
	return text(v)
}

func text(v attribute.Value) string {
	if v.Type() == attribute.BOOL {
		if v.AsBool() {
			return "true"
		}
		return "false"
	}
	return string(AppendText(nil, v))
}

// AppendText appends v as the Agent renders an attribute as text (pdata's
// AsString): strings as they are, booleans as true/false, numbers as
// encoding/json writes them (non-finite floats as NaN, Infinity,
// -Infinity), bytes as base64, slices and maps as JSON.
func AppendText(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.STRING:
		return append(b, v.AsString()...)
	case attribute.BOOL:
		return strconv.AppendBool(b, v.AsBool())
	case attribute.INT64:
		return strconv.AppendInt(b, v.AsInt64(), 10)
	case attribute.FLOAT64:
		f := v.AsFloat64()
		switch {
		case math.IsNaN(f):
			return append(b, "NaN"...)
		case math.IsInf(f, 1):
			return append(b, "Infinity"...)
		case math.IsInf(f, -1):
			return append(b, "-Infinity"...)
		}
		return appendES6Float(b, f)
	case attribute.BYTESLICE:
		return base64.StdEncoding.AppendEncode(b, []byte(v.AsString()))
	case attribute.EMPTY:
		return b
	default:
		// As pdata's AsString: JSON without HTML escaping.
		return appendJSON(b, v, jsonStyle{safe: &jsonSafeText, cut: -1})
	}
}

// JSON writers, for the meta "events" and "_dd.span_links" values and for
// slice and map attributes rendered as text. They produce what
// encoding/json produces for the same values (HTML-safe escaping, invalid
// UTF-8 replaced by U+FFFD, ES6 number formatting), without reflection;
// the text of slices and maps is written without HTML escaping, as pdata
// writes it.

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string, quotes included.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = AppendJSONStringBody(b, s)
	return append(b, '"')
}

func appendJSONString(b []byte, s string, safe *[256]bool) []byte {
	b = append(b, '"')
	b = appendJSONStringBody(b, s, safe)
	return append(b, '"')
}

// jsonSafe says which bytes a JSON string holds as they are: the ASCII
// characters encoding/json does not escape (with its HTML-safe escaping).
// Bytes from utf8.RuneSelf up start a multi-byte character and are
// checked one character at a time.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// jsonSafeText is jsonSafe without HTML escaping: <, > and & as they are.
var jsonSafeText = func() (t [256]bool) {
	t = jsonSafe
	t['<'], t['>'], t['&'] = true, true, true
	return t
}()

// AppendJSONStringBody appends s escaped for a JSON string, without quotes.
func AppendJSONStringBody(b []byte, s string) []byte {
	return appendJSONStringBody(b, s, &jsonSafe)
}

// appendJSONStringBody appends s escaped for a JSON string, the bytes of
// safe written as they are.
func appendJSONStringBody(b []byte, s string, safe *[256]bool) []byte {
	for i := 0; i < len(s); {
		// The run of bytes written as they are, scanned in a loop of its
		// own: the common case, a whole string, is one test per byte.
		j := i
		for j < len(s) && safe[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if j == len(s) {
			break
		}
		i = j
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// AppendJSONFloat appends f as encoding/json does. JSON has no NaN or
// infinities: those are written as the strings OpenTelemetry uses for them.
func AppendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return appendES6Float(b, f)
}

// appendES6Float formats a finite float like encoding/json and the
// OpenTelemetry Collector's pdata (the Agent's view of attribute values).
func appendES6Float(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// AppendJSON appends v as JSON with its type kept (the Agent marshals event
// attributes from their raw values).
func AppendJSON(b []byte, v attribute.Value) []byte {
	return appendJSON(b, v, jsonStyle{safe: &jsonSafe, cut: -1})
}

// AppendJSONCut is AppendJSON with every string of v (in slices and maps
// too, and the base64 text of bytes) cut to at most max bytes, "..."
// marking a cut; a negative max cuts nothing.
func AppendJSONCut(b []byte, v attribute.Value, max int) []byte {
	return appendJSON(b, v, jsonStyle{safe: &jsonSafe, cut: max})
}

// AppendJSONStringCut is AppendJSONString with s cut to at most max bytes
// (fewer, to end at a character) and "..." when longer; a negative max cuts
// nothing. The cut is made in s, before escaping: no escape sequence or
// character is split.
func AppendJSONStringCut(b []byte, s string, max int) []byte {
	return jsonStyle{safe: &jsonSafe, cut: max}.str(b, s)
}

// jsonStyle is how appendJSON writes strings: the bytes of safe as they
// are and, with cut >= 0, each string (and the base64 text of bytes) cut
// to at most cut bytes.
type jsonStyle struct {
	safe *[256]bool
	cut  int
}

func (st jsonStyle) str(b []byte, s string) []byte {
	if st.cut < 0 || len(s) <= st.cut {
		return appendJSONString(b, s, st.safe)
	}
	n := st.cut
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	b = append(b, '"')
	b = appendJSONStringBody(b, s[:n], st.safe)
	return append(b, `..."`...)
}

func (st jsonStyle) bytes(b []byte, raw string) []byte {
	b = append(b, '"')
	if st.cut < 0 || base64.StdEncoding.EncodedLen(len(raw)) <= st.cut {
		b = base64.StdEncoding.AppendEncode(b, []byte(raw))
	} else {
		b = base64.StdEncoding.AppendEncode(b, []byte(raw[:st.cut/4*3]))
		b = append(b, "..."...)
	}
	return append(b, '"')
}

// appendJSON is AppendJSON with strings written in style st.
func appendJSON(b []byte, v attribute.Value, st jsonStyle) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return strconv.AppendBool(b, v.AsBool())
	case attribute.INT64:
		return strconv.AppendInt(b, v.AsInt64(), 10)
	case attribute.FLOAT64:
		return AppendJSONFloat(b, v.AsFloat64())
	case attribute.STRING:
		return st.str(b, v.AsString())
	case attribute.BYTESLICE:
		return st.bytes(b, v.AsString())
	case attribute.BOOLSLICE:
		return appendArray(b, v.AsBoolSlice(), strconv.AppendBool)
	case attribute.INT64SLICE:
		return appendArray(b, v.AsInt64Slice(), func(b []byte, x int64) []byte { return strconv.AppendInt(b, x, 10) })
	case attribute.FLOAT64SLICE:
		return appendArray(b, v.AsFloat64Slice(), AppendJSONFloat)
	case attribute.STRINGSLICE:
		return appendArray(b, v.AsStringSlice(), st.str)
	case attribute.SLICE:
		return appendArray(b, v.AsSlice(), func(b []byte, x attribute.Value) []byte { return appendJSON(b, x, st) })
	case attribute.MAP:
		b = append(b, '{')
		for i, kv := range v.AsMap() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, string(kv.Key), st.safe)
			b = append(b, ':')
			b = appendJSON(b, kv.Value, st)
		}
		return append(b, '}')
	default: // EMPTY
		return append(b, "null"...)
	}
}

// appendArray appends xs as a JSON array, each element written by f.
func appendArray[T any](b []byte, xs []T, f func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = f(b, x)
	}
	return append(b, ']')
}

const maxTagValueLen = 200

// NormalizeTagValue is the Agent's tag value normalization: letters lower
// cased, letters, digits and ":./-" kept, each run of other characters
// (invalid UTF-8 included) replaced by one "_", a trailing run dropped, at
// most 200 characters. Already normal values cost nothing.
func NormalizeTagValue(s string) string {
	if isNormalTagValue(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	chars := 0
	inRun := false // the last thing written is the "_" of a run
	for i, r := range s {
		width := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, width = utf8.DecodeRuneInString(s[i:])
		}
		if unicode.IsUpper(r) {
			// Lower case, unless that changes the width (as the Agent does).
			if low := unicode.ToLower(r); utf8.RuneLen(low) == utf8.RuneLen(r) {
				r = low
			}
		}
		switch {
		case r == ':' || r == '.' || r == '/' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b = utf8.AppendRune(b, r)
			inRun = false
		case !inRun:
			b = append(b, '_')
			inRun = true
		}
		chars++
		if chars >= maxTagValueLen || i+width >= 2*maxTagValueLen {
			break
		}
	}
	if inRun {
		b = b[:len(b)-1]
	}
	return string(b)
}

func isTagValueByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == ':' || c == '.' || c == '/' || c == '-'
}

func isNormalTagValue(s string) bool {
	if len(s) > maxTagValueLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isTagValueByte(c):
		case c == '_':
			// Only before a character that is itself valid.
			if i+1 == len(s) || !isTagValueByte(s[i+1]) {
				return false
			}
			i++
		default:
			return false
		}
	}
	return true
}
