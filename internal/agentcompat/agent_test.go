package agentcompat

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	gzip "github.com/DataDog/datadog-agent/comp/trace/compression/impl-gzip"
	"github.com/DataDog/datadog-agent/pkg/opentelemetry-mapping-go/otlp/attributes"
	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/DataDog/datadog-agent/pkg/trace/agent"
	"github.com/DataDog/datadog-agent/pkg/trace/config"
	"github.com/DataDog/datadog-agent/pkg/trace/stats"
	"github.com/DataDog/datadog-agent/pkg/trace/telemetry"
	"github.com/DataDog/datadog-agent/pkg/trace/writer"
	"github.com/DataDog/datadog-go/v5/statsd"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// waitTimeout bounds every wait for the agent's processing; it is a failure
// deadline, never a pause.
const waitTimeout = 30 * time.Second

// agentOptions selects how the real trace-agent is configured.
type agentOptions struct {
	// spanEvents is what /info says about native span events. The real
	// 7.85 receiver always says true; false makes /info look like an older
	// agent's (the key is left out).
	spanEvents bool
	// convertV1 keeps the receiver's default decoding: v0.4/v0.5 payloads
	// are converted to the agent's internal (idx) representation and
	// processed by ProcessV1. When false, the "disable-convert-traces"
	// feature routes them through the agent's classic Process, which yields
	// *pb.Span values that compare directly with the OTLP path.
	convertV1 bool
	// topLevelBySpanKind turns on the Agent's
	// enable_otlp_compute_top_level_by_span_kind feature: its OTLP path then
	// marks spans top-level and measured by span kind, the rule ddexport
	// applies to every span (a default 7.85 Agent leaves it off).
	topLevelBySpanKind bool
	// maxRequestBytes, when positive, is the receiver's max_request_bytes.
	maxRequestBytes int64
}

// realAgent is the Datadog trace-agent built from its own code: the receiver's
// HTTP handlers served on loopback, the OTLP receiver behind a loopback
// OTLP/HTTP endpoint, the agent's Process/ProcessV1 run on everything they
// decode, and capturing trace writers at the end of the pipeline.
type realAgent struct {
	agent  *agent.Agent
	srv    *httptest.Server
	otlp   *httptest.Server
	writer *captureWriter

	// concentrator is the Agent's own stats concentrator (APM stats of
	// the traces it receives without client stats); clientStats is its
	// aggregator of /v0.6/stats payloads, writing into clientOut.
	concentrator *captureConcentrator
	clientStats  *stats.ClientStatsAggregator
	clientOut    *statsWriter
	stopClient   sync.Once
	// statsStart is when the concentrator was created: its oldest bucket
	// is that of statsStart.
	statsStart time.Time

	// requests counts requests per path, with their status codes.
	mu       sync.Mutex
	statuses map[string][]int

	// warmups is the number of warm-up spans sent before the capture was
	// last cleared (see exportDDNative).
	warmups int

	stop chan struct{}
	done chan struct{}
}

