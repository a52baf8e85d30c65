package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	slogtrace "github.com/DataDog/dd-trace-go/contrib/log/slog/v2"
	"github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddotel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/seed03c8c003/ddslog/internal/cputime"
)

// tag is one span attribute, under its OpenTelemetry semantic-convention
// key and the key Datadog's integrations use for the same thing.
type tag struct {
	otel, dd string
	s        string
	i        int64
	isInt    bool
}

func str(otelKey, ddKey, v string) tag       { return tag{otel: otelKey, dd: ddKey, s: v} }
func num(otelKey, ddKey string, v int64) tag { return tag{otel: otelKey, dd: ddKey, i: v, isInt: true} }

// spanShape is one span of the benchmark trace, as each tracer's
// instrumentation would start it.
type spanShape struct {
	parent int // index of the parent; -1 for the root
	kind   trace.SpanKind
	name   string // OpenTelemetry span name
	// dd-trace-go: operation name, resource and type, as its integrations
	// set them.
	op, resource, typ string
	tags              []tag
	msg               string // the log line written inside the span
}

const (
	qOrders = "SELECT id, total FROM orders WHERE id = $1"
	qItems  = "SELECT sku, qty FROM order_items WHERE order_id = $1"
)

// traceShape is a 10-span request: an HTTP server span with internal and
// client children (database, cache and HTTP calls), each with a few
// attributes and one log line.
var traceShape = [...]spanShape{
	{parent: -1, kind: trace.SpanKindServer, name: "GET /api/orders/{id}",
		op: "http.request", resource: "GET /api/orders/{id}", typ: "web",
		tags: []tag{
			str("http.request.method", "http.method", "GET"),
			str("http.route", "http.route", "/api/orders/{id}"),
			str("url.path", "http.url", "/api/orders/8812"),
			num("http.response.status_code", "http.status_code", 200),
			str("client.address", "http.client_ip", "10.1.2.3"),
		}, msg: "request received"},
	{parent: 0, kind: trace.SpanKindInternal, name: "auth.verify", op: "auth.verify", resource: "auth.verify",
		tags: []tag{str("auth.method", "auth.method", "jwt"), str("enduser.id", "usr.id", "u-1842")},
		msg:  "token verified"},
	{parent: 0, kind: trace.SpanKindClient, name: "SELECT orders", op: "postgresql.query", resource: qOrders, typ: "sql",
		tags: []tag{
			str("db.system.name", "db.system", "postgresql"),
			str("db.query.text", "db.statement", qOrders),
			str("db.namespace", "db.instance", "shop"),
			str("server.address", "network.destination.name", "db-1"),
		}, msg: "order loaded"},
	{parent: 0, kind: trace.SpanKindClient, name: "SELECT order_items", op: "postgresql.query", resource: qItems, typ: "sql",
		tags: []tag{
			str("db.system.name", "db.system", "postgresql"),
			str("db.query.text", "db.statement", qItems),
			str("db.namespace", "db.instance", "shop"),
			str("server.address", "network.destination.name", "db-1"),
		}, msg: "items loaded"},
	{parent: 0, kind: trace.SpanKindInternal, name: "pricing.compute", op: "pricing.compute", resource: "pricing.compute",
		tags: []tag{num("pricing.items", "pricing.items", 3), str("pricing.currency", "pricing.currency", "EUR")},
		msg:  "price computed"},
	{parent: 4, kind: trace.SpanKindClient, name: "GET", op: "http.request", resource: "GET", typ: "http",
		tags: []tag{
			str("http.request.method", "http.method", "GET"),
			str("url.full", "http.url", "http://inventory:8080/v1/stock/42"),
			num("http.response.status_code", "http.status_code", 200),
			str("server.address", "network.destination.name", "inventory"),
		}, msg: "stock checked"},
	{parent: 4, kind: trace.SpanKindClient, name: "GET", op: "http.request", resource: "GET", typ: "http",
		tags: []tag{
			str("http.request.method", "http.method", "GET"),
			str("url.full", "http.url", "http://tax:8080/v2/rates/EU"),
			num("http.response.status_code", "http.status_code", 200),
			str("server.address", "network.destination.name", "tax"),
		}, msg: "tax rate fetched"},
	{parent: 0, kind: trace.SpanKindClient, name: "GET", op: "redis.command", resource: "GET", typ: "redis",
		tags: []tag{
			str("db.system.name", "db.system", "redis"),
			str("db.query.text", "redis.raw_command", "GET order:8812"),
			str("server.address", "network.destination.name", "cache-1"),
		}, msg: "cache read"},
	{parent: 0, kind: trace.SpanKindInternal, name: "render", op: "render", resource: "render",
		tags: []tag{str("template", "template", "order.json"), num("bytes", "bytes", 5120)},
		msg:  "response rendered"},
	{parent: 0, kind: trace.SpanKindClient, name: "POST", op: "http.request", resource: "POST", typ: "http",
		tags: []tag{
			str("http.request.method", "http.method", "POST"),
			str("url.full", "http.url", "http://audit:8080/v1/events"),
			num("http.response.status_code", "http.status_code", 202),
			str("server.address", "network.destination.name", "audit"),
		}, msg: "audit event sent"},
}

