package ddexport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

func TestExportHeaders(t *testing.T) {
	for _, v := range []APIVersion{V04, V05} {
		t.Run(v.String(), func(t *testing.T) {
			agent := ddtest.New(t)
			e, _ := newTestExporter(t, agent, WithAPIVersion(v), WithContainerID("cid-123"))
			if err := e.ExportSpans(context.Background(), makeSpans(3, 2)); err != nil {
				t.Fatal(err)
			}
			ps := agent.Payloads()
			if len(ps) != 1 {
				t.Fatalf("got %d payloads, want 1 (rejections %+v)", len(ps), agent.Rejections())
			}
			p := ps[0]
			if want := "/" + v.String() + "/traces"; p.Path != want {
				t.Errorf("path = %q, want %q", p.Path, want)
			}
			want := map[string]string{
				"Content-Type":                  "application/msgpack",
				"Datadog-Meta-Lang":             "go",
				"Datadog-Meta-Lang-Version":     strings.TrimPrefix(runtime.Version(), "go"),
				"Datadog-Meta-Tracer-Version":   Version,
				"X-Datadog-Trace-Count":         "3",
				"Datadog-Send-Real-Http-Status": "true",
				"Datadog-Container-Id":          "cid-123",
				"Datadog-Client-Computed-Stats": "",
			}
			got := make(map[string]string)
			for k := range want {
				got[k] = p.Header.Get(k)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if len(p.Chunks) != 3 {
				t.Errorf("got %d chunks, want 3", len(p.Chunks))
			}
			s := checkAccounting(t, e, 6)
			if s.SpansExported != 6 || s.PayloadsSent != 1 || s.Requests != 1 {
				t.Errorf("stats = %+v, want 6 spans in 1 payload and 1 request", s)
			}
		})
	}
}

func TestNoContainerIDHeader(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	for _, p := range agent.Payloads() {
		for _, k := range []string{"Datadog-Container-Id", "Datadog-Entity-Id"} {
			if v, ok := p.Header[k]; ok {
				t.Errorf("%s = %q, want no header", k, v)
			}
		}
	}
}

func TestSDKProcessors(t *testing.T) {
	tests := []struct {
		name string
		proc func(sdktrace.SpanExporter) sdktrace.TracerProviderOption
	}{
		{"batcher", func(e sdktrace.SpanExporter) sdktrace.TracerProviderOption { return sdktrace.WithBatcher(e) }},
		{"syncer", func(e sdktrace.SpanExporter) sdktrace.TracerProviderOption { return sdktrace.WithSyncer(e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := ddtest.New(t)
			e, _ := newTestExporter(t, agent, WithService("svc"))
			tp := sdktrace.NewTracerProvider(tt.proc(e))
			ctx, root := tp.Tracer("test").Start(context.Background(), "root")
			_, child := tp.Tracer("test").Start(ctx, "child")
			child.End()
			root.End()
			if err := tp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			spans := agent.Spans()
			var names []string
			for _, s := range spans {
				names = append(names, s.Name)
				if s.TraceID != spans[0].TraceID {
					t.Errorf("span %q has trace ID %d, want %d", s.Name, s.TraceID, spans[0].TraceID)
				}
			}
			if len(names) != 2 {
				t.Fatalf("agent got spans %q, want root and child", names)
			}
			checkAccounting(t, e, 2)
			// The provider's Shutdown shut the exporter down too.
			if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); !errors.Is(err, errShutdown) {
				t.Errorf("ExportSpans after the provider's Shutdown = %v, want errShutdown", err)
			}
		})
	}
}

func TestUnixSocket(t *testing.T) {
	// Socket paths are short-lived and must be short (about 100 bytes).
	dir, err := os.MkdirTemp("", "dd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "apm.sock")
	agent := ddtest.New(t, ddtest.WithUnixSocket(sock))
	if got, want := agent.URL(), "unix://"+sock; got != want {
		t.Fatalf("agent URL = %q, want %q", got, want)
	}
	e, _ := newTestExporter(t, agent)
	if err := e.ExportSpans(context.Background(), makeSpans(2, 1)); err != nil {
		t.Fatal(err)
	}
	if got := len(agent.Spans()); got != 2 {
		t.Errorf("agent got %d spans over the socket, want 2", got)
	}
	checkAccounting(t, e, 2)
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		fail       func(*ddtest.Agent)
		wantWaits  []time.Duration
		wantStatus int
	}{
		{"503 twice", func(a *ddtest.Agent) { a.FailNext(2, 503, 0) }, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, 0},
		{"500", func(a *ddtest.Agent) { a.FailNext(1, 500, 0) }, []time.Duration{100 * time.Millisecond}, 0},
		{"502", func(a *ddtest.Agent) { a.FailNext(1, 502, 0) }, []time.Duration{100 * time.Millisecond}, 0},
		{"408", func(a *ddtest.Agent) { a.FailNext(1, 408, 0) }, []time.Duration{100 * time.Millisecond}, 0},
		{"429 without Retry-After", func(a *ddtest.Agent) { a.FailNext(1, 429, 0) }, []time.Duration{100 * time.Millisecond}, 0},
		{"429 honours Retry-After", func(a *ddtest.Agent) { a.FailNext(1, 429, 3*time.Second) }, []time.Duration{3 * time.Second}, 0},
		{"503 honours Retry-After", func(a *ddtest.Agent) { a.FailNext(1, 503, 2*time.Second) }, []time.Duration{2 * time.Second}, 0},
		{"connection closed", func(a *ddtest.Agent) { a.DropNext(1) }, []time.Duration{100 * time.Millisecond}, 0},
		{"backoff is capped", func(a *ddtest.Agent) { a.FailNext(8, 503, 0) }, []time.Duration{
			100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
			1600 * time.Millisecond, 2 * time.Second, 2 * time.Second, 2 * time.Second,
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := ddtest.New(t)
			e, clk := newTestExporter(t, agent, WithRetry(RetryConfig{
				Enabled: true, InitialInterval: 100 * time.Millisecond, MaxInterval: 2 * time.Second, MaxElapsedTime: time.Minute,
			}))
			tt.fail(agent)
			if err := e.ExportSpans(context.Background(), makeSpans(2, 2)); err != nil {
				t.Fatalf("ExportSpans = %v, want success after retries", err)
			}
			if diff := cmp.Diff(tt.wantWaits, clk.recorded()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			s := checkAccounting(t, e, 4)
			want := Stats{
				SpansExported: 4, Requests: uint64(len(tt.wantWaits) + 1), PayloadsSent: 1,
				Retries: uint64(len(tt.wantWaits)),
			}
			s.LastError = ""
			if diff := cmp.Diff(want, s); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if got := len(agent.Spans()); got != 4 {
				t.Errorf("agent got %d spans, want 4", got)
			}
		})
	}
}

func TestNotRetried(t *testing.T) {
	tests := []struct {
		status int
		spans  int
		want   DropReasons
	}{
		{400, 3, DropReasons{Rejected: 3}},
		{403, 3, DropReasons{Rejected: 3}},
		{404, 3, DropReasons{Rejected: 3}},
		{415, 3, DropReasons{Rejected: 3}},
		{413, 1, DropReasons{TooLarge: 1}}, // a single span: nothing to split
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			agent := ddtest.New(t)
			e, clk := newTestExporter(t, agent)
			agent.FailNext(1, tt.status, time.Second)
			err := e.ExportSpans(context.Background(), makeSpans(1, tt.spans))
			if err == nil || !strings.Contains(err.Error(), strconv.Itoa(tt.status)) {
				t.Errorf("ExportSpans = %v, want an error naming %d", err, tt.status)
			}
			s := checkAccounting(t, e, uint64(tt.spans))
			if diff := cmp.Diff(tt.want, s.Dropped); diff != "" {
				t.Errorf("drop reasons (-want +got):\n%s", diff)
			}
			if s.Requests != 1 || s.Rejections != 1 || len(clk.recorded()) != 0 {
				t.Errorf("stats %+v, waits %v: want 1 request, 1 rejection, no retry", s, clk.recorded())
			}
			if !strings.Contains(s.LastError, strconv.Itoa(tt.status)) {
				t.Errorf("LastError = %q, want it to name %d", s.LastError, tt.status)
			}
		})
	}
}