// newRealAgent starts a real trace-agent for one test and stops it when the
// test ends.
func newRealAgent(t *testing.T, o agentOptions) *realAgent {
	t.Helper()
	cfg := config.New()
	defaultAgentConfig(cfg)
	cfg.Endpoints[0].APIKey = "test"
	cfg.Hostname = "agentcompat-host"
	cfg.TraceBuffer = 16
	cfg.Decoders = 2
	cfg.DecoderTimeout = int(waitTimeout / time.Millisecond)
	cfg.StatsdEnabled = false
	if !o.convertV1 {
		cfg.Features["disable-convert-traces"] = struct{}{}
	}
	if o.topLevelBySpanKind {
		cfg.Features["enable_otlp_compute_top_level_by_span_kind"] = struct{}{}
	}
	if o.maxRequestBytes > 0 {
		cfg.MaxRequestBytes = o.maxRequestBytes
	}
	tr, err := attributes.NewTranslator(componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatalf("attributes translator: %v", err)
	}
	cfg.OTLPReceiver.AttributesTranslator = tr

	ctx, cancel := context.WithCancel(context.Background())
	a := agent.NewAgent(ctx, cfg, telemetry.NewNoopCollector(), &statsd.NoOpClient{}, gzip.NewComponent())
	// NewAgent starts the real trace writers; stop them before putting the
	// capturing writer in their place.
	a.TraceWriter.Stop()
	a.TraceWriterV1.Stop()
	// The stats writer's senders are started too; Stop needs Run.
	go a.StatsWriter.Run()
	a.StatsWriter.Stop()
	w := newCaptureWriter()
	a.TraceWriter = w
	a.TraceWriterV1 = w

	// The Agent's stats, captured instead of sent: its real concentrator,
	// flushed by the test, and its real client stats aggregator (started,
	// fed by the receiver's /v0.6/stats handler), writing into clientOut.
	statsStart := time.Now()
	conc := &captureConcentrator{
		Concentrator: stats.NewConcentrator(cfg, &statsWriter{}, statsStart, &statsd.NoOpClient{}),
		changed:      make(chan struct{}),
	}
	a.Concentrator = conc
	a.ClientStatsAggregator.Stop() // the one NewAgent made, never started
	clientOut := &statsWriter{}
	agg := stats.NewClientStatsAggregator(cfg, clientOut, &statsd.NoOpClient{})
	// Unbuffered: when the handler returns, the aggregator has the payload.
	agg.In = make(chan *pb.ClientStatsPayload)
	agg.Start()
	a.ClientStatsAggregator = agg

	ra := &realAgent{
		agent:        a,
		writer:       w,
		concentrator: conc,
		clientStats:  agg,
		clientOut:    clientOut,
		statsStart:   statsStart,
		statuses:     make(map[string][]int),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
	}

	// The receiver's own handlers: exactly those Start would serve.
	a.Receiver.BuildHandlers()
	mux := http.NewServeMux()
	for pattern, h := range a.Receiver.Handlers {
		if pattern == "/info" && !o.spanEvents {
			h = withoutSpanEvents(t, h)
		}
		mux.Handle(pattern, h)
	}
	ra.srv = httptest.NewServer(ra.record(mux))

	// The OTLP receiver is fed through its ptraceotlp.GRPCServer method,
	// Export, from an OTLP/HTTP endpoint so that the OpenTelemetry SDK's own
	// OTLP exporter can produce the requests.
	ra.otlp = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		in := ptraceotlp.NewExportRequest()
		if err := in.UnmarshalProto(body); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := a.OTLPReceiver.Export(req.Context(), in)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		out, err := resp.MarshalProto()
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = rw.Write(out)
	}))

	go ra.process()

	t.Cleanup(func() {
		ra.srv.Close()
		ra.otlp.Close()
		close(ra.stop)
		<-ra.done
		ra.stopClient.Do(agg.Stop)
		a.OTLPReceiver.Stop()
		cancel()
	})
	return ra
}

// defaultAgentConfig sets on cfg what a default Agent 7.85 has and
// config.New() lacks, for what this suite observes. The Agent builds its
// trace-agent configuration from its configuration schema
// (pkg/config/schema/yaml/apm_config.yaml, otlp_config) in
// comp/trace/config's setup:
//   - obfuscation: the Elasticsearch, OpenSearch, MongoDB, Redis, Valkey and
//     Memcached obfuscators and credit card obfuscation (without Luhn) are on
//     by default; config.New() has them all off. (The obfuscation cache, on
//     by default too, is left off: it changes no result, and its goroutines
//     are stopped only by Agent.Run, which the harness does not use);
//   - the OTLP probabilistic sampler's percentage defaults to 100
//     (otlp_config.traces.probabilistic_sampler.sampling_percentage), which
//     the chunks it makes report as _dd.otlp_sr "1.00"; config.New() has 0.
//
// Features (apm_config.features, DD_APM_FEATURES) default to none: in
// particular a default 7.85 Agent does not compute OTLP top-level spans by
// span kind (enable_otlp_compute_top_level_by_span_kind is opt-in since
// Agent 7.53; the Datadog distribution of the OpenTelemetry Collector and
// the Collector's Datadog exporter turn it on by default). Features that
// are on unless disabled (the v2 operation and resource names, the v2
// resource-spans receiver, the idx conversion of v0.4/v0.5 payloads) are
// on with config.New() too.
func defaultAgentConfig(cfg *config.AgentConfig) {
	o := cfg.Obfuscation
	o.ES.Enabled = true
	o.OpenSearch.Enabled = true
	o.Mongo.Enabled = true
	o.Redis.Enabled = true
	o.Valkey.Enabled = true
	o.Memcached.Enabled = true
	o.CreditCards.Enabled = true
	cfg.OTLPReceiver.ProbabilisticSampling = 100
}

