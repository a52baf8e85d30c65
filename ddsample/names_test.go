package ddsample

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/seed03c8c003/ddslog/internal/ddname"
)

// startCase is a span as a sampler sees it at start.
type startCase struct {
	name  string
	kind  trace.SpanKind
	attrs []attribute.KeyValue
}

// exportStarts sends each span, started and ended with nothing more, through
// ddexport (configured with service and env) to ddtest's Agent, and returns
// the spans as the Agent decoded them, in order.
func exportStarts(t *testing.T, service, env string, cases []startCase) []ddtest.Span {
	t.Helper()
	agent := ddtest.New(t)
	exp, err := ddexport.New(ddexport.WithAgentURL(agent.URL()), ddexport.WithContainerID(""),
		ddexport.WithService(service), ddexport.WithEnv(env), ddexport.WithVersion(""), ddexport.WithTags(nil))
	if err != nil {
		t.Fatal(err)
	}
	// No service.name in the resource: the sampler does not see it.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.Empty()))
	defer func() {
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	tr := tp.Tracer("names")
	for _, c := range cases {
		_, span := tr.Start(context.Background(), c.name, trace.WithSpanKind(c.kind), trace.WithAttributes(c.attrs...))
		span.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*timeScale)
	defer cancel()
	spans, err := agent.WaitSpans(ctx, len(cases))
	if err != nil {
		t.Fatal(err)
	}
	return spans
}

// TestNamesAsExported checks the sampler's names against what ddexport
// writes for the same spans: service, operation name, resource and env,
// from operation.name, resource.name, the span name and kind, and the
// semantic conventions of conventionCases; and against ddname.FromStart,
// which datadogNames is without its allocation.
func TestNamesAsExported(t *testing.T) {
	opNames := []string{
		"web.request", "Web.Request", "HTTP GET", "a  b", "trailing!!", "__lead", "ünïcödé.op", "ΣΊΣΥΦΟΣ", "İstanbul",
		"ſ", "a\xffb", "x\u212ay", "日本語", "tab\there", "dots...and--dashes", "a:b/c", "_", "!!!", "1.2.3",
		strings.Repeat("Ab-", 80), strings.Repeat("é", 150), strings.Repeat("!a", 250), strings.Repeat("日", 220),
	}
	var cases []startCase
	for _, op := range opNames {
		cases = append(cases, startCase{"span", trace.SpanKindServer, []attribute.KeyValue{attribute.String("operation.name", op)}})
	}
	for _, k := range []trace.SpanKind{trace.SpanKindUnspecified, trace.SpanKindInternal, trace.SpanKindServer,
		trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer} {
		cases = append(cases, startCase{"GET /users/" + k.String(), k, nil})
	}
	cases = append(cases,
		startCase{"span", 0, []attribute.KeyValue{attribute.String("resource.name", "checkout")}},
		startCase{strings.Repeat("r", 6000), 0, nil},
		startCase{"span", 0, []attribute.KeyValue{attribute.String("service.name", "own")}},
		startCase{"span", 0, []attribute.KeyValue{attribute.String("service.name", "unknown_service:x")}},
		startCase{"span", 0, []attribute.KeyValue{attribute.String("deployment.environment.name", "Staging Env")}},
		startCase{"span", 0, []attribute.KeyValue{attribute.String("deployment.environment", "QA")}},
		startCase{"span", 0, []attribute.KeyValue{attribute.String("deployment.environment.name", "a"), attribute.String("deployment.environment", "b")}},
	)
	cases = append(cases, conventionCases()...)
	for _, cfg := range []struct{ service, env string }{{"configured", ""}, {"", ""}, {"configured", "Prod Env"}} {
		wire := exportStarts(t, cfg.service, cfg.env, cases)
		for i, c := range cases {
			kind := trace.ValidateSpanKind(c.kind)
			var sc nameScratch
			n := datadogNames(c.attrs, kind, c.name, cfg.service, cfg.env, true, &sc)
			got := [4]string{n.service, n.name, n.resource, n.env}
			want := [4]string{wire[i].Service, wire[i].Name, wire[i].Resource, wire[i].Meta["env"]}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("configured service %q, env %q, span %.40q %.80v: service, name, resource, env as exported (-) and as the sampler sees them (+):\n%s",
					cfg.service, cfg.env, c.name, c.attrs, diff)
			}
			fs := ddname.FromStart(c.attrs, kind, c.name, cfg.service)
			if diff := cmp.Diff([3]string{fs.Service, fs.Operation, fs.Resource}, [3]string(got[:3])); diff != "" {
				t.Errorf("configured service %q, span %.40q %.80v: ddname.FromStart (-) and datadogNames (+):\n%s", cfg.service, c.name, c.attrs, diff)
			}
		}
	}
}

