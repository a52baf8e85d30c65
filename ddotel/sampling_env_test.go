package ddotel

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// Every variable of Datadog's sampling (those ddsample.FromEnv reads: the
// README's one-call setup table lists them together) asks for Datadog's
// sampling, which then beats OTEL_TRACES_SAMPLER, and a malformed one makes
// Start fail whichever sampler would have been used.
func TestDatadogSamplingVariablesBeatOTelSampler(t *testing.T) {
	spanRules := filepath.Join(t.TempDir(), "span-rules.json")
	if err := os.WriteFile(spanRules, []byte(`[{"name":"nothing-matches"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key, value string
	}{
		{"rate limit", "DD_TRACE_RATE_LIMIT", "50"},
		{"span rules", "DD_SPAN_SAMPLING_RULES", `[{"name":"nothing-matches"}]`},
		{"span rules file", "DD_SPAN_SAMPLING_RULES_FILE", spanRules},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			restoreGlobals(t)
			reported := captureOTelErrors(t)
			agent := ddtest.New(t)
			t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
			t.Setenv(tc.key, tc.value)
			shutdown, err := Start(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
			if err != nil {
				t.Fatal(err)
			}
			_, span := otel.Tracer("test").Start(context.Background(), "op")
			span.End()
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			// Datadog's sampling: the Agent's default rate (1) keeps it.
			want := map[uint64]decision{traceID(span): {Priority: 1, DM: "-1"}}
			if diff := cmp.Diff(want, decisions(agent)); diff != "" {
				t.Errorf("%s=%s with OTEL_TRACES_SAMPLER=always_off: decisions (-want +got):\n%s", tc.key, tc.value, diff)
			}
			wantReported := []string{`ddotel: ignoring OTEL_TRACES_SAMPLER="always_off": Datadog's sampling settings are given, and win`}
			if diff := cmp.Diff(wantReported, reported()); diff != "" {
				t.Errorf("reported (-want +got):\n%s", diff)
			}
		})
	}
	for _, tc := range []struct{ key, value string }{
		{"DD_TRACE_RATE_LIMIT", "-3"},
		{"DD_SPAN_SAMPLING_RULES", `{"name":"x"}`},
		{"DD_SPAN_SAMPLING_RULES_FILE", "/nonexistent/span-rules.json"},
	} {
		t.Run("malformed "+tc.key, func(t *testing.T) {
			clearEnv(t)
			restoreGlobals(t)
			t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
			t.Setenv(tc.key, tc.value)
			shutdown, err := Start(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL("http://127.0.0.1:1")))
			if err == nil {
				_ = shutdown(context.Background())
				t.Fatalf("%s=%q with OTEL_TRACES_SAMPLER set: Start succeeded", tc.key, tc.value)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q does not name %s", err, tc.key)
			}
		})
	}
}

// A nil context, which slog and the OpenTelemetry API accept, must not
// make the Tracing's methods (Start's shutdown function among them) panic:
// it counts as context.Background(), and the spans still go out.
func TestNilContext(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	var nilCtx context.Context
	tr, err := Setup(nilCtx, WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(nilCtx, "op")
	span.End()
	call := func(name string, f func(context.Context) error) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s(nil) panicked: %v", name, r)
			}
		}()
		if err := f(nilCtx); err != nil {
			t.Errorf("%s(nil): %v", name, err)
		}
	}
	call("ForceFlush", tr.ForceFlush)
	call("Shutdown", tr.Shutdown)
	if n := len(agent.Spans()); n != 1 {
		t.Errorf("the agent received %d spans, want 1", n)
	}
}

