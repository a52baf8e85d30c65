package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/seed03c8c003/ddslog/ddotel"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clearEnv makes the test independent of the machine's Datadog and
// OpenTelemetry settings.
func clearEnv(t *testing.T) {
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

// service is a running httpserver whose spans go to an embedded agent.
type service struct {
	url   string
	agent *ddtest.Agent
	stop  context.CancelFunc
	done  chan error
	logs  bytes.Buffer // written by the server until done
}

func start(t *testing.T) *service { return startWith(t, "") }

// startWith starts a service that asks the inventory service at
// inventoryURL, or itself when it is empty.
func startWith(t *testing.T, inventoryURL string) *service {
	t.Helper()
	clearEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &service{url: "http://" + ln.Addr().String(), agent: ddtest.New(t), done: make(chan error, 1)}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go func() {
		s.done <- run(ctx, ln, &s.logs, inventoryURL, ddotel.WithService("httpserver"),
			ddotel.WithExporterOptions(ddexport.WithAgentURL(s.agent.URL())))
	}()
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// shutdown stops the server as a signal would and waits for run to return.
func (s *service) shutdown(t *testing.T) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}

// get sends GET path with headers and returns the status and body.
func (s *service) get(t *testing.T, path string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

type logLine struct {
	Level   string `json:"level"`
	Msg     string `json:"msg"`
	TraceID string `json:"dd.trace_id"`
	SpanID  string `json:"dd.span_id"`
}

func parseLogs(t *testing.T, b []byte) []logLine {
	t.Helper()
	var logs []logLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		logs = append(logs, l)
	}
	return logs
}

// The caller's trace, as a Datadog tracer or a W3C one sends it.
const (
	callerTraceID   = uint64(1234567890123456789)
	callerSpanID    = uint64(987654321)
	callerTraceHigh = uint64(0x6a1b2c3d00000000)
)

var traceparent = "00-" + hex16(callerTraceHigh) + hex16(callerTraceID) + "-" + hex16(callerSpanID) + "-01"

func hex16(v uint64) string {
	s := strconv.FormatUint(v, 16)
	return strings.Repeat("0", 16-len(s)) + s
}

func TestTraceContinuesAcrossServices(t *testing.T) {
	tests := []struct {
		name       string
		header     map[string]string
		continued  bool   // the server continues the caller's trace
		wantHigh   uint64 // high 64 bits of the trace ID
		wantPrio   float64
		path       string
		wantStatus int
	}{
		{
			name: "datadog headers",
			header: map[string]string{
				"x-datadog-trace-id":          strconv.FormatUint(callerTraceID, 10),
				"x-datadog-parent-id":         strconv.FormatUint(callerSpanID, 10),
				"x-datadog-sampling-priority": "2",
			},
			continued: true, wantPrio: 2, path: "/orders/42", wantStatus: http.StatusOK,
		},
		{
			name:      "w3c traceparent",
			header:    map[string]string{"traceparent": traceparent},
			continued: true, wantHigh: callerTraceHigh, wantPrio: 1, path: "/orders/42", wantStatus: http.StatusOK,
		},
		{
			name:     "no trace context: a new trace",
			wantPrio: 1, path: "/orders/7", wantStatus: http.StatusOK,
		},
		{
			name: "downstream fails",
			header: map[string]string{
				"x-datadog-trace-id":          strconv.FormatUint(callerTraceID, 10),
				"x-datadog-parent-id":         strconv.FormatUint(callerSpanID, 10),
				"x-datadog-sampling-priority": "1",
			},
			continued: true, wantPrio: 1, path: "/orders/1001", wantStatus: http.StatusBadGateway,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := start(t)
			status, body := svc.get(t, tt.path, tt.header)
			if status != tt.wantStatus {
				t.Fatalf("GET %s = %d %q, want %d", tt.path, status, body, tt.wantStatus)
			}
			// Stop as on SIGTERM: run must flush every span before it
			// returns, so the agent has them all without waiting.
			svc.shutdown(t)
			spans := svc.agent.Spans()
			if len(spans) != 3 {
				t.Fatalf("agent received %d spans after shutdown, want 3: %+v", len(spans), spans)
			}
			find := func(name, resource string) ddtest.Span {
				t.Helper()
				i := slices.IndexFunc(spans, func(s ddtest.Span) bool { return s.Name == name && s.Resource == resource })
				if i < 0 {
					t.Fatalf("no span %s %q among %+v", name, resource, spans)
				}
				return spans[i]
			}
			order := find("http.server.request", "GET /orders/{id}")
			client := find("http.client.request", "GET /inventory/{id}")
			inventory := find("http.server.request", "GET /inventory/{id}")

			// One trace: the caller's, or a new one rooted at the order span.
			traceID, parent := callerTraceID, callerSpanID
			if !tt.continued {
				traceID, parent = order.TraceID, 0
			}
			type link struct {
				TraceID, ParentID uint64
				OTelTraceID       string // all 128 bits, in hex
			}
			got := []link{
				{order.TraceID, order.ParentID, order.Meta["otel.trace_id"]},
				{client.TraceID, client.ParentID, client.Meta["otel.trace_id"]},
				{inventory.TraceID, inventory.ParentID, inventory.Meta["otel.trace_id"]},
			}
			full := order.Meta["otel.trace_id"]
			if len(full) != 32 {
				t.Errorf("order span otel.trace_id = %q, want 32 hex digits", full)
			}
			if tt.continued {
				full = hex16(tt.wantHigh) + hex16(callerTraceID)
			}
			want := []link{
				{traceID, parent, full},
				{traceID, order.SpanID, full},  // the call is a child of the order span
				{traceID, client.SpanID, full}, // the downstream server continues the call
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("trace IDs and parents of order, call, inventory (-want +got):\n%s", diff)
			}
			// The chunk root carries the high half as Datadog tracers do.
			if h, _ := ddtest.TraceIDHigh(order); tt.continued && h != tt.wantHigh {
				t.Errorf("order span _dd.p.tid = %x, want %x", h, tt.wantHigh)
			}
			// The caller's sampling decision is kept: the local root carries it.
			if p, ok := order.Metrics["_sampling_priority_v1"]; !ok || p != tt.wantPrio {
				t.Errorf("order span _sampling_priority_v1 = %v (present %v), want %v", p, ok, tt.wantPrio)
			}

			wantErr := int32(0)
			if tt.wantStatus >= 500 {
				wantErr = 1
			}
			if order.Error != wantErr || client.Error != wantErr || inventory.Error != 0 {
				t.Errorf("error of order, call, inventory = %d %d %d, want %d %d 0", order.Error, client.Error, inventory.Error, wantErr, wantErr)
			}

			// Every log line of a request carries the trace ID and the ID of
			// the server span of the handler that logged it.
			type corr struct{ Msg, TraceID, SpanID string }
			tid := strconv.FormatUint(traceID, 10)
			orderID, invID := strconv.FormatUint(order.SpanID, 10), strconv.FormatUint(inventory.SpanID, 10)
			wantLogs := []corr{{"loading order", tid, orderID}, {"stock checked", tid, invID}, {"order loaded", tid, orderID}}
			if wantErr == 1 {
				wantLogs = []corr{{"loading order", tid, orderID}, {"unknown item", tid, invID}, {"inventory unavailable", tid, orderID}}
			}
			var gotLogs []corr
			for _, l := range parseLogs(t, svc.logs.Bytes()) {
				if l.Msg == "server stopped; flushing spans" {
					continue
				}
				gotLogs = append(gotLogs, corr{l.Msg, l.TraceID, l.SpanID})
			}
			if diff := cmp.Diff(wantLogs, gotLogs); diff != "" {
				t.Errorf("log lines: message, dd.trace_id, dd.span_id (-want +got):\n%s", diff)
			}
		})
	}
}

