package ddtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Span is one span as the Agent decoded it, in plain Go types. Empty maps
// and slices are nil.
type Span struct {
	Service    string
	Name       string
	Resource   string
	Type       string
	TraceID    uint64
	SpanID     uint64
	ParentID   uint64
	Start      int64
	Duration   int64
	Error      int32
	Meta       map[string]string
	Metrics    map[string]float64
	MetaStruct map[string][]byte
	SpanLinks  []SpanLink
	SpanEvents []SpanEvent
}

// SpanLink is a native v0.4 span link.
type SpanLink struct {
	TraceID     uint64
	TraceIDHigh uint64
	SpanID      uint64
	Attributes  map[string]string
	Tracestate  string
	Flags       uint32
}

// SpanEvent is a native v0.4 span event.
type SpanEvent struct {
	TimeUnixNano uint64
	Name         string
	Attributes   map[string]AttributeValue
}

// AttributeValue is a typed span event attribute value.
type AttributeValue struct {
	Type        AttributeType
	StringValue string
	BoolValue   bool
	IntValue    int64
	DoubleValue float64
	ArrayValue  []AttributeValue
}

// AttributeType is the wire type tag of an AttributeValue.
type AttributeType int32

// Attribute types, as numbered on the wire.
const (
	StringType AttributeType = 0
	BoolType   AttributeType = 1
	IntType    AttributeType = 2
	DoubleType AttributeType = 3
	ArrayType  AttributeType = 4
)

// Payload is one accepted request to a traces endpoint. Its
// [Payload.ClientHeaders] are the client-stats headers as the Agent reads
// them.
type Payload struct {
	Path   string      // "/v0.4/traces" or "/v0.5/traces"
	Header http.Header // the request headers
	Chunks [][]Span    // decoded chunks, in wire order

	// Notes says what the Agent does with the payload beyond decoding it:
	// chunks it drops after answering 200 (a span_id of 0, no spans) and
	// spans it moves into their chunk's trace. Chunks above is the payload
	// as sent; Spans and WaitSpans return what the Agent keeps. A payload
	// that says its stats were computed by the client while /info did not
	// allow client stats gets a note too: the Agent computes no stats for
	// its spans.
	Notes []string
}

// ClientHeaders are the client-stats headers of a trace request, read as
// the Agent reads them.
type ClientHeaders struct {
	// ComputedStats is Datadog-Client-Computed-Stats: the client computed
	// the APM stats of these spans, so the Agent computes none.
	ComputedStats bool
	// ComputedTopLevel is Datadog-Client-Computed-Top-Level: the Agent
	// trusts the spans' _dd.top_level instead of computing top-level spans
	// per chunk.
	ComputedTopLevel bool
	// DroppedP0Traces and DroppedP0Spans are Datadog-Client-Dropped-P0-Traces
	// and -Spans: the priority-0 traces and spans the client dropped since
	// its previous payload (0 when absent or not a decimal integer).
	DroppedP0Traces int64
	DroppedP0Spans  int64
}

// ClientHeaders returns the payload's client-stats headers. A flag is set
// when its header is present and not a false value of strconv.ParseBool
// ("yes" and "t" are true, as for the Agent).
func (p *Payload) ClientHeaders() ClientHeaders {
	return ClientHeaders{
		ComputedStats:    headerTrue(p.Header.Get("Datadog-Client-Computed-Stats")),
		ComputedTopLevel: headerTrue(p.Header.Get("Datadog-Client-Computed-Top-Level")),
		DroppedP0Traces:  headerInt(p.Header.Get("Datadog-Client-Dropped-P0-Traces")),
		DroppedP0Spans:   headerInt(p.Header.Get("Datadog-Client-Dropped-P0-Spans")),
	}
}