// ddKinds are dd-trace-go's span.kind values.
var ddKinds = map[trace.SpanKind]string{
	trace.SpanKindServer: "server", trace.SpanKindClient: "client", trace.SpanKindInternal: "internal",
}

// A pipeline is one tracer with its slog integration, sending to an
// in-memory Agent.
type pipeline interface {
	// trace makes one traceShape trace: it starts each span, logs one line
	// in it, and ends the spans, children first.
	trace(ctx context.Context)
	// stop sends what the pipeline holds and shuts it down. When it
	// returns, every span the pipeline did not drop has reached the Agent.
	stop(ctx context.Context) error
}

// pipelineImpl starts a pipeline that writes its JSON log lines to w.
type pipelineImpl struct {
	name  string
	start func(tb testing.TB, agent *memAgent, w io.Writer) pipeline
}

// pipelineImpls are the compared pipelines; dd-trace-go's first, so that
// `benchstat -col /impl` compares the others with it.
var pipelineImpls = []pipelineImpl{
	{"ddtrace", func(tb testing.TB, agent *memAgent, w io.Writer) pipeline {
		return startDDTracePipeline(tb, agent, w, false)
	}},
	{"ddtrace-nolabels", func(tb testing.TB, agent *memAgent, w io.Writer) pipeline {
		return startDDTracePipeline(tb, agent, w, true)
	}},
	{"ddslog", func(tb testing.TB, agent *memAgent, w io.Writer) pipeline {
		return startDDSlogPipeline(tb, agent, w)
	}},
	{"ddslog-noevents", func(tb testing.TB, agent *memAgent, w io.Writer) pipeline {
		return startDDSlogPipeline(tb, agent, w, ddotel.WithHandlerOptions(&ddslog.HandlerOptions{DisableEvents: true}))
	}},
}

// ddTracePipeline is dd-trace-go's tracer with its contrib/log/slog handler.
type ddTracePipeline struct{ logger *slog.Logger }

// startDDTracePipeline starts dd-trace-go's tracer with its defaults, or
// with its profiler's pprof labels off (nolabels).
func startDDTracePipeline(tb testing.TB, agent *memAgent, w io.Writer, nolabels bool) pipeline {
	startDDTrace(tb, agent, nolabels)
	return &ddTracePipeline{logger: slog.New(slogtrace.NewJSONHandler(w, nil))}
}

