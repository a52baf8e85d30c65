package ddsample

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// agentRateOf returns the Agent rate the sampler applies to a root of
// service in env, and whether it noted _dd.p.ksr.
func agentRateOf(t *testing.T, s *Sampler, service string) (float64, string) {
	t.Helper()
	o := outcomeOf(s.ShouldSample(root(1, "op", trace.SpanKindServer, attribute.String("service.name", service))))
	r, ok := o.Attributes["_dd.agent_psr"]
	if !ok {
		t.Fatalf("service %s: no _dd.agent_psr in %+v", service, o)
	}
	return r, o.KSR
}

// TestUpdateRates follows the Agent's answers over time: decreases apply
// at once, increases at most twofold and at most once a second, a rise
// from 0 at once, new keys start from the default, and the default key
// becomes the default.
func TestUpdateRates(t *testing.T) {
	c := newFakeClock()
	s := mustNew(t, withClock(c.now), WithEnv("prod"))
	if r, ksr := agentRateOf(t, s, "a"); r != 1 || ksr != "" {
		t.Fatalf("before any answer: rate %g, ksr %q; want 1 and no ksr", r, ksr)
	}
	type rates struct{ A, B, Other float64 }
	steps := []struct {
		after  time.Duration
		answer map[string]float64
		want   rates
	}{
		{0, map[string]float64{"service:a,env:prod": 0.1, "service:,env:": 0.1}, rates{0.1, 0.1, 0.1}},                  // decreases
		{500 * time.Millisecond, map[string]float64{"service:a,env:prod": 1, "service:,env:": 1}, rates{0.2, 0.2, 0.2}}, // doubled
		{500 * time.Millisecond, map[string]float64{"service:a,env:prod": 1, "service:,env:": 1}, rates{0.2, 0.2, 0.2}}, // held: 0.5 s since
		{500 * time.Millisecond, map[string]float64{"service:a,env:prod": 1, "service:,env:": 1}, rates{0.4, 0.4, 0.4}}, // a second since
		{100 * time.Millisecond, map[string]float64{"service:a,env:prod": 0.05}, rates{0.05, 0.4, 0.4}},                 // at once; default kept
		{100 * time.Millisecond, map[string]float64{"service:a,env:prod": 0.3, "service:b,env:prod": 0.9}, rates{0.05, 0.4, 0.4}},
		{900 * time.Millisecond, map[string]float64{"service:a,env:prod": 0.3, "service:b,env:prod": 0.9}, rates{0.1, 0.8, 0.4}},
		{100 * time.Millisecond, map[string]float64{"service:a,env:prod": 0}, rates{0, 0.4, 0.4}},               // b gone: default
		{100 * time.Millisecond, map[string]float64{"service:a,env:prod": 0.9}, rates{0.9, 0.4, 0.4}},           // from 0 at once
		{100 * time.Millisecond, map[string]float64{}, rates{0.4, 0.4, 0.4}},                                    // all gone
		{2 * time.Second, map[string]float64{"service:,env:": 7, "service:a,env:prod": -1}, rates{0, 0.8, 0.8}}, // clamped
	}
	for i, st := range steps {
		c.add(st.after)
		s.UpdateRates(st.answer)
		var got rates
		got.A, _ = agentRateOf(t, s, "a")
		got.B, _ = agentRateOf(t, s, "b")
		got.Other, _ = agentRateOf(t, s, "other")
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("step %d, answer %v (-want +got):\n%s", i, st.answer, diff)
		}
	}
	if _, ksr := agentRateOf(t, s, "b"); ksr != "0.8" {
		t.Errorf("ksr %q after answers, want 0.8", ksr)
	}
}

