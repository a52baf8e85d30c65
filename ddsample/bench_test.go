package ddsample

import (
	"context"
	"strings"
	"testing"
	"time"

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
	s := mustNew(b, WithRules(realisticRules()...), WithRateLimit(1e12), WithEnv("prod"), withClock(time.Now))
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

// TestSamplerAllocations holds the sampler to its budget, exactly: no
// allocation for a local root started afresh, rules of realistic size
// included, its operation name and resource built from conventions ("GET
// /api/v1/users/:id", "kafka.process") included, unless they are longer
// than 128 bytes together (1); 1 while the rate limit is cutting (the
// attribute with its effective rate), 2 for a root continuing a remote dd=
// member (the new member and the tracestate's list), and none for a span
// that follows its parent.
func TestSamplerAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	s := benchSampler(t)
	cases := samplingCases(s)
	limited := mustNew(t, WithRules(realisticRules()...), WithRateLimit(1), withClock(time.Now))
	inherited := func(p sdktrace.SamplingParameters) sdktrace.SamplingParameters {
		p.ParentContext = remoteParent(t, false, "dd=o:rum;t.usr.id:u1,other=x")
		return p
	}
	for _, tc := range []struct {
		name string
		s    *Sampler
		p    sdktrace.SamplingParameters
		want float64
	}{
		{"root, Agent rate", s, cases["root/agent-rate"], 0},
		{"root, rule keeps", s, cases["root/rule-keep"], 0},
		{"root, last rule", s, cases["root/rule-last"], 0},
		{"root, manual keep", s, root(1, "op", trace.SpanKindServer, KeepAttribute()), 0},
		{"root, messaging names", s, root(2, "process", trace.SpanKindConsumer, attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation", "process"), attribute.String("messaging.destination.name", "orders")), 0},
		{"root, names beyond 128 bytes", s, root(3, "GET", trace.SpanKindServer, attribute.String("http.request.method", "GET"),
			attribute.String("http.route", "/"+strings.Repeat("a/", 70))), 1},
		{"root, rate limit cutting", limited, cases["root/rule-keep"], 1},
		{"root under a dd= member, Agent rate", s, inherited(cases["root/agent-rate"]), 2},
		{"root under a dd= member, rule keeps", s, inherited(cases["root/rule-keep"]), 2},
		{"root under a dd= member, manual keep", s, inherited(root(1, "op", trace.SpanKindServer, KeepAttribute())), 2},
		{"root under a dd= member, rate limit cutting", limited, inherited(cases["root/rule-keep"]), 3},
		{"child of a decided span", s, cases["child/of-decided"], 0},
	} {
		tc.s.ShouldSample(tc.p) // caches warm, as in steady state
		if n := testing.AllocsPerRun(200, func() { tc.s.ShouldSample(tc.p) }); n != tc.want {
			t.Errorf("%s: %v allocations, want %v", tc.name, n, tc.want)
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
	// Without rules: the Agent's rate alone.
	plain := mustNew(b, WithEnv("prod"))
	b.Run("root/no-rules", func(b *testing.B) {
		p := serverRoot("api")
		b.ReportAllocs()
		for b.Loop() {
			plain.ShouldSample(p)
		}
	})
	// For scale: the SDK's default sampler on the same root.
	sdk := sdktrace.ParentBased(sdktrace.AlwaysSample())
	b.Run("reference/sdk-parentbased-always-on", func(b *testing.B) {
		p := serverRoot("api")
		b.ReportAllocs()
		for b.Loop() {
			sdk.ShouldSample(p)
		}
	})
}
