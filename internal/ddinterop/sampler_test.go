package ddinterop_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"
	"github.com/DataDog/dd-trace-go/v2/ddtrace/x/agenttest"
	"github.com/DataDog/dd-trace-go/v2/ddtrace/x/tracertest"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddprop"
	"github.com/seed03c8c003/ddslog/ddsample"
)

// samplingRules are realistic rules (eleven) touching every criterion: globs with
// "*" and "?", case, tags as meta and as metrics, provenances, a rate as a
// JSON string, and a trace rule's max_per_second (which the global limit
// overrides in both tracers).
const samplingRules = `[
 {"service":"svc-a","name":"http.*","resource":"GET /users*","sample_rate":0.25},
 {"service":"svc-?","tags":{"http.status_code":"5??"},"sample_rate":0.9},
 {"tags":{"customer.tier":"gold"},"sample_rate":1},
 {"service":"svc-b","name":"db.query","sample_rate":0.5,"provenance":"customer"},
 {"service":"other","resource":"/health","sample_rate":0},
 {"resource":"POST *","tags":{"http.method":"post"},"sample_rate":0.6,"provenance":" Dynamic"},
 {"name":"internal","tags":{"retry":"true"},"sample_rate":0.35},
 {"tags":{"amount":"1??"},"sample_rate":0.45},
 {"service":"SVC-C","resource":"?ELECT*","sample_rate":"0.15"},
 {"tags":{"env":"prod","span.kind":"server","region":"eu-*"},"sample_rate":0.7,"max_per_second":5},
 {"service":"svc-default","name":"worker.*","sample_rate":0.05}
]`

// agentRates is the Agent's answer in the test that leaves unmatched
// traces to the Agent's rates.
var agentRates = map[string]float64{
	"service:svc-a,env:prod":       0.3,
	"service:svc-b,env:prod":       0.8,
	"service:svc-default,env:prod": 0.15,
	"service:,env:":                0.6,
}

// decided is a sampling decision as both tracers record it: the priority
// and decision maker, and the rates noted on the root.
type decided struct {
	Priority int
	DM       string // _dd.p.dm, "" when not carried
	KSR      string // _dd.p.ksr
	RulePSR  string // _dd.rule_psr, "" when absent
	AgentPSR string // _dd.agent_psr
	LimitPSR string // _dd.limit_psr
}

// samplingCase is one trace arriving as Datadog headers without a
// decision, and the local root started under it, in both tracers' terms.
type samplingCase struct {
	headers  map[string]string
	low      uint64
	service  string // "" for the configured one
	name     string // the Datadog operation name
	kind     trace.SpanKind
	resource string // the Datadog resource
	spanName string // the OpenTelemetry span name
	useResKy bool   // spanName given as resource.name too
	dd       []tracer.StartSpanOption
	otel     []attribute.KeyValue
}

