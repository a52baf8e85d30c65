package ddotel

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"log"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/seed03c8c003/ddslog/ddprop"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// restoreGlobals puts back what Start installs.
func restoreGlobals(t *testing.T) {
	tp, prop, logger := otel.GetTracerProvider(), otel.GetTextMapPropagator(), slog.Default()
	w, flags, prefix := log.Writer(), log.Flags(), log.Prefix()
	t.Cleanup(func() {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(prop)
		slog.SetDefault(logger)
		log.SetOutput(w)
		log.SetFlags(flags)
		log.SetPrefix(prefix)
	})
}

// clearEnv unsets every variable Start and the packages it calls read.
func clearEnv(t *testing.T) {
	for _, v := range []string{
		envService, envEnv, envVersion, envTraceEnabled, envOTelSDKDisabled, envSampleRate, envLogsInjection,
		envOTelService, envOTelSampler, envOTelSamplerArg, envOTelResourceAtt, "OTEL_TRACES_EXPORTER",
		"DD_TAGS", "DD_TRACE_AGENT_URL", "DD_AGENT_HOST", "DD_TRACE_AGENT_PORT",
		"DD_TRACE_PROPAGATION_STYLE", "DD_TRACE_PROPAGATION_STYLE_INJECT", "DD_TRACE_PROPAGATION_STYLE_EXTRACT",
		"OTEL_PROPAGATORS", "DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED",
		"DD_TRACE_SAMPLING_RULES", "DD_TRACE_SAMPLING_RULES_FILE", "DD_TRACE_RATE_LIMIT",
		"DD_SPAN_SAMPLING_RULES", "DD_SPAN_SAMPLING_RULES_FILE",
		"DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED", "DD_TRACE_PARTIAL_FLUSH_ENABLED", "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "DD_TRACE_STATS_COMPUTATION_ENABLED",
	} {
		t.Setenv(v, "")
	}
}

func TestStartEndToEnd(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	t.Setenv("DD_SERVICE", "checkout")
	t.Setenv("DD_ENV", "prod")
	t.Setenv("DD_VERSION", "1.2.3")
	t.Setenv("OTEL_SERVICE_NAME", "loses-to-dd-service")
	t.Setenv("DD_TRACE_SAMPLE_RATE", "1")

	var logs bytes.Buffer
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	shutdown, err := Start(context.Background(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}

	if _, ok := otel.GetTextMapPropagator().(*ddprop.Propagator); !ok {
		t.Errorf("global propagator is %T, want *ddprop.Propagator", otel.GetTextMapPropagator())
	}
	if _, ok := slog.Default().Handler().(*ddslog.Handler); !ok {
		t.Errorf("default slog handler is %T, want *ddslog.Handler", slog.Default().Handler())
	}

	ctx, root := otel.Tracer("test").Start(context.Background(), "root")
	_, child := otel.Tracer("test").Start(ctx, "child")
	slog.InfoContext(ctx, "inside")
	child.End()
	root.End()

	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	spans := agent.Spans()
	if len(spans) != 2 {
		t.Fatalf("agent received %d spans, want 2", len(spans))
	}
	type view struct {
		Service, Env, Version string
		SampleRate            float64
	}
	var got []view
	for _, s := range spans {
		got = append(got, view{s.Service, s.Meta["env"], s.Meta["version"], s.Metrics[SampleRateKey]})
	}
	// DD_TRACE_SAMPLE_RATE is Datadog's: a sampling rule matching all, whose
	// traces are sent kept or not, so their weight is 1 (no _sample_rate).
	want := []view{{"checkout", "prod", "1.2.3", 0}, {"checkout", "prod", "1.2.3", 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[uint64]decision{traceID(root): {Priority: 2, DM: "-3"}}, decisions(agent)); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}

	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", logs.String(), err)
	}
	for k, want := range map[string]string{ddslog.ServiceKey: "checkout", ddslog.EnvKey: "prod", ddslog.VersionKey: "1.2.3"} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %q", k, line[k], want)
		}
	}
	if line[ddslog.TraceIDKey] == nil {
		t.Errorf("log line not correlated: %s", logs.String())
	}
}

