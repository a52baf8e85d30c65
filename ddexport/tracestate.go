package ddexport

import (
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ddTraceState is the Datadog trace state of a span: the dd= member of its
// W3C tracestate, in ddprop's format (s:<priority>, o:<origin>, p:<last
// Datadog parent>, t.<k>:<v> for each propagated tag _dd.p.<k>). Values
// encode "=" as "~".
type ddTraceState struct {
	member      string // the member's value, whose t.<k> fields are written as they are
	priority    float64
	hasPriority bool
	origin, dm  string // encoded: see appendDecoded
	lastParent  string // p:, the last Datadog span on the trace's path
}

func parseDDTraceState(ts trace.TraceState) (d ddTraceState) {
	d.member = ts.Get("dd")
	for v := d.member; v != ""; {
		var m string
		m, v, _ = strings.Cut(v, ";")
		k, val, ok := strings.Cut(m, ":")
		if !ok {
			continue
		}
		switch k {
		case "s":
			if p, err := strconv.ParseInt(val, 10, 32); err == nil {
				d.priority, d.hasPriority = float64(p), true
			}
		case "o":
			d.origin = val
		case "t.dm":
			d.dm = val
		case "p":
			d.lastParent = val
		}
	}
	return d
}

// eachTag calls f with the key (after "_dd.p.") and the encoded value of
// every propagated tag of the member but the decision maker, which depends
// on the decision (see decide), and t.tid, whose bits are the trace ID's.
func (d *ddTraceState) eachTag(f func(k, v string)) {
	for v := d.member; v != ""; {
		var m string
		m, v, _ = strings.Cut(v, ";")
		k, val, ok := strings.Cut(m, ":")
		if !ok || len(k) <= 2 || k[:2] != "t." || val == "" {
			continue
		}
		if k = k[2:]; k != "dm" && k != "tid" {
			f(k, val)
		}
	}
}

// appendParentID appends the last Datadog parent p: as _dd.parent_id
// takes it, 16 lowercase hexadecimal digits, and reports whether p: is
// that (in either case); anything else is not written.
func appendParentID(b []byte, p string) ([]byte, bool) {
	if len(p) != 16 {
		return b, false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			c += 'a' - 'A'
		default:
			return b, false
		}
		b = append(b, c)
	}
	return b, true
}

// appendDecoded appends a tracestate value with "~" read back as "=".
func appendDecoded(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '~' {
			b = append(b, '=')
		} else {
			b = append(b, c)
		}
	}
	return b
}

// manualDecisionMaker is the _dd.p.dm of a decision set by hand with the
// sampling.priority attribute.
const manualDecisionMaker = "-4"

// chunkState is what the spans of a chunk share: a sampling decision set
// by hand on one of them, which holds for the chunk's roots.
type chunkState struct {
	spans     []sdktrace.ReadOnlySpan
	manual    float64
	hasManual bool
	decided   bool // manual is the whole chunk's, not only the spans seen so far
}

// see records the manual priority of the span at index i of the chunk, as
// collect found it. The last one in the chunk's order wins, as on the
// Agent's OTLP path.
func (ch *chunkState) see(p float64, ok bool) {
	if ok && !ch.decided {
		ch.manual, ch.hasManual = p, true
	}
}

// decideAt makes the chunk's manual priority final for a root at index i:
// a span after it may still set one. Usually the root is the chunk's last
// span (children end first), and nothing is read.
func (ch *chunkState) decideAt(i int) {
	if ch.decided {
		return
	}
	ch.decided = true
	rest := ch.spans[i+1:]
	for j := len(rest) - 1; j >= 0; j-- {
		if p, ok := manualPriority(rest[j].Attributes()); ok {
			ch.manual, ch.hasManual = p, true
			return
		}
	}
}

