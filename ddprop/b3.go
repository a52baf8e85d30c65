package ddprop

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The B3 headers (https://github.com/openzipkin/b3-propagation).
const (
	b3TraceIDHeader = "x-b3-traceid"
	b3SpanIDHeader  = "x-b3-spanid"
	b3SampledHeader = "x-b3-sampled"
	b3FlagsHeader   = "x-b3-flags"
	b3SingleHeader  = "b3"
)

// B3 is a [propagation.TextMapPropagator] for the B3 single header,
// "b3: {trace ID}-{span ID}-{sampling state}", as Datadog tracers read and
// write it: the style "b3 single header" of DD_TRACE_PROPAGATION_STYLE and
// "b3" of OTEL_PROPAGATORS. Its zero value is ready to use.
//
// B3 carries no origin and no propagated tags: a context extracted from it
// has at most a sampling priority in its dd= member.
type B3 struct{}

var _ propagation.TextMapPropagator = B3{}

// Inject writes the span context in ctx as the b3 header. It does nothing
// when ctx holds no valid span context.
//
// The trace ID is written as 16 lowercase hex digits when its high 64 bits
// are zero, else as 32; the span ID as 16. The sampling state is "1" for a
// sampled span context and "0" for one that is not: the sampled flag is the
// decision the OpenTelemetry SDK acted on.
func (B3) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	sid := sc.SpanID()
	b := make([]byte, 0, 32+1+16+2)
	b = appendB3TraceID(b, sc.TraceID())
	b = append(b, '-')
	b = hex.AppendEncode(b, sid[:])
	if sc.IsSampled() {
		b = append(b, "-1"...)
	} else {
		b = append(b, "-0"...)
	}
	carrier.Set(b3SingleHeader, string(b))
}

// Extract reads the b3 header from carrier and returns ctx with the remote
// span context it describes, or ctx unchanged when it is missing or
// malformed.
//
// The header must hold at least a trace ID and a span ID: the trace ID is 1
// to 32 hex digits (a longer one is read from its last 32, as Datadog
// tracers do), 16 or fewer significant digits making a 64-bit ID; the span
// ID is hex that fits 64 bits; neither may be zero. A sampling state of "1"
// or "d" (debug) gives priority 1 and a sampled context, "0" priority 0; an
// empty or absent one leaves the decision to this service (no priority, not
// sampled), and anything else makes the header malformed. Fields after the
// sampling state (the parent span ID) are ignored.
func (B3) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc := extractB3(carrier)
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Fields returns the headers Inject writes.
func (B3) Fields() []string { return []string{b3SingleHeader} }

// B3Multi is a [propagation.TextMapPropagator] for the B3 multiple headers
// X-B3-TraceId, X-B3-SpanId and X-B3-Sampled, as Datadog tracers read and
// write them: the style "b3multi" (or "b3") of DD_TRACE_PROPAGATION_STYLE
// and "b3multi" of OTEL_PROPAGATORS. Its zero value is ready to use.
//
// B3 carries no origin and no propagated tags: a context extracted from it
// has at most a sampling priority in its dd= member.
type B3Multi struct{}

var _ propagation.TextMapPropagator = B3Multi{}

// Inject writes the span context in ctx as X-B3-TraceId, X-B3-SpanId and
// X-B3-Sampled. It does nothing when ctx holds no valid span context.
//
// The IDs are written as for [B3]; X-B3-Sampled is "1" for a sampled span
// context and "0" for one that is not.
func (B3Multi) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	var buf [32]byte
	sid := sc.SpanID()
	carrier.Set(b3TraceIDHeader, string(appendB3TraceID(buf[:0], sc.TraceID())))
	carrier.Set(b3SpanIDHeader, string(hex.AppendEncode(buf[:0], sid[:])))
	if sc.IsSampled() {
		carrier.Set(b3SampledHeader, "1")
	} else {
		carrier.Set(b3SampledHeader, "0")
	}
}

// Extract reads the B3 headers from carrier and returns ctx with the remote
// span context they describe, or ctx unchanged when they describe none or a
// malformed one.
//
// X-B3-TraceId and X-B3-SpanId are read as for [B3]. X-B3-Sampled is an
// integer sampling priority, as Datadog tracers read it ("1" keep, "0"
// drop; "true" and "false", which older B3 tracers send, are read as 1 and
// 0), and the context is sampled when it is positive; any other value makes
// the headers malformed. Without X-B3-Sampled, X-B3-Flags: 1 (debug) gives
// priority 1; without either, the decision is left to this service (no
// priority, not sampled).
func (B3Multi) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc := extractB3Multi(carrier)
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Fields returns the headers Inject writes.
func (B3Multi) Fields() []string {
	return []string{b3TraceIDHeader, b3SpanIDHeader, b3SampledHeader}
}