func (p *ddTracePipeline) trace(ctx context.Context) {
	var spans [len(traceShape)]*tracer.Span
	var ctxs [len(traceShape)]context.Context
	for i, s := range traceShape {
		parent := ctx
		if s.parent >= 0 {
			parent = ctxs[s.parent]
		}
		opts := make([]tracer.StartSpanOption, 0, 3+len(s.tags))
		opts = append(opts, tracer.ResourceName(s.resource), tracer.Tag("span.kind", ddKinds[s.kind]))
		if s.typ != "" {
			opts = append(opts, tracer.SpanType(s.typ))
		}
		for _, t := range s.tags {
			if t.isInt {
				opts = append(opts, tracer.Tag(t.dd, t.i))
			} else {
				opts = append(opts, tracer.Tag(t.dd, t.s))
			}
		}
		spans[i], ctxs[i] = tracer.StartSpanFromContext(parent, s.op, opts...)
		p.logger.InfoContext(ctxs[i], s.msg, "step", s.name, "n", i)
	}
	for i := len(traceShape) - 1; i >= 0; i-- {
		spans[i].Finish()
	}
}

// stop flushes the tracer and waits for its requests to end.
func (p *ddTracePipeline) stop(context.Context) error {
	tracer.Stop()
	return nil
}

// ddslogPipeline is what ddotel.Start sets up: the SDK tracer provider with
// ddexport's span processor and exporter, and ddslog's handler over the
// default logger (here over a JSON handler).
type ddslogPipeline struct {
	tracer   trace.Tracer
	logger   *slog.Logger
	nologs   bool // make the spans without their log lines
	shutdown func(context.Context) error
	restore  *slog.Logger
}

func startDDSlogPipeline(tb testing.TB, agent *memAgent, w io.Writer, opts ...ddotel.Option) pipeline {
	tb.Helper()
	p := &ddslogPipeline{restore: slog.Default()}
	slog.SetDefault(slog.New(slog.NewJSONHandler(w, nil)))
	shutdown, err := ddotel.Start(context.Background(), append([]ddotel.Option{
		ddotel.WithService(service), ddotel.WithEnv(env), ddotel.WithVersion(version),
		ddotel.WithExporterOptions(ddexport.WithAgentURL(agentURL), ddexport.WithHTTPClient(agent.client())),
	}, opts...)...)
	if err != nil {
		slog.SetDefault(p.restore)
		tb.Fatalf("ddotel.Start: %v", err)
	}
	p.shutdown = shutdown
	p.tracer = otel.Tracer("bench")
	p.logger = slog.Default()
	return p
}

func (p *ddslogPipeline) trace(ctx context.Context) {
	var spans [len(traceShape)]trace.Span
	var ctxs [len(traceShape)]context.Context
	for i, s := range traceShape {
		parent := ctx
		if s.parent >= 0 {
			parent = ctxs[s.parent]
		}
		attrs := make([]attribute.KeyValue, 0, len(s.tags))
		for _, t := range s.tags {
			if t.isInt {
				attrs = append(attrs, attribute.Int64(t.otel, t.i))
			} else {
				attrs = append(attrs, attribute.String(t.otel, t.s))
			}
		}
		ctxs[i], spans[i] = p.tracer.Start(parent, s.name, trace.WithSpanKind(s.kind), trace.WithAttributes(attrs...))
		if !p.nologs {
			p.logger.InfoContext(ctxs[i], s.msg, "step", s.name, "n", i)
		}
	}
	for i := len(traceShape) - 1; i >= 0; i-- {
		spans[i].End()
	}
}

// stop is ddotel.Start's shutdown: it exports every ended span and stops
// the exporter.
func (p *ddslogPipeline) stop(ctx context.Context) error {
	err := p.shutdown(ctx)
	otel.SetTracerProvider(noop.NewTracerProvider())
	slog.SetDefault(p.restore)
	return err
}

// drain stops p, within a minute, and returns how many chunks the agent
// has received in all.
func drain(p pipeline, agent *memAgent) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.stop(ctx); err != nil {
		return 0, err
	}
	st := agent.stats()
	return st.chunks, st.err
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(tb testing.TB) time.Duration {
	d, ok := cputime.Used()
	if !ok {
		tb.Skip("no CPU time on this platform")
	}
	return d
}