func TestRetryDisabled(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent, WithRetry(RetryConfig{}))
	agent.FailNext(1, 503, 0)
	if err := e.ExportSpans(context.Background(), makeSpans(1, 2)); err == nil {
		t.Fatal("ExportSpans succeeded, want the 503 reported")
	}
	s := checkAccounting(t, e, 2)
	if s.Dropped.Failed != 2 || s.Requests != 1 || s.Retries != 0 {
		t.Errorf("stats = %+v, want 2 spans failed after 1 request", s)
	}
}

func TestRetryStopsBeforeTheDeadline(t *testing.T) {
	agent := ddtest.New(t)
	e, clk := newTestExporter(t, agent, WithRetry(RetryConfig{
		Enabled: true, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second,
	}))
	agent.FailNext(1000, 503, 0)
	ctx, cancel := context.WithDeadline(context.Background(), clk.now().Add(5*time.Second))
	defer cancel()
	err := e.ExportSpans(ctx, makeSpans(1, 2))
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("ExportSpans = %v, want it to give up before the deadline", err)
	}
	var total time.Duration
	for _, w := range clk.recorded() {
		total += w
	}
	if total >= 5*time.Second {
		t.Errorf("waited %v in all, want less than the 5s to the deadline", total)
	}
	// 0.1+0.2+0.4+0.8+1+1+1 = 4.5s; one more second would reach the deadline.
	if got := len(clk.recorded()); got != 7 {
		t.Errorf("waited %d times (%v), want 7", got, clk.recorded())
	}
	s := checkAccounting(t, e, 2)
	if s.Dropped.Failed != 2 {
		t.Errorf("drop reasons = %+v, want 2 failed", s.Dropped)
	}
}

func TestRetryAfterPastTheDeadline(t *testing.T) {
	agent := ddtest.New(t)
	e, clk := newTestExporter(t, agent)
	agent.FailNext(1, 429, 10*time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), clk.now().Add(5*time.Second))
	defer cancel()
	if err := e.ExportSpans(ctx, makeSpans(1, 1)); err == nil {
		t.Fatal("ExportSpans succeeded, want it to give up")
	}
	if w := clk.recorded(); len(w) != 0 {
		t.Errorf("waited %v, want no wait that ends past the deadline", w)
	}
	if s := checkAccounting(t, e, 1); s.Requests != 1 || s.Dropped.Failed != 1 {
		t.Errorf("stats = %+v, want 1 request and 1 failed span", s)
	}
}

func TestRetryMaxElapsedTime(t *testing.T) {
	agent := ddtest.New(t)
	e, clk := newTestExporter(t, agent, WithRetry(RetryConfig{
		Enabled: true, InitialInterval: time.Second, MaxInterval: time.Second, MaxElapsedTime: 3500 * time.Millisecond,
	}))
	agent.FailNext(100, 500, 0)
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err == nil {
		t.Fatal("ExportSpans succeeded, want it to give up")
	}
	if diff := cmp.Diff([]time.Duration{time.Second, time.Second, time.Second}, clk.recorded()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		d := jitter(time.Second)
		if d < 500*time.Millisecond || d >= 1500*time.Millisecond {
			t.Fatalf("jitter(1s) = %v, want [0.5s, 1.5s)", d)
		}
	}
	if d := jitter(0); d != 0 {
		t.Errorf("jitter(0) = %v, want 0", d)
	}
}