// conventionCases are spans named by the semantic conventions ddexport
// follows: HTTP, databases, messaging, RPC, FaaS, GraphQL, generic
// protocols, with the attributes that override them, values that are not
// strings, duplicate keys, and names long enough to be cut.
func conventionCases() []startCase {
	s, i, b := attribute.String, attribute.Int, attribute.Bool
	kv := func(kvs ...attribute.KeyValue) []attribute.KeyValue { return kvs }
	server, client, producer, consumer, internal := trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer, trace.SpanKindInternal
	return []startCase{
		// HTTP.
		{"GET /users/{id}", server, kv(s("http.request.method", "GET"), s("http.route", "/users/{id}"))},
		{"handler", server, kv(s("http.method", "POST"), s("http.route", "/orders"))},
		{"handler", server, kv(s("http.request.method", "GET"))},
		{"handler", server, kv(s("http.request.method", "_OTHER"), s("http.route", "/x"))},
		{"handler", server, kv(s("http.request.method", ""), s("http.method", "PUT"), s("http.route", "/y"))},
		{"fetch", client, kv(s("http.request.method", "GET"), s("url.template", "/users/{id}"), s("url.full", "http://u/users/7"))},
		{"fetch", client, kv(s("http.request.method", "DELETE"), s("http.route", "/not/for/clients"))},
		{"fetch", internal, kv(s("http.request.method", "GET"), s("http.route", "/r"))},
		{"fetch", producer, kv(s("http.request.method", "GET"))},
		{"long", server, kv(s("http.request.method", "GET"), s("http.route", "/"+strings.Repeat("segment/", 700)))},
		// Databases.
		{"SELECT users", client, kv(s("db.system.name", "postgresql"), s("db.query.text", "SELECT * FROM users WHERE id = $1"))},
		{"query", client, kv(s("db.system", "MySQL"), s("db.statement", "SELECT 1"))},
		{"query", client, kv(s("db.system.name", "redis"), s("db.system", "ignored"))},
		{"query", client, kv(s("db.system", "mongodb"), s("db.query.text", "q"), s("db.statement", "st"))},
		{"query", server, kv(s("db.system.name", "postgresql"), s("db.query.text", "SELECT 2"))},
		{"query", internal, kv(s("db.system.name", "postgresql"))},
		{"query", client, kv(b("db.system.name", true))},
		{"query", client, kv(s("db.system.name", "Weird DB!"), s("db.query.text", strings.Repeat("x", 6000)))},
		// Messaging.
		{"send", producer, kv(s("messaging.system", "kafka"), s("messaging.operation", "publish"), s("messaging.destination.name", "orders"))},
		{"recv", consumer, kv(s("messaging.system", "rabbitmq"), s("messaging.operation", "receive"), s("messaging.destination", "jobs"))},
		{"recv", consumer, kv(s("messaging.system", "kafka"), s("messaging.operation", "process"))},
		{"recv", internal, kv(s("messaging.system", "kafka"), s("messaging.operation", "process"), s("messaging.destination.name", "q"))},
		{"recv", consumer, kv(s("messaging.system", "kafka"), s("messaging.operation.type", "process"))},
		{"recv", client, kv(s("messaging.system", "SQS"), s("messaging.operation", "Receive Message"), s("messaging.destination.name", "q"))},
		// RPC.
		{"rpc", server, kv(s("rpc.system", "grpc"), s("rpc.service", "shop.Cart"), s("rpc.method", "Get"))},
		{"rpc", client, kv(s("rpc.system", "grpc"), s("rpc.service", "shop.Cart"), s("rpc.method", "Put"))},
		{"rpc", client, kv(s("rpc.system", "aws-api"), s("rpc.service", "S3"), s("rpc.method", "GetObject"))},
		{"rpc", client, kv(s("rpc.system", "aws-api"), s("rpc.method", "GetObject"))},
		{"rpc", server, kv(s("rpc.system", "aws-api"), s("rpc.service", "S3"))},
		{"rpc", internal, kv(s("rpc.system", "grpc"), s("rpc.method", "M"))},
		{"rpc", client, kv(s("rpc.system", strings.Repeat("sys", 60)), s("rpc.method", "M"), s("rpc.service", strings.Repeat("S", 80)))},
		// FaaS, GraphQL, generic protocols.
		{"invoke", client, kv(s("faas.invoked_provider", "aws"), s("faas.invoked_name", "fraud-check"))},
		{"invoke", client, kv(s("faas.invoked_provider", "aws"))},
		{"trigger", server, kv(s("faas.trigger", "http"))},
		{"trigger", server, kv(s("faas.trigger", "pubsub"), s("http.request.method", "POST"))},
		{"gql", server, kv(s("graphql.operation.type", "query"), s("graphql.operation.name", "GetUser"))},
		{"gql", client, kv(s("graphql.operation.type", "mutation"))},
		{"proto", server, kv(s("network.protocol.name", "amqp"))},
		{"proto", client, kv(s("network.protocol.name", "AMQP"))},
		{"proto", producer, kv(s("network.protocol.name", "amqp"))},
		// Overrides, value types, duplicates.
		{"GET /x", server, kv(s("http.request.method", "GET"), s("operation.name", "Custom Op"), s("resource.name", "custom res"))},
		{"GET /x", server, kv(s("http.request.method", "GET"), s("operation.name", ""), s("resource.name", ""))},
		{"op", server, kv(i("operation.name", 7), i("resource.name", 8))},
		{"op", client, kv(s("db.system.name", "redis"), s("db.system.name", "postgresql"), s("db.query.text", "a"), s("db.query.text", "b"))},
		{"op", server, kv(s("service.name", "own"), s("http.request.method", "GET"), s("span.type", "worker"))},
		{"op", server, kv(s("service.name", ""), s("http.request.method", "GET"))},
		{"op", client, kv(i("http.request.method", 5), s("url.template", "/t"))},
		// Env as the exporter writes it: the span's own attributes first.
		{"env", internal, kv(s("env", "Span Env"))},
		{"env", internal, kv(b("env", true))},
		{"env", internal, kv(i("env", 3), s("deployment.environment.name", "dep"))},
		{"env", internal, kv(s("env", "a"), s("deployment.environment.name", "dep"))},
		{"env", internal, kv(i("deployment.environment.name", 42))},
		{"env", internal, kv(s("deployment.environment.name", ""), s("deployment.environment", "Old"))},
		{"env", internal, kv(s("deployment.environment.name", "x"), s("deployment.environment.name", "Last"))},
	}
}

