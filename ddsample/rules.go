package ddsample

import (
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/internal/ddname"
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
	idx     int // its index among the sampler's tag keys
	special specialKey
	sources []string // the attribute keys ddexport writes under it
}

// specialKey marks the tag keys that are not (only) attributes.
type specialKey uint8

const (
	plainKey      specialKey = iota
	spanKindKey              // span.kind: from the span kind
	envKey                   // env: the sampler's env
	statusCodeKey            // http.status_code: its metric also from text
)

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
	tk := &tagKey{name: k, idx: len(*keys), sources: sourcesOf(k)}
	switch k {
	case "span.kind":
		tk.special = spanKindKey
	case "env":
		tk.special = envKey
	case "http.status_code":
		tk.special = statusCodeKey
	}
	*keys = append(*keys, tk)
	return tk
}

// rootSpan is what the rules see of a local root at its start.
type rootSpan struct {
	names spanNames
	slots *ddname.Slots // its looked-up attributes (see datadogNames)
	kind  trace.SpanKind
	attrs []attribute.KeyValue
	keys  *keyTable // where the rules' tag keys come from
	index tagIndex  // built on the first tag looked up
}

// maxIndexed is the number of tag keys whose attributes a rootSpan
// indexes; keys beyond it are looked up by scanning the attributes.
const maxIndexed = 16

// tagIndex locates, among a span's attributes, those of the first
// maxIndexed tag keys: one pass over the attributes instead of one per
// tag looked up.
type tagIndex struct {
	built bool
	first [maxIndexed]int16 // 1 + the position of the first attribute of key i, 0 for none
	last  [maxIndexed]int16 // 1 + the position of the last one
}

// keyTable finds the tag key of an attribute key quickly: the attribute
// keys that are sources of the first maxIndexed tag keys, by length.
type keyTable struct {
	byLen [maxKeyLen + 1][]keySource
}

const maxKeyLen = 64 // longer keys share the last bucket

type keySource struct {
	attr string
	key  int // the tag key's index
}

func newKeyTable(keys []*tagKey) *keyTable {
	t := &keyTable{}
	for _, k := range keys {
		if k.idx >= maxIndexed {
			continue
		}
		for _, src := range k.sources {
			n := min(len(src), maxKeyLen)
			t.byLen[n] = append(t.byLen[n], keySource{src, k.idx})
		}
	}
	return t
}

func (s *rootSpan) buildIndex() {
	s.index.built = true
	if s.keys == nil {
		return
	}
	for i := range s.attrs {
		ak := string(s.attrs[i].Key)
		for _, src := range s.keys.byLen[min(len(ak), maxKeyLen)] {
			if src.attr == ak {
				if s.index.first[src.key] == 0 {
					s.index.first[src.key] = int16(i + 1)
				}
				s.index.last[src.key] = int16(i + 1)
			}
		}
	}
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
		b := buf[:0]
		if math.Abs(v.metric) < 1e6 && !(v.metric == 0 && math.Signbit(v.metric)) {
			// What the 'g' format writes for these, faster.
			b = strconv.AppendInt(b, int64(v.metric), 10)
		} else {
			b = strconv.AppendFloat(b, v.metric, 'g', -1, 64)
		}
		// The string does not outlive the call: it needs no allocation.
		return match(t.g, string(b))
	}
	return false
}

// lookupTag finds the Datadog tag key among what ddexport will write for
// the span, from what is known at its start: span.kind, env, and the start
// attributes under their Datadog keys (strings and booleans as meta,
// integers and floats as metrics; http.status_code's metric also from a
// numeric string, as ddexport writes it). Slices, maps and byte arrays are
// not looked into. It returns the value rather than filling one in: what
// is stored through a pointer escapes, and the span's names must not (see
// datadogNames).
func lookupTag(s *rootSpan, k *tagKey) (v tagValue) {
	switch k.special {
	case spanKindKey:
		v.meta, v.hasMeta = ddname.SpanKind(s.kind), true
		return v
	case envKey:
		v.meta, v.hasMeta = s.names.env, s.names.env != ""
		return v
	}
	attrs := s.attrs
	indexed := s.keys != nil && k.idx < maxIndexed && len(attrs) < math.MaxInt16
	if indexed && !s.index.built {
		s.buildIndex()
	}
	switch {
	case indexed && s.index.first[k.idx] == 0:
		// No attribute of this key.
	case indexed && len(k.sources) == 1:
		// One attribute key: its last value is the one (the SDK keeps the
		// last value of a key given twice).
		v.set(k.sources[0], attrs[s.index.last[k.idx]-1].Value)
	case len(k.sources) == 1:
		if val, ok := lastValue(attrs, k.sources[0]); ok {
			v.set(k.sources[0], val)
		}
	default:
		// Several keys: ddexport writes the first that takes the Datadog
		// key, the SDK keeping a key given twice at its first position with
		// its last value.
		from := 0
		if indexed {
			from = int(s.index.first[k.idx]) - 1
		}
		for i := from; i < len(attrs); i++ {
			if ak := string(attrs[i].Key); k.isSource(ak) {
				val, _ := lastValue(attrs[i:], ak)
				v.set(ak, val)
			}
		}
	}
	// ddexport writes this metric before the attributes.
	if k.special == statusCodeKey {
		if code, ok := httpStatusCode(s.slots); ok && code >= 0 {
			v.metric, v.hasMetric = code, true
		}
	}
	return v
}

// set records the value of attribute key ak, unless a previous attribute
// set it.
func (v *tagValue) set(ak string, val attribute.Value) {
	switch val.Type() {
	case attribute.STRING:
		if !v.hasMeta && ak != "analytics.event" { // written as _dd1.sr.eausr
			v.meta, v.hasMeta = val.AsString(), true
		}
	case attribute.BOOL:
		if !v.hasMeta && ak != "analytics.event" {
			v.meta, v.hasMeta = strconv.FormatBool(val.AsBool()), true
		}
	case attribute.INT64:
		if !v.hasMetric && ak != PriorityKey { // written as _sampling_priority_v1
			v.metric, v.hasMetric = float64(val.AsInt64()), true
		}
	case attribute.FLOAT64:
		if !v.hasMetric && ak != PriorityKey {
			v.metric, v.hasMetric = val.AsFloat64(), true
		}
	}
}

// httpStatusCode is ddexport's http.status_code metric when looked up:
// for http.status_code, then http.response.status_code (the last value of
// each), an integer, else a string holding an integer. A double is not
// looked up: it is the metric as any numeric attribute is (set).
func httpStatusCode(slots *ddname.Slots) (float64, bool) {
	for _, sl := range [...]ddname.Slot{ddname.AttrHTTPStatusCode, ddname.AttrHTTPResponseStatusCode} {
		v, ok := slots.Get(sl)
		if !ok {
			continue
		}
		switch v.Type() {
		case attribute.INT64:
			return float64(v.AsInt64()), true
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