func TestSplitBySize(t *testing.T) {
	agent := ddtest.New(t)
	// Measure one trace's payload to set a cap that holds two but not three.
	probe, _ := newTestExporter(t, agent)
	enc := newEncoder(V04, probe.cfg)
	one := len(enc.encode(enc.chunks(makeSpans(1, 3)), false))
	two := len(enc.encode(enc.chunks(makeSpans(2, 3)), false))

	e, _ := newTestExporter(t, agent, WithMaxPayloadBytes(two+one/2))
	if err := e.ExportSpans(context.Background(), makeSpans(8, 3)); err != nil {
		t.Fatal(err)
	}
	ps := agent.Payloads()
	var spans int
	for _, p := range ps {
		if len(p.Chunks) > 2 {
			t.Errorf("payload of %d chunks, want at most 2 under the cap", len(p.Chunks))
		}
		if got, want := p.Header.Get("X-Datadog-Trace-Count"), strconv.Itoa(len(p.Chunks)); got != want {
			t.Errorf("X-Datadog-Trace-Count = %s, want %s", got, want)
		}
		for _, c := range p.Chunks {
			spans += len(c)
		}
	}
	if spans != 24 || len(ps) != 4 {
		t.Errorf("agent got %d spans in %d payloads, want 24 in 4", spans, len(ps))
	}
	s := checkAccounting(t, e, 24)
	if s.Splits != 3 || s.SpansExported != 24 {
		t.Errorf("stats = %+v, want 3 splits (8 → 4+4 → 2+2+2+2)", s)
	}
}

func TestChunkOverTheCap(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent, WithMaxPayloadBytes(64))
	err := e.ExportSpans(context.Background(), makeSpans(3, 4))
	if err == nil || !strings.Contains(err.Error(), "cap") {
		t.Fatalf("ExportSpans = %v, want the payload cap named", err)
	}
	s := checkAccounting(t, e, 12)
	if s.Dropped.TooLarge != 12 || s.Requests != 0 {
		t.Errorf("stats = %+v, want 12 spans too large and no request", s)
	}
}

func Test413Splits(t *testing.T) {
	// The agent refuses bodies over its limit: a payload of 4 traces is too
	// large for it, halves of 2 are not.
	probeAgent := ddtest.New(t)
	probe, _ := newTestExporter(t, probeAgent)
	limit := halvesLimit(probe, makeSpans(4, 3))

	agent := ddtest.New(t, ddtest.WithBodyLimit(int64(limit)+1)) // refuses limit+1 bytes or more
	e, _ := newTestExporter(t, agent)
	if err := e.ExportSpans(context.Background(), makeSpans(4, 3)); err != nil {
		t.Fatal(err)
	}
	if got := len(agent.Spans()); got != 12 {
		t.Errorf("agent got %d spans, want 12", got)
	}
	s := checkAccounting(t, e, 12)
	if s.Rejections != 1 || s.Splits != 1 || s.PayloadsSent != 2 || s.Requests != 3 {
		t.Errorf("stats = %+v, want 1 rejection, 1 split, 3 requests, 2 payloads sent", s)
	}
}

// halvesLimit returns the size of the larger half of spans' payload, as
// split by the exporter.
func halvesLimit(e *Exporter, spans []sdktrace.ReadOnlySpan) int {
	enc := newEncoder(V04, e.cfg)
	chunks := enc.chunks(spans)
	mid := len(chunks) / 2
	a := len(enc.encode(chunks[:mid], false))
	b := len(enc.encode(chunks[mid:], false))
	return max(a, b)
}

func Test413SpanAloneDropped(t *testing.T) {
	// Every payload is refused: the two traces are split apart, each trace
	// between its spans (3 → 1 + 2 → 1 + 1), and every span, alone, is
	// dropped: 11 requests, 5 splits.
	agent := ddtest.New(t, ddtest.WithBodyLimit(40))
	e, _ := newTestExporter(t, agent)
	if err := e.ExportSpans(context.Background(), makeSpans(2, 3)); err == nil {
		t.Fatal("ExportSpans succeeded, want the 413 reported")
	}
	s := checkAccounting(t, e, 6)
	if s.Dropped.TooLarge != 6 || s.Rejections != 11 || s.Splits != 5 {
		t.Errorf("stats = %+v, want 6 spans too large after 11 rejections and 5 splits", s)
	}
}

// TestTraceSplitBetweenItsSpans: a single trace over the payload cap, or
// answered 413, goes out as two chunks of its spans, the local root in the
// first, each chunk's roots carrying the trace's decision and its 128-bit
// trace ID, as a partial flush sends them; nothing is dropped.
func TestTraceSplitBetweenItsSpans(t *testing.T) {
	spans := makeSpans(1, 6)
	probe, _ := newTestExporter(t, ddtest.New(t))
	enc := newEncoder(V04, probe.cfg)
	c := enc.chunks(spans)[0]
	whole := len(enc.encode([][]sdktrace.ReadOnlySpan{c}, false))
	half := max(len(enc.encode([][]sdktrace.ReadOnlySpan{c[:3]}, false)), len(enc.encode([][]sdktrace.ReadOnlySpan{c[3:]}, false)))
	if half >= whole {
		t.Fatalf("halves of %d bytes, the whole %d: no limit between them", half, whole)
	}
	tests := []struct {
		name           string
		agent          []ddtest.Option
		exp            []Option
		wantRejections uint64
	}{
		{"payload cap", nil, []Option{WithMaxPayloadBytes(half)}, 0},
		{"413", []ddtest.Option{ddtest.WithBodyLimit(int64(half) + 1)}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := ddtest.New(t, tt.agent...)
			e, _ := newTestExporter(t, agent, tt.exp...)
			if err := e.ExportSpans(context.Background(), spans); err != nil {
				t.Fatal(err)
			}
			s := checkAccounting(t, e, 6)
			if s.SpansExported != 6 || s.Splits != 1 || s.PayloadsSent != 2 || s.Rejections != tt.wantRejections {
				t.Errorf("stats = %+v, want 6 spans exported in 2 payloads after 1 split and %d rejections", s, tt.wantRejections)
			}
			type root struct {
				SpanID, Priority uint64
				TID              string
			}
			var gotIDs [][]uint64
			var gotRoots []root
			for _, p := range agent.Payloads() {
				for _, ch := range p.Chunks {
					in := map[uint64]bool{}
					var ids []uint64
					for _, sp := range ch {
						in[sp.SpanID] = true
						ids = append(ids, sp.SpanID)
					}
					gotIDs = append(gotIDs, ids)
					for _, sp := range ch {
						if !in[sp.ParentID] {
							gotRoots = append(gotRoots, root{sp.SpanID, uint64(sp.Metrics["_sampling_priority_v1"]), sp.Meta["_dd.p.tid"]})
						}
					}
				}
			}
			if diff := cmp.Diff([][]uint64{{1, 2, 3}, {4, 5, 6}}, gotIDs); diff != "" {
				t.Errorf("chunks' span IDs (-want +got):\n%s", diff)
			}
			want := []root{{1, 1, "0000000000000abc"}, {4, 1, "0000000000000abc"}, {5, 1, "0000000000000abc"}, {6, 1, "0000000000000abc"}}
			if diff := cmp.Diff(want, gotRoots); diff != "" {
				t.Errorf("chunk roots (-want +got):\n%s", diff)
			}
		})
	}
}