func samplingCases(n int, seed uint64) []samplingCase {
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	services := []string{"svc-a", "svc-b", "svc-c", "svc-default", "other", "", "SVC-A"}
	names := []string{"http.request", "web.request", "db.query", "grpc.client", "worker.run", "worker.loop", "custom.op"}
	kindNames := map[trace.SpanKind]string{
		trace.SpanKindInternal: "Internal", trace.SpanKindServer: "server.request", trace.SpanKindClient: "client.request",
		trace.SpanKindProducer: "Producer", trace.SpanKindConsumer: "Consumer",
	}
	kinds := []trace.SpanKind{trace.SpanKindInternal, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer}
	resources := []string{"GET /users", "GET /users/:id", "POST /orders", "SELECT * FROM t", "select 1", "/health", "worker"}
	tiers := []string{"gold", "silver", "Gold", "bronze"}
	regions := []string{"eu-west-1", "EU-central", "us-east-1", "eu"}
	pick := func(s []string) string { return s[rnd.IntN(len(s))] }

	out := make([]samplingCase, n)
	for i := range out {
		c := &out[i]
		c.low = rnd.Uint64()
		c.headers = map[string]string{
			"x-datadog-trace-id":  strconv.FormatUint(c.low, 10),
			"x-datadog-parent-id": strconv.FormatUint(rnd.Uint64()|1, 10),
		}
		switch rnd.IntN(4) {
		case 0: // 128-bit
			c.headers["x-datadog-tags"] = fmt.Sprintf("_dd.p.tid=%016x", rnd.Uint64()|1)
		case 1: // propagated tags and an origin: a dd= member to update
			c.headers["x-datadog-tags"] = "_dd.p.usr.id=dXNlcg==,_dd.p.team=apm"
			c.headers["x-datadog-origin"] = "synthetics"
		}
		c.kind = kinds[rnd.IntN(len(kinds))]
		useOpKey := rnd.IntN(3) > 0
		opName := pick(names)
		c.spanName, c.useResKy = pick(resources), rnd.IntN(2) == 0
		c.service = pick(services)

		if c.service != "" {
			c.dd = append(c.dd, tracer.ServiceName(c.service))
			c.otel = append(c.otel, attribute.String("service.name", c.service))
		}
		if useOpKey {
			c.otel = append(c.otel, attribute.String("operation.name", opName))
		}
		if c.useResKy {
			c.otel = append(c.otel, attribute.String("resource.name", c.spanName))
		}
		tag := func(ddKey string, ddValue any, kv attribute.KeyValue) {
			c.dd = append(c.dd, tracer.Tag(ddKey, ddValue))
			c.otel = append(c.otel, kv)
		}
		if rnd.IntN(2) == 0 {
			code := []int{200, 201, 404, 500, 503, 599, 600}[rnd.IntN(7)]
			if rnd.IntN(2) == 0 {
				tag("http.status_code", code, attribute.Int("http.response.status_code", code))
			} else {
				tag("http.status_code", strconv.Itoa(code), attribute.String("http.status_code", strconv.Itoa(code)))
			}
		}
		var method, route string
		if rnd.IntN(2) == 0 {
			method = []string{"GET", "POST", "post", "PUT"}[rnd.IntN(4)]
			tag("http.method", method, attribute.String("http.request.method", method))
			if c.kind == trace.SpanKindServer && rnd.IntN(2) == 0 {
				route = []string{"/users/:id", "/orders", "/health"}[rnd.IntN(3)]
				tag("http.route", route, attribute.String("http.route", route))
			}
		}
		if rnd.IntN(2) == 0 {
			t := pick(tiers)
			tag("customer.tier", t, attribute.String("customer.tier", t))
		}
		if rnd.IntN(2) == 0 {
			b := rnd.IntN(2) == 0
			tag("retry", b, attribute.Bool("retry", b))
		}
		if rnd.IntN(2) == 0 {
			a := []float64{100, 150, 199, 12.5, 100.5, 1000}[rnd.IntN(6)]
			tag("amount", a, attribute.Float64("amount", a))
		}
		if rnd.IntN(2) == 0 {
			r := pick(regions)
			tag("region", r, attribute.String("region", r))
		}
		// The names ddexport gives the OpenTelemetry span, which the
		// Datadog span is given outright: an HTTP server or client is
		// named by its convention, and an HTTP method (with a server's
		// route) beats the span name as the resource.
		switch {
		case useOpKey:
			c.name = opName
		case method != "" && c.kind == trace.SpanKindServer:
			c.name = "http.server.request"
		case method != "" && c.kind == trace.SpanKindClient:
			c.name = "http.client.request"
		default:
			c.name = kindNames[c.kind]
		}
		switch {
		case c.useResKy || method == "":
			c.resource = c.spanName
		case route != "":
			c.resource = method + " " + route
		default:
			c.resource = method
		}
		c.dd = append(c.dd, tracer.ResourceName(c.resource), tracer.Tag("span.kind", strings.ToLower(c.kind.String())))
	}
	return out
}

