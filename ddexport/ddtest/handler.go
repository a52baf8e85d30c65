package ddtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// apiVersion is the traces endpoint a request reached.
type apiVersion uint8

const (
	apiV04 apiVersion = iota
	apiV05
)

func (v apiVersion) path() string {
	if v == apiV05 {
		return "/v0.5/traces"
	}
	return "/v0.4/traces"
}

// fault is what FailNext, DropNext and SetDelay decided for one request.
type fault struct {
	drop       bool
	status     int
	retryAfter time.Duration
	delay      time.Duration
}

// enter registers a running handler. It reports false when the agent is
// closing; otherwise the caller must call a.handlers.Done when it returns.
func (a *Agent) enter() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.handlers.Add(1)
	return true
}

// begin counts a trace request and takes its share of the pending faults.
// It reports false when the agent is closing.
func (a *Agent) begin() (fault, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fault{}, false
	}
	a.handlers.Add(1)
	a.requests++
	a.notify()
	f := fault{delay: a.delay}
	switch {
	case a.dropN > 0:
		a.dropN--
		f.drop = true
	case a.failN > 0:
		a.failN--
		f.status, f.retryAfter = a.failStatus, a.failRetry
	}
	return f, true
}

// sleep waits d, or less if the agent closes; it reports false if the
// request's context ended first.
func (a *Agent) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-a.closing:
	case <-ctx.Done():
		return false
	}
	return true
}

func (a *Agent) handleTraces(w http.ResponseWriter, r *http.Request, v apiVersion) {
	f, ok := a.begin()
	if !ok {
		writeText(w, http.StatusServiceUnavailable, "agent closing")
		return
	}
	defer a.handlers.Done()

	if f.drop {
		a.sleep(r.Context(), f.delay)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		// Only reachable over HTTP/2, which this agent does not serve;
		// answer something a client cannot mistake for success.
		writeText(w, http.StatusInternalServerError, "connection drop requested")
		return
	}

	// The body is read before the delay: once it is read, the server
	// watches the connection, so that a client giving up ends the delay.
	body, status, reason := a.readRequest(r, v)
	if !a.sleep(r.Context(), f.delay) {
		// The client is gone: like the Agent, drop the payload unanswered.
		return
	}
	if f.status != 0 {
		if f.retryAfter > 0 {
			secs := int64((f.retryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		if f.status >= 200 && f.status < 300 {
			// An overloaded Agent drops the payload and still answers
			// with the rates.
			a.writeRates(w, f.status)
			return
		}
		writeText(w, f.status, "failure injected by ddtest")
		return
	}
	if status != 0 {
		a.reject(w, v, status, reason)
		return
	}
	var chunks []chunk
	var err error
	if v == apiV05 {
		chunks, err = decodeV05(body)
	} else {
		chunks, err = decodeV04(body)
	}
	if err != nil {
		a.reject(w, v, http.StatusBadRequest, "decoding "+v.path()+" payload: "+err.Error())
		return
	}
	a.accept(v, r.Header.Clone(), chunks)
	a.writeRates(w, http.StatusOK)
}

// readRequest checks the method, size and content type of a trace request
// and reads its body. A non-zero status says why the request is refused.
func (a *Agent) readRequest(r *http.Request, v apiVersion) (body []byte, status int, reason string) {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		// The Agent refuses what a browser sends from another site.
		return nil, http.StatusForbidden, "cross-site request rejected (Sec-Fetch-Site: cross-site), as by the Agent"
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return nil, http.StatusMethodNotAllowed, "method " + r.Method + " not allowed: send POST or PUT"
	}
	// The Agent reads the body through a reader that fails once it has
	// read limit bytes, even if the body ends there: a body of exactly
	// the limit is refused too.
	limit := a.cfg.bodyLimit
	if r.ContentLength >= limit {
		return nil, http.StatusRequestEntityTooLarge,
			"body of " + strconv.FormatInt(r.ContentLength, 10) + " bytes is at or over the limit of " + strconv.FormatInt(limit, 10) + " bytes"
	}
	body, err := readBody(r, limit)
	switch {
	case err != nil:
		return nil, http.StatusBadRequest, "reading body: " + err.Error()
	case int64(len(body)) >= limit:
		return nil, http.StatusRequestEntityTooLarge, "body is at or over the limit of " + strconv.FormatInt(limit, 10) + " bytes"
	}
	if v == apiV04 {
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/msgpack" {
			return nil, http.StatusBadRequest,
				"Content-Type " + strconv.Quote(ct) + " is not application/msgpack: the Agent would decode the body as JSON"
		}
	}
	return body, 0, ""
}

// writeRates answers {"rate_by_service":{...}} with status.
func (a *Agent) writeRates(w http.ResponseWriter, status int) {
	a.mu.Lock()
	resp, _ := json.Marshal(struct {
		Rates map[string]float64 `json:"rate_by_service"`
	}{a.rates})
	a.mu.Unlock()
	write(w, status, "application/json", resp)
}

// writeText answers a plain text message.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	write(w, status, "text/plain; charset=utf-8", []byte(msg+"\n"))
}