// errorHandler collects what otel.Handle receives.
type errorHandler struct {
	mu   sync.Mutex
	errs []error
}

func (h *errorHandler) Handle(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, err)
}

func (h *errorHandler) got() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.errs...)
}

func TestRejectionReportedOnce(t *testing.T) {
	h := &errorHandler{}
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(h)
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	agent.FailNext(3, 400, 0)
	for i := range 3 {
		if err := e.ExportSpans(context.Background(), makeSpans(1, 2)); err == nil {
			t.Errorf("export %d succeeded, want the 400 reported to the caller each time", i)
		}
	}
	agent.FailNext(1, 403, 0)
	if err := e.ExportSpans(context.Background(), makeSpans(1, 2)); err == nil {
		t.Error("export succeeded, want the 403 reported")
	}
	errs := h.got()
	if len(errs) != 2 {
		t.Fatalf("otel.Handle got %d errors %v, want 2: one per distinct cause", len(errs), errs)
	}
	if !strings.Contains(errs[0].Error(), "400") || !strings.Contains(errs[1].Error(), "403") {
		t.Errorf("otel.Handle got %v, want the 400 then the 403", errs)
	}
	s := checkAccounting(t, e, 8)
	if s.Dropped.Rejected != 8 || s.FailedExports != 4 {
		t.Errorf("stats = %+v, want 8 spans rejected in 4 failed exports", s)
	}
}

func TestExportAfterShutdown(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	for range 2 {
		if err := e.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
	}
	if err := e.ExportSpans(context.Background(), makeSpans(1, 3)); !errors.Is(err, errShutdown) {
		t.Errorf("ExportSpans after Shutdown = %v, want errShutdown", err)
	}
	s := checkAccounting(t, e, 3)
	if s.Dropped.Shutdown != 3 || s.FailedExports != 1 || agent.Requests() != 0 {
		t.Errorf("stats = %+v, agent requests %d: want 3 spans dropped at shutdown, no request", s, agent.Requests())
	}
}

// blockedExport starts an export against an agent that holds every request,
// and returns once the request is on its way, with the export's result.
func blockedExport(t *testing.T, ctx context.Context, spans int) (*Exporter, <-chan error) {
	t.Helper()
	agent := ddtest.New(t)
	agent.SetDelay(time.Hour)
	e, _ := newTestExporter(t, agent)
	started := make(chan struct{}, 1)
	e.t.client = &http.Client{Transport: startedTransport{next: e.t.client.Transport, started: started}}
	done := make(chan error, 1)
	go func() { done <- e.ExportSpans(ctx, makeSpans(1, spans)) }()
	receive(t, started, "the export's request")
	return e, done
}

func TestShutdownCutsRunningExportsShort(t *testing.T) {
	e, done := blockedExport(t, context.Background(), 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // give running exports no time at all
	if err := e.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
	if err := receive(t, done, "the running export's end"); !errors.Is(err, errShutdown) {
		t.Errorf("the running export returned %v, want errShutdown", err)
	}
	s := checkAccounting(t, e, 2)
	if s.Dropped.Shutdown != 2 {
		t.Errorf("drop reasons = %+v, want 2 at shutdown", s.Dropped)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown = %v, want nil", err)
	}
}

// A RetryConfig that sets a bound but leaves Enabled false retries within
// it: only the zero RetryConfig turns retries off.
func TestWithRetryFieldsTurnRetriesOn(t *testing.T) {
	tests := []struct {
		name         string
		rc           RetryConfig
		wantRequests int
	}{
		{"zero: off", RetryConfig{}, 1},
		{"Enabled false alone: off", RetryConfig{Enabled: false}, 1},
		{"Enabled", RetryConfig{Enabled: true}, 2},
		{"MaxElapsedTime alone", RetryConfig{MaxElapsedTime: time.Minute}, 2},
		{"InitialInterval alone", RetryConfig{InitialInterval: time.Second}, 2},
		{"MaxInterval alone", RetryConfig{MaxInterval: time.Second}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := ddtest.New(t)
			e, _ := newTestExporter(t, agent, WithRetry(tt.rc))
			agent.FailNext(1, http.StatusServiceUnavailable, 0)
			err := e.ExportSpans(context.Background(), makeSpans(1, 1))
			if got := agent.Requests(); got != tt.wantRequests {
				t.Errorf("%d requests, want %d (ExportSpans = %v)", got, tt.wantRequests, err)
			}
			if retried := tt.wantRequests > 1; retried != (err == nil) {
				t.Errorf("ExportSpans = %v with retries %v", err, retried)
			}
		})
	}
}

