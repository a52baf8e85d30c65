package ddexport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/seed03c8c003/ddslog/internal/stats"
)

// Version is the version of this library, sent to the Agent as
// Datadog-Meta-Tracer-Version.
const Version = "0.1.0"

// Limits of what is read from the Agent's answers.
const (
	maxResponseBytes = 256 << 10 // a 200's rate_by_service, /info
	maxReasonBytes   = 512       // the text quoted from an error response
	maxDrainBytes    = 256 << 10 // read and discarded to keep the connection
	infoTimeout      = 2 * time.Second
)

// transport delivers encoded payloads to the Agent over HTTP or a unix
// socket. It is safe for concurrent use.
type transport struct {
	client      *http.Client
	ownClient   bool // made here, so its idle connections are closed on shutdown
	tracesURL   string
	statsURL    string
	infoURL     string
	header      http.Header // static headers of trace requests, shared read-only
	statsHeader http.Header // static headers of stats requests, shared read-only
	timeout     time.Duration
}

func newTransport(ep endpoint, v APIVersion, c config, ids containerIDs) *transport {
	t := &transport{
		client:    c.client,
		tracesURL: ep.base + v.path(),
		statsURL:  ep.base + "/v0.6/stats",
		infoURL:   ep.base + "/info",
		timeout:   c.timeout,
		statsHeader: http.Header{
			"Content-Type":                  {"application/msgpack"},
			"Datadog-Meta-Lang":             {"go"},
			"Datadog-Meta-Lang-Version":     {strings.TrimPrefix(runtime.Version(), "go")},
			"Datadog-Meta-Lang-Interpreter": {runtime.Compiler + "-" + runtime.GOARCH + "-" + runtime.GOOS},
			"Datadog-Meta-Tracer-Version":   {Version},
		},
	}
	if ids.container != "" {
		t.statsHeader["Datadog-Container-Id"] = []string{ids.container}
	}
	if ids.entity != "" {
		t.statsHeader["Datadog-Entity-Id"] = []string{ids.entity}
	}
	t.header = maps.Clone(t.statsHeader)
	t.header["Datadog-Send-Real-Http-Status"] = []string{"true"}
	// Every span carries its own top-level mark (_dd.top_level): the Agent
	// must not compute its own per chunk.
	t.header["Datadog-Client-Computed-Top-Level"] = []string{"yes"}
	if t.client == nil {
		t.client = &http.Client{Transport: newHTTPTransport(ep.socket)}
		t.ownClient = true
	}
	return t
}

// newHTTPTransport returns a keep-alive transport; for a unix socket it
// dials the socket whatever the request's host.
func newHTTPTransport(socket string) *http.Transport {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if socket == "" {
		tr.DialContext = d.DialContext
	} else {
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		}
	}
	return tr
}

func (t *transport) close() {
	if t.ownClient {
		t.client.CloseIdleConnections()
	}
}

// response is what one request to the traces endpoint came to.
type response struct {
	status     int           // 0 when no response arrived
	retryAfter time.Duration // from Retry-After, when present
	reason     string        // the start of an error response's body
	rates      map[string]float64
	hasRates   bool
}

// request is what varies between the requests of the transport.
type request struct {
	stats bool // to /v0.6/stats; else to the traces endpoint
	// Trace requests only.
	traceCount    int
	computedStats bool   // Datadog-Client-Computed-Stats: yes
	droppedTraces uint64 // Datadog-Client-Dropped-P0-Traces, when > 0
	droppedSpans  uint64 // Datadog-Client-Dropped-P0-Spans, when > 0
}

// send posts one payload. It returns an error only when no response
// arrived (connection error, timeout, cancellation).
func (t *transport) send(ctx context.Context, r request, body []byte, now time.Time) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	url, header := t.tracesURL, t.header
	if r.stats {
		url, header = t.statsURL, t.statsHeader
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return response{}, err
	}
	g := &bodyGuard{b: body}
	req.Body = &bodyReader{g: g}
	req.GetBody = func() (io.ReadCloser, error) { return &bodyReader{g: g}, nil }
	req.ContentLength = int64(len(body))
	req.Header = make(http.Header, len(header)+4)
	maps.Copy(req.Header, header)
	if !r.stats {
		req.Header["X-Datadog-Trace-Count"] = []string{strconv.Itoa(r.traceCount)}
		if r.computedStats {
			req.Header["Datadog-Client-Computed-Stats"] = []string{"yes"}
		}
		if r.droppedTraces > 0 || r.droppedSpans > 0 {
			req.Header["Datadog-Client-Dropped-P0-Traces"] = []string{strconv.FormatUint(r.droppedTraces, 10)}
			req.Header["Datadog-Client-Dropped-P0-Spans"] = []string{strconv.FormatUint(r.droppedSpans, 10)}
		}
	}
	resp, err := t.client.Do(req)
	// The body is the encoder's buffer, reused after this call: whatever
	// the HTTP transport still does in the background must not read it.
	g.finish()
	if err != nil {
		return response{}, err
	}
	defer closeBody(resp.Body)
	out := response{status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if !r.stats {
			out.rates, out.hasRates = parseRates(resp.Body)
		}
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxReasonBytes))
		out.reason = cleanReason(b)
		out.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return out, nil
}

// closeBody drains a little of what is left, so the connection can be
// reused, and closes the body.
func closeBody(b io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(b, maxDrainBytes))
	_ = b.Close()
}

func parseRates(r io.Reader) (map[string]float64, bool) {
	b, err := io.ReadAll(io.LimitReader(r, maxResponseBytes))
	if err != nil || len(b) == 0 {
		return nil, false
	}
	var v struct {
		RateByService map[string]float64 `json:"rate_by_service"`
	}
	if json.Unmarshal(b, &v) != nil || v.RateByService == nil {
		return nil, false
	}
	return v.RateByService, true
}

