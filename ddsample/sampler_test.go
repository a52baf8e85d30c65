package ddsample

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const (
	keep = sdktrace.RecordAndSample
	drop = sdktrace.RecordOnly
)

// agentDefault is the outcome of a trace kept at the Agent's default rate
// before the Agent answered.
var agentDefault = outcome{Decision: keep, State: "dd=s:1;t.dm:-1", Priority: "1", DM: "-1",
	Attributes: map[string]float64{"_dd.agent_psr": 1}}

func TestLocalRoots(t *testing.T) {
	s := mustNew(t)
	local := func(sampled bool) context.Context {
		cfg := trace.SpanContextConfig{TraceID: traceID(42), SpanID: trace.SpanID{1}}
		if sampled {
			cfg.TraceFlags = trace.FlagsSampled
		}
		return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(cfg))
	}
	for _, tc := range []struct {
		name   string
		parent context.Context
		want   outcome
	}{
		{"no parent", context.Background(), agentDefault},
		{"Datadog headers without a priority", remoteParent(t, false, ""), agentDefault},
		{"no priority, other fields and vendors kept", remoteParent(t, false, "dd=o:synthetics;p:00000000000000ab;t.usr.id:u1,other=x"),
			outcome{Decision: keep, State: "dd=s:1;o:synthetics;p:00000000000000ab;t.usr.id:u1;t.dm:-1,other=x", Priority: "1", DM: "-1",
				Attributes: map[string]float64{"_dd.agent_psr": 1}}},
		{"a stale decision maker without a priority is replaced", remoteParent(t, false, "dd=t.dm:-4"), agentDefault},
		{"unreadable priority", remoteParent(t, false, "dd=s:x"), agentDefault},
		{"remote keep", remoteParent(t, true, "dd=s:2;t.dm:-4"),
			outcome{Decision: keep, State: "dd=s:2;t.dm:-4", Priority: "2", DM: "-4"}},
		{"remote auto keep", remoteParent(t, true, "dd=s:1;t.dm:-1,other=x"),
			outcome{Decision: keep, State: "dd=s:1;t.dm:-1,other=x", Priority: "1", DM: "-1"}},
		{"remote drop", remoteParent(t, false, "dd=s:0"), outcome{Decision: drop, State: "dd=s:0", Priority: "0"}},
		{"remote user drop", remoteParent(t, false, "dd=s:-1;o:rum"), outcome{Decision: drop, State: "dd=s:-1;o:rum", Priority: "-1"}},
		{"remote W3C sampled, no dd member", remoteParent(t, true, "other=x"), outcome{Decision: keep, State: "other=x"}},
		{"local sampled parent", local(true), outcome{Decision: keep}},
		{"local dropped parent", local(false), outcome{Decision: drop}},
	} {
		p := root(7, "op", trace.SpanKindServer)
		p.ParentContext = tc.parent
		if got := outcomeOf(s.ShouldSample(p)); !cmp.Equal(tc.want, got) {
			t.Errorf("%s (-want +got):\n%s", tc.name, cmp.Diff(tc.want, got))
		}
	}
}

// TestRuleDecisions checks each outcome of a rule against the Knuth test
// computed on its own, for rules of each provenance and the sample rate.
func TestRuleDecisions(t *testing.T) {
	s := mustNew(t,
		WithRules(
			Rule{Service: "svc-a", Name: "http.*", SampleRate: 0.5},
			Rule{Tags: map[string]string{"http.status_code": "5??"}, SampleRate: 0.75, Provenance: Customer},
			Rule{Resource: "GET /x", SampleRate: 0.3, Provenance: Dynamic},
			Rule{Resource: "/health", SampleRate: 0},
		),
		WithSampleRate(0.25),
		WithService("svc-z"),
	)
	type ruleCase struct {
		name  string
		rate  float64
		dm    string
		attrs []attribute.KeyValue
		res   string
	}
	for _, rc := range []ruleCase{
		{"first rule", 0.5, "-3", []attribute.KeyValue{attribute.String("service.name", "svc-a"), attribute.String("operation.name", "http.get")}, "r"},
		{"customer rule", 0.75, "-11", []attribute.KeyValue{attribute.Int("http.response.status_code", 503)}, "r"},
		{"dynamic rule", 0.3, "-12", nil, "GET /x"},
		{"rate 0", 0, "-3", nil, "/health"},
		{"sample rate", 0.25, "-3", nil, "other"},
	} {
		for _, kept := range []bool{true, false} {
			if rc.rate == 0 && kept {
				continue
			}
			low := lowWith(t, rc.rate, kept, 1000)
			got := outcomeOf(s.ShouldSample(root(low, rc.res, trace.SpanKindServer, rc.attrs...)))
			ksr := formatRate(rc.rate)
			want := outcome{Decision: drop, State: "dd=s:-1;t.ksr:" + ksr, Priority: "-1", KSR: ksr,
				Attributes: map[string]float64{"_dd.rule_psr": rc.rate}}
			if kept {
				want = outcome{Decision: keep, State: "dd=s:2;t.dm:" + rc.dm + ";t.ksr:" + ksr, Priority: "2", DM: rc.dm, KSR: ksr,
					Attributes: map[string]float64{"_dd.rule_psr": rc.rate, "_dd.limit_psr": 1}}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s, kept %t (-want +got):\n%s", rc.name, kept, diff)
			}
		}
	}
}