// DD_TAGS's service and env stand in for DD_SERVICE and DD_ENV, as in
// Datadog's tracers: the exporter writes them on the spans, so the
// sampler's rules and the Agent's rates must see them too, and the logs.
func TestDDTagsServiceAndEnv(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	agent := ddtest.New(t)
	t.Setenv("DD_TAGS", "service:tagged-svc,env:staging,team:apm")
	t.Setenv("DD_TRACE_SAMPLING_RULES", `[{"service":"tagged-svc","tags":{"env":"staging"},"sample_rate":0}]`)
	tracing, err := Setup(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	span.End()
	if err := tracing.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The rule matched: dropped by the user rule.
	want := map[uint64]decision{traceID(span): {Priority: -1}}
	if diff := cmp.Diff(want, decisions(agent)); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	var got []string
	for _, p := range agent.Payloads() {
		for _, c := range p.Chunks {
			for _, s := range c {
				got = append(got, s.Service+" "+s.Meta["env"])
			}
		}
	}
	if diff := cmp.Diff([]string{"tagged-svc staging"}, got); diff != "" {
		t.Errorf("service and env on the wire (-want +got):\n%s", diff)
	}
}

// DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED=false asks for 64-bit trace
// IDs, as Datadog's tracers generate then (the default is 128 bits); a
// malformed value makes Start fail, as for the other booleans.
func TestTraceID128BitGeneration(t *testing.T) {
	for _, tc := range []struct {
		value  string
		want64 bool
	}{
		{"", false},
		{"true", false},
		{"false", true},
		{"0", true},
	} {
		t.Run("value "+tc.value, func(t *testing.T) {
			clearEnv(t)
			restoreGlobals(t)
			agent := ddtest.New(t)
			t.Setenv("DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED", tc.value)
			shutdown, err := Start(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = shutdown(context.Background()) }()
			tr := otel.Tracer("test")
			for range 20 {
				ctx, root := tr.Start(context.Background(), "root")
				_, child := tr.Start(ctx, "child")
				id := root.SpanContext().TraceID()
				high := binary.BigEndian.Uint64(id[:8])
				if got64 := high == 0; got64 != tc.want64 {
					t.Fatalf("trace ID %s: 64-bit %t, want %t", id, got64, tc.want64)
				}
				if !id.IsValid() || !root.SpanContext().SpanID().IsValid() || child.SpanContext().TraceID() != id ||
					child.SpanContext().SpanID() == root.SpanContext().SpanID() {
					t.Fatalf("IDs: root %v, child %v", root.SpanContext(), child.SpanContext())
				}
				child.End()
				root.End()
			}
		})
	}
	t.Run("malformed", func(t *testing.T) {
		clearEnv(t)
		restoreGlobals(t)
		t.Setenv("DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED", "sometimes")
		shutdown, err := Start(context.Background(), WithoutLogs(), WithExporterOptions(ddexport.WithAgentURL("http://127.0.0.1:1")))
		if err == nil {
			_ = shutdown(context.Background())
			t.Fatal("Start succeeded")
		}
		if !strings.Contains(err.Error(), "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED") {
			t.Errorf("error %q does not name the variable", err)
		}
	})
}

// With no service named anywhere (options, DD_SERVICE, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, DD_TAGS), the service is OpenTelemetry's
// default, unknown_service:<executable>, as the SDK's resource.Default
// names it and the OpenTelemetry specification requires (dd-trace-go names
// it after the executable too): the spans, the logs and the sampling rules
// see the same name.
func TestStartDefaultService(t *testing.T) {
	clearEnv(t)
	restoreGlobals(t)
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	want := "unknown_service:" + filepath.Base(exe)
	agent := ddtest.New(t)
	t.Setenv("DD_TRACE_SAMPLING_RULES", `[{"service":`+strconv.Quote(want)+`,"sample_rate":0}]`)
	var buf bytes.Buffer
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	tracing, err := Setup(context.Background(), WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := otel.Tracer("test").Start(context.Background(), "op")
	slog.InfoContext(ctx, "hello")
	span.End()
	if err := tracing.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var line struct {
		Service string `json:"dd.service"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	var services []string
	for _, s := range agent.Spans() {
		services = append(services, s.Service)
	}
	got := struct {
		Spans    []string
		Log      string
		Decision map[uint64]decision
	}{services, line.Service, decisions(agent)}
	wantAll := struct {
		Spans    []string
		Log      string
		Decision map[uint64]decision
	}{[]string{want}, want, map[uint64]decision{traceID(span): {Priority: -1}}}
	if diff := cmp.Diff(wantAll, got); diff != "" {
		t.Errorf("service of the spans, the log line, and the rule's decision (-want +got):\n%s", diff)
	}
}