// TestSamplerAgainstDDTraceGo runs dd-trace-go's own tracer and ddsample
// under the same DD_* configuration on thousands of traces arriving as
// Datadog headers without a decision, and requires the same decision for
// every trace: priority, decision maker, _dd.p.ksr and the rates noted on
// the root. dd-trace-go's tracer talks to its in-process fake Agent only
// (no network); its rate limit is set out of the way, since its clock is
// the wall clock.
func TestSamplerAgainstDDTraceGo(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sampleRate string
		rates      map[string]float64
		ddTags     string // DD_TAGS; its service and env stand in for DD_SERVICE and DD_ENV
	}{
		{"rules then DD_TRACE_SAMPLE_RATE", "0.4", nil, ""},
		{"rules then the Agent's rates", "", agentRates, ""},
		{"rules then the Agent's default", "", map[string]float64{}, ""},
		{"service and env from DD_TAGS", "", agentRates, "service:svc-default,env:prod,team:apm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range map[string]string{
				"DD_TRACE_SAMPLING_RULES":              samplingRules,
				"DD_TRACE_SAMPLING_RULES_FILE":         "",
				"DD_TRACE_SAMPLE_RATE":                 tc.sampleRate,
				"DD_TRACE_RATE_LIMIT":                  "1e9",
				"DD_SPAN_SAMPLING_RULES":               "",
				"DD_SERVICE":                           "svc-default",
				"DD_ENV":                               "prod",
				"DD_VERSION":                           "",
				"DD_TAGS":                              tc.ddTags,
				"DD_TRACE_PROPAGATION_STYLE":           "datadog",
				"DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
				"DD_REMOTE_CONFIGURATION_ENABLED":      "false",
				"DD_TRACE_STARTUP_LOGS":                "false",
				"DD_RUNTIME_METRICS_ENABLED":           "false",
				"DD_TRACE_STATS_COMPUTATION_ENABLED":   "false",
			} {
				t.Setenv(k, v)
			}
			if tc.ddTags != "" {
				t.Setenv("DD_SERVICE", "")
				t.Setenv("DD_ENV", "")
			}
			cases := samplingCases(6000, uint64(len(tc.name)))
			theirs := decideDDTraceGo(t, cases, tc.rates)
			ours := decideDDSample(t, cases, tc.rates)

			diffs, kinds := 0, map[string]int{}
			for i, c := range cases {
				want, ok := theirs[c.low]
				if !ok {
					t.Fatalf("case %d: dd-trace-go sent no span for trace %d", i, c.low)
				}
				kinds[fmt.Sprintf("priority %d, dm %q", want.Priority, want.DM)]++
				if diff := cmp.Diff(want, ours[i]); diff != "" {
					if diffs++; diffs <= 10 {
						t.Errorf("case %d (service %q, name %q, resource %q, tags %v): dd-trace-go (-) and ddsample (+) differ:\n%s",
							i, c.service, c.name, c.resource, c.otel, diff)
					}
				}
			}
			if diffs > 0 {
				t.Errorf("%d of %d decisions differ", diffs, len(cases))
			}
			// The corpus must reach every mechanism, or agreement proves little.
			t.Logf("decisions: %v", kinds)
			for _, want := range wantKinds(tc.sampleRate != "", tc.rates) {
				if kinds[want] == 0 {
					t.Errorf("no decision %q in the corpus", want)
				}
			}
		})
	}
}

func wantKinds(sampleRate bool, rates map[string]float64) []string {
	want := []string{`priority 2, dm "-3"`, `priority -1, dm ""`, `priority 2, dm "-11"`, `priority 2, dm "-12"`}
	if sampleRate {
		return want
	}
	if len(rates) > 0 {
		return append(want, `priority 1, dm "-1"`, `priority 0, dm ""`)
	}
	return append(want, `priority 1, dm "-1"`)
}

