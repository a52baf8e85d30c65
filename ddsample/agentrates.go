package ddsample

import (
	"math"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// RateSource delivers the Datadog Agent's sampling rates: the
// rate_by_service map of each answer to a trace payload, keyed
// "service:<service>,env:<env>", "service:,env:" being the default.
// *ddexport.Exporter implements it.
type RateSource interface {
	// SubscribeRates registers f, to be called in order with the map of
	// every answer that has one (read-only, possibly empty).
	SubscribeRates(f func(rates map[string]float64))
}

// rampUp is the least time between two capped increases of the rates.
const rampUp = time.Second

// serviceEnv is a key of the Agent's rates.
type serviceEnv struct{ service, env string }

// rateTable is one state of the Agent's rates. It is never modified once
// published: UpdateRates publishes a new one.
type rateTable struct {
	rates      map[serviceEnv]*agentRate
	def        *agentRate // the rate of the keys not in rates
	loaded     bool       // the Agent has answered
	lastCapped time.Time  // the last update that capped an increase
}

func (t *rateTable) lookup(service, env string) *agentRate {
	if r, ok := t.rates[serviceEnv{service, env}]; ok {
		return r
	}
	return t.def
}

// agentRate is a rate of the Agent, with its outcomes computed on first use.
type agentRate struct {
	rate  float64
	cache atomic.Pointer[rateResults]
}

// rateResults are the outcomes of an Agent rate.
type rateResults struct {
	rate       float64
	ksr        string // written only once the Agent has answered
	keep, drop decision
	attrs      []attribute.KeyValue // _dd.agent_psr
}

func (r *agentRate) results(loaded bool) *rateResults {
	if res := r.cache.Load(); res != nil {
		return res
	}
	res := &rateResults{rate: r.rate, attrs: []attribute.KeyValue{attribute.Float64(agentRateKey, r.rate)}}
	// Datadog's Go tracer writes _dd.p.ksr for an Agent rate only once the
	// Agent has sent rates: the initial 1 is no rate of the Agent's.
	if loaded {
		res.ksr = formatRate(r.rate)
	}
	res.keep = decision{sampled: true, priority: 1, dm: dmAgentRate, ts: stateOf(1, dmAgentRate, res.ksr)}
	res.drop = decision{priority: 0, ts: stateOf(0, "", res.ksr)}
	// Two first uses at once compute the same thing; either may win.
	r.cache.CompareAndSwap(nil, res)
	return r.cache.Load()
}

func (r *rateResults) result(ts trace.TraceState, d *decision, attrs []attribute.KeyValue) sdktrace.SamplingResult {
	return d.result(ts, r.ksr, attrs)
}

// UpdateRates takes the Agent's rate_by_service answer, as Datadog's Go
// tracer (v2.12) does on every answer: the new map replaces the old one; a
// key absent from it falls back to the default rate; the "service:,env:"
// entry, when present, becomes the default rate; a rate that decreases, or
// rises from 0, applies at once, while a rate that rises is capped at twice
// its old value (the old default for a new key), and at most one answer a
// second may raise rates, the others keeping the old rates where they would
// rise. That spares a surge of kept traces when a restarted Agent answers
// 1 for every service. Rates outside [0, 1] are clamped (the Agent never
// sends them), keys not of the form "service:<s>,env:<e>" are ignored.
//
// rates is not retained. UpdateRates may be called concurrently with
// ShouldSample; it is what [WithRateSource] subscribes.
func (s *Sampler) UpdateRates(rates map[string]float64) {
	parsed := make(map[serviceEnv]float64, len(rates))
	for k, v := range rates {
		key, ok := parseServiceEnvKey(k)
		if !ok || math.IsNaN(v) {
			continue
		}
		parsed[key] = max(min(v, 1), 0)
	}
	s.ratesMu.Lock()
	defer s.ratesMu.Unlock()
	old := s.rates.Load()
	now := s.now()
	canIncrease := old.lastCapped.IsZero() || now.Sub(old.lastCapped) >= rampUp
	capped := false
	t := &rateTable{
		rates:      make(map[serviceEnv]*agentRate, len(parsed)),
		def:        old.def,
		loaded:     true,
		lastCapped: old.lastCapped,
	}
	for key, newRate := range parsed {
		prev, had := old.rates[key]
		if !had {
			prev = old.def
		}
		rate, c := cappedRate(prev.rate, newRate, canIncrease)
		capped = capped || c
		r := prev // outcomes depend on the rate alone, once loaded
		if !old.loaded || rate != prev.rate {
			r = &agentRate{rate: rate}
		}
		if key == (serviceEnv{}) {
			t.def = r
		} else {
			t.rates[key] = r
		}
	}
	if !old.loaded && t.def == old.def {
		// The default's outcomes gain _dd.p.ksr now that the Agent answered.
		t.def = &agentRate{rate: old.def.rate}
	}
	if canIncrease && capped {
		t.lastCapped = now
	}
	s.rates.Store(t)
}

// cappedRate returns the rate that replaces old when the Agent sends
// updated, and whether an increase was capped.
func cappedRate(old, updated float64, canIncrease bool) (float64, bool) {
	if updated <= old || old == 0 {
		return updated, false
	}
	if !canIncrease {
		return old, false
	}
	return min(old*2, updated), true
}

// parseServiceEnvKey splits "service:<s>,env:<e>" at the first ",env:".
func parseServiceEnvKey(k string) (serviceEnv, bool) {
	rest, ok := strings.CutPrefix(k, "service:")
	if !ok {
		return serviceEnv{}, false
	}
	svc, env, ok := strings.Cut(rest, ",env:")
	if !ok {
		return serviceEnv{}, false
	}
	return serviceEnv{svc, env}, true
}