// Shutdown with a ctx that is already done, when no export is running,
// has nothing to cut short: it returns nil, every time, whether the
// exporter never exported or its discovery goroutine is running.
func TestShutdownIdleWithDoneContext(t *testing.T) {
	agent := ddtest.New(t)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	const iterations = 300
	for _, exported := range []bool{false, true} {
		failed := 0
		var firstErr error
		for range iterations {
			e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL(agent.URL()))
			if err != nil {
				t.Fatal(err)
			}
			if exported {
				if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Shutdown(done); err != nil {
				failed++
				firstErr = err
				// Wait for the discovery goroutine, so that none outlives
				// the test.
				_ = e.Shutdown(context.Background())
			}
			if err := e.Shutdown(done); err != nil {
				t.Fatalf("second Shutdown = %v, want nil", err)
			}
		}
		if failed > 0 {
			t.Errorf("exported %v: Shutdown(done ctx) of an idle exporter failed %d times out of %d: %v", exported, failed, iterations, firstErr)
		}
	}
}

func TestShutdownWaitsForRunningExports(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // a failing test must not leave the request held (cleanups run before the exporter's)
	e.t.client = &http.Client{Transport: gateTransport{next: e.t.client.Transport, started: started, release: release}}
	done := make(chan error, 1)
	go func() { done <- e.ExportSpans(context.Background(), makeSpans(1, 2)) }()
	receive(t, started, "the export's request")
	shut := make(chan error, 1)
	go func() { shut <- e.Shutdown(context.Background()) }()
	// Shutdown must not finish while the export runs; new exports fail.
	waitUntil(t, e.isClosed, "Shutdown to close the exporter")
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); !errors.Is(err, errShutdown) {
		t.Errorf("ExportSpans during Shutdown = %v, want errShutdown", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while an export was running", err)
	default:
	}
	free()
	if err := receive(t, done, "the running export's end"); err != nil {
		t.Errorf("running export = %v, want success", err)
	}
	if err := receive(t, shut, "Shutdown's end"); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	s := checkAccounting(t, e, 3)
	if s.SpansExported != 2 || s.Dropped.Shutdown != 1 {
		t.Errorf("stats = %+v, want 2 exported, 1 dropped at shutdown", s)
	}
}

func (e *Exporter) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// gateTransport holds each request until release is closed.
type gateTransport struct {
	next    http.RoundTripper
	started chan struct{}
	release chan struct{}
}

func (g gateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case g.started <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
	case <-r.Context().Done(): // the test gave up: do not hold the request forever
		return nil, r.Context().Err()
	}
	return g.next.RoundTrip(r)
}

func TestCanceledContext(t *testing.T) {
	t.Run("before the call", func(t *testing.T) {
		agent := ddtest.New(t)
		e, _ := newTestExporter(t, agent)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := e.ExportSpans(ctx, makeSpans(2, 2)); !errors.Is(err, context.Canceled) {
			t.Errorf("ExportSpans = %v, want context.Canceled", err)
		}
		if s := checkAccounting(t, e, 4); s.Dropped.Canceled != 4 || s.FailedExports != 1 || agent.Requests() != 0 {
			t.Errorf("stats = %+v, agent requests %d: want 4 canceled, no request", s, agent.Requests())
		}
	})
	t.Run("during the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		e, done := blockedExport(t, ctx, 3)
		cancel()
		if err := receive(t, done, "the canceled export's end"); !errors.Is(err, context.Canceled) {
			t.Errorf("ExportSpans = %v, want context.Canceled", err)
		}
		if s := checkAccounting(t, e, 3); s.Dropped.Canceled != 3 {
			t.Errorf("drop reasons = %+v, want 3 canceled", s.Dropped)
		}
	})
	t.Run("during a retry wait", func(t *testing.T) {
		agent := ddtest.New(t)
		e, _ := newTestExporter(t, agent)
		ctx, cancel := context.WithCancel(context.Background())
		e.wait = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
		agent.FailNext(1, 503, 0)
		if err := e.ExportSpans(ctx, makeSpans(1, 2)); !errors.Is(err, context.Canceled) {
			t.Errorf("ExportSpans = %v, want context.Canceled", err)
		}
		if s := checkAccounting(t, e, 2); s.Dropped.Canceled != 2 || s.Requests != 1 {
			t.Errorf("stats = %+v, want 2 canceled after 1 request", s)
		}
	})
}

func TestNilSpansCounted(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	spans := append(makeSpans(1, 2), nil)
	if err := e.ExportSpans(context.Background(), spans); err == nil {
		t.Error("ExportSpans succeeded, want the nil span reported")
	}
	s := checkAccounting(t, e, 3)
	if s.SpansExported != 2 || s.Dropped.Invalid != 1 {
		t.Errorf("stats = %+v, want 2 exported, 1 invalid", s)
	}
	if err := e.ExportSpans(context.Background(), nil); err != nil {
		t.Errorf("ExportSpans(nil) = %v, want nil", err)
	}
}