// decideDDTraceGo runs the cases through dd-trace-go's tracer, extracting
// the headers with its own propagator, and returns its decisions by trace
// ID as its fake Agent received them.
func decideDDTraceGo(t *testing.T, cases []samplingCase, rates map[string]float64) map[uint64]decided {
	t.Helper()
	// The global tracer: finished spans reach the tracer through it.
	tr, agent, err := tracertest.Bootstrap(t)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range rates {
		agent.Info().Rates[k] = v
	}
	// A first payload, so that the Agent's rates are in before the
	// comparison starts (and do not change: later answers are the same).
	tr.StartSpan("warm.up").Finish()
	tr.Flush()
	for i, c := range cases {
		if i%500 == 499 {
			tr.Flush() // the tracer drops chunks beyond 1000 queued
		}
		sc, err := tr.Extract(tracer.TextMapCarrier(c.headers))
		if err != nil {
			t.Fatalf("extract %v: %v", c.headers, err)
		}
		if _, ok := sc.SamplingPriority(); ok {
			t.Fatalf("headers %v carry a decision", c.headers)
		}
		// The extracted context as the parent, as integrations set it.
		parent := func(cfg *tracer.StartSpanConfig) { cfg.Parent = sc }
		tr.StartSpan(c.name, append([]tracer.StartSpanOption{parent}, c.dd...)...).Finish()
	}
	tr.Flush()
	out := make(map[uint64]decided, len(cases))
	for _, s := range agent.(agenttest.SpanLister).Spans() {
		if s.Operation == "warm.up" {
			continue
		}
		d := decided{
			Priority: int(s.Metrics["_sampling_priority_v1"]),
			DM:       s.Meta["_dd.p.dm"],
			KSR:      s.Meta["_dd.p.ksr"],
			RulePSR:  metric(s.Metrics, "_dd.rule_psr"),
			AgentPSR: metric(s.Metrics, "_dd.agent_psr"),
			LimitPSR: metric(s.Metrics, "_dd.limit_psr"),
		}
		if _, dup := out[s.TraceID]; dup {
			t.Fatalf("two spans of trace %d", s.TraceID)
		}
		out[s.TraceID] = d
	}
	return out
}

