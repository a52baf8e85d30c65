package ddsample

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/internal/ddname"
)

// Root-span metrics of a sampling decision (contract: float64 attributes
// the exporter writes as metrics of the same key).
const (
	agentRateKey = "_dd.agent_psr"
	ruleRateKey  = "_dd.rule_psr"
	limitRateKey = "_dd.limit_psr"
)

// Propagated trace tags of a decision, carried in the dd= tracestate member.
const (
	dmTag  = "_dd.p.dm"
	ksrTag = "_dd.p.ksr"
)

// Sampler is an OpenTelemetry SDK sampler that decides which traces are
// kept the way Datadog's tracers do. See the package documentation for the
// decision order and what it writes. It is safe for concurrent use.
type Sampler struct {
	service, env string
	rules        []rule // the sampling rules, then the sample rate's catch-all
	keys         *keyTable
	ruleNames    bool // a rule matches operation names or resources
	limiter      *limiter
	now          func() time.Time
	spans        *SpanSampler
	desc         string

	rates   atomic.Pointer[rateTable]
	ratesMu sync.Mutex // serializes UpdateRates

	// Decisions of manual keep and drop of a trace started afresh.
	manualKeep, manualDrop sdktrace.SamplingResult
}

var _ sdktrace.Sampler = (*Sampler)(nil)

// New returns a sampler configured by opts alone; [FromEnv] reads the
// DD_* variables too. Without options it keeps every trace at the Agent's
// default rate (1 until the Agent answers) with no rules. It fails on a
// sample rate outside [0, 1], a negative or NaN rate limit, or an invalid
// rule, naming it.
func New(opts ...Option) (*Sampler, error) {
	c := newConfig(opts)
	if c.hasSampleRate && !validRate(c.sampleRate) {
		return nil, errors.New("ddsample: sample rate " + formatFloat(c.sampleRate) + " is not between 0 and 1")
	}
	if !validRateLimit(c.rateLimit) {
		return nil, errors.New("ddsample: rate limit " + formatFloat(c.rateLimit) + " is negative or not a number")
	}
	var keys []*tagKey
	rules, err := compileRules(c.rules, &keys)
	if err != nil {
		return nil, err
	}
	if c.hasSampleRate {
		rules = append(rules, rule{
			service: glob{any: true}, name: glob{any: true}, resource: glob{any: true},
			rate: c.sampleRate, dm: dmRule,
		})
	}
	s := &Sampler{
		service: c.service,
		env:     c.env,
		rules:   rules,
		keys:    newKeyTable(keys),
		limiter: newLimiter(c.rateLimit, c.now()),
		now:     c.now,
	}
	for i := range s.rules {
		r := &s.rules[i]
		r.results = newRuleResults(r.rate, r.dm)
		s.ruleNames = s.ruleNames || !r.name.any || !r.resource.any
	}
	if len(c.spanRules) > 0 {
		if s.spans, err = newSpanSampler(c.spanRules, c.now); err != nil {
			return nil, err
		}
	}
	s.manualKeep = sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: stateOf(2, dmManual, "")}
	s.manualDrop = sdktrace.SamplingResult{Decision: sdktrace.RecordOnly, Tracestate: stateOf(-1, "", "")}
	s.rates.Store(&rateTable{def: &agentRate{rate: 1}})
	s.desc = "DatadogSampler{rules=" + strconv.Itoa(len(c.rules))
	if c.hasSampleRate {
		s.desc += ",sample_rate=" + formatFloat(c.sampleRate)
	}
	s.desc += ",rate_limit=" + formatFloat(c.rateLimit) + "}"
	if c.source != nil {
		c.source.SubscribeRates(s.UpdateRates)
	}
	return s, nil
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Description returns a description of the sampler: its number of rules,
// its sample rate when set, and its rate limit.
func (s *Sampler) Description() string { return s.desc }

// SpanSampler returns the single-span sampler of the rules given by
// [WithSpanRules] or DD_SPAN_SAMPLING_RULES, for the exporter to apply to
// the spans of dropped traces; nil when there are none.
func (s *Sampler) SpanSampler() *SpanSampler { return s.spans }

