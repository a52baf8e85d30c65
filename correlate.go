package ddslog

import (
	"context"
	"encoding/binary"
	"strconv"

	"go.opentelemetry.io/otel/trace"
)

// Keys written at the root of correlated records.
const (
	// TraceIDKey holds the Datadog trace ID: the decimal low 64 bits of the
	// trace ID, or its 32 hex digits with 128-bit logging on.
	TraceIDKey = "dd.trace_id"
	// SpanIDKey holds the Datadog span ID in decimal.
	SpanIDKey = "dd.span_id"
	// ServiceKey, EnvKey and VersionKey tie a log to its service.
	ServiceKey = "dd.service"
	EnvKey     = "dd.env"
	VersionKey = "dd.version"
	// OTelTraceIDKey, OTelSpanIDKey and OTelTraceFlagsKey are OpenTelemetry's
	// log correlation keys, in lowercase hex (HandlerOptions.OTelKeys).
	OTelTraceIDKey    = "trace_id"
	OTelSpanIDKey     = "span_id"
	OTelTraceFlagsKey = "trace_flags"
)

// keySet is a set of the keys above, one bit each.
type keySet uint8

const (
	keyTraceID keySet = 1 << iota
	keySpanID
	keyService
	keyEnv
	keyVersion
	keyOTelTraceID
	keyOTelSpanID
	keyOTelTraceFlags
)

// keyBit returns the bit of a key this package writes, or 0. The compiler
// turns the switch into a length check and few comparisons: it is called
// for every root attribute of a correlated record.
func keyBit(k string) keySet {
	switch k {
	case TraceIDKey:
		return keyTraceID
	case SpanIDKey:
		return keySpanID
	case ServiceKey:
		return keyService
	case EnvKey:
		return keyEnv
	case VersionKey:
		return keyVersion
	case OTelTraceIDKey:
		return keyOTelTraceID
	case OTelSpanIDKey:
		return keyOTelSpanID
	case OTelTraceFlagsKey:
		return keyOTelTraceFlags
	}
	return 0
}

// Correlation returns the values Datadog expects in dd.trace_id and
// dd.span_id for the span context in ctx, for use by loggers other than
// slog: the decimal low 64 bits of the trace ID and the decimal span ID. ok
// is false when ctx carries no valid span context. With 128-bit logging on,
// a Handler writes the trace ID in another form: Handler.Correlation
// returns exactly what a Handler writes.
func Correlation(ctx context.Context) (traceID, spanID string, ok bool) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return "", "", false
	}
	traceID, spanID = ddIDs(sc, false)
	return traceID, spanID, true
}

// Correlation returns the values h writes in dd.trace_id and dd.span_id for
// the span context in ctx, as the package's Correlation does, but with the
// trace ID in the form h's options and environment chose
// (HandlerOptions.TraceID128), so that other loggers of the program write
// the same dd.trace_id as h.
func (h *Handler) Correlation(ctx context.Context) (traceID, spanID string, ok bool) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return "", "", false
	}
	traceID, spanID = ddIDs(sc, h.cfg.traceID128)
	return traceID, spanID, true
}

// ddIDs returns the Datadog forms of sc's trace and span IDs, sharing one
// allocation.
func ddIDs(sc trace.SpanContext, full128 bool) (traceID, spanID string) {
	var buf [maxPairIDBytes]byte
	b, n := appendIDPair(buf[:0], sc, full128)
	s := string(b)
	return s[:n], s[n:]
}

// appendIDPair appends the Datadog forms of sc's trace and span IDs to
// dst, and returns where the trace ID ends.
func appendIDPair(dst []byte, sc trace.SpanContext, full128 bool) ([]byte, int) {
	dst = AppendTraceID(dst, sc.TraceID(), full128)
	n := len(dst)
	return AppendSpanID(dst, sc.SpanID()), n
}

// maxPairIDBytes bounds what appendIDPair writes: a 32-digit trace ID and a
// decimal span ID.
const maxPairIDBytes = 32 + maxDecimal

// maxDecimal is the length of the largest uint64 in decimal.
const maxDecimal = 20

// AppendTraceID appends the Datadog log form of id to dst: the decimal low
// 64 bits, or, when full128 is true and the high 64 bits are non-zero, all
// 128 bits as 32 lowercase hex digits.
func AppendTraceID(dst []byte, id trace.TraceID, full128 bool) []byte {
	if full128 && binary.BigEndian.Uint64(id[:8]) != 0 {
		return appendHex(dst, id[:])
	}
	return strconv.AppendUint(dst, binary.BigEndian.Uint64(id[8:]), 10)
}

// AppendSpanID appends the Datadog log form of id, its decimal value, to dst.
func AppendSpanID(dst []byte, id trace.SpanID) []byte {
	return strconv.AppendUint(dst, binary.BigEndian.Uint64(id[:]), 10)
}

const hexDigits = "0123456789abcdef"

// appendHex appends b in lowercase hex.
func appendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// maxIDBytes bounds what appendIDs writes: two decimal IDs or a 32-digit
// trace ID, plus the OpenTelemetry hex keys.
const maxIDBytes = 32 + maxDecimal + 32 + 16 + 2

// appendIDs appends, in order, the values of the ID keys in want to dst,
// and returns where each ends (indexed like idKeys).
func (c *config) appendIDs(dst []byte, sc trace.SpanContext, want keySet) ([]byte, [numIDKeys]int) {
	var ends [numIDKeys]int
	if want&keyTraceID != 0 {
		dst = AppendTraceID(dst, sc.TraceID(), c.traceID128)
	}
	ends[0] = len(dst)
	if want&keySpanID != 0 {
		dst = AppendSpanID(dst, sc.SpanID())
	}
	ends[1] = len(dst)
	if want&keyOTelTraceID != 0 {
		id := sc.TraceID()
		dst = appendHex(dst, id[:])
	}
	ends[2] = len(dst)
	if want&keyOTelSpanID != 0 {
		id := sc.SpanID()
		dst = appendHex(dst, id[:])
	}
	ends[3] = len(dst)
	if want&keyOTelTraceFlags != 0 {
		dst = appendHex(dst, []byte{byte(sc.TraceFlags())})
	}
	ends[4] = len(dst)
	return dst, ends
}

// idKeys are the keys whose values appendIDs writes, in its order.
var idKeys = [...]struct {
	key string
	bit keySet
}{
	{TraceIDKey, keyTraceID},
	{SpanIDKey, keySpanID},
	{OTelTraceIDKey, keyOTelTraceID},
	{OTelSpanIDKey, keyOTelSpanID},
	{OTelTraceFlagsKey, keyOTelTraceFlags},
}

const numIDKeys = len(idKeys)
