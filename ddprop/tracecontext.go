package ddprop

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TraceContext is a [propagation.TextMapPropagator] for the W3C traceparent
// and tracestate headers that, like Datadog tracers, also writes and reads
// the dd= tracestate member. It wraps [propagation.TraceContext]; other
// vendors' tracestate members pass through unchanged. Its zero value is ready
// to use.
type TraceContext struct{}

var _ propagation.TextMapPropagator = TraceContext{}

// Inject writes the span context in ctx as traceparent and tracestate. It
// does nothing when ctx holds no valid span context.
//
// The dd= member is rewritten first in tracestate: s: is the carried
// priority when it agrees with the sampled flag, else 1 or 0, with t.dm
// settled as the package documentation says; o: and the other t.* are
// carried over; p: is the span's own ID when the span is local (it is
// the last Datadog-visible parent, since ddslog exports it to Datadog), and
// the carried p: when the span context is a remote one being passed on.
func (TraceContext) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	st, _ := ParseState(sc.TraceState())
	st = outgoing(st, sc.TraceFlags())
	if !sc.IsRemote() {
		st.LastParent = sc.SpanID()
	}
	if ts, err := st.Insert(sc.TraceState()); err == nil {
		sc = sc.WithTraceState(ts)
	}
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(ctx, sc), carrier)
}

// Extract reads traceparent and tracestate from carrier and returns ctx with
// the remote span context they describe, or ctx unchanged when traceparent
// is missing or malformed, or when the dd= member's t.tid contradicts the
// high 64 bits of the traceparent trace ID. A tracestate member that is not
// valid W3C, or repeats an earlier member's key, is left out, and so are the
// members past the 32nd, as Datadog tracers still read the dd= member of
// such a tracestate; the others are kept.
//
// The dd= member is rewritten in canonical form, with s: always present and
// agreeing with the sampled flag as Datadog tracers settle it: a sampled
// traceparent with s:<=0 gives s:1 and _dd.p.dm=-0; an unsampled one with
// s:>0 gives s:0 and no _dd.p.dm; without s: the flag alone decides.
// t.tid is dropped (the trace ID carries those bits) and unknown fields are
// not kept.
func (TraceContext) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc := extractTraceContext(carrier)
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Fields returns the headers Inject writes.
func (TraceContext) Fields() []string {
	return propagation.TraceContext{}.Fields()
}

func extractTraceContext(carrier propagation.TextMapCarrier) trace.SpanContext {
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
	if !sc.IsValid() {
		return trace.SpanContext{}
	}
	if sc.TraceState().Len() == 0 {
		// The SDK drops a tracestate with any fault in it; Datadog tracers
		// still read its dd= member, and keep the sound members.
		if h := carrier.Get(tracestateHeader); h != "" {
			sc = sc.WithTraceState(soundMembers(h))
		}
	}
	st, tid, hasTID := parseStateValue(sc.TraceState().Get(stateKey))
	if hasTID {
		traceID := sc.TraceID()
		if tid != hex.EncodeToString(traceID[:8]) {
			return trace.SpanContext{}
		}
	}
	sampled := sc.IsSampled()
	switch {
	case !st.HasPriority:
		st.Priority = priorityFor(st, sc.TraceFlags())
	case sampled && st.Priority <= 0:
		st.Priority = 1
		st.SetTag(dmKey, "-0")
	case !sampled && st.Priority > 0:
		st.Priority = 0
		st.DeleteTag(dmKey)
	}
	st.HasPriority = true
	if ts, err := st.Insert(sc.TraceState()); err == nil {
		sc = sc.WithTraceState(ts)
	}
	return sc
}

const (
	tracestateHeader = "tracestate"
	// maxMembers is the W3C limit on the members of a tracestate.
	maxMembers = 32
)

// soundMembers returns the members of a tracestate header that are valid
// on their own, in order: a member the W3C grammar rejects, or whose key an
// earlier member has, is left out, and so is any member past the 32nd.
func soundMembers(h string) trace.TraceState {
	var keys []string
	kept := make([]string, 0, 8)
	for m := range strings.SplitSeq(h, ",") {
		m = strings.Trim(m, " \t")
		if m == "" {
			continue
		}
		one, err := trace.ParseTraceState(m)
		if err != nil {
			continue
		}
		key, _, _ := strings.Cut(m, "=")
		key = strings.TrimSpace(key)
		if slices.Contains(keys, key) {
			continue
		}
		keys = append(keys, key)
		kept = append(kept, one.String())
		if len(kept) == maxMembers {
			break
		}
	}
	ts, err := trace.ParseTraceState(strings.Join(kept, ","))
	if err != nil {
		return trace.TraceState{} // not reached: each member parsed alone
	}
	return ts
}