func TestUpdateRatesEmptyFirstAnswer(t *testing.T) {
	s := mustNew(t)
	s.UpdateRates(map[string]float64{})
	got := outcomeOf(s.ShouldSample(root(1, "op", trace.SpanKindServer)))
	want := outcome{Decision: keep, State: "dd=s:1;t.dm:-1;t.ksr:1", Priority: "1", DM: "-1", KSR: "1",
		Attributes: map[string]float64{"_dd.agent_psr": 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after an empty answer, the default rate is the Agent's: ksr written (-want +got):\n%s", diff)
	}
}

func TestParseServiceEnvKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want serviceEnv
		ok   bool
	}{
		{"service:,env:", serviceEnv{}, true},
		{"service:a,env:prod", serviceEnv{"a", "prod"}, true},
		{"service:a,env:", serviceEnv{"a", ""}, true},
		{"service:,env:prod", serviceEnv{"", "prod"}, true},
		{"service:a,env:b,env:c", serviceEnv{"a", "b,env:c"}, true},
		{"service:a:b,env:c", serviceEnv{"a:b", "c"}, true},
		{"service:a", serviceEnv{}, false},
		{"env:a,service:b", serviceEnv{}, false},
		{"", serviceEnv{}, false},
	} {
		got, ok := parseServiceEnvKey(tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseServiceEnvKey(%q) = %+v, %t; want %+v, %t", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

// TestAgentRatesFromTheExporter wires the sampler to ddexport and ddtest's
// Agent: the kept share of each service follows the Agent's rate, each
// decision is the Knuth test at that rate, and the rates change when the
// Agent's answer changes, rising no faster than dd-trace-go lets them.
func TestAgentRatesFromTheExporter(t *testing.T) {
	agent := ddtest.New(t, ddtest.WithRates(map[string]float64{
		"service:a,env:prod": 0.25, "service:b,env:prod": 0.75, "service:,env:": 0.5,
	}))
	exp, err := ddexport.New(ddexport.WithAgentURL(agent.URL()), ddexport.WithContainerID(""))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	c := newFakeClock()
	s := mustNew(t, withClock(c.now), WithEnv("prod"), WithRateSource(exp))
	export := func() {
		t.Helper()
		stub := tracetest.SpanStub{Name: "x", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: traceID(1), SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled})}
		if err := exp.ExportSpans(context.Background(), tracetest.SpanStubs{stub}.Snapshots()); err != nil {
			t.Fatal(err)
		}
	}
	// Before the Agent answers: the default, 1.
	checkShares(t, s, map[string]float64{"a": 1, "b": 1, "c": 1})
	export()
	checkShares(t, s, map[string]float64{"a": 0.25, "b": 0.75, "c": 0.5})

	// Lower rates apply at once; higher ones at most doubled, once a second.
	agent.SetRates(map[string]float64{"service:a,env:prod": 0.05, "service:b,env:prod": 1, "service:,env:": 0.5})
	c.add(10 * time.Second)
	export()
	checkShares(t, s, map[string]float64{"a": 0.05, "b": 1, "c": 0.5}) // 0.75 doubled is over 1
	agent.SetRates(map[string]float64{"service:a,env:prod": 0.6, "service:b,env:prod": 1, "service:,env:": 0.5})
	c.add(500 * time.Millisecond)
	export()
	checkShares(t, s, map[string]float64{"a": 0.05, "b": 1, "c": 0.5}) // held: an increase 0.5 s ago
	c.add(500 * time.Millisecond)
	export()
	checkShares(t, s, map[string]float64{"a": 0.1, "b": 1, "c": 0.5})
	c.add(time.Second)
	export()
	checkShares(t, s, map[string]float64{"a": 0.2, "b": 1, "c": 0.5})
}

// checkShares samples many roots of each service: every decision must be
// the Knuth test at the service's rate, with _dd.agent_psr at that rate,
// and the kept share must be within 6 standard deviations of the rate (the
// IDs are from a fixed seed, so the outcome is the same on every run).
func checkShares(t *testing.T, s *Sampler, want map[string]float64) {
	t.Helper()
	const n = 20000
	rnd := rand.New(rand.NewPCG(7, 11))
	for svc, rate := range want {
		kept := 0
		for range n {
			low := rnd.Uint64()
			var tid trace.TraceID
			binary.BigEndian.PutUint64(tid[8:], low)
			p := root(0, "op", trace.SpanKindServer, attribute.String("service.name", svc))
			p.TraceID = tid
			o := outcomeOf(s.ShouldSample(p))
			if o.Attributes["_dd.agent_psr"] != rate {
				t.Fatalf("service %s: _dd.agent_psr %g, want %g", svc, o.Attributes["_dd.agent_psr"], rate)
			}
			if k := o.Decision == keep; k != knuthKeeps(low, rate) {
				t.Fatalf("service %s, ID %d at rate %g: kept %t, the Knuth test says %t", svc, low, rate, k, !k)
			}
			if o.Decision == keep {
				kept++
			}
		}
		share := float64(kept) / n
		if bound := 6 * math.Sqrt(rate*(1-rate)/n); math.Abs(share-rate) > bound {
			t.Errorf("service %s: kept %.4f of the traces, want %g ± %.4f", svc, share, rate, bound)
		}
	}
}
