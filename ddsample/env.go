package ddsample

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/seed03c8c003/ddslog/internal/ddname"
)

// Environment variables read by FromEnv.
const (
	envService          = "DD_SERVICE"
	envEnv              = "DD_ENV"
	envTags             = "DD_TAGS"
	envTraceRules       = "DD_TRACE_SAMPLING_RULES"
	envTraceRulesFile   = "DD_TRACE_SAMPLING_RULES_FILE"
	envSampleRate       = "DD_TRACE_SAMPLE_RATE"
	envRateLimit        = "DD_TRACE_RATE_LIMIT"
	envSpanRules        = "DD_SPAN_SAMPLING_RULES"
	envSpanRulesFile    = "DD_SPAN_SAMPLING_RULES_FILE"
	maxRulesFileBytes   = 1 << 20
	maxQuotedValueBytes = 256
)

// FromEnv returns a sampler configured by the environment, read through
// lookup (os.LookupEnv when nil), then by opts, which win:
//
//	DD_SERVICE                      WithService (else DD_TAGS's service)
//	DD_ENV                          WithEnv (else DD_TAGS's env)
//	DD_TRACE_SAMPLING_RULES         WithRules (JSON, see below)
//	DD_TRACE_SAMPLING_RULES_FILE    a file holding that JSON, read when
//	                                DD_TRACE_SAMPLING_RULES is unset or empty
//	DD_TRACE_SAMPLE_RATE            WithSampleRate (0 to 1)
//	DD_TRACE_RATE_LIMIT             WithRateLimit (0 or more; default 100)
//	DD_SPAN_SAMPLING_RULES          WithSpanRules (JSON)
//	DD_SPAN_SAMPLING_RULES_FILE     as for the trace rules
//
// The rules are a JSON array of objects, as Datadog's Go tracer reads them:
// "service", "name", "resource" (glob patterns), "tags" (an object of glob
// patterns), "sample_rate" (a number from 0 to 1, or a string holding one;
// default 1), "max_per_second" (a number; for span rules only, 0 or less
// meaning no limit), "provenance" ("local", "customer" or "dynamic", any
// case) and "type" (an integer, ignored). Other fields are ignored. Span
// rules may not have "resource" or "tags": the exporter asks about a span by
// service and name only.
//
// Where Datadog's tracer logs a bad value and goes on without it, FromEnv
// fails with an error naming the variable and its value (or the file's
// path): malformed JSON, a rate outside [0, 1], a negative rate limit, an
// unreadable or over 1 MiB file. Nothing is started, so nothing is left to
// undo.
func FromEnv(lookup func(string) (string, bool), opts ...Option) (*Sampler, error) {
	envOpts, err := envOptions(lookup)
	if err != nil {
		return nil, err
	}
	return New(append(envOpts, opts...)...)
}

func envOptions(lookup func(string) (string, bool)) ([]Option, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	get := func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	var opts []Option
	// DD_TAGS's service and env stand in for DD_SERVICE and DD_ENV, as in
	// Datadog's tracers and ddexport: the spans carry them.
	tags := get(envTags)
	if v := cmp.Or(get(envService), ddname.DDTag(tags, "service")); v != "" {
		opts = append(opts, WithService(v))
	}
	if v := cmp.Or(get(envEnv), ddname.DDTag(tags, "env")); v != "" {
		opts = append(opts, WithEnv(v))
	}
	if v := get(envSampleRate); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !validRate(r) {
			return nil, badVar(envSampleRate, v, "want a number between 0 and 1")
		}
		opts = append(opts, WithSampleRate(r))
	}
	if v := get(envRateLimit); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !validRateLimit(r) {
			return nil, badVar(envRateLimit, v, "want a number of traces per second, 0 or more")
		}
		opts = append(opts, WithRateLimit(r))
	}
	raw, name, value, err := rulesSource(get, envTraceRules, envTraceRulesFile)
	if err != nil {
		return nil, err
	}
	if raw != nil {
		rules, err := parseRules(raw, false)
		if err != nil {
			return nil, badVar(name, value, err.Error())
		}
		traceRules := make([]Rule, len(rules))
		for i, r := range rules {
			traceRules[i] = r.Rule
		}
		opts = append(opts, WithRules(traceRules...))
	}
	raw, name, value, err = rulesSource(get, envSpanRules, envSpanRulesFile)
	if err != nil {
		return nil, err
	}
	if raw != nil {
		rules, err := parseRules(raw, true)
		if err != nil {
			return nil, badVar(name, value, err.Error())
		}
		spanRules := make([]SpanRule, len(rules))
		for i, r := range rules {
			spanRules[i] = SpanRule{Service: r.Service, Name: r.Name, SampleRate: r.SampleRate, MaxPerSecond: r.mps}
		}
		opts = append(opts, WithSpanRules(spanRules...))
	}
	return opts, nil
}