func TestStartOTelFallbacks(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	t.Setenv("OTEL_SERVICE_NAME", "from-otel")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=qa,service.version=7")
	t.Setenv("DD_LOGS_INJECTION", "false")
	logger := slog.Default()
	shutdown, err := Start(context.Background(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	if slog.Default() != logger {
		t.Error("DD_LOGS_INJECTION=false: the default logger was replaced")
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := agent.Spans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans", len(spans))
	}
	s := spans[0]
	if s.Service != "from-otel" || s.Meta["env"] != "qa" || s.Meta["version"] != "7" {
		t.Errorf("service/env/version = %q/%q/%q, want from-otel/qa/7", s.Service, s.Meta["env"], s.Meta["version"])
	}
	if _, ok := s.Metrics[SampleRateKey]; ok {
		t.Errorf("%s set without a sample rate", SampleRateKey)
	}
}

func TestStartOptionsBeatEnvironment(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	t.Setenv("DD_SERVICE", "env-service")
	t.Setenv("DD_TRACE_SAMPLE_RATE", "0")
	shutdown, err := Start(context.Background(), WithService("opt-service"), WithSampleRate(1), WithoutLogs(),
		WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := agent.Spans()
	if len(spans) != 1 || spans[0].Service != "opt-service" {
		t.Fatalf("spans = %+v, want one of opt-service (the sample rate option keeps it)", spans)
	}
}

// TestStartSampleRateZeroRejectsNewTraces: DD_TRACE_SAMPLE_RATE=0 rejects
// the traces this service starts (priority -1, not sampled), which still
// reach the Agent for its stats; a trace continued from a caller that kept
// it is kept.
func TestStartSampleRateZeroRejectsNewTraces(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	t.Setenv("DD_TRACE_SAMPLE_RATE", "0")
	shutdown, err := Start(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	sampled := span.SpanContext().IsSampled()
	span.End()
	carrier := propagation.HeaderCarrier(http.Header{})
	carrier.Set("x-datadog-trace-id", "1234")
	carrier.Set("x-datadog-parent-id", "5678")
	carrier.Set("x-datadog-sampling-priority", "2")
	ctx := otel.GetTextMapPropagator().Extract(context.Background(), carrier)
	_, cont := otel.Tracer("test").Start(ctx, "continued")
	cont.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sampled {
		t.Error("DD_TRACE_SAMPLE_RATE=0 sampled a new trace")
	}
	want := map[uint64]decision{traceID(span): {Priority: -1}, 1234: {Priority: 2, DM: "-0"}}
	if diff := cmp.Diff(want, decisions(agent)); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
}

// decision is a chunk root's sampling decision as the Agent receives it.
type decision struct {
	Priority float64
	DM       string
}

// decisions returns the decision of every trace the agent received, read
// on its chunk roots.
func decisions(agent *ddtest.Agent) map[uint64]decision {
	out := map[uint64]decision{}
	for _, p := range agent.Payloads() {
		for _, c := range p.Chunks {
			in := map[uint64]bool{}
			for _, s := range c {
				in[s.SpanID] = true
			}
			for _, s := range c {
				if !in[s.ParentID] {
					out[s.TraceID] = decision{s.Metrics["_sampling_priority_v1"], s.Meta["_dd.p.dm"]}
				}
			}
		}
	}
	return out
}

func traceID(s trace.Span) uint64 {
	id := s.SpanContext().TraceID()
	return binary.BigEndian.Uint64(id[8:])
}

func TestStartDisabled(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	t.Setenv("DD_TRACE_ENABLED", "false")
	tp := otel.GetTracerProvider()
	shutdown, err := Start(context.Background(), WithoutLogs())
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != tp {
		t.Error("DD_TRACE_ENABLED=false: a tracer provider was installed")
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStartBadVariables(t *testing.T) {
	tests := []struct {
		env  map[string]string
		opts []Option
		want string // in the error
	}{
		{map[string]string{"DD_TRACE_SAMPLE_RATE": "half"}, nil, `DD_TRACE_SAMPLE_RATE="half"`},
		{map[string]string{"DD_TRACE_SAMPLE_RATE": "1.5"}, nil, `DD_TRACE_SAMPLE_RATE="1.5"`},
		{map[string]string{"DD_TRACE_ENABLED": "nope"}, nil, `DD_TRACE_ENABLED="nope"`},
		{map[string]string{"DD_LOGS_INJECTION": "2"}, nil, `DD_LOGS_INJECTION="2"`},
		{map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, nil, `OTEL_TRACES_SAMPLER="sometimes"`},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "-1"}, nil, `OTEL_TRACES_SAMPLER_ARG="-1"`},
		{map[string]string{"DD_TRACE_PROPAGATION_STYLE": "carrier-pigeon"}, nil, "carrier-pigeon"},
		{map[string]string{"DD_TRACE_AGENT_URL": "ftp://agent"}, nil, "ftp://agent"},
		{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "novalue"}, nil, "OTEL_RESOURCE_ATTRIBUTES"},
		{nil, []Option{WithSampleRate(-0.5)}, "WithSampleRate(-0.5)"},
		{map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"sample_rate":0.5`}, nil, "DD_TRACE_SAMPLING_RULES"},
		{map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"service":"a","sample_rate":2}]`}, nil, "DD_TRACE_SAMPLING_RULES"},
		{map[string]string{"DD_TRACE_RATE_LIMIT": "-3"}, nil, `DD_TRACE_RATE_LIMIT="-3"`},
		{map[string]string{"DD_SPAN_SAMPLING_RULES": `{"name":"x"}`}, nil, "DD_SPAN_SAMPLING_RULES"},
		{map[string]string{"DD_TRACE_SAMPLING_RULES_FILE": "/nonexistent/rules.json"}, nil, "/nonexistent/rules.json"},
		{map[string]string{"DD_TRACE_STATS_COMPUTATION_ENABLED": "often"}, nil, `DD_TRACE_STATS_COMPUTATION_ENABLED="often"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			clearEnv(t)
			restoreGlobals(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tp, logger := otel.GetTracerProvider(), slog.Default()
			shutdown, err := Start(context.Background(), tt.opts...)
			if err == nil {
				_ = shutdown(context.Background())
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
			if otel.GetTracerProvider() != tp || slog.Default() != logger {
				t.Error("a failed Start installed something")
			}
		})
	}
}

func TestStartUnreachableAgent(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	// A port nothing listens on: the agent that was there has gone.
	agent, err := ddtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	url := agent.URL()
	if err := agent.Close(); err != nil {
		t.Fatal(err)
	}
	shutdown, err := Start(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(url)))
	if err != nil {
		t.Fatalf("Start failed with the agent down: %v", err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	span.End()
	// Shutdown returns by its deadline even though the spans cannot go out.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = shutdown(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v with a 300ms deadline", d)
	}
}

func TestStartDecisionlessDatadogHeaders(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	t.Setenv("DD_TRACE_SAMPLE_RATE", "1")
	shutdown, err := Start(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	extract := func(headers map[string]string) context.Context {
		carrier := propagation.HeaderCarrier(http.Header{})
		for k, v := range headers {
			carrier.Set(k, v)
		}
		return otel.GetTextMapPropagator().Extract(context.Background(), carrier)
	}
	// No priority: the caller left the decision to us, and we keep it.
	_, open := otel.Tracer("test").Start(extract(map[string]string{"x-datadog-trace-id": "11", "x-datadog-parent-id": "12"}), "open")
	open.End()
	// Priority 0: the caller decided to drop.
	_, rejected := otel.Tracer("test").Start(extract(map[string]string{
		"x-datadog-trace-id": "21", "x-datadog-parent-id": "22", "x-datadog-sampling-priority": "0"}), "rejected")
	rejected.End()
	// W3C, not sampled: a decision too.
	_, w3c := otel.Tracer("test").Start(extract(map[string]string{
		"traceparent": "00-00000000000000000000000000000031-0000000000000032-00"}), "w3c")
	w3c.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Every trace reaches the Agent; the one without a decision is decided
	// here by the rate (a rule: priority 2, decision maker -3), the others
	// keep their callers' rejection.
	want := map[uint64]decision{11: {Priority: 2, DM: "-3"}, 21: {Priority: 0}, 0x31: {Priority: 0}}
	if diff := cmp.Diff(want, decisions(agent)); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
}

// captureOTelErrors sends what otel.Handle reports to the returned function
// until the test ends.
func captureOTelErrors(t *testing.T) func() []string {
	t.Helper()
	var (
		mu   sync.Mutex
		errs []string
	)
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		errs = append(errs, err.Error())
		mu.Unlock()
	}))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(errs)
	}
}

// Values other tracers accept and Start does not support are reported, and
// Start carries on with the rest: the supported styles, the default
// sampler. b3 and b3multi are supported.
func TestStartCarriesOnWithoutUnsupportedValues(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantReported []string
		wantHeaders  []string // written by the global propagator
		wantSampled  bool     // a new trace
	}{
		{name: "b3multi among Datadog's styles",
			env:         map[string]string{"DD_TRACE_PROPAGATION_STYLE": "datadog,tracecontext,b3multi"},
			wantHeaders: []string{"traceparent", "tracestate", "x-b3-sampled", "x-b3-spanid", "x-b3-traceid", "x-datadog-parent-id", "x-datadog-sampling-priority", "x-datadog-tags", "x-datadog-trace-id"},
			wantSampled: true},
		{name: "b3 in OTEL_PROPAGATORS is the single header",
			env:         map[string]string{"OTEL_PROPAGATORS": "tracecontext,baggage,b3"},
			wantHeaders: []string{"b3", "traceparent", "tracestate"},
			wantSampled: true},
		{name: "an unsupported propagation style",
			env:          map[string]string{"OTEL_PROPAGATORS": "tracecontext,xray"},
			wantReported: []string{`ddprop: OTEL_PROPAGATORS="tracecontext,xray": propagation style "xray" not supported here: ignored`},
			wantHeaders:  []string{"traceparent", "tracestate"},
			wantSampled:  true},
		{name: "parentbased_jaeger_remote: the default sampler",
			env: map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_jaeger_remote", "OTEL_TRACES_SAMPLER_ARG": "endpoint=http://localhost:14250"},
			wantReported: []string{`ddotel: OTEL_TRACES_SAMPLER="parentbased_jaeger_remote": not supported here; using the default, parentbased_always_on`,
				// The SDK reads the variable too, and reports it in its words.
				"unsupported sampler: parentbased_jaeger_remote"},
			wantHeaders: []string{"traceparent", "tracestate", "x-datadog-parent-id", "x-datadog-sampling-priority", "x-datadog-tags", "x-datadog-trace-id"},
			wantSampled: true},
		{name: "jaeger_remote",
			env: map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"},
			wantReported: []string{`ddotel: OTEL_TRACES_SAMPLER="jaeger_remote": not supported here; using the default, parentbased_always_on`,
				"unsupported sampler: jaeger_remote"},
			wantHeaders: []string{"traceparent", "tracestate", "x-datadog-parent-id", "x-datadog-sampling-priority", "x-datadog-tags", "x-datadog-trace-id"},
			wantSampled: true},
		{name: "xray sampler and style together",
			env: map[string]string{"OTEL_TRACES_SAMPLER": "XRay", "DD_TRACE_PROPAGATION_STYLE": "xray,datadog"},
			wantReported: []string{
				`ddotel: OTEL_TRACES_SAMPLER="XRay": not supported here; using the default, parentbased_always_on`,
				`ddprop: DD_TRACE_PROPAGATION_STYLE="xray,datadog": propagation style "xray" not supported here: ignored`,
				"unsupported sampler: xray"},
			wantHeaders: []string{"x-datadog-parent-id", "x-datadog-sampling-priority", "x-datadog-tags", "x-datadog-trace-id"},
			wantSampled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			restoreGlobals(t)
			reported := captureOTelErrors(t)
			agent := ddtest.New(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			shutdown, err := Start(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			defer func() {
				if err := shutdown(context.Background()); err != nil {
					t.Errorf("shutdown: %v", err)
				}
			}()
			if diff := cmp.Diff(tt.wantReported, reported()); diff != "" {
				t.Errorf("reported through otel.Handle (-want +got):\n%s", diff)
			}
			ctx, span := otel.Tracer("test").Start(context.Background(), "op")
			defer span.End()
			if got := span.SpanContext().IsSampled(); got != tt.wantSampled {
				t.Errorf("new trace sampled = %v, want %v", got, tt.wantSampled)
			}
			carrier := propagation.MapCarrier{}
			otel.GetTextMapPropagator().Inject(ctx, carrier)
			got := carrier.Keys()
			slices.Sort(got)
			if diff := cmp.Diff(tt.wantHeaders, got); diff != "" {
				t.Errorf("headers injected (-want +got):\n%s", diff)
			}
		})
	}
}

// OTEL_SDK_DISABLED as OpenTelemetry defines it: "true" in any case turns
// tracing off as DD_TRACE_ENABLED=false does, unless DD_TRACE_ENABLED says
// otherwise; other values are read as false, and reported unless "false".
func TestStartOTelSDKDisabled(t *testing.T) {
	tests := []tracingSwitch{
		{"true", map[string]string{"OTEL_SDK_DISABLED": "true"}, false, nil},
		{"TRUE", map[string]string{"OTEL_SDK_DISABLED": "TRUE"}, false, nil},
		{"false", map[string]string{"OTEL_SDK_DISABLED": "false"}, true, nil},
		{"DD_TRACE_ENABLED=true wins", map[string]string{"OTEL_SDK_DISABLED": "true", "DD_TRACE_ENABLED": "true"}, true, nil},
		{"DD_TRACE_ENABLED=false alone", map[string]string{"OTEL_SDK_DISABLED": "false", "DD_TRACE_ENABLED": "false"}, false, nil},
		{"not a boolean: read as false, reported", map[string]string{"OTEL_SDK_DISABLED": "1"}, true,
			[]string{`ddotel: OTEL_SDK_DISABLED="1": want true or false; read as false, as OpenTelemetry specifies`}},
	}
	testTracingSwitch(t, tests)
}

// OTEL_TRACES_EXPORTER=none asks OpenTelemetry SDKs for no trace exporter:
// Start then installs no tracer provider, as DD_TRACE_ENABLED=false, and
// as dd-trace-go reads it (DD_TRACE_ENABLED and OTEL_SDK_DISABLED=true
// win). Other exporters are not Start's to make: they are reported, and
// spans go to the Datadog Agent.
func TestStartOTelTracesExporter(t *testing.T) {
	const reportOTLP = `ddotel: OTEL_TRACES_EXPORTER="otlp": not supported here; spans go to the Datadog Agent`
	tests := []tracingSwitch{
		{"none", map[string]string{"OTEL_TRACES_EXPORTER": "none"}, false, nil},
		{"None, spaces", map[string]string{"OTEL_TRACES_EXPORTER": " None "}, false, nil},
		{"DD_TRACE_ENABLED=true wins", map[string]string{"OTEL_TRACES_EXPORTER": "none", "DD_TRACE_ENABLED": "true"}, true, nil},
		{"OTEL_SDK_DISABLED=true with otlp", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, false, nil},
		{"OTEL_SDK_DISABLED=false leaves none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_SDK_DISABLED": "false"}, false, nil},
		{"otlp", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, []string{reportOTLP}},
		{"console,zipkin", map[string]string{"OTEL_TRACES_EXPORTER": "console,zipkin"}, true,
			[]string{`ddotel: OTEL_TRACES_EXPORTER="console,zipkin": not supported here; spans go to the Datadog Agent`}},
	}
	testTracingSwitch(t, tests)
}

// tracingSwitch is a case of the variables that turn tracing on or off:
// with env set, Setup makes and installs a tracer provider exactly when
// wantTracing, reports wantReported through otel.Handle, and installs
// ddprop's propagator either way.
type tracingSwitch struct {
	name         string
	env          map[string]string
	wantTracing  bool
	wantReported []string
}

func testTracingSwitch(t *testing.T, tests []tracingSwitch) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			restoreGlobals(t)
			reported := captureOTelErrors(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tp := otel.GetTracerProvider()
			tr, err := Setup(context.Background(), WithoutLogs(),
				WithExporterOptions(ddexport.WithAgentURL("http://127.0.0.1:1")))
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			installed := otel.GetTracerProvider() != tp
			tracing := tr.TracerProvider() != nil
			if err := tr.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if installed != tt.wantTracing || tracing != tt.wantTracing {
				t.Errorf("tracer provider installed = %v, made = %v, want %v", installed, tracing, tt.wantTracing)
			}
			if diff := cmp.Diff(tt.wantReported, reported()); diff != "" {
				t.Errorf("reported through otel.Handle (-want +got):\n%s", diff)
			}
			if _, ok := otel.GetTextMapPropagator().(*ddprop.Propagator); !ok {
				t.Errorf("global propagator is %T, want *ddprop.Propagator whether tracing is on or not", otel.GetTextMapPropagator())
			}
		})
	}
}

// TestSetup: the pipeline Setup installs can be flushed and read: the spans
// of a complete trace reach the Agent on ForceFlush, through the span
// processor (which counts the spans that end), and Stats says so.
func TestSetup(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	tr, err := Setup(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	if tr.TracerProvider() == nil || otel.GetTracerProvider() != tr.TracerProvider() {
		t.Errorf("TracerProvider() = %v, want the global provider", tr.TracerProvider())
	}
	if tr.Exporter() == nil {
		t.Error("Exporter() = nil with tracing on")
	}
	ctx, root := otel.Tracer("test").Start(context.Background(), "root")
	_, child := otel.Tracer("test").Start(ctx, "child")
	child.End()
	_, open := otel.Tracer("test").Start(context.Background(), "still open")
	root.End()
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.ForceFlush(fctx); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if n := len(agent.Spans()); n != 2 {
		t.Errorf("after ForceFlush the agent holds %d spans, want the 2 of the complete trace", n)
	}
	s := tr.Stats()
	if s.SpansEnded != 2 || s.SpansExported != 2 {
		t.Errorf("Stats %+v: want 2 spans ended and exported", s)
	}
	open.End()
	if err := tr.Shutdown(fctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := tr.Shutdown(fctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if s := tr.Stats(); s.SpansExported != 3 {
		t.Errorf("after Shutdown, Stats %+v: want 3 spans exported", s)
	}
}

// TestSetupDisabled: with tracing off, Tracing's methods do nothing.
func TestSetupDisabled(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	t.Setenv("DD_TRACE_ENABLED", "false")
	tr, err := Setup(context.Background(), WithoutLogs())
	if err != nil {
		t.Fatal(err)
	}
	if tr.TracerProvider() != nil || tr.Exporter() != nil {
		t.Errorf("tracing off: TracerProvider %v, Exporter %v, want nil", tr.TracerProvider(), tr.Exporter())
	}
	ctx := context.Background()
	if err := tr.ForceFlush(ctx); err != nil {
		t.Errorf("ForceFlush: %v", err)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if s := tr.Stats(); s != (ddexport.Stats{}) {
		t.Errorf("Stats = %+v, want zero", s)
	}
}

// TestStartSpanSamplingRules: DD_SPAN_SAMPLING_RULES keeps single spans of
// the traces Datadog's sampling drops: they reach the Agent marked with the
// single-span mechanism and the rule's rates.
func TestStartSpanSamplingRules(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	t.Setenv("DD_TRACE_SAMPLE_RATE", "0")
	t.Setenv("DD_SPAN_SAMPLING_RULES", `[{"service":"shop","name":"internal","sample_rate":1,"max_per_second":50}]`)
	shutdown, err := Start(context.Background(), WithService("shop"), WithoutLogs(),
		WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	ctx, root := otel.Tracer("test").Start(context.Background(), "request", trace.WithSpanKind(trace.SpanKindServer))
	_, child := otel.Tracer("test").Start(ctx, "step")
	child.End()
	root.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	type mark struct {
		Name                     string
		Mechanism, Rate, MaxRate float64
	}
	var got []mark
	for _, s := range agent.Spans() {
		got = append(got, mark{s.Name, s.Metrics["_dd.span_sampling.mechanism"], s.Metrics["_dd.span_sampling.rule_rate"],
			s.Metrics["_dd.span_sampling.max_per_second"]})
	}
	slices.SortFunc(got, func(a, b mark) int { return strings.Compare(a.Name, b.Name) })
	want := []mark{{Name: "Internal", Mechanism: 8, Rate: 1, MaxRate: 50}, {Name: "server.request"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
}
