package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wantSpans is how many spans the workload makes: 4 + 3 + 3.
const wantSpans = 10

// clearAgentEnv makes the test independent of the machine's agent settings.
func clearAgentEnv(t *testing.T) {
	for _, k := range []string{
		"DD_TRACE_AGENT_URL", "DD_AGENT_HOST", "DD_TRACE_AGENT_PORT", "DD_TAGS",
		"DD_SERVICE", "DD_ENV", "DD_VERSION", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"DD_TRACE_ENABLED", "DD_TRACE_SAMPLE_RATE", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
		"DD_LOGS_INJECTION", "DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED",
		"DD_TRACE_PROPAGATION_STYLE", "DD_TRACE_PROPAGATION_STYLE_INJECT", "DD_TRACE_PROPAGATION_STYLE_EXTRACT", "OTEL_PROPAGATORS",
	} {
		t.Setenv(k, "") // restores the variable after the test
		os.Unsetenv(k)
	}
}

func runDemo(t *testing.T, probeURL string) (stdout, stderr string, received []ddtest.Span) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	received, err := run(ctx, &out, &errOut, probeURL)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut.String())
	}
	return out.String(), errOut.String(), received
}

// logLine is the part of a JSON log line the tests read.
type logLine struct {
	Level   string `json:"level"`
	Msg     string `json:"msg"`
	TraceID string `json:"dd.trace_id"`
	SpanID  string `json:"dd.span_id"`
	Service string `json:"dd.service"`
	Err     string `json:"err"`
}

// parseLogs reads the JSON lines at the start of stdout, up to the summary.
func parseLogs(t *testing.T, stdout string) []logLine {
	t.Helper()
	var logs []logLine
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "{") {
			break
		}
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		logs = append(logs, l)
	}
	if len(logs) == 0 {
		t.Fatalf("no JSON log lines in stdout:\n%s", stdout)
	}
	return logs
}

func TestRunEmbeddedAgent(t *testing.T) {
	clearAgentEnv(t)
	stdout, stderr, spans := runDemo(t, "")

	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "embedded test agent at http://127.0.0.1:") {
		t.Errorf("stderr = %q, want one line naming the embedded agent", stderr)
	}
	if len(spans) != wantSpans {
		t.Fatalf("agent received %d spans, want %d", len(spans), wantSpans)
	}
	byID := make(map[string]ddtest.Span)
	traces := make(map[string][]ddtest.Span)
	for _, s := range spans {
		byID[strconv.FormatUint(s.SpanID, 10)] = s
		id := strconv.FormatUint(s.TraceID, 10)
		traces[id] = append(traces[id], s)
	}

	logs := parseLogs(t, stdout)
	logged := make(map[string]bool)
	var failed []string // trace IDs of error lines
	for _, l := range logs {
		if l.TraceID == "" || l.SpanID == "" || l.Service != service {
			t.Errorf("log line %q: dd.trace_id=%q dd.span_id=%q dd.service=%q, want all set", l.Msg, l.TraceID, l.SpanID, l.Service)
			continue
		}
		logged[l.TraceID] = true
		if _, ok := traces[l.TraceID]; !ok {
			t.Errorf("log line %q: dd.trace_id %s is not a trace the agent received", l.Msg, l.TraceID)
		}
		s, ok := byID[l.SpanID]
		if !ok {
			t.Errorf("log line %q: dd.span_id %s is not a span the agent received", l.Msg, l.SpanID)
			continue
		}
		if got := strconv.FormatUint(s.TraceID, 10); got != l.TraceID {
			t.Errorf("log line %q: span %s is in trace %s, the log says %s", l.Msg, l.SpanID, got, l.TraceID)
		}
		// Every line written (Info and above) is also an event of its span.
		if !slices.ContainsFunc(spanEvents(s), func(e event) bool { return e.Name == l.Msg && e.Attributes["level"] == l.Level }) {
			t.Errorf("log line %q: span %s (%s) has no event %q at level %s; events: %+v", l.Msg, l.SpanID, s.Name, l.Msg, l.Level, spanEvents(s))
		}
		if l.Level == "ERROR" {
			if l.Err == "" {
				t.Errorf("error line %q has no err attribute", l.Msg)
			}
			failed = append(failed, l.TraceID)
		}
	}
	if len(logged) != len(requests) || len(traces) != len(requests) {
		t.Errorf("logs name %d traces and the agent received %d, want %d each", len(logged), len(traces), len(requests))
	}

	// The failing request: its server span (the trace's root) has error=1 and
	// an exception event from the logged error; the others have error=0.
	if len(failed) != 1 {
		t.Fatalf("error lines in %d traces, want 1", len(failed))
	}
	for id, trace := range traces {
		i := slices.IndexFunc(trace, func(s ddtest.Span) bool { return s.ParentID == 0 })
		if i < 0 {
			t.Errorf("trace %s has no root span", id)
			continue
		}
		root := trace[i]
		wantErr := int32(0)
		if id == failed[0] {
			wantErr = 1
		}
		if root.Error != wantErr || root.Name != "http.server.request" {
			t.Errorf("trace %s root: name %q error %d, want http.server.request error %d", id, root.Name, root.Error, wantErr)
		}
		if wantErr == 0 {
			continue
		}
		if root.Meta["error.message"] != "request failed" {
			t.Errorf("failing root meta error.message = %q, want %q", root.Meta["error.message"], "request failed")
		}
		var exc []event
		for _, e := range spanEvents(root) {
			if e.Name == "exception" {
				exc = append(exc, e)
			}
		}
		want := []event{{Name: "exception", Attributes: map[string]string{
			"exception.type":    "*fmt.wrapError",
			"exception.message": "charge 2 items: POST https://payments.example/v1/charges: payment provider unavailable (status 502)",
		}}}
		if diff := cmp.Diff(want, exc); diff != "" {
			t.Errorf("failing root's exception events (-want +got):\n%s", diff)
		}
	}

	// The summary names every trace by the ID its logs carry.
	_, summary, ok := strings.Cut(stdout, "\n\n")
	if !ok || !strings.Contains(summary, "The embedded agent received 10 spans in 3 traces") {
		t.Fatalf("no summary heading in stdout:\n%s", stdout)
	}
	for id := range logged {
		if !strings.Contains(summary, "\n"+id+" ") {
			t.Errorf("summary has no row for trace %s:\n%s", id, summary)
		}
	}
}