// TestShutdownFinishesRequestsInFlight stops the server while a request waits
// for its downstream call: the request is still answered, and its spans reach
// the agent before run returns.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	inventory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		_, _ = io.WriteString(w, `{"stock":5}`)
	}))
	defer inventory.Close()

	svc := startWith(t, inventory.URL)
	type answer struct {
		status int
		body   string
	}
	answered := make(chan answer, 1)
	go func() {
		// t.Fatal is not allowed here: report through the channel.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(svc.url + "/orders/42")
		if err != nil {
			answered <- answer{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, string(b)}
	}()
	<-arrived

	svc.stop() // as SIGTERM would; svc.shutdown below waits for run
	// Release the downstream call only once the server has stopped
	// accepting connections, so that the request is in flight during the
	// shutdown.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		conn, err := net.Dial("tcp", strings.TrimPrefix(svc.url, "http://"))
		if err != nil {
			break
		}
		conn.Close()
		runtime.Gosched()
	}
	close(release)
	svc.shutdown(t)

	if got := <-answered; got.status != http.StatusOK || !strings.Contains(got.body, `"stock":5`) {
		t.Errorf("request in flight during shutdown answered %d %q, want 200 with the stock", got.status, got.body)
	}
	var names []string
	for _, s := range svc.agent.Spans() {
		names = append(names, s.Name+" "+s.Resource)
	}
	slices.Sort(names)
	want := []string{"http.client.request GET /inventory/{id}", "http.server.request GET /orders/{id}"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("spans at the agent after shutdown (-want +got):\n%s", diff)
	}
}

// TestDownstreamCallCarriesTraceContext checks the headers the inventory
// service receives: the client span's context in Datadog's headers and in W3C
// traceparent, as the global propagator ddotel installs writes them.
func TestDownstreamCallCarriesTraceContext(t *testing.T) {
	headers := make(chan http.Header, 1)
	inventory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers <- r.Header.Clone()
		_, _ = io.WriteString(w, `{"stock":5}`)
	}))
	defer inventory.Close()

	svc := startWith(t, inventory.URL)
	if status, body := svc.get(t, "/orders/42", nil); status != http.StatusOK {
		t.Fatalf("GET /orders/42 = %d %q, want 200", status, body)
	}
	svc.shutdown(t)
	h := <-headers

	i := slices.IndexFunc(svc.agent.Spans(), func(s ddtest.Span) bool { return s.Name == "http.client.request" })
	if i < 0 {
		t.Fatalf("no client span among %+v", svc.agent.Spans())
	}
	call := svc.agent.Spans()[i]
	got := map[string]string{}
	for _, k := range []string{"x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority", "traceparent"} {
		got[k] = h.Get(k)
	}
	want := map[string]string{
		"x-datadog-trace-id":          strconv.FormatUint(call.TraceID, 10),
		"x-datadog-parent-id":         strconv.FormatUint(call.SpanID, 10),
		"x-datadog-sampling-priority": "1",
		"traceparent":                 "00-" + call.Meta["otel.trace_id"] + "-" + hex16(call.SpanID) + "-01",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trace context headers of the downstream call (-want +got):\n%s", diff)
	}
}