// rulesSource returns the JSON rules of the variable, else of the file its
// _FILE variable names, with the variable to name in errors and its value;
// nil when neither is set.
func rulesSource(get func(string) string, varName, fileVar string) (raw []byte, name, value string, err error) {
	if v := get(varName); v != "" {
		return []byte(v), varName, v, nil
	}
	path := get(fileVar)
	if path == "" {
		return nil, "", "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", "", badVar(fileVar, path, err.Error())
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRulesFileBytes+1))
	if err != nil {
		return nil, "", "", badVar(fileVar, path, err.Error())
	}
	if len(b) > maxRulesFileBytes {
		return nil, "", "", badVar(fileVar, path, "file larger than 1 MiB")
	}
	return b, fileVar, path, nil
}

// jsonRule is a rule as Datadog's Go tracer reads it from JSON.
type jsonRule struct {
	Service      string            `json:"service"`
	Name         string            `json:"name"`
	Resource     string            `json:"resource"`
	Tags         map[string]string `json:"tags"`
	SampleRate   json.Number       `json:"sample_rate"`
	MaxPerSecond float64           `json:"max_per_second"`
	Provenance   jsonProvenance    `json:"provenance"`
	Type         *int              `json:"type"`
}

// parsedRule is a rule read from JSON: a Rule, and a span rule's limit.
type parsedRule struct {
	Rule
	mps float64
}

type jsonProvenance Provenance

// UnmarshalJSON reads a provenance as Datadog's Go tracer does: a string,
// case and surrounding spaces aside, "local", "customer" or "dynamic"
// (anything else, null included, is an error).
func (p *jsonProvenance) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "local":
		*p = jsonProvenance(Local)
	case "customer":
		*p = jsonProvenance(Customer)
	case "dynamic":
		*p = jsonProvenance(Dynamic)
	default:
		return errors.New("invalid provenance " + strconv.Quote(s) + ": want local, customer or dynamic")
	}
	return nil
}

// parseRules reads a JSON array of rules.
func parseRules(b []byte, span bool) ([]parsedRule, error) {
	var in []jsonRule
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("not a JSON array of rules: %w", err)
	}
	out := make([]parsedRule, 0, len(in))
	for i, j := range in {
		rate := 1.0
		if j.SampleRate != "" {
			r, err := j.SampleRate.Float64()
			if err != nil {
				return nil, errors.New("rule " + strconv.Itoa(i) + ": sample_rate " + j.SampleRate.String() + " is not a number")
			}
			rate = r
		}
		if !validRate(rate) {
			return nil, errors.New("rule " + strconv.Itoa(i) + ": sample_rate " + j.SampleRate.String() + " is not between 0 and 1")
		}
		if span && restricts(j.Resource, j.Tags) {
			return nil, errors.New("rule " + strconv.Itoa(i) + ": span rules match on service and name only, not resource or tags")
		}
		out = append(out, parsedRule{
			Rule: Rule{
				Service:    j.Service,
				Name:       j.Name,
				Resource:   j.Resource,
				Tags:       j.Tags,
				SampleRate: rate,
				Provenance: Provenance(j.Provenance),
			},
			mps: j.MaxPerSecond,
		})
	}
	return out, nil
}

// restricts reports whether a resource or a tag pattern matches less than
// everything.
func restricts(resource string, tags map[string]string) bool {
	if !compileGlob(resource).any {
		return true
	}
	for _, p := range tags {
		if !compileGlob(p).any {
			return true
		}
	}
	return false
}

func badVar(name, value, why string) error {
	if len(value) > maxQuotedValueBytes {
		value = value[:maxQuotedValueBytes] + "…"
	}
	return errors.New("ddsample: " + name + "=" + strconv.Quote(value) + ": " + why)
}
