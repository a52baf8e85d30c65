package ddprop

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The Datadog headers.
const (
	traceIDHeader  = "x-datadog-trace-id"
	parentIDHeader = "x-datadog-parent-id"
	priorityHeader = "x-datadog-sampling-priority"
	originHeader   = "x-datadog-origin"
	tagsHeader     = "x-datadog-tags"

	// maxTagsLen is Datadog's documented default limit for x-datadog-tags.
	maxTagsLen = 512
)

// PropagationErrorKey is the span tag Datadog tracers use to report that
// propagated trace tags were dropped; see [PropagationError].
const PropagationErrorKey = "_dd.propagation_error"

// Values of [PropagationErrorKey], as Datadog tracers write them.
const (
	errInjectMaxSize  = "inject_max_size"
	errEncoding       = "encoding_error"
	errExtractMaxSize = "extract_max_size"
	errDecoding       = "decoding_error"
)

// Datadog is a [propagation.TextMapPropagator] for Datadog's own headers:
// x-datadog-trace-id, x-datadog-parent-id, x-datadog-sampling-priority,
// x-datadog-origin and x-datadog-tags. Its zero value is ready to use.
//
// The Datadog-only data (sampling priority, origin, propagated _dd.p.* tags)
// lives in the dd= member of the span context's tracestate; see the package
// documentation.
type Datadog struct{}

var _ propagation.TextMapPropagator = Datadog{}

// Inject writes the span context in ctx as Datadog headers. It does nothing
// when ctx holds no valid span context.
//
// The trace ID is written as the decimal of its low 64 bits, its high 64
// bits (when not zero) as _dd.p.tid in x-datadog-tags. The sampling priority
// always goes out: the carried one when it agrees with the sampled flag,
// else 1 for a sampled span and 0 for one that is not, with the decision
// maker settled as the package documentation says. When the tags would
// exceed Datadog's 512-byte limit, no tags are sent and the span in ctx, if
// recording, gets the attribute _dd.propagation_error=inject_max_size, as
// Datadog tracers do.
func (Datadog) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	st, _ := ParseState(sc.TraceState())
	injectDatadog(ctx, sc, outgoing(st, sc.TraceFlags()), carrier)
}

// injectDatadog is Inject with the state to send already settled. The dd=
// member's own 256-byte limit keeps x-datadog-tags under 512 bytes, so tests
// reach the overflow path by passing a larger State here.
func injectDatadog(ctx context.Context, sc trace.SpanContext, st State, carrier propagation.TextMapCarrier) {
	tid, sid := sc.TraceID(), sc.SpanID()
	var buf [20]byte
	carrier.Set(traceIDHeader, string(strconv.AppendUint(buf[:0], binary.BigEndian.Uint64(tid[8:]), 10)))
	carrier.Set(parentIDHeader, string(strconv.AppendUint(buf[:0], binary.BigEndian.Uint64(sid[:]), 10)))
	carrier.Set(priorityHeader, strconv.Itoa(st.Priority))
	if st.Origin != "" {
		carrier.Set(originHeader, st.Origin)
	}
	tags, perr := encodeTagsHeader(st.Tags, tid)
	if tags != "" {
		carrier.Set(tagsHeader, tags)
	}
	if perr != "" {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.SetAttributes(attribute.String(PropagationErrorKey, perr))
		}
	}
}

