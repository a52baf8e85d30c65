package ddsample

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
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
// writes for the same spans: service, operation name and resource for the
// spans whose names the sampler computes (from operation.name,
// resource.name, the span name and the kind), and env.
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
	for _, cfg := range []struct{ service, env string }{{"configured", ""}, {"", ""}} {
		wire := exportStarts(t, cfg.service, cfg.env, cases)
		for i, c := range cases {
			kind := trace.ValidateSpanKind(c.kind)
			n := datadogNames(c.attrs, kind, c.name, cfg.service)
			got := [4]string{n.service, n.name, n.resource, spanEnv(c.attrs, cfg.env)}
			want := [4]string{wire[i].Service, wire[i].Name, wire[i].Resource, wire[i].Meta["env"]}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("configured service %q, span %.40q %.80v: service, name, resource, env as exported (-) and as the sampler sees them (+):\n%s",
					cfg.service, c.name, c.attrs, diff)
			}
		}
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
			s := &rootSpan{kind: trace.SpanKindClient, attrs: tc.attrs, env: spanEnv(tc.attrs, ""), keys: newKeyTable(keys)}
			var got tagValue
			lookupTag(s, key, &got)
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

func TestNormalizeTagValueFastPath(t *testing.T) {
	for _, s := range []string{"", "a", "web.request", "a_b", "_a", "a:b/c-d.e", "123"} {
		if got := normalizeTagValue(s); got != s {
			t.Errorf("normalizeTagValue(%q) = %q, want it unchanged", s, got)
		}
	}
	for _, s := range []string{"A", "a b", "a_", "__a", "a__b", strconv.Itoa(1) + strings.Repeat("x", 200)} {
		if isNormalTagValue(s) {
			t.Errorf("%q taken as normal", s)
		}
	}
}