// cleanReason makes an error response's body printable and short.
func cleanReason(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(time.Hour/time.Second) {
			n = int64(time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, time.Hour)
		}
	}
	return 0
}

// agentInfo is what the Agent's /info says that matters here.
type agentInfo struct {
	// spanEvents: it understands native span events and links (v0.4).
	spanEvents bool
	// statsEndpoint: it serves /v0.6/stats; dropP0s: it lets a client that
	// computes stats drop priority-0 traces (client_drop_p0s).
	statsEndpoint, dropP0s bool
	// peerTags are the span tags it aggregates client stats by; nil when
	// it lists none.
	peerTags *stats.PeerTagKeys
}

// clientStats reports whether the Agent allows client-side stats with
// priority-0 traces dropped: both are needed, or the Agent would compute
// no stats for traces it never sees.
func (i *agentInfo) clientStats() bool {
	return i != nil && i.statsEndpoint && i.dropP0s
}

// info asks the Agent's /info what it understands. A 404 is an answer (an
// Agent too old to have /info: nothing).
func (t *transport) info(ctx context.Context) (agentInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, min(t.timeout, infoTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.infoURL, nil)
	if err != nil {
		return agentInfo{}, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return agentInfo{}, err
	}
	defer closeBody(resp.Body)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return agentInfo{}, nil
	case resp.StatusCode != http.StatusOK:
		return agentInfo{}, errors.New("ddexport: agent /info answered " + strconv.Itoa(resp.StatusCode))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return agentInfo{}, err
	}
	var v struct {
		SpanEvents    bool     `json:"span_events"`
		Endpoints     []string `json:"endpoints"`
		ClientDropP0s bool     `json:"client_drop_p0s"`
		PeerTags      []string `json:"peer_tags"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return agentInfo{}, errors.New("ddexport: agent /info: " + err.Error())
	}
	return agentInfo{
		spanEvents:    v.SpanEvents,
		statsEndpoint: slices.Contains(v.Endpoints, "/v0.6/stats"),
		dropP0s:       v.ClientDropP0s,
		peerTags:      stats.NewPeerTagKeys(v.PeerTags),
	}, nil
}

// bodyGuard shares a request body with the HTTP transport until finish:
// after it, reads fail instead of touching memory that is being reused.
type bodyGuard struct {
	mu   sync.Mutex
	b    []byte
	done bool
}

func (g *bodyGuard) finish() {
	g.mu.Lock()
	g.done, g.b = true, nil
	g.mu.Unlock()
}

var errBodyReleased = errors.New("ddexport: request body released")

// bodyReader reads a bodyGuard's bytes; each reader has its own offset
// (GetBody makes fresh ones for the transport's own retries).
type bodyReader struct {
	g   *bodyGuard
	off int
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	if r.g.done {
		return 0, errBodyReleased
	}
	if r.off >= len(r.g.b) {
		return 0, io.EOF
	}
	n := copy(p, r.g.b[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error { return nil }

// discovery learns, in the background, whether the Agent understands native
// span events (v0.4 only). It runs at most one goroutine, started by the
// first export and stopped by Shutdown; until it knows, the answer is no.
type discovery struct {
	t          *transport
	interval   time.Duration // between checks after a success
	retryAfter time.Duration // between checks after a failure
	minGap     time.Duration // between checks asked for by failed requests

	// fastInterval replaces interval while client stats are on, so that
	// the Agent withdrawing them is noticed within seconds (as
	// dd-trace-go polls /info).
	fastInterval time.Duration
	wantFast     bool // the exporter computes client stats when allowed

	// Injected in tests.
	now     func() time.Time
	after   func(time.Duration) <-chan time.Time
	onCheck func(native bool, err error) // called after each completed check

	native  atomic.Bool
	info    atomic.Pointer[agentInfo] // the last answer; nil before the first
	known   chan struct{}             // closed after the first check, whatever its outcome
	recheck chan struct{}             // capacity 1: a failed request asks for a check
	done    chan struct{}             // closed when the goroutine ends
}

func newDiscovery(t *transport) *discovery {
	return &discovery{
		t:            t,
		interval:     5 * time.Minute,
		fastInterval: 5 * time.Second,
		retryAfter:   30 * time.Second,
		minGap:       10 * time.Second,
		now:          time.Now,
		after:        time.After,
		known:        make(chan struct{}),
		recheck:      make(chan struct{}, 1),
		done:         make(chan struct{}),
	}
}

func (d *discovery) run(ctx context.Context) {
	defer close(d.done)
	first := true
	for {
		info, err := d.t.info(ctx)
		on := info.spanEvents
		if ctx.Err() != nil {
			if first {
				close(d.known)
			}
			return
		}
		// The gap before an early re-check counts from here, before anyone
		// hears of this check's outcome.
		last := d.now()
		if err == nil {
			d.native.Store(on)
			d.info.Store(&info)
		}
		if d.onCheck != nil {
			d.onCheck(on, err)
		}
		// On failure the last answer stands: an Agent that understood span
		// events a minute ago still does.
		if first {
			close(d.known)
			first = false
		}
		wait := d.interval
		switch {
		case err != nil:
			wait = d.retryAfter
		case d.wantFast && info.clientStats():
			wait = d.fastInterval
		}
		timer := d.after(wait)
	waiting:
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer:
				break waiting
			case <-d.recheck:
				if d.now().Sub(last) >= d.minGap {
					break waiting
				}
			}
		}
	}
}

// requestCheck asks for an early check, without blocking.
func (d *discovery) requestCheck() {
	select {
	case d.recheck <- struct{}{}:
	default:
	}
}