// ShouldSample decides for a starting span. A local root (a span with no
// parent, or whose remote parent carries no decision) is decided by the
// rules, the sample rate or the Agent's rate; any other span follows its
// parent's decision and keeps its parent's tracestate. A sampling.priority
// attribute given at start decides for its span and the spans under it.
// Dropped traces are recorded (RecordOnly), never discarded, so that they
// reach the Agent as priority-0 or -1 chunks.
func (s *Sampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	if prio, ok := manualPriority(p.Attributes); ok {
		return s.manual(psc.TraceState(), prio)
	}
	if psc.IsValid() && (!psc.IsRemote() || psc.IsSampled() || carriesPriority(psc.TraceState())) {
		d := sdktrace.RecordOnly
		if psc.IsSampled() {
			d = sdktrace.RecordAndSample
		}
		return sdktrace.SamplingResult{Decision: d, Tracestate: psc.TraceState()}
	}
	return s.decide(&p, psc.TraceState())
}

// decide decides for a local root whose inherited tracestate is ts.
func (s *Sampler) decide(p *sdktrace.SamplingParameters, ts trace.TraceState) sdktrace.SamplingResult {
	kind := trace.ValidateSpanKind(p.Kind) // as the span records it: unspecified is internal
	var sc nameScratch
	names := datadogNames(p.Attributes, kind, p.Name, s.service, s.env, s.ruleNames, &sc)
	low := binary.BigEndian.Uint64(p.TraceID[8:])
	if len(s.rules) > 0 {
		root := rootSpan{names: names, slots: &sc.slots, kind: kind, attrs: p.Attributes, keys: s.keys}
		for i := range s.rules {
			if r := &s.rules[i]; r.matches(&root) {
				return s.applyRule(r, low, ts)
			}
		}
	}
	// The Agent keys its rates by the env it normalized.
	return s.applyAgentRate(names.service, ddname.NormalizeTagValue(names.env), low, ts)
}

// applyRule decides as a matching rule does: its rate first, then, for a
// trace the rate keeps, the rate limit.
func (s *Sampler) applyRule(r *rule, low uint64, ts trace.TraceState) sdktrace.SamplingResult {
	res := &r.results
	if !sampledByRate(low, r.rate) {
		return res.result(ts, &res.drop, res.dropAttrs)
	}
	ok, eff := s.limiter.allow(s.now())
	attrs := res.keepAttrs // the effective rate is 1 while nothing is limited
	if eff != 1 {
		attrs = []attribute.KeyValue{res.keepAttrs[0], attribute.Float64(limitRateKey, eff)}
	}
	if !ok {
		return res.result(ts, &res.drop, attrs)
	}
	return res.result(ts, &res.keep, attrs)
}

// applyAgentRate decides by the Agent's rate for service and env.
func (s *Sampler) applyAgentRate(service, env string, low uint64, ts trace.TraceState) sdktrace.SamplingResult {
	t := s.rates.Load()
	r := t.lookup(service, env).results(t.loaded)
	if sampledByRate(low, r.rate) {
		return r.result(ts, &r.keep, r.attrs)
	}
	return r.result(ts, &r.drop, r.attrs)
}

// manual decides by a sampling.priority attribute given at start.
func (s *Sampler) manual(ts trace.TraceState, prio int) sdktrace.SamplingResult {
	if ts.Len() == 0 {
		switch prio {
		case 2:
			return s.manualKeep
		case -1:
			return s.manualDrop
		}
	}
	d := sdktrace.RecordOnly
	if prio > 0 {
		d = sdktrace.RecordAndSample
	}
	return sdktrace.SamplingResult{Decision: d, Tracestate: inherit(ts, prio, dmManual, "")}
}