// BenchmarkEndToEnd compares dd-trace-go's tracer and ddslog's pipeline
// (as ddotel.Start builds it) on the same 10-span traces with one log line
// per span, each sending to an in-memory Agent. An op is one trace, its
// export included: after the loop the pipeline is stopped, which sends all
// it holds and waits for the requests, so the timer stops when every span
// has reached the Agent or been dropped by the pipeline.
//
// cpu-ns/op is the process's user+system CPU time over the same interval,
// every goroutine included; wire-B/op the payload bytes the Agent received;
// lost-% the share of traces that did not reach it (a pipeline that cannot
// keep up sheds whole traces rather than block the application). The
// pipelines buffer up to 50,000 spans (5,000 traces): only runs of many
// more traces than that show whether a pipeline keeps up.
//
//	go test -run '^$' -bench BenchmarkEndToEnd -benchtime 2000x -count 10 . > e2e.txt
//	benchstat -col /impl e2e.txt
func BenchmarkEndToEnd(b *testing.B) {
	for _, impl := range pipelineImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.StopTimer()
			agent := newMemAgent()
			runPipeline(b, impl.start(b, agent, io.Discard), agent)
		})
	}
}

// runPipeline makes b.N traces through p in a tight loop on this
// goroutine, stops p and reports what it cost and what reached agent.
// The timer must be stopped.
func runPipeline(b *testing.B, p pipeline, agent *memAgent) {
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.StartTimer()
	start := time.Now()

	for range b.N {
		p.trace(ctx)
	}
	made := time.Since(start)
	got, err := drain(p, agent)

	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	if err != nil {
		b.Fatal(err)
	}
	want := b.N // each trace is sent whole, as one chunk
	if got > want {
		b.Fatalf("the agent received %d chunks, %d traces were made", got, want)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(agent.stats().bytes)/float64(b.N), "wire-B/op")
	b.ReportMetric(100*float64(want-got)/float64(want), "lost-%")
	b.ReportMetric(float64(b.N*len(traceShape))/made.Seconds(), "made-spans/s")
}

// BenchmarkPipelineWorkers runs ddotel.Start's pipeline, as
// BenchmarkEndToEnd does, with 1, 2 and 4 export workers
// (ddexport.WithExportWorkers), for the traceShape traces with their log
// lines (logs=true) and without (logs=false: the spans alone, the fastest
// a goroutine makes them). made-spans/s is the rate at which the loop made
// spans; lost-% shows whether export kept up. The span processor holds up
// to 50,000 spans: use runs of many more traces than 5,000.
//
//	go test -run '^$' -bench BenchmarkPipelineWorkers -benchtime 100000x -count 5 . > workers.txt
//	benchstat -col /workers workers.txt
func BenchmarkPipelineWorkers(b *testing.B) {
	for _, logs := range []bool{true, false} {
		for _, workers := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("logs=%v/workers=%d", logs, workers), func(b *testing.B) {
				b.StopTimer()
				agent := newMemAgent()
				p := startDDSlogPipeline(b, agent, io.Discard,
					ddotel.WithProcessorOptions(ddexport.WithExportWorkers(workers))).(*ddslogPipeline)
				p.nologs = !logs
				runPipeline(b, p, agent)
			})
		}
	}
}

// delivery summarises what reached the in-memory Agent and the log output.
type delivery struct {
	Traces          int   // distinct trace IDs
	SpansPerTrace   []int // spans of each trace
	RootsPerTrace   []int // spans without a parent in each trace
	Orphans         int   // spans whose parent is not in their trace
	Services        []string
	Paths           []string // the Agent endpoints the tracer called
	SpansWithEvents int      // spans carrying span events (native or as meta)
	LogLines        int
	Correlated      int // lines whose dd.trace_id and dd.span_id name a delivered span
}