// TestTagsAsExported checks the tag values rules match against the meta
// and metrics ddexport writes for the same start attributes.
func TestTagsAsExported(t *testing.T) {
	type tagCase struct {
		attrs []attribute.KeyValue
		keys  []string // Datadog keys to compare
	}
	tagCases := []tagCase{
		{[]attribute.KeyValue{attribute.String("customer.tier", "gold"), attribute.Bool("retry", true), attribute.Bool("cached", false)},
			[]string{"customer.tier", "retry", "cached"}},
		{[]attribute.KeyValue{attribute.Int("count", 42), attribute.Float64("amount", 12.5), attribute.Float64("big", 1e21), attribute.Int64("min", math.MinInt64)},
			[]string{"count", "amount", "big", "min"}},
		{[]attribute.KeyValue{attribute.Int("http.response.status_code", 503)}, []string{"http.status_code", "http.response.status_code"}},
		{[]attribute.KeyValue{attribute.String("http.status_code", "404")}, []string{"http.status_code"}},
		{[]attribute.KeyValue{attribute.String("http.response.status_code", "200.0")}, []string{"http.status_code"}},
		{[]attribute.KeyValue{attribute.Float64("http.status_code", 503.7)}, []string{"http.status_code"}},
		{[]attribute.KeyValue{attribute.Int("http.status_code", -5)}, []string{"http.status_code"}},
		{[]attribute.KeyValue{attribute.String("http.status_code", "n/a"), attribute.Int("http.response.status_code", 500)}, []string{"http.status_code"}},
		{[]attribute.KeyValue{attribute.String("http.request.method", "POST"), attribute.String("url.full", "https://x/y"),
			attribute.String("server.address", "api"), attribute.String("client.address", "10.0.0.1"),
			attribute.String("user_agent.original", "curl/8"), attribute.String("network.protocol.version", "1.1"),
			attribute.Int("http.request.body.size", 12), attribute.Int("http.response.body.size", 34),
			attribute.String("http.request.header.referrer", "r"), attribute.String("http.request.header.x-id", "7")},
			[]string{"http.method", "http.url", "http.server_name", "http.client_ip", "http.useragent", "http.version",
				"http.request.content_length", "http.response.content_length", "http.referrer", "http.request.headers.x-id",
				"http.request.method", "url.full"}},
		{[]attribute.KeyValue{attribute.String("http.method", "GET"), attribute.String("http.request.method", "PUT")}, []string{"http.method"}},
		{[]attribute.KeyValue{attribute.String("k", "a"), attribute.Int("other", 1), attribute.String("k", "b")}, []string{"k"}},
		{[]attribute.KeyValue{attribute.String("k", "a"), attribute.Int("k", 3)}, []string{"k"}},
		{[]attribute.KeyValue{attribute.String("span.kind", "mine")}, []string{"span.kind"}},
		{[]attribute.KeyValue{attribute.String("deployment.environment.name", "Prod")}, []string{"env"}},
		{[]attribute.KeyValue{attribute.String("sampling.priority", "x"), attribute.String("analytics.event", "true")},
			[]string{"sampling.priority", "analytics.event"}},
		{[]attribute.KeyValue{attribute.Int("sampling.priority", 2), attribute.Int("analytics.event", 1)},
			[]string{"sampling.priority", "analytics.event"}},
	}
	var cases []startCase
	for _, tc := range tagCases {
		cases = append(cases, startCase{"span", trace.SpanKindClient, tc.attrs})
	}
	wire := exportStarts(t, "svc", "", cases)
	for i, tc := range tagCases {
		for _, k := range tc.keys {
			var keys []*tagKey
			key := keyOf(&keys, k)
			var sc nameScratch
			names := datadogNames(tc.attrs, trace.SpanKindClient, "span", "svc", "", false, &sc)
			s := &rootSpan{names: names, slots: &sc.slots, kind: trace.SpanKindClient, attrs: tc.attrs, keys: newKeyTable(keys)}
			got := lookupTag(s, key)
			var want tagValue
			want.meta, want.hasMeta = wire[i].Meta[k]
			want.metric, want.hasMetric = wire[i].Metrics[k]
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tagValue{})); diff != "" {
				t.Errorf("attributes %v, tag %s: exported (-) and as the sampler sees it (+):\n%s", tc.attrs, k, diff)
			}
		}
	}
}