// headerTrue is the Agent's isHeaderTrue: empty is false, a value
// strconv.ParseBool cannot read is true.
func headerTrue(v string) bool {
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// headerInt reads a drop count as the Agent does: a decimal int64, else 0.
func headerInt(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Rejection is one request the agent refused.
type Rejection struct {
	Path   string // "/v0.4/traces", "/v0.5/traces" or "/v0.6/stats"
	Status int    // 400 (undecodable; a stats body too large), 403 (cross-site), 405 (method) or 413 (a trace body too large)
	Reason string // why, in words
}

// ErrClosed is returned by WaitSpans and WaitRequests when the agent is
// closed before what they wait for has arrived.
var ErrClosed = errors.New("ddtest: agent closed")

// Agent is a fake Datadog Agent serving /v0.4/traces, /v0.5/traces,
// /v0.6/stats and /info. It is safe for concurrent use.
type Agent struct {
	cfg config

	srv  *http.Server
	url  string
	done chan struct{} // closed when Serve returns

	closing   chan struct{} // closed by Close; ends delays and waits
	closeOnce sync.Once
	closeErr  error
	handlers  sync.WaitGroup // requests being handled; Add under mu while !closed
	// conns counts the server's connections until their goroutine ends
	// (StateClosed or StateHijacked); Add runs in Serve's goroutine only.
	conns sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	changed    chan struct{} // closed and replaced when spans or requests arrive
	payloads   []Payload
	spans      []Span
	rejections []Rejection
	requests   int
	failN      int
	failStatus int
	failRetry  time.Duration
	dropN      int
	delay      time.Duration
	spanEvents bool
	rates      map[string]float64

	stats         []StatsPayload
	statsFailN    int
	statsFailCode int
	statsEndpoint bool     // /info lists /v0.6/stats
	dropP0s       bool     // /info says client_drop_p0s
	peerTags      []string // /info peer_tags
}

// Start starts an agent on loopback (or the configured unix socket).
func Start(opts ...Option) (*Agent, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	var (
		ln  net.Listener
		err error
		url string
	)
	if cfg.socket != "" {
		ln, err = net.Listen("unix", cfg.socket)
		url = "unix://" + cfg.socket
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			url = "http://" + ln.Addr().String()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ddtest: listen: %w", err)
	}
	a := &Agent{
		cfg:        cfg,
		url:        url,
		done:       make(chan struct{}),
		closing:    make(chan struct{}),
		changed:    make(chan struct{}),
		spanEvents: cfg.spanEvents,
		rates:      copyRates(cfg.rates),

		statsEndpoint: cfg.statsEndpoint,
		dropP0s:       cfg.dropP0s,
		peerTags:      cfg.peerTags,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v0.4/traces", func(w http.ResponseWriter, r *http.Request) { a.handleTraces(w, r, apiV04) })
	mux.HandleFunc("/v0.5/traces", func(w http.ResponseWriter, r *http.Request) { a.handleTraces(w, r, apiV05) })
	mux.HandleFunc("/v0.6/stats", a.handleStats)
	mux.HandleFunc("/info", a.handleInfo)
	a.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// Malformed requests are part of the job; keep them off stderr.
		ErrorLog:  log.New(io.Discard, "", 0),
		ConnState: a.connState,
	}
	go func() {
		defer close(a.done)
		_ = a.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return a, nil
}

// New starts an agent for a test and closes it in tb.Cleanup; it fails the
// test if the agent cannot start.
func New(tb testing.TB, opts ...Option) *Agent {
	tb.Helper()
	a, err := Start(opts...)
	if err != nil {
		tb.Fatalf("ddtest: start agent: %v", err)
	}
	tb.Cleanup(func() {
		if err := a.Close(); err != nil {
			tb.Errorf("ddtest: close agent: %v", err)
		}
	})
	return a
}

// URL is the agent's address, usable as ddexport.WithAgentURL or
// DD_TRACE_AGENT_URL: "http://127.0.0.1:port" or "unix:///path".
func (a *Agent) URL() string { return a.url }

// Close stops the agent and waits for its goroutines. Delayed requests
// end at once and, like requests being handled, get their answer before
// the connections close; requests arriving meanwhile get 503. A connection
// whose request body was refused unread can hold Close up for half a
// second: net/http lingers on it so that the client reads the answer.
// Close is idempotent.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		close(a.closing) // ends delays
		// Let running handlers finish: each flushes its complete answer
		// before it returns. Then close every connection at once, idle or
		// not: http.Server.Shutdown would wait for connections a client
		// opened without sending a request.
		idle := make(chan struct{})
		go func() {
			a.handlers.Wait()
			close(idle)
		}()
		select {
		case <-idle:
		case <-time.After(closeGrace):
			// A client is stalling in the middle of a body.
		}
		if err := a.srv.Close(); err != nil {
			a.closeErr = fmt.Errorf("ddtest: close: %w", err)
		}
		<-a.done
		<-idle
		// srv.Close closed every connection, but net/http lingers on one
		// whose request body was left unread (up to 500 ms) before its
		// goroutine ends. Serve has returned: no connection is added.
		a.conns.Wait()
	})
	return a.closeErr
}