// TestEndToEndDelivers runs a few traces through each pipeline of
// BenchmarkEndToEnd and checks that every trace reaches the in-memory
// Agent whole, with every log line correlated to its span: the comparison
// measures complete pipelines.
func TestEndToEndDelivers(t *testing.T) {
	const traces = 3
	for _, impl := range pipelineImpls {
		t.Run("impl="+impl.name, func(t *testing.T) {
			agent := newMemAgent()
			agent.keep = true
			var logs bytes.Buffer
			p := impl.start(t, agent, &logs)
			for range traces {
				p.trace(t.Context())
			}
			if _, err := drain(p, agent); err != nil {
				t.Fatal(err)
			}

			got := summarise(t, agent.keptPayloads(), logs.Bytes())
			got.Paths = slices.Sorted(maps.Keys(agent.stats().paths))
			want := delivery{
				Traces:        traces,
				SpansPerTrace: slices.Repeat([]int{len(traceShape)}, traces),
				RootsPerTrace: slices.Repeat([]int{1}, traces),
				Services:      []string{service},
				Paths:         []string{"/info", "/v0.4/traces"},
				LogLines:      traces * len(traceShape),
				Correlated:    traces * len(traceShape),
			}
			if impl.name == "ddslog" {
				want.SpansWithEvents = traces * len(traceShape)
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("delivered (-want +got):\n%s", diff)
			}
			if st := agent.stats(); st.chunks != traces {
				t.Errorf("the agent counted %d chunks from the array headers, want %d", st.chunks, traces)
			}
		})
	}
}

// summarise decodes the trace payloads with the Agent's own span model and
// matches the JSON log lines to the spans.
func summarise(t *testing.T, payloads [][]byte, logs []byte) delivery {
	t.Helper()
	byTrace := map[uint64][]*pb.Span{}
	var order []uint64
	services := map[string]bool{}
	var d delivery
	for _, b := range payloads {
		var traces pb.Traces
		if rest, err := traces.UnmarshalMsg(b); err != nil || len(rest) != 0 {
			t.Fatalf("the Agent's decoder refused a payload: %v (%d bytes left)", err, len(rest))
		}
		for _, chunk := range traces {
			for _, s := range chunk {
				if _, ok := byTrace[s.TraceID]; !ok {
					order = append(order, s.TraceID)
				}
				byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
				services[s.Service] = true
				if len(s.SpanEvents) > 0 || s.Meta["events"] != "" {
					d.SpansWithEvents++
				}
			}
		}
	}
	d.Traces = len(byTrace)
	d.Services = slices.Sorted(maps.Keys(services))
	// How each span's trace ID may be written: the decimal low 64 bits, or
	// 32 hex digits with the high half from _dd.p.tid.
	traceIDs := map[string]string{} // span ID → "decimal|hex"
	for _, id := range order {
		spans := byTrace[id]
		d.SpansPerTrace = append(d.SpansPerTrace, len(spans))
		ids := map[uint64]bool{}
		tid := ""
		for _, s := range spans {
			ids[s.SpanID] = true
			tid = cmp.Or(tid, s.Meta["_dd.p.tid"])
		}
		roots := 0
		for _, s := range spans {
			switch {
			case s.ParentID == 0:
				roots++
			case !ids[s.ParentID]:
				d.Orphans++
			}
			traceIDs[uint64String(s.SpanID)] = uint64String(s.TraceID) + "|" + tid + fmt.Sprintf("%016x", s.TraceID)
		}
		d.RootsPerTrace = append(d.RootsPerTrace, roots)
	}

	seen := map[string]bool{}
	for l := range bytes.Lines(logs) {
		d.LogLines++
		var m struct {
			TraceID string `json:"dd.trace_id"`
			SpanID  string `json:"dd.span_id"`
		}
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line: %v: %q", err, l)
		}
		ids, ok := traceIDs[m.SpanID]
		if !ok || seen[m.SpanID] {
			continue
		}
		dec, hex, _ := strings.Cut(ids, "|")
		if m.TraceID == dec || m.TraceID == hex {
			seen[m.SpanID] = true
			d.Correlated++
		}
	}
	return d
}