// write sends a complete answer and flushes it, so that it is on the wire
// when the handler returns, even if Close closes the connection right after.
func write(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// readBody reads at most limit+1 bytes of the body, so that a body over the
// limit is detected without being held whole.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength)) // at most limit: checked before
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	return buf.Bytes(), err
}

func (a *Agent) reject(w http.ResponseWriter, v apiVersion, status int, reason string) {
	a.mu.Lock()
	a.rejections = append(a.rejections, Rejection{Path: v.path(), Status: status, Reason: reason})
	a.mu.Unlock()
	writeText(w, status, reason)
}

// accept records a decoded payload and wakes WaitSpans.
func (a *Agent) accept(v apiVersion, h http.Header, chunks []chunk) {
	p := Payload{Path: v.path(), Header: h}
	computed := p.ClientHeaders().ComputedStats
	var kept []Span
	for i, c := range chunks {
		p.Chunks = append(p.Chunks, c.spans)
		spans, notes := keep(i, c)
		kept = append(kept, spans...)
		p.Notes = append(p.Notes, notes...)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if computed && !(a.statsEndpoint && a.dropP0s) {
		p.Notes = append(p.Notes, "Datadog-Client-Computed-Stats sent while /info does not allow client stats: the Agent computes no stats for these spans")
	}
	a.payloads = append(a.payloads, p)
	a.spans = append(a.spans, kept...)
	a.notify()
}

// notify wakes the waiters of WaitSpans and WaitRequests. a.mu is held.
func (a *Agent) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// keep applies what the Agent (7.84+) does to a decoded chunk after it has
// answered 200: a chunk without spans, or with a span whose span_id is 0, is
// dropped whole; a span whose trace_id differs from the chunk's is moved
// into the chunk's trace (the chunk's trace ID is that of its last span
// that carries one).
func keep(i int, c chunk) ([]Span, []string) {
	prefix := "chunk " + strconv.Itoa(i) + ": "
	if len(c.spans) == 0 {
		return nil, []string{prefix + "no spans: dropped"}
	}
	for j, s := range c.spans {
		if s.SpanID == 0 {
			return nil, []string{prefix + "span " + strconv.Itoa(j) + " has span_id 0: chunk dropped"}
		}
	}
	var notes []string
	spans := make([]Span, len(c.spans))
	for j, s := range c.spans {
		if s.TraceID != c.traceID {
			notes = append(notes, prefix+"span "+strconv.Itoa(j)+" (span_id "+strconv.FormatUint(s.SpanID, 10)+
				") has trace_id "+strconv.FormatUint(s.TraceID, 10)+": moved into trace "+strconv.FormatUint(c.traceID, 10))
			s.TraceID = c.traceID
		}
		spans[j] = s
	}
	return spans, notes
}

// info is the /info answer: the fields of the real Agent's answer that
// clients read, with values true of this agent.
type info struct {
	Version         string   `json:"version"`
	Endpoints       []string `json:"endpoints"`
	ClientDropP0s   bool     `json:"client_drop_p0s"`
	SpanMetaStructs bool     `json:"span_meta_structs"`
	SpanEvents      bool     `json:"span_events"`
	PeerTags        []string `json:"peer_tags"` // null when none, as the Agent writes it
}

// AgentVersion is the Agent version whose receiver this package imitates,
// reported by /info.
const AgentVersion = "7.85.0"

func (a *Agent) handleInfo(w http.ResponseWriter, r *http.Request) {
	if !a.enter() {
		writeText(w, http.StatusServiceUnavailable, "agent closing")
		return
	}
	defer a.handlers.Done()
	a.mu.Lock()
	in := info{
		Version:   AgentVersion,
		Endpoints: []string{"/v0.4/traces", "/v0.5/traces"},
		// Unless told otherwise, no /v0.6/stats and no client_drop_p0s: a
		// client must then send every trace, priority 0 included.
		ClientDropP0s:   a.dropP0s,
		SpanMetaStructs: true,
		SpanEvents:      a.spanEvents,
		PeerTags:        a.peerTags,
	}
	if a.statsEndpoint {
		in.Endpoints = append(in.Endpoints, "/v0.6/stats")
	}
	a.mu.Unlock()
	b, _ := json.Marshal(in)
	write(w, http.StatusOK, "application/json", b)
}