func TestRunConfiguredAgent(t *testing.T) {
	tests := []struct {
		name  string
		env   func(agentURL *url.URL) map[string]string
		probe bool
	}{
		{name: "DD_TRACE_AGENT_URL", env: func(u *url.URL) map[string]string {
			return map[string]string{"DD_TRACE_AGENT_URL": u.String()}
		}},
		{name: "DD_AGENT_HOST", env: func(u *url.URL) map[string]string {
			return map[string]string{"DD_AGENT_HOST": u.Hostname(), "DD_TRACE_AGENT_PORT": u.Port()}
		}},
		{name: "DD_TRACE_AGENT_PORT alone", env: func(u *url.URL) map[string]string {
			return map[string]string{"DD_TRACE_AGENT_PORT": u.Port()} // the host defaults to localhost
		}},
		{name: "local agent answers /info", probe: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearAgentEnv(t)
			agent := ddtest.New(t)
			u, err := url.Parse(agent.URL())
			if err != nil {
				t.Fatal(err)
			}
			if tt.env != nil {
				for k, v := range tt.env(u) {
					t.Setenv(k, v)
				}
			}
			probe := ""
			if tt.probe {
				probe = agent.URL()
			}
			stdout, stderr, received := runDemo(t, probe)
			if received != nil {
				t.Errorf("run returned %d spans of an embedded agent, want none", len(received))
			}
			if strings.Contains(stderr, "embedded") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line naming the configured agent", stderr)
			}
			if strings.Contains(stdout, "agent received") {
				t.Errorf("stdout has a summary without an embedded agent:\n%s", stdout)
			}
			if got := len(agent.Spans()); got != wantSpans {
				t.Errorf("configured agent received %d spans, want %d", got, wantSpans)
			}
			for _, l := range parseLogs(t, stdout) {
				if l.TraceID == "" {
					t.Errorf("log line %q has no dd.trace_id", l.Msg)
				}
			}
		})
	}
}

func TestAgentAnswers(t *testing.T) {
	notAgent := httptest.NewServer(http.NotFoundHandler())
	defer notAgent.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name string
		url  string
		want bool
	}{
		{"agent", ddtest.New(t).URL(), true},
		{"404 on /info", notAgent.URL, false},
		{"nothing listening", closed.URL, false},
	}
	for _, tt := range tests {
		if got := agentAnswers(t.Context(), tt.url); got != tt.want {
			t.Errorf("%s: agentAnswers(%s) = %v, want %v", tt.name, tt.url, got, tt.want)
		}
	}
}
