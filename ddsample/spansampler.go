package ddsample

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// SpanRule is a single-span sampling rule, as an entry of
// DD_SPAN_SAMPLING_RULES: spans of dropped traces whose service and
// operation name match the glob patterns (as in [Rule]) are kept at
// SampleRate, at most MaxPerSecond a second.
type SpanRule struct {
	// Service is the pattern for the Datadog service.
	Service string
	// Name is the pattern for the Datadog operation name.
	Name string
	// SampleRate is the share of matching spans kept, from 0 to 1. Unlike
	// in JSON, a SpanRule given in code has no default: 0 keeps none.
	SampleRate float64
	// MaxPerSecond bounds the spans the rule keeps each second; 0 or less
	// means no bound.
	MaxPerSecond float64
}

// SpanSampler applies single-span sampling rules: for the spans of traces
// that are dropped, it tells the exporter which spans to keep anyway, as
// Datadog's tracers do (the span then carries
// _dd.span_sampling.mechanism = 8, the rule's rate, and its max_per_second
// when it has one). It is safe for concurrent use; a nil *SpanSampler keeps
// nothing.
type SpanSampler struct {
	rules []spanRule
	now   func() time.Time
}

type spanRule struct {
	service, name glob
	rate, mps     float64
	limiter       *limiter
}

// NewSpanSampler returns a SpanSampler of rules, the first matching rule
// deciding. It fails on a rate outside [0, 1] or a NaN max_per_second.
func NewSpanSampler(rules ...SpanRule) (*SpanSampler, error) {
	return newSpanSampler(rules, time.Now)
}

func newSpanSampler(rules []SpanRule, now func() time.Time) (*SpanSampler, error) {
	s := &SpanSampler{now: now}
	for i, r := range rules {
		if !validRate(r.SampleRate) {
			return nil, errors.New("ddsample: span rule " + strconv.Itoa(i) + ": sample rate " +
				formatFloat(r.SampleRate) + " is not between 0 and 1")
		}
		if math.IsNaN(r.MaxPerSecond) {
			return nil, errors.New("ddsample: span rule " + strconv.Itoa(i) + ": max_per_second is not a number")
		}
		limit := math.Inf(1)
		if r.MaxPerSecond > 0 {
			limit = r.MaxPerSecond
		}
		s.rules = append(s.rules, spanRule{
			service: compileGlob(r.Service),
			name:    compileGlob(r.Name),
			rate:    r.SampleRate,
			mps:     r.MaxPerSecond,
			limiter: newLimiter(limit, now()),
		})
	}
	return s, nil
}

// SampleSpan decides whether to keep a span of a dropped trace, given its
// Datadog service and operation name and its span ID. The first rule that
// matches decides: the Knuth hash of the span ID at the rule's rate, then
// the rule's limit. It returns the rule's configured rate and max_per_second
// (both 0 when no rule matches), and whether to keep the span.
//
// The rate returned is the one configured: Datadog's Go tracer writes the
// limiter's effective rate into _dd.span_sampling.rule_rate instead, which
// Datadog's other tracers and documentation do not.
func (s *SpanSampler) SampleSpan(service, name string, spanID uint64) (rate, maxPerSecond float64, keep bool) {
	if s == nil {
		return 0, 0, false
	}
	for i := range s.rules {
		r := &s.rules[i]
		if !match(r.service, service) || !match(r.name, name) {
			continue
		}
		if !sampledByRate(spanID, r.rate) {
			return r.rate, r.mps, false
		}
		ok, _ := r.limiter.allow(s.now())
		return r.rate, r.mps, ok
	}
	return 0, 0, false
}
