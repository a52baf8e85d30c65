package ddsample

import (
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Rule is a trace sampling rule, as an entry of DD_TRACE_SAMPLING_RULES.
// A local root matches when its service, operation name, resource and every
// tag in Tags match their glob patterns: "*" stands for any run of
// characters, "?" for one, letters match in any case, and a pattern must
// match the whole value. An empty pattern (or "*") matches anything, even a
// missing tag. The first rule a trace matches decides it.
type Rule struct {
	// Service is the pattern for the Datadog service.
	Service string
	// Name is the pattern for the Datadog operation name.
	Name string
	// Resource is the pattern for the Datadog resource.
	Resource string
	// Tags maps Datadog tag keys to patterns for their values: string
	// values as they are, integer numbers in their shortest form ("200").
	Tags map[string]string
	// SampleRate is the share of matching traces kept, from 0 to 1. Note
	// that, unlike in JSON, a Rule given in code has no default: 0 drops.
	SampleRate float64
	// Provenance says who wrote the rule; it selects the decision maker.
	Provenance Provenance
}

// Provenance says where a sampling rule comes from, as Datadog's remote
// configuration tells its tracers. It selects the decision maker recorded
// for the traces the rule keeps.
type Provenance uint8

const (
	// Local is a rule of this service's configuration: decision maker -3.
	Local Provenance = iota
	// Customer is a rule a user set in Datadog: decision maker -11.
	Customer
	// Dynamic is a rule of Datadog's adaptive sampling: decision maker -12.
	Dynamic
)

// String returns the provenance as JSON rules spell it.
func (p Provenance) String() string {
	switch p {
	case Local:
		return "local"
	case Customer:
		return "customer"
	case Dynamic:
		return "dynamic"
	}
	return "Provenance(" + strconv.Itoa(int(p)) + ")"
}

func (p Provenance) decisionMaker() (string, bool) {
	switch p {
	case Local:
		return dmRule, true
	case Customer:
		return dmRemoteUserRule, true
	case Dynamic:
		return dmRemoteDynamicRule, true
	}
	return "", false
}

// Decision makers (_dd.p.dm).
const (
	dmAgentRate         = "-1"
	dmRule              = "-3"
	dmManual            = "-4"
	dmRemoteUserRule    = "-11"
	dmRemoteDynamicRule = "-12"
)

// rule is a compiled Rule.
type rule struct {
	service, name, resource glob
	tags                    []tagGlob
	rate                    float64
	dm                      string
	results                 ruleResults
}

type tagGlob struct {
	key *tagKey
	g   glob
}

// tagKey is a Datadog tag key rules match on.
type tagKey struct {
	name    string
	sources []string // the attribute keys ddexport writes under it
}

func (k *tagKey) isSource(ak string) bool {
	for _, s := range k.sources {
		if s == ak {
			return true
		}
	}
	return false
}

// validRate reports whether r is a sample rate: a number from 0 to 1.
func validRate(r float64) bool { return r >= 0 && r <= 1 }

// compileRules compiles rules, collecting their distinct tag keys in keys.
func compileRules(rules []Rule, keys *[]*tagKey) ([]rule, error) {
	out := make([]rule, 0, len(rules))
	for i, r := range rules {
		if !validRate(r.SampleRate) {
			return nil, errors.New("ddsample: rule " + strconv.Itoa(i) + ": sample rate " +
				strconv.FormatFloat(r.SampleRate, 'g', -1, 64) + " is not between 0 and 1")
		}
		dm, ok := r.Provenance.decisionMaker()
		if !ok {
			return nil, errors.New("ddsample: rule " + strconv.Itoa(i) + ": unknown " + r.Provenance.String())
		}
		c := rule{
			service:  compileGlob(r.Service),
			name:     compileGlob(r.Name),
			resource: compileGlob(r.Resource),
			rate:     r.SampleRate,
			dm:       dm,
		}
		for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
			g := compileGlob(r.Tags[k])
			if g.any {
				continue // matches anything, even a missing tag
			}
			c.tags = append(c.tags, tagGlob{key: keyOf(keys, k), g: g})
		}
		out = append(out, c)
	}
	return out, nil
}

func keyOf(keys *[]*tagKey, k string) *tagKey {
	for _, have := range *keys {
		if have.name == k {
			return have
		}
	}
	tk := &tagKey{name: k, sources: sourcesOf(k)}
	*keys = append(*keys, tk)
	return tk
}

