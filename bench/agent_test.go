package bench

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/tinylib/msgp/msgp"
)

// agentURL is where both tracers are told the Agent listens. Nothing
// listens there: every request goes to the in-memory agent through the
// HTTP client's transport.
const agentURL = "http://agent.invalid:8126"

// okBody is what an Agent without sampling rates yet answers to a traces
// request. Answering it to /info too tells both tracers that the Agent has
// no optional endpoints: no /v0.6/stats (so no client-side stats and no
// dropped P0 traces), no remote configuration, no v1.0 trace protocol and
// no native span events.
var okBody = []byte(`{"rate_by_service":{}}`)

// memAgent is an in-memory Datadog Agent: an http.RoundTripper that reads
// every request body, counts the chunks of the v0.4 trace payloads from
// their first msgpack array header, and answers 200. No sockets are
// involved, so what is measured is the tracers' own work.
//
// It counts chunks, not spans: counting spans means walking every span of
// every payload, the Agent's work and not the tracer's, which cost this
// process 0.3 to 0.4 µs per span (more for the tracer that sends more
// bytes). Both pipelines send each 10-span trace whole, as one chunk, and
// shed whole traces; TestEndToEndDelivers decodes every span of its
// payloads to check that.
type memAgent struct {
	mu       sync.Mutex
	free     [][]byte // request body buffers, reused: not a sync.Pool, which a collection empties
	chunks   int
	payloads int
	bytes    int
	paths    map[string]int
	bad      error
	keep     bool     // keep the trace payloads, for tests
	kept     [][]byte // trace payloads, when keep is set
}

func newMemAgent() *memAgent {
	return &memAgent{paths: map[string]int{}}
}

// client returns an HTTP client that talks to a.
func (a *memAgent) client() *http.Client { return &http.Client{Transport: a} }

// RoundTrip reads the request as the Agent would and answers 200.
func (a *memAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	var buf []byte
	if n := len(a.free); n > 0 {
		buf, a.free = a.free[n-1], a.free[:n-1]
	}
	a.mu.Unlock()
	body := bytes.NewBuffer(buf[:0])
	if r.Body != nil {
		_, err := body.ReadFrom(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	path := r.URL.Path
	isTraces := strings.HasSuffix(path, "/traces")
	var n int
	var err error
	if isTraces {
		n, err = countChunks(body.Bytes(), path)
	}

	a.mu.Lock()
	a.paths[path]++
	if isTraces {
		a.payloads++
		a.bytes += body.Len()
		if err != nil && a.bad == nil {
			a.bad = err
		}
		a.chunks += n
		if a.keep {
			a.kept = append(a.kept, bytes.Clone(body.Bytes()))
		}
	}
	a.free = append(a.free, body.Bytes())
	a.mu.Unlock()

	return &http.Response{
		StatusCode:    http.StatusOK,
		Status:        "200 OK",
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(okBody)),
		ContentLength: int64(len(okBody)),
		Request:       r,
	}, nil
}

// countChunks returns the number of chunks in a v0.4 trace payload (an
// array of chunks, each an array of spans), from its first array header.
func countChunks(b []byte, path string) (int, error) {
	if !strings.HasSuffix(path, "/v0.4/traces") {
		return 0, errors.New("in-memory agent: unexpected trace endpoint " + path)
	}
	chunks, _, err := msgp.ReadArrayHeaderBytes(b)
	return int(chunks), err
}

// agentStats is what the agent has received; err is the first payload it
// could not read.
type agentStats struct {
	chunks, payloads, bytes int
	paths                   map[string]int
	err                     error
}

func (a *memAgent) stats() agentStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	paths := make(map[string]int, len(a.paths))
	for k, v := range a.paths {
		paths[k] = v
	}
	return agentStats{chunks: a.chunks, payloads: a.payloads, bytes: a.bytes, paths: paths, err: a.bad}
}

// keptPayloads returns the trace payloads received, when keep was set.
func (a *memAgent) keptPayloads() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.kept
}