func TestRuleMatching(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rule    Rule
		opts    []Option
		span    string
		kind    trace.SpanKind
		attrs   []attribute.KeyValue
		matches bool
	}{
		{name: "empty rule matches all", rule: Rule{}, matches: true},
		{name: "service attribute", rule: Rule{Service: "svc-a"}, attrs: attrs("service.name", "svc-a"), matches: true},
		{name: "service attribute beats configured", rule: Rule{Service: "cfg"}, opts: []Option{WithService("cfg")}, attrs: attrs("service.name", "svc-a")},
		{name: "configured service", rule: Rule{Service: "cfg"}, opts: []Option{WithService("cfg")}, matches: true},
		{name: "configured service over the SDK's default", rule: Rule{Service: "cfg"}, opts: []Option{WithService("cfg")},
			attrs: attrs("service.name", "unknown_service:main"), matches: true},
		{name: "SDK's default kept with nothing configured", rule: Rule{Service: "unknown_service:*"},
			attrs: attrs("service.name", "unknown_service:main"), matches: true},
		{name: "no service at all", rule: Rule{Service: "otlpresourcenoservicename"}, matches: true},
		{name: "service duplicated: the last value", rule: Rule{Service: "b"},
			attrs: []attribute.KeyValue{attribute.String("service.name", "a"), attribute.String("service.name", "b")}, matches: true},
		{name: "operation.name", rule: Rule{Name: "web.request"}, attrs: attrs("operation.name", "web.request"), matches: true},
		{name: "operation.name normalized", rule: Rule{Name: "my_op.v2"}, attrs: attrs("operation.name", "My Op.V2"), matches: true},
		{name: "server kind", rule: Rule{Name: "server.request"}, kind: trace.SpanKindServer, matches: true},
		{name: "client kind", rule: Rule{Name: "client.request"}, kind: trace.SpanKindClient, matches: true},
		{name: "producer kind", rule: Rule{Name: "Producer"}, kind: trace.SpanKindProducer, matches: true},
		{name: "consumer kind", rule: Rule{Name: "consumer"}, kind: trace.SpanKindConsumer, matches: true},
		{name: "internal kind", rule: Rule{Name: "Internal"}, kind: trace.SpanKindInternal, matches: true},
		{name: "unspecified kind is internal", rule: Rule{Name: "Internal", Tags: map[string]string{"span.kind": "internal"}},
			kind: trace.SpanKindUnspecified, matches: true},
		{name: "span name is not the operation name", rule: Rule{Name: "op"}, span: "op"},
		{name: "span name is the resource", rule: Rule{Resource: "GET /users/?"}, span: "GET /users/1", matches: true},
		{name: "resource.name beats the span name", rule: Rule{Resource: "GET /users/?"}, span: "GET /users/1",
			attrs: attrs("resource.name", "checkout")},
		{name: "resource.name", rule: Rule{Resource: "check*"}, span: "x", attrs: attrs("resource.name", "checkout"), matches: true},
		{name: "all criteria", rule: Rule{Service: "s", Name: "n", Resource: "r", Tags: map[string]string{"k": "v"}},
			span: "r", attrs: attrs("service.name", "s", "operation.name", "n", "k", "v"), matches: true},
		{name: "all criteria, one off", rule: Rule{Service: "s", Name: "n", Resource: "r", Tags: map[string]string{"k": "v"}},
			span: "r", attrs: attrs("service.name", "s", "operation.name", "n", "k", "w")},
		{name: "string tag", rule: tagRule("customer.tier", "gold"), attrs: attrs("customer.tier", "GOLD"), matches: true},
		{name: "missing tag", rule: tagRule("customer.tier", "gold")},
		{name: "missing tag, pattern *", rule: tagRule("customer.tier", "*"), matches: true},
		{name: "missing tag, pattern **", rule: tagRule("customer.tier", "**")},
		{name: "bool tag", rule: tagRule("retry", "true"), attrs: []attribute.KeyValue{attribute.Bool("retry", true)}, matches: true},
		{name: "int tag", rule: tagRule("count", "4?"), attrs: []attribute.KeyValue{attribute.Int("count", 42)}, matches: true},
		{name: "negative int tag", rule: tagRule("count", "-4?"), attrs: []attribute.KeyValue{attribute.Int("count", -42)}, matches: true},
		{name: "huge int tag, shortest form", rule: tagRule("count", "1e+21"), attrs: []attribute.KeyValue{attribute.Float64("count", 1e21)}, matches: true},
		{name: "integral float tag", rule: tagRule("amount", "100"), attrs: []attribute.KeyValue{attribute.Float64("amount", 100)}, matches: true},
		{name: "integral float tag below 1e6", rule: tagRule("amount", "-999999"), attrs: []attribute.KeyValue{attribute.Float64("amount", -999999)}, matches: true},
		{name: "integral float tag of 1e6, shortest form", rule: tagRule("amount", "1e+06"), attrs: []attribute.KeyValue{attribute.Float64("amount", 1e6)}, matches: true},
		{name: "int tag of 1e6, shortest form", rule: tagRule("count", "1e+06"), attrs: []attribute.KeyValue{attribute.Int("count", 1_000_000)}, matches: true},
		{name: "negative zero tag", rule: tagRule("amount", "-0"), attrs: []attribute.KeyValue{attribute.Float64("amount", math.Copysign(0, -1))}, matches: true},
		{name: "fractional float tag never matches", rule: tagRule("amount", "12.5"), attrs: []attribute.KeyValue{attribute.Float64("amount", 12.5)}},
		{name: "fractional float tag, pattern ?*", rule: tagRule("amount", "?*"), attrs: []attribute.KeyValue{attribute.Float64("amount", 12.5)}},
		{name: "infinite float tag", rule: tagRule("amount", "+Inf"), attrs: []attribute.KeyValue{attribute.Float64("amount", math.Inf(1))}, matches: true},
		{name: "NaN tag", rule: tagRule("amount", "NaN"), attrs: []attribute.KeyValue{attribute.Float64("amount", math.NaN())}},
		{name: "slice tag is not matched", rule: tagRule("list", "*a*"), attrs: []attribute.KeyValue{attribute.StringSlice("list", []string{"a"})}},
		{name: "renamed: http.response.status_code", rule: tagRule("http.status_code", "5??"),
			attrs: []attribute.KeyValue{attribute.Int("http.response.status_code", 503)}, matches: true},
		{name: "renamed key not matched by its old name", rule: tagRule("http.response.status_code", "5??"),
			attrs: []attribute.KeyValue{attribute.Int("http.response.status_code", 503)}},
		{name: "status code as text", rule: tagRule("http.status_code", "5??"), attrs: attrs("http.status_code", "503"), matches: true},
		// A float is the metric as ddexport writes it (as the Agent does):
		// integral, it matches; else nothing does.
		{name: "status code as an integral float", rule: tagRule("http.status_code", "503"),
			attrs: []attribute.KeyValue{attribute.Float64("http.status_code", 503)}, matches: true},
		{name: "status code as a float is not truncated", rule: tagRule("http.status_code", "503"),
			attrs: []attribute.KeyValue{attribute.Float64("http.status_code", 503.7)}},
		{name: "meta first, then the metric", rule: tagRule("http.status_code", "5??"),
			attrs: []attribute.KeyValue{attribute.String("http.status_code", "n/a"), attribute.Int("http.response.status_code", 500)}, matches: true},
		{name: "a numeric string is a metric too", rule: tagRule("http.status_code", "200"),
			attrs: attrs("http.response.status_code", "200.0"), matches: true},
		{name: "renamed: http.request.method", rule: tagRule("http.method", "post"), attrs: attrs("http.request.method", "POST"), matches: true},
		{name: "renamed: url.full", rule: tagRule("http.url", "https://*"), attrs: attrs("url.full", "https://x"), matches: true},
		{name: "renamed: server.address", rule: tagRule("http.server_name", "api"), attrs: attrs("server.address", "api"), matches: true},
		{name: "renamed: client.address", rule: tagRule("http.client_ip", "10.*"), attrs: attrs("client.address", "10.0.0.1"), matches: true},
		{name: "renamed: user_agent.original", rule: tagRule("http.useragent", "curl*"), attrs: attrs("user_agent.original", "curl/8"), matches: true},
		{name: "renamed: network.protocol.version", rule: tagRule("http.version", "1.1"), attrs: attrs("network.protocol.version", "1.1"), matches: true},
		{name: "renamed: body sizes", rule: Rule{Tags: map[string]string{"http.request.content_length": "1?", "http.response.content_length": "2?"}},
			attrs: []attribute.KeyValue{attribute.Int("http.request.body.size", 12), attribute.Int("http.response.body.size", 23)}, matches: true},
		{name: "renamed: referrer", rule: tagRule("http.referrer", "x"), attrs: attrs("http.request.header.referrer", "x"), matches: true},
		{name: "renamed: request headers", rule: tagRule("http.request.headers.x-id", "7"), attrs: attrs("http.request.header.x-id", "7"), matches: true},
		{name: "not renamed: response headers", rule: tagRule("http.response.header.x-id", "7"), attrs: attrs("http.response.header.x-id", "7"), matches: true},
		{name: "span.kind", rule: tagRule("span.kind", "client"), kind: trace.SpanKindClient, matches: true},
		{name: "span.kind attribute loses to the kind", rule: tagRule("span.kind", "client"), kind: trace.SpanKindServer, attrs: attrs("span.kind", "client")},
		{name: "env configured", rule: tagRule("env", "prod"), opts: []Option{WithEnv("prod")}, matches: true},
		{name: "env of the span beats the configured one, as exported", rule: tagRule("env", "dev"), opts: []Option{WithEnv("prod")},
			attrs: attrs("deployment.environment.name", "dev"), matches: true},
		{name: "env attribute beats deployment.environment.name", rule: tagRule("env", "a b"),
			attrs: attrs("deployment.environment.name", "dev", "env", "a b"), matches: true},
		{name: "env from the span", rule: tagRule("env", "staging"), attrs: attrs("deployment.environment.name", "Staging"), matches: true},
		{name: "env from the older key", rule: tagRule("env", "qa"), attrs: attrs("deployment.environment", "qa"), matches: true},
		{name: "no env", rule: tagRule("env", "?*")},
		{name: "the naming keys are no tags", rule: tagRule("resource.name", "r"), attrs: attrs("resource.name", "r")},
		{name: "duplicate tag: the last value", rule: tagRule("k", "b"), attrs: attrs("k", "a", "k", "b"), matches: true},
		{name: "duplicate tag: not the first value", rule: tagRule("k", "a"), attrs: attrs("k", "a", "k", "b")},
		{name: "many tag keys", rule: Rule{Tags: manyTags(20)}, attrs: manyAttrs(20), matches: true},
		{name: "many tag keys, the last off", rule: Rule{Tags: manyTags(20)}, attrs: manyAttrs(19)},
	} {
		tc.rule.SampleRate = 1
		s := mustNew(t, append([]Option{WithRules(tc.rule, Rule{SampleRate: 0})}, tc.opts...)...)
		span := tc.span
		if span == "" {
			span = "span"
		}
		// The rule keeps all it matches; the second one drops the rest.
		got := outcomeOf(s.ShouldSample(root(1, span, tc.kind, tc.attrs...)))
		if matched := got.Priority == "2"; matched != tc.matches {
			t.Errorf("%s: matched %t, want %t (outcome %+v)", tc.name, matched, tc.matches, got)
		}
	}
}