// Extract reads Datadog headers from carrier and returns ctx with the remote
// span context they describe. When they describe none, or a malformed one,
// ctx is returned unchanged: a missing or non-numeric trace or parent ID, a
// zero parent ID, a zero trace ID (low 64 bits zero and no non-zero
// _dd.p.tid), a non-numeric sampling priority, or a _dd.p.tid that is not 16
// lowercase hexadecimal digits.
//
// The trace is kept but its propagated tags are dropped when x-datadog-tags
// is longer than 512 bytes or cannot be decoded; [PropagationError] then
// reports extract_max_size or decoding_error, as Datadog tracers do. Tags
// other than _dd.p.* are ignored. The tags are kept in the dd= member, which
// holds 256 bytes: those past it are dropped (_dd.p.dm keeps its room), and
// [PropagationError] reports extract_max_size.
//
// The span context is sampled when the priority is positive. Without a
// priority header it is not sampled and its dd= member has no s: field.
func (Datadog) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc, perr := extractDatadog(carrier)
	if !sc.IsValid() {
		return ctx
	}
	if perr != "" {
		ctx = context.WithValue(ctx, propagationErrorKey{}, perr)
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Fields returns the headers Inject writes.
func (Datadog) Fields() []string {
	return []string{traceIDHeader, parentIDHeader, priorityHeader, originHeader, tagsHeader}
}

type propagationErrorKey struct{}

// PropagationError returns the value Datadog tracers would record in
// _dd.propagation_error for the trace context [Datadog.Extract] (directly or
// through a [Propagator]) put into ctx: "extract_max_size" or
// "decoding_error" when propagated tags were dropped (extract_max_size also
// when they did not all fit in the dd= member), or "" when none were. Instrumentation may copy it onto the span it starts from ctx
// under [PropagationErrorKey].
func PropagationError(ctx context.Context) string {
	s, _ := ctx.Value(propagationErrorKey{}).(string)
	return s
}

func extractDatadog(carrier propagation.TextMapCarrier) (trace.SpanContext, string) {
	var cfg trace.SpanContextConfig
	low, ok := parseDecimalID(carrier.Get(traceIDHeader))
	if !ok {
		return trace.SpanContext{}, ""
	}
	parent, ok := parseDecimalID(carrier.Get(parentIDHeader))
	if !ok || parent == 0 {
		return trace.SpanContext{}, ""
	}
	binary.BigEndian.PutUint64(cfg.TraceID[8:], low)
	binary.BigEndian.PutUint64(cfg.SpanID[:], parent)

	var st State
	if h := carrier.Get(priorityHeader); h != "" {
		p, err := strconv.Atoi(h)
		if err != nil {
			return trace.SpanContext{}, ""
		}
		st.Priority, st.HasPriority = p, true
	}
	st.Origin = carrier.Get(originHeader)

	var perr string
	if h := carrier.Get(tagsHeader); h != "" {
		var tags []Tag
		var tid string
		tags, tid, perr = decodeTagsHeader(h)
		if tid != "" {
			if !isLowerHex(tid, 16) {
				return trace.SpanContext{}, ""
			}
			_, _ = hex.Decode(cfg.TraceID[:8], []byte(tid))
		}
		st.Tags = tags
	}
	// A zero low half is valid only under a non-zero _dd.p.tid: the trace
	// ID as a whole must not be zero.
	if !cfg.TraceID.IsValid() {
		return trace.SpanContext{}, ""
	}
	if st.HasPriority && st.Priority > 0 {
		cfg.TraceFlags = trace.FlagsSampled
	}
	if ts, truncated, err := st.insert(trace.TraceState{}); err == nil {
		cfg.TraceState = ts
		if truncated && perr == "" {
			// Tags Datadog tracers would pass on are dropped: the dd=
			// member that keeps them holds 256 bytes, x-datadog-tags 512.
			perr = errExtractMaxSize
		}
	}
	cfg.Remote = true
	return trace.NewSpanContext(cfg), perr
}

// parseDecimalID parses a 64-bit ID written in decimal. A negative number is
// read as its two's complement, as Datadog tracers accept from tracers that
// use signed IDs.
func parseDecimalID(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var id uint64
	if s[0] == '-' {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		id = uint64(n)
	} else {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, false
		}
		id = n
	}
	return id, true
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// decodeTagsHeader decodes x-datadog-tags: comma-separated key=value pairs,
// keys and values non-empty. It returns the _dd.p.* tags other than
// _dd.p.tid, the value of _dd.p.tid, and the propagation error when the
// tags were dropped.
func decodeTagsHeader(h string) (tags []Tag, tid, perr string) {
	if len(h) > maxTagsLen {
		return nil, "", errExtractMaxSize
	}
	var st State
	for pair := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" || v == "" {
			return nil, "", errDecoding
		}
		switch {
		case k == tidKey:
			tid = v
		case strings.HasPrefix(k, tagPrefix):
			st.SetTag(k, v)
		}
	}
	return st.Tags, tid, ""
}

// encodeTagsHeader encodes the _dd.p.* tags and the high half of tid as
// x-datadog-tags. Tags Datadog could not read back are left out with
// encoding_error; when the header would exceed 512 bytes nothing is sent and
// the error is inject_max_size.
func encodeTagsHeader(tags []Tag, tid trace.TraceID) (string, string) {
	var perr string
	b := make([]byte, 0, 64)
	for _, t := range tags {
		if !strings.HasPrefix(t.Key, tagPrefix) || t.Key == tidKey {
			continue
		}
		if !validTag(t.Key, t.Value) {
			perr = errEncoding
			continue
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, t.Key...)
		b = append(b, '=')
		b = append(b, t.Value...)
	}
	if high := tid[:8]; binary.BigEndian.Uint64(high) != 0 {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, tidKey...)
		b = append(b, '=')
		b = hex.AppendEncode(b, high)
	}
	if len(b) > maxTagsLen {
		return "", errInjectMaxSize
	}
	return string(b), perr
}

// validTag reports whether a tag can travel in x-datadog-tags: printable
// ASCII, no "," anywhere, no "=" or space in the key, neither empty.
func validTag(k, v string) bool {
	if k == "" || v == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c > '~' || c == '=' || c == ',' {
			return false
		}
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c > '~' || c == ',' {
			return false
		}
	}
	return true
}