// rootSpan is what the rules see of a local root at its start.
type rootSpan struct {
	names spanNames
	env   string
	kind  trace.SpanKind
	attrs []attribute.KeyValue
}

// matches reports whether the span matches every criterion of r.
func (r *rule) matches(s *rootSpan) bool {
	if !match(r.service, s.names.service) || !match(r.name, s.names.name) || !match(r.resource, s.names.resource) {
		return false
	}
	for i := range r.tags {
		if !r.tags[i].matches(s) {
			return false
		}
	}
	return true
}

// tagValue is a tag of a span as ddexport writes it: a meta (text) value
// and a metrics (number) value, either or both.
type tagValue struct {
	meta      string
	hasMeta   bool
	metric    float64
	hasMetric bool
}

// matches reports whether the span's tag matches as Datadog's Go tracer
// matches it: the meta value first; failing that, a metric with an
// integral value, in its shortest form ('g' format). A tag is looked up
// anew for each rule that asks: rules rarely share tag keys, and a cache
// would cost more than it saves.
func (t *tagGlob) matches(s *rootSpan) bool {
	v := lookupTag(s, t.key)
	if v.hasMeta && match(t.g, v.meta) {
		return true
	}
	if v.hasMetric && math.Floor(v.metric) == v.metric {
		var buf [32]byte
		// The string does not outlive the call: it needs no allocation.
		return match(t.g, string(strconv.AppendFloat(buf[:0], v.metric, 'g', -1, 64)))
	}
	return false
}

// lookupTag finds the Datadog tag key among what ddexport will write for
// the span, from what is known at its start: span.kind, env, and the start
// attributes under their Datadog keys (strings and booleans as meta,
// integers and floats as metrics; http.status_code's metric also from a
// numeric string, as ddexport writes it). Slices, maps and byte arrays are
// not looked into.
func lookupTag(s *rootSpan, k *tagKey) tagValue {
	var v tagValue
	switch key := k.name; key {
	case "span.kind":
		return tagValue{meta: spanKindText(s.kind), hasMeta: true}
	case "env":
		if s.env != "" {
			return tagValue{meta: s.env, hasMeta: true}
		}
		return v
	}
	attrs := s.attrs
	// The SDK keeps a key given twice at its first position, with its last
	// value; ddexport writes the first attribute that takes a Datadog key.
	for i := range attrs {
		ak := string(attrs[i].Key)
		if !k.isSource(ak) {
			continue
		}
		val, _ := lastValue(attrs[i:], ak)
		switch val.Type() {
		case attribute.STRING, attribute.BOOL:
			if ak == "analytics.event" {
				continue // written as _dd1.sr.eausr
			}
		case attribute.INT64, attribute.FLOAT64:
			if ak == PriorityKey {
				continue // written as _sampling_priority_v1
			}
		}
		switch val.Type() {
		case attribute.STRING:
			if !v.hasMeta {
				v.meta, v.hasMeta = val.AsString(), true
			}
		case attribute.BOOL:
			if !v.hasMeta {
				v.meta, v.hasMeta = strconv.FormatBool(val.AsBool()), true
			}
		case attribute.INT64:
			if !v.hasMetric {
				v.metric, v.hasMetric = float64(val.AsInt64()), true
			}
		case attribute.FLOAT64:
			if !v.hasMetric {
				v.metric, v.hasMetric = val.AsFloat64(), true
			}
		}
	}
	// ddexport writes this metric before the attributes.
	if k.name == "http.status_code" {
		if code, ok := httpStatusCode(attrs); ok && code >= 0 {
			v.metric, v.hasMetric = code, true
		}
	}
	return v
}

// httpStatusCode is ddexport's http.status_code metric: for
// http.status_code, then http.response.status_code, a number (truncated to
// an integer), else a string holding an integer.
func httpStatusCode(attrs []attribute.KeyValue) (float64, bool) {
	for _, k := range [...]string{"http.status_code", "http.response.status_code"} {
		v, ok := lastValue(attrs, k)
		if !ok {
			continue
		}
		switch v.Type() {
		case attribute.INT64:
			return float64(v.AsInt64()), true
		case attribute.FLOAT64:
			return float64(int64(v.AsFloat64())), true
		case attribute.STRING:
			if n, ok := parseIntegral(v.AsString()); ok {
				return float64(n), true
			}
		}
	}
	return 0, false
}

func parseIntegral(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && !math.IsInf(f, 0) {
		return int64(f), true
	}
	return 0, false
}
