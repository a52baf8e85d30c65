package ddtest

import (
	"mime"
	"net/http"
	"strconv"
)

// statsPath is the client stats endpoint.
const statsPath = "/v0.6/stats"

// handleStats serves /v0.6/stats: the Agent's handler answers 200 with an
// empty body once the payload decodes.
func (a *Agent) handleStats(w http.ResponseWriter, r *http.Request) {
	if !a.enter() {
		writeText(w, http.StatusServiceUnavailable, "agent closing")
		return
	}
	defer a.handlers.Done()

	body, status, reason := a.readStatsRequest(r)
	if code := a.takeStatsFailure(); code != 0 {
		writeText(w, code, "failure injected by ddtest")
		return
	}
	if status == 0 {
		p, err := decodeStats(body)
		switch {
		case err != nil:
			status, reason = http.StatusBadRequest, "decoding "+statsPath+" payload: "+err.Error()
		case p.Lang == "" && r.Header.Get("Datadog-Meta-Lang") == "":
			status, reason = http.StatusBadRequest, "no language: neither the payload's Lang nor the Datadog-Meta-Lang header is set"
		case p.TracerVersion == "" && r.Header.Get("Datadog-Meta-Tracer-Version") == "":
			status, reason = http.StatusBadRequest, "no tracer version: neither the payload's TracerVersion nor the Datadog-Meta-Tracer-Version header is set"
		default:
			p.Header = r.Header.Clone()
			a.mu.Lock()
			a.stats = append(a.stats, p)
			a.notify()
			a.mu.Unlock()
			write(w, http.StatusOK, "text/plain; charset=utf-8", nil)
			return
		}
	}
	a.mu.Lock()
	a.rejections = append(a.rejections, Rejection{Path: statsPath, Status: status, Reason: reason})
	a.mu.Unlock()
	writeText(w, status, reason)
}

// takeStatsFailure returns the status of a failure injected by
// FailNextStats, or 0.
func (a *Agent) takeStatsFailure() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.statsFailN == 0 {
		return 0
	}
	a.statsFailN--
	return a.statsFailCode
}

// readStatsRequest checks the method, size and headers of a stats request
// and reads its body. A non-zero status says why the request is refused.
func (a *Agent) readStatsRequest(r *http.Request) (body []byte, status int, reason string) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return nil, http.StatusMethodNotAllowed, "method " + r.Method + " not allowed: send POST or PUT"
	}
	// The Agent decodes the payload as it reads it through a reader that
	// fails past limit bytes, whatever Content-Length says: the decoder
	// reports that as a decoding error, answered 400 (not 413).
	limit := a.cfg.bodyLimit
	const over = " (the Agent's decoder fails there and answers 400)"
	if r.ContentLength > limit {
		return nil, http.StatusBadRequest,
			"body of " + strconv.FormatInt(r.ContentLength, 10) + " bytes exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes" + over
	}
	body, err := readBody(r, limit)
	switch {
	case err != nil:
		return nil, http.StatusBadRequest, "reading body: " + err.Error()
	case int64(len(body)) > limit:
		return nil, http.StatusBadRequest, "body exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes" + over
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/msgpack" {
		return nil, http.StatusBadRequest, "Content-Type " + strconv.Quote(ct) + " is not application/msgpack"
	}
	if v := r.Header.Get("Datadog-Obfuscation-Version"); v != "" {
		return nil, http.StatusBadRequest, "Datadog-Obfuscation-Version " + strconv.Quote(v) +
			" sent: it says the client obfuscated the resources, which this agent does not expect (its /info advertises no obfuscation_version), and it turns the Agent's own obfuscation off"
	}
	return body, 0, ""
}