func attrs(kv ...string) []attribute.KeyValue {
	var out []attribute.KeyValue
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, attribute.String(kv[i], kv[i+1]))
	}
	return out
}

func tagRule(k, pattern string) Rule {
	return Rule{SampleRate: 1, Tags: map[string]string{k: pattern}}
}

func manyTags(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m["k"+string(rune('a'+i))] = "v*"
	}
	return m
}

func manyAttrs(n int) []attribute.KeyValue {
	var out []attribute.KeyValue
	for i := range n {
		out = append(out, attribute.String("k"+string(rune('a'+i)), "v1"))
	}
	return out
}

// TestRuleUnderLimit sends a burst of roots that a rule keeps: the rate
// limit lets its bucket through (priority 2), drops the others (priority
// -1), and notes its effective rate on each.
func TestRuleUnderLimit(t *testing.T) {
	c := newFakeClock()
	s := mustNew(t, withClock(c.now), WithRules(Rule{SampleRate: 1}), WithRateLimit(3))
	for i := 1; i <= 10; i++ {
		got := outcomeOf(s.ShouldSample(root(uint64(i), "op", trace.SpanKindServer)))
		allowed := min(i, 3)
		eff := float64(allowed) / float64(i)
		want := outcome{Decision: keep, State: "dd=s:2;t.dm:-3;t.ksr:1", Priority: "2", DM: "-3", KSR: "1",
			Attributes: map[string]float64{"_dd.rule_psr": 1, "_dd.limit_psr": eff}}
		if i > 3 {
			want = outcome{Decision: drop, State: "dd=s:-1;t.ksr:1", Priority: "-1", KSR: "1",
				Attributes: map[string]float64{"_dd.rule_psr": 1, "_dd.limit_psr": eff}}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("root %d (-want +got):\n%s", i, diff)
		}
	}
}

