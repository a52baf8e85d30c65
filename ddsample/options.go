package ddsample

import (
	"math"
	"slices"
	"time"
)

// DefaultRateLimit is the default of DD_TRACE_RATE_LIMIT: at most this many
// traces a second are kept by sampling rules and the sample rate.
const DefaultRateLimit = 100

// Option configures New and FromEnv. Options given later win.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	service, env  string
	rules         []Rule
	sampleRate    float64
	hasSampleRate bool
	rateLimit     float64
	source        RateSource
	spanRules     []SpanRule
	now           func() time.Time // injected by tests
}

func newConfig(opts []Option) config {
	c := config{rateLimit: DefaultRateLimit, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithService sets the service of spans that have no service.name
// attribute: the service ddexport writes for them (DD_SERVICE, or the
// resource's service.name). Without it, such spans are
// "otlpresourcenoservicename", as ddexport calls them.
func WithService(service string) Option {
	return optionFunc(func(c *config) { c.service = service })
}

// WithEnv sets the env (DD_ENV): it names the Agent's rate to apply
// (service:<service>,env:<env>) and is the value of the env tag for rules.
// Without it, a span's deployment.environment.name or
// deployment.environment attribute is used.
func WithEnv(env string) Option {
	return optionFunc(func(c *config) { c.env = env })
}

// WithRules sets the trace sampling rules (DD_TRACE_SAMPLING_RULES),
// replacing any set before. The first rule a local root matches decides
// its trace.
func WithRules(rules ...Rule) Option {
	rules = slices.Clone(rules)
	return optionFunc(func(c *config) { c.rules = rules })
}

// WithSampleRate sets the share of traces kept among those no rule matches
// (DD_TRACE_SAMPLE_RATE), from 0 to 1: a catch-all rule after the others,
// deciding as a rule does (priority 2 or -1, decision maker -3, subject to
// the rate limit). Without it, the Agent's rates decide.
func WithSampleRate(rate float64) Option {
	return optionFunc(func(c *config) { c.sampleRate, c.hasSampleRate = rate, true })
}

// WithRateLimit sets how many traces a second the rules and the sample
// rate may keep at most (DD_TRACE_RATE_LIMIT, default 100): more are
// dropped (priority -1). 0 keeps none, +Inf does not limit; the Agent's
// rates are never limited.
func WithRateLimit(perSecond float64) Option {
	return optionFunc(func(c *config) { c.rateLimit = perSecond })
}

// WithRateSource subscribes the sampler to the Agent's rates from src,
// such as a *ddexport.Exporter, when New runs. Without a source the rates
// stay at their default, 1, unless [Sampler.UpdateRates] is called.
func WithRateSource(src RateSource) Option {
	return optionFunc(func(c *config) { c.source = src })
}

// WithSpanRules sets the single-span sampling rules
// (DD_SPAN_SAMPLING_RULES), replacing any set before; see [SpanSampler]
// and [Sampler.SpanSampler].
func WithSpanRules(rules ...SpanRule) Option {
	rules = slices.Clone(rules)
	return optionFunc(func(c *config) { c.spanRules = rules })
}

// withClock sets the clock of the rate limit and of the Agent rates'
// ramp-up, for tests.
func withClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// validRateLimit reports whether r is a rate limit: 0 or more (+Inf
// included).
func validRateLimit(r float64) bool { return r >= 0 && !math.IsNaN(r) }