// manualPriority returns the sampling priority set by hand on a span, the
// last of them: a numeric sampling.priority or _sampling_priority_v1
// attribute (the Agent reads both), or manual.keep (2) or manual.drop (-1)
// set to true, as dd-trace-go's tags of those names decide a trace
// whenever they are set.
func manualPriority(attrs []attribute.KeyValue) (p float64, ok bool) {
	for i := range attrs {
		if f, isManual := manualOf(&attrs[i]); isManual {
			p, ok = f, true
		}
	}
	return p, ok
}

// manualOf returns the priority kv sets by hand, if it sets one.
func manualOf(kv *attribute.KeyValue) (float64, bool) {
	switch kv.Key {
	case "sampling.priority", "_sampling_priority_v1":
		return numeric(kv.Value)
	case "manual.keep":
		return 2, kv.Value.Type() == attribute.BOOL && kv.Value.AsBool()
	case "manual.drop":
		return -1, kv.Value.Type() == attribute.BOOL && kv.Value.AsBool()
	}
	return 0, false
}

// numeric returns v as a float64 when it is a number.
func numeric(v attribute.Value) (float64, bool) {
	switch v.Type() {
	case attribute.INT64:
		return float64(v.AsInt64()), true
	case attribute.FLOAT64:
		return v.AsFloat64(), true
	}
	return 0, false
}

// decide returns the sampling decision a chunk root carries: the priority
// and the decision maker (none when the trace is not kept), encoded like
// the member's values.
//
//   - A priority set by hand on a span of the chunk (sampling.priority,
//     manual.keep, manual.drop), with decision maker -4 when it keeps the
//     trace.
//   - Else the dd= member's s: when it agrees with the span's sampled flag
//     (priority > 0 exactly when sampled), with its t.dm, or -0 without.
//   - Else 1 when sampled, 0 when not: the sampled flag is the decision the
//     OpenTelemetry SDK acted on, and a priority that contradicts it gives
//     way, as ddprop settles it on injection. A priority overridden to 1
//     has decision maker -0: the member's t.dm belonged to the other
//     decision. Without s:, the flag decides and t.dm stays.
//
// dd-trace-go writes no _dd.p.dm for a trace it does not keep; neither
// does this.
func decide(dd *ddTraceState, sampled bool, ch *chunkState) (priority float64, dm string) {
	switch {
	case ch.hasManual:
		priority, dm = ch.manual, manualDecisionMaker
	case dd.hasPriority && (dd.priority > 0) == sampled:
		priority, dm = dd.priority, dd.dm
	case dd.hasPriority:
		if sampled {
			priority, dm = 1, defaultDecisionMaker
		}
	default:
		if sampled {
			priority, dm = 1, dd.dm
		}
	}
	if priority <= 0 {
		return priority, ""
	}
	if dm == "" {
		dm = defaultDecisionMaker
	}
	return priority, dm
}

// sampleRate decodes the head-sampling probability an OpenTelemetry sampler
// recorded in the ot member of the W3C tracestate, as the Agent does: the
// threshold th:<hex> (probability 1 - th/2^56), else the older p:<n> (2^-n).
func sampleRate(ts trace.TraceState) (float64, bool) {
	v := ts.Get("ot")
	var p string
	for v != "" {
		var m string
		m, v, _ = strings.Cut(v, ";")
		switch k, val, _ := strings.Cut(m, ":"); k {
		case "th":
			if len(val) == 0 || len(val) > 14 {
				return 0, false
			}
			t, err := strconv.ParseUint(val, 16, 64)
			if err != nil {
				return 0, false
			}
			t <<= 4 * (14 - len(val))
			return 1 - float64(t)/(1<<56), true
		case "p":
			p = val
		}
	}
	if p == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(p, 10, 8); err == nil && n < 63 {
		return math.Ldexp(1, -int(n)), true
	}
	return 0, false
}

// appendTraceState appends ts in its W3C form, members separated by commas.
func appendTraceState(b []byte, ts trace.TraceState) []byte {
	first := true
	ts.Walk(func(k, v string) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(append(append(b, k...), '='), v...)
		return true
	})
	return b
}
