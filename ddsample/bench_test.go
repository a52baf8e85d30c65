package ddsample

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// realisticRules are ten rules of the kind services configure: services,
// operation names and resources with globs, and tags.
func realisticRules() []Rule {
	return []Rule{
		{Service: "checkout", Name: "http.*", Resource: "POST /orders*", SampleRate: 1},
		{Service: "checkout", Tags: map[string]string{"http.status_code": "5??"}, SampleRate: 1},
		{Service: "search-*", Resource: "GET /search?q=*", SampleRate: 0.1},
		{Tags: map[string]string{"customer.tier": "enterprise", "http.method": "POST"}, SampleRate: 1},
		{Service: "payments", Name: "grpc.server", Tags: map[string]string{"rpc.method": "Charge*"}, SampleRate: 0.5},
		{Name: "db.query", Tags: map[string]string{"db.system": "postgres*"}, SampleRate: 0.05},
		{Service: "*-worker", Name: "job.run", SampleRate: 0.2},
		{Resource: "GET /health*", SampleRate: 0},
		{Tags: map[string]string{"http.route": "/api/v?/users/*", "user.type": "internal"}, SampleRate: 0.3},
		{Service: "web", Tags: map[string]string{"region": "eu-*", "http.status_code": "4??"}, SampleRate: 0.25},
	}
}

// serverRoot is a server span as an HTTP instrumentation starts it.
func serverRoot(svc string) sdktrace.SamplingParameters {
	return root(0x5bd1e995c0ffee, "GET /api/v1/users/:id", trace.SpanKindServer,
		attribute.String("service.name", svc),
		attribute.String("http.request.method", "GET"),
		attribute.String("url.path", "/api/v1/users/42"),
		attribute.String("http.route", "/api/v1/users/:id"),
		attribute.String("server.address", "api.example.com"),
		attribute.Int("server.port", 443),
		attribute.String("user_agent.original", "Mozilla/5.0"),
		attribute.String("client.address", "10.1.2.3"),
		attribute.String("network.protocol.version", "1.1"),
		attribute.String("region", "us-east-1"),
	)
}

func benchSampler(b testing.TB) *Sampler {
	s := mustNew(b, WithRules(realisticRules()...), WithRateLimit(1e12), WithEnv("prod"))
	s.UpdateRates(map[string]float64{"service:api,env:prod": 0.5, "service:web,env:prod": 0.25, "service:,env:": 1})
	return s
}

// samplingCases are the local roots and children the allocation test and
// the benchmark measure.
func samplingCases(s *Sampler) map[string]sdktrace.SamplingParameters {
	agent := serverRoot("api") // no rule matches: the Agent's rate
	ruled := serverRoot("checkout")
	ruled.Attributes = append(ruled.Attributes, attribute.Int("http.response.status_code", 503)) // the second rule
	dropped := serverRoot("web")
	dropped.Attributes = append(dropped.Attributes, attribute.String("region", "eu-west-1"), attribute.Int("http.response.status_code", 404))
	child := serverRoot("api")
	decided := s.ShouldSample(agent)
	child.ParentContext = trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: child.TraceID, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, TraceState: decided.Tracestate}))
	return map[string]sdktrace.SamplingParameters{
		"root/agent-rate":  agent,
		"root/rule-keep":   ruled,
		"root/rule-last":   dropped,
		"child/of-decided": child,
	}
}

// TestSamplerAllocations holds the sampler to its budget: at most 2
// allocations per local root, rules of realistic size included, and none
// for a span that follows its parent.
func TestSamplerAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	s := benchSampler(t)
	for name, p := range samplingCases(s) {
		budget := 2.0
		if name == "child/of-decided" {
			budget = 0
		}
		s.ShouldSample(p) // caches warm, as in steady state
		if n := testing.AllocsPerRun(200, func() { s.ShouldSample(p) }); n > budget {
			t.Errorf("%s: %v allocations, want at most %v", name, n, budget)
		} else {
			t.Logf("%s: %v allocations", name, n)
		}
	}
}

func BenchmarkShouldSample(b *testing.B) {
	s := benchSampler(b)
	for name, p := range samplingCases(s) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.ShouldSample(p)
			}
		})
	}
}
