package ddexport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"3", 3 * time.Second},
		{" 12 ", 12 * time.Second},
		{"999999", time.Hour},
		{"soon", 0},
		{"Sun, 22 Nov 2026 10:00:30 GMT", 30 * time.Second},
		{"Sun, 22 Nov 2026 09:00:00 GMT", 0},
		{"Mon, 23 Nov 2026 10:00:00 GMT", time.Hour},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestCleanReason(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"  msgp: attempted to decode type \"bool\" with method for \"int\"\n", `msgp: attempted to decode type "bool" with method for "int"`},
		{"a\x00b\tc", "a b c"},
		{"bad \xff utf8", "bad   utf8"},
		{strings.Repeat("x", 300), strings.Repeat("x", 200) + "..."},
		{strings.Repeat("x", 199) + "é", strings.Repeat("x", 199) + "..."},
	}
	for _, tt := range tests {
		if got := cleanReason([]byte(tt.in)); got != tt.want {
			t.Errorf("cleanReason(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBodyGuard(t *testing.T) {
	buf := []byte("payload")
	g := &bodyGuard{b: buf}
	r1, r2 := &bodyReader{g: g}, &bodyReader{g: g}
	p := make([]byte, 3)
	if n, err := r1.Read(p); n != 3 || err != nil || string(p) != "pay" {
		t.Fatalf("Read = %d, %v, %q", n, err, p[:n])
	}
	all, err := io.ReadAll(r2)
	if err != nil || string(all) != "payload" {
		t.Fatalf("second reader read %q, %v; want its own full copy", all, err)
	}
	g.finish()
	buf[0] = 'X' // the encoder reuses its buffer
	if n, err := r1.Read(p); n != 0 || !errors.Is(err, errBodyReleased) {
		t.Errorf("Read after finish = %d, %v; want 0, errBodyReleased", n, err)
	}
}

// TestResponseBodyLimited answers 200 with an endless body. A raw httptest
// server is needed: ddtest answers like the Agent, with short bodies.
func TestResponseBodyLimited(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v0.4/traces" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		chunk := []byte(`{"rate_by_service":{"service:,env:":1}` + strings.Repeat(" ", 4096))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL(srv.URL), WithAPIVersion(V04))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	if got := e.SampleRates(); got != nil {
		t.Errorf("SampleRates = %v, want none from an over-long answer", got)
	}
	if s := checkAccounting(t, e, 1); s.SpansExported != 1 {
		t.Errorf("stats = %+v, want 1 exported", s)
	}
}

// TestInfoNotFound checks that an Agent without /info (older than 7.x) is
// taken as not understanding native span events. A raw httptest server is
// needed: ddtest always serves /info.
func TestInfoNotFound(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	tr := newTransport(endpoint{base: srv.URL}, V04, newConfig(nil), containerIDs{})
	defer tr.close()
	info, err := tr.info(context.Background())
	if info != (agentInfo{}) || err != nil {
		t.Errorf("info = %+v, %v; want nothing understood, no error", info, err)
	}
}

// TestInfo reads what /info says of span events, client-side stats and
// peer tags.
func TestInfo(t *testing.T) {
	type got struct {
		SpanEvents, StatsEndpoint, DropP0s, ClientStats bool
		PeerTags                                        []string
	}
	for _, tt := range []struct {
		opts []ddtest.Option
		want got
	}{
		{[]ddtest.Option{ddtest.WithSpanEvents(true)}, got{SpanEvents: true}},
		{[]ddtest.Option{ddtest.WithSpanEvents(false)}, got{}},
		{[]ddtest.Option{ddtest.WithClientStats(true, false)}, got{SpanEvents: true, StatsEndpoint: true}},
		{[]ddtest.Option{ddtest.WithClientStats(true, true), ddtest.WithPeerTags("peer.service", "db.instance")},
			got{SpanEvents: true, StatsEndpoint: true, DropP0s: true, ClientStats: true, PeerTags: []string{"db.instance", "peer.service"}}},
	} {
		agent := ddtest.New(t, tt.opts...)
		e, _ := newTestExporter(t, agent)
		info, err := e.t.info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		g := got{info.spanEvents, info.statsEndpoint, info.dropP0s, info.clientStats(), info.peerTags.Keys()}
		if diff := cmp.Diff(tt.want, g); diff != "" {
			t.Errorf("info (-want +got):\n%s", diff)
		}
	}
}

type check struct {
	native bool
	ok     bool
}

// discoveryHarness replaces the discovery's timer and clock and reports
// each completed check.
func discoveryHarness(e *Exporter) (tick chan time.Time, checks chan check, clk *clock) {
	tick = make(chan time.Time)
	checks = make(chan check, 16)
	clk = &clock{t: time.Now()}
	e.disc.after = func(time.Duration) <-chan time.Time { return tick }
	e.disc.now = clk.now
	e.disc.onCheck = func(native bool, err error) { checks <- check{native, err == nil} }
	return tick, checks, clk
}

func TestDiscovery(t *testing.T) {
	agent := ddtest.New(t, ddtest.WithSpanEvents(true))
	e, _ := newTestExporter(t, agent, WithRetry(RetryConfig{}))
	tick, checks, clk := discoveryHarness(e)
	if e.disc.native.Load() {
		t.Fatal("native span events before any check")
	}

	// The first export starts discovery and waits for its first answer.
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	if c := receive(t, checks, "the first check"); c != (check{native: true, ok: true}) {
		t.Errorf("first check = %+v, want native", c)
	}
	if !e.disc.native.Load() {
		t.Error("native span events not enabled after the agent advertised them")
	}

	// Periodic re-check: the agent changed its mind.
	agent.SetSpanEvents(false)
	send(t, tick, time.Now(), "the periodic check's tick")
	if c := receive(t, checks, "the periodic check"); c != (check{native: false, ok: true}) {
		t.Errorf("periodic check = %+v, want not native", c)
	}

	// A failed request asks for an early check, once the minimum gap passed.
	agent.SetSpanEvents(true)
	clk.wait(context.Background(), e.disc.minGap)
	agent.FailNext(1, 503, 0)
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err == nil {
		t.Fatal("export succeeded despite the 503")
	}
	if c := receive(t, checks, "the check after a failed request"); c != (check{native: true, ok: true}) {
		t.Errorf("check after a failed request = %+v, want native", c)
	}
}

func TestDiscoveryFailureKeepsTheLastAnswer(t *testing.T) {
	agent := ddtest.New(t, ddtest.WithSpanEvents(true))
	e, _ := newTestExporter(t, agent)
	tick, checks, _ := discoveryHarness(e)
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	receive(t, checks, "the first check")
	// The agent goes away: checks fail, the last answer stands.
	if err := agent.Close(); err != nil {
		t.Fatal(err)
	}
	send(t, tick, time.Now(), "the periodic check's tick")
	if c := receive(t, checks, "the check with the agent down"); c.ok || !e.disc.native.Load() {
		t.Errorf("check with the agent down = %+v, native %v; want a failure keeping native", c, e.disc.native.Load())
	}
}

// TestNoNativeEventsOnV05: v0.5 has no place for native events, whatever
// /info says (which a v0.5 exporter reads for client-side stats).
func TestNoNativeEventsOnV05(t *testing.T) {
	agent := ddtest.New(t, ddtest.WithSpanEvents(true))
	e, _ := newTestExporter(t, agent, WithAPIVersion(V05))
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	if e.nativeEvents(context.Background()) {
		t.Error("native events on v0.5")
	}
}

func TestDiscoveryStoppedByShutdown(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.disc.done:
	default:
		t.Error("the discovery goroutine outlived Shutdown")
	}
}

func TestHeadersDoNotLeakBetweenRequests(t *testing.T) {
	agent := ddtest.New(t)
	e, _ := newTestExporter(t, agent)
	for _, n := range []int{3, 1} {
		if err := e.ExportSpans(context.Background(), makeSpans(n, 1)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, p := range agent.Payloads() {
		got = append(got, p.Header.Get("X-Datadog-Trace-Count"))
	}
	if diff := cmp.Diff([]string{"3", "1"}, got); diff != "" {
		t.Errorf("trace counts (-want +got):\n%s", diff)
	}
	if got := e.t.header.Get("X-Datadog-Trace-Count"); got != "" {
		t.Errorf("the shared header map was changed: X-Datadog-Trace-Count = %q", got)
	}
}