// connState tracks the server's connections for Close.
func (a *Agent) connState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		a.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		a.conns.Done()
	}
}

// closeGrace bounds how long Close waits for running handlers before it
// closes their connections.
const closeGrace = 5 * time.Second

// Payloads returns a copy of every accepted payload so far, the caller's
// to change.
func (a *Agent) Payloads() []Payload {
	a.mu.Lock()
	defer a.mu.Unlock()
	return clonePayloads(a.payloads)
}

// Spans returns a copy of every accepted span so far, in arrival order,
// the caller's to change. Chunks the Agent would drop are left out, and
// spans the Agent would move into another trace carry that trace's ID
// (see Payload.Notes).
func (a *Agent) Spans() []Span {
	a.mu.Lock()
	defer a.mu.Unlock()
	return cloneSpans(a.spans)
}

// WaitSpans waits until at least n spans were accepted and returns them all
// (a copy, as Spans), or returns ctx's error. It returns ErrClosed if the agent is closed first.
func (a *Agent) WaitSpans(ctx context.Context, n int) ([]Span, error) {
	var spans []Span
	err := a.wait(ctx, func() bool {
		if len(a.spans) < n {
			return false
		}
		spans = cloneSpans(a.spans)
		return true
	})
	return spans, err
}

// WaitRequests waits until at least n requests reached the traces endpoints
// (see Requests) and returns that count, or returns ctx's error. It returns
// ErrClosed if the agent is closed first. It lets a test wait for a client's
// retries.
func (a *Agent) WaitRequests(ctx context.Context, n int) (int, error) {
	var got int
	err := a.wait(ctx, func() bool {
		got = a.requests
		return got >= n
	})
	return got, err
}

// wait waits until done, called with a.mu held, returns true.
func (a *Agent) wait(ctx context.Context, done func() bool) error {
	for {
		a.mu.Lock()
		if done() {
			a.mu.Unlock()
			return nil
		}
		changed := a.changed
		a.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-a.closing:
			return ErrClosed
		}
	}
}

// Rejections returns every refused request so far.
func (a *Agent) Rejections() []Rejection {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Rejection(nil), a.rejections...)
}

// Requests returns how many requests reached the traces endpoints (accepted,
// rejected or failed by injection).
func (a *Agent) Requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

// Reset forgets payloads (of traces and stats), rejections and counters,
// and cancels pending faults (FailNext, FailNextStats, DropNext and
// SetDelay). Rates and what /info says are kept.
func (a *Agent) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.payloads = nil
	a.stats = nil
	a.statsFailN, a.statsFailCode = 0, 0
	a.spans = nil
	a.rejections = nil
	a.requests = 0
	a.failN, a.failStatus, a.failRetry = 0, 0, 0
	a.dropN = 0
	a.delay = 0
}

// SetSpanEvents changes what /info advertises.
func (a *Agent) SetSpanEvents(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.spanEvents = on
}

// SetClientStats changes what /info says about client-side stats (see
// [WithClientStats]).
func (a *Agent) SetClientStats(endpoint, dropP0s bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.statsEndpoint, a.dropP0s = endpoint, dropP0s
}

// SetPeerTags changes the peer_tags list of /info (see [WithPeerTags]).
// The slice is copied.
func (a *Agent) SetPeerTags(keys []string) {
	keys = copyTags(keys)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.peerTags = keys
}