// TestLimitOnlyForKeptRoots checks that the limit is consulted only for
// the traces a rule's rate keeps, never for Agent rates.
func TestLimitOnlyForKeptRoots(t *testing.T) {
	s := mustNew(t, WithRules(Rule{Service: "ruled", SampleRate: 0.5}), WithRateLimit(1))
	dropped := lowWith(t, 0.5, false, 0)
	for i := range 5 {
		got := outcomeOf(s.ShouldSample(root(dropped, "op", trace.SpanKindServer, attribute.String("service.name", "ruled"))))
		if _, ok := got.Attributes["_dd.limit_psr"]; ok || got.Priority != "-1" {
			t.Fatalf("root %d dropped by the rate: %+v, want priority -1 without _dd.limit_psr", i, got)
		}
	}
	for i := range 5 {
		if got := outcomeOf(s.ShouldSample(root(uint64(i), "op", trace.SpanKindServer))); got.Priority != "1" {
			t.Fatalf("Agent-rate root %d: %+v, want kept: the limit is not for Agent rates", i, got)
		}
	}
	kept := lowWith(t, 0.5, true, 0)
	if got := outcomeOf(s.ShouldSample(root(kept, "op", trace.SpanKindServer, attribute.String("service.name", "ruled")))); got.Priority != "2" {
		t.Errorf("first root the rule keeps: %+v, want priority 2 (the limit's token unspent)", got)
	}
}

