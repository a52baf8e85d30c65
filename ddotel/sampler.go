package ddotel

import (
	"encoding/binary"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The OpenTelemetry tracestate member and the sub-keys of consistent
// probability sampling (OpenTelemetry's "TraceState: Probability
// Sampling"): th, the rejection threshold, and rv, an explicit randomness
// value, both 56-bit.
const (
	otKey        = "ot"
	thPrefix     = "th:"
	rvPrefix     = "rv:"
	randomBits   = 56
	maxThreshold = 1<<randomBits - 1
)

// ratioSampler is OpenTelemetry's TraceIdRatioBased sampler in its
// consistent probability form. It keeps a span exactly when the trace's
// randomness (the rv sub-key of the ot tracestate member when valid, else
// the low 56 bits of the trace ID) is at or above its rejection threshold,
// round((1 - rate) * 2^56); and when it keeps one it records the threshold
// as ot=th:<hex> in the tracestate, other members and sub-keys kept. The
// Datadog exporter reads the rate back from th as _sample_rate, on every
// span of the trace, whatever span roots the chunk it travels in.
//
// A span it drops carries no th: a threshold describes kept spans only.
type ratioSampler struct {
	threshold   uint64 // keep when randomness >= threshold
	th          string // the threshold as a th value (no "th:")
	thField     string // "th:" + th
	never       bool   // rate 0: no threshold keeps nothing
	description string
}

// newRatioSampler returns a ratioSampler keeping the fraction rate of
// traces, rate in [0, 1].
func newRatioSampler(rate float64) *ratioSampler {
	s := &ratioSampler{description: "TraceIDRatioBased{" + strconv.FormatFloat(rate, 'g', -1, 64) + "}"}
	if rate <= 0 {
		s.never = true
		return s
	}
	s.threshold = rejectionThreshold(rate)
	s.th = thresholdValue(s.threshold)
	s.thField = thPrefix + s.th
	return s
}

// rejectionThreshold converts a rate in (0, 1] to the 56-bit threshold
// 2^56 - round(rate * 2^56). A rate too small to keep anything at that
// precision gets the largest threshold, which keeps the least there is
// (never 2^56, which does not fit the 56 bits of th).
func rejectionThreshold(rate float64) uint64 {
	kept := uint64(rate*(1<<randomBits) + 0.5)
	if kept == 0 {
		return maxThreshold
	}
	return 1<<randomBits - min(kept, 1<<randomBits)
}

// thresholdValue writes a threshold as th does: 14 lowercase hex digits
// with the trailing zeros removed, "0" for zero.
func thresholdValue(t uint64) string {
	const digits = "0123456789abcdef"
	var b [randomBits / 4]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[t&0xf]
		t >>= 4
	}
	n := len(b)
	for n > 1 && b[n-1] == '0' {
		n--
	}
	return string(b[:n])
}

func (s *ratioSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	ts := trace.SpanContextFromContext(p.ParentContext).TraceState()
	ot := ts.Get(otKey)
	if !s.never && randomness(p.TraceID, ot) >= s.threshold {
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: withThreshold(ts, ot, s.thField)}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: withThreshold(ts, ot, "")}
}

func (s *ratioSampler) Description() string { return s.description }

// randomness returns the trace's 56-bit randomness: the ot member's rv when
// it is valid (14 hex digits), else the low 56 bits of the trace ID.
func randomness(id trace.TraceID, ot string) uint64 {
	for field := range strings.SplitSeq(ot, ";") {
		if v, ok := strings.CutPrefix(field, rvPrefix); ok && len(v) == randomBits/4 {
			if r, err := strconv.ParseUint(v, 16, 64); err == nil {
				return r
			}
		}
	}
	return binary.BigEndian.Uint64(id[8:]) & maxThreshold
}

// withThreshold returns ts with the th sub-key of its ot member set as
// thField ("th:<hex>"), or removed when thField is "", the ot member's other
// sub-keys kept and the member moved first as the W3C specification asks of
// an updated one. ot is the member's current value. When the result would
// not be a valid tracestate (an ot member over 256 bytes), thField alone
// replaces the member.
func withThreshold(ts trace.TraceState, ot, thField string) trace.TraceState {
	if thField == "" && !strings.HasPrefix(ot, thPrefix) && !strings.Contains(ot, ";"+thPrefix) {
		return ts // nothing to remove
	}
	if ot == "" {
		if out, err := ts.Insert(otKey, thField); err == nil {
			return out
		}
		return ts
	}
	var b strings.Builder
	b.Grow(len(thField) + 1 + len(ot))
	b.WriteString(thField)
	for field := range strings.SplitSeq(ot, ";") {
		if field == "" || strings.HasPrefix(field, thPrefix) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(field)
	}
	if b.Len() == 0 {
		return ts.Delete(otKey)
	}
	if out, err := ts.Insert(otKey, b.String()); err == nil {
		return out
	}
	if thField == "" {
		return ts.Delete(otKey)
	}
	if out, err := ts.Insert(otKey, thField); err == nil {
		return out
	}
	return ts
}