// TestEverySpanCountedOnce runs one exporter through every path in turn and
// checks after each step that exported + dropped equals what was handed over.
func TestEverySpanCountedOnce(t *testing.T) {
	probeAgent := ddtest.New(t)
	probe, _ := newTestExporter(t, probeAgent)
	limit := halvesLimit(probe, makeSpans(4, 2))

	agent := ddtest.New(t, ddtest.WithBodyLimit(int64(limit)+1)) // refuses limit+1 bytes or more
	e, clk := newTestExporter(t, agent)
	var handed uint64
	export := func(ctx context.Context, traces, per int) error {
		handed += uint64(traces * per)
		return e.ExportSpans(ctx, makeSpans(traces, per))
	}
	hugeSpan := func(n int) sdktrace.ReadOnlySpan {
		handed++
		stub := tracetest.SpanStubFromReadOnlySpan(makeSpans(1, 1)[0])
		stub.Attributes = []attribute.KeyValue{attribute.String("big", strings.Repeat("x", n))}
		return stub.Snapshot()
	}
	type counts struct {
		Exported uint64
		Dropped  DropReasons
	}
	steps := []struct {
		name    string
		run     func() error
		wantErr bool
		want    counts
	}{
		{"success", func() error { return export(context.Background(), 2, 2) }, false,
			counts{Exported: 4}},
		{"retry then success", func() error { agent.FailNext(2, 503, 0); return export(context.Background(), 1, 3) }, false,
			counts{Exported: 7}},
		{"connection dropped then success", func() error { agent.DropNext(1); return export(context.Background(), 1, 1) }, false,
			counts{Exported: 8}},
		{"413 split", func() error { return export(context.Background(), 4, 2) }, false,
			counts{Exported: 16}},
		{"400", func() error { agent.FailNext(1, 400, 0); return export(context.Background(), 2, 2) }, true,
			counts{Exported: 16, Dropped: DropReasons{Rejected: 4}}},
		{"413 on one trace: split between its spans", func() error { return export(context.Background(), 1, 9) }, false,
			counts{Exported: 25, Dropped: DropReasons{Rejected: 4}}},
		{"413 on one span", func() error { return e.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{hugeSpan(limit)}) }, true,
			counts{Exported: 25, Dropped: DropReasons{Rejected: 4, TooLarge: 1}}},
		{"retries exhausted", func() error {
			// 1s to the deadline: attempts after 0, 100, 300 and 700ms; the
			// next wait (800ms) would end past the deadline.
			agent.FailNext(4, 500, 0)
			ctx, cancel := context.WithDeadline(context.Background(), clk.now().Add(time.Second))
			defer cancel()
			return export(ctx, 1, 2)
		}, true, counts{Exported: 25, Dropped: DropReasons{Rejected: 4, TooLarge: 1, Failed: 2}}},
		{"canceled", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return export(ctx, 3, 1)
		}, true, counts{Exported: 25, Dropped: DropReasons{Rejected: 4, TooLarge: 1, Failed: 2, Canceled: 3}}},
		{"success again", func() error { return export(context.Background(), 1, 1) }, false,
			counts{Exported: 26, Dropped: DropReasons{Rejected: 4, TooLarge: 1, Failed: 2, Canceled: 3}}},
		{"shutdown", func() error {
			if err := e.Shutdown(context.Background()); err != nil {
				return err
			}
			return export(context.Background(), 2, 1)
		}, true, counts{Exported: 26, Dropped: DropReasons{Rejected: 4, TooLarge: 1, Failed: 2, Canceled: 3, Shutdown: 2}}},
	}
	for _, st := range steps {
		if err := st.run(); (err != nil) != st.wantErr {
			t.Errorf("%s: ExportSpans = %v, want error: %v", st.name, err, st.wantErr)
		}
		s := checkAccounting(t, e, handed)
		if diff := cmp.Diff(st.want, counts{s.SpansExported, s.Dropped}); diff != "" {
			t.Errorf("%s: span counters (-want +got):\n%s", st.name, diff)
		}
	}
	if got := uint64(len(agent.Spans())); got != 26 {
		t.Errorf("agent holds %d spans, want the 26 exported", got)
	}
}

func TestConcurrentExports(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				if err := e.ExportSpans(context.Background(), makeSpans(2, 2)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	waitGroup(t, &wg, "the concurrent exports")
	s := checkAccounting(t, e, workers*rounds*4)
	if s.SpansExported != workers*rounds*4 {
		t.Errorf("exported %d spans, want %d", s.SpansExported, workers*rounds*4)
	}
	if got := len(agent.Spans()); got != workers*rounds*4 {
		t.Errorf("agent got %d spans, want %d", got, workers*rounds*4)
	}
}

func TestSampleRates(t *testing.T) {
	rates := map[string]float64{"service:svc,env:prod": 0.5, "service:,env:": 1}
	agent := ddtest.New(t, ddtest.WithRates(rates))
	e, _ := newTestExporter(t, agent)
	if got := e.SampleRates(); got != nil {
		t.Errorf("SampleRates before any export = %v, want nil", got)
	}
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	got := e.SampleRates()
	if diff := cmp.Diff(rates, got); diff != "" {
		t.Errorf("SampleRates (-want +got):\n%s", diff)
	}
	got["service:svc,env:prod"] = 0 // a copy: changing it changes nothing
	agent.SetRates(map[string]float64{"service:,env:": 0.25})
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{"service:,env:": 0.25}, e.SampleRates()); diff != "" {
		t.Errorf("SampleRates after the agent changed them (-want +got):\n%s", diff)
	}
}