// manualPriority returns the priority a manual decision among the start
// attributes sets, and whether there is one: a sampling.priority attribute
// with an integer value, or dd-trace-go's manual.keep (2) or manual.drop
// (-1) set to true, which its tracer honours however the tag is set (its
// OpenTelemetry API included). The SDK keeps the last value of a key given
// twice, and of several such keys the last given decides.
func manualPriority(attrs []attribute.KeyValue) (int, bool) {
	var seenPrio, seenKeep, seenDrop bool
	for i := len(attrs) - 1; i >= 0; i-- {
		kv := &attrs[i]
		switch kv.Key {
		case PriorityKey:
			if seenPrio {
				continue
			}
			seenPrio = true
			switch v := kv.Value; v.Type() {
			case attribute.INT64:
				return clampInt(v.AsInt64()), true
			case attribute.FLOAT64:
				if f := v.AsFloat64(); f == math.Trunc(f) && !math.IsInf(f, 0) {
					return clampInt(int64(max(min(f, math.MaxInt32), math.MinInt32))), true
				}
			}
		case manualKeepKey:
			if seenKeep {
				continue
			}
			seenKeep = true
			if kv.Value.Type() == attribute.BOOL && kv.Value.AsBool() {
				return UserKeep, true
			}
		case manualDropKey:
			if seenDrop {
				continue
			}
			seenDrop = true
			if kv.Value.Type() == attribute.BOOL && kv.Value.AsBool() {
				return UserReject, true
			}
		}
	}
	return 0, false
}

func clampInt(n int64) int { return int(max(min(n, math.MaxInt32), math.MinInt32)) }

// carriesPriority reports whether the dd= member of ts has a sampling
// priority (an s: field with an integer), as ddprop reads it: a remote
// parent without one left the decision to this service.
func carriesPriority(ts trace.TraceState) bool {
	v := ts.Get("dd")
	for v != "" {
		var f string
		f, v = cutByte(v, ';')
		if len(f) > 2 && f[0] == 's' && f[1] == ':' {
			if _, err := strconv.Atoi(f[2:]); err == nil {
				return true
			}
		}
	}
	return false
}

func cutByte(s string, sep byte) (before, after string) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// decision is one outcome of a rule or rate: the sampling decision, the
// priority and decision maker it carries, and its tracestate for a trace
// started afresh.
type decision struct {
	sampled  bool
	priority int
	dm       string // carried only when priority > 0
	ts       trace.TraceState
}

// ruleResults are the outcomes of a rule, computed once.
type ruleResults struct {
	ksr        string
	keep, drop decision
	keepAttrs  []attribute.KeyValue // _dd.rule_psr, and _dd.limit_psr = 1
	dropAttrs  []attribute.KeyValue // _dd.rule_psr alone: no limit consulted
}

func newRuleResults(rate float64, dm string) ruleResults {
	ksr := formatRate(rate)
	return ruleResults{
		ksr:       ksr,
		keep:      decision{sampled: true, priority: 2, dm: dm, ts: stateOf(2, dm, ksr)},
		drop:      decision{priority: -1, ts: stateOf(-1, "", ksr)},
		keepAttrs: []attribute.KeyValue{attribute.Float64(ruleRateKey, rate), attribute.Float64(limitRateKey, 1)},
		dropAttrs: []attribute.KeyValue{attribute.Float64(ruleRateKey, rate)},
	}
}

func (r *ruleResults) result(ts trace.TraceState, d *decision, attrs []attribute.KeyValue) sdktrace.SamplingResult {
	return d.result(ts, r.ksr, attrs)
}

// result is the SDK's SamplingResult for d with attrs, for a trace whose
// inherited tracestate is ts: the precomputed tracestate when ts is empty
// (the common case, costing no allocation), else ts updated.
func (d *decision) result(ts trace.TraceState, ksr string, attrs []attribute.KeyValue) sdktrace.SamplingResult {
	res := sdktrace.SamplingResult{Decision: sdktrace.RecordOnly, Attributes: attrs, Tracestate: d.ts}
	if d.sampled {
		res.Decision = sdktrace.RecordAndSample
	}
	if ts.Len() > 0 {
		res.Tracestate = inherit(ts, d.priority, d.dm, ksr)
	}
	return res
}