func metric(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// decideDDSample runs the cases through the OpenTelemetry SDK with the
// sampler FromEnv builds, extracting the headers with ddprop, and returns
// its decisions in case order, read from what the sampler set on each span.
func decideDDSample(t *testing.T, cases []samplingCase, rates map[string]float64) []decided {
	t.Helper()
	s, err := ddsample.FromEnv(os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if rates != nil {
		s.UpdateRates(rates)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("ddinterop")
	out := make([]decided, len(cases))
	for i, c := range cases {
		ctx := ddprop.Datadog{}.Extract(context.Background(), propagation.MapCarrier(c.headers))
		if !trace.SpanContextFromContext(ctx).IsValid() {
			t.Fatalf("ddprop extracted nothing from %v", c.headers)
		}
		spanName := c.spanName
		if c.useResKy {
			spanName = "span-name-unused"
		}
		_, span := tracer.Start(ctx, spanName, trace.WithSpanKind(c.kind), trace.WithAttributes(c.otel...))
		span.End()
		ended := rec.Ended()
		ro := ended[len(ended)-1]
		sc := ro.SpanContext()
		if tid := sc.TraceID(); binary.BigEndian.Uint64(tid[8:]) != c.low {
			t.Fatalf("case %d: trace ID %s, want low bits %d", i, tid, c.low)
		}
		st, _ := ddprop.ParseState(sc.TraceState())
		if !st.HasPriority || (st.Priority > 0) != sc.IsSampled() {
			t.Fatalf("case %d: priority %d (carried: %t) and sampled flag %t disagree", i, st.Priority, st.HasPriority, sc.IsSampled())
		}
		d := decided{Priority: st.Priority}
		d.DM, _ = st.Tag("_dd.p.dm")
		d.KSR, _ = st.Tag("_dd.p.ksr")
		for _, kv := range ro.Attributes() {
			f := strconv.FormatFloat(kv.Value.AsFloat64(), 'g', -1, 64)
			switch kv.Key {
			case "_dd.rule_psr":
				d.RulePSR = f
			case "_dd.agent_psr":
				d.AgentPSR = f
			case "_dd.limit_psr":
				d.LimitPSR = f
			}
		}
		out[i] = d
	}
	return out
}

// TestManualAttributesAgainstDDTraceGo gives local roots dd-trace-go's manual
// keep and drop tags (manual.keep, manual.drop) at their start, as the
// attributes of the same name, among traces the rules, DD_TRACE_SAMPLE_RATE
// or the Agent's rates would decide otherwise, and requires the same
// decision from both tracers: a true manual.keep is a keep (priority 2,
// decision maker -4) and a true manual.drop a drop (-1); a false one
// changes nothing. manual.drop is not given where trace rules are set:
// dd-trace-go evaluates them again when the root ends (and at injection),
// over a manual drop (its decision maker gone, nothing marks it manual),
// which ddsample does not (see its package documentation).
func TestManualAttributesAgainstDDTraceGo(t *testing.T) {
	for _, tc := range []struct {
		name, rules, sampleRate string
		rates                   map[string]float64
		keys                    []string
		want                    []string // decisions the corpus must reach
	}{
		{"rules then the Agent's rates", samplingRules, "", agentRates, []string{"manual.keep"},
			[]string{`priority 2, dm "-4"`, `priority 2, dm "-3"`, `priority -1, dm ""`, `priority 1, dm "-1"`, `priority 0, dm ""`}},
		{"DD_TRACE_SAMPLE_RATE", "", "0.4", nil, []string{"manual.keep", "manual.drop"},
			[]string{`priority 2, dm "-4"`, `priority 2, dm "-3"`, `priority -1, dm ""`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range map[string]string{
				"DD_TRACE_SAMPLING_RULES":              tc.rules,
				"DD_TRACE_SAMPLING_RULES_FILE":         "",
				"DD_TRACE_SAMPLE_RATE":                 tc.sampleRate,
				"DD_TRACE_RATE_LIMIT":                  "1e9",
				"DD_SPAN_SAMPLING_RULES":               "",
				"DD_SERVICE":                           "svc-default",
				"DD_ENV":                               "prod",
				"DD_VERSION":                           "",
				"DD_TAGS":                              "",
				"DD_TRACE_PROPAGATION_STYLE":           "datadog",
				"DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
				"DD_REMOTE_CONFIGURATION_ENABLED":      "false",
				"DD_TRACE_STARTUP_LOGS":                "false",
				"DD_RUNTIME_METRICS_ENABLED":           "false",
				"DD_TRACE_STATS_COMPUTATION_ENABLED":   "false",
			} {
				t.Setenv(k, v)
			}
			cases := samplingCases(1200, 7)
			for i := range cases {
				c := &cases[i]
				if i%3 == 0 {
					continue
				}
				key, on := tc.keys[i%len(tc.keys)], i%4 != 1
				c.dd = append(c.dd, tracer.Tag(key, on))
				c.otel = append(c.otel, attribute.Bool(key, on))
			}
			theirs := decideDDTraceGo(t, cases, tc.rates)
			ours := decideDDSample(t, cases, tc.rates)
			diffs, kinds := 0, map[string]int{}
			for i, c := range cases {
				want := theirs[c.low]
				kinds[fmt.Sprintf("priority %d, dm %q", want.Priority, want.DM)]++
				if diff := cmp.Diff(want, ours[i]); diff != "" {
					if diffs++; diffs <= 10 {
						t.Errorf("case %d (tags %v): dd-trace-go (-) and ddsample (+) differ:\n%s", i, c.otel, diff)
					}
				}
			}
			if diffs > 0 {
				t.Errorf("%d of %d decisions differ", diffs, len(cases))
			}
			t.Logf("decisions: %v", kinds)
			for _, want := range tc.want {
				if kinds[want] == 0 {
					t.Errorf("no decision %q in the corpus", want)
				}
			}
		})
	}
}