func TestNewDoesNotContactTheAgent(t *testing.T) {
	agent := ddtest.New(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, v := range []APIVersion{V04, V05} {
		e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL(agent.URL()), WithAPIVersion(v))
		if err != nil {
			t.Fatal(err)
		}
		if n := agent.Requests(); n != 0 {
			t.Errorf("%s: agent saw %d requests after New, want none", v, n)
		}
		if err := e.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAgentDown(t *testing.T) {
	agent := ddtest.New(t)
	url := agent.URL()
	if err := agent.Close(); err != nil {
		t.Fatal(err)
	}
	e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL(url), WithRetry(RetryConfig{}))
	if err != nil {
		t.Fatalf("New with the agent down = %v, want success", err)
	}
	defer e.Shutdown(context.Background())
	if err := e.ExportSpans(context.Background(), makeSpans(1, 2)); err == nil {
		t.Error("ExportSpans to a closed agent succeeded")
	}
	if s := checkAccounting(t, e, 2); s.Dropped.Failed != 2 {
		t.Errorf("drop reasons = %+v, want 2 failed", s.Dropped)
	}
}

// cancelAfterTransport cancels a context once the response has arrived.
type cancelAfterTransport struct {
	next   http.RoundTripper
	cancel context.CancelFunc
}

func (c cancelAfterTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	c.cancel()
	return resp, err
}

func TestAcceptedThenCanceledCountsAsExported(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.t.client = &http.Client{Transport: cancelAfterTransport{next: e.t.client.Transport, cancel: cancel}}
	_ = e.ExportSpans(ctx, makeSpans(1, 2))
	if s := checkAccounting(t, e, 2); s.SpansExported != uint64(len(agent.Spans())) {
		t.Errorf("stats = %+v, but the agent holds %d spans", s, len(agent.Spans()))
	}
}

// spanWithEvent is one span carrying an exception event and a link.
func spanWithEvent() []sdktrace.ReadOnlySpan {
	s := makeSpans(1, 1)[0]
	stub := tracetest.SpanStubFromReadOnlySpan(s)
	stub.Events = []sdktrace.Event{{
		Name: "exception",
		Time: stub.StartTime.Add(time.Microsecond),
		Attributes: []attribute.KeyValue{
			attribute.String("exception.type", "io.EOF"),
			attribute.Int("n", 3),
		},
	}}
	stub.Links = []sdktrace.Link{{SpanContext: makeSpans(2, 1)[1].SpanContext()}}
	return []sdktrace.ReadOnlySpan{stub.Snapshot()}
}

func TestEventsFollowDiscovery(t *testing.T) {
	tests := []struct {
		name       string
		version    APIVersion
		spanEvents bool
		native     bool
	}{
		{"v0.4 agent with span events", V04, true, true},
		{"v0.4 agent without span events", V04, false, false},
		{"v0.5 never native", V05, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := ddtest.New(t, ddtest.WithSpanEvents(tt.spanEvents))
			e, _ := newTestExporter(t, agent, WithAPIVersion(tt.version))
			if e.disc != nil {
				// Start discovery and wait for its answer, so that the
				// export below does not depend on how fast /info answers.
				e.nativeEvents(context.Background())
				receive(t, e.disc.known, "the first /info check")
			}
			if err := e.ExportSpans(context.Background(), spanWithEvent()); err != nil {
				t.Fatal(err)
			}
			spans := agent.Spans()
			if len(spans) != 1 {
				t.Fatalf("agent got %d spans, want 1", len(spans))
			}
			s := spans[0]
			_, metaEvents := s.Meta["events"]
			_, metaLinks := s.Meta["_dd.span_links"]
			got := map[string]bool{
				"native events": len(s.SpanEvents) == 1, "native links": len(s.SpanLinks) == 1,
				"meta events": metaEvents, "meta links": metaLinks,
			}
			want := map[string]bool{
				"native events": tt.native, "native links": tt.native,
				"meta events": !tt.native, "meta links": !tt.native,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("where events and links went (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithHTTPClient(t *testing.T) {
	agent := ddtest.New(t)
	started := make(chan struct{}, 1)
	client := &http.Client{Transport: startedTransport{next: http.DefaultTransport, started: started}}
	e, _ := newTestExporter(t, agent, WithHTTPClient(client), WithAPIVersion(V05))
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	default:
		t.Error("the request did not go through the given client")
	}
}

func TestContainerIDDetected(t *testing.T) {
	const id = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860"
	agent := ddtest.New(t)
	e, err := newExporter(fakeEnv(nil, false, "0::/docker/"+id+"\n"), WithAgentURL(agent.URL()), WithAPIVersion(V05))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	if got := agent.Payloads()[0].Header.Get("Datadog-Container-ID"); got != id {
		t.Errorf("Datadog-Container-ID = %q, want %q", got, id)
	}
}

// The container as the Agent's origin detection reads it: the container ID
// in both headers when it is known, else the cgroup node's inode in
// Datadog-Entity-ID alone.
func TestContainerHeaders(t *testing.T) {
	const id = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860"
	for _, tc := range []struct {
		name  string
		files containerFiles
		opts  []Option
		want  map[string][]string
	}{
		{name: "cgroup v1", files: containerFiles{files: map[string]string{cgroupPath: "4:memory:/docker/" + id + "\n"}},
			want: map[string][]string{"Datadog-Container-Id": {id}, "Datadog-Entity-Id": {"ci-" + id}}},
		{name: "cgroup v2 in a private namespace: mountinfo",
			files: containerFiles{files: map[string]string{cgroupPath: "0::/\n",
				mountinfoPath: "99 98 0:1 /var/lib/docker/containers/" + id + "/hostname /etc/hostname rw - ext4 /dev/x rw\n"}},
			want: map[string][]string{"Datadog-Container-Id": {id}, "Datadog-Entity-Id": {"ci-" + id}}},
		{name: "cgroup v2 in a private namespace: the inode",
			files: containerFiles{files: map[string]string{cgroupPath: "0::/\n"}, inodes: map[string]uint64{cgroupMount: 8675309}},
			want:  map[string][]string{"Datadog-Entity-Id": {"in-8675309"}}},
		{name: "WithContainerID", files: containerFiles{files: map[string]string{cgroupPath: "4:memory:/docker/" + id + "\n"}},
			opts: []Option{WithContainerID("given")},
			want: map[string][]string{"Datadog-Container-Id": {"given"}, "Datadog-Entity-Id": {"ci-given"}}},
		{name: "WithContainerID empty: none", files: containerFiles{files: map[string]string{cgroupPath: "0::/\n"}, inodes: map[string]uint64{cgroupMount: 1}},
			opts: []Option{WithContainerID("")}, want: map[string][]string{}},
		{name: "not in a container", files: containerFiles{files: map[string]string{cgroupPath: "0::/user.slice\n"}},
			want: map[string][]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent := ddtest.New(t)
			e, err := newExporter(tc.files.env(), append([]Option{WithAgentURL(agent.URL())}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, k := range []string{"Datadog-Container-Id", "Datadog-Entity-Id"} {
				if v, ok := agent.Payloads()[0].Header[k]; ok {
					got[k] = v
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestShutdownRacingExports(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	const workers, rounds = 6, 20
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-ready
			for range rounds {
				_ = e.ExportSpans(context.Background(), makeSpans(1, 2))
			}
		})
	}
	close(ready)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	waitGroup(t, &wg, "the exports racing Shutdown")
	s := checkAccounting(t, e, workers*rounds*2)
	if got := uint64(len(agent.Spans())); got != s.SpansExported {
		t.Errorf("agent holds %d spans, stats say %d exported", got, s.SpansExported)
	}
	if s.Dropped.Shutdown+s.SpansExported != workers*rounds*2 {
		t.Errorf("stats = %+v, want every span exported or dropped at shutdown", s)
	}
}

// BenchmarkExportSpans measures a whole export: grouping, mapping,
// encoding and delivery. "loopback" posts to a raw httptest server that
// discards the body (ddtest's strict decoding would add its own cost and
// allocations); its numbers include the server's side. "inmemory" answers
// from a RoundTripper without a network, isolating the exporter's own cost.
func BenchmarkExportSpans(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"rate_by_service":{}}`)
	}))
	defer srv.Close()
	clients := []struct {
		name   string
		client *http.Client
	}{
		{"loopback", nil},
		{"inmemory", &http.Client{Transport: sinkTransport{}}},
	}
	for _, c := range clients {
		for _, v := range []APIVersion{V04, V05} {
			for _, n := range []int{1, 100, 512} {
				b.Run(c.name+"/"+v.String()+"/"+strconv.Itoa(n), func(b *testing.B) {
					e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL(srv.URL), WithAPIVersion(v),
						WithService("bench"), WithHTTPClient(c.client))
					if err != nil {
						b.Fatal(err)
					}
					defer e.Shutdown(context.Background())
					spans := exportBenchSpans(n)
					ctx := context.Background()
					if err := e.ExportSpans(ctx, spans); err != nil { // warm up: discovery, connection, buffers
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						if err := e.ExportSpans(ctx, spans); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
				})
			}
		}
	}
}

// sinkTransport reads each request's body and answers 200 without a network.
type sinkTransport struct{}

func (sinkTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	body := `{"rate_by_service":{}}`
	if r.URL.Path == "/info" {
		body = `{"span_events":true}`
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Body:       io.NopCloser(strings.NewReader(body)),
		Header:     http.Header{},
		Request:    r,
	}, nil
}

// exportBenchSpans returns n HTTP server spans in traces of up to 10 spans.
func exportBenchSpans(n int) []sdktrace.ReadOnlySpan {
	base := makeSpans((n+9)/10, 10)[:n]
	out := make([]sdktrace.ReadOnlySpan, n)
	for i, s := range base {
		stub := tracetest.SpanStubFromReadOnlySpan(s)
		stub.Name = "GET /users/{id}"
		stub.SpanKind = trace.SpanKindServer
		stub.Attributes = []attribute.KeyValue{
			attribute.String("http.request.method", "GET"),
			attribute.String("http.route", "/users/{id}"),
			attribute.String("url.full", "https://example.com/users/42"),
			attribute.Int("http.response.status_code", 200),
			attribute.String("user_agent.original", "bench/1.0"),
		}
		out[i] = stub.Snapshot()
	}
	return out
}

func TestRequestTimeoutIsRetried(t *testing.T) {
	agent := ddtest.New(t)
	agent.SetDelay(time.Hour)
	e, clk := newTestExporter(t, agent, WithTimeout(20*time.Millisecond))
	// The first attempt times out; the agent recovers during the backoff.
	e.wait = func(ctx context.Context, d time.Duration) error {
		agent.SetDelay(0)
		return clk.wait(ctx, d)
	}
	if err := e.ExportSpans(context.Background(), makeSpans(1, 2)); err != nil {
		t.Fatalf("ExportSpans = %v, want success on the second attempt", err)
	}
	if s := checkAccounting(t, e, 2); s.Requests != 2 || s.Retries != 1 || s.SpansExported != 2 {
		t.Errorf("stats = %+v, want 2 requests, 1 retry, 2 spans exported", s)
	}
}

func TestUnixSocketFromTheEnvironment(t *testing.T) {
	dir, err := os.MkdirTemp("", "dd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	agent := ddtest.New(t, ddtest.WithUnixSocket(filepath.Join(dir, "apm.sock")))
	t.Setenv("DD_TRACE_AGENT_URL", agent.URL())
	t.Setenv("DD_AGENT_HOST", "unused.invalid")
	e, err := New(WithAPIVersion(V05))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	if err := e.ExportSpans(context.Background(), makeSpans(1, 3)); err != nil {
		t.Fatal(err)
	}
	if got := len(agent.Spans()); got != 3 {
		t.Errorf("agent got %d spans, want 3", got)
	}
}

// TestExportAllocsPerBatch checks that an export's allocations do not grow
// with the number of spans: grouping, mapping and encoding reuse the
// encoder's memory, and delivery costs a fixed amount per request.
func TestExportAllocsPerBatch(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	allocs := func(v APIVersion, n int) float64 {
		e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL("http://agent.invalid:8126"),
			WithAPIVersion(v), WithHTTPClient(&http.Client{Transport: sinkTransport{}}))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Shutdown(context.Background())
		spans := exportBenchSpans(n)
		ctx := context.Background()
		if err := e.ExportSpans(ctx, spans); err != nil { // warm up
			t.Fatal(err)
		}
		return testing.AllocsPerRun(50, func() {
			if err := e.ExportSpans(ctx, spans); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, v := range []APIVersion{V04, V05} {
		one, many := allocs(v, 1), allocs(v, 512)
		t.Logf("%s: %.0f allocations for 1 span, %.0f for 512", v, one, many)
		if many > one+2 {
			t.Errorf("%s: %.0f allocations for 512 spans, %.0f for 1: want the same, per batch", v, many, one)
		}
		if one > 60 {
			t.Errorf("%s: %.0f allocations per export, want at most 60", v, one)
		}
	}
}