// timeScale bounds waits for the fake Agent; generous for slow machines.
const timeScale = 1_000_000_000 // a second, as a time.Duration

// TestAgentRateOfTheNormalizedEnv checks that the Agent's rate is looked up
// by the env the Agent keys it by: the exported env normalized (the Agent
// normalizes a payload's env before it computes and names rates).
func TestAgentRateOfTheNormalizedEnv(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []Option
		attrs []attribute.KeyValue
	}{
		{"configured", []Option{WithEnv("Prod Env")}, nil},
		{"env attribute", nil, []attribute.KeyValue{attribute.String("env", "Prod Env")}},
		{"deployment.environment.name", nil, []attribute.KeyValue{attribute.String("deployment.environment.name", "PROD env")}},
	} {
		s := mustNew(t, append([]Option{WithService("svc")}, tc.opts...)...)
		s.UpdateRates(map[string]float64{"service:svc,env:prod_env": 0, "service:,env:": 1})
		got := outcomeOf(s.ShouldSample(root(lowWith(t, 1, true, 1), "span", trace.SpanKindServer, tc.attrs...)))
		if got.Priority != "0" || got.Attributes[agentRateKey] != 0 {
			t.Errorf("%s: outcome %+v, want priority 0 by the rate 0 of env prod_env", tc.name, got)
		}
	}
}