// Stats returns a copy of every accepted /v0.6/stats payload so far, the
// caller's to change.
func (a *Agent) Stats() []StatsPayload {
	a.mu.Lock()
	defer a.mu.Unlock()
	return cloneStats(a.stats)
}

// WaitStats waits until at least n stats payloads were accepted and returns
// them all (a copy, as Stats), or returns ctx's error. It returns ErrClosed if the agent is
// closed first.
func (a *Agent) WaitStats(ctx context.Context, n int) ([]StatsPayload, error) {
	var stats []StatsPayload
	err := a.wait(ctx, func() bool {
		if len(a.stats) < n {
			return false
		}
		stats = cloneStats(a.stats)
		return true
	})
	return stats, err
}

// FailNextStats makes the next n /v0.6/stats requests fail with status
// (after reading the body); the payload is not recorded. A status outside
// 200–999 is taken as 500; a later call replaces the pending failures.
func (a *Agent) FailNextStats(n int, status int) {
	if status < 200 || status > 999 {
		status = http.StatusInternalServerError
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.statsFailN, a.statsFailCode = max(n, 0), status
}

// SetRates changes the rate_by_service answer.
func (a *Agent) SetRates(rates map[string]float64) {
	rates = copyRates(rates)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rates = rates
}

// FailNext makes the next n trace requests fail with status (the body is
// read and discarded first); retryAfter, when positive, is sent as the
// Retry-After header in whole seconds (rounded up).
//
// A 2xx status imitates an overloaded Agent: the payload is dropped and the
// answer carries the usual rate_by_service body. A status outside 200–999
// is taken as 500 (an informational 1xx would reach the client as the 200
// that follows it). A later call replaces the pending failures.
func (a *Agent) FailNext(n int, status int, retryAfter time.Duration) {
	if status < 200 || status > 999 {
		status = http.StatusInternalServerError
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failN, a.failStatus, a.failRetry = max(n, 0), status, retryAfter
}

// DropNext makes the agent close the connection of the next n trace requests
// without answering. Drops are served before failures from FailNext. A
// later call replaces the pending drops.
func (a *Agent) DropNext(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropN = max(n, 0)
}

// SetDelay makes every trace request wait d (or until the request's context
// ends) before being answered. Zero removes the delay.
//
// The body is read first. A request whose client gives up during the delay
// is dropped unanswered, like the Agent does: counted by Requests, neither
// accepted nor rejected. Close ends every delay; the requests are then
// answered normally.
func (a *Agent) SetDelay(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delay = max(d, 0)
}

// copyTags copies a list, keeping nil as nil (no peer_tags).
func copyTags(tags []string) []string {
	if tags == nil {
		return nil
	}
	return append([]string{}, tags...)
}

func copyRates(rates map[string]float64) map[string]float64 {
	m := make(map[string]float64, len(rates))
	for k, v := range rates {
		m[k] = v
	}
	return m
}

// Traces returns the spans the Agent keeps grouped by trace ID, each trace
// in arrival order (a copy, as Spans). The key is the low 64 bits of the trace ID, as in
// Span.TraceID; the high 64 bits travel in the "_dd.p.tid" meta of the
// chunk's spans (see TraceIDHigh) and are not part of the key, so two
// traces whose IDs differ only in their high halves would share a key.
func (a *Agent) Traces() map[uint64][]Span {
	a.mu.Lock()
	defer a.mu.Unlock()
	traces := make(map[uint64][]Span)
	for _, s := range a.spans {
		traces[s.TraceID] = append(traces[s.TraceID], cloneSpan(s))
	}
	return traces
}

// TraceIDHigh returns the high 64 bits of s's 128-bit trace ID, read from
// its "_dd.p.tid" meta (16 hex digits), and whether s carries a valid one.
func TraceIDHigh(s Span) (uint64, bool) {
	tid, ok := s.Meta["_dd.p.tid"]
	if !ok || len(tid) != 16 {
		return 0, false
	}
	hi, err := strconv.ParseUint(tid, 16, 64)
	return hi, err == nil
}