// process is the agent's worker loop (Agent.work / workV1) without the
// parts of Run that would open listeners or talk to Datadog.
func (ra *realAgent) process() {
	defer close(ra.done)
	for {
		select {
		case p := <-ra.agent.In:
			ra.agent.Process(p)
		case p := <-ra.agent.InV1:
			ra.agent.ProcessV1(p)
		case <-ra.stop:
			return
		}
	}
}

// record notes every response status per path.
func (ra *realAgent) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		sw := &statusWriter{ResponseWriter: rw, code: http.StatusOK}
		h.ServeHTTP(sw, req)
		ra.mu.Lock()
		ra.statuses[req.URL.Path] = append(ra.statuses[req.URL.Path], sw.code)
		ra.mu.Unlock()
	})
}

// Statuses returns the response codes the receiver gave for path.
func (ra *realAgent) Statuses(path string) []int {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	return append([]int(nil), ra.statuses[path]...)
}

// URL is the receiver's base URL.
func (ra *realAgent) URL() string { return ra.srv.URL }

// OTLPURL is the OTLP/HTTP endpoint in front of the agent's OTLP receiver.
func (ra *realAgent) OTLPURL() string { return ra.otlp.URL }

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// withoutSpanEvents serves the real /info document with "span_events"
// removed, as agents before native span events answered.
func withoutSpanEvents(t *testing.T, h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Errorf("/info: %v", err)
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		delete(doc, "span_events")
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				rw.Header()[k] = v
			}
		}
		rw.WriteHeader(rec.Code)
		_ = json.NewEncoder(rw).Encode(doc)
	})
}

// captureConcentrator is the Agent's own stats concentrator, never started:
// the test flushes it (Flush(true) returns every bucket) instead of its
// ticker sending the stats to Datadog. It counts the traces it is given,
// so that a test can wait for the stats of what it sent.
type captureConcentrator struct {
	*stats.Concentrator
	mu      sync.Mutex
	traces  int
	changed chan struct{} // closed and replaced on every Add
	// inputs and inputsV1 are what the Agent gave it: every chunk of the
	// payloads without client stats, kept or not, after the Agent's
	// processing and before its sampling (nothing changes them later).
	inputs   []stats.Input
	inputsV1 []stats.InputV1
}

func (c *captureConcentrator) Start() {}
func (c *captureConcentrator) Stop()  {}

func (c *captureConcentrator) Add(in stats.Input) {
	c.Concentrator.Add(in)
	c.added(len(in.Traces), func() { c.inputs = append(c.inputs, in) })
}

func (c *captureConcentrator) AddV1(in stats.InputV1) {
	c.Concentrator.AddV1(in)
	c.added(len(in.Traces), func() { c.inputsV1 = append(c.inputsV1, in) })
}

func (c *captureConcentrator) added(n int, keep func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep()
	c.traces += n
	close(c.changed)
	c.changed = make(chan struct{})
}

// waitTraces blocks until the concentrator was given at least n traces
// (chunks), or fails the test after waitTimeout.
func (c *captureConcentrator) waitTraces(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		got, changed := c.traces, c.changed
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the Agent computed the stats of %d traces, want %d", got, n)
		}
	}
}

// statsWriter keeps the stats payloads the Agent would send to Datadog.
type statsWriter struct {
	mu       sync.Mutex
	payloads []*pb.StatsPayload
}

func (w *statsWriter) Write(p *pb.StatsPayload) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.payloads = append(w.payloads, p)
}

// clientStatsOutput returns what the Agent's client stats aggregator made
// of the /v0.6/stats payloads received so far: it waits until the
// aggregator has taken them in, then stops it, which flushes every bucket.
// It can be called once.
func (ra *realAgent) clientStatsOutput(t *testing.T) []*pb.StatsPayload {
	t.Helper()
	// The aggregator reads its input in order, from an unbuffered channel:
	// once it has taken an empty payload, it has aggregated every earlier
	// one.
	select {
	case ra.clientStats.In <- &pb.ClientStatsPayload{}:
	case <-time.After(waitTimeout):
		t.Fatal("the client stats aggregator does not take its input")
	}
	ra.stopClient.Do(ra.clientStats.Stop)
	ra.clientOut.mu.Lock()
	defer ra.clientOut.mu.Unlock()
	return append([]*pb.StatsPayload(nil), ra.clientOut.payloads...)
}

// captureWriter is the end of the agent's pipeline: it keeps what the agent
// would have sent to Datadog.
type captureWriter struct {
	mu       sync.Mutex
	payloads []*writer.SampledChunks
	v1       []*writer.SampledChunksV1
	spans    int
	changed  chan struct{} // closed and replaced on every write
}

