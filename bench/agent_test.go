package bench

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
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
// every request body, counts the spans of the v0.4 trace payloads from
// their msgpack array headers, and answers 200. No sockets are
// involved, so what is measured is the tracers' own work.
type memAgent struct {
	bufs sync.Pool // *bytes.Buffer, request bodies

	mu       sync.Mutex
	spans    int
	payloads int
	bytes    int
	paths    map[string]int
	bad      error
	keep     bool     // keep the trace payloads, for tests
	kept     [][]byte // trace payloads, when keep is set
}

func newMemAgent() *memAgent {
	return &memAgent{
		bufs:  sync.Pool{New: func() any { return new(bytes.Buffer) }},
		paths: map[string]int{},
	}
}

// client returns an HTTP client that talks to a.
func (a *memAgent) client() *http.Client { return &http.Client{Transport: a} }

// RoundTrip reads the request as the Agent would and answers 200.
func (a *memAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	buf := a.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer a.bufs.Put(buf)
	if r.Body != nil {
		_, err := buf.ReadFrom(r.Body)
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
		n, err = countSpans(buf.Bytes(), path)
	}

	a.mu.Lock()
	a.paths[path]++
	if isTraces {
		a.payloads++
		a.bytes += buf.Len()
		if err != nil && a.bad == nil {
			a.bad = err
		}
		a.spans += n
		if a.keep {
			a.kept = append(a.kept, bytes.Clone(buf.Bytes()))
		}
	}
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

// countSpans returns the number of spans in a v0.4 trace payload (an array
// of chunks, each an array of spans). It reads the array headers and skips
// over each span without decoding it.
func countSpans(b []byte, path string) (int, error) {
	if !strings.HasSuffix(path, "/v0.4/traces") {
		return 0, errors.New("in-memory agent: unexpected trace endpoint " + path)
	}
	chunks, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return 0, err
	}
	total := 0
	for range chunks {
		var spans uint32
		if spans, b, err = msgp.ReadArrayHeaderBytes(b); err != nil {
			return 0, err
		}
		for range spans {
			if b, err = msgp.Skip(b); err != nil {
				return 0, err
			}
		}
		total += int(spans)
	}
	if len(b) != 0 {
		return 0, errors.New("in-memory agent: " + strconv.Itoa(len(b)) + " bytes after the last chunk")
	}
	return total, nil
}

// agentStats is what the agent has received; err is the first payload it
// could not read.
type agentStats struct {
	spans, payloads, bytes int
	paths                  map[string]int
	err                    error
}

func (a *memAgent) stats() agentStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	paths := make(map[string]int, len(a.paths))
	for k, v := range a.paths {
		paths[k] = v
	}
	return agentStats{spans: a.spans, payloads: a.payloads, bytes: a.bytes, paths: paths, err: a.bad}
}

// keptPayloads returns the trace payloads received, when keep was set.
func (a *memAgent) keptPayloads() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.kept
}