func TestManual(t *testing.T) {
	s := mustNew(t, WithRules(Rule{SampleRate: 0})) // would drop everything
	manualKeep := outcome{Decision: keep, State: "dd=s:2;t.dm:-4", Priority: "2", DM: "-4"}
	manualDrop := outcome{Decision: drop, State: "dd=s:-1", Priority: "-1"}
	for _, tc := range []struct {
		name   string
		parent context.Context
		attr   attribute.KeyValue
		want   outcome
	}{
		{"keep at the root", context.Background(), KeepAttribute(), manualKeep},
		{"drop at the root", context.Background(), DropAttribute(), manualDrop},
		{"priority 1", context.Background(), attribute.Int(PriorityKey, 1), outcome{Decision: keep, State: "dd=s:1;t.dm:-4", Priority: "1", DM: "-4"}},
		{"priority 0", context.Background(), attribute.Int(PriorityKey, 0), outcome{Decision: drop, State: "dd=s:0", Priority: "0"}},
		{"integral float", context.Background(), attribute.Float64(PriorityKey, 2), manualKeep},
		{"huge", context.Background(), attribute.Int64(PriorityKey, math.MaxInt64),
			outcome{Decision: keep, State: "dd=s:2147483647;t.dm:-4", Priority: "2147483647", DM: "-4"}},
		{"fractional float ignored", context.Background(), attribute.Float64(PriorityKey, 1.5), ruleDrop()},
		{"text ignored", context.Background(), attribute.String(PriorityKey, "2"), ruleDrop()},
		{"manual.keep", context.Background(), attribute.Bool("manual.keep", true), manualKeep},
		{"manual.drop", context.Background(), attribute.Bool("manual.drop", true), manualDrop},
		{"manual.keep false ignored", context.Background(), attribute.Bool("manual.keep", false), ruleDrop()},
		{"manual.keep as text ignored", context.Background(), attribute.String("manual.keep", "true"), ruleDrop()},
		{"keep over a remote drop, keeping its fields", remoteParent(t, false, "dd=s:0;o:rum;t.ksr:0.5,x=y"), KeepAttribute(),
			outcome{Decision: keep, State: "dd=s:2;o:rum;t.ksr:0.5;t.dm:-4,x=y", Priority: "2", DM: "-4", KSR: "0.5"}},
		{"drop under a kept parent removes its decision maker", remoteParent(t, true, "dd=s:2;t.dm:-3;t.ksr:1"), DropAttribute(),
			outcome{Decision: drop, State: "dd=s:-1;t.ksr:1", Priority: "-1", KSR: "1"}},
	} {
		p := root(9, "op", trace.SpanKindServer, attribute.String("a", "b"), tc.attr)
		p.ParentContext = tc.parent
		if diff := cmp.Diff(tc.want, outcomeOf(s.ShouldSample(p))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func ruleDrop() outcome {
	return outcome{Decision: drop, State: "dd=s:-1;t.ksr:0", Priority: "-1", KSR: "0", Attributes: map[string]float64{"_dd.rule_psr": 0}}
}

// TestThroughTheSDK runs the sampler in a tracer provider: the local root
// decides, its children inherit the decision and tracestate, a dropped
// trace is still recorded, a manual keep in a child applies from it on,
// and nothing writes OpenTelemetry's ot=th.
func TestThroughTheSDK(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	s := mustNew(t, WithRules(Rule{Name: "kept", SampleRate: 1}, Rule{SampleRate: 0}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("test")

	ctx, r1 := tr.Start(context.Background(), "root", trace.WithAttributes(attribute.String("operation.name", "kept")))
	_, c1 := tr.Start(ctx, "child")
	c1.End()
	r1.End()
	ctx, r2 := tr.Start(context.Background(), "root")
	ctx, c2 := tr.Start(ctx, "child", trace.WithAttributes(KeepAttribute()))
	_, g2 := tr.Start(ctx, "grandchild")
	g2.End()
	c2.End()
	r2.End()

	type rec2 struct {
		Name    string
		Sampled bool
		State   string
	}
	var got []rec2
	for _, sp := range rec.Ended() {
		if strings.Contains(sp.SpanContext().TraceState().String(), "ot=") {
			t.Errorf("%s: ot= in the tracestate", sp.Name())
		}
		got = append(got, rec2{sp.Name(), sp.SpanContext().IsSampled(), sp.SpanContext().TraceState().String()})
	}
	want := []rec2{
		{"child", true, "dd=s:2;t.dm:-3;t.ksr:1"},
		{"root", true, "dd=s:2;t.dm:-3;t.ksr:1"},
		{"grandchild", true, "dd=s:2;t.ksr:0;t.dm:-4"},
		{"child", true, "dd=s:2;t.ksr:0;t.dm:-4"},
		{"root", false, "dd=s:-1;t.ksr:0"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"sample rate above 1", []Option{WithSampleRate(1.5)}, "ddsample: sample rate 1.5 is not between 0 and 1"},
		{"negative sample rate", []Option{WithSampleRate(-0.1)}, "ddsample: sample rate -0.1 is not between 0 and 1"},
		{"NaN sample rate", []Option{WithSampleRate(math.NaN())}, "ddsample: sample rate NaN is not between 0 and 1"},
		{"negative rate limit", []Option{WithRateLimit(-1)}, "ddsample: rate limit -1 is negative or not a number"},
		{"NaN rate limit", []Option{WithRateLimit(math.NaN())}, "ddsample: rate limit NaN is negative or not a number"},
		{"rule rate", []Option{WithRules(Rule{SampleRate: 1}, Rule{SampleRate: 2})}, "ddsample: rule 1: sample rate 2 is not between 0 and 1"},
		{"provenance", []Option{WithRules(Rule{SampleRate: 1, Provenance: 7})}, "ddsample: rule 0: unknown Provenance(7)"},
		{"span rule rate", []Option{WithSpanRules(SpanRule{SampleRate: -1})}, "ddsample: span rule 0: sample rate -1 is not between 0 and 1"},
		{"span rule limit", []Option{WithSpanRules(SpanRule{SampleRate: 1, MaxPerSecond: math.NaN()})}, "ddsample: span rule 0: max_per_second is not a number"},
	} {
		s, err := New(tc.opts...)
		if err == nil || err.Error() != tc.want || s != nil {
			t.Errorf("%s: New = %v, %v; want nil, %q", tc.name, s, err, tc.want)
		}
	}
}

func TestDescription(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		want string
	}{
		{nil, "DatadogSampler{rules=0,rate_limit=100}"},
		{[]Option{WithRules(Rule{}, Rule{}), WithSampleRate(0.5), WithRateLimit(math.Inf(1))}, "DatadogSampler{rules=2,sample_rate=0.5,rate_limit=+Inf}"},
	} {
		if got := mustNew(t, tc.opts...).Description(); got != tc.want {
			t.Errorf("Description = %q, want %q", got, tc.want)
		}
	}
}

// TestConcurrentUse shares a sampler among goroutines deciding while the
// Agent's rates change, for the race detector.
func TestConcurrentUse(t *testing.T) {
	s := mustNew(t, WithRules(Rule{Service: "r", SampleRate: 0.5}), WithRateLimit(1000))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			s.UpdateRates(map[string]float64{"service:a,env:": float64(i%10) / 10, "service:,env:": 0.5})
		}
	}()
	rounds := 2000
	results := make(chan int, 4)
	for g := range 4 {
		go func() {
			kept := 0
			for i := range rounds {
				svc := []string{"a", "r", "b"}[i%3]
				if s.ShouldSample(root(uint64(g*rounds+i), "op", trace.SpanKindServer, attribute.String("service.name", svc))).Decision == keep {
					kept++
				}
			}
			results <- kept
		}()
	}
	for range 4 {
		if n := <-results; n == 0 || n == rounds {
			t.Errorf("%d of %d kept: want some of each", n, rounds)
		}
	}
	<-done
}

// TestManualPriorityOrder: the SDK keeps the last value of a key given
// twice, and of several manual attributes the last given decides.
func TestManualPriorityOrder(t *testing.T) {
	keep, drop := attribute.Bool("manual.keep", true), attribute.Bool("manual.drop", true)
	for _, tc := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int
		ok    bool
	}{
		{"none", attrs("a", "b"), 0, false},
		{"keep then drop", []attribute.KeyValue{keep, drop}, UserReject, true},
		{"drop then keep", []attribute.KeyValue{drop, keep}, UserKeep, true},
		{"priority then keep", []attribute.KeyValue{attribute.Int(PriorityKey, 1), keep}, UserKeep, true},
		{"keep then priority", []attribute.KeyValue{keep, attribute.Int(PriorityKey, 1)}, 1, true},
		{"keep overridden by false", []attribute.KeyValue{keep, attribute.Bool("manual.keep", false)}, 0, false},
		{"drop overridden by false, keep before", []attribute.KeyValue{keep, drop, attribute.Bool("manual.drop", false)}, UserKeep, true},
		{"fractional priority after drop", []attribute.KeyValue{drop, attribute.Float64(PriorityKey, 0.5)}, UserReject, true},
	} {
		p, ok := manualPriority(tc.attrs)
		if p != tc.want || ok != tc.ok {
			t.Errorf("%s: manualPriority = %d, %t; want %d, %t", tc.name, p, ok, tc.want, tc.ok)
		}
	}
}