func newCaptureWriter() *captureWriter {
	return &captureWriter{changed: make(chan struct{})}
}

func (w *captureWriter) Stop()                    {}
func (w *captureWriter) FlushSync() error         { return nil }
func (w *captureWriter) UpdateAPIKey(_, _ string) {}

func (w *captureWriter) WriteChunks(p *writer.SampledChunks) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.payloads = append(w.payloads, p)
	for _, c := range p.TracerPayload.Chunks {
		w.spans += len(c.Spans)
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *captureWriter) WriteChunksV1(p *writer.SampledChunksV1) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.v1 = append(w.v1, p)
	for _, c := range p.TracerPayload.Chunks {
		w.spans += len(c.Spans)
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitSpans blocks until at least n spans have been written, or fails the
// test after waitTimeout.
func (w *captureWriter) waitSpans(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		got, changed := w.spans, w.changed
		w.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("agent wrote %d spans, want %d", got, n)
		}
	}
}

// reset forgets everything written so far.
func (w *captureWriter) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.payloads, w.v1, w.spans = nil, nil, 0
}

// nativeEvents reports whether the span id was written with native span
// events, by either processing path.
func (w *captureWriter) nativeEvents(id uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.payloads {
		for _, c := range p.TracerPayload.Chunks {
			for _, s := range c.Spans {
				if s.SpanID == id {
					return len(s.SpanEvents) > 0
				}
			}
		}
	}
	for _, p := range w.v1 {
		for _, c := range p.TracerPayload.Chunks {
			for _, s := range c.Spans {
				if s.SpanID() == id {
					return len(s.Events()) > 0
				}
			}
		}
	}
	return false
}

// tracerPayloads returns what Process wrote.
func (w *captureWriter) tracerPayloads() []*pb.TracerPayload {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*pb.TracerPayload, len(w.payloads))
	for i, p := range w.payloads {
		out[i] = p.TracerPayload
	}
	return out
}

// sampledV1 returns what ProcessV1 wrote.
func (w *captureWriter) sampledV1() []*writer.SampledChunksV1 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*writer.SampledChunksV1(nil), w.v1...)
}

var (
	_ agent.TraceWriter   = (*captureWriter)(nil)
	_ agent.TraceWriterV1 = (*captureWriter)(nil)
	_ agent.Concentrator  = (*captureConcentrator)(nil)
)

// checkReceiverStats asserts the receiver's own accounting for the trace
// endpoint version v ("v0.4", "v0.5"): every payload accepted, nothing
// dropped or filtered, spans counted as received by the processing, and the
// tracer identified as Go by the request headers. What the Agent had to fix
// in the spans (SpansMalformed) is logged.
func (ra *realAgent) checkReceiverStats(t *testing.T, v string, spans int) {
	t.Helper()
	rs := ra.agent.Receiver.Stats
	rs.RLock()
	defer rs.RUnlock()
	var received int64
	var seen bool
	for tags, ts := range rs.Stats {
		if tags.EndpointVersion != v {
			continue
		}
		seen = true
		if tags.Lang != "go" || tags.TracerVersion == "" || tags.LangVersion == "" {
			t.Errorf("receiver tags %+v: want lang go with language and tracer versions", tags)
		}
		if d := ts.TracesDropped.String(); d != "" {
			t.Errorf("receiver dropped traces: %s", d)
		}
		for name, n := range map[string]int64{
			"spans dropped":    ts.SpansDropped.Load(),
			"spans filtered":   ts.SpansFiltered.Load(),
			"traces filtered":  ts.TracesFiltered.Load(),
			"payloads refused": ts.PayloadRefused.Load(),
			"payload timeouts": ts.PayloadTimeout.Load(),
		} {
			if n != 0 {
				t.Errorf("receiver %s: %d", name, n)
			}
		}
		if ts.PayloadAccepted.Load() == 0 {
			t.Errorf("receiver accepted no payload on %s", v)
		}
		received += ts.SpansReceived.Load()
		if m := ts.SpansMalformed.String(); m != "" {
			t.Logf("the Agent normalised (service %q): %s", tags.Service, m)
		}
	}
	if !seen {
		t.Fatalf("no receiver stats for %s", v)
	}
	if want := int64(spans + ra.warmups); received != want {
		t.Errorf("receiver counted %d spans received, want %d", received, want)
	}
}