func extractB3(carrier propagation.TextMapCarrier) trace.SpanContext {
	h := carrier.Get(b3SingleHeader)
	tid, rest, ok := strings.Cut(h, "-")
	if !ok {
		return trace.SpanContext{} // a bare sampling state has no trace context
	}
	sid, rest, hasState := strings.Cut(rest, "-")
	state, _, _ := strings.Cut(rest, "-") // what follows is the parent span ID
	var cfg trace.SpanContextConfig
	if cfg.TraceID, ok = parseB3TraceID(tid); !ok {
		return trace.SpanContext{}
	}
	if cfg.SpanID, ok = parseB3SpanID(sid); !ok {
		return trace.SpanContext{}
	}
	var st State
	if hasState {
		switch state {
		case "":
		case "1", "d":
			st.Priority, st.HasPriority = 1, true
		case "0":
			st.Priority, st.HasPriority = 0, true
		default:
			return trace.SpanContext{}
		}
	}
	return b3SpanContext(cfg, st)
}

func extractB3Multi(carrier propagation.TextMapCarrier) trace.SpanContext {
	var cfg trace.SpanContextConfig
	var ok bool
	if cfg.TraceID, ok = parseB3TraceID(carrier.Get(b3TraceIDHeader)); !ok {
		return trace.SpanContext{}
	}
	if cfg.SpanID, ok = parseB3SpanID(carrier.Get(b3SpanIDHeader)); !ok {
		return trace.SpanContext{}
	}
	var st State
	switch h := carrier.Get(b3SampledHeader); h {
	case "":
		if carrier.Get(b3FlagsHeader) == "1" {
			st.Priority, st.HasPriority = 1, true
		}
	case "true":
		st.Priority, st.HasPriority = 1, true
	case "false":
		st.Priority, st.HasPriority = 0, true
	default:
		p, err := strconv.Atoi(h)
		if err != nil {
			return trace.SpanContext{}
		}
		st.Priority, st.HasPriority = p, true
	}
	return b3SpanContext(cfg, st)
}

// b3SpanContext completes a span context read from B3 headers with the
// sampling priority they carried, if any.
func b3SpanContext(cfg trace.SpanContextConfig, st State) trace.SpanContext {
	if st.HasPriority && st.Priority > 0 {
		cfg.TraceFlags = trace.FlagsSampled
	}
	if ts, err := st.Insert(trace.TraceState{}); err == nil {
		cfg.TraceState = ts
	}
	cfg.Remote = true
	return trace.NewSpanContext(cfg)
}

// parseB3TraceID reads a B3 trace ID as Datadog tracers do: the last 32
// characters of s, hex digits of either case, read as a 128-bit number (so
// 16 significant digits or fewer make a 64-bit ID). It must not be zero.
func parseB3TraceID(s string) (trace.TraceID, bool) {
	var id trace.TraceID
	if len(s) > 32 {
		s = s[len(s)-32:]
	}
	if s == "" {
		return id, false
	}
	// Fill the 32 nibbles from the right.
	for i := 0; i < len(s); i++ {
		n, ok := hexNibble(s[len(s)-1-i])
		if !ok {
			return trace.TraceID{}, false
		}
		id[15-i/2] |= n << (4 * (i % 2))
	}
	return id, id.IsValid()
}

// parseB3SpanID reads a B3 span ID as Datadog tracers do: hex digits of
// either case whose value fits 64 bits and is not zero.
func parseB3SpanID(s string) (trace.SpanID, bool) {
	var id trace.SpanID
	n, err := strconv.ParseUint(s, 16, 64)
	if err != nil || n == 0 {
		return id, false
	}
	binary.BigEndian.PutUint64(id[:], n)
	return id, true
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendB3TraceID writes a trace ID as B3 does: 16 lowercase hex digits
// when its high 64 bits are zero, else 32.
func appendB3TraceID(b []byte, id trace.TraceID) []byte {
	if binary.BigEndian.Uint64(id[:8]) == 0 {
		return hex.AppendEncode(b, id[8:])
	}
	return hex.AppendEncode(b, id[:])
}
